#!/bin/sh
# relayq e2e: mailq / sendmail -bp output, Postfix style.
#  - an empty queue prints exactly "Mail queue is empty"
#  - with the smarthost down (a loopback port that refuses), two messages
#    queued and one delivery pass: mailq lists both with upper-case hex IDs,
#    sizes, arrival time (the local time of now), sender, the deferral
#    reason in parentheses and the recipients indented by 41 spaces, a
#    blank line between messages, then
#    "<TAB><TAB>Total requests: 2" and last "-- N Kbytes in 2 Requests."
#  - `sendmail -bp` prints the same bytes
#  - once a smarthost is reachable, `relayq queue flush` empties the queue
#  - a queue run that cannot pick up mail (an unsafe aliases file) records
#    why, and mailq says so on stderr (stdout unchanged) until a run picks
#    everything up
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
down_port DOWN_PORT
CONF=$T/relayq.conf
write_config "$CONF" port="$DOWN_PORT" tls=none ca_file= user=

check_queue_empty "fresh spool: mailq prints exactly 'Mail queue is empty'" "$CONF"
sm -C "$CONF" -bp
check_eq "fresh spool: sendmail -bp prints exactly 'Mail queue is empty'" \
	"0:Mail queue is empty" "$RC:$(cat "$OUT")"

printf 'To: bob@example.org\nSubject: first\n\nfirst message\n' >"$T/msg1"
sm -C "$CONF" -odq -i -f alice@example.test bob@example.org <"$T/msg1"
expect_rc "queue message 1" 0
mt gen-body "$T/body2" 3000
{
	printf 'To: carol@example.org, dave@example.org\nSubject: second\n\n'
	cat "$T/body2"
} >"$T/msg2"
sm -C "$CONF" -odq -t -i -f zed@example.test <"$T/msg2"
expect_rc "queue message 2" 0
sm -C "$CONF" -q
note "sendmail -q with the smarthost down: exit $RC"
check_match "sendmail -q exit code is 0 or 75" '^(0|75)$' "$RC"

mailq_of "$CONF"
expect_rc "mailq" 0
cp "$OUT" "$T/mailq.out"
say "# mailq output:"
sed 's/^/#   /' "$T/mailq.out"
mt mailq "$T/mailq.out" >"$T/mailq.parsed"
sed 's/^/#   parsed: /' "$T/mailq.parsed"
check_no_grep "mailq output is well-formed (see parsed: error lines)" '^error:' "$T/mailq.parsed"
check_eq "first line is the Postfix header" \
	"-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------" \
	"$(head -n 1 "$T/mailq.out")"
check_eq "two entries" "entries 2" "$(grep '^entries' "$T/mailq.parsed")"
check_eq "Total requests line" "total 2" "$(grep '^total' "$T/mailq.parsed")"
check_eq "'<TAB><TAB>Total requests: 2' verbatim" 1 \
	"$(grep -c "$(printf '^\t\tTotal requests: 2$')" "$T/mailq.out")"
check_match "last line is '-- N Kbytes in 2 Requests.'" '^-- [0-9]+ Kbytes in 2 Requests\.$' \
	"$(tail -n 1 "$T/mailq.out")"

# Per entry: id, size, sender, reason, recipients.  The parsed output has
# "entry ID STATUS SIZE DATE|SENDER", then "reason ..." and "rcpt ..." lines.
awk '/^entry /{ if (e) print e; split($0, a, "|"); e = $2 " " $4 " " a[2] " R=" }
     /^reason /{ r = substr($0, 8); e = e "[" r "]" }
     /^rcpt /{ e = e " " $2 }
     END { if (e) print e }' "$T/mailq.parsed" >"$T/entries"
sed 's/^/#   entry: /' "$T/entries"
# The arrival time: local time of now (no year, no zone: the day of week
# and the nearest year tell which).
sed -n 's/^entry [^ ]* [^ ]* [^ ]* \(.*\)|.*/\1/p' "$T/mailq.parsed" >"$T/arrivals"
check_eq "an arrival time per entry" 2 "$(grep -c . "$T/arrivals")"
while IFS= read -r a; do
	_r=$(mt asctime-near "$a" "$(date +%s)" "$E2E_DATE_SLACK")
	case $_r in
	ok\ *) ok "arrival time '$a': the local time of now" ;;
	*) check_fail "arrival time is the local time of now" "within ${E2E_DATE_SLACK}s" "$_r" ;;
	esac
done <"$T/arrivals"
ids=$(cut -d' ' -f1 "$T/entries")
check_eq "queue IDs are distinct" 2 "$(printf '%s\n' "$ids" | sort -u | grep -c .)"
for id in $ids; do
	check_match "queue ID $id is upper-case hex" '^[0-9A-F]+$' "$id"
done
E1=$(grep ' alice@example\.test R=' "$T/entries")
E2=$(grep ' zed@example\.test R=' "$T/entries")
check_match "message 1: sender alice@example.test, recipient bob" \
	' alice@example\.test R=.* bob@example\.org$' "$E1"
