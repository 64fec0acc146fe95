#!/bin/sh
# relayq e2e: a route's own address as the sender (from, rewrite_from).
# With rewrite_from = always the smarthost sees MAIL FROM and From with
# the account's address, the author's display name kept, the original
# From in Reply-To (only when there was none), Sender and Return-Path
# gone, DKIM-Signature and the body untouched; with foreign only senders
# outside the route's domains are rewritten (the null sender of a bounce
# is never rewritten: tests/unit/check_rewrite.c).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
CONF=$T/relayq.conf
write_config "$CONF" extra="from = orders@shop.example
rewrite_from = always"
CONF_F=$T/foreign.conf
write_config "$CONF_F" extra="from = Shop Team <orders@shop.example>
rewrite_from = foreign
[smarthost other]
host = localhost
port = $SH_PORT
ca_file = $T/ca.pem
user = alice
password = $E2E_PASS
senders = *@other.example"

printf 'Line one of the body.\nFrom here on, the body.\n' >"$T/body"
{
	printf 'DKIM-Signature: v=1; a=rsa-sha256; d=home.example;\n\tb=AbC\n'
	printf 'From: "Smith, Bob" <bob@home.example>\n'
	printf 'Sender: bob@home.example\nReturn-Path: <bob@home.example>\n'
	printf 'To: rcpt@example.org\nSubject: always\n\n'
	cat "$T/body"
} >"$T/msg1"
sm -C "$CONF" -odq -f bob@home.example rcpt@example.org <"$T/msg1"
expect_rc "queue a message from a foreign author" 0
{
	printf 'From: Anna <anna@home.example>\nReply-To: list@home.example\n'
	printf 'To: rcpt@example.org\nSubject: has reply-to\n\nbody\n'
} >"$T/msg2"
sm -C "$CONF" -odq -f anna@home.example rcpt@example.org <"$T/msg2"
expect_rc "queue a message that has a Reply-To" 0
sm -C "$CONF" -q
expect_rc "queue run" 0
wait_for 2 || die "mail did not arrive"

B=$(msg_by_subject always) || die "no message 'always'"
check_eq "MAIL FROM is the route's address" orders@shop.example \
	"$(jget "$B.json" mail_from)"
check_eq "From: the account's address, the author's name kept" \
	'"Smith, Bob" <orders@shop.example>' "$(header "$B.eml" From)"
check_eq "Reply-To: the original From, so replies reach the author" \
	'"Smith, Bob" <bob@home.example>' "$(header "$B.eml" Reply-To)"
check_eq "Sender is gone" "" "$(header "$B.eml" Sender)"
check_eq "Return-Path is gone" "" "$(header "$B.eml" Return-Path)"
check_eq "DKIM-Signature untouched" 'v=1; a=rsa-sha256; d=home.example; b=AbC' \
	"$(header "$B.eml" DKIM-Signature | tr '\t' ' ')"
check_eq "one From" 1 "$(header "$B.eml" From | wc -l | tr -d ' ')"
check_body "the body is unchanged" "$T/body" "$B.eml"
check_crlf_only "the rewritten message has CRLF line ends only" "$B.eml"
B2=$(msg_by_subject "has reply-to") || die "no message 'has reply-to'"
check_eq "an existing Reply-To is kept" list@home.example "$(header "$B2.eml" Reply-To)"
check_eq "From rewritten there too" 'Anna <orders@shop.example>' "$(header "$B2.eml" From)"

# foreign: mail from the route's own domains keeps its From and sender
{
	printf 'From: Carl <carl@shop.example>\nTo: rcpt@example.org\n'
	printf 'Subject: own domain\n\nbody\n'
} >"$T/msg3"
sm -C "$CONF_F" -odq -f carl@shop.example rcpt@example.org <"$T/msg3"
{
	printf 'From: Dora <dora@home.example>\nTo: rcpt@example.org\n'
	printf 'Subject: foreign\n\nbody\n'
} >"$T/msg4"
sm -C "$CONF_F" -odq -f dora@home.example rcpt@example.org <"$T/msg4"
{
	printf 'From: Eve <eve@other.example>\nTo: rcpt@example.org\n'
	printf 'Subject: other route\n\nbody\n'
} >"$T/msg5"
sm -C "$CONF_F" -odq -f eve@other.example rcpt@example.org <"$T/msg5"
sm -C "$CONF_F" -q
wait_for 5 || die "mail did not arrive"
B3=$(msg_by_subject "own domain") || die "no 'own domain'"
check_eq "foreign: own domain keeps MAIL FROM" carl@shop.example "$(jget "$B3.json" mail_from)"
check_eq "foreign: own domain keeps From" 'Carl <carl@shop.example>' "$(header "$B3.eml" From)"
check_eq "foreign: own domain gets no Reply-To" "" "$(header "$B3.eml" Reply-To)"
B4=$(msg_by_subject foreign) || die "no 'foreign'"
check_eq "foreign: MAIL FROM rewritten" orders@shop.example "$(jget "$B4.json" mail_from)"
check_eq "foreign: the route's display name" '"Shop Team" <orders@shop.example>' \
	"$(header "$B4.eml" From)"
check_eq "foreign: Reply-To" 'Dora <dora@home.example>' "$(header "$B4.eml" Reply-To)"
B5=$(msg_by_subject "other route") || die "no 'other route'"
check_eq "a route without from leaves the sender alone" eve@other.example \
	"$(jget "$B5.json" mail_from)"
check_eq "and the From" 'Eve <eve@other.example>' "$(header "$B5.eml" From)"
e2e_finish
