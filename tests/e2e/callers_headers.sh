#!/bin/sh
# relayq e2e: what callers put in headers, argv and lone-dot lines, run
# with env -i as an unprivileged user (relayq-e2e-user when root):
#  - CR/LF injection attempts in -f, -F and a recipient: exit 65, nothing
#    queued, nothing sent, no injected header or SMTP command anywhere.
#  - -t with a Resent-* block (its recipients win, Resent-Bcc stripped);
#    -t with a folded Cc, a Bcc with a comment and command-line recipients
#    (the union, once each; Cc forwarded as folded).
#  - logwatch: several To: headers with -t; mailutils: To: "Two" <a@b>,<c@d>.
#  - lone dots: without -i a "." line ends the message (LF or CRLF), ".."
#    and ". " lines are kept verbatim; with -i and -oi a "." line is text.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./callers_lib.sh
. "$RELAYQ_E2E_DIR/callers_lib.sh"
e2e_init
make_certs
start_tls_smarthost hdr
caller_setup

CR=$(printf '\r')
LF='
'

# 1. Injection attempts.  Nothing may be queued: no regular file anywhere
# in the spool afterwards.
spool_files() { (cd "$UD/spool" && find . -type f | sort | tr '\n' ' '); }
printf 'To: bob@example.org\nSubject: injection\n\nbody\n' >"$T/inj.msg"
n=0
while IFS='|' read -r what opt arg; do
	n=$((n + 1))
	val=$(printf '%s' "$arg" | sed "s/<CR>/$CR/g; s/<LF>/\\$LF/g")
	if [ "$opt" = rcpt ]; then
		as_caller "$USM" -odq -i "$val" <"$T/inj.msg"
	else
		as_caller "$USM" -odq -i "$opt" "$val" bob@example.org <"$T/inj.msg"
	fi
	expect_rc "injection $n: $what" 65
	check_match "injection $n: says why on stderr" . "$(cat "$ERR")"
	check_eq "injection $n: no file in the spool" "" "$(spool_files)"
done <<'EOF'
CRLF + SMTP command in -f|-f|evil@example.org<CR><LF>RCPT TO:<victim1@example.net>
LF + header in -f|-f|evil@example.org<LF>X-Injected: via-f
CR alone in -f|-f|evil@example.org<CR>X-Injected: via-f-cr
LF + Bcc header in -F|-F|Full Name<LF>Bcc: victim2@example.net
CRLF + header in -F|-F|Full Name<CR><LF>X-Injected: via-F
CRLF + SMTP command in a recipient|rcpt|bob@example.org<CR><LF>RCPT TO:<victim3@example.net>
LF in a recipient|rcpt|bob@example.org<LF>victim4@example.net
CR in a recipient|rcpt|bob@example.org<CR>DATA
EOF
# -F is used only when the message has no From:; make sure it had to be.
check_caller_queue_empty "injections: mailq empty"
as_caller "$USM" -q
expect_rc "sendmail -q after the injection attempts" 0
check_eq "injections: nothing sent" 0 "$(received_count)"
BASE=$(received_count) # not 0 only if an injection got through

# 2. -t with a Resent-* block.
{
	printf 'From: Original <orig@example.org>\n'
	printf 'To: first@example.org\n'
	printf 'Cc: first-cc@example.org\n'
	printf 'Subject: resent block\n'
	printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\n'
	printf 'Message-ID: <orig.1@example.org>\n'
	printf 'Resent-From: Forwarder <fwd@example.test>\n'
	printf 'Resent-To: r1@example.org,\n r2@example.org\n'
	printf 'Resent-Cc: "R Three" <r3@example.net>\n'
	printf 'Resent-Bcc: secret-resent@example.net\n'
	printf '\n'
	printf 'forwarded as it was\n'
} >"$T/resent.msg"
as_caller "$USM" -t -i <"$T/resent.msg"
expect_rc "sendmail -t -i, Resent-* block" 0

