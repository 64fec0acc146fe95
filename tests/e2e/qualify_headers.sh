#!/bin/sh
# relayq e2e: bare names in the address fields of a submitted message get
# "@[local] domain" on the wire, as Postfix qualifies local submissions.
#  - cron's message: `From: root (Cron Daemon)` and `To: root` arrive as
#    `root@DOMAIN (Cron Daemon)` and `root@DOMAIN`; the envelope is as
#    before (recipient from the command line, sender the caller).
#  - sendmail -t with `To: bob, carol@example.org`, `Cc: dave`, a display
#    name, `Reply-To: <ops>` and a Bcc: the headers are qualified,
#    comments and display names kept, Bcc removed;
#    the envelope recipients are those -t always took (bob, carol, dave,
#    erin from Bcc, qualified as before).
#  - a field that does not parse as an address list is left as it was,
#    an empty group too.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
start_smarthost main --mode plain
CONF=$T/relayq.conf
write_config "$CONF" tls=none ca_file= user=
D=example.test

# 1. cron.
printf 'From: root (Cron Daemon)\nTo: root\nSubject: cron job\n\noutput\n' \
	>"$T/cron.msg"
sm -C "$CONF" -odq -i root <"$T/cron.msg"
expect_rc "cron-style message queued" 0

# 2. sendmail -t.
{
	printf 'From: Alice Example <alice>\n'
	printf 'To: bob, carol@example.org\n'
	printf 'Cc: dave\n'
	printf 'Bcc: erin\n'
	printf 'Reply-To: <ops>\n'
	printf 'Subject: with -t\n\nbody\n'
} >"$T/t.msg"
sm -C "$CONF" -odq -t -i <"$T/t.msg"
expect_rc "sendmail -t message queued" 0

# 3. unparseable: kept byte for byte.
printf 'From: root\nTo: John Smith, (unclosed\nCc: undisclosed-recipients:;\nSubject: odd\n\nbody\n' \
	>"$T/odd.msg"
sm -C "$CONF" -odq -i frank@example.org <"$T/odd.msg"
expect_rc "message with an unparseable To: queued" 0

rq -C "$CONF" run
expect_rc "relayq run" 0
wait_for 3 || die "messages did not arrive"

M=$(msg_by_subject "cron job") || die "cron message missing"
check_eq "cron: From: qualified, comment kept" "root@$D (Cron Daemon)" \
	"$(header "$M.eml" From)"
check_eq "cron: To: qualified" "root@$D" "$(header "$M.eml" To)"
check_eq "cron: envelope recipient as before" "root@$D" "$(rcpts "$M")"

M=$(msg_by_subject "with -t") || die "-t message missing"
check_eq "-t: To: bob qualified, carol kept" "bob@$D, carol@example.org" \
	"$(header "$M.eml" To)"
check_eq "-t: Cc: qualified" "dave@$D" "$(header "$M.eml" Cc)"
check_eq "-t: From: display name kept" "Alice Example <alice@$D>" \
	"$(header "$M.eml" From)"
check_eq "-t: Reply-To: route-addr qualified" "<ops@$D>" \
	"$(header "$M.eml" Reply-To)"
check_eq "-t: Bcc removed" "" "$(header "$M.eml" Bcc)"
check_eq "-t: envelope recipients as before" \
	"bob@$D carol@example.org dave@$D erin@$D" "$(rcpts "$M")"
check_crlf_only "-t: clean CRLF" "$M.eml"

M=$(msg_by_subject "odd") || die "unparseable message missing"
check_eq "unparseable To: kept as it was" "John Smith, (unclosed" \
	"$(header "$M.eml" To)"
check_eq "the From: beside it qualified" "root@$D" "$(header "$M.eml" From)"
check_eq "an empty group is left alone" "undisclosed-recipients:;" \
	"$(header "$M.eml" Cc)"
e2e_finish
