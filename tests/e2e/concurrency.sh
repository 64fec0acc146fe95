#!/bin/sh
# relayq e2e (at least once, with bounded duplicates: doc/ARCHITECTURE.md,
# "The promises and the tests that prove them"): 50 parallel submitters, three
# `sendmail -q` runners in loops and the background (-odb) deliveries of
# half of the submissions, all at once on one spool.  Every message is
# delivered exactly once (per-message locks: never two runners sending the
# same message), complete; no two messages share a queue id; the queue is
# empty at the end.
#
# CONC_COUNT (10000; .ci/run's sanitizer pass uses 2000),
# CONC_SUBMITTERS (50), CONC_RUNNERS (3).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
COUNT=${CONC_COUNT:-10000}
PAR=${CONC_SUBMITTERS:-50}
RUNNERS=${CONC_RUNNERS:-3}
# A burst of background deliveries overflows asyncio's default listen
# backlog (100): the kernel then drops the handshake's last ACK, the
# client sees a connection that never greets and waits out its 5-minute
# greeting timeout holding the message's lock.
start_smarthost conc --mode plain --backlog 4096
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user=
M=$T/msgs
mkdir "$M"
LEDGER=$T/ledger
: >"$LEDGER"
t0=$(now_ms)

# The runners: `sendmail -q` again and again until the submitters are done
# (bounded in time).
i=1
RPIDS=
while [ "$i" -le "$RUNNERS" ]; do
	(
		n=0
		end=$(($(date +%s) + 900))
		while [ ! -f "$T/submitted" ] && [ "$(date +%s)" -lt "$end" ]; do
			"$RELAYQ_SBIN/sendmail" -C "$CONF" -q >>"$T/runner.$i.err" 2>&1 ||
				echo "exit $?" >>"$T/runner.$i.err"
			n=$((n + 1))
		done
		echo "$n" >"$T/runner.$i.passes"
	) &
	RPIDS="$RPIDS $!"
	i=$((i + 1))
done

CT_SUBMIT_A="$RELAYQ_SBIN/sendmail -C $CONF -odq -t"
CT_SUBMIT_B="$RELAYQ_SBIN/sendmail -C $CONF -t"
export CT_SUBMIT_A CT_SUBMIT_B
ct concurrent-submit "$LEDGER" "$M" c "$COUNT" "$PAR" 2>"$T/submit.err"
t1=$(now_ms)
touch "$T/submitted"
for p in $RPIDS; do wait "$p"; done
note "$COUNT submissions from $PAR submitters in $((t1 - t0)) ms;" \
	"runner passes: $(cat "$T"/runner.*.passes | tr '\n' ' ')"
check_eq "every submission exited 0" "$COUNT" "$(awk '$5 == 0' "$LEDGER" | wc -l)"
check_eq "no submitter complained" "" "$(head -c 600 "$T/submit.err")"
check_eq "no runner complained" "" "$(cat "$T"/runner.*.err | head -c 600)"

# What is left (background deliveries still running, or messages skipped
# as busy): one more pass, then wait until all arrived.
E2E_CMD_TIMEOUT=300
_end=$(($(date +%s) + 300))
while [ "$(received_count)" -lt "$COUNT" ] && [ "$(date +%s)" -lt "$_end" ]; do
	sm -C "$CONF" -q
	sleep 1
done
wait_queue_empty "$CONF" 60 || check_fail "queue empty at the end" "Mail queue is empty" \
	"$(head -c 600 "$OUT")"
sleep 1
t2=$(now_ms)
note "all delivered after $((t2 - t0)) ms ($(received_count) received," \
	"$(connections) connections)"
ct received "$SH_RX" "$M" >"$T/received"
if ct verdict "$LEDGER" "$T/received" >"$T/verdict"; then
	ok "exactly once: $(sed -n 's/^stats //p' "$T/verdict")"
else
	check_fail "exactly once: $(sed -n 's/^stats //p' "$T/verdict")"
	grep '^bad' "$T/verdict" | head -n 20
fi
check_eq "received exactly $COUNT" "$COUNT" "$(received_count)"
ids=$(ct received-ids "$SH_RX")
check_eq "no queue id collision" "ids $COUNT unique, 0 duplicated" "$ids"
check_queue_empty "queue empty at the end" "$CONF"
check_eq "queue/ empty" "" "$(ls -A "$T/spool/queue")"
check_eq "maildrop/ empty" "" "$(ls -A "$T/spool/maildrop")"
check_eq "nothing moved to corrupt/" "" "$(ls -A "$T/spool/corrupt")"
e2e_finish