# 3. -t with a folded Cc, a Bcc with a comment, and command-line recipients.
{
	printf 'From: Sender <sender@example.test>\n'
	printf 'To: "Alpha, A." <alpha@example.org>\n'
	printf 'Cc: beta@example.org,\n\t"Gamma" <gamma@example.net>,\n delta@example.net\n'
	printf 'Bcc: (hidden) eps-bcc@example.org\n'
	printf 'Subject: folded cc\n'
	printf '\n'
	printf 'to five, plus extra\n'
} >"$T/folded.msg"
as_caller "$USM" -t -i extra@example.org alpha@example.org <"$T/folded.msg"
expect_rc "sendmail -t -i extra@ alpha@ with a folded Cc" 0

# 4. logwatch: several To: headers, sendmail -t.
{
	printf 'To: admin@example.org\n'
	printf 'To: security@example.net\n'
	printf 'From: Logwatch <logwatch@example.test>\n'
	printf 'Subject: Logwatch for relayq (Linux)\n'
	printf 'Auto-Submitted: auto-generated\n'
	printf 'MIME-Version: 1.0\n'
	printf 'Content-Transfer-Encoding: 7bit\n'
	printf 'Content-Type: text/plain; charset="iso-8859-1"\n'
	printf '\n'
	printf ' ################### Logwatch 7.8 ####################\n'
} >"$T/logwatch.msg"
as_caller "$USM" -t <"$T/logwatch.msg"
expect_rc "logwatch: sendmail -t, two To: headers" 0

# 5. mailutils: "Two" <a@b>,<c@d> in To:, sendmail -t.
{
	printf 'To: "Two" <two@example.org>,<three@example.net>\n'
	printf 'Subject: mailutils list\n'
	printf 'X-Mailer: mail (GNU Mailutils 3.15)\n'
	printf '\n'
	printf 'two recipients\n'
} >"$T/mailutils.msg"
as_caller "$USM" -i -t <"$T/mailutils.msg"
expect_rc "mailutils: sendmail -i -t, To: \"Two\" <a@b>,<c@d>" 0

# 6. Lone dots.
printf 'Subject: dot ends it\n\nbefore\n.\nafter the dot\n' >"$T/dot1.msg"
printf 'before\n' >"$T/dot1.body"
as_caller "$USM" dots@example.org <"$T/dot1.msg"
expect_rc "no -i: a '.' line (LF)" 0
printf 'Subject: dot ends it crlf\r\n\r\nbefore\r\n.\r\nafter the dot\r\n' >"$T/dot2.msg"
as_caller "$USM" dots@example.org <"$T/dot2.msg"
expect_rc "no -i: a '.' line (CRLF)" 0
printf 'Subject: dotdot kept\n\nline\n..\n. \n.x\n...\nend\n' >"$T/dot3.msg"
printf 'line\n..\n. \n.x\n...\nend\n' >"$T/dot3.body"
as_caller "$USM" dots@example.org <"$T/dot3.msg"
expect_rc "no -i: '..', '. ', '.x', '...' lines" 0
printf 'Subject: dot with -i\n\nbefore\n.\nafter the dot\n' >"$T/dot4.msg"
printf 'before\n.\nafter the dot\n' >"$T/dot4.body"
as_caller "$USM" -i dots@example.org <"$T/dot4.msg"
expect_rc "-i: a '.' line is text" 0
sed 's/with -i/with -oi/' "$T/dot4.msg" >"$T/dot5.msg"
as_caller "$USM" -oi dots@example.org <"$T/dot5.msg"
expect_rc "-oi: a '.' line is text" 0

wait_for $((BASE + 9)) || die "messages did not arrive"
wait_caller_queue_empty || check_fail "queue empty after delivery"
nap

# --- Resent ---
M=$(msg_by_subject "resent block") || die "resent message missing"
check_eq "Resent: recipients from the Resent-* block only" \
	"r1@example.org r2@example.org r3@example.net secret-resent@example.net" \
	"$(all_rcpts "resent block")"
for m in $(mt find "$SH_RX" "resent block"); do
	check_stripped "Resent $(basename "$m")" "$m.eml" Resent-Bcc secret-resent
