#!/bin/sh
# relayq e2e: address verification, the JSON queue listing and selective
# queue runs.
#  - sendmail -bv prints sendmail-style lines, exit 65 when one address is
#    malformed, and queues nothing
#  - relayq queue list --json: one JSON object per message and line, in
#    the shape of Postfix's postqueue -j (maildrop, deferred, hold)
#  - sendmail -qR<domain> delivers only messages with a recipient in that
#    domain (end of the domain, any case), -qS<sender> by sender
#    substring, -qI<substring> by queue id substring; the rest stay queued
#  - sendmail -q and -qf attempt every queued message at once, ignoring
#    retry times (a deferred message goes out as soon as the smarthost is
#    fixed), held messages excepted; relayq run keeps the retry schedule
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
down_port DOWN_PORT
CONF=$T/relayq.conf
write_config "$CONF" port="$DOWN_PORT" tls=none ca_file= user=

# --- sendmail -bv --------------------------------------------------------------
sm -C "$CONF" -bv root 'Bob <bob@Example.ORG>, carol@example.net'
expect_rc "sendmail -bv with good addresses" 0
check_eq "sendmail -bv lines" \
	"root@example.test... deliverable: mailer relay, host localhost
bob@Example.ORG... deliverable: mailer relay, host localhost
carol@example.net... deliverable: mailer relay, host localhost" "$(cat "$OUT")"
sm -C "$CONF" -bv good@example.org 'bad<addr'
expect_rc "sendmail -bv with a malformed address" 65
check_eq "sendmail -bv: one line each, the bad one malformed" \
	"good@example.org... deliverable: mailer relay, host localhost
bad<addr... malformed address" "$(cat "$OUT")"
sm -C "$CONF" -bv
expect_rc "sendmail -bv without addresses" 64
check_queue_empty "sendmail -bv queued nothing" "$CONF"
check_eq "sendmail -bv left the maildrop empty" "" \
	"$(ls "$T/spool/maildrop" 2>/dev/null)"

# --- five messages, queued while the smarthost is down ---------------------------
q() { # SUBJECT SENDER RCPT...
	_s=$1 _f=$2
	shift 2
	printf 'Subject: %s\n\n%s\n' "$_s" "$_s" >"$T/msg"
	sm -C "$CONF" -odq -i -f "$_f" "$@" <"$T/msg"
	expect_rc "queue '$_s'" 0
}
q one s1@example.test a@one.example
q two s2@example.test b@two.example
q three s3@example.test c@Sub.ONE.example d@two.example
q four zed@example.test e@four.example
q five amy@example.test f@five.example

rq -C "$CONF" queue list --json
expect_rc "relayq queue list --json (maildrop)" 0
cp "$OUT" "$T/json1"
"$RELAYQ_PYTHON" - "$T/json1" "$(date +%s)" "$E2E_DATE_SLACK" >"$T/json1.check" 2>&1 <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
now, slack = int(sys.argv[2]), int(sys.argv[3])
assert len(lines) == 5, "want 5 lines, got %d" % len(lines)
for l in lines:
    o = json.loads(l)
    assert set(o) == {"queue_name", "queue_id", "arrival_time", "message_size",
                      "forced_expire", "sender", "recipients"}, sorted(o)
    assert o["queue_name"] == "maildrop", o
    assert isinstance(o["arrival_time"], int), o
    assert abs(o["arrival_time"] - now) <= slack, (o["arrival_time"], now)
    assert isinstance(o["message_size"], int) and o["message_size"] > 10
    assert o["forced_expire"] is False
    assert all(set(r) == {"address"} for r in o["recipients"]), o
print("ok")
PY
check_eq "JSON listing of maildrop entries parses, right fields" ok "$(cat "$T/json1.check")"

sm -C "$CONF" -q
check_match "sendmail -q with the smarthost down: exit 0 or 75" '^(0|75)$' "$RC"
rq -C "$CONF" queue list --json
expect_rc "relayq queue list --json (deferred)" 0
cp "$OUT" "$T/json2"
"$RELAYQ_PYTHON" - "$T/json2" >"$T/json2.check" 2>&1 <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(objs) == 5, len(objs)
by = {o["sender"]: o for o in objs}
assert set(by) == {"s1@example.test", "s2@example.test", "s3@example.test",
                   "zed@example.test", "amy@example.test"}, sorted(by)
for o in objs:
    assert o["queue_name"] == "deferred", o
    for r in o["recipients"]:
        assert r["delay_reason"], o
assert [r["address"] for r in by["s3@example.test"]["recipients"]] == \
    ["c@Sub.ONE.example", "d@two.example"], by["s3@example.test"]
