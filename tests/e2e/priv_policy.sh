#!/bin/sh
# relayq e2e (root only): allowed_senders on a real set-gid installation
# (priv_lib.sh), decided by the kernel's uid of the caller:
#  - an unprivileged user limited by [user NAME] allowed_senders is refused
#    (exit 77, one line on stderr) whatever -f says; the only file the
#    set-gid submitter leaves is the alert request, owned by the user;
#  - its allowed senders go through; another user (no section) is free;
#  - sendmail -bs answers 550 5.7.1 to MAIL FROM of a refused sender;
#  - the runner sends one alert to the postmaster and the allowed mail.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init
printf '\n[user %s]\nallowed_senders = good.example\n' "$PRIV_USER" >>"$CONF"
printf 'To: bob@example.org\nSubject: %s\n\nbody\n' "policy" >"$T/msg"
chmod 0644 "$T/msg"

u_run "$SM" -i -f boss@evil.example bob@example.org <"$T/msg"
expect_rc "user: a sender outside allowed_senders" 77
check_match "user: one line naming sender, user and rule" \
	"^sendmail: sender <boss@evil\.example> not allowed for user $PRIV_USER: not in \[user $PRIV_USER\] allowed_senders \(.*:[0-9]+\)\$" \
	"$(cat "$ERR")"
E=$(maildrop_entries)
check_match "user: only the alert request was queued, as the user" \
	"^[0-9A-F]{16} 704 $PRIV_USER relayq-drop [0-9]+\$" "$E"
u_run "$SM" -i bob@example.org <"$T/msg"
expect_rc "user: the login name's address is not in the list either" 77
u_run "$SM" -i -f shop@good.example bob@example.org <"$T/msg"
expect_rc "user: an allowed sender" 0
run setpriv --reuid="$PRIV_OTHER" --regid="$PRIV_OTHER" --init-groups -- \
	"$SM" -i -f boss@evil.example bob@example.org <"$T/msg"
expect_rc "other user (no [user] section): any sender" 0
printf 'EHLO c\r\nMAIL FROM:<boss@evil.example>\r\nQUIT\r\n' >"$T/bs.in"
u_run "$SM" -bs <"$T/bs.in"
check_grep "user: -bs answers 550 5.7.1" '^550 5\.7\.1 sender <boss@evil\.example> not allowed' "$OUT"
check_maildrop_clean "after the refusals"

run "$RQ" run
expect_rc "root: relayq run" 0
wait_for 4 || true
check_eq "two allowed messages and two alerts (boss, and the login address)" \
	4 "$(received_count)"
alerts=$(mt subjects "$SH_RX" | grep -c "^relayq: sender <boss@evil.example> refused for user $PRIV_USER")
check_eq "one alert about boss@evil.example (three refusals)" 1 "$alerts"
e2e_finish
