#!/bin/sh
# relayq e2e (an accepted message is never lost: doc/ARCHITECTURE.md, "The
# promises and the tests that prove them"): kill -9 of the submitter at many
# points.
#
# 1. strace points: a reference submission of each kind of message (small;
#    big = several write() calls; longline = the quoted-printable pass with
#    pread/pwrite/ftruncate) is traced, and every (syscall, ordinal) of the
#    submitter in it is a kill point: `strace -e inject=NAME:signal=KILL:
#    when=ORD` kills it on entry to exactly that call (the call is not
#    made).  Points up to and including the fchmod to 0704 (the commit
#    marker) must never be delivered; points after it leave a complete
#    entry and must be delivered exactly once.
# 2. timed kills: the message is fed through a pipe in random pieces with
#    random pauses (microseconds), and SIGKILL comes after a random delay.
#
# After each kill: exit 0 -> delivered exactly once later; killed -> never
# a partial message (a 0600 leftover is fine, a 0704 entry is complete).
# At the end one `sendmail -q` and the verdict: 0 accepted messages lost,
# 0 partial messages, 0 duplicates, nothing in corrupt/.
#
# CRASH_SUBMIT_POINTS (200): strace kill points (all when there are fewer)
# CRASH_SUBMIT_TIMED (60): timed kills; CRASH_SEED: random seed
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
traced_relayq
have_strace || skip "strace missing or cannot trace here (apt install strace)"
POINTS=${CRASH_SUBMIT_POINTS:-200}
TIMED=${CRASH_SUBMIT_TIMED:-60}
: "${CRASH_SEED:=$$}"
export CRASH_SEED
note "seed $CRASH_SEED, $POINTS strace points, $TIMED timed kills"

start_smarthost crash --mode plain
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user=
M=$T/msgs
mkdir "$M"
LEDGER=$T/ledger
: >"$LEDGER"
SM="$RELAYQ_SBIN/sendmail -C $CONF -odq -t"
SET=openat,read,write,lseek,pread64,pwrite64,ftruncate,fchmod,fsync,newfstatat,fstat,close,unlinkat,exit_group
t0=$(date +%s)

# Reference runs: the kill points of each kind of message.
: >"$T/allpoints"
for kind in small big longline; do
	ct mkmsg "$M" "ref$kind" 0 "$kind"
	# shellcheck disable=SC2086
	strace -f -qq -o "$T/trace.$kind" $SM <"$M/ref$kind-0.msg" >/dev/null 2>&1 ||
		die "reference submission ($kind) failed"
	echo "ref$kind-0 ref - - 0 -" >>"$LEDGER"
	ct points "$T/trace.$kind" "$SET" >"$T/points.$kind" ||
		die "no kill points from the $kind trace"
	commit=$(awk '$2 == "fchmod" { k = $1 } END { print k + 0 }' "$T/points.$kind")
	[ "$commit" -gt 0 ] || die "no fchmod (commit marker) in the $kind trace"
	awk -v kind="$kind" -v c="$commit" \
		'{ print kind, $2, $3, ($1 > c) ? 1 : 0 }' "$T/points.$kind" >>"$T/allpoints"
	note "$kind: $(wc -l <"$T/points.$kind") kill points, commit marker at $commit"
done
total=$(wc -l <"$T/allpoints")
# Every point when they fit; else every point near and after the commit
# and a random sample of the rest (the dynamic loader's start-up).
if [ "$total" -le "$POINTS" ]; then
	cp "$T/allpoints" "$T/chosen"
else
	keep=$(awk '$4 == 1 || $2 == "fchmod" || $2 == "fsync"' "$T/allpoints" | wc -l)
	awk -v seed="$CRASH_SEED" -v p="$(((POINTS - keep) * 1000 / (total - keep)))" \
		'BEGIN { srand(seed) }
		 $4 == 1 || $2 == "fchmod" || $2 == "fsync" || rand() * 1000 < p' \
		"$T/allpoints" >"$T/chosen"
fi
note "$(wc -l <"$T/chosen") of $total strace kill points chosen"

n=0
while read -r kind name ord after; do
	n=$((n + 1))
	ct mkmsg "$M" "s$kind" "$n" "$kind" </dev/null
	# shellcheck disable=SC2086
	ct strace-kill "$LEDGER" "s$kind" "$n" "$name" "$ord" "$after" \
		"$M/s$kind-$n.msg" -- $SM </dev/null
done <"$T/chosen"
t1=$(date +%s)
note "strace kills: $n in $((t1 - t0)) s"

# Timed kills, the message through a pipe.
i=1
while [ $i -le "$TIMED" ]; do
	case $((i % 3)) in 0) kind=small ;; 1) kind=big ;; *) kind=longline ;; esac
	ct mkmsg "$M" t $i $kind
	i=$((i + 1))
done
# shellcheck disable=SC2086
ct timed-kill "$LEDGER" t 1 "$TIMED" 15000 "$M" -- $SM
t2=$(date +%s)
note "timed kills: $TIMED in $((t2 - t1)) s"
awk '$2 == "timed" { n++; k += $4 } END { print "# timed: " k + 0 " killed, " n - k " finished" }' \
	"$LEDGER"

# Nothing partial marked complete, before any runner looks.
ct scan-maildrop "$T/spool" "$M" >"$T/scan"
sed 's/^/# maildrop: /' "$T/scan" | tail -n 2
check_no_grep "no 0704 maildrop entry is partial, no other mode" '^(partial|badmode)' "$T/scan"

E2E_CMD_TIMEOUT=120
sm -C "$CONF" -q
expect_rc "sendmail -q after the kills" 0
accepted=$(awk '$5 == 0' "$LEDGER" | wc -l)
committed=$(sed -n 's/^complete0704 //p' "$T/scan")
# Wait until the count stops growing (bounded).
_prev=-1
_end=$(($(date +%s) + E2E_WAIT))
while [ "$(received_count)" != "$_prev" ] && [ "$(date +%s)" -lt "$_end" ]; do
	_prev=$(received_count)
	sleep 0.5
done
ct received "$SH_RX" "$M" >"$T/received"
if ct verdict "$LEDGER" "$T/received" >"$T/verdict"; then
	ok "crash verdict: $(sed -n 's/^stats //p' "$T/verdict")"
else
	check_fail "crash verdict: $(sed -n 's/^stats //p' "$T/verdict")"
	grep '^bad' "$T/verdict"
fi
check_eq "received = accepted + complete entries of killed submitters" \
	"$(sed -n 's/.*committed_killed=\([0-9]*\).*/\1/p' "$T/verdict")" \
	"$(($(received_count) - accepted))"
check_eq "nothing moved to corrupt/" "" "$(ls -A "$T/spool/corrupt")"
check_eq "queue/ empty" "" "$(ls -A "$T/spool/queue")"
note "complete0704 before the run: $committed; total time $(($(date +%s) - t0)) s"
e2e_finish
