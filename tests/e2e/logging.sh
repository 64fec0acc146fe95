#!/bin/sh
# relayq e2e: where the log goes and what it says.
#  1. [local] log = FILE: submission writes nothing there; the runner
#     creates it 0640 and writes lines with a syslog-like prefix in
#     Postfix's shapes (relayq/pickup uid=, relayq/qmgr from=/size=/nrcpt=
#     (queue active), relayq/smtp to=/relay=/delay=/delays=/dsn=/status=,
#     relayq/qmgr removed).
#  2. Debian's pflogsumm (--syslog-name=relayq, no -d: every line
#     whatever its date) counts them: 2 received, 3 delivered, 2 messages
#     deferred with 3 deferrals.
#  3. logrotate's way: the file renamed, SIGHUP to relayq daemon: the next
#     lines go to a new file, none to the renamed one.
#  4. No syslog socket (RELAYQ_TEST_SYSLOG_SOCKET names none) and no log
#     setting: relayq run writes the lines on stderr, prefixed; sendmail -q
#     stays silent; sendmail -bs keeps stderr clean.
#  5. A log file that cannot be opened: one warning saying why, then the
#     lines go to stderr; mail is delivered all the same.
#  6. A relayq run that lasts (a smarthost slow to answer the final dot)
#     reopens the file on SIGHUP too: the outcome is in the new file.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
MAIN_RX=$SH_RX
LOG=$T/log/relayq.log
mkdir "$T/log"
PREFIX='^[A-Z][a-z][a-z] [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [^ ]+ relayq'

# with_log CONF VALUE: [local] log = VALUE in CONF.
with_log() { sed -i "/^\\[local\\]/a log = $2" "$1"; }

CONF=$T/relayq.conf
write_config "$CONF"
with_log "$CONF" "$LOG"
down_port DOWN
DOWN_CONF=$T/down.conf
write_config "$DOWN_CONF" port="$DOWN"
with_log "$DOWN_CONF" "$LOG"

# 1. submission never writes the file; the runner does
printf 'Subject: one\n\nbody\n' >"$T/msg"
sm -C "$CONF" -odq alice@example.org <"$T/msg"
expect_rc "sendmail -odq (one recipient)" 0
printf 'Subject: two\n\nbody\n' >"$T/msg"
sm -C "$CONF" -odq bob@example.org carol@example.net <"$T/msg"
expect_rc "sendmail -odq (two recipients)" 0
[ -e "$LOG" ] && check_fail "submission does not write the log file" "no file" "$(cat "$LOG")"
ok "submission does not write the log file"

