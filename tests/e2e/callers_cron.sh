#!/bin/sh
# relayq e2e: cron daemons as callers, with their exact argv, their message
# format, an empty environment and the job owner's uid (relayq-e2e-user when
# the test runs as root).
#  - Debian cron: sendmail -FCronDaemon -i -B8BITMIME -oem 'a@x,b@y'
#    (MAILTO as one comma list), no Date/Message-ID, a raw 8-bit Subject,
#    CR bytes in the body: both recipients get it, Date and Message-ID are
#    added, no bare CR or LF on the wire, BODY=8BITMIME, `From: root
#    (Cron Daemon)` qualified as `root@DOMAIN (Cron Daemon)`.
#  - cronie: sendmail -FCronDaemon -i -odi -oem -oi -t -f root
#    (foreground delivery: at the smarthost when sendmail exits).
#  - cronie cancels a mail by SIGKILLing sendmail mid-message: with half a
#    message written to its stdin pipe, kill -9: nothing is queued, nothing
#    is ever delivered (mailq empty, a later sendmail -q sends nothing).
#  - systemd-cron: -B 8BITMIME as two words (8BITMIME is no recipient).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./callers_lib.sh
. "$RELAYQ_E2E_DIR/callers_lib.sh"
e2e_init
make_certs
start_tls_smarthost cron
caller_setup

SUBJ8=$(printf 'Cron <%s@relayq> /usr/local/bin/r\303\251sum\303\251 --caf\303\251' "$CU")

# 1. Debian cron.
{
	printf 'From: root (Cron Daemon)\n'
	printf 'To: ops@example.org,dev@example.net\n'
	printf 'Subject: %s\n' "$SUBJ8"
	printf 'MIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=UTF-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n'
	printf 'X-Cron-Env: <SHELL=/bin/sh>\n'
	printf 'X-Cron-Env: <HOME=/nonexistent>\n'
	printf 'X-Cron-Env: <PATH=/usr/bin:/bin>\n'
	printf 'X-Cron-Env: <LOGNAME=%s>\n' "$CU"
	printf '\n'
	printf 'progress 10%%\rprogress 50%%\rprogress 100%%\n'
	printf 'a tool that ends its lines in CRLF\r\n'
	printf 'r\303\251sum\303\251 written\n'
	printf 'trailing CR\r'
} >"$T/debian-cron.msg"
as_caller "$USM" -FCronDaemon -i -B8BITMIME -oem 'ops@example.org,dev@example.net' \
	<"$T/debian-cron.msg"
expect_rc "Debian cron: sendmail -FCronDaemon -i -B8BITMIME -oem 'a@x,b@y'" 0
check_eq "Debian cron: sendmail silent" "" "$(cat "$OUT" "$ERR")"

# 2. cronie.
{
	printf 'From: "(Cron Daemon)" <root>\n'
	printf 'To: admin@example.org\n'
	printf 'Subject: Cron <%s@relayq> /usr/bin/cronie-job\n' "$CU"
	printf 'Content-Type: text/plain; charset=UTF-8\n'
	printf 'Auto-Submitted: auto-generated\n'
	printf 'Precedence: bulk\n'
	printf 'X-Cron-Env: <LANG=C.UTF-8>\n'
	printf '\n'
	printf 'cronie job output\n'
	printf '.\n'
	printf 'after a lone dot (-i/-oi: not the end)\n'
} >"$T/cronie.msg"
as_caller "$USM" -FCronDaemon -i -odi -oem -oi -t -f root <"$T/cronie.msg"
expect_rc "cronie: sendmail -FCronDaemon -i -odi -oem -oi -t -f root" 0
CRONIE_SUBJ="Cron <$CU@relayq> /usr/bin/cronie-job"
check_eq "cronie (-odi): at the smarthost when sendmail exits" 1 \
	"$(mt find "$SH_RX" "$CRONIE_SUBJ" | grep -c .)"

# 3. systemd-cron's mail_on_failure: -B 8BITMIME as two words.
{
	printf 'Content-Type: text/plain; charset=utf-8\n'
	printf 'From: root (systemd-cron)\n'
	printf 'To: ops@example.org\n'
	printf 'Subject: [relayq] job cron-daily-backup.service failed\n'
	printf 'X-Mailer: systemd-cron\n'
	printf 'Auto-Submitted: auto-generated\n'
	printf '\n'
	printf '\342\227\217 cron-daily-backup.service - [Cron] backup\n'
} >"$T/systemd-cron.msg"
as_caller "$USM" -i -B 8BITMIME ops@example.org <"$T/systemd-cron.msg"
expect_rc "systemd-cron: sendmail -i -B 8BITMIME ops@example.org" 0

wait_for 3 || die "cron messages did not arrive"
wait_caller_queue_empty || check_fail "queue empty after delivery"
nap

# --- Debian cron ---
M=$(msg_by_subject "$SUBJ8") || die "Debian cron message missing (or Subject changed)"
ok "Debian cron: raw 8-bit Subject forwarded byte for byte"
check_eq "Debian cron: both MAILTO recipients" "dev@example.net ops@example.org" \
	"$(all_rcpts "$SUBJ8")"
check_eq "Debian cron: envelope sender = the job owner" "$CU@example.test" \
	"$(jget "$M.json" mail_from)"
check_added_headers "Debian cron" "$M.eml"
check_crlf_only "Debian cron: no bare CR or LF on the wire" "$M.eml"
check_eq "Debian cron: From: qualified, comment kept" "root@example.test (Cron Daemon)" \
	"$(header "$M.eml" From)"
