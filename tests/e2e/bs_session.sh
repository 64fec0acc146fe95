#!/bin/sh
# relayq e2e: `sendmail -bs`, the default transport of Symfony Mailer and
# Laravel.  A Symfony-style session (HELO, two messages without RSET, a
# dot-stuffed line, QUIT expecting 221) with the default delivery mode,
# a Laravel-style `-bs -i` session queued and sent by `sendmail -q`,
# nothing ever on stderr, and sessions that end inside DATA (EOF, and
# SIGKILL as cronie cancels) queue nothing.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
CONF=$T/relayq.conf
write_config "$CONF"

# bs SCRIPT ARGS...: run a scripted -bs session; $OUT = client report,
# $T/bs.stderr = sendmail's stderr, $T/transcript = the dialogue.
bs() {
	_s=$1
	shift
	run "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/bs_client.py" "$_s" \
		"$T/transcript" "$T/bs.stderr" "$RELAYQ_SBIN/sendmail" "$@"
	cat "$T/transcript" >>"$T/commands.log"
}

# 1. Symfony: `sendmail -bs`, HELO, two transactions, no RSET between.
printf '%s\n' "Hello from Symfony." ".leading dot (sent as ..)" "" "end" \
	>"$T/body1"
printf '%s\n' "Second message, same session." >"$T/body2"
cat >"$T/symfony.script" <<'END'
R 220
S HELO [127.0.0.1]
R 250
S MAIL FROM:<app@example.net>
R 250
S RCPT TO:<bob@example.org>
R 250
S RCPT TO:<carol@example.org>
R 250
S DATA
R 354
S From: App <app@example.net>
S To: bob@example.org, carol@example.org
S Subject: symfony one
S Date: Tue, 24 Nov 2026 10:00:00 +0000
S Message-ID: <one@example.net>
S MIME-Version: 1.0
S Content-Type: text/plain; charset=utf-8
S
S Hello from Symfony.
S ..leading dot (sent as ..)
S
S end
S .
R 250
S MAIL FROM:<other@example.net>
R 250
S RCPT TO:<dave@example.org>
R 250
S DATA
R 354
S To: dave@example.org
S Subject: symfony two
S
S Second message, same session.
S .
R 250
S QUIT
R 221
END
bs "$T/symfony.script" -C "$CONF" -bs
expect_rc "Symfony-style -bs session" 0
check_eq "session: sendmail exit code 0" "exit 0" "$(cat "$OUT")"
check_eq "session: nothing on stderr" "" "$(cat "$T/bs.stderr")"
check_grep "greeting names the host" '^S: 220 relayq\.test ESMTP relayq' \
	"$T/transcript"
check_eq "two 250 replies carry queue ids" 2 \
	"$(grep -Ec '^S: 250 2\.0\.0 Ok: queued as [0-9A-F]{16}' "$T/transcript")"
wait_for 2 || die "the session's messages were not delivered in the background"
nap
M1=$(msg_by_subject "symfony one") || die "message 1 missing"
check_eq "1: envelope sender = MAIL FROM" "app@example.net" \
	"$(jget "$M1.json" mail_from)"
check_eq "1: envelope recipients = RCPT TOs" \
	"bob@example.org carol@example.org" "$(rcpts "$M1")"
check_body "1: body, dot-unstuffed" "$T/body1" "$M1.eml"
check_eq "1: Message-ID kept" "<one@example.net>" "$(header "$M1.eml" Message-ID)"
check_eq "1: one Date" 1 "$(header "$M1.eml" Date | grep -c .)"
check_grep "1: Received added" '^Received: by relayq\.test' "$M1.eml"
check_date "1: Received: dated, RFC 5322, of now" "$(received_date "$M1.eml")" \
	"$E2E_DATE_SLACK"
M2=$(msg_by_subject "symfony two") || die "message 2 missing"
check_eq "2: envelope sender" "other@example.net" "$(jget "$M2.json" mail_from)"
check_eq "2: envelope recipient" "dave@example.org" "$(rcpts "$M2")"
check_body "2: body" "$T/body2" "$M2.eml"
check_match "2: Message-ID added" '^<[^<>@ ]+@relayq\.test>$' \
	"$(header "$M2.eml" Message-ID)"
