#!/bin/sh
# relayq demo (`make demo`): a throwaway SMTP smarthost on 127.0.0.1 with
# STARTTLS and AUTH (certificates from a test CA made on the spot), a config
# pointing relayq at it, one message through `sendmail -t -i` as PHP's mail()
# sends it, the queue, the delivery, and what the smarthost received.
# Everything lives in one temp dir that is removed at the end.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"

step=0
if [ -t 1 ]; then
	BOLD=$(printf '\033[1m') PLAIN=$(printf '\033[0m')
else
	BOLD='' PLAIN=''
fi
heading() {
	step=$((step + 1))
	printf '\n%s== %d. %s%s\n' "$BOLD" "$step" "$*" "$PLAIN"
}
indent() { sed 's/^/    /'; }
show() { # show a command line the way the user would type it
	printf '    $ %s\n' "$*"
}

e2e_init >/dev/null
printf 'relayq demo: one message from PHP-style sendmail to an SMTP smarthost\n'
printf '(scratch dir %s, removed at the end)\n' "$T"

heading "A throwaway smarthost: 127.0.0.1, STARTTLS, AUTH as alice"
make_certs
start_tls_smarthost demo >/dev/null
printf '    listening on 127.0.0.1:%s, certificate from a test CA (%s)\n' \
	"$SH_PORT" "$T/ca.pem"

heading "relayq's configuration"
CONF=$T/relayq.conf
write_config "$CONF"
indent <"$CONF"

heading "A message through sendmail, as PHP's mail() sends it"
{
	printf 'To: bob@example.org\r\n'
	printf 'Subject: Hello from relayq\r\n'
	printf 'X-Mailer: PHP/8.2.0\r\n'
	printf '\r\n'
	printf 'Hi Bob,\n\nthis went through sendmail -t -i, the queue and STARTTLS.\n\n-- \nrelayq\n'
} >"$T/message"
show "sendmail -C relayq.conf -t -i -odq < message    # -odq: just queue it, for the demo"
tr -d '\r' <"$T/message" | sed 's/^/    > /'
sm -C "$CONF" -t -i -odq <"$T/message" ||
	die "sendmail failed (exit $RC): $(cat "$ERR")"

heading "The queue (mailq)"
show "RELAYQ_CONFIG=relayq.conf mailq"
mailq_of "$CONF" || die "mailq failed (exit $RC): $(cat "$ERR")"
indent <"$OUT"
grep -q 'bob@example.org' "$OUT" ||
	printf '    (WARNING: the queued message should be listed here)
'

heading "Delivery: one queue run"
show "sendmail -C relayq.conf -q"
sm -C "$CONF" -q || die "sendmail -q failed (exit $RC): $(cat "$ERR")"
wait_for 1 >/dev/null || die "the message did not reach the smarthost"
printf '    done\n'

heading "The queue again"
show "RELAYQ_CONFIG=relayq.conf mailq"
mailq_of "$CONF" || die "mailq failed (exit $RC): $(cat "$ERR")"
indent <"$OUT"

heading "What the smarthost received"
M=$(mt find "$SH_RX" "Hello from relayq" | head -n 1)
[ -n "$M" ] || die "no message with the demo's subject at the smarthost"
printf '    connection:  %s, %s\n' \
	"$(jget "$M.json" tls_version)" "AUTH as $(jget "$M.json" auth_login)"
printf '    MAIL FROM:   <%s>\n' "$(jget "$M.json" mail_from)"
for r in $(jget "$M.json" rcpt_tos); do
	printf '    RCPT TO:     <%s>\n' "$r"
done
printf '    message (%s bytes):\n' "$(jget "$M.json" size)"
tr -d '\r' <"$M.eml" | sed 's/^/    | /'

printf '\nrelayq demo: OK\n'
e2e_finish >/dev/null
