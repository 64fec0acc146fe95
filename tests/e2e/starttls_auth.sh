#!/bin/sh
# relayq e2e: STARTTLS + AUTH to a smarthost, messages as PHP's mail() and
# other callers submit them (sendmail -t -i), queued with -odq and sent by
# one `sendmail -q` pass.  Asserts the envelope, AUTH, TLS, the body bytes,
# the headers relayq adds (Date, Message-ID, From; -f/-F; Bcc stripped) and
# an empty queue afterwards.  Config selected with -C.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
CONF=$T/relayq.conf
write_config "$CONF"
ME=$(id -un)

MSGID_RE='^<[^<>@ ]+@relayq\.test>$'

# 1. PHP mail("bob@example.org", "PHP mail one", $body): CRLF headers, LF body.
printf '%s\n' "Hello from PHP's mail()." "Second line, then an empty one." "" \
	"-- " "sig" >"$T/body1"
{
	printf 'To: bob@example.org\r\nSubject: PHP mail one\r\nX-Mailer: PHP/8.2.0\r\n\r\n'
	cat "$T/body1"
} >"$T/msg1"
sm -C "$CONF" -t -i -odq <"$T/msg1"
expect_rc "sendmail -t -i -odq (PHP style)" 0
check_eq "sendmail is silent on success (stdout+stderr)" "" "$(cat "$OUT" "$ERR")"

# 2. -f sender and -F full name, no From: header in the message.
printf 'Body of the -f/-F message.\n' >"$T/body2"
{
	printf 'To: bob@example.org\r\nSubject: with -f and -F\r\n\r\n'
	cat "$T/body2"
} >"$T/msg2"
sm -C "$CONF" -odq -t -i -f sender@example.net -F "Full Name" <"$T/msg2"
expect_rc "sendmail -t -i -f sender -F 'Full Name'" 0

# 3. Bcc: with -t: the Bcc recipient gets it, the header is gone.
printf 'Blind copy test.\n' >"$T/body3"
{
	printf 'To: bob@example.org\r\nBcc: carol@example.org\r\nSubject: with Bcc\r\n\r\n'
	cat "$T/body3"
} >"$T/msg3"
sm -C "$CONF" -odq -t -i <"$T/msg3"
expect_rc "sendmail -t -i with a Bcc: header" 0

check_eq "-odq delivered nothing yet" 0 "$(received_count)"
mailq_of "$CONF"
expect_rc "mailq with three queued" 0
check_grep "mailq: 3 requests" '^-- [0-9]+ Kbytes in 3 Requests\.$' "$OUT"

sm -C "$CONF" -q
expect_rc "sendmail -q" 0
check_eq "sendmail -q is silent when all goes well (cron mails any output)" "" \
	"$(cat "$OUT" "$ERR" | head -c 600)"
wait_for 3 || die "messages did not arrive"
nap
nap

# --- message 1 ---
M1=$(msg_by_subject "PHP mail one") || die "message 1 missing"
check_eq "1: envelope sender (caller qualified with [local] domain)" \
	"$ME@example.test" "$(jget "$M1.json" mail_from)"
check_eq "1: envelope recipient" "bob@example.org" "$(rcpts "$M1")"
check_eq "1: AUTH login" "alice" "$(jget "$M1.json" auth_login)"
check_eq "1: session was TLS" "true" "$(jget "$M1.json" tls)"
check_match "1: TLS >= 1.2" '^TLSv1\.[23]$' "$(jget "$M1.json" tls_version)"
check_eq "1: EHLO name = [local] hostname" "relayq.test" "$(jget "$M1.json" helo)"
check_body "1: body bytes (LF -> CRLF)" "$T/body1" "$M1.eml"
check_crlf_only "1: whole message has CRLF line ends only" "$M1.eml"
check_eq "1: To: kept" "bob@example.org" "$(header "$M1.eml" To)"
check_eq "1: Subject: kept" "PHP mail one" "$(header "$M1.eml" Subject)"
check_eq "1: X-Mailer: kept" "PHP/8.2.0" "$(header "$M1.eml" X-Mailer)"
check_eq "1: exactly one Date:" 1 "$(header "$M1.eml" Date | grep -c .)"
check_date "1: Date: added, RFC 5322, of now in this zone" "$(header "$M1.eml" Date)" \
	"$E2E_DATE_SLACK"
check_date "1: Received: dated, RFC 5322, of now in this zone" "$(received_date "$M1.eml")" \
	"$E2E_DATE_SLACK"
check_eq "1: exactly one Message-ID:" 1 "$(header "$M1.eml" Message-ID | grep -c .)"
check_match "1: Message-ID: added, <...@relayq.test>" "$MSGID_RE" \
	"$(header "$M1.eml" Message-ID)"
check_eq "1: exactly one From:" 1 "$(header "$M1.eml" From | grep -c .)"
check_match "1: From: added with the caller's address" \
	"(^|<)$ME@example\.test>?$" "$(header "$M1.eml" From)"

# --- message 2 ---
M2=$(msg_by_subject "with -f and -F") || die "message 2 missing"
check_eq "2: envelope sender = -f" "sender@example.net" "$(jget "$M2.json" mail_from)"
check_eq "2: envelope recipient" "bob@example.org" "$(rcpts "$M2")"
check_match "2: From: \"Full Name\" <sender@example.net>" \
	'^"?Full Name"? <sender@example\.net>$' "$(header "$M2.eml" From)"
check_match "2: Message-ID: added" "$MSGID_RE" "$(header "$M2.eml" Message-ID)"
check_body "2: body bytes" "$T/body2" "$M2.eml"

# --- message 3 (maybe split per recipient; that is allowed) ---
M3S=$(mt find "$SH_RX" "with Bcc")
[ -n "$M3S" ] || die "message 3 missing"
all=
for m in $M3S; do
	all="$all $(jget "$m.json" rcpt_tos)"
	if header "$m.eml" Bcc >/dev/null; then
		check_fail "3: Bcc: header stripped ($(basename "$m").eml)" "no Bcc:" \
			"Bcc: $(header "$m.eml" Bcc)"
	else
		ok "3: Bcc: header stripped ($(basename "$m").eml)"
	fi
	check_body "3: body bytes ($(basename "$m").eml)" "$T/body3" "$m.eml"
	check_eq "3: To: kept" "bob@example.org" "$(header "$m.eml" To)"
done
# shellcheck disable=SC2086
check_eq "3: envelope recipients = To + Bcc" "bob@example.org carol@example.org" \
	"$(printf '%s\n' $all | sort -u | tr '\n' ' ' | sed 's/ $//')"
for m in $M3S; do
	if grep -qi 'carol' "$m.eml"; then
		check_fail "3: the Bcc address appears nowhere in the message" "no 'carol'" \
			"$(grep -i carol "$m.eml")"
	fi
done

check_eq "exactly the expected messages arrived" "$(echo "$M3S" | wc -l | tr -d ' ')" \
	"$(($(received_count) - 2))"
check_queue_empty "mailq: queue empty after delivery" "$CONF"
check_no_cleartext "$SH_LOG"
e2e_finish
