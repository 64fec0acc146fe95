#!/bin/sh
# relayq e2e (root only): the smarthost password and every base64 form of
# it (AUTH PLAIN, LOGIN, XOAUTH2 at any alignment) never appear in
# anything relayq writes in the clear: stdout, stderr, -v dialogue, syslog,
# spool files, or any other write()/send() of the process tree (strace);
# and relayq never runs another program (no execve), so no argv can carry
# it. Over TLS the only copy leaves encrypted.
#
# Each command runs in a private mount namespace whose /dev/log is this
# test's syslog listener (there may be no syslog daemon), under
# `strace -f` recording every write-like call. Cases: AUTH PLAIN and LOGIN
# deliveries with -v (sendmail -odi, sendmail -q, relayq run, relayq test
# --send), a password_file, a wrong password (535: deferred, the reason in
# mailq, queue show and --json), a smarthost without TLS that offers AUTH
# (nothing sent, no AUTH in the clear), config errors next to the
# password. Controls: the scanner finds the secret when a process does
# write it, in strace output and in the syslog capture.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace for /dev/log)"
have_strace || skip "strace missing or cannot trace here"
command -v unshare >/dev/null 2>&1 || skip "unshare not found"
mkdir "$T/probe"
unshare -m --propagation private sh -c "mount -t tmpfs tmpfs '$T/probe'" \
	2>/dev/null || skip "cannot mount in a private mount namespace here"
traced_relayq
st() { "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/secrets_tool.py" "$@"; }
PASS=Zq7-secret-Pw-8xKv3-never-logged
WRONG=Wr0ng-secret-Pw-4hTy9-never-logged

make_certs
start_smarthost good --mode starttls --cert "$T/server.pem" --key "$T/server.key" \
	--auth "alice:$PASS"
GOOD_PORT=$SH_PORT GOOD_RX=$SH_RX
start_smarthost clear --mode plain --auth "alice:$PASS" --allow-auth-in-clear
CLEAR_PORT=$SH_PORT CLEAR_RX=$SH_RX

# The syslog listener; every command's /dev/log.
# (python itself in the background, not the st function's subshell: the
# EXIT trap ends it by this PID.)
"$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/secrets_tool.py" syslog "$T/log.sock" \
	"$T/syslog.txt" 2>"$T/syslog.err" &
SH_PIDS="$SH_PIDS $!"
_i=0
while [ ! -S "$T/log.sock" ] && [ $_i -lt 100 ]; do nap; _i=$((_i + 1)); done
[ -S "$T/log.sock" ] || die "the syslog listener did not start"

# syslog_barrier: wait (bounded) until the listener has written all that
# was sent to it so far: a marker sent now is written after all of it.
NB=0
syslog_barrier() {
	NB=$((NB + 1))
	logger -u "$T/log.sock" "e2e-syslog-barrier-$NB" ||
		die "logger to the listener failed"
	_i=0
	until grep -qF "e2e-syslog-barrier-$NB" "$T/syslog.txt" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -le $((E2E_WAIT * 10)) ] ||
			die "the syslog listener wrote no barrier within ${E2E_WAIT}s"
		nap
	done
}

# traced CMD...: CMD in a mount namespace with /dev/log -> the listener,
# under strace (trace file $T/trace.N, N = the run number).
cat >"$T/traced" <<'EOF'
#!/bin/sh
# traced T N CMD...
T=$1 N=$2
shift 2
exec unshare -m --propagation private sh -c '
	T=$1 N=$2
	shift 2
	d=$T/dev.$N
	mkdir "$d" && mount -t tmpfs -o mode=755 tmpfs "$d" || exit 70
	for f in null zero full random urandom tty; do
		: >"$d/$f" && mount --bind "/dev/$f" "$d/$f" || exit 70
	done
	ln -s /proc/self/fd "$d/fd"
	: >"$d/log" && mount --bind "$T/log.sock" "$d/log" || exit 70
	mount --move "$d" /dev || exit 70
	exec strace -f -qq -s 70000 -xx -o "$T/trace.$N" \
	    -e trace=write,writev,pwrite64,pwritev,pwritev2,send,sendto,sendmsg,sendmmsg,execve,execveat \
	    "$@"' sh "$T" "$N" "$@"
