#!/bin/sh
# relayq e2e (root): relayq daemon on a real set-group-ID installation.
# The daemon is started by root and becomes the spool owner (relayq);
# mail that an unprivileged user submits through the set-gid sendmail
# (which never delivers itself: it cannot read the password) reaches the
# smarthost at once, woken through the FIFO that install-root made
# relayq:relayq-drop 0620. No cron, no timer, no -q.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init

check_eq "install-root made the wake-up FIFO" "p 620 relayq relayq-drop" \
	"$(stat -c '%F %a %U %G' "$SPOOL/wakeup" | sed 's/^fifo /p /')"

"$RQ" -v daemon >"$T/daemon.out" 2>"$T/daemon.err" &
DPID=$!
SH_PIDS="$SH_PIDS $DPID"
_end=$(($(date +%s) + E2E_WAIT))
until grep -q "daemon started" "$T/daemon.err"; do
	[ "$(date +%s)" -ge "$_end" ] && die "the daemon did not start: $(cat "$T/daemon.err")"
	kill -0 "$DPID" 2>/dev/null || die "the daemon exited: $(cat "$T/daemon.err")"
	nap
done
check_eq "the daemon runs as the spool owner" "relayq" \
	"$(ps -o user= -p "$DPID" | tr -d ' ')"

printf 'Subject: instant from a user\n\nwoken, not polled\n' >"$T/msg"
chmod 0644 "$T/msg"
u_run "$SM" -oi bob@example.org <"$T/msg"
expect_rc "the user's sendmail" 0
check_eq "the user's sendmail prints nothing" "" "$(cat "$OUT" "$ERR")"
wait_for 1 || die "the daemon did not deliver the user's message"
M=$(msg_by_subject "instant from a user") || die "message missing"
check_eq "recipient" "bob@example.org" "$(rcpts "$M")"
check_eq "sent as the user" "$PRIV_USER@example.test" "$(jget "$M.json" mail_from)"
check_grep "the daemon delivered it" "status=sent" "$T/daemon.err"
check_no_secret "daemon output" "$T/daemon.out" "$T/daemon.err"

kill -TERM "$DPID"
_end=$(($(date +%s) + 30))
while kill -0 "$DPID" 2>/dev/null; do
	[ "$(date +%s)" -ge "$_end" ] && die "the daemon ignored SIGTERM"
	nap
done
wait "$DPID"
check_eq "the daemon exits 0 on SIGTERM" 0 "$?"
e2e_finish
