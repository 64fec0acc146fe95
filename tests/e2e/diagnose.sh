#!/bin/sh
# relayq e2e: `relayq test` reports every step with its time (name
# resolution, connect, greeting, EHLO, STARTTLS, TLS with the server's
# certificate, AUTH mechanisms and result, and with --send the message and
# the server's reply), exits 0 only when all of it worked, and names each
# usual mistake with its fix: implicit TLS against a STARTTLS port, a
# STARTTLS config against an implicit-TLS port (no greeting), no STARTTLS
# offered, a certificate for another name, an unknown CA, a wrong password
# (535), AUTH required (530), a sender the account does not own (550 to
# MAIL FROM), nothing listening; an unknown route. --json gives the same
# as one JSON object. Nothing is queued. Exit 75 when the session could
# not be set up, 69 when the server refused the test message.
# (Fixed ports 465, 587 and 25: diagnose_ports.sh.)
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./netns_lib.sh
. "$RELAYQ_E2E_DIR/netns_lib.sh"
e2e_init
make_certs
RQ=$RELAYQ_SBIN/relayq

start_tls_smarthost good
GOOD=$SH_PORT GOOD_RX=$SH_RX
start_smarthost smtps --mode smtps --cert "$T/server.pem" --key "$T/server.key" \
	--auth "alice:$E2E_PASS"
SMTPS=$SH_PORT
start_smarthost nostarttls --mode starttls --no-starttls --cert "$T/server.pem" \
	--key "$T/server.key"
NOSTARTTLS=$SH_PORT
start_tls_smarthost othername --cert "$T/othername-server.pem" \
	--key "$T/othername-server.key"
OTHERNAME=$SH_PORT
start_tls_smarthost wrongca --cert "$T/wrong-server.pem" --key "$T/wrong-server.key"
WRONGCA=$SH_PORT
start_smarthost gone --mode plain
GONE=$SH_PORT
stop_smarthost "$SH_PID"

