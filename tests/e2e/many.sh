#!/bin/sh
# relayq e2e: 200 messages queued with -odq, then one `sendmail -q`: all 200
# arrive exactly once, over a handful of connections (<= 5: relayq reuses
# one connection for many messages), and the queue is empty afterwards.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost many
CONF=$T/relayq.conf
write_config "$CONF"
COUNT=200

i=1
while [ $i -le $COUNT ]; do
	printf 'To: rcpt%d@example.org\nSubject: many %d\n\nmessage number %d\n' \
		"$i" "$i" "$i" >"$T/msg"
	sm -C "$CONF" -odq -t -i <"$T/msg"
	[ "$RC" = 0 ] || die "sendmail -odq for message $i: exit $RC: $(cat "$ERR")"
	i=$((i + 1))
done
ok "$COUNT messages queued with -odq"
check_eq "-odq delivered nothing" 0 "$(received_count)"

mailq_of "$CONF"
expect_rc "mailq with $COUNT queued" 0
mt mailq "$OUT" >"$T/mailq.parsed"
check_grep "mailq: $COUNT requests" "^summary [0-9]+ $COUNT\$" "$T/mailq.parsed"
check_eq "mailq: $COUNT entries" "entries $COUNT" "$(grep '^entries' "$T/mailq.parsed")"
check_no_grep "mailq output is well-formed" '^error:' "$T/mailq.parsed"

E2E_CMD_TIMEOUT=180
sm -C "$CONF" -q
expect_rc "sendmail -q" 0
check_eq "sendmail -q is silent when all goes well (cron mails any output)" "" \
	"$(cat "$OUT" "$ERR" | head -c 600)"
note "sendmail -q for $COUNT messages took $MS ms"
wait_for $COUNT 60 || die "not all messages arrived"
nap
check_eq "exactly $COUNT messages received" $COUNT "$(received_count)"

mt subjects "$SH_RX" | sort >"$T/subjects.got"
i=1
while [ $i -le $COUNT ]; do
	echo "many $i"
	i=$((i + 1))
done | sort >"$T/subjects.want"
if cmp -s "$T/subjects.want" "$T/subjects.got"; then
	ok "every message arrived exactly once"
else
	check_fail "every message arrived exactly once"
	diff "$T/subjects.want" "$T/subjects.got" | head -n 20
fi

# Envelope recipient matches the message, on a sample.
for k in 1 77 200; do
	M=$(msg_by_subject "many $k") || continue
	check_eq "message $k: envelope recipient" "rcpt$k@example.org" "$(rcpts "$M")"
	printf 'message number %d\n' "$k" >"$T/exp.body"
	check_body "message $k: body" "$T/exp.body" "$M.eml"
done

C=$(connections "$SH_RX")
note "$COUNT messages over $C connection(s)"
if [ "$C" -ge 1 ] && [ "$C" -le 5 ]; then
	ok "at most 5 connections ($C)"
else
	check_fail "messages sent over a handful of connections" "1..5" "$C"
fi
check_eq "every message authenticated as alice" "" \
	"$(for j in "$SH_RX"/*.json; do jget "$j" auth_login; done | grep -vx alice | head -n 3)"
check_queue_empty "queue empty afterwards" "$CONF"
check_no_cleartext "$SH_LOG"
e2e_finish
