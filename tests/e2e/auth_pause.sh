#!/bin/sh
# relayq e2e: a smarthost that refuses the password (535 5.7.8).
#  1. the refusal is logged as an authentication failure naming the
#     route, the user and the server's reply (not "smarthost
#     unavailable"); the mail is deferred, not bounced.
#  2. the 2nd refusal in a row pauses the route: logged with its end,
#     mailq says so on stderr (stdout still lists the message), and runs
#     meanwhile do not connect at all; the message stays queued.
#  3. once the pause is over (its end moved into the past in the state
#     file) the route is tried again: a 3rd refusal, a longer pause.
#  4. relayq queue flush lifts the pause and tries at once.
#  5. with the right password (a changed configuration) it is delivered
#     and the route's memory is gone.
#  6. with a fallback route: the two refusals defer (an account problem
#     is no reason to fall back), the pause then sends the mail through
#     the fallback smarthost in the next run, and mailq still reports
#     the pause.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
LOG=$T/relayq.log
CONF=$T/relayq.conf
STATE=$T/spool/state/authpause.default
write_config "$CONF" password=wrong-password
sed -i "/^\\[local\\]/a log = $LOG" "$CONF"

printf 'Subject: refused\n\nbody\n' >"$T/msg"
sm -C "$CONF" -odq bob@example.org <"$T/msg"
expect_rc "sendmail -odq" 0

# 1. the first refusal
sm -C "$CONF" -q
expect_rc "sendmail -q, wrong password" 0
check_eq "one connection" 1 "$(connections)"
check_grep "logged as an authentication failure" \
	"route default: authentication failed for user alice \\(1 in a row\\), mail deferred: .*535 5\\.7\\.8" "$LOG"
check_no_grep "not as an unavailable smarthost" "smarthost unavailable" "$LOG"
check_grep "the recipient is deferred" "to=<bob@example.org>, relay=none, .*status=deferred \\(.*535" "$LOG"

# 2. the second refusal pauses the route
sm -C "$CONF" -q
check_eq "two connections" 2 "$(connections)"
check_grep "the pause is logged with its end" \
	"authentication failed for user alice \\(2 in a row\\), route paused until [0-9-]+ [0-9:]+: .*535" "$LOG"
[ -f "$STATE" ] || die "no state file $STATE"
mailq_of "$CONF"
expect_rc "mailq" 0
check_grep "mailq says the route is paused, why and until when" \
	"^-- route default paused until [0-9-]+ [0-9:]+: the smarthost refused user alice 2 times in a row \\(last: .*535 5\\.7\\.8" "$ERR"
check_grep "mailq's stdout still lists the message" "bob@example.org" "$OUT"
check_no_grep "mailq's stdout has no note" "paused" "$OUT"
sm -C "$CONF" -q
expect_rc "sendmail -q while paused" 0
check_eq "while paused: no connection" 2 "$(connections)"
check_grep "while paused: deferred with the reason" \
	"status=deferred \\(route default paused until .* after 2 authentication failures of user alice" "$LOG"
mailq_of "$CONF"
check_grep "still queued, not bounced" "bob@example.org" "$OUT"
check_eq "no bounce queued" 1 "$(grep -c '^[0-9A-F]\{16\}' "$OUT")"

# 3. the pause over: tried again, a longer pause
sed -i 's/^until .*/until 1/' "$STATE"
sm -C "$CONF" -q
check_eq "after the pause: a connection" 3 "$(connections)"
check_grep "the third refusal: a longer pause" "\\(3 in a row\\), route paused until" "$LOG"
check_grep "state: three refusals" "^fails 3$" "$STATE"

# 4. relayq queue flush lifts it
rq -C "$CONF" queue flush
expect_rc "relayq queue flush" 0
check_eq "flush: tried at once" 4 "$(connections)"
check_grep "flush: logged" "route default: authentication failures forgotten \\(flush\\)" "$LOG"
check_grep "flush: counted from one again" "\\(1 in a row\\), mail deferred" "$LOG"

# 5. the right password: delivered, the memory gone
write_config "$CONF"
sed -i "/^\\[local\\]/a log = $LOG" "$CONF"
sm -C "$CONF" -q
expect_rc "sendmail -q, right password" 0
wait_for 1 || die "not delivered with the right password"
check_grep "delivered" "to=<bob@example.org>, relay=localhost.*status=sent" "$LOG"
[ -e "$STATE" ] && check_fail "the route's memory is gone" "no $STATE" "$(cat "$STATE")"
ok "the route's memory is gone"
check_queue_empty "queue empty" "$CONF"

# 6. paused with a fallback: carried by the fallback
MAIN_RX=$SH_RX MAIN_PORT=$SH_PORT
start_smarthost backup --mode plain
BACKUP_RX=$SH_RX
write_config "$CONF" password=wrong-password port="$MAIN_PORT" \
	extra="fallback = backup

[smarthost backup]
host = 127.0.0.1
port = $SH_PORT
tls = none"
sed -i "/^\\[local\\]/a log = $LOG" "$CONF"
printf 'Subject: via fallback\n\nbody\n' >"$T/msg"
sm -C "$CONF" -odq carol@example.org <"$T/msg"
expect_rc "sendmail -odq (with a fallback)" 0
sm -C "$CONF" -q
sm -C "$CONF" -q
check_eq "two refusals: two more connections" 7 "$(connections "$MAIN_RX")"
check_eq "a refusal is no reason to fall back" 0 "$(received_count "$BACKUP_RX")"
check_grep "the route is paused again" "\\(2 in a row\\), route paused until" "$LOG"
sm -C "$CONF" -q
expect_rc "sendmail -q while paused, with a fallback" 0
wait_for 1 "$E2E_WAIT" "$BACKUP_RX" || die "not carried by the fallback"
check_eq "while paused: no connection to the paused route" 7 \
	"$(connections "$MAIN_RX")"
check_eq "while paused: the fallback carried it" 1 "$(received_count "$BACKUP_RX")"
check_grep "logged as carried by the fallback of a paused route" \
	"route default is paused, carried by its fallback backup" "$LOG"
check_grep "the recipient's line names the fallback" \
	"to=<carol@example.org>, relay=127\\.0\\.0\\.1.*status=sent" "$LOG"
mailq_of "$CONF"
expect_rc "mailq after the fallback delivery" 0
check_grep "mailq still reports the pause" "^-- route default paused until" "$ERR"
check_queue_empty "queue empty after the fallback delivery" "$CONF"
e2e_finish
