#!/bin/sh
# relayq e2e: priority. The higher of the submitter's [user NAME] priority
# and the message's own (X-Priority, Priority: urgent, Importance: high)
# is stored with the message and shown by mailq, queue list --json and
# queue show; a queue run sends higher priority first, then first in,
# first out (by the second of arrival): an urgent message queued after 500
# bulk ones goes first.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
ME=$(id -un)

# 1. Where the priority shows (the smarthost unreachable: mail stays).
DEAD_PORT=$(mt free-port) || die "no free port"
CONF_D=$T/dead.conf
mkdir "$T/spool-dead"
write_config "$CONF_D" port="$DEAD_PORT" spool="$T/spool-dead" extra="
[user $ME]
priority = 4"
printf 'Subject: plain\n\nbody\n' | sm -C "$CONF_D" -odq rcpt@example.org
printf 'Importance: high\nSubject: important\n\nbody\n' |
	sm -C "$CONF_D" -odq rcpt@example.org
sm -C "$CONF_D" -q
mailq_of "$CONF_D"
check_grep "mailq: the user's priority 4" '^ +\(priority 4\)$' "$OUT"
check_grep "mailq: Importance: high is 5" '^ +\(priority 5\)$' "$OUT"
mt mailq "$OUT" >"$T/parsed"
check_no_grep "mailq output still parses as Postfix's" '^error' "$T/parsed"
rq -C "$CONF_D" queue list --json
check_grep "JSON: priority 4" '"priority": 4,' "$OUT"
check_grep "JSON: priority 5" '"priority": 5,' "$OUT"
ID=$(sed -n 's/.*"queue_id": "\([0-9A-F]*\)".*"priority": 5.*/\1/p' "$OUT")
rq -C "$CONF_D" queue show "$ID"
check_grep "queue show: priority" '^priority: 5$' "$OUT"

# 2. 500 bulk messages in one sendmail -bs session, then an urgent one.
CONF=$T/relayq.conf
# One session: the strict order of the whole run shows (with parallel
# sessions, connections.sh, it holds within each session).
write_config "$CONF" extra="connections = 1"
{
	echo "R 220"
	echo "S EHLO client.example"
	echo "R 250"
	i=1
	while [ $i -le 500 ]; do
		printf 'S MAIL FROM:<bulk@example.test>\nR 250\n'
		printf 'S RCPT TO:<rcpt@example.org>\nR 250\nS DATA\nR 354\n'
		printf 'S Subject: bulk %d\nS\nS body\nS .\nR 250\n' $i
		i=$((i + 1))
	done
	printf 'S QUIT\nR 221\n'
} >"$T/bulk.script"
run "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/bs_client.py" "$T/bulk.script" \
	"$T/transcript" "$T/bs.stderr" "$RELAYQ_SBIN/sendmail" -C "$CONF" -bs -odq
check_eq "500 bulk messages queued" "exit 0" "$(cat "$OUT")"
printf 'X-Priority: 1 (Highest)\nSubject: urgent\n\nbody\n' |
	sm -C "$CONF" -odq rcpt@example.org
printf 'Priority: urgent\nSubject: urgent too\n\nbody\n' |
	sm -C "$CONF" -odq rcpt@example.org
E2E_CMD_TIMEOUT=300 sm -C "$CONF" -q
expect_rc "one queue run" 0
wait_for 502 120 || die "not everything arrived"
check_eq "the first message sent is the urgent one" urgent \
	"$(header "$SH_RX/0001.eml" Subject)"
check_eq "the second, the other urgent one" "urgent too" \
	"$(header "$SH_RX/0002.eml" Subject)"
# First in, first out as far as relayq records arrival (whole seconds):
# the Date each bulk message got when it was queued never goes back.
fifo=$("$RELAYQ_PYTHON" - "$SH_RX" <<'EOP'
import email, email.utils, sys
last, bad = None, 0
for n in range(3, 503):
    with open("%s/%04d.eml" % (sys.argv[1], n), "rb") as f:
        m = email.message_from_binary_file(f)
    if not m["Subject"].startswith("bulk "):
        bad += 1
    t = email.utils.parsedate_to_datetime(m["Date"])
    if last is not None and t < last:
        bad += 1
    last = t
print(bad)
EOP
)
check_eq "then first in, first out (by the second each was queued)" 0 "$fifo"
check_eq "over one connection" 1 "$(connections)"
e2e_finish
