#!/bin/sh
# relayq e2e: a typo in a route section ([smarthost] "pasword_file") must
# not cost a PHP-style caller its message.  Submission needs only [queue]
# and [local]: `sendmail -t -i` queues (exit 0) and names FILE:LINE on
# stderr; mailq and `relayq queue list` list the message with the problem
# on stderr above it; the runner (relayq run, sendmail -q) refuses with 78
# and the queue untouched, nothing is sent; once the file is fixed the
# message is delivered.  A broken route's allowed_senders does not refuse
# at submission (the runner applies the policy when it can read it).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
GOOD=$T/good.conf
BAD=$T/bad.conf
write_config "$GOOD"
awk '{ print } $0 == "[smarthost]" { print "pasword_file = /etc/relayq/pw" }' \
	"$GOOD" >"$BAD"
LINE=$(grep -nxF "pasword_file = /etc/relayq/pw" "$BAD" | cut -d: -f1)
[ -n "$LINE" ] || die "could not place the typo"
WHERE="bad\\.conf:$LINE: pasword_file"

# 1. PHP's mail(): sendmail_path = "sendmail -t -i", default delivery mode.
php_message "$T/msg" "Bob <bob@example.org>" "typo in smarthost" "Hello from PHP"
sm -C "$BAD" -t -i <"$T/msg"
expect_rc "sendmail -t -i with a broken [smarthost]: queued" 0
check_eq "sendmail: one line on stderr" 1 "$(grep -c . "$ERR")"
check_match "sendmail: stderr names FILE:LINE and the key" "$WHERE" "$(cat "$ERR")"
check_eq "sendmail: nothing on stdout" "" "$(cat "$OUT")"

# 2. mailq: the problem on stderr, the listing (parsable) on stdout.
mailq_of "$BAD"
expect_rc "mailq with a broken [smarthost]" 0
check_match "mailq: stderr names FILE:LINE" "$WHERE" "$(cat "$ERR")"
mt mailq "$OUT" >"$T/mailq.parsed"
check_grep "mailq: the message is listed" '^summary [0-9]+ 1$' "$T/mailq.parsed"
rq -C "$BAD" queue list
expect_rc "relayq queue list with a broken [smarthost]" 0
check_match "relayq queue list: stderr names FILE:LINE" "$WHERE" "$(cat "$ERR")"
mt mailq "$OUT" >"$T/list.parsed"
check_grep "relayq queue list: the message is listed" '^summary [0-9]+ 1$' "$T/list.parsed"

# 3. The runner refuses, the queue stays as it is, nothing is sent.
spool_snapshot >"$T/spool.before"
rq -C "$BAD" run
expect_rc "relayq run with a broken [smarthost]" 78
check_match "relayq run: stderr names FILE:LINE" "$WHERE" "$(cat "$ERR")"
sm -C "$BAD" -q
expect_rc "sendmail -q with a broken [smarthost]" 78
check_match "sendmail -q: stderr names FILE:LINE" "$WHERE" "$(cat "$ERR")"
spool_snapshot >"$T/spool.after"
check_eq "the runner left the queue untouched" "" \
	"$(diff "$T/spool.before" "$T/spool.after")"
check_eq "nothing reached the smarthost" 0 "$(received_count)"

# 4. A broken route that limits senders: submission queues all the same.
cat "$GOOD" >"$T/policy.conf"
printf '%s\n' "[smarthost other]" "host = localhost" "allowed_senders = nobody@example.test" \
	"colour = blue" >>"$T/policy.conf"
printf 'Subject: broken route policy\n\nbody\n' >"$T/msg2"
sm -C "$T/policy.conf" -odq -f stranger@example.org -i carol@example.org <"$T/msg2"
expect_rc "broken route with allowed_senders: queued" 0
check_match "broken route: stderr names the key" "policy\\.conf:[0-9]+: colour" "$(cat "$ERR")"

# 5. Fixed: the messages go out.
rq -C "$GOOD" run
expect_rc "relayq run with the fixed config" 0
wait_for 2 || die "the queued messages were not delivered after the fix"
M=$(msg_by_subject "typo in smarthost") || die "the PHP message is missing"
check_eq "the PHP message went to bob" "bob@example.org" "$(rcpts "$M")"
wait_queue_empty "$GOOD" || check_fail "the queue is empty after the fix"
e2e_finish
