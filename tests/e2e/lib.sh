# relayq end-to-end tests: shared helpers.  Sourced by every tests/e2e/*.sh.
# shellcheck shell=sh
#
# Environment (set by AM_TESTS_ENVIRONMENT in Makefile.am):
#   RELAYQ_SBIN     dir with the installed relayq and sendmail
#   RELAYQ_BIN      dir with mailq and newaliases
#   RELAYQ_PYTHON   a python3 with aiosmtpd (Debian's /usr/bin/python3)
#   RELAYQ_E2E_DIR  this directory (read-only under distcheck)
# Optional:
#   RELAYQ_E2E_KEEP=1   keep the temp dir (its path is printed)
# The tests hold under any date, TZ and locale (.ci/run runs them under a
# faked clock in half-hour zones): nothing here pins TZ or the clock; only
# the collation of the tests' own sort is fixed (LC_COLLATE=C, LC_ALL
# moved to LANG so that it does not override that).
#
# Conventions: every temp file lives under $T (one mktemp -d, removed at
# exit); every server is killed by its PID at exit; every wait is bounded;
# only 127.0.0.1 and kernel-chosen ports.  Checks (check_*) record a failure
# and carry on so that one run shows everything that is wrong; die stops
# at once.  e2e_finish exits 0 or 1.  On failure the EXIT trap prints the
# commands run with their exit codes and stderr, the smarthost logs, the
# mailq output and the spool listing.

set -u

: "${RELAYQ_E2E_DIR:=$(cd "$(dirname "$0")" && pwd)}"
# shellcheck source=./pid_lib.sh
. "$RELAYQ_E2E_DIR/pid_lib.sh"
: "${RELAYQ_PYTHON:=/usr/bin/python3}"
if [ -z "${RELAYQ_SBIN:-}" ] && [ -n "${RELAYQ_TEST_ROOT:-}" ]; then
	RELAYQ_SBIN=$RELAYQ_TEST_ROOT/usr/local/sbin
	RELAYQ_BIN=$RELAYQ_TEST_ROOT/usr/local/bin
fi
: "${RELAYQ_SBIN:=}"
: "${RELAYQ_BIN:=$RELAYQ_SBIN}"
export RELAYQ_E2E_DIR RELAYQ_PYTHON RELAYQ_SBIN RELAYQ_BIN
unset RELAYQ_CONFIG
if [ -n "${LC_ALL:-}" ]; then
	LANG=$LC_ALL
	export LANG
	unset LC_ALL
fi
LC_COLLATE=C
export LC_COLLATE

# Bounds, in seconds.
E2E_WAIT=${E2E_WAIT:-20}        # waiting for mail to arrive
E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-60}   # any single relayq command

E2E_NAME=$(basename "$0" .sh)
# The smarthost password of the default config (write_config) and of
# start_tls_smarthost; E2E_PASS_RE matches it and its base64 forms.
# e2e_finish checks that no command output of the test contains them.
E2E_PASS=s3cret-E2E-pw+4Kq9
E2E_PASS_RE='s3cret-E2E-pw\+4Kq9|czNjcmV0LUUyRS1wdys0S3E5|MzY3JldC1FMkUtcHcrNEtx|zM2NyZXQtRTJFLXB3KzRL'
T=
FAILED=0
SH_PIDS=
_ncmd=0

say() { printf '%s\n' "$*"; }
note() { printf '# %s\n' "$*"; }

# --- failure reporting -----------------------------------------------------