EOF
chmod +x "$T/traced"
NT=0
tr_run() {
	NT=$((NT + 1))
	run "$T/traced" "$T" "$NT" "$@"
}
SM=$RELAYQ_SBIN/sendmail
RQ=$RELAYQ_SBIN/relayq
# tr_msg TO TAG CMD...: tr_run CMD with a small message to TO on stdin.
tr_msg() {
	_m=$T/msg.$2
	printf 'To: %s\nSubject: secrets %s\n\nbody %s\n' "$1" "$2" "$2" >"$_m"
	shift 2
	tr_run "$@" <"$_m"
}

# The namespace works: a message through /dev/log reaches the listener.
tr_run logger -u /dev/log "relayq-e2e-syslog-probe"
expect_rc "control: logger inside the namespace" 0
_i=0
while ! grep -q relayq-e2e-syslog-probe "$T/syslog.txt" 2>/dev/null && [ $_i -lt 50 ]; do
	nap
	_i=$((_i + 1))
done
check_grep "control: the syslog listener gets /dev/log" relayq-e2e-syslog-probe "$T/syslog.txt"

# --- deliveries over STARTTLS, AUTH PLAIN and LOGIN ----------------------------
write_config "$T/plain.conf" port="$GOOD_PORT" password="$PASS" extra="auth = plain"
write_config "$T/login.conf" port="$GOOD_PORT" password="$PASS" extra="auth = login"
printf '%s\n' "$PASS" >"$T/pwfile"
chmod 0600 "$T/pwfile"
write_config "$T/pwfile.conf" port="$GOOD_PORT" password_file="$T/pwfile"
write_config "$T/wrong.conf" port="$GOOD_PORT" password="$WRONG"
write_config "$T/clear.conf" port="$CLEAR_PORT" tls=none tls_verify= ca_file= \
	password="$PASS"

tr_msg plain@example.org plain-odi "$SM" -C "$T/plain.conf" -v -odi -t
expect_rc "AUTH PLAIN: sendmail -v -odi" 0
tr_msg login@example.org login-odi "$SM" -C "$T/login.conf" -v -odi -t
expect_rc "AUTH LOGIN: sendmail -v -odi" 0
tr_msg q@example.org plain-q "$SM" -C "$T/plain.conf" -odq -t
expect_rc "queued with -odq" 0
tr_run "$SM" -C "$T/plain.conf" -v -q
expect_rc "sendmail -v -q" 0
tr_msg run@example.org pwfile-run "$SM" -C "$T/pwfile.conf" -odq -t
tr_run "$RQ" -C "$T/pwfile.conf" -v run
expect_rc "password_file: relayq -v run" 0
tr_run "$RQ" -C "$T/login.conf" -v test
expect_rc "relayq -v test (AUTH LOGIN)" 0
tr_run "$RQ" -C "$T/plain.conf" -v test --send test@example.org
expect_rc "relayq -v test --send" 0
wait_for 5 "$E2E_WAIT" "$GOOD_RX"
check_eq "control: the smarthost took the password (5 messages delivered)" 5 \
	"$(received_count "$GOOD_RX")"

# --- a wrong password: deferred, the reason shown -------------------------------
tr_msg wrong@example.org wrong "$SM" -C "$T/wrong.conf" -v -odi -t
check_match "wrong password: the message is queued" '^(0|75)$' "$RC"
tr_run "$RQ" -C "$T/wrong.conf" -v run
tr_run "$SM" -C "$T/wrong.conf" -bp
check_grep "wrong password: mailq shows the 535" '535' "$OUT"
ID=$(sed -n 's/^\([0-9A-F]\{16\}\).*/\1/p' "$OUT" | head -n 1)
tr_run "$RQ" -C "$T/wrong.conf" queue show "$ID"
expect_rc "wrong password: relayq queue show" 0
tr_run "$RQ" -C "$T/wrong.conf" queue list --json
expect_rc "wrong password: relayq queue list --json" 0