rq -C "$DOWN_CONF" run
expect_rc "relayq run, smarthost down" 0
check_eq "the runner made the file 0640" 640 "$(stat -c %a "$LOG")"
check_eq "three deferral lines" 3 "$(grep -cE "$PREFIX/smtp\\[[0-9]+\\]: [0-9A-F]{16}: to=<[^>]+>, relay=none, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=4\\.0\\.0, status=deferred \\(" "$LOG")"
check_eq "two pickup lines with the uid" 2 "$(grep -cE "$PREFIX/pickup\\[[0-9]+\\]: [0-9A-F]{16}: uid=[0-9]+ from=<" "$LOG")"
check_grep "queue active line" "$PREFIX/qmgr\\[[0-9]+\\]: [0-9A-F]{16}: from=<[^>]*>, size=[0-9]+, nrcpt=2 \\(queue active\\)$" "$LOG"

rq -C "$CONF" queue flush
expect_rc "relayq queue flush" 0
wait_for 2 || die "mail not delivered after the flush"
check_eq "three delivery lines" 3 "$(grep -cE "$PREFIX/smtp\\[[0-9]+\\]: [0-9A-F]{16}: to=<[^>]+>, relay=localhost\\[127\\.0\\.0\\.1\\]:$SH_PORT, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\\.0\\.0, status=sent \\(250 " "$LOG")"
check_eq "two removed lines" 2 "$(grep -cE "$PREFIX/qmgr\\[[0-9]+\\]: [0-9A-F]{16}: removed$" "$LOG")"

# 2. pflogsumm's counts
if [ -x /usr/sbin/pflogsumm ]; then
	/usr/sbin/pflogsumm --syslog-name=relayq "$LOG" >"$T/summary" 2>"$T/summary.err"
	count() { awk -v w="$1" '$2 == w { print $1; exit }' "$T/summary"; }
	check_eq "pflogsumm: received" 2 "$(count received)"
	check_eq "pflogsumm: delivered" 3 "$(count delivered)"
	check_eq "pflogsumm: deferred" 2 "$(count deferred)"
	check_grep "pflogsumm: deferrals" "deferred +\\(3 +deferrals\\)" "$T/summary"
else
	note "pflogsumm not installed: counts not checked"
fi

# 3. logrotate: rename, SIGHUP to the daemon, new lines in a new file
"$RELAYQ_SBIN/relayq" -C "$CONF" daemon >"$T/daemon.out" 2>"$T/daemon.err" &
DPID=$!
SH_PIDS="$SH_PIDS $DPID"
_i=0
until grep -q "daemon started" "$LOG" 2>/dev/null; do
	_i=$((_i + 1))
	[ $_i -le $((E2E_WAIT * 10)) ] || die "the daemon did not start: $(cat "$T/daemon.err")"
	nap
done
mv "$LOG" "$LOG.1"
kill -HUP "$DPID"
_i=0
until [ -s "$LOG" ]; do
	_i=$((_i + 1))
	[ $_i -le $((E2E_WAIT * 10)) ] || die "no new log file after SIGHUP"
	nap
done
ok "after SIGHUP the daemon writes a new file"
printf 'Subject: rotated\n\nbody\n' >"$T/msg"
sm -C "$CONF" dave@example.org <"$T/msg"
expect_rc "sendmail after the rotation" 0
wait_for 3 || die "the daemon did not deliver after the rotation"
_i=0
until grep -q "to=<dave@example.org>.*status=sent" "$LOG"; do
	_i=$((_i + 1))
	[ $_i -le $((E2E_WAIT * 10)) ] || break
	nap
done
check_grep "the delivery is in the new file" "to=<dave@example.org>.*status=sent" "$LOG"
check_no_grep "nothing more in the renamed file" "dave@example.org" "$LOG.1"
kill -TERM "$DPID"
_i=0
while kill -0 "$DPID" 2>/dev/null && [ $_i -lt $((E2E_WAIT * 10)) ]; do nap; _i=$((_i + 1)); done

# 4. no syslog socket, no log setting: relayq run logs on stderr
export RELAYQ_TEST_SYSLOG_SOCKET="$T/no-such-socket"
PLAIN=$T/plain.conf
write_config "$PLAIN"
printf 'Subject: stderr\n\nbody\n' >"$T/msg"
sm -C "$PLAIN" -odq erin@example.org <"$T/msg"
expect_rc "sendmail -odq" 0
check_eq "sendmail -odq: nothing on stderr" "" "$(cat "$ERR")"
printf 'Subject: quiet\n\nbody\n' >"$T/msg"
sm -C "$PLAIN" -odq frank@example.org <"$T/msg"
sm -C "$PLAIN" -q
expect_rc "sendmail -q" 0
check_eq "sendmail -q without syslog: silent (cron mails output)" "" "$(cat "$ERR")"
printf 'Subject: stderr2\n\nbody\n' >"$T/msg"
sm -C "$PLAIN" -odq gina@example.org <"$T/msg"
rq -C "$PLAIN" run
expect_rc "relayq run without syslog" 0
check_grep "relayq run: delivery line on stderr" "$PREFIX/smtp\\[[0-9]+\\]: [0-9A-F]{16}: to=<gina@example.org>, relay=localhost.*status=sent" "$ERR"
check_grep "relayq run: removed line on stderr" "$PREFIX/qmgr\\[[0-9]+\\]: [0-9A-F]{16}: removed" "$ERR"
check_eq "relayq run: nothing on stdout" "" "$(cat "$OUT")"
printf 'HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<hank@example.org>\r\nDATA\r\nSubject: bs\r\n\r\nbody\r\n.\r\nQUIT\r\n' >"$T/bs"
sm -C "$PLAIN" -bs <"$T/bs"
expect_rc "sendmail -bs" 0
check_eq "sendmail -bs: stderr stays clean" "" "$(cat "$ERR")"
check_no_grep "sendmail -bs: no log line in the protocol" "relayq/" "$OUT"

# 5. a file that cannot be opened: one line why, stderr instead
BAD=$T/bad.conf
write_config "$BAD"
with_log "$BAD" "$T/no-such-dir/relayq.log"
printf 'Subject: fallback\n\nbody\n' >"$T/msg"
sm -C "$BAD" -odq ivan@example.org <"$T/msg"
rq -C "$BAD" run
expect_rc "relayq run with an unusable log file" 0
check_grep "says why the file is not used" "log file $T/no-such-dir/relayq.log: cannot open \\(No such file or directory\\); logging to stderr instead" "$ERR"
check_grep "and logs on stderr instead" "to=<ivan@example.org>.*status=sent" "$ERR"

# 6. SIGHUP to a relayq run in the middle of a transaction
unset RELAYQ_TEST_SYSLOG_SOCKET
start_tls_smarthost slow --data-reply-delay 3
SLOW_CONF=$T/slow.conf
write_config "$SLOW_CONF" port="$SH_PORT"
with_log "$SLOW_CONF" "$LOG"
printf 'Subject: slow\n\nbody\n' >"$T/msg"
sm -C "$SLOW_CONF" -odq judy@example.org <"$T/msg"
"$RELAYQ_SBIN/relayq" -C "$SLOW_CONF" run >"$T/run.out" 2>"$T/run.err" &
RPID=$!
_i=0
until grep -qE "message [0-9]+ accepted" "$SH_LOG" 2>/dev/null; do
	_i=$((_i + 1))
	[ $_i -le $((E2E_WAIT * 10)) ] || die "the message never reached the slow smarthost"
	nap
done
mv "$LOG" "$LOG.2"
kill -HUP "$RPID"
wait "$RPID"
check_eq "relayq run survives SIGHUP and exits 0" 0 "$?"
check_grep "the outcome is in the new file" "to=<judy@example.org>.*status=sent" "$LOG"
check_no_grep "not in the renamed one" "to=<judy@example.org>" "$LOG.2"
e2e_finish
