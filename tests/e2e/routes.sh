#!/bin/sh
# relayq e2e: routes ([smarthost NAME] sections), one SMTP account each, on
# three smarthosts with different credentials. A message takes the first
# route whose `senders` match its envelope sender (user+tag@ matching
# user@), else the route of the submitting user's [user NAME] section,
# else the default; the route is stored in the envelope and shown by
# mailq, its JSON listing and `relayq queue show`; one connection per
# route per pass.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
ME=$(id -un)

start_tls_smarthost main
MAIN_RX=$SH_RX MAIN_PORT=$SH_PORT
start_smarthost shop --mode starttls --cert "$T/server.pem" \
	--key "$T/server.key" --auth "shopacct:shop-pw-1"
SHOP_PORT=$SH_PORT SHOP_RX=$SH_RX
start_smarthost news --mode starttls --cert "$T/server.pem" \
	--key "$T/server.key" --auth "newsacct:news-pw-2"
NEWS_PORT=$SH_PORT NEWS_RX=$SH_RX
DEAD_PORT=$(mt free-port) || die "no free port"

routes() { # [smarthost NAME] sections for write_config's extra=
	cat <<EOC

[smarthost shop]
host = localhost
port = $SHOP_PORT
ca_file = $T/ca.pem
user = shopacct
password = shop-pw-1
senders = *@shop.example, *@*.shop.example

[smarthost news]
host = localhost
port = $NEWS_PORT
ca_file = $T/ca.pem
user = newsacct
password = news-pw-2
senders = news@example.test

[smarthost down]
host = 127.0.0.1
port = $DEAD_PORT
tls = none
senders = *@down.example
EOC
}
CONF=$T/relayq.conf
write_config "$CONF" port="$MAIN_PORT" extra="$(routes)"
CONF_USER=$T/relayq-user.conf
write_config "$CONF_USER" port="$MAIN_PORT" extra="$(routes)
[user $ME]
route = shop"

send() { # CONF SENDER SUBJECT
	printf 'To: rcpt@example.org\nSubject: %s\n\nbody\n' "$3" >"$T/msg"
	sm -C "$1" -odq -f "$2" rcpt@example.org <"$T/msg"
	expect_rc "queue a message from $2" 0
}
send "$CONF" orders@shop.example "shop one"
send "$CONF" sales@eu.shop.example "shop subdomain"
send "$CONF" news+weekly@example.test "news tag"
send "$CONF" someone@other.example "default route"
send "$CONF_USER" someone@other.example "runner config decides"
send "$CONF" info@down.example "down route"
sm -C "$CONF" -q
expect_rc "one queue run" 0
wait_for 2 "$E2E_WAIT" "$SHOP_RX" &&
	wait_for 2 "$E2E_WAIT" "$MAIN_RX" && wait_for 1 "$E2E_WAIT" "$NEWS_RX" ||
	die "mail did not arrive"
nap

# where each one went, and as whom
on() { # SUBJECT RX ACCOUNT
	_b=$(msg_by_subject "$1" "$2") || return
	check_eq "'$1' went through account $3" "$3" "$(jget "$_b.json" auth_login)"
}
on "shop one" "$SHOP_RX" shopacct
on "shop subdomain" "$SHOP_RX" shopacct
on "news tag" "$NEWS_RX" newsacct
on "default route" "$MAIN_RX" alice
on "runner config decides" "$MAIN_RX" alice
check_eq "the shop's messages share one connection" 1 "$(connections "$SHOP_RX")"
check_eq "the default route's messages share one connection" 1 \
	"$(connections "$MAIN_RX")"

# The envelope keeps the route: the unreachable one shows it.
mailq_of "$CONF"
check_grep "mailq shows the route of a queued message" '^ +\(route down\)$' "$OUT"
mt mailq "$OUT" >"$T/parsed"
check_no_grep "mailq output still parses as Postfix's" '^error' "$T/parsed"
check_grep "mailq: the reason names the route's host" "127.0.0.1" "$OUT"
rq -C "$CONF" queue list --json
check_grep "JSON listing has the route" '"route": "down"' "$OUT"
ID=$(sed -n 's/.*"queue_id": "\([0-9A-F]*\)".*/\1/p' "$OUT")
rq -C "$CONF" queue show "$ID"
check_grep "queue show names the route" '^route: down$' "$OUT"

# The [user NAME] route applies when no route's senders match.
send "$CONF_USER" someone@other.example "user route 2"
sm -C "$CONF_USER" -q
wait_for 3 "$E2E_WAIT" "$SHOP_RX"
on "user route 2" "$SHOP_RX" shopacct

# A route that names a missing one, or that cannot be chosen, is refused
# by the runner; submission, which needs only [queue] and [local], queues
# and names the problem.
CONF_BAD=$T/relayq-bad.conf
write_config "$CONF_BAD" port="$MAIN_PORT" extra="$(routes)
[user $ME]
route = nowhere"
sm -C "$CONF_BAD" -odq rcpt@example.org <"$T/msg"
expect_rc "sendmail with [user] route = an unknown route: queued" 0
check_match "the problem names FILE:LINE and the key" \
	"relayq-bad.conf:[0-9]+: route: no \[smarthost nowhere\] section" "$(cat "$ERR")"
rq -C "$CONF_BAD" run
expect_rc "relayq run with [user] route = an unknown route" 78
check_match "the error names FILE:LINE and the key" \
	"relayq-bad.conf:[0-9]+: route: no \[smarthost nowhere\] section" "$(cat "$ERR")"
e2e_finish
