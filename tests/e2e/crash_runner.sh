#!/bin/sh
# relayq e2e (an accepted message is never lost; at least once, with bounded
# duplicates: doc/ARCHITECTURE.md, "The promises and the tests that prove
# them"): kill -9 of the queue runner.
#
# Each round queues a few messages (-odq), runs `sendmail -q` and kills it,
# then runs the queue to completion (`relayq queue flush`).
# 1. strace points: a reference `sendmail -q` over the same kind of queue is
#    traced and every (syscall, ordinal) of the runner in it that happens
#    the same number of times in every run (open, write, send, fsync,
#    rename, link, unlink, fchmod, pread, flock, connect, exit) is a kill
#    point; `strace -e inject=NAME:signal=KILL:when=ORD` kills the runner on
#    entry to exactly that call.  This includes the send of the final "."
#    (not sent: no delivery) and the unlink of the envelope right after
#    the 250 (delivered, "delivered" not saved: one duplicate allowed).
# 2. the dot window: a smarthost that stores the message and then waits
#    before its 250 (--data-reply-delay); the runner is killed as soon as
#    the message is stored, i.e. after the final dot, before the 250.
# With more than a few messages a pass commits its changes in groups (one
# syncfs for the pickup of the round, one for the first looks, and the
# removals of the delivered messages at the end of the pass): the points
# include that commit (syncfs, the renames of the envelopes into queue/,
# the unlinks of the delivered entries and of the maildrop entries), so
# every round killed inside it proves that a grouped commit loses nothing
# and only re-sends what the promise allows.
# After every round the queue must be empty.  At the end: every message
# delivered at least once, complete (byte for byte), and more than once
# only when a killed run had its final dot accepted and "delivered" was
# not saved (the message was received during the killed run and was
# still queued after it).
#
# CRASH_RUNNER_POINTS (200): strace rounds; CRASH_RUNNER_DOT (10): dot
# window rounds; CRASH_RUNNER_PER (6): messages queued per round (more
# than the few whose group commit fsyncs each file, see queue.h).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
traced_relayq
have_strace || skip "strace missing or cannot trace here (apt install strace)"
POINTS=${CRASH_RUNNER_POINTS:-200}
DOT=${CRASH_RUNNER_DOT:-10}
PER=${CRASH_RUNNER_PER:-6}
: "${CRASH_SEED:=$$}"
export CRASH_SEED
t0=$(date +%s)

start_smarthost fast --mode plain
FAST_RX=$SH_RX
FAST_PORT=$SH_PORT
start_smarthost slow --mode plain --data-reply-delay 0.5
SLOW_RX=$SH_RX
SLOW_PORT=$SH_PORT
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user= port="$FAST_PORT"
SLOWCONF=$T/slow.conf
write_config "$SLOWCONF" tls=none tls_verify= ca_file= user= port="$SLOW_PORT"
M=$T/msgs
mkdir "$M"
LEDGER=$T/ledger
ALLOWED=$T/allowed
: >"$LEDGER"
: >"$ALLOWED"
SET=openat,write,sendto,fsync,syncfs,renameat,renameat2,linkat,unlinkat,fchmod,pread64,flock,connect,exit_group

# The reference pass: PER messages queued, one traced `sendmail -q`.
i=1
while [ $i -le "$PER" ]; do
	ct mkmsg "$M" ref $i $([ $((i % 3)) = 2 ] && echo big || echo small)
	sm -C "$CONF" -odq -t <"$M/ref-$i.msg"
	[ "$RC" = 0 ] || die "queueing reference message $i: exit $RC"
	echo "ref-$i run - - 0 -" >>"$LEDGER"
	i=$((i + 1))
done
strace -f -qq -o "$T/trace" "$RELAYQ_SBIN/sendmail" -C "$CONF" -q >/dev/null 2>&1 ||
	die "reference sendmail -q failed"