# check_fail WHAT [EXPECTED GOT]: record a failed check.
check_fail() {
	FAILED=1
	printf 'not ok - %s\n' "$1"
	if [ $# -ge 3 ]; then
		printf '    expected: %s\n' "$2"
		printf '    got:      %s\n' "$3"
	fi
}

ok() { printf 'ok - %s\n' "$*"; }

# warn MESSAGE: worth a look, but not a failure.
warn() { printf 'WARNING - %s\n' "$*"; }

# die MESSAGE: fail now.
die() {
	FAILED=1
	printf 'FATAL - %s\n' "$*"
	exit 1
}

# skip MESSAGE: a tool the test needs is truly missing.
skip() {
	printf 'SKIP - %s\n' "$*"
	exit 77
}

dump_diagnostics() {
	say ""
	say "======== diagnostics for $E2E_NAME ========"
	if [ -s "$T/commands.log" ]; then
		say "---- commands run (exit code, stderr) ----"
		cat "$T/commands.log"
	fi
	for f in "$T"/*.smarthost.log; do
		[ -f "$f" ] || continue
		say "---- smarthost log $(basename "$f") (last 150 lines) ----"
		tail -n 150 "$f"
	done
	for f in "$T"/*.smarthost.err; do
		[ -s "$f" ] || continue
		say "---- smarthost stderr $(basename "$f") ----"
		tail -n 50 "$f"
	done
	if [ -n "${CONF:-}" ] && [ -f "$CONF" ] && [ -x "$RELAYQ_BIN/mailq" ]; then
		say "---- mailq ($CONF) ----"
		if command -v timeout >/dev/null 2>&1; then
			RELAYQ_CONFIG=$CONF timeout 20 "$RELAYQ_BIN/mailq" 2>&1
		else
			RELAYQ_CONFIG=$CONF "$RELAYQ_BIN/mailq" 2>&1
		fi
		say "(exit $?)"
		say "---- config $CONF ----"
		cat "$CONF"
	fi
	if [ -d "$T/spool" ]; then
		say "---- spool ----"
		(cd "$T/spool" && find . | sort)
	fi
	say "======== end of diagnostics ========"
}

e2e_cleanup() {
	_rc=$1
	trap - EXIT INT TERM HUP
	for _p in $SH_PIDS; do
		kill "$_p" 2>/dev/null
	done
	for _p in $SH_PIDS; do
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ $_i -lt 50 ]; do
			sleep 0.1 2>/dev/null || sleep 1
			_i=$((_i + 1))
		done
		kill -9 "$_p" 2>/dev/null
	done
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 77 ] && [ -n "$T" ] && [ -d "$T" ]; then
		dump_diagnostics
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "${RELAYQ_E2E_KEEP:-0}" = 1 ]; then
			say "# kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$_rc"
}

# --- setup -----------------------------------------------------------------

# e2e_init: check the tools, make $T, install the EXIT trap.
e2e_init() {
	[ -n "$RELAYQ_SBIN" ] || die "RELAYQ_SBIN is not set (run me via make check)"
	for _b in "$RELAYQ_SBIN/relayq" "$RELAYQ_SBIN/sendmail" "$RELAYQ_BIN/mailq"; do
		[ -x "$_b" ] || die "$_b is missing: was 'make tests/e2e-root.stamp' run?"
	done
	command -v openssl >/dev/null 2>&1 || skip "openssl CLI not found"
	[ -x "$RELAYQ_PYTHON" ] || command -v "$RELAYQ_PYTHON" >/dev/null 2>&1 ||
		skip "python ($RELAYQ_PYTHON) not found"
	"$RELAYQ_PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
		skip "$RELAYQ_PYTHON has no aiosmtpd (apt install python3-aiosmtpd)"
	if command -v timeout >/dev/null 2>&1; then
		HAVE_TIMEOUT=1
	else
		HAVE_TIMEOUT=0
	fi
	T=$(mktemp -d "${TMPDIR:-/tmp}/relayq-e2e-$E2E_NAME.XXXXXX") ||
		die "mktemp -d failed"
	trap 'e2e_cleanup $?' EXIT
	trap 'exit 1' INT TERM HUP
	# The spool must be owned by the caller; relayq makes its subdirs.
	mkdir "$T/spool" || die "mkdir $T/spool"
	: >"$T/commands.log"
	note "$E2E_NAME: temp dir $T, running as $(id -un) (uid $(id -u))"
	note "clock $(date '+%Y-%m-%d %H:%M:%S %z'), TZ=${TZ:-(unset)}," \
		"LANG=${LANG:-(unset)}${FAKETIME:+, FAKETIME=$FAKETIME}"
	[ -n "${RELAYQ_VALGRIND:-}" ] && vg_wrap
	return 0
}

# RELAYQ_VALGRIND=1: every relayq program the test runs (through
# RELAYQ_SBIN and RELAYQ_BIN) runs under valgrind memcheck instead, and
# e2e_finish fails the test on any error report: invalid reads or writes,
# uninitialised values, bad frees, definite leaks, in any process
# (background deliveries included: valgrind follows fork). glibc's own
# exit-time cleanup is not run (--run-libc-freeres=no): it reads the
# getaddrinfo_a request pool uninitialised (a glibc quirk, not relayq's).
vg_wrap() {
	command -v valgrind >/dev/null 2>&1 || skip "valgrind not found"
	mkdir -p "$T/vg/sbin" "$T/vg/bin" "$T/vg/log" || die "mkdir $T/vg"
	chmod 1777 "$T/vg/log"	# tests run some commands as another user
	for _p in sbin/relayq sbin/sendmail bin/mailq bin/newaliases; do
		case $_p in sbin/*) _real=$RELAYQ_SBIN/${_p#*/} ;; *) _real=$RELAYQ_BIN/${_p#*/} ;; esac
		{
			say '#!/bin/sh'
			say 'exec valgrind -q --leak-check=full --show-leak-kinds=definite \'
			say '	--errors-for-leak-kinds=definite --track-origins=yes \'
			say '	--run-libc-freeres=no \'
			say "	--log-file=\"$T/vg/log/%p\" \"$_real\" \"\$@\""
		} >"$T/vg/$_p"
		chmod +x "$T/vg/$_p"
	done
	RELAYQ_SBIN=$T/vg/sbin RELAYQ_BIN=$T/vg/bin
	E2E_WAIT=$((E2E_WAIT * 3)) E2E_CMD_TIMEOUT=$((E2E_CMD_TIMEOUT * 3))
	export RELAYQ_SBIN RELAYQ_BIN
	note "under valgrind memcheck (reports in $T/vg/log)"
}

