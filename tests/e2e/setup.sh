#!/bin/bash
# relayq e2e (root: a private network namespace, netns_lib.sh's
# mail_world): `relayq setup ADDRESS`, scripted with flags, probes, writes
# the [smarthost] section into the -C file (other sections kept, the old
# file kept as .bak) and the password file (root:relayq 0640 where the
# group exists, else 0600), sends a test message to the address itself
# (From: with the display name), and says what to do next. The config
# then passes `relayq test`; a second run changes nothing. A refused
# password writes nothing. With a default route to another server already
# there, setup adds a route [smarthost NAME] with senders, or, where this
# relayq cannot read routes, refuses and leaves the file unchanged.
# On a terminal (a pty) it asks for the address, the password without
# echo and the display name.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./netns_lib.sh
. "$RELAYQ_E2E_DIR/netns_lib.sh"
netns_mail_world "$@"
RQ=$RELAYQ_SBIN/relayq
mkdir "$T/etc"
CONF=$T/etc/relayq.conf
BASE="# my settings
[queue]
dir = $T/spool

[local]
hostname = relayq.test
domain = example.test
"
printf '%s' "$BASE" >"$T/base.conf"
cp "$T/base.conf" "$CONF"

run "$RQ" -C "$CONF" setup bob@example.test --password-file "$T/pw" \
	--ca-file "$T/ca.pem" --timeout 6 --name "Bob Example"
cp "$OUT" "$T/setup1.out"
expect_rc "setup bob@example.test" 0
if getent group relayq >/dev/null; then
	check_eq "password file: root:relayq 0640" "root:relayq 640" \
		"$(stat -c '%U:%G %a' "$T/etc/password")"
else
	check_eq "password file: 0600 (no relayq group here)" "600" \
		"$(stat -c '%a' "$T/etc/password")"
fi
check_eq "password file: the password" "$E2E_PASS" "$(cat "$T/etc/password")"
check_bytes "the old configuration kept as .bak" "$T/base.conf" "$CONF.bak"
check_eq "the configuration: the old part kept, [smarthost] added" "$BASE
[smarthost]
host = smtp.example.test
port = 587
tls = starttls
user = bob
password_file = $T/etc/password
ca_file = $T/ca.pem" "$(cat "$CONF")"
check_grep "setup ran the test: the message was accepted" \
	'^  ok +message .* 250 ' "$T/setup1.out"
check_grep "setup tells what to do next" 'Next: something must run the queue' \
	"$T/setup1.out"
M=$(mt find "$S587_RX" "relayq test message from relayq.test")
check_eq "the test message went to the address itself" "bob@example.test" "$(rcpts "$M")"
check_eq "From: with the display name" '"Bob Example" <bob@example.test>' \
	"$(header "$M.eml" From)"

run "$RQ" -C "$CONF" test
expect_rc "relayq test passes with the written configuration" 0

cp "$CONF" "$T/after1.conf"
run "$RQ" -C "$CONF" setup bob@example.test --password-file "$T/pw" \
	--ca-file "$T/ca.pem" --timeout 6 --name "Bob Example"
expect_rc "setup again" 0
check_bytes "idempotent: the configuration is the same" "$T/after1.conf" "$CONF"
check_bytes "idempotent: the backup is the previous file" "$T/after1.conf" "$CONF.bak"
check_eq "idempotent: the password file is the same" "$E2E_PASS" "$(cat "$T/etc/password")"

# A wrong password: nothing is written.
printf 'not-the-password\n' >"$T/wrongpw"
chmod 600 "$T/wrongpw"
run "$RQ" -C "$CONF" setup bob@example.test --password-file "$T/wrongpw" \
	--ca-file "$T/ca.pem" --timeout 6
expect_rc "setup with a refused password" 77
check_grep "says the password was refused, nothing written" \
	'password was refused .*nothing written' "$OUT"
check_bytes "a refused password changes no file" "$T/after1.conf" "$CONF"

# A default route to another server exists: a route for the domain.
OTHER="$BASE
[smarthost]
host = relay.elsewhere.test
port = 587
user = someone
password_file = $T/pw
"
printf '%s' "$OTHER" >"$T/other.orig"
cp "$T/other.orig" "$T/etc/other.conf"
run "$RQ" -C "$T/etc/other.conf" setup bob@example.test --password-file "$T/pw" \
	--ca-file "$T/ca.pem" --timeout 6
cp "$OUT" "$T/route.out"
if [ "$RC" = 0 ]; then
	check_grep "a route of its own for example.test" '^\[smarthost example-test\]$' \
		"$T/etc/other.conf"
	check_grep "the route carries the domain's senders" '^senders = \*@example\.test$' \
		"$T/etc/other.conf"
	check_grep "the default route is kept" '^host = relay\.elsewhere\.test$' \
		"$T/etc/other.conf"
else
	expect_rc "with another default route, where routes cannot be read" 78
	check_grep "says it cannot add the route, shows the section" \
		'^\[smarthost example-test\]$' "$T/route.out"
	check_bytes "the file is unchanged" "$T/other.orig" "$T/etc/other.conf"
fi

# On a terminal: the address, the password (no echo), the display name.
cp "$T/base.conf" "$T/etc/tty.conf"
"$RELAYQ_PYTHON" - "$RQ" "$T/etc/tty.conf" "$T/ca.pem" "$E2E_PASS" >"$T/tty.out" 2>&1 <<'PY'
import os, pty, select, sys, time
rq, conf, ca, pw = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(rq, [rq, "-C", conf, "setup", "--ca-file", ca, "--timeout", "6"])
answers = [(b"Mail address", b"bob@example.test\n"), (b"Display name", b"Tty User\n"),
           (b"Password", pw.encode() + b"\n")]
out, end = b"", time.time() + 60
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 1)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    while answers and answers[0][0] in out:
        out = out.replace(answers[0][0], b"<asked " + answers[0][0] + b">", 1)
        os.write(fd, answers.pop(0)[1])
done, status = os.waitpid(pid, os.WNOHANG)	# reaps it if it has ended
if done == 0:
    os.kill(pid, 9)          # bounded: a setup that hangs is ended
    out += b"\n(killed: still running after 60 s)\n"
    _, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
print("exit %d" % os.waitstatus_to_exitcode(status))
PY
check_grep "terminal: asked for the address" '<asked Mail address>' "$T/tty.out"
check_grep "terminal: asked for the display name" '<asked Display name>' "$T/tty.out"
check_grep "terminal: asked for the password" '<asked Password>' "$T/tty.out"
check_no_grep "terminal: the password is not echoed" "$E2E_PASS_RE" "$T/tty.out"
check_grep "terminal: setup finished" '^exit 0' "$T/tty.out"
check_grep "terminal: the configuration was written" '^user = bob$' "$T/etc/tty.conf"
e2e_finish
