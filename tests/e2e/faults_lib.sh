# relayq e2e: helpers for the scripted-server tests (faults_*.sh,
# tls_matrix.sh, smuggling.sh).  Sourced after lib.sh; needs bash.
#
# A "case" runs in a background subshell with its own $T (a directory under
# the test's temp dir), spool, config and scripted server, so that cases run
# in parallel without sharing any file.  Its output goes to $T0/NAME.out and
# is printed, in order, by cases_wait; its exit status says pass or fail.
# shellcheck shell=bash

T0=
CASES=
CASE_IDX=0
FAULT_JOBS=${FAULT_JOBS:-8}

# faults_init: e2e_init, plus the trap that also stops every scripted server
# started by a case (their PIDs are in $T0/pids).
faults_init() {
	e2e_init
	T0=$T
	: >"$T0/pids"
	trap '_frc=$?; faults_kill_all; e2e_cleanup $_frc' EXIT
}

faults_kill_all() {
	[ -n "$T0" ] && [ -f "$T0/pids" ] || return 0
	# shellcheck disable=SC2013
	for _p in $(cat "$T0/pids"); do
		kill "$_p" 2>/dev/null
	done
}

# start_scripted NAME SCRIPT_JSON [scripted.py serve options...]: sets
# SH_PORT, SH_PID, SH_RX, SH_LOG, SH_SCRIPT (rewrite it to change the
# script for the next connection).
start_scripted() {
	_name=$1 _script=$2
	shift 2
	SH_RX=$T/$_name.rx
	SH_LOG=$T/$_name.smarthost.log
	SH_SCRIPT=$T/$_name.script
	printf '%s\n' "$_script" >"$SH_SCRIPT"
	rm -f "$T/$_name.port"
	mkdir -p "$SH_RX"
	"$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/scripted.py" serve --script "$SH_SCRIPT" \
		--outdir "$SH_RX" --port-file "$T/$_name.port" --log "$SH_LOG" \
		--lifetime 240 "$@" >"$T/$_name.smarthost.out" 2>"$T/$_name.smarthost.err" &
	SH_PID=$!
	echo "$SH_PID" >>"$T0/pids"
	SH_PIDS="$SH_PIDS $SH_PID"
	wait_listening "scripted server $_name" "$T/$_name"
}

# set_script JSON: the script for the next connections.
set_script() { printf '%s\n' "$1" >"$SH_SCRIPT"; }

# case_begin NAME: in the case's subshell: its own $T, command numbering
# and failure flag.
case_begin() {
	T=$T0/case.$1
	mkdir -p "$T/spool"
	: >"$T/commands.log"
	FAILED=0
	SH_PIDS=
	_ncmd=$((CASE_IDX * 1000))
	CONF=
	note "case $1"
}

# case_end: stop this case's servers; diagnostics when it failed.
case_end() {
	for _p in $SH_PIDS; do
		kill "$_p" 2>/dev/null
	done
	[ "$FAILED" = 0 ] || dump_diagnostics
	exit "$FAILED"
}

# run_case NAME FUNCTION [ARGS...]: FUNCTION ARGS in a background subshell
# between case_begin and case_end, at most FAULT_JOBS at a time.
run_case() {
	_cname=$1
	shift
	CASE_IDX=$((CASE_IDX + 1))
	while [ "$(jobs -rp | wc -l)" -ge "$FAULT_JOBS" ]; do
		wait -n 2>/dev/null || true
	done
	(
		case_begin "$_cname"
		"$@"
		case_end
	) >"$T0/$_cname.out" 2>&1 &
	CASES="$CASES $_cname:$!"
}

# cases_wait: wait for every case, print their outputs, count failures.
cases_wait() {
	_nfail=0
	for _c in $CASES; do
		_n=${_c%%:*} _p=${_c##*:}
		wait "$_p"
		_r=$?
		cat "$T0/$_n.out"
		if [ "$_r" != 0 ]; then
			_nfail=$((_nfail + 1))
			FAILED=1
			say "not ok - case $_n (exit $_r)"
		fi
	done
	CASES=
	note "$_nfail case(s) failed"
}

# fault_message FILE SUBJECT [RCPT]: a small message.
fault_message() {
	{
		printf 'To: %s\nSubject: %s\n\n' "${3:-bob@example.org}" "$2"
		printf 'A test message for %s.\n' "$2"
	} >"$1"
}

# queue_state WHAT CONF: mailq parsed into $T/mailq.parsed; checks it lists
# one message; returns its reasons on stdout (one a line).
queue_reasons() {
	mailq_of "$1"
	mt mailq "$OUT" >"$T/mailq.parsed" 2>&1
	sed -n 's/^reason //p' "$T/mailq.parsed"
}

# check_queued WHAT CONF REASON_ERE: the message is still queued (mailq
# lists exactly one request) and a reason matches REASON_ERE.
check_queued() {
	_why=$(queue_reasons "$2")
	if grep -Eq '^summary [0-9]+ 1$' "$T/mailq.parsed"; then
		ok "$1: still queued"
	else
		check_fail "$1: still queued" "one request in mailq" "$(cat "$OUT")"
	fi
	if printf '%s\n' "$_why" | grep -Eiq -- "$3"; then
		ok "$1: mailq reason matches /$3/"
	else
		check_fail "$1: mailq reason" "a reason matching /$3/" "$(cat "$OUT")"
	fi
}

# sendmail_q_rss CONF: sendmail -q; sets RC, MS and RSS_KB, its peak RSS in
# KB measured by GNU time (-f %M), or "" when /usr/bin/time is missing
# (a Python wrapper would count its own ~10 MB: exec keeps the high-water
# mark of the image it replaces).
RSS_TOOL=
[ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null &&
	RSS_TOOL=/usr/bin/time
sendmail_q_rss() {
	if [ -n "$RSS_TOOL" ]; then
		run "$RSS_TOOL" -f %M -o "$T/rss" "$RELAYQ_SBIN/sendmail" -C "$1" -q
		RSS_KB=$(tail -n 1 "$T/rss" 2>/dev/null)
	else
		run "$RELAYQ_SBIN/sendmail" -C "$1" -q
		RSS_KB=
	fi
}

# Sanitizer builds (ASan's shadow memory and quarantine) get 4 times the
# bound.
RSS_SCALE=1
grep -qa libasan "$RELAYQ_SBIN/relayq" 2>/dev/null && RSS_SCALE=4

# check_rss WHAT MAX_KB: RSS_KB from sendmail_q_rss is below MAX_KB (times
# RSS_SCALE).
check_rss() {
	set -- "$1" $(($2 * RSS_SCALE))
	if [ -n "${RELAYQ_VALGRIND:-}" ]; then
		note "$1: peak RSS not judged under valgrind (${RSS_KB:-?} KB)"
	elif [ -z "$RSS_KB" ]; then
		warn "$1: peak RSS not measured (no GNU time in /usr/bin/time)"
	elif [ "$RSS_KB" -gt 0 ] 2>/dev/null && [ "$RSS_KB" -lt "$2" ]; then
		ok "$1: peak RSS ${RSS_KB} KB < $2 KB"
	else
		check_fail "$1: peak RSS below $2 KB" "< $2 KB" "$RSS_KB KB"
	fi
}

# check_ms_below WHAT MAX_MS: MS from the last run is below MAX_MS.
check_ms_below() {
	if [ "$MS" -lt "$2" ]; then
		ok "$1: took ${MS} ms (< $2 ms)"
	else
		check_fail "$1: took less than $2 ms" "< $2 ms" "$MS ms"
	fi
}
