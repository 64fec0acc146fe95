#!/bin/sh
# relayq e2e: tls = starttls but the smarthost does not offer STARTTLS (a
# downgrade, or a misconfigured relay).  relayq must not fall back to clear
# text: the message stays queued, the smarthost never sees AUTH or MAIL, and
# mailq's deferral reason mentions STARTTLS.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_smarthost clear --mode starttls --no-starttls --cert "$T/server.pem" \
	--key "$T/server.key" --auth "alice:$E2E_PASS"
CONF=$T/relayq.conf
write_config "$CONF"

printf 'Never in clear text.\n' >"$T/body"
{
	printf 'To: bob@example.org\nSubject: no starttls\n\n'
	cat "$T/body"
} >"$T/msg"
sm -C "$CONF" -odq -t -i <"$T/msg"
expect_rc "sendmail -odq -t -i" 0
sm -C "$CONF" -q
note "sendmail -q against a server without STARTTLS: exit $RC"
check_match "sendmail -q exit code is 0 or 75" '^(0|75)$' "$RC"

check_eq "nothing delivered" 0 "$(received_count)"
check_sent "relayq connected and said EHLO" EHLO "$SH_LOG"
check_not_sent "no AUTH sent" AUTH "$SH_LOG"
check_not_sent "no MAIL sent" MAIL "$SH_LOG"
check_not_sent "no RCPT sent" RCPT "$SH_LOG"
check_not_sent "no DATA sent" DATA "$SH_LOG"
check_no_grep "the password never went out" "$E2E_PASS_RE|YWxpY2U" "$SH_LOG"

mailq_of "$CONF"
expect_rc "mailq" 0
mt mailq "$OUT" >"$T/mailq.parsed"
check_grep "mailq lists the message" '^rcpt bob@example\.org$' "$T/mailq.parsed"
if grep -Eiq '^reason .*starttls' "$T/mailq.parsed"; then
	ok "deferral reason mentions STARTTLS"
else
	check_fail "deferral reason mentions STARTTLS" "a (reason) line with 'STARTTLS'" \
		"$(cat "$OUT")"
fi
check_no_grep "mailq output is well-formed" '^error:' "$T/mailq.parsed"

# A second pass does not change its mind.
sm -C "$CONF" -q
rq -C "$CONF" queue flush
check_eq "still nothing delivered after flush" 0 "$(received_count)"
check_not_sent "still no AUTH" AUTH "$SH_LOG"
check_not_sent "still no MAIL" MAIL "$SH_LOG"
e2e_finish
