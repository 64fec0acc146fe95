#!/bin/sh
# relayq e2e: international (UTF-8) addresses. With a smarthost that
# offers SMTPUTF8, MAIL carries SMTPUTF8 and the message is delivered to
# the exact UTF-8 address; a plain-ASCII message does not ask for it.
# (Without SMTPUTF8 such a recipient fails for good: see dsn.sh.)
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost utf8 --smtputf8
CONF=$T/relayq.conf
write_config "$CONF"

UTF_RCPT=$(printf 'j\303\266rg@b\303\274cher.example')
UTF_FROM=$(printf 'm\303\274ller@example.test')
printf 'Subject: utf8 address\n\nhallo\n' >"$T/m1"
sm -C "$CONF" -odq -i -f "$UTF_FROM" "$UTF_RCPT" <"$T/m1"
expect_rc "UTF-8 sender and recipient accepted" 0
printf 'Subject: ascii address\n\nhello\n' >"$T/m2"
sm -C "$CONF" -odq -i -f alice@example.test bob@example.org <"$T/m2"
expect_rc "ASCII message accepted" 0
sm -C "$CONF" -q
expect_rc "sendmail -q" 0
wait_for 2 || die "messages did not arrive"

M=$(msg_by_subject "utf8 address") || die "UTF-8 message missing"
check_eq "UTF-8 envelope recipient, exact bytes" "$UTF_RCPT" "$(rcpts "$M")"
check_eq "UTF-8 envelope sender, exact bytes" "$UTF_FROM" "$(jget "$M.json" mail_from)"
check_grep "MAIL FROM carried SMTPUTF8" 'C: MAIL FROM:<.*> .*SMTPUTF8' "$SH_LOG"
M=$(msg_by_subject "ascii address") || die "ASCII message missing"
check_eq "ASCII recipient" "bob@example.org" "$(rcpts "$M")"
check_no_grep "no SMTPUTF8 for a plain-ASCII message" \
	'C: MAIL FROM:<alice@example.test>.*SMTPUTF8' "$SH_LOG"
check_queue_empty "queue empty" "$CONF"
e2e_finish