check_match "message 2: sender zed@example.test, recipients carol and dave" \
	' zed@example\.test R=.* carol@example\.org dave@example\.org$|dave@example\.org carol@example\.org$' "$E2"
for e in "$E1" "$E2"; do
	case $e in
	*"R=["*) ok "deferral reason shown for $(echo "$e" | cut -d' ' -f3)" ;;
	*) check_fail "deferral reason in parentheses for $(echo "$e" | cut -d' ' -f3)" "(reason)" "$e" ;;
	esac
	check_match "the reason says the connection was refused" '[Rr]efused|[Cc]onnect' "$e"
done
S1=$(echo "$E1" | cut -d' ' -f2)
S2=$(echo "$E2" | cut -d' ' -f2)
L1=$(wc -c <"$T/msg1" | tr -d ' ')
L2=$(wc -c <"$T/msg2" | tr -d ' ')
if [ "${S1:-0}" -ge "$L1" ] && [ "${S1:-0}" -lt $((L1 + 4096)) ]; then
	ok "message 1 size $S1 is about the submitted $L1 bytes"
else
	check_fail "message 1 size" "$L1 .. $((L1 + 4095))" "${S1:-none}"
fi
if [ "${S2:-0}" -ge "$L2" ] && [ "${S2:-0}" -lt $((L2 + 4096)) ]; then
	ok "message 2 size $S2 is about the submitted $L2 bytes"
else
	check_fail "message 2 size" "$L2 .. $((L2 + 4095))" "${S2:-none}"
fi
K=$(sed -n 's/^summary \([0-9]*\) .*/\1/p' "$T/mailq.parsed")
TOT=$((${S1:-0} + ${S2:-0}))
check_match "Kbytes = total size / 1024 (rounded either way; total $TOT)" \
	"^($((TOT / 1024))|$(((TOT + 1023) / 1024)))\$" "$K"

sm -C "$CONF" -bp
expect_rc "sendmail -bp" 0
if cmp -s "$T/mailq.out" "$OUT"; then
	ok "sendmail -bp output identical to mailq"
else
	check_fail "sendmail -bp output identical to mailq"
	diff "$T/mailq.out" "$OUT" | head -n 20
fi

# The smarthost comes up: flush delivers both, the queue is empty.
start_smarthost up --mode plain
write_config "$CONF" tls=none ca_file= user=
rq -C "$CONF" queue flush
expect_rc "relayq queue flush" 0
wait_for 2 || die "queued messages not delivered after flush"
M1=$(msg_by_subject first) && check_eq "flushed 1: sender" alice@example.test \
	"$(jget "$M1.json" mail_from)"
M2=$(msg_by_subject second) && check_eq "flushed 2: recipients" \
	"carol@example.org dave@example.org" "$(rcpts "$M2")"
check_queue_empty "after flush: mailq prints exactly 'Mail queue is empty'" "$CONF"
sm -C "$CONF" -bp
check_eq "after flush: sendmail -bp prints exactly 'Mail queue is empty'" \
	"0:Mail queue is empty" "$RC:$(cat "$OUT")"

# --- a pickup problem reaches mailq (stderr) until the next full pickup -----
# A group-writable aliases file stops pickup (for root too): the runner
# records why in the spool and mailq says so before the listing.
printf 'root: bob@example.org\n' >"$T/aliases"
chmod 0666 "$T/aliases"
sed "s|^\\[local\\]\$|[local]\\naliases = $T/aliases|" "$CONF" >"$T/aliases.conf"
printf 'Subject: third\n\nthird message\n' >"$T/msg3"
sm -C "$T/aliases.conf" -odq -i root <"$T/msg3"
expect_rc "queue message 3" 0
sm -C "$T/aliases.conf" -q
check_grep "the runner logs why mail waits" 'group- or world-writable' "$ERR"
mailq_of "$T/aliases.conf"
expect_rc "mailq with a pickup problem" 0
check_match "mailq: the pickup problem on stderr" \
	'^-- warning: the queue run cannot pick up mail: .*aliases.*group- or world-writable.* \(see relayq\(8\)\)$' \
	"$(cat "$ERR")"
check_grep "mailq: the waiting message is still listed (stdout)" '^-- [0-9]+ Kbytes in 1 Request\.$' "$OUT"
check_no_grep "mailq: no note on stdout" 'warning' "$OUT"
chmod 0644 "$T/aliases"
sm -C "$T/aliases.conf" -q
expect_rc "the aliases file fixed: a queue run" 0
wait_for 3 || die "message 3 not delivered once the aliases file was fixed"
mailq_of "$T/aliases.conf"
check_eq "problem gone: mailq says nothing more on stderr" "" "$(cat "$ERR")"
check_queue_empty "problem gone: the queue is empty" "$T/aliases.conf"
e2e_finish