check_eq "Debian cron: To: kept" "ops@example.org,dev@example.net" "$(header "$M.eml" To)"
check_eq "Debian cron: four X-Cron-Env: kept" 4 "$(header "$M.eml" X-Cron-Env | grep -c .)"
check_match "Debian cron: BODY=8BITMIME (8-bit message, offered)" 'BODY=8BITMIME' \
	"$(jget "$M.json" mail_options | tr '\n' ' ')"
check_grep "Debian cron: the progress output survives" 'progress 100%' "$M.eml"
check_body_line "Debian cron: the CRLF line is one line" "$M.eml" \
	"a tool that ends its lines in CRLF"
check_body_line "Debian cron: 8-bit body line kept" "$M.eml" "$(printf 'r\303\251sum\303\251 written')"
check_grep "Debian cron: text after the last CR kept" 'trailing CR' "$M.eml"

# --- cronie ---
M=$(msg_by_subject "$CRONIE_SUBJ") || die "cronie message missing"
check_eq "cronie: envelope sender -f root, qualified" "root@example.test" \
	"$(jget "$M.json" mail_from)"
check_eq "cronie: envelope recipient from To: (-t)" "admin@example.org" "$(rcpts "$M")"
check_added_headers "cronie" "$M.eml"
check_crlf_only "cronie: clean CRLF" "$M.eml"
check_body_line "cronie: lone dot kept with -i/-oi" "$M.eml" "."
check_body_line "cronie: text after the lone dot kept" "$M.eml" \
	"after a lone dot (-i/-oi: not the end)"
check_eq "cronie: From: qualified, display name kept" \
	'"(Cron Daemon)" <root@example.test>' "$(header "$M.eml" From)"

# --- systemd-cron ---
SC_SUBJ="[relayq] job cron-daily-backup.service failed"
M=$(msg_by_subject "$SC_SUBJ") || die "systemd-cron message missing"
check_eq "systemd-cron: one recipient, 8BITMIME is not one" "ops@example.org" \
	"$(all_rcpts "$SC_SUBJ")"
check_added_headers "systemd-cron" "$M.eml"
check_body_line "systemd-cron: 8-bit body kept" "$M.eml" \
	"$(printf '\342\227\217 cron-daily-backup.service - [Cron] backup')"

# 4. cronie cancels: SIGKILL mid-message, for cronie's and Debian cron's argv.
BEFORE=$(received_count)
mt gen-body "$T/big.body" 300000 || die "gen-body"
mkfifo "$T/pipe" || die "mkfifo"
n=0
for argv in "-FCronDaemon -i -odi -oem -oi -t -f root" \
	"-FCronDaemon -i -B8BITMIME -oem victim2@example.org"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	$AS_CALLER RELAYQ_CONFIG="$UCONF" "$USM" $argv <"$T/pipe" \
		>"$T/kill$n.out" 2>"$T/kill$n.err" &
	KPID=$!
	exec 3>"$T/pipe"
	{
		printf 'From: "(Cron Daemon)" <root>\nTo: victim@example.org\n'
		printf 'Subject: cancelled by SIGKILL %s\n\n' "$n"
		# More than a pipe holds: the writer blocks until sendmail has read
		# most of it, so it is truly in the middle of the message.
		cat "$T/big.body"
		printf 'half a li'
	} >&3
	nap
	nap
	nap
	kill -0 "$KPID" 2>/dev/null ||
		check_fail "kill $n: sendmail still reading when killed" "alive" "exited"
	note "kill $n: spool while sendmail reads: $(cd "$UD/spool" && find . -type f | tr '\n' ' ')"
	kill -9 "$KPID"
	{ wait "$KPID"; } 2>/dev/null
	krc=$?
	exec 3>&-
	check_eq "kill $n ($argv): sendmail died of SIGKILL" 137 "$krc"
	note "kill $n: spool after the kill: $(cd "$UD/spool" && find . -type f | tr '\n' ' ')"
	check_caller_queue_empty "kill $n: mailq empty after the kill"
done
as_caller "$USM" -q
expect_rc "a later sendmail -q" 0
sleep 2
check_caller_queue_empty "mailq still empty after sendmail -q"
check_eq "nothing more reached the smarthost" "$BEFORE" "$(received_count)"
check_eq "no cancelled message anywhere" "" \
	"$(grep -l 'cancelled by SIGKILL' "$SH_RX"/*.eml 2>/dev/null)"
# What the killed submitters leave is an unfinished maildrop entry (mode
# 0600, no "complete" marker), which pickup never takes and removes once it
# is 5 minutes old with no lock held: age them, and a queue run must clean
# them up unsent.
LEFT=$(grep -rl 'cancelled by SIGKILL' "$UD/spool" 2>/dev/null)
for f in $LEFT; do
	check_eq "leftover $(basename "$f"): an unfinished entry (mode 0600)" 600 \
		"$(stat -c %a "$f")"
	touch -d '2 days ago' "$f" || die "touch $f"
done
as_caller "$USM" -q
expect_rc "sendmail -q with day-old unfinished entries" 0
sleep 1
check_eq "day-old unfinished entries removed" "" \
	"$(grep -rl 'cancelled by SIGKILL' "$UD/spool" 2>/dev/null)"
check_eq "and still nothing sent" "$BEFORE" "$(received_count)"
check_caller_queue_empty "mailq empty at the end"

check_no_cleartext "$SH_LOG"
e2e_finish
