#!/bin/sh
# relayq e2e: what killed runners leave in the spool's tmp/ (a staged
# envelope tmp/ID.env.PID, a message copy tmp/ID.pickup.PID, a summary
# NAME.PID, a maildrop entry caught while being reaped tmp/MID.reap.PID).
# A queue run removes the files whose writer's PID names no process and
# logs each; it leaves alone the file of a live process (a runner still
# at work), names without a PID, and other types; a maildrop entry whose
# reaper died is put back into maildrop/ and delivered, not removed.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
start_smarthost main --mode plain
LOG=$T/relayq.log
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user=
sed -i "/^\\[local\\]/a log = $LOG" "$CONF"
TMPD=$T/spool/tmp

# A PID that names no process: a child that has exited and been reaped.
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
# A live writer's: a process of this test, stopped at the end.
sleep 600 &
LIVE=$!
SH_PIDS="$SH_PIDS $LIVE"

# A first run sets up the runner's directories.
sm -C "$CONF" -q
expect_rc "sendmail -q over an empty queue" 0
[ -d "$TMPD" ] || die "no $TMPD"

# A complete maildrop entry that a killed pickup was reaping.
printf 'Subject: caught while reaped\n\nbody\n' >"$T/msg"
sm -C "$CONF" -odq reaped@example.org <"$T/msg"
expect_rc "sendmail -odq (the entry to be caught)" 0
MID=$(ls "$T/spool/maildrop")
check_match "one maildrop entry" '^[0-9A-F]{16}$' "$MID"
mv "$T/spool/maildrop/$MID" "$TMPD/$MID.reap.$DEAD"
printf 'Subject: plain\n\nbody\n' >"$T/msg"
sm -C "$CONF" -odq plain@example.org <"$T/msg"
expect_rc "sendmail -odq (a plain message)" 0

for f in 0000000100000001.env.$DEAD 0000000100000002.pickup.$DEAD \
	usage.$DEAD 0000000100000003.env.$LIVE notes 0000000100000004.env.0$DEAD; do
	echo stale >"$TMPD/$f"
done
mkdir "$TMPD/somedir.$DEAD"
kill -0 "$DEAD" 2>/dev/null && die "process $DEAD exists again"

# kept WHAT NAME / gone WHAT NAME: tmp/NAME is (not) there.
kept() {
	if [ -e "$TMPD/$2" ]; then ok "$1"; else check_fail "$1" present absent; fi
}
gone() {
	if [ -e "$TMPD/$2" ]; then check_fail "$1" absent present; else ok "$1"; fi
}

sm -C "$CONF" -q
expect_rc "sendmail -q" 0
wait_for 2 || die "not both messages delivered"
for f in 0000000100000001.env.$DEAD 0000000100000002.pickup.$DEAD usage.$DEAD; do
	gone "the dead writer's tmp/$f is removed" "$f"
	check_grep "its removal is logged" \
		"\\]: tmp/$f: removed, left by process $DEAD, which is gone \\(6 bytes\\)" "$LOG"
done
kept "a live writer's file is kept" "0000000100000003.env.$LIVE"
check_no_grep "nothing logged about the live writer's file" "\\.env\\.$LIVE" "$LOG"
for f in notes 0000000100000004.env.0$DEAD somedir.$DEAD; do
	kept "tmp/$f (no PID, or not a file) is kept" "$f"
done
check_grep "the entry caught while reaped is put back, and said so" \
	"tmp/$MID\\.reap\\.$DEAD: put back as maildrop/$MID \\(process $DEAD, which was reaping it, is gone\\)" "$LOG"
check_eq "and delivered" 1 "$(mt find "$SH_RX" 'caught while reaped' | wc -l | tr -d ' ')"
check_eq "nothing in corrupt/" "" "$(ls -A "$T/spool/corrupt")"
check_queue_empty "the queue is empty" "$CONF"
e2e_finish
