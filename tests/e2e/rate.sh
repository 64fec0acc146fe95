#!/bin/sh
# relayq e2e: sending limits of a route (rate = 3/minute). Messages beyond
# the limit wait in the queue with the reason in mailq ("rate limit
# 3/minute of route default, next slot HH:MM"), are not counted as
# attempts and do not expire unsent; the count is on disk, so another run
# (another process) keeps it; when the window has passed (the runner's
# clock moved with faketime, no real waiting) they go. Priority decides
# who gets the slots.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
command -v faketime >/dev/null 2>&1 || skip "faketime not found"
make_certs
start_tls_smarthost main
CONF=$T/relayq.conf
write_config "$CONF" extra="rate = 3/minute, 100/day"
i=1
while [ $i -le 5 ]; do
	printf 'Subject: bulk %d\n\nbody\n' $i | sm -C "$CONF" -odq rcpt@example.org
	i=$((i + 1))
done
printf 'X-Priority: 1\nSubject: urgent\n\nbody\n' | sm -C "$CONF" -odq rcpt@example.org

sm -C "$CONF" -q
expect_rc "first run" 0
wait_for 3 || die "the first three did not arrive"
nap
check_eq "three messages within the limit" 3 "$(received_count)"
check_eq "the urgent one took the first slot" urgent "$(header "$SH_RX/0001.eml" Subject)"
mailq_of "$CONF"
check_grep "mailq gives the reason" \
	'\(rate limit 3/minute of route default, next slot [0-9]{2}:[0-9]{2}\)' "$OUT"
check_grep "mailq: three waiting" 'in 3 Requests\.$' "$OUT"
rq -C "$CONF" queue list --json
check_grep "JSON: the reason" '"delay_reason": "rate limit 3/minute' "$OUT"
ID=$(sed -n '1s/.*"queue_id": "\([0-9A-F]*\)".*/\1/p' "$OUT")
rq -C "$CONF" queue show "$ID"
check_grep "not counted as an attempt" '^attempts: 0$' "$OUT"

# Another run at once (a new process): the count is on disk.
sm -C "$CONF" -q
nap
check_eq "nothing more within the minute" 3 "$(received_count)"

# Five days later (lifetime) they are still sent, not bounced unsent.
# (libfaketime is preloaded before the runtime of a sanitizer build: ASan
# must be told that this order is intended.)
run env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +5d1m "$RELAYQ_SBIN/sendmail" -C "$CONF" -q
expect_rc "run after the window" 0
wait_for 6 || die "the held messages did not go"
nap
check_eq "the rest went, none bounced" 6 "$(received_count)"
check_eq "no bounce among them" 0 "$(mt subjects "$SH_RX" | grep -c -i 'undeliver\|failure\|returned')"
check_queue_empty "queue empty" "$CONF"
e2e_finish
