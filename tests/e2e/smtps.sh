#!/bin/sh
# relayq e2e: implicit TLS (tls = smtps, "port 465") with AUTH.  Config
# selected with RELAYQ_CONFIG.  One message queued with -odq and sent by
# `relayq run`; a second one with the password in password_file, sent with
# -odi (delivered before sendmail exits).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_smarthost smtps --mode smtps --cert "$T/server.pem" --key "$T/server.key" \
	--auth "alice:$E2E_PASS"
CONF=$T/relayq.conf
write_config "$CONF" tls=smtps

printf 'Implicit TLS body.\nLine two.\n' >"$T/body1"
{
	printf 'To: bob@example.org\nSubject: over smtps\n\n'
	cat "$T/body1"
} >"$T/msg1"
run env RELAYQ_CONFIG="$CONF" "$RELAYQ_SBIN/sendmail" -odq -i bob@example.org <"$T/msg1"
expect_rc "RELAYQ_CONFIG=conf sendmail -odq -i bob@example.org" 0
check_eq "-odq delivered nothing yet" 0 "$(received_count)"
run env RELAYQ_CONFIG="$CONF" "$RELAYQ_SBIN/relayq" run
expect_rc "RELAYQ_CONFIG=conf relayq run" 0
wait_for 1 || die "message did not arrive"

M=$(msg_by_subject "over smtps") || die "message missing"
check_eq "envelope sender" "$(id -un)@example.test" "$(jget "$M.json" mail_from)"
check_eq "envelope recipient" "bob@example.org" "$(rcpts "$M")"
check_eq "session was TLS" "true" "$(jget "$M.json" tls)"
check_match "TLS >= 1.2" '^TLSv1\.[23]$' "$(jget "$M.json" tls_version)"
check_eq "AUTH login" "alice" "$(jget "$M.json" auth_login)"
check_body "body bytes" "$T/body1" "$M.eml"
check_crlf_only "CRLF line ends only" "$M.eml"
check_grep "the connection was implicit TLS" 'connect from .*implicit TLS' "$SH_LOG"
check_not_sent "no STARTTLS on an smtps connection" STARTTLS "$SH_LOG"
check_queue_empty "queue empty after relayq run" "$CONF"

# password_file instead of password, and -odi.
printf '%s\n' "$E2E_PASS" >"$T/password"
chmod 600 "$T/password"
CONF2=$T/relayq-pwfile.conf
write_config "$CONF2" tls=smtps password_file="$T/password"
printf 'Second body.\n' >"$T/body2"
{
	printf 'To: carol@example.org\nSubject: password_file and -odi\n\n'
	cat "$T/body2"
} >"$T/msg2"
run env RELAYQ_CONFIG="$CONF2" "$RELAYQ_SBIN/sendmail" -odi -t -i <"$T/msg2"
expect_rc "sendmail -odi -t -i (password_file)" 0
check_eq "-odi: delivered before sendmail exited" 2 "$(received_count)"
wait_for 2 || die "second message did not arrive"
M2=$(msg_by_subject "password_file and -odi") || die "message 2 missing"
check_eq "2: envelope recipient" "carol@example.org" "$(rcpts "$M2")"
check_eq "2: AUTH login" "alice" "$(jget "$M2.json" auth_login)"
check_eq "2: TLS" "true" "$(jget "$M2.json" tls)"
check_body "2: body bytes" "$T/body2" "$M2.eml"
check_queue_empty "queue empty after -odi" "$CONF2"
check_no_cleartext "$SH_LOG"
e2e_finish
