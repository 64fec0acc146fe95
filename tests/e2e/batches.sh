#!/bin/sh
# relayq e2e: a message with 2 500 recipients goes out in transactions of at
# most 1 000 (RCPT_BATCH in src/deliver.c), and the state is saved after
# each: a runner killed (-9) in the middle of the second transaction
# re-sends only that one. The smarthost holds each 250 to the final dot for
# 2 s; the runner is killed when the second transaction's MAIL arrives (the
# state after the first is saved before it: no fixed sleep that a slow
# machine could outlast). Then:
#  - the first 1 000 recipients were delivered exactly once;
#  - after a clean run, every recipient was delivered, and the only
#    duplicates are recipients of the second transaction (the window "final
#    dot sent -> delivered saved" of the at-least-once promise);
#  - no transaction carried more than 1 000 recipients; the queue is empty.
# B: a smarthost that takes only 100 per transaction (452 to the rest): all
#    delivered in one run, 100 per transaction once the limit is known.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
start_smarthost batches --mode plain --data-reply-delay 2
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user=
"$RELAYQ_PYTHON" - "$T" <<'EOF'
import sys
t = sys.argv[1]
rc = ["b%04d@example.org" % i for i in range(2500)]
open(t + "/rcpts.list", "w").write("\n".join(rc) + "\n")
hdr = "".join("Bcc: " + ", ".join(rc[i:i + 100]) + "\n" for i in range(0, 2500, 100))
open(t + "/msg", "w").write("To: undisclosed-recipients:;\nSubject: batches\n" + hdr + "\nbody\n")
EOF
sm -C "$CONF" -odq -t <"$T/msg"
expect_rc "2 500 recipients queued" 0

"$RELAYQ_SBIN/sendmail" -C "$CONF" -q >"$T/run1.out" 2>&1 &
RPID=$!
_i=0
while [ "$(received_count)" -lt 1 ] && [ $_i -lt $((E2E_WAIT * 10)) ]; do
	nap
	_i=$((_i + 1))
done
check_eq "the first transaction arrived" 1 "$(received_count)"
_i=0
while [ "$(sent_lines MAIL "$SH_LOG" | wc -l)" -lt 2 ] && [ $_i -lt $((E2E_WAIT * 10)) ]; do
	nap
	_i=$((_i + 1))
done
check_eq "the second transaction began" 2 "$(sent_lines MAIL "$SH_LOG" | wc -l | tr -d ' ')"
kill -9 "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
check_eq "killed inside the second transaction (one copy stored, or two)" ok \
	"$([ "$(received_count)" -le 2 ] && echo ok)"
mt find "$SH_RX" batches >"$T/first.list"

run "$RELAYQ_SBIN/sendmail" -C "$CONF" -q
expect_rc "the next run" 0
wait_for 3 30 || true
sleep 3	# a fourth copy (the re-sent second transaction) may still come
mt find "$SH_RX" batches >"$T/all.list"
check_eq "verdict" "ok" "$("$RELAYQ_PYTHON" - "$T" <<'EOF'
import collections, json, sys
t = sys.argv[1]
want = open(t + "/rcpts.list").read().split()
first = json.load(open(open(t + "/first.list").read().split()[0] + ".json"))["rcpt_tos"]
got, most = [], 0
for base in open(t + "/all.list").read().split():
    r = json.load(open(base + ".json"))["rcpt_tos"]
    got += r
    most = max(most, len(r))
dup = set(a for a, n in collections.Counter(got).items() if n > 1)
bad = []
if sorted(set(got)) != sorted(want):
    bad.append("missing %d" % len(set(want) - set(got)))
if first != want[:1000]:
    bad.append("the first transaction was not the first 1 000")
if dup & set(first):
    bad.append("%d of the first 1 000 twice" % len(dup & set(first)))
if not dup <= set(want[1000:2000]):
    bad.append("duplicates outside the second transaction")
if most > 1000:
    bad.append("%d recipients in one transaction" % most)
print(" ".join(bad) or "ok")
EOF
)"
note "copies received: $(received_count)"
check_queue_empty "queue empty" "$CONF"

# B. A smarthost that takes 100 recipients per transaction and answers 452
#    to the rest (as Gmail and Microsoft 365 do): relayq learns the limit
#    from the first transaction and delivers all 2 500 in the same run, in
#    25 transactions, each recipient once.
start_smarthost limit --mode plain --max-rcpts 100
write_config "$T/limit.conf" tls=none tls_verify= ca_file= user= spool="$T/spool2"
mkdir "$T/spool2"
sm -C "$T/limit.conf" -odq -t <"$T/msg"
expect_rc "B: 2 500 recipients queued" 0
run "$RELAYQ_SBIN/sendmail" -C "$T/limit.conf" -q
expect_rc "B: one run" 0
wait_for 25 30 || true
check_eq "B: 25 transactions of 100" 25 "$(received_count)"
mt find "$SH_RX" batches >"$T/limit.list"
check_eq "B: every recipient once, never more than 100 at once" ok "$("$RELAYQ_PYTHON" - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
want = open(t + "/rcpts.list").read().split()
got, most = [], 0
for base in open(t + "/limit.list").read().split():
    r = json.load(open(base + ".json"))["rcpt_tos"]
    got += r
    most = max(most, len(r))
ok = sorted(got) == sorted(want) and len(got) == len(set(got)) and most <= 100
print("ok" if ok else "got %d (%d distinct, at most %d at once)" % (len(got), len(set(got)), most))
EOF
)"
check_queue_empty "B: queue empty after one run" "$T/limit.conf"
e2e_finish
