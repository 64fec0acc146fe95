#!/bin/sh
# relayq e2e: password_command. The runner runs it (no shell unless the
# value starts with "sh -c"), takes its trimmed output as the password or
# OAuth2 access token, and runs it again when the server refuses the
# token as expired (XOAUTH2 and OAUTHBEARER: 334 error challenge, then
# 535). A command that fails, prints nothing or overruns its deadline
# defers the mail with the reason; its output is never shown or logged.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main --oauth "alice:good-token-2"

# A token helper: the first token it hands out has expired.
cat >"$T/token-helper" <<EOH
#!/bin/sh
n=\$(cat "$T/calls" 2>/dev/null || echo 0)
n=\$((n + 1))
echo "\$n" >"$T/calls"
if [ "\$n" -eq 1 ]; then printf '  expired-token-1 \n'; else echo good-token-2; fi
EOH
chmod +x "$T/token-helper"

msg() { printf 'Subject: %s\n\nbody\n' "$1" >"$T/msg"; }
for mech in xoauth2 oauthbearer; do
	rm -f "$T/calls"
	CONF=$T/$mech.conf
	write_config "$CONF" user= extra="user = alice
auth = $mech
password_command = $T/token-helper"
	msg "via $mech"
	sm -C "$CONF" -odq rcpt@example.org <"$T/msg"
	sm -C "$CONF" -q -v
	expect_rc "$mech: queue run" 0
	B=$(mt find "$SH_RX" "via $mech")
	if [ -n "$B" ]; then
		check_eq "$mech: delivered with the fresh token" \
			"$(echo "$mech" | tr '[:lower:]' '[:upper:]')" "$(jget "$B.json" auth_mechanism)"
	else
		check_fail "$mech: delivered"
	fi
	check_eq "$mech: the helper ran twice (expired, then fresh)" 2 "$(cat "$T/calls")"
	check_grep "$mech: the server refused the first token" "token refused" "$SH_LOG"
	check_no_grep "$mech: -v shows no token" "expired-token-1|good-token-2" "$ERR"
done

# "sh -c": the rest goes to the shell as one argument.
CONF=$T/sh.conf
write_config "$CONF" user= extra="user = alice
auth = xoauth2
password_command = sh -c printf ' %s\n' good-token-2"
msg "via sh -c"
sm -C "$CONF" -odq rcpt@example.org <"$T/msg"
sm -C "$CONF" -q
check_eq "sh -c: delivered" 1 "$(mt find "$SH_RX" "via sh -c" | grep -c .)"

# Failures: the mail waits with the reason, the output is never shown.
fail_case() { # NAME COMMAND EXPECTED_REASON_ERE [timeout]
	CONF=$T/$1.conf
	rm -rf "$T/spool.$1"
	mkdir "$T/spool.$1"
	write_config "$CONF" user= spool="$T/spool.$1" extra="user = alice
auth = xoauth2
password_command = $2${4:+
timeout = $4}"
	msg "fail $1"
	sm -C "$CONF" -odq rcpt@example.org <"$T/msg"
	sm -C "$CONF" -q
	expect_rc "$1: the run itself succeeds" 0
	mailq_of "$CONF"
	check_grep "$1: the mail waits with the reason" "$3" "$OUT"
	check_no_grep "$1: its output is not shown" "LEAKED-SECRET" "$OUT"
}
printf '#!/bin/sh\necho LEAKED-SECRET\nexit 3\n' >"$T/fails"
printf '#!/bin/sh\nexit 0\n' >"$T/silent"
chmod +x "$T/fails" "$T/silent"
fail_case status "$T/fails" "password_command .*fails: exited with status 3"
fail_case empty "$T/silent" "password_command .*silent: printed nothing"
fail_case missing "$T/no-such-helper" "password_command .*no-such-helper: exited with status 127"
start=$(date +%s)
fail_case deadline "sh -c echo LEAKED-SECRET; sleep 30" "no answer within 2 s \(killed\)" 2s
check_match "the deadline ended the wait" '^[0-9]$|^1[0-9]$' "$(($(date +%s) - start))"
check_no_grep "no command output holds the tokens" "expired-token-1|good-token-2|LEAKED-SECRET" \
	"$T/commands.log"
e2e_finish
