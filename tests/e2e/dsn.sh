#!/bin/sh
# relayq e2e: DSN requests (sendmail -N, -R, -V).
#  - bad values are refused with exit 64 and a clear line; nothing queued
#  - the request survives the queue (-odq, then sendmail -q) and reaches a
#    smarthost that offers DSN: RET= and ENVID= (xtext) on MAIL, NOTIFY=
#    and ORCPT=rfc822;<xtext> on RCPT
#  - a message without a request carries no DSN parameter
#  - a smarthost without DSN gets none of them (sendmail's behaviour) and
#    the message is still delivered
#  - relayq's own bounces honour NOTIFY: NEVER suppresses the bounce; the
#    default sends one, with Original-Envelope-Id and headers only, its
#    Date: and Arrival-Date: valid RFC 5322 dates of now; with a
#    recipient of 480 octets its lines stay within 998 octets, its fields
#    folded, the address intact once unfolded
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
# jpy FILE EXPR: evaluate a python expression over the JSON in FILE (as j).
jpy() { "$RELAYQ_PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

start_smarthost dsn --mode plain --dsn
DSN_RX=$SH_RX DSN_LOG=$SH_LOG DSN_PORT=$SH_PORT
CONF=$T/relayq.conf
write_config "$CONF" port="$DSN_PORT" tls=none ca_file= user=

# --- refused values ---------------------------------------------------------
printf 'Subject: refused\n\nx\n' >"$T/msg0"
for bad in "-Nbogus" "-Nnever,failure" "-N" "-Rall" "-Vbad$(printf '\001')id"; do
	sm -C "$CONF" "$bad" -odq bob@example.org <"$T/msg0"
	expect_rc "sendmail $bad is refused" 64
	check_grep "sendmail $bad: the error names the option" '^sendmail: -[NRV]' "$ERR"
done
check_queue_empty "refused submissions queued nothing" "$CONF"

# --- through the queue to a DSN smarthost -------------------------------------
printf 'To: bob+tag@example.org\nSubject: dsn request\n\nwith DSN\n' >"$T/msg1"
sm -C "$CONF" -odq -i -f alice@example.test -N success,failure -R hdrs \
	-V 'env+2Bid=1' 'bob+tag@example.org' <"$T/msg1"
expect_rc "queue a message with -N -R -V" 0
printf 'To: carol@example.org\nSubject: no dsn request\n\nplain\n' >"$T/msg2"
sm -C "$CONF" -odq -i -f alice@example.test carol@example.org <"$T/msg2"
expect_rc "queue a message without DSN options" 0
sm -C "$CONF" -q
expect_rc "sendmail -q" 0
wait_for 2 || die "messages not delivered"
M1=$(msg_by_subject "dsn request") || die "no 'dsn request' message"
check_eq "MAIL: RET=HDRS" HDRS "$(jpy "$M1.json" 'j["dsn_mail"].get("RET")')"
# -V 'env+2Bid=1' is not valid xtext (the '='): taken literally, encoded.
check_eq "MAIL: ENVID xtext-encoded" 'env+2B2Bid+3D1' \
	"$(jpy "$M1.json" 'j["dsn_mail"].get("ENVID")')"
check_eq "RCPT: NOTIFY=SUCCESS,FAILURE" SUCCESS,FAILURE \
	"$(jpy "$M1.json" 'j["dsn_rcpt"]["bob+tag@example.org"].get("NOTIFY")')"
check_eq "RCPT: ORCPT=rfc822;<xtext address>" 'rfc822;bob+2Btag@example.org' \
	"$(jpy "$M1.json" 'j["dsn_rcpt"]["bob+tag@example.org"].get("ORCPT")')"
check_grep "the MAIL line as sent" \
	'C: MAIL FROM:<alice@example\.test> SIZE=[0-9]+ RET=HDRS ENVID=env\+2B2Bid\+3D1$' "$DSN_LOG"
check_grep "the RCPT line as sent" \
	'C: RCPT TO:<bob\+tag@example\.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob\+2Btag@example\.org$' "$DSN_LOG"
M2=$(msg_by_subject "no dsn request") || die "no 'no dsn request' message"
check_eq "no request: no DSN parameter on MAIL" "{}" "$(jpy "$M2.json" 'j["dsn_mail"]')"
check_eq "no request: no DSN parameter on RCPT" "{}" \
	"$(jpy "$M2.json" 'j["dsn_rcpt"].get("carol@example.org", {})')"
check_grep "no request: plain RCPT line" 'C: RCPT TO:<carol@example\.org>$' "$DSN_LOG"

# --- a smarthost without DSN ---------------------------------------------------
start_smarthost nodsn --mode plain
NODSN_RX=$SH_RX NODSN_LOG=$SH_LOG
write_config "$CONF" port="$SH_PORT" tls=none ca_file= user=
printf 'To: dave@example.org\nSubject: dsn not offered\n\nx\n' >"$T/msg3"
sm -C "$CONF" -odi -i -f alice@example.test -N failure,delay -R full \
	-V envid3 dave@example.org <"$T/msg3"
expect_rc "sendmail -odi with -N -R -V to a server without DSN" 0
wait_for 1 "$E2E_WAIT" "$NODSN_RX" || die "not delivered without DSN"
check_no_grep "server without DSN: no RET/ENVID/NOTIFY/ORCPT sent" \
	'C: (MAIL|RCPT) .*(RET=|ENVID=|NOTIFY=|ORCPT=)' "$NODSN_LOG"
check_queue_empty "delivered without DSN: queue empty" "$CONF"

# --- relayq's own bounces and NOTIFY ---------------------------------------------
# An international recipient fails for good at a server without SMTPUTF8:
# a permanent failure that relayq itself reports to the sender.
UTF_RCPT=$(printf 'j\303\266rg@example.org')
printf 'Subject: never tell\n\nx\n' >"$T/msg4"
sm -C "$CONF" -odi -i -f alice@example.test -N never "$UTF_RCPT" <"$T/msg4"
expect_rc "NOTIFY=NEVER message accepted" 0
check_queue_empty "NOTIFY=NEVER: the failed message is gone, no bounce queued" "$CONF"
check_eq "NOTIFY=NEVER: no bounce reached the smarthost" 1 "$(received_count "$NODSN_RX")"

printf 'Subject: tell me\nX-Check: original header\n\nsecret body line\n' >"$T/msg5"
LONG_RCPT=$(printf 'j\303\266rg%0468d@example.org' 0)
sm -C "$CONF" -odi -i -f alice@example.test -R full -V 'QQ314159' "$UTF_RCPT" "$LONG_RCPT" <"$T/msg5"
expect_rc "default NOTIFY message accepted" 0
wait_for 2 "$E2E_WAIT" "$NODSN_RX" || die "no bounce for the default NOTIFY"
B=$(msg_by_subject "Undelivered Mail Returned to Sender" "$NODSN_RX") || die "no bounce"
check_eq "bounce goes to the sender" alice@example.test "$(rcpts "$B")"
check_grep "bounce carries Original-Envelope-Id" '^Original-Envelope-Id: QQ314159' "$B.eml"
check_date "bounce: Date: RFC 5322, of now" "$(header "$B.eml" Date)" "$E2E_DATE_SLACK"
check_date "bounce: Arrival-Date: RFC 5322, of now" \
	"$(sed -n 's/^Arrival-Date: //p' "$B.eml" | tr -d '\r')" "$E2E_DATE_SLACK"
check_grep "bounce returns the original headers" '^X-Check: original header' "$B.eml"
check_no_grep "RET=FULL: the body is not returned (headers only)" 'secret body line' "$B.eml"
check_eq "bounce: lines within 998 octets, header within 78, long address intact" "ok" "$("$RELAYQ_PYTHON" -c '
import sys, re
d = open(sys.argv[1], "rb").read()
rcpt = sys.argv[2].encode()
bad = [l[:40] for l in d.split(b"\r\n") if len(l) > 998]
head = d.split(b"\r\n\r\n")[0].split(b"\r\n")
bad += [l[:40] for l in head if len(l) > 78 and not l.startswith(b"Received:")]
un = re.sub(rb"\r\n[ \t]+", b" ", d)
if b"Final-Recipient: rfc822; " + rcpt not in un: bad.append(b"no Final-Recipient")
if b"<" + rcpt + b">:" not in d: bad.append(b"no text line")
print("ok" if not bad else bad)' "$B.eml" "$LONG_RCPT")"
check_queue_empty "after the bounce: queue empty" "$CONF"
e2e_finish