print("ok")
PY
check_eq "JSON listing of deferred entries: queue_name, delay_reason" ok "$(cat "$T/json2.check")"
idof() { "$RELAYQ_PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["sender"] == sys.argv[2]: print(o["queue_id"])' "$T/json2" "$1"; }
ID2=$(idof s2@example.test)
ID5=$(idof amy@example.test)

rq -C "$CONF" queue hold "$ID5"
expect_rc "hold message five" 0
rq -C "$CONF" queue list --json
check_eq "a held message is listed with queue_name hold" hold \
	"$("$RELAYQ_PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["queue_id"] == sys.argv[2]: print(o["queue_name"])' "$OUT" "$ID5")"
rq -C "$CONF" queue release "$ID5"
expect_rc "release message five" 0

# --- the smarthost comes up: selective runs ----------------------------------------
start_smarthost up --mode plain
write_config "$CONF" tls=none ca_file= user=
sm -C "$CONF" -qRone.example
expect_rc "sendmail -qRone.example" 0
wait_for 2 || die "-qR delivered nothing"
sleep 1
check_eq "-qRone.example: exactly the two messages for one.example" \
	"one three" "$(mt subjects "$SH_RX" | sort | tr '\n' ' ' | sed 's/ $//')"
sm -C "$CONF" -qSZED@
expect_rc "sendmail -qSZED@ (sender substring, any case)" 0
wait_for 3 || die "-qS delivered nothing"
sm -C "$CONF" -qSnobody-matches -qRnowhere.example
expect_rc "sendmail -q with selectors that match nothing" 0
sleep 1
check_eq "-qS: only 'four' more; nothing for selectors without a match" \
	"four one three" "$(mt subjects "$SH_RX" | sort | tr '\n' ' ' | sed 's/ $//')"
SUB=$(printf '%s' "$ID2" | cut -c 9-16 | tr 'A-F' 'a-f')
sm -C "$CONF" "-qI$SUB"
expect_rc "sendmail -qI<lower-case id substring>" 0
wait_for 4 || die "-qI delivered nothing"
check_eq "-qI: message two delivered" 1 "$(mt find "$SH_RX" two | grep -c .)"
sm -C "$CONF" -qIxyz
expect_rc "sendmail -qI with a non-hex id refused" 64
rq -C "$CONF" queue list --json
check_eq "left in the queue: message five only" amy@example.test \
	"$("$RELAYQ_PYTHON" -c 'import json,sys
print(" ".join(json.loads(l)["sender"] for l in open(sys.argv[1])))' "$OUT")"
sm -C "$CONF" -q
wait_for 5 || die "plain -q did not deliver the rest"
check_queue_empty "after a plain run: queue empty" "$CONF"
rq -C "$CONF" queue list --json
check_eq "empty queue: --json prints nothing" "0:" "$RC:$(cat "$OUT")"

# --- sendmail -q attempts every message now; relayq run keeps the schedule ----
UP_PORT=$SH_PORT
write_config "$CONF" port="$DOWN_PORT" tls=none ca_file= user=
q six s6@example.test g@six.example
q seven s7@example.test h@seven.example
rq -C "$CONF" run
check_match "relayq run with the smarthost down: exit 0 or 75" '^(0|75)$' "$RC"
rq -C "$CONF" queue list --json
check_eq "six and seven deferred (next attempt a minute away)" \
	"deferred deferred" "$("$RELAYQ_PYTHON" -c 'import json,sys
print(" ".join(json.loads(l)["queue_name"] for l in open(sys.argv[1])))' "$OUT")"
ID7=$("$RELAYQ_PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["sender"] == "s7@example.test": print(o["queue_id"])' "$OUT")
rq -C "$CONF" queue hold "$ID7"
expect_rc "hold message seven" 0
# The administrator fixes the configuration: the smarthost is reachable.
write_config "$CONF" port="$UP_PORT" tls=none ca_file= user=
rq -C "$CONF" run
expect_rc "relayq run after the fix" 0
sleep 1
check_eq "relayq run: the deferred message waits for its retry time" 5 \
	"$(received_count)"
sm -C "$CONF" -q
expect_rc "sendmail -q after the fix" 0
wait_for 6 || die "sendmail -q did not send the deferred message"
check_eq "sendmail -q: the deferred message sent at once" 1 \
	"$(mt find "$SH_RX" six | grep -c .)"
sleep 1
check_eq "sendmail -q: the held message stays held and unsent" \
	"6 hold" "$(received_count) $("$RELAYQ_PYTHON" -c 'import json,sys
print(" ".join(json.loads(l)["queue_name"] for l in open(sys.argv[1])))' \
	"$(rq -C "$CONF" queue list --json; echo "$OUT")")"
sm -C "$CONF" -qf
expect_rc "sendmail -qf" 0
sleep 1
check_eq "sendmail -qf: held is still held" 6 "$(received_count)"
e2e_finish
