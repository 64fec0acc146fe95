#!/bin/bash
# relayq e2e: failover (fallback = NAME). When a route's smarthost cannot
# be reached (connect refused, a 421 greeting) the message goes through
# the next route of the chain in the same run; never after the smarthost
# refused it (550 to RCPT: the sender gets the bounce, the fallback sees
# nothing), and never through a route whose senders do not admit the
# sender (the message waits).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./faults_lib.sh
. "$RELAYQ_E2E_DIR/faults_lib.sh"
e2e_init
T0=$T
: >"$T0/pids"
make_certs
start_tls_smarthost main
MAIN_PORT=$SH_PORT MAIN_RX=$SH_RX
start_smarthost backup --mode plain
BACKUP_PORT=$SH_PORT BACKUP_RX=$SH_RX
start_smarthost other --mode plain
OTHER_PORT=$SH_PORT OTHER_RX=$SH_RX
start_scripted greet421 '{"greeting": [["send", "421 4.3.2 too busy, go away\r\n"], ["close"]]}' --mode plain
G421_PORT=$SH_PORT
start_scripted refuser '{"rcpt": [["send", "550 5.1.1 no such user here\r\n"]]}' --mode plain
REFUSER_PORT=$SH_PORT REFUSER_RX=$SH_RX
DEAD_PORT=$(mt free-port) || die "no free port"

# route NAME PORT [SENDERS [FALLBACK]]: a plain [smarthost NAME] section.
route() {
	printf '\n[smarthost %s]\nhost = 127.0.0.1\nport = %s\ntls = none\n' "$1" "$2"
	[ -n "${3:-}" ] && printf 'senders = %s\n' "$3"
	[ -n "${4:-}" ] && printf 'fallback = %s\n' "$4"
	return 0
}
CONF=$T/relayq.conf
write_config "$CONF" port="$MAIN_PORT" extra="$(
	route primary "$DEAD_PORT" '*@shop.example' backup
	route busy "$G421_PORT" '*@busy.example' backup
	route refuser "$REFUSER_PORT" '*@refuse.example' backup
	route strict "$DEAD_PORT" '*@strict.example' other
	route other "$OTHER_PORT" '*@other.example'
	route backup "$BACKUP_PORT"
)"

send() { # SENDER SUBJECT
	printf 'Subject: %s\n\nbody\n' "$2" >"$T/msg"
	sm -C "$CONF" -odq -f "$1" rcpt@example.org <"$T/msg"
	expect_rc "queue a message from $1" 0
}
send orders@shop.example "primary down"
send info@busy.example "primary busy"
send info@refuse.example "refused"
send info@strict.example "no admissible fallback"
sm -C "$CONF" -q
expect_rc "one queue run" 0
wait_for 2 "$E2E_WAIT" "$BACKUP_RX" || true
wait_for 1 "$E2E_WAIT" "$MAIN_RX" || true	# the bounce of "refused"
nap

B=$(msg_by_subject "primary down" "$BACKUP_RX") &&
	check_eq "connect refused: carried by the fallback" orders@shop.example \
		"$(jget "$B.json" mail_from)"
B=$(msg_by_subject "primary busy" "$BACKUP_RX") &&
	check_eq "421 greeting: carried by the fallback" info@busy.example \
		"$(jget "$B.json" mail_from)"
check_grep "the busy smarthost said 421" "S: 421 4.3.2" "$T/greet421.smarthost.log"
check_eq "the fallback got exactly those two" 2 "$(received_count "$BACKUP_RX")"
check_grep "the refuser said 550 to RCPT" "S: 550 5.1.1" "$T/refuser.smarthost.log"
check_eq "after a 550, no fallback" 0 "$(mt find "$BACKUP_RX" refused | wc -l | tr -d ' ')"
check_eq "the sender got the bounce" 1 "$(received_count "$MAIN_RX")"
check_eq "a fallback whose senders do not admit the sender is not used" 0 \
	"$(received_count "$OTHER_RX")"
mailq_of "$CONF"
check_grep "that message waits, with the route's reason" 'info@strict\.example' "$OUT"
check_grep "the reason is the unreachable route's" "127\.0\.0\.1.*:$DEAD_PORT" "$OUT"
check_eq "one connection to the fallback for both" 1 "$(connections "$BACKUP_RX")"
e2e_finish
