#!/bin/sh
# relayq e2e (root only): the runner side of the privilege model, on a real
# set-gid installation (priv_lib.sh).  Asserts:
#  - `relayq run` started by root becomes user relayq with group relayq and
#    no supplementary group (never relayq-drop): /proc/PID/status read while
#    a slow smarthost keeps it busy; the same for `sendmail -q` by root and
#    for the background delivery of root's own `sendmail` (strace of
#    setgroups/setresgid: only relayq's gid);
#  - the password is not in the runner's argv (/proc/PID/cmdline);
#  - the runner refuses a secret that is group- or world-writable or
#    world-readable (0644, 0660, 0666, 0604, 0620, 0602): the message stays
#    queued, `relayq queue show` gives a reason naming the mode, no
#    connection is made; 0600 and 0640 work; the reason ends with the
#    command that fixes it (chown root:relayq F && chmod 0640 F, or chmod
#    0600 F for relayq's own file), and so does the Permission denied of a
#    root:root 0600 file;
#  - a whole delivery with AUTH (relayq -v run, under strace): nothing the
#    runner writes anywhere (stderr, syslog, files, sockets: every write,
#    sendto, sendmsg, pwrite) contains the password or its base64, nor does
#    any argv (execve), nor -v output, nor mailq or queue show output.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init
MAIN_PORT=$SH_PORT
MAIN_RX=$SH_RX
MAIN_LOG=$SH_LOG
RELAYQ_GID=$(getent group relayq | cut -d: -f3)
DROP_GID=$(getent group relayq-drop | cut -d: -f3)
RELAYQ_UID=$(id -u relayq)
printf 'Subject: runner test\n\nrunner body\n' >"$T/msg"

# submit RCPT: one message from the test user.
submit() {
	u_run "$SM" -i "$1" <"$T/msg"
	expect_rc "user: sendmail $1" 0
}

# --- the runner's identity, seen while it waits for a slow smarthost --------
start_smarthost slow --mode starttls --cert "$T/server.pem" --key "$T/server.key" \
	--auth "$PRIV_USERNAME:$PRIV_PASS" --greeting-delay 2
SLOW_RX=$SH_RX
write_config "$CONF" spool="$SPOOL" user="$PRIV_USERNAME" password_file="$SECRET" \
	port="$SH_PORT"

# watch_runner WHAT CMD...: start CMD as root in the background, wait until
# some process of it runs as relayq, record its Uid/Gid/Groups and argv.
watch_runner() {
	_what=$1
	shift
	"$@" >"$T/watch.out" 2>"$T/watch.err" &
	_pid=$!
	_seen=
	_i=0
	while [ $_i -lt 50 ] && [ -z "$_seen" ]; do
		for _p in $_pid $(pgrep -P "$_pid" 2>/dev/null) \
			$(pgrep -f "^$RQ|^$SM" 2>/dev/null); do
			_u=$(awk '/^Uid:/ {print $2}' "/proc/$_p/status" 2>/dev/null)
			if [ "$_u" = "$RELAYQ_UID" ]; then
				_seen=$_p
				break
			fi
		done
		[ -n "$_seen" ] || nap
		_i=$((_i + 1))
	done
	if [ -z "$_seen" ]; then
		check_fail "$_what: a process running as relayq seen"
	else
		_st=$(grep -E '^(Uid|Gid|Groups):' "/proc/$_seen/status" | tr -s '\t ' ' ')
		tr '\0' ' ' <"/proc/$_seen/cmdline" >"$T/watch.cmdline"
		check_eq "$_what: Uid, Gid, Groups" \
			"Uid: $RELAYQ_UID $RELAYQ_UID $RELAYQ_UID $RELAYQ_UID
Gid: $RELAYQ_GID $RELAYQ_GID $RELAYQ_GID $RELAYQ_GID
Groups: $RELAYQ_GID " "$_st"
		check_no_grep "$_what: relayq-drop nowhere" "[: ]$DROP_GID( |\$)" \
			"/proc/$_seen/status"
		check_no_secret "$_what: argv" "$T/watch.cmdline"
	fi
	wait "$_pid"
	_rc=$?
	cat "$T/watch.err" >>"$T/runner.stderr"
	check_eq "$_what: exit" 0 "$_rc"
}
submit one@example.org
watch_runner "root: relayq run" "$RQ" run
submit two@example.org
watch_runner "root: sendmail -q" "$SM" -q
wait_for 2 30 "$SLOW_RX"

