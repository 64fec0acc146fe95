#!/bin/sh
# relayq e2e: fail closed on certificate problems.
#  1. STARTTLS smarthost with a cert from a CA relayq does not trust: the
#     message stays queued, mailq gives a reason about the certificate, the
#     smarthost saw no AUTH and no MAIL.
#  2. ca_file fixed in the config, `relayq queue flush`: delivered, queue empty.
#  3. A cert from the trusted CA but for another host name: stays queued,
#     no AUTH, no MAIL.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs

# --- 1. untrusted CA ---
start_smarthost wrong --mode starttls --cert "$T/wrong-server.pem" \
	--key "$T/wrong-server.key" --auth "alice:$E2E_PASS"
WRONG_LOG=$SH_LOG
WRONG_RX=$SH_RX
CONF=$T/relayq.conf
write_config "$CONF" # ca_file = the test CA, which did not sign the server cert

printf 'Must not leave without a verified certificate.\n' >"$T/body1"
{
	printf 'To: bob@example.org\nSubject: wrong CA\n\n'
	cat "$T/body1"
} >"$T/msg1"
sm -C "$CONF" -odq -i bob@example.org <"$T/msg1"
expect_rc "sendmail -odq" 0
sm -C "$CONF" -q
note "sendmail -q with an untrusted server cert: exit $RC"
check_match "sendmail -q exit code is 0 or 75 (deferral is not a usage error)" '^(0|75)$' "$RC"

check_eq "1: nothing delivered" 0 "$(received_count "$WRONG_RX")"
check_sent "1: relayq did connect and ask for STARTTLS" STARTTLS "$WRONG_LOG"
check_not_sent "1: no AUTH sent" AUTH "$WRONG_LOG"
check_not_sent "1: no MAIL sent" MAIL "$WRONG_LOG"
check_not_sent "1: no RCPT sent" RCPT "$WRONG_LOG"
check_no_grep "1: the password never went out" "$E2E_PASS_RE" "$WRONG_LOG"

mailq_of "$CONF"
expect_rc "1: mailq" 0
mt mailq "$OUT" >"$T/mailq1.parsed"
check_grep "1: mailq lists the message" '^entry ' "$T/mailq1.parsed"
check_grep "1: mailq lists its recipient" '^rcpt bob@example\.org$' "$T/mailq1.parsed"
check_grep "1: mailq says 1 request" '^summary [0-9]+ 1$' "$T/mailq1.parsed"
if grep -Eiq '^reason .*certif' "$T/mailq1.parsed"; then
	ok "1: deferral reason mentions the certificate"
else
	check_fail "1: deferral reason mentions the certificate" \
		"a (reason) line with 'certificate'" "$(cat "$OUT")"
fi
check_no_grep "1: mailq output is well-formed" '^error:' "$T/mailq1.parsed"

# --- 2. fix ca_file, flush ---
write_config "$CONF" ca_file="$T/wrongca.pem"
rq -C "$CONF" queue flush
expect_rc "2: relayq queue flush after fixing ca_file" 0
wait_for 1 10 "$WRONG_RX" || die "message not delivered after the fix"
M=$(msg_by_subject "wrong CA" "$WRONG_RX") || die "message missing"
check_eq "2: envelope recipient" "bob@example.org" "$(rcpts "$M")"
check_eq "2: TLS" "true" "$(jget "$M.json" tls)"
check_eq "2: AUTH login" "alice" "$(jget "$M.json" auth_login)"
check_body "2: body bytes" "$T/body1" "$M.eml"
check_queue_empty "2: queue empty after flush" "$CONF"
check_no_cleartext "$WRONG_LOG"

# --- 3. trusted CA, wrong host name ---
start_smarthost othername --mode starttls --cert "$T/othername-server.pem" \
	--key "$T/othername-server.key" --auth "alice:$E2E_PASS"
CONF3=$T/relayq-othername.conf
write_config "$CONF3"
CONF=$CONF3
printf 'Host name must match.\n' >"$T/body3"
{
	printf 'To: carol@example.org\nSubject: wrong name\n\n'
	cat "$T/body3"
} >"$T/msg3"
sm -C "$CONF3" -odq -i carol@example.org <"$T/msg3"
expect_rc "3: sendmail -odq" 0
sm -C "$CONF3" -q
note "sendmail -q with a cert for another name: exit $RC"
check_eq "3: nothing delivered" 0 "$(received_count)"
check_sent "3: relayq did connect and ask for STARTTLS" STARTTLS "$SH_LOG"
check_not_sent "3: no AUTH sent" AUTH "$SH_LOG"
check_not_sent "3: no MAIL sent" MAIL "$SH_LOG"
mailq_of "$CONF3"
mt mailq "$OUT" >"$T/mailq3.parsed"
check_grep "3: still queued" '^rcpt carol@example\.org$' "$T/mailq3.parsed"
check_grep "3: with a deferral reason" '^reason ' "$T/mailq3.parsed"
e2e_finish