# --- no TLS, AUTH offered in the clear: refused, nothing sent -----------------------
tr_msg clear@example.org clear "$SM" -C "$T/clear.conf" -v -odi -t
tr_run "$RQ" -C "$T/clear.conf" -v test
check_eq "no TLS: nothing delivered" 0 "$(received_count "$CLEAR_RX")"
check_no_grep "no TLS: no AUTH command sent" 'C: AUTH' "$T/clear.smarthost.log"

# --- config errors around the password ----------------------------------------------
{
	cat "$T/plain.conf"
	printf 'password_file = %s\n' "$T/pwfile"
} >"$T/both.conf"
tr_run "$SM" -C "$T/both.conf" -bv x@example.org
check_match "password and password_file: a config error" '^78$' "$RC"
# A line without "=" (a typo): the error must not quote the line.
sed "s/^password = /password /" "$T/plain.conf" >"$T/typo.conf"
tr_run "$RQ" -C "$T/typo.conf" test
check_match "a password line without '=': a config error" '^78$' "$RC"
chmod 0644 "$T/pwfile"
tr_run "$RQ" -C "$T/pwfile.conf" test
check_match "a world-readable password_file: refused" '^(75|77|78)$' "$RC"
chmod 0600 "$T/pwfile"

# --- the verdict -----------------------------------------------------------------------
syslog_barrier	# the listener has written what was in flight
st scan "$PASS" "$T"/cmd.*.out "$T"/cmd.*.err "$T/syslog.txt" >"$T/hits.out"
check_eq "no password or base64 of it in stdout, stderr, -v output or syslog" "" \
	"$(cat "$T/hits.out")"
st scan "$WRONG" "$T"/cmd.*.out "$T"/cmd.*.err "$T/syslog.txt" >"$T/hits.wrong"
check_eq "nor the wrong one" "" "$(cat "$T/hits.wrong")"
st scan "$PASS" "$T"/trace.* >"$T/hits.trace"
st scan "$WRONG" "$T"/trace.* >>"$T/hits.trace"
check_eq "no write or send by relayq carries either in the clear (strace)" "" \
	"$(cat "$T/hits.trace")"
find "$T/spool" -type f >"$T/spool.files"
# shellcheck disable=SC2046
st scan "$PASS" $(cat "$T/spool.files") >"$T/hits.spool"
check_eq "nor any spool file" "" "$(cat "$T/hits.spool")"
# relayq runs no other program: one execve per trace (strace's own), and
# besides it only sendmail's of relayq itself (for -q and delivery; the
# trace shows strings as \xNN).
RQ_HEX=$(printf '%s' "$RELAYQ_SBIN/relayq" | od -An -tx1 | tr -d ' \n' |
	sed 's/../\\x&/g')
bad=
for f in "$T"/trace.*; do
	case $f in "$T/trace.1") continue ;; esac	# the logger control
	n=$(grep 'execve(' "$f" | sed 1d | grep -vcF "execve(\"$RQ_HEX\"")
	[ "$n" = 0 ] || bad="$bad $(basename "$f"):$n"
done
check_eq "relayq executes no program but relayq (sendmail -q, delivery)" "" "$bad"
check_eq "syslog got relayq's lines" 1 \
	"$([ "$(grep -c -E 'sendmail|relayq' "$T/syslog.txt")" -gt 5 ] && echo 1)"
check_grep "syslog: the delivery lines are there" 'status=sent' "$T/syslog.txt"

# Controls: the scanner sees the secret where a process does write it.
NT_C=$((NT + 1))
tr_run sh -c 'printf "%s\n" "$1" | base64 >&2; printf "AUTH PLAIN %s\n" "$(printf "\0alice\0%s" "$1" | base64)"' sh "$PASS"
st scan "$PASS" "$T/trace.$NT_C" >"$T/hits.control"
check_grep "control: base64 forms in strace output are found" 'base64@' "$T/hits.control"
tr_run logger -u /dev/log "leak $PASS"
syslog_barrier
st scan "$PASS" "$T/syslog.txt" >"$T/hits.control2"
check_grep "control: the secret in syslog is found" 'plain' "$T/hits.control2"
note "$NT commands traced; syslog lines: $(wc -l <"$T/syslog.txt")"
e2e_finish