# Root's own sendmail delivers in a detached child: follow it with strace.
if have_strace; then
	run strace -f -qq -o "$T/trace.bg" -e trace=setgroups,setresgid,setresuid,execve \
		"$SM" -i three@example.org <"$T/msg"
	expect_rc "root: sendmail (background delivery)" 0
	wait_for 3 30 "$SLOW_RX"
	sleep 1	# the child saves "delivered" after the reply
	check_grep "background child: setgroups to relayq only" \
		"setgroups\\(1, \\[$RELAYQ_GID\\]\\) += 0" "$T/trace.bg"
	# The submitter itself (the first pid) makes its saved group
	# effective for its commit (dropper.h); its child must never.
	_sub=$(awk 'NR == 1 { print $1 }' "$T/trace.bg")
	check_eq "background child: no setgroups/setresgid with relayq-drop" "" \
		"$(awk -v p="$_sub" '$1 != p' "$T/trace.bg" |
			grep -E "set(groups|resgid)\\(.*\\b$DROP_GID\\b")"
	check_grep "background child: setresuid to relayq" \
		"setresuid\\($RELAYQ_UID, $RELAYQ_UID, $RELAYQ_UID\\) += 0" "$T/trace.bg"
else
	warn "strace missing or not allowed: background child not traced"
fi

# --- secrets with loose modes are refused ------------------------------------
stop_smarthost "$SH_PID"
SH_PORT=$MAIN_PORT SH_RX=$MAIN_RX SH_LOG=$MAIN_LOG
write_config "$CONF" spool="$SPOOL" user="$PRIV_USERNAME" password_file="$SECRET"
# root:relayq for the group modes; owned by relayq itself for the others,
# so that the mode check and not the open refuses them.
for mode in 0644 0660 0666 0604 0620 0602; do
	case $mode in
	06[46]?) chown root:relayq "$SECRET" ;;
	*) chown relayq:relayq "$SECRET" ;;
	esac
	chmod "$mode" "$SECRET"
	conns=$(connections)
	submit "mode$mode@example.org"
	run "$RQ" run
	expect_rc "secret $mode: relayq run (deferral is no error)" 0
	check_eq "secret $mode: no connection to the smarthost" "$conns" "$(connections)"
	id=$(find "$SPOOL/queue" -name '*.env' -newer "$T/msg" -exec grep -l "mode$mode@" {} + |
		head -n 1 | xargs -r basename | sed 's/\.env$//')
	if [ -z "$id" ]; then
		check_fail "secret $mode: message still queued"
		continue
	fi
	ok "secret $mode: message still queued ($id)"
	run "$RQ" queue show "$id"
	check_match "secret $mode: the reason names the loose mode" \
		"last reason: .*refusing a secret.*mode $mode" "$(cat "$OUT")"
	case $mode in
	06[46]?) fix="chown root:relayq $SECRET && chmod 0640 $SECRET" ;;
	*) fix="chmod 0600 $SECRET" ;;
	esac
	check_grep "secret $mode: the reason says how to fix it" \
		"^last reason: .*; fix: $fix\$" "$OUT"
	check_no_secret "secret $mode: queue show" "$OUT" "$ERR"
	touch "$T/msg"
done
# root:root 0600, as one might do on the 0600 of a mode advice: the runner
# may not read it, and the reason says what to type.
chown root:root "$SECRET" && chmod 0600 "$SECRET"
run "$RQ" queue flush
expect_rc "secret root:root 0600: relayq queue flush (deferral is no error)" 0
run "$RQ" queue show "$id"
check_grep "secret root:root 0600: the reason says who cannot read it and the fix" \
	"^last reason: password_file $SECRET: Permission denied to user relayq, who runs the queue; fix: chown root:relayq $SECRET && chmod 0640 $SECRET\$" "$OUT"
# A secret of the runner's own, 0600, is fine too.
chown relayq:relayq "$SECRET" && chmod 0600 "$SECRET"
run "$RQ" queue flush
expect_rc "secret relayq:relayq 0600: relayq queue flush" 0
wait_for 6 30 "$MAIN_RX"
check_queue_empty "secret 0600: the six deferred messages delivered" "$CONF"
chown root:relayq "$SECRET" && chmod 0640 "$SECRET"

# --- no secret in anything the runner writes ---------------------------------
submit four@example.org
if have_strace; then
	run strace -f -qq -s 65536 -o "$T/trace.run" \
		-e trace=write,writev,pwrite64,sendto,sendmsg,execve "$RQ" -v run
else
	warn "strace missing or not allowed: only the outputs are checked"
	run "$RQ" -v run
	: >"$T/trace.run"
fi
expect_rc "root: relayq -v run" 0
wait_for 7 30 "$MAIN_RX"
check_grep "the smarthost saw AUTH (the secret was used)" \
	'AUTH (PLAIN|LOGIN) as .*alice.*: ok' "$MAIN_LOG"
[ -s "$T/trace.run" ] && check_grep "the trace holds the runner's writes" 'write' "$T/trace.run"
check_no_secret "runner writes (strace), -v output" "$T/trace.run" "$OUT" "$ERR"
run "$SM" -v -q
check_no_secret "sendmail -v -q" "$OUT" "$ERR"
run "$MAILQ"
check_no_secret "mailq" "$OUT" "$ERR"
check_no_secret "all command output" "$T"/cmd.*.out "$T"/cmd.*.err "$T/commands.log" \
	"$T/runner.stderr"
e2e_finish
