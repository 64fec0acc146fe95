#!/bin/sh
# relayq e2e: allowed_senders per [user NAME] and per route. A refused
# sender is refused by sendmail itself (exit 77, one line naming the
# sender, the user and the rule; 550 5.7.1 to MAIL FROM in -bs), the
# message is never queued, and the postmaster gets one alert per user and
# sender per hour (the runner's clock moved with faketime). The runner
# refuses such a sender again at pickup (an entry queued past the policy).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
command -v faketime >/dev/null 2>&1 || skip "faketime not found"
make_certs
start_tls_smarthost main
ME=$(id -un)
CONF=$T/relayq.conf
write_config "$CONF" extra="
[smarthost shop]
host = localhost
port = $SH_PORT
ca_file = $T/ca.pem
user = alice
password = $E2E_PASS
senders = *@shop.example
allowed_senders = orders@shop.example

[user $ME]
allowed_senders = *.shop.example;shop.example, me@home.example"
# the same spool without the policy: how an entry gets past sendmail
CONF_OPEN=$T/open.conf
write_config "$CONF_OPEN"

maildrop_count() { find "$T/spool/maildrop" -type f | wc -l | tr -d ' '; }
queue_count() { find "$T/spool/queue" -name '*.env' | wc -l | tr -d ' '; }
msg() { printf 'To: rcpt@example.org\nSubject: %s\n\nbody\n' "$1" >"$T/msg"; }

# Allowed: the user's list and the route's list both admit these.
for s in me@home.example me+tag@home.example orders@shop.example x@eu.shop.example; do
	msg "ok $s"
	sm -C "$CONF" -odq -f "$s" rcpt@example.org <"$T/msg"
	expect_rc "allowed sender $s" 0
done

# Refused by the user's list: nothing queued but the alert request.
before=$(maildrop_count)
msg "refused"
sm -C "$CONF" -odq -f boss@evil.example rcpt@example.org <"$T/msg"
expect_rc "a sender outside [user] allowed_senders" 77
check_eq "one line on stderr" 1 "$(wc -l <"$ERR" | tr -d ' ')"
check_match "it names the sender, the user and the rule" \
	"^sendmail: sender <boss@evil.example> not allowed for user $ME: not in \[user $ME\] allowed_senders \(.*relayq.conf:[0-9]+\)$" \
	"$(cat "$ERR")"
check_eq "only the alert request was queued" $((before + 1)) "$(maildrop_count)"
msg "refused 2"
sm -C "$CONF" -odq -t -f boss@evil.example <"$T/msg"
expect_rc "-t cannot escape it" 77
msg "domain only"
sm -C "$CONF" -odq -f a@home.example rcpt@example.org <"$T/msg"
expect_rc "me@home.example does not admit the rest of home.example" 77

# Refused by the route's list (the user's list admits *.shop.example).
msg "route refused"
sm -C "$CONF" -odq -f sales@shop.example rcpt@example.org <"$T/msg"
expect_rc "a sender outside the route's allowed_senders" 77
check_match "the rule is the route's" "not in \[smarthost shop\] allowed_senders" "$(cat "$ERR")"

# sendmail -bs: 550 5.7.1 to MAIL FROM, the session goes on.
cat >"$T/bs.script" <<'END'
R 220
S EHLO client.example
R 250
S MAIL FROM:<boss@evil.example>
R 550
S MAIL FROM:<me@home.example>
R 250
S RCPT TO:<rcpt@example.org>
R 250
S DATA
R 354
S Subject: bs ok
S
S body
S .
R 250
S QUIT
R 221
END
run "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/bs_client.py" "$T/bs.script" \
	"$T/transcript" "$T/bs.stderr" "$RELAYQ_SBIN/sendmail" -C "$CONF" -bs -odq
check_eq "-bs session went as scripted" "exit 0" "$(cat "$OUT")"
check_grep "-bs: 550 5.7.1 names the sender" '550 5\.7\.1 sender <boss@evil\.example> not allowed' \
	"$T/transcript"

# One queue run: 4 allowed messages, the -bs one, and an alert for each of
# the 3 refused senders, although boss@evil.example was refused 3 times
# (one alert per user and sender).
sm -C "$CONF" -q
expect_rc "queue run" 0
wait_for 8 || true
nap
check_eq "allowed messages and alerts delivered" 8 "$(received_count)"
alerts=$(mt subjects "$SH_RX" | grep -c '^relayq: sender <boss@evil.example> refused')
check_eq "one alert about boss@evil.example" 1 "$alerts"
A=$(msg_by_subject "relayq: sender <boss@evil.example> refused for user $ME") || die "no alert"
check_eq "the alert goes to the postmaster" "postmaster@example.test" "$(rcpts "$A")"
check_eq "from the null sender" "<>" "$(jget "$A.json" mail_from)"
check_grep "the alert names the rule" "allowed_senders" "$A.eml"
check_queue_empty "nothing left in the queue" "$CONF"

# An hour later (the runner's clock), the same refusal alerts again.
msg "refused later"
sm -C "$CONF" -odq -f boss@evil.example rcpt@example.org <"$T/msg"
expect_rc "refused again" 77
# (libfaketime is preloaded before the runtime of a sanitizer build: ASan
# must be told that this order is intended.)
run env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +2h "$RELAYQ_SBIN/sendmail" -C "$CONF" -q
wait_for 9 || true
alerts=$(mt subjects "$SH_RX" | grep -c '^relayq: sender <boss@evil.example> refused')
check_eq "a second alert after the hour" 2 "$alerts"

# Defence in depth: an entry queued without the policy is refused at pickup.
msg "past the policy"
sm -C "$CONF_OPEN" -odq -f boss@evil.example rcpt@example.org <"$T/msg"
expect_rc "queued through a configuration without the policy" 0
sm -C "$CONF" -q
check_eq "the runner put it aside" 1 \
	"$(find "$T/spool/corrupt" -type f ! -name '*.env' | wc -l | tr -d ' ')"
check_eq "and sent nothing more" 9 "$(received_count)"
check_eq "queue empty" 0 "$(queue_count)"
e2e_finish
