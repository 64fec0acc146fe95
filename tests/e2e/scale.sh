#!/bin/sh
# relayq e2e: a pass over more messages than one group commit holds (queue.h,
# struct qgroup: 256). 600 complete maildrop entries (clones of one
# submission under fresh ids), then:
#  - with the smarthost down, one `sendmail -q` picks up and defers every
#    one: all 600 listed by mailq with the reason, none left in maildrop/,
#    none in corrupt/, no staged envelope left in tmp/; and it syncs per
#    group, not per message (fewer than 600/10 fsync+syncfs calls, when
#    strace can count them);
#  - with the smarthost up, one pass delivers each exactly once and empties
#    the queue;
#  - mailq makes at most 3 system calls per message (open, read, close of
#    the message file in maildrop/, of the envelope in queue/), and the
#    pass with the smarthost down tries one connection for the route, not
#    one per message, and a pass over picked-up messages reads each
#    envelope at most twice, exchanging each new state with the old
#    envelope and writing the next group's states over those (when
#    strace can count them).
# Correctness only: nothing here depends on how fast the machine is.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
COUNT=600
down_port DOWN
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user= port="$DOWN"

# mailq_calls N: the system calls of one mailq under strace -c (in $calls),
# checking that it listed N messages.
mailq_calls() {
	run strace -f -qq -c -o "$T/mailq.sc" env RELAYQ_CONFIG="$CONF" \
		"$RELAYQ_BIN/mailq"
	expect_rc "mailq under strace ($1 listed)" 0
	check_eq "mailq lists all $1" 1 \
		"$(grep -c "Total requests: $1\$" "$OUT")"
	calls=$(awk '$NF == "total" { print $4 }' "$T/mailq.sc")
}
# mailq_syscalls WHAT: checks that mailq over $COUNT messages made at most 3
# system calls per message (open, one read, close) more than it made over
# one message ($BASE_CALLS: the start-up cost, which a sanitizer build
# raises), with a little room for the allocator's occasional mmap.
mailq_syscalls() {
	mailq_calls "$COUNT"
	note "mailq over $COUNT messages ($1): $calls system calls, over 1: $BASE_CALLS"
	check_eq "mailq: at most 3 system calls per message ($1)" yes \
		"$([ "${calls:-999999}" -le $((BASE_CALLS + 3 * (COUNT - 1) + 100)) ] && echo yes)"
}
# same_on_one_cpu HOW WHAT CMD...: CMD gives the same output pinned to one
# CPU (taskset -c 0) as on every CPU the test may use.
same_on_one_cpu() {
	_how=$1 _what=$2
	shift 2
	run "$@"
	expect_rc "$_how ($_what), all CPUs" 0
	cp "$OUT" "$T/listing.all"
	run taskset -c 0 "$@"
	expect_rc "$_how ($_what), one CPU" 0
	check_eq "$_how ($_what): the same listing on one CPU as on all" "" \
		"$(cmp "$T/listing.all" "$OUT" 2>&1)"
}
# listing_same WHAT: mailq and `relayq queue list --json` on every CPU
# give what they give on one: a directory longer than a chunk (mailq.c:
# 256 entries) is listed by several threads when the process may run on
# more than one CPU (nproc, as mailq counts them), and the output must
# not show it.
listing_same() {
	if ! command -v taskset >/dev/null 2>&1 ||
		! taskset -c 0 true 2>/dev/null || [ "$(nproc)" -lt 2 ]; then
		note "one CPU (or no taskset): the threaded listing ($1) not compared"
		return 0
	fi
	same_on_one_cpu mailq "$1" env RELAYQ_CONFIG="$CONF" "$RELAYQ_BIN/mailq"
	same_on_one_cpu json "$1" "$RELAYQ_SBIN/relayq" -C "$CONF" queue list --json
	check_eq "the listing ($1) names $COUNT messages" "$COUNT" \
		"$(grep -c '"queue_id"' "$OUT")"
}
printf 'To: rcpt@example.org\nSubject: scale\n\nthe same message, many times\n' >"$T/msg"
sm -C "$CONF" -odq -t -i <"$T/msg"
expect_rc "one message queued with -odq" 0
if have_strace; then
	traced_relayq
	mailq_calls 1
	BASE_CALLS=${calls:-0}
fi
"$RELAYQ_PYTHON" - "$T/spool/maildrop" "$COUNT" <<'PY' || die "cloning maildrop entries"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
src = os.listdir(d)
assert len(src) == 1, src
data = open(os.path.join(d, src[0]), "rb").read()
os.unlink(os.path.join(d, src[0]))
for i in range(n):
    p = os.path.join(d, "%s%08X" % (src[0][:8], i))
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.fchmod(fd, 0o704)
    os.close(fd)