# diag NAME EXPECTED_RC [write_config settings...] -- [test arguments]:
# write $T/NAME.conf, run relayq test with it; $T/NAME.out has stdout and
# stderr.
diag() {
	_n=$1 _want=$2
	shift 2
	_k=0
	for _a in "$@"; do
		[ "$_a" = -- ] && break
		_k=$((_k + 1))
	done
	_l= _i=1
	while [ $_i -le $_k ]; do
		_l="$_l \"\${$_i}\""
		_i=$((_i + 1))
	done
	eval "write_config \"\$T/\$_n.conf\" $_l"
	shift $_k
	[ $# -gt 0 ] && shift
	run "$RQ" -C "$T/$_n.conf" test "$@"
	cat "$OUT" "$ERR" >"$T/$_n.out"
	expect_rc "$_n: relayq test" "$_want"
}

# --- everything works -----------------------------------------------------------
diag good 0 port="$GOOD"
for step in resolve connect greeting EHLO STARTTLS TLS 'AUTH mechanism' AUTH; do
	check_grep "good: an ok line for $step, with its time" \
		"^  ok +$step +[0-9]+ ms  " "$T/good.out"
done
check_grep "good: every address the name has" 'resolve .* localhost: [0-9a-f.:, ]+$' "$T/good.out"
check_grep "good: TLS version and cipher" 'TLSv1\.[23] with cipher ' "$T/good.out"
check_grep "good: certificate subject" 'certificate subject: CN=localhost' "$T/good.out"
check_grep "good: the names (SANs)" 'names: localhost, 127\.0\.0\.1' "$T/good.out"
check_grep "good: the issuer" 'issuer: CN=relayq e2e test ca' "$T/good.out"
check_grep "good: the expiry" 'expires: 20[0-9-]+ [0-9:]+ UTC' "$T/good.out"
check_grep "good: verification ok" 'verification: ok' "$T/good.out"
check_grep "good: certificate for 2 days: expiry warning" \
	'warning: .*expires in less than 14 days' "$T/good.out"
check_grep "good: mechanisms offered and chosen" \
	'AUTH mechanism .*offered: PLAIN LOGIN; chosen: PLAIN' "$T/good.out"
check_grep "good: the AUTH result" 'AUTH .* 235 .*\(as alice\)' "$T/good.out"
check_grep "good: the verdict" '^relayq test: ok: route default works' "$T/good.out"
check_eq "good: nothing was sent" 0 "$(received_count "$GOOD_RX")"

diag send 0 port="$GOOD" -- --send bob@example.org --from me@example.test
for step in 'MAIL FROM' 'RCPT TO' DATA message; do
	check_grep "send: an ok line for $step" "^  ok +$step " "$T/send.out"
done
check_grep "send: the server's reply to the message" 'message .* 250 2\.0\.0 OK queued as' \
	"$T/send.out"
wait_for 1 "$E2E_WAIT" "$GOOD_RX"
M=$(mt find "$GOOD_RX" "relayq test message from relayq.test")
check_eq "send: the test message arrived, from --from" "me@example.test" \
	"$(jget "$M.json" mail_from)"
check_eq "send: to the address given" "bob@example.org" "$(rcpts "$M")"
check_queue_empty "send: nothing was queued" "$T/send.conf"
check_eq "send: one connection for the plain test, one for --send" 2 "$(connections "$GOOD_RX")"

diag json 0 port="$GOOD" -- --json
if "$RELAYQ_PYTHON" - "$OUT" >"$T/json.check" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and d["route"] == "default", d
steps = [s["step"] for s in d["steps"]]
assert steps[:3] == ["resolve", "connect", "greeting"], steps
assert "TLS" in steps and steps[-1] == "AUTH", steps
assert all(isinstance(s["ms"], int) for s in d["steps"])
c = d["certificate"]
assert c["subject"] == "CN=localhost" and c["verified"] is True, c
assert d["error"] is None and d["advice"] is None, d
PY
then ok "json: one object with the steps, the certificate, no error"
else check_fail "json: one object with the steps, the certificate, no error" "" "$(cat "$T/json.check")"
fi

# --- the usual mistakes -----------------------------------------------------------
diag smtps_on_starttls 75 port="$GOOD" tls=smtps
check_grep "implicit TLS to a STARTTLS port: the handshake fails" \
	'FAIL TLS .*handshake failed' "$T/smtps_on_starttls.out"
check_grep "implicit TLS to a STARTTLS port: named, with the fix" \
	'advice: port [0-9]+ speaks plain SMTP first .*use tls = starttls' \
	"$T/smtps_on_starttls.out"

diag starttls_on_smtps 75 port="$SMTPS" extra="timeout = 2s"
check_grep "STARTTLS config to an implicit-TLS port: no greeting" \
	'FAIL greeting .*timed out after 2s' "$T/starttls_on_smtps.out"
check_grep "STARTTLS config to an implicit-TLS port: the fix" \
	'advice: the server sent no greeting within 2 s: .*use tls = smtps' \
	"$T/starttls_on_smtps.out"

diag nostarttls 75 port="$NOSTARTTLS" user=
check_grep "no STARTTLS offered: named, with the fix" \
	'advice: the server does not offer STARTTLS on port [0-9]+.*tls = smtps' \
	"$T/nostarttls.out"

diag othername 75 port="$OTHERNAME"
check_grep "certificate for another name: verification says so" \
	'verification: hostname mismatch' "$T/othername.out"
check_grep "certificate for another name: shows the names it has" \
	'advice: the certificate is for another name: it has other\.test, not localhost' \
	"$T/othername.out"
check_no_grep "certificate for another name: no AUTH tried" '^  (ok|FAIL) +AUTH' \
	"$T/othername.out"

diag wrongca 75 port="$WRONGCA"
check_grep "unknown CA: names the issuer and ca_file" \
	"advice: the certificate's issuer \\(CN=relayq e2e test wrongca\\) is not a CA this system trusts.*ca_file =" \
	"$T/wrongca.out"
check_grep "unknown CA: offers the pin" 'fingerprint = sha256:[0-9A-F:]{95}' "$T/wrongca.out"

diag wrongpw 75 port="$GOOD" user=alice@example.test password=not-it
check_grep "535: the AUTH line fails with the code" 'FAIL AUTH .*535' "$T/wrongpw.out"
check_grep "535: wrong user or password, try the local part" \
	'advice: the server refused the user name or the password \(535\).*try user = alice' \
	"$T/wrongpw.out"

diag mustauth 69 port="$GOOD" user= -- --send bob@example.org
check_grep "no user, AUTH offered: a warning" 'warning: the server offers AUTH but no user' \
	"$T/mustauth.out"
check_grep "530: MAIL FROM fails" 'FAIL MAIL FROM .*530' "$T/mustauth.out"
check_grep "530: must authenticate, the fix" 'advice: the server wants you to log in first' \
	"$T/mustauth.out"

# 550 to MAIL FROM: the account may not send as that sender.
cat >"$T/notowner.script" <<'JSON'
{"mail": [["send", "550 5.7.60 Client does not have permissions to send as this sender\r\n"]]}
JSON
"$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/scripted.py" serve --script "$T/notowner.script" \
	--outdir "$T/notowner.rx" --port-file "$T/notowner.port" \
	--log "$T/notowner.smarthost.log" --mode starttls --cert "$T/server.pem" \
	--key "$T/server.key" --lifetime 300 >/dev/null 2>"$T/notowner.smarthost.err" &
SH_PIDS="$SH_PIDS $!"
_i=0
while [ ! -s "$T/notowner.port" ] && [ $_i -lt 200 ]; do nap; _i=$((_i + 1)); done
diag notowner 69 port="$(cat "$T/notowner.port")" user=alice@example.test -- \
	--send bob@example.org --from boss@other.test
check_grep "550 to MAIL FROM: the step fails" 'FAIL MAIL FROM .*550' "$T/notowner.out"
check_grep "550 to MAIL FROM: the account does not own that sender" \
	'advice: the server refuses the sender <boss@other\.test> \(550\): the account alice@example\.test does not own that address' \
	"$T/notowner.out"

diag refused 75 port="$GONE" user= tls=none tls_verify= ca_file=
check_grep "nothing listens: named" 'advice: nothing listens on port [0-9]+ of localhost' \
	"$T/refused.out"

diag badroute 64 port="$GOOD" -- nosuch
check_grep "an unknown route is named" 'no route named "nosuch"' "$T/badroute.out"
diag all 0 port="$GOOD" -- --all
check_grep "--all tests the default route" 'route default works' "$T/all.out"

# --- routes: [smarthost NAME] by name, and --all tests every route ----------------
write_config "$T/routes.conf" port="$GOOD"
printf '[smarthost gone]\nhost = localhost\nport = %s\ntls = none\n' "$GONE" \
	>>"$T/routes.conf"
run "$RQ" -C "$T/routes.conf" test gone
cat "$OUT" "$ERR" >"$T/gone.out"
expect_rc "a named route: relayq test gone" 75
check_grep "the named route is the one tested" "route gone: localhost port $GONE" \
	"$T/gone.out"
run "$RQ" -C "$T/routes.conf" test --all
cat "$OUT" "$ERR" >"$T/allroutes.out"
expect_rc "--all with a route down" 75
check_grep "--all: the default route works" 'route default works' "$T/allroutes.out"
check_grep "--all: the named route is tested too" "route gone: localhost port $GONE" \
	"$T/allroutes.out"
run "$RQ" -C "$T/routes.conf" test nosuch
expect_rc "an unknown route among several" 64
check_grep "the routes there are are listed" '\(routes: default gone\)' "$ERR"
e2e_finish