ct points "$T/trace" "$SET" >"$T/points" || die "no kill points in the trace"
check_eq "reference pass delivered $PER" "$PER" "$(received_count "$FAST_RX")"
note "$(wc -l <"$T/points") kill points in a pass over $PER messages:" \
	"$(awk '{ c[$2]++ } END { for (k in c) printf "%s=%d ", k, c[k] }' "$T/points")"
dot=$(awk '$2 == "sendto"' "$T/points" | wc -l)
note "the final dots and the unlinks after the 250s are among them (sendto=$dot)"
check_eq "the pass committed in groups (syncfs among the points)" yes \
	"$(awk '$2 == "syncfs" { f = "yes" } END { print f ? f : "no" }' "$T/points")"
# Every point once, in a random order, then random points again.
awk -v seed="$CRASH_SEED" 'BEGIN { srand(seed) } { print rand(), $0 }' "$T/points" |
	sort -n | cut -d' ' -f2- >"$T/order"

CT_SUBMIT="$RELAYQ_SBIN/sendmail -C $CONF -odq -t"
CT_RUN="$RELAYQ_SBIN/sendmail -C $CONF -q"
CT_FLUSH="$RELAYQ_SBIN/relayq -C $CONF queue flush"
CT_MAX_SECS=${CRASH_RUNNER_MAX_SECS:-120}
export CT_SUBMIT CT_RUN CT_FLUSH CT_MAX_SECS
ct runner-rounds "$LEDGER" "$ALLOWED" "$M" "$T/spool" "$FAST_RX" "$T/order" \
	"$POINTS" "$PER" s strace >"$T/rounds.strace"
cat "$T/rounds.strace"
t1=$(date +%s)
note "strace rounds: $(($(wc -l <"$LEDGER") / PER - 1)) in $((t1 - t0)) s"

# The dot window: killed runs go to the slow smarthost, recovery to the fast.
CT_SUBMIT="$RELAYQ_SBIN/sendmail -C $SLOWCONF -odq -t"
CT_RUN="$RELAYQ_SBIN/sendmail -C $SLOWCONF -q"
CT_FLUSH_RX=$FAST_RX
export CT_SUBMIT CT_RUN CT_FLUSH_RX
ct runner-rounds "$LEDGER" "$ALLOWED" "$M" "$T/spool" "$SLOW_RX" - \
	"$DOT" 1 d dot >"$T/rounds.dot"
cat "$T/rounds.dot"
t2=$(date +%s)
note "dot-window rounds: $DOT in $((t2 - t1)) s"
check_match "every dot-window kill hit the window" "window=$DOT " \
	"$(sed -n 's/^stats //p' "$T/rounds.dot") "
check_no_grep "every recovery run emptied the queue" 'still queued|recovery run failed' \
	"$T/rounds.strace"
check_no_grep "every recovery run emptied the queue (dot window)" \
	'still queued|recovery run failed' "$T/rounds.dot"

{ ct received "$FAST_RX" "$M"; ct received "$SLOW_RX" "$M"; } >"$T/received"
if ct verdict "$LEDGER" "$T/received" "$ALLOWED" >"$T/verdict"; then
	ok "runner crash verdict: $(sed -n 's/^stats //p' "$T/verdict")"
else
	check_fail "runner crash verdict: $(sed -n 's/^stats //p' "$T/verdict")"
	grep '^bad' "$T/verdict"
fi
total=$(wc -l <"$T/received")
msgs=$(wc -l <"$LEDGER")
note "$msgs messages, $total copies received: $((total - msgs)) duplicates," \
	"$(wc -l <"$ALLOWED") allowed (final dot accepted, \"delivered\" not saved)"
check_eq "nothing moved to corrupt/" "" "$(ls -A "$T/spool/corrupt")"
check_eq "queue/ empty" "" "$(ls -A "$T/spool/queue")"
check_eq "maildrop/ empty" "" "$(ls -A "$T/spool/maildrop")"
note "tmp/ leftovers of killed runners: $(ls -A "$T/spool/tmp" | wc -l)"
note "total time $(($(date +%s) - t0)) s"
e2e_finish