PY
check_eq "$COUNT complete maildrop entries" "$COUNT" "$(ls "$T/spool/maildrop" | wc -l | tr -d ' ')"

if have_strace; then
	traced_relayq
	mailq_syscalls "in maildrop/"
fi
listing_same "in maildrop/"

E2E_CMD_TIMEOUT=300
if have_strace; then
	traced_relayq
	run strace -f -qq -o "$T/pass.trace" \
		-e trace=fsync,fdatasync,syncfs,connect \
		"$RELAYQ_SBIN/sendmail" -C "$CONF" -q
	syncs=$(grep -cE '^[0-9]+ +(fsync|fdatasync|syncfs)\(' "$T/pass.trace")
	note "fsync/syncfs calls in a pass over $COUNT messages: $syncs"
	check_eq "the pass syncs per group, not per message" yes \
		"$([ "$syncs" -lt $((COUNT / 10)) ] && echo yes)"
	# The smarthost refused the first connection: the rest of the
	# route's messages are deferred with its reason, not tried again.
	# (Connections to local sockets, such as nscd's, are not counted.)
	check_eq "one connection attempt for the route in the pass" 1 \
		"$(grep -cE '^[0-9]+ +connect\(.*AF_INET' "$T/pass.trace")"
else
	sm -C "$CONF" -q
fi
expect_rc "sendmail -q with the smarthost down" 0
check_eq "maildrop/ empty" "" "$(ls -A "$T/spool/maildrop")"
check_eq "nothing in corrupt/" "" "$(ls -A "$T/spool/corrupt")"
check_eq "no staged envelope left in tmp/" "" "$(ls -A "$T/spool/tmp")"
check_eq "$COUNT messages and $COUNT envelopes in queue/" "$((2 * COUNT))" \
	"$(ls "$T/spool/queue" | wc -l | tr -d ' ')"
mailq_of "$CONF"
expect_rc "mailq" 0
mt mailq "$OUT" >"$T/mailq.parsed"
check_eq "mailq: $COUNT entries" "entries $COUNT" "$(grep '^entries' "$T/mailq.parsed")"
check_eq "mailq: each deferred with the reason" "$COUNT" \
	"$(grep -c 'Connection refused' "$OUT")"
listing_same "in queue/, deferred"
if have_strace; then
	mailq_syscalls "in queue/, the envelopes read"
	# A pass over them, picked up (retry times ignored), the smarthost
	# still down: each envelope is read once to plan the pass and once
	# under its lock, not once more for each step of the planning.
	run strace -f -qq -o "$T/flush.trace" -e trace=openat,renameat2 \
		"$RELAYQ_SBIN/relayq" -C "$CONF" queue flush
	expect_rc "relayq queue flush with the smarthost down" 0
	reads=$(grep -cE '^[0-9]+ +openat\(.*\.env", O_RDONLY' "$T/flush.trace")
	note "envelope reads in a pass over $COUNT picked-up messages: $reads"
	check_eq "the pass reads each envelope at most twice" yes \
		"$([ "$reads" -le $((2 * COUNT)) ] && echo yes)"
	# Each new state is exchanged with the envelope it replaces, and
	# the next group writes over those: files are created for the
	# first group only (256), none freed and allocated per message.
	check_eq "every deferral's state exchanged with the old envelope" \
		"$COUNT" "$(grep -cE '^[0-9]+ +renameat2\(.*RENAME_EXCHANGE\) = 0' \
		"$T/flush.trace")"
	created=$(grep -cE '^[0-9]+ +openat\(.*"spare\.[0-9]+\.[0-9]+", .*O_CREAT' \
		"$T/flush.trace")
	note "staging files created in that pass: $created"
	check_eq "staging files created for one group only, then reused" yes \
		"$([ "$created" -ge 1 ] && [ "$created" -le 256 ] && echo yes)"
	check_eq "tmp/ empty after the deferring pass" "" "$(ls -A "$T/spool/tmp")"
	check_eq "all $COUNT still queued after the deferring pass" "$((2 * COUNT))" \
		"$(ls "$T/spool/queue" | wc -l | tr -d ' ')"
fi

start_smarthost scale --mode plain
write_config "$CONF" tls=none tls_verify= ca_file= user=
sm -C "$CONF" -q
expect_rc "sendmail -q with the smarthost up" 0
wait_for $COUNT 120 || die "not all messages arrived"
nap
check_eq "exactly $COUNT messages received" "$COUNT" "$(received_count)"
check_queue_empty "the queue is empty" "$CONF"
check_eq "queue/ empty" "" "$(ls -A "$T/spool/queue")"
e2e_finish