done
check_eq "Resent: To: kept" "first@example.org" "$(header "$M.eml" To)"
check_eq "Resent: Resent-To: kept" "r1@example.org, r2@example.org" "$(header "$M.eml" Resent-To)"
check_eq "Resent: the original Message-ID kept" "<orig.1@example.org>" "$(header "$M.eml" Message-ID)"
check_eq "Resent: the original Date kept" "Mon, 23 Nov 2026 10:00:00 +0000" "$(header "$M.eml" Date)"

# --- folded Cc ---
M=$(msg_by_subject "folded cc") || die "folded-cc message missing"
check_eq "folded Cc: recipients = To + Cc + Bcc + arguments, once each" \
	"alpha@example.org beta@example.org delta@example.net eps-bcc@example.org extra@example.org gamma@example.net" \
	"$(all_rcpts "folded cc")"
check_eq "folded Cc: alpha@ once in the envelope (also an argument)" 1 \
	"$(for m in $(mt find "$SH_RX" "folded cc"); do jget "$m.json" rcpt_tos; done | grep -c '^alpha@example.org$')"
for m in $(mt find "$SH_RX" "folded cc"); do
	check_stripped "folded Cc $(basename "$m")" "$m.eml" Bcc eps-bcc
done
check_eq "folded Cc: Cc: forwarded (unfolded view)" \
	'beta@example.org, "Gamma" <gamma@example.net>, delta@example.net' "$(header "$M.eml" Cc)"
check_grep "folded Cc: still folded, byte for byte" "^	\"Gamma\" <gamma@example\\.net>,$CR\$" "$M.eml"
check_eq "folded Cc: To: kept" '"Alpha, A." <alpha@example.org>' "$(header "$M.eml" To)"

# --- logwatch ---
M=$(msg_by_subject "Logwatch for relayq (Linux)") || die "logwatch message missing"
check_eq "logwatch: both To: headers' recipients" "admin@example.org security@example.net" \
	"$(all_rcpts "Logwatch for relayq (Linux)")"
check_eq "logwatch: both To: headers kept" 2 "$(header "$M.eml" To | grep -c .)"
check_added_headers "logwatch" "$M.eml"

# --- mailutils ---
M=$(msg_by_subject "mailutils list") || die "mailutils message missing"
check_eq "mailutils: recipients" "three@example.net two@example.org" "$(all_rcpts "mailutils list")"
check_eq "mailutils: To: kept byte for byte" '"Two" <two@example.org>,<three@example.net>' \
	"$(header "$M.eml" To)"

# --- dots ---
M=$(msg_by_subject "dot ends it") || die "dot message 1 missing"
check_body "no -i, LF: the message ends at the '.' line" "$T/dot1.body" "$M.eml"
M=$(msg_by_subject "dot ends it crlf") || die "dot message 2 missing"
check_body "no -i, CRLF: the message ends at the '.' line" "$T/dot1.body" "$M.eml"
M=$(msg_by_subject "dotdot kept") || die "dot message 3 missing"
check_body "no -i: '..', '. ', '.x', '...' kept verbatim" "$T/dot3.body" "$M.eml"
M=$(msg_by_subject "dot with -i") || die "dot message 4 missing"
check_body "-i: the '.' line delivered as text" "$T/dot4.body" "$M.eml"
M=$(msg_by_subject "dot with -oi") || die "dot message 5 missing"
check_body "-oi: the '.' line delivered as text" "$T/dot4.body" "$M.eml"
check_no_grep "'after the dot' never sent without -i" 'after the dot' \
	"$(mt find "$SH_RX" "dot ends it").eml"

# --- nothing injected, anywhere ---
check_eq "no victim address was ever a recipient" "" \
	"$(grep -h 'RCPT TO' "$SH_LOG" | grep -i victim)"
check_eq "no injected header in any message" "" \
	"$(grep -l -i 'X-Injected\|victim' "$SH_RX"/*.eml 2>/dev/null)"
check_eq "no 'evil' sender" "" "$(grep -h 'MAIL FROM' "$SH_LOG" | grep -i evil)"
check_eq "the injection subject never arrived" "" "$(mt find "$SH_RX" injection)"
check_no_cleartext "$SH_LOG"
e2e_finish