check_match "2: From added from MAIL FROM" 'other@example\.net' \
	"$(header "$M2.eml" From)"

# 2. Laravel: `sendmail -bs -i`, EHLO, pipelined envelope; queued (-odq)
#    and sent by `sendmail -q`.
printf '%s\n' "Laravel body." >"$T/body3"
cat >"$T/laravel.script" <<'END'
R 220
S EHLO localhost
R 250
S MAIL FROM:<laravel@example.net> SIZE=200 BODY=8BITMIME
R 250
S RCPT TO:<erin@example.org>
R 250
S DATA
R 354
S To: erin@example.org
S Subject: laravel
S
S Laravel body.
S .
R 250
S QUIT
R 221
END
bs "$T/laravel.script" -C "$CONF" -bs -i -odq
expect_rc "Laravel-style -bs -i session" 0
check_eq "laravel: sendmail exit code 0" "exit 0" "$(cat "$OUT")"
check_eq "laravel: nothing on stderr" "" "$(cat "$T/bs.stderr")"
check_grep "EHLO lists PIPELINING" '^S: 250-PIPELINING' "$T/transcript"
check_grep "EHLO lists SIZE" '^S: 250-SIZE [0-9]+' "$T/transcript"
check_grep "EHLO lists 8BITMIME" '^S: 250-8BITMIME' "$T/transcript"
check_grep "EHLO lists SMTPUTF8" '^S: 250-SMTPUTF8' "$T/transcript"
check_grep "EHLO lists ENHANCEDSTATUSCODES" '^S: 250 ENHANCEDSTATUSCODES' \
	"$T/transcript"
check_eq "-odq: nothing delivered yet" 2 "$(received_count)"
sm -C "$CONF" -q
expect_rc "sendmail -q" 0
wait_for 3 || die "the Laravel message did not arrive"
nap
M3=$(msg_by_subject "laravel") || die "message 3 missing"
check_eq "3: envelope sender" "laravel@example.net" "$(jget "$M3.json" mail_from)"
check_eq "3: envelope recipient" "erin@example.org" "$(rcpts "$M3")"
check_body "3: body" "$T/body3" "$M3.eml"
check_queue_empty "queue empty after the sessions" "$CONF"

# 3. Sessions that end inside DATA queue nothing: EOF, then SIGKILL.
for how in E K; do
	cat >"$T/cut.script" <<END
R 220
S HELO x
R 250
S MAIL FROM:<a@example.net>
R 250
S RCPT TO:<bob@example.org>
R 250
S DATA
R 354
S Subject: cut $how
S
S half a message
$how
END
	bs "$T/cut.script" -C "$CONF" -bs -odq
	check_eq "cut ($how): client saw the session to the end" 0 "$RC"
	check_eq "cut ($how): nothing on stderr" "" "$(cat "$T/bs.stderr")"
	if [ "$how" = E ]; then
		check_eq "cut (EOF): exit 0" "exit 0" "$(cat "$OUT")"
		check_eq "cut (EOF): the half message was removed" "" \
			"$(ls -A "$T/spool/maildrop")"
	fi
done
# SIGKILL can leave an unfinished entry (mode 0600, no end record): the
# runner never takes it, and reaps it when stale.
check_eq "cut: no complete maildrop entry" "" \
	"$(find "$T/spool/maildrop" -type f -perm -0004)"
check_queue_empty "a session cut inside DATA queued nothing" "$CONF"
sm -C "$CONF" -q
check_eq "no cut message was delivered" 3 "$(received_count)"

# 4. Client mistakes never change the exit code or touch stderr.
cat >"$T/bad.script" <<'END'
R 220
S DATA
R 503
S MAIL FROM:<a@example.net
R 501
S BOGUS
R 500
S VRFY root
R 252
S QUIT
R 221
END
bs "$T/bad.script" -C "$CONF" -bs
check_eq "mistakes: exit 0" "exit 0" "$(cat "$OUT")"
check_eq "mistakes: nothing on stderr" "" "$(cat "$T/bs.stderr")"
e2e_finish