# The valgrind verdict: every report file is empty (-q: errors only).
vg_verdict() {
	_bad=
	for _f in "$T"/vg/log/*; do
		[ -s "$_f" ] && _bad="$_bad $_f"
	done
	if [ -n "$_bad" ]; then
		# shellcheck disable=SC2086
		check_fail "valgrind memcheck: no errors" "no reports" "$(head -n 40 $_bad)"
	else
		ok "valgrind memcheck: no errors in $(ls "$T/vg/log" | wc -l | tr -d ' ') processes"
	fi
}

e2e_finish() {
	# No output of any command (stdout, stderr, -v dialogue) holds the
	# password in any form (secrets_tool.py ere; checked by hand).
	_leak=$(cat /dev/null "$T"/cmd.*.out "$T"/cmd.*.err 2>/dev/null |
		grep -a -c -E -- "$E2E_PASS_RE")
	check_eq "no command output holds the smarthost password or its base64" 0 "$_leak"
	[ -n "${RELAYQ_VALGRIND:-}" ] && vg_verdict
	if [ "$FAILED" -ne 0 ]; then
		say "# $E2E_NAME: FAILED"
		exit 1
	fi
	say "# $E2E_NAME: all checks passed"
	exit 0
}

mt() { "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/mailtool.py" "$@"; }
# ct: the crash, disk and concurrency tests' tool (crash_tool.py).
ct() { "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/crash_tool.py" "$@"; }

now_ms() {
	_t=$(date +%s%N 2>/dev/null)
	case $_t in
	*N | "") echo $(($(date +%s) * 1000)) ;;
	*) echo $((_t / 1000000)) ;;
	esac
}

nap() { sleep 0.1 2>/dev/null || sleep 1; }

# traced_relayq: this test runs relayq under strace. LeakSanitizer cannot
# work under ptrace (it aborts the program), so an ASan build checks
# memory errors only here; the other tests check leaks.
traced_relayq() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
}

# have_strace: strace is there and can trace and inject faults here.
have_strace() {
	command -v strace >/dev/null 2>&1 &&
		strace -f -qq -o /dev/null -e trace=getpid \
			-e inject=getpid:retval=1 true 2>/dev/null
}

# --- certificates ------------------------------------------------------------

# make_certs: in $T, a test CA (ca.pem) with a server cert for localhost and
# 127.0.0.1 (server.pem, server.key); an unrelated "wrong" CA (wrongca.pem)
# with its own server cert for the same names (wrong-server.pem/.key); and a
# cert from the right CA for another name only (othername-server.pem/.key).
make_certs() {
	_ossl() {
		openssl "$@" >>"$T/openssl.log" 2>&1 || {
			cat "$T/openssl.log"
			die "openssl $1 failed"
		}
	}
	for _ca in ca wrongca; do
		_ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$T/$_ca.key" -out "$T/$_ca.pem" -days 2 \
			-subj "/CN=relayq e2e test $_ca" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
	done
	_srv() { # NAME CA SAN
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature,keyEncipherment" \
			"extendedKeyUsage=serverAuth" \
			"subjectAltName=$3" >"$T/$1.ext"
		_ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=localhost"
		_ossl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" \
			-CAcreateserial -out "$T/$1.pem" -days 2 -extfile "$T/$1.ext"
	}
	_srv server ca "DNS:localhost,IP:127.0.0.1"
	_srv wrong-server wrongca "DNS:localhost,IP:127.0.0.1"
	_srv othername-server ca "DNS:other.test"
	chmod 600 "$T"/*.key
}

# --- the smarthost -------------------------------------------------------------

# start_smarthost NAME [smarthost.py options...]: start a smarthost; sets
# SH_PORT, SH_PID, SH_RX (received messages), SH_LOG (command log).  Files:
# $T/NAME.rx/, $T/NAME.smarthost.log, $T/NAME.smarthost.err.
start_smarthost() {
	_name=$1
	shift
	SH_RX=$T/$_name.rx
	SH_LOG=$T/$_name.smarthost.log
	rm -f "$T/$_name.port"
	"$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/smarthost.py" --outdir "$SH_RX" \
		--port-file "$T/$_name.port" --log "$SH_LOG" "$@" \
		>"$T/$_name.smarthost.out" 2>"$T/$_name.smarthost.err" &
	SH_PID=$!
	SH_PIDS="$SH_PIDS $SH_PID"
	wait_listening "smarthost $_name" "$T/$_name"
	note "smarthost $_name: pid $SH_PID, 127.0.0.1:$SH_PORT ($*)"
}

# wait_listening WHAT PREFIX: wait (bounded) until the server $SH_PID has
# written its kernel-chosen port to PREFIX.port; sets SH_PORT. Dies, with
# PREFIX.smarthost.err, when the server exits first or never listens.
wait_listening() {
	_i=0
	while [ ! -s "$2.port" ]; do
		if ! kill -0 "$SH_PID" 2>/dev/null; then
			cat "$2.smarthost.err"
			die "$1 exited before listening"
		fi
		_i=$((_i + 1))
		[ $_i -le $((E2E_WAIT * 10)) ] ||
			die "$1 did not listen within ${E2E_WAIT}s"
		nap
	done
	SH_PORT=$(cat "$2.port")
}

# stop_smarthost PID
stop_smarthost() { stop_pid "$1"; }

# start_tls_smarthost NAME [options...]: STARTTLS, AUTH alice:$E2E_PASS, the
# test CA's server cert.
start_tls_smarthost() {
	_n=$1
	shift
	start_smarthost "$_n" --mode starttls --cert "$T/server.pem" \
		--key "$T/server.key" --auth "alice:$E2E_PASS" "$@"
}

# received_count [RX]: complete messages received so far.
received_count() {
	_d=${1:-$SH_RX}
	if [ -d "$_d" ]; then
		find "$_d" -name '[0-9]*.json' | wc -l | tr -d ' '
	else
		echo 0
	fi
}

# wait_for N [SECONDS] [RX]: wait until at least N messages have arrived.
wait_for() {
	_want=$1
	_secs=${2:-$E2E_WAIT}
	_d=${3:-$SH_RX}
	_end=$(($(date +%s) + _secs))
	while :; do
		_got=$(received_count "$_d")
		[ "$_got" -ge "$_want" ] && return 0
		[ "$(date +%s)" -ge "$_end" ] && break
		nap
	done
	check_fail "wait for $_want message(s) at the smarthost within ${_secs}s" \
		"$_want" "$_got"
	return 1
}

# down_port VAR: set VAR to a loopback port where connections are refused
# for as long as the test runs: a helper holds it bound without listening
# (killed at exit), so that no server of a test running beside this one
# can be given it meanwhile (a port merely found free can be).
_nheld=0
down_port() {
	_nheld=$((_nheld + 1))
	_pf=$T/held-port.$_nheld
	"$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/mailtool.py" hold-port "$_pf" \
		</dev/null >/dev/null 2>"$_pf.err" &
	_hp=$!
	SH_PIDS="$SH_PIDS $_hp"
	_i=0
	while [ ! -s "$_pf" ]; do
		kill -0 "$_hp" 2>/dev/null || die "hold-port: $(cat "$_pf.err")"
		_i=$((_i + 1))
		[ $_i -le $((E2E_WAIT * 10)) ] || die "hold-port: no port within ${E2E_WAIT}s"
		nap
	done
	eval "$1=\$(cat \"\$_pf\")"
}

# connections [RX]: TCP connections the smarthost accepted.
connections() { cat "${1:-$SH_RX}/connections" 2>/dev/null || echo 0; }

# --- relayq configuration ------------------------------------------------------

# write_config FILE [key=value...]: write a relayq.conf.  Defaults:
#   host=localhost port=$SH_PORT tls=starttls tls_verify=yes
#   ca_file=$T/ca.pem user=alice password=$E2E_PASS password_file=
#   spool=$T/spool extra= (more lines for [smarthost])
# An empty value leaves the line out (user= also drops the password).
write_config() {
	_f=$1
	shift
	_host=localhost _port=${SH_PORT:-} _tls=starttls _verify=yes
	_ca=$T/ca.pem _user=alice _pass=$E2E_PASS _pwfile='' _spool=$T/spool _extra=''
	for _a in "$@"; do
		_v=${_a#*=}
		case $_a in
		host=*) _host=$_v ;;
		port=*) _port=$_v ;;
		tls=*) _tls=$_v ;;
		tls_verify=*) _verify=$_v ;;
		ca_file=*) _ca=$_v ;;
		user=*) _user=$_v ;;
		password=*) _pass=$_v ;;
		password_file=*) _pwfile=$_v ;;
		spool=*) _spool=$_v ;;
		extra=*) _extra=$_v ;;
		*) die "write_config: unknown setting '$_a'" ;;
		esac
	done
	{
		say "# relayq e2e test config ($E2E_NAME)"
		say "[queue]"
		say "dir = $_spool"
		say "retry = 1m 5m"
		say ""
		say "[local]"
		say "hostname = relayq.test"
		say "domain = example.test"
		say ""
		say "[smarthost]"
		say "host = $_host"
		say "port = $_port"
		[ -n "$_tls" ] && say "tls = $_tls"
		[ -n "$_verify" ] && say "tls_verify = $_verify"
		[ -n "$_ca" ] && say "ca_file = $_ca"
		if [ -n "$_user" ]; then
			say "user = $_user"
			if [ -n "$_pwfile" ]; then
				say "password_file = $_pwfile"
			else
				say "password = $_pass"
			fi
		fi
		[ -n "$_extra" ] && say "$_extra"
	} >"$_f"
	return 0
}

# --- running commands ------------------------------------------------------------

# run CMD [ARGS...]: run a command with stdin inherited, stdout in $OUT,
# stderr in $ERR, exit code in $RC and the time taken in $MS (milliseconds);
# bounded by E2E_CMD_TIMEOUT.  Logged for the diagnostics.
run() {
	_ncmd=$((_ncmd + 1))
	OUT=$T/cmd.$_ncmd.out
	ERR=$T/cmd.$_ncmd.err
	_t0=$(now_ms)
	if [ "$HAVE_TIMEOUT" = 1 ]; then
		timeout "$E2E_CMD_TIMEOUT" "$@" >"$OUT" 2>"$ERR"
	else
		"$@" >"$OUT" 2>"$ERR"
	fi
	RC=$?
	MS=$(($(now_ms) - _t0))
	{
		printf '$ %s\n' "$*"
		printf '  -> exit %s after %s ms\n' "$RC" "$MS"
		[ "$RC" = 124 ] && [ "$HAVE_TIMEOUT" = 1 ] &&
			printf '  (killed by timeout after %ss)\n' "$E2E_CMD_TIMEOUT"
		sed -n '1,40s/^/  stderr: /p' "$ERR"
		sed -n '1,10s/^/  stdout: /p' "$OUT"
	} >>"$T/commands.log"
	return "$RC"
}

# Shorthands.  Message on stdin.
sm() { run "$RELAYQ_SBIN/sendmail" "$@"; }
rq() { run "$RELAYQ_SBIN/relayq" "$@"; }
# mailq_of CONF: run mailq with RELAYQ_CONFIG=CONF.
mailq_of() { run env RELAYQ_CONFIG="$1" "$RELAYQ_BIN/mailq"; }

# expect_rc WHAT EXPECTED: check $RC from the last run.
expect_rc() {
	if [ "$RC" = "$2" ]; then
		ok "$1 (exit $RC)"
	else
		check_fail "$1: exit code" "$2" "$RC; stderr: $(head -c 600 "$ERR")"
	fi
}

# --- checks ------------------------------------------------------------------------

# check_eq WHAT EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		check_fail "$1" "$2" "$3"
	fi
}

# check_match WHAT ERE STRING
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		check_fail "$1" "a match for /$2/" "$3"
	fi
}

# check_date WHAT VALUE [SLACK]: VALUE is an RFC 5322 date-time (the
# grammar with its obsolete forms, the day of week, the ranges:
# rfc5322date.py); with SLACK, also within SLACK seconds of this test's
# clock (a date whose zone offset does not match its time is hours off).
check_date() {
	if [ $# -ge 3 ]; then
		_r=$(mt date "$2" "$(date +%s)" "$3")
	else
		_r=$(mt date "$2")
	fi
	case $_r in
	ok\ *) ok "$1 ($2)" ;;
	*) check_fail "$1" "an RFC 5322 date-time${3:+ within $3 s of the clock}" \
		"'$2': $_r" ;;
	esac
}
# The SLACK for a date made during the test.
E2E_DATE_SLACK=${E2E_DATE_SLACK:-900}
# received_date EML: the date-time of the first Received: field.
received_date() { header "$1" Received | head -n 1 | sed 's/.*;[[:space:]]*//'; }

# check_grep WHAT ERE FILE / check_no_grep WHAT ERE FILE
check_grep() {
	if grep -Eq -- "$2" "$3"; then
		ok "$1"
	else
		check_fail "$1" "a line matching /$2/ in $(basename "$3")" \
			"$(head -c 1500 "$3")"
	fi
}
check_no_grep() {
	if grep -Eq -- "$2" "$3"; then
		check_fail "$1" "no line matching /$2/ in $(basename "$3")" \
			"$(grep -E -- "$2" "$3" | head -n 5)"
	else
		ok "$1"
	fi
}

# check_bytes WHAT EXPECTED_FILE GOT_FILE: byte-exact comparison.
check_bytes() {
	if _d=$(mt cmp "$2" "$3"); then
		ok "$1"
	else
		check_fail "$1"
		printf '%s\n' "$_d"
	fi
}

# check_body WHAT INPUT_BODY_FILE EML: the body of the received message is
# the input body with LF turned into CRLF.
check_body() {
	mt crlf "$2" "$T/expected.body" || die "mailtool crlf"
	if ! mt body "$3" "$T/got.body"; then
		check_fail "$1: received message has a header/body separator"
		return
	fi
	check_bytes "$1" "$T/expected.body" "$T/got.body"
}

# check_crlf_only WHAT EML: every line ends in CRLF, no bare LF or CR.
check_crlf_only() {
	if _d=$(mt bare-lf "$2"); then
		check_fail "$1" "CRLF line endings only" "bare LF/CR at: $_d"
	else
		ok "$1"
	fi
}

# header EML NAME: values of a header, one a line.
header() { mt header "$1" "$2"; }
# jget JSON KEY: a field of a received message's metadata.
jget() { mt get "$1" "$2"; }
# rcpts BASE: the envelope recipients of a received message, sorted, space
# separated.
rcpts() { jget "$1.json" rcpt_tos | sort | tr '\n' ' ' | sed 's/ $//'; }

# msg_by_subject SUBJECT [RX]: base path of the one received message with
# this Subject (fails the check if there is not exactly one).
msg_by_subject() {
	_m=$(mt find "${2:-$SH_RX}" "$1")
	_c=$(printf '%s' "$_m" | grep -c .)
	if [ "$_c" != 1 ]; then
		check_fail "exactly one received message with Subject '$1'" 1 "$_c"
		return 1
	fi
	printf '%s\n' "$_m"
}

# check_queue_empty WHAT CONF: mailq prints exactly "Mail queue is empty".
check_queue_empty() { check_empty_by "$1" mailq_of "$2"; }

# wait_queue_empty CONF [SECONDS]: poll mailq until the queue is empty.
wait_queue_empty() { wait_empty_by "${2:-$E2E_WAIT}" mailq_of "$1"; }

# queue_is_empty: the last mailq (RC, OUT) said exactly "Mail queue is
# empty", in one line.
queue_is_empty() {
	[ "$RC" = 0 ] && [ "$(cat "$OUT")" = "Mail queue is empty" ] &&
		[ "$(wc -l <"$OUT" | tr -d ' ')" = 1 ]
}

# check_empty_by WHAT MAILQ_CMD [ARGS...]: MAILQ_CMD (a run wrapper that
# sets RC, OUT, ERR) shows an empty queue.
check_empty_by() {
	_what=$1
	shift
	"$@"
	if queue_is_empty; then
		ok "$_what"
	else
		check_fail "$_what" "exit 0 and exactly 'Mail queue is empty'" \
			"exit $RC: $(head -c 1500 "$OUT") $(head -c 300 "$ERR")"
	fi
}

# wait_empty_by SECONDS MAILQ_CMD [ARGS...]: poll until MAILQ_CMD shows an
# empty queue; 1 if it does not within SECONDS.
wait_empty_by() {
	_end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@"
		queue_is_empty && return 0
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.5 2>/dev/null || sleep 1
	done
}

# spool_snapshot: every path in the spool with type, size and mode.
spool_snapshot() {
	(cd "$T/spool" && find . -exec ls -ld {} + 2>/dev/null |
		awk '{print $1, $5, $NF}' | sort)
}

# check_spool_unchanged WHAT: the spool is as $T/spool.before (a
# spool_snapshot) shows it; else the difference.
check_spool_unchanged() {
	spool_snapshot >"$T/spool.after"
	if cmp -s "$T/spool.before" "$T/spool.after"; then
		ok "$1: spool unchanged"
	else
		check_fail "$1: spool unchanged"
		diff "$T/spool.before" "$T/spool.after" | head -n 20
	fi
}

# check_no_cleartext LOG: in every connection of a smarthost log, no AUTH,
# MAIL, RCPT or DATA was sent before TLS was up (STARTTLS done or implicit).
check_no_cleartext() {
	awk '$4 == "*" && ($5 == "STARTTLS" || /implicit TLS/) { tls[$3] = 1 }
	     $4 == "C:" { v = toupper($5)
	        if ((v == "AUTH" || v == "MAIL" || v == "RCPT" || v == "DATA") && !tls[$3]) print }' \
		"$1" >"$T/cleartext"
	if [ -s "$T/cleartext" ]; then
		check_fail "no AUTH/MAIL/RCPT/DATA outside TLS ($(basename "$1"))" "none" \
			"$(head -n 5 "$T/cleartext")"
	else
		ok "no AUTH/MAIL/RCPT/DATA outside TLS ($(basename "$1"))"
	fi
}

# check_sent WHAT VERB LOG / check_not_sent WHAT VERB LOG: whether the
# client sent an SMTP command (case-insensitive verb) to a smarthost.
check_sent() {
	if [ -n "$(sent_lines "$2" "$3")" ]; then
		ok "$1"
	else
		check_fail "$1" "a '$2' command in $(basename "$3")" \
			"$(log_commands "$3" | tr '\n' ' ')"
	fi
}
check_not_sent() {
	_l=$(sent_lines "$2" "$3")
	if [ -z "$_l" ]; then
		ok "$1"
	else
		check_fail "$1" "no '$2' command in $(basename "$3")" "$_l"
	fi
}
sent_lines() {
	awk -v verb="$1" '$4 == "C:" && toupper($5) == verb' "$2" | head -n 5
}

# log_commands FILE: the SMTP verbs the client sent, in order.
log_commands() { sed -n 's/.* C: \([A-Za-z]*\).*/\1/p' "$1" | tr '[:lower:]' '[:upper:]'; }

# A message as PHP's mail() hands it to sendmail: CRLF header lines, an empty
# CRLF line, then the body as the script gave it (LF).
# php_message FILE TO SUBJECT BODYLINE...
php_message() {
	_f=$1 _to=$2 _subj=$3
	shift 3
	{
		printf 'To: %s\r\n' "$_to"
		printf 'Subject: %s\r\n' "$_subj"
		printf 'X-Mailer: PHP/8.2.0\r\n'
		printf '\r\n'
		for _l in "$@"; do printf '%s\n' "$_l"; done
	} >"$_f"
}
