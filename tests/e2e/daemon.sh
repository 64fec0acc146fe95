#!/bin/sh
# relayq e2e: `relayq daemon` on a private spool (-C), run as the caller.
#  1. sendmail wakes the daemon after its commit: three messages sent in a
#     row arrive over one connection (the session is kept and reused, and
#     no sendmail started a background delivery of its own).
#  2. a second daemon on the same spool exits 75 naming the first's pid.
#  3. SIGHUP with a broken config: logged, the old config kept (mail still
#     reaches the first smarthost); SIGHUP with a good config naming
#     another smarthost: mail goes there.
#  4. kill -9 in the middle of a transaction: nothing is lost, the next
#     daemon delivers the message (at least once) and the queue empties.
#  5. SIGTERM in the middle of a transaction: the transaction is finished,
#     its outcome saved (the queue is empty) and the daemon exits 0.
#  6. mail queued with no daemon listening (a lost wake-up): the next
#     daemon delivers it when it starts.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
MAIN_RX=$SH_RX MAIN_PORT=$SH_PORT
CONF=$T/relayq.conf
write_config "$CONF"
# Submissions use their own file (same spool): the daemon's is broken on
# purpose below, and submission needs only [queue] and [local].
SEND_CONF=$T/send.conf
write_config "$SEND_CONF"
DPID=

# start_daemon NAME: relayq -v daemon in the background, logs in
# $T/NAME.err; waits (bounded) until it says it started.
start_daemon() {
	"$RELAYQ_SBIN/relayq" -C "$CONF" -v daemon >"$T/$1.out" 2>"$T/$1.err" &
	DPID=$!
	SH_PIDS="$SH_PIDS $DPID"
	wait_log "$T/$1.err" "daemon started" || die "daemon $1 did not start: $(cat "$T/$1.err")"
}

# wait_log FILE ERE [SECONDS]: until a line of FILE matches.
wait_log() {
	_end=$(($(date +%s) + ${3:-$E2E_WAIT}))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		nap
	done
}

# wait_exit PID SECONDS: until PID has exited; its status in $XRC.
wait_exit() {
	_end=$(($(date +%s) + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_end" ] && { XRC=timeout; return 1; }
		nap
	done
	wait "$1"
	XRC=$?
}

send() { # SUBJECT [sendmail options...]
	_s=$1
	shift
	printf 'Subject: %s\n\nbody of %s\n' "$_s" "$_s" >"$T/msg"
	sm -C "$SEND_CONF" "$@" bob@example.org <"$T/msg"
	expect_rc "sendmail: $_s" 0
}

# 1. instant delivery, one session for a burst
start_daemon d1
send "daemon one"
send "daemon two"
send "daemon three"
wait_for 3 || die "the daemon did not deliver"
check_eq "three messages over one kept connection" 1 "$(connections "$MAIN_RX")"
for s in "daemon one" "daemon two" "daemon three"; do
	msg_by_subject "$s" "$MAIN_RX" >/dev/null && ok "delivered: $s"
done
check_grep "the daemon logged the deliveries" "status=sent" "$T/d1.err"

# 2. a second daemon
rq -C "$CONF" daemon
expect_rc "a second daemon on the spool is refused" 75
check_grep "it names the running daemon" "another relayq daemon is running \\(pid $DPID\\)" "$ERR"

# 3. SIGHUP: a broken file keeps the configuration in use, a good one is taken
printf '[queue\n' >>"$CONF"
kill -HUP "$DPID"
wait_log "$T/d1.err" "reload: .*keeping the configuration in use" ||
	check_fail "SIGHUP with a broken config is logged" "a reload warning" "$(tail -n 5 "$T/d1.err")"
send "after bad reload"
wait_for 4 "$E2E_WAIT" "$MAIN_RX" && ok "mail still flows with the old configuration"
start_tls_smarthost other
OTHER_RX=$SH_RX
write_config "$CONF" port="$SH_PORT"
kill -HUP "$DPID"
wait_log "$T/d1.err" "reloaded $CONF" ||
	check_fail "SIGHUP with a good config reloads it" "reloaded" "$(tail -n 5 "$T/d1.err")"
send "after good reload"
wait_for 1 "$E2E_WAIT" "$OTHER_RX" && ok "mail goes to the smarthost of the new configuration"

# 4. kill -9 while the smarthost holds back its reply to the final dot
start_tls_smarthost slow --data-reply-delay 4
SLOW_RX=$SH_RX SLOW_LOG=$SH_LOG
write_config "$CONF" port="$SH_PORT"
kill -HUP "$DPID"
wait_log "$T/d1.err" "reloaded $CONF" || die "no reload for the slow smarthost"
send "killed in flight"
wait_log "$SLOW_LOG" "message [0-9]+ accepted" || die "the message never reached the slow smarthost"
kill -9 "$DPID"
wait_exit "$DPID" 10
mailq_of "$CONF"
check_grep "after kill -9 the message is still queued" "bob@example.org" "$OUT"
write_config "$CONF" port="$MAIN_PORT"
start_daemon d2
wait_for 5 "$E2E_WAIT" "$MAIN_RX" && ok "the next daemon delivered the killed transaction's message"
wait_queue_empty "$CONF" && ok "queue empty after the restart" ||
	check_fail "queue empty after the restart" "empty" "$(cat "$OUT")"

# 5. SIGTERM while a transaction is in flight: finished, then exit 0
write_config "$CONF" port="$SH_PORT"
kill -HUP "$DPID"
wait_log "$T/d2.err" "reloaded $CONF" || die "no reload for the slow smarthost"
n0=$(grep -c "accepted:" "$SLOW_LOG")
send "terminated in flight"
_end=$(($(date +%s) + E2E_WAIT))
while [ "$(grep -c "accepted:" "$SLOW_LOG")" -le "$n0" ]; do
	[ "$(date +%s)" -ge "$_end" ] && die "the message never reached the slow smarthost"
	nap
done
kill -TERM "$DPID"
wait_exit "$DPID" 60
check_eq "SIGTERM: the daemon exits 0 after the transaction" 0 "$XRC"
check_grep "SIGTERM: the transaction got its reply and was saved" "status=sent.*queued as" "$T/d2.err"
check_queue_empty "SIGTERM: nothing left in the queue" "$CONF"

# 6. a lost wake-up: queued with no daemon, delivered when one starts
write_config "$CONF" port="$MAIN_PORT"
send "while no daemon ran" -odq
mailq_of "$CONF"
check_grep "queued while no daemon ran" "bob@example.org" "$OUT"
start_daemon d3
wait_for 6 "$E2E_WAIT" "$MAIN_RX" && ok "delivered by the next daemon at start"
msg_by_subject "while no daemon ran" "$MAIN_RX" >/dev/null && ok "the right message"
kill -TERM "$DPID"
wait_exit "$DPID" 30
check_eq "the idle daemon exits 0 on SIGTERM" 0 "$XRC"
check_grep "it says it stopped" "daemon stopping" "$T/d3.err"

e2e_finish
