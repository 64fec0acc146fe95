#!/bin/sh
# relayq e2e (root only): mailq for every user, on a real set-gid
# installation (priv_lib.sh), as monitoring runs it (check_mailq through
# NRPE as an unprivileged user).
# Asserts:
#  - default ([local] mailq_users not set): a user's mailq and relayq
#    queue list (text and JSON) list every queued message, other users'
#    and held ones too, with the Postfix totals check_mailq reads; the
#    corrupt/ count on stderr as root sees it; no message body appears;
#    the user still cannot read a message or envelope file itself, and
#    relayq queue show fails without printing the message;
#  - sendmail -q and relayq run as a user: exit 77, one line saying that
#    only root or the queue runner delivers; nothing is sent;
#  - mailq_users = root, @GROUP: a member of GROUP lists, another user
#    gets exit 77 and one line naming the key, the file and line, and the
#    user, nothing on stdout; root lists; a user name in the list admits
#    that user;
#  - an installation with the old modes (queue/ 0700, envelopes 0600
#    group relayq): the user's mailq fails naming make install-root;
#    make install-root run again fixes the modes and the user lists.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init

printf 'Subject: user mail\n\nuser-body-secret\n' >"$T/msg.user"
printf 'Subject: other mail\n\nother-body-secret\n' >"$T/msg.other"
printf 'Subject: root mail\n\nroot-body-secret\n' >"$T/msg.root"

u_run "$SM" -odq -i bob@example.org <"$T/msg.user"
expect_rc "user: sendmail" 0
run setpriv --reuid="$PRIV_OTHER" --regid="$PRIV_OTHER" --init-groups -- \
	"$SM" -odq -i -f other@example.org carol@example.org <"$T/msg.other"
expect_rc "other user: sendmail" 0
run "$SM" -odq -i -f root-sender@example.org dave@example.org <"$T/msg.root"
expect_rc "root: sendmail -odq" 0
# Pick up without delivering (queue commands pick up first), then hold one.
run "$RQ" queue requeue ALL
expect_rc "root: relayq queue requeue ALL (picks up)" 0
check_eq "all three picked up" 0 "$(spool_files maildrop)"
HID=$(grep -l 'root-sender@example.org' "$SPOOL"/queue/*.env | head -n 1)
HID=$(basename "$HID" .env)
run "$RQ" queue hold "$HID"
expect_rc "root: hold the root's message" 0
# A quarantined entry: mailq counts it on stderr.
install -o relayq -g relayq-drop -m 0600 /dev/null "$SPOOL/corrupt/0123456789ABCDEF" ||
	die "corrupt entry"

# --- default: every user lists ------------------------------------------------
u_run "$MAILQ"
expect_rc "user: mailq" 0
cp "$OUT" "$T/mailq.user"
cp "$ERR" "$T/mailq.user.err"
mt mailq "$T/mailq.user" >"$T/mailq.parsed"
check_no_grep "user: mailq output is well-formed" '^error:' "$T/mailq.parsed"
check_grep "user: check_mailq's total: 3 requests" '^-- [0-9]+ Kbytes in 3 Requests\.$' \
	"$T/mailq.user"
check_grep "user: the other user's message is listed" '^[0-9A-F]{16} .* other@example\.org$' \
	"$T/mailq.user"
check_grep "user: the held message is listed with '!'" "^$HID! .* root-sender@example\.org\$" \
	"$T/mailq.user"
check_grep "user: recipients are listed" '^ +carol@example\.org$' "$T/mailq.user"
check_no_grep "user: no message body in the listing" 'body-secret|Subject' "$T/mailq.user"
check_eq "user: the corrupt/ count on stderr, as root sees it" \
	"-- 1 message in corrupt/ (see relayq(8))" "$(cat "$T/mailq.user.err")"
run "$MAILQ"
check_eq "root: the same listing" "$(cat "$T/mailq.user")" "$(cat "$OUT")"
u_run "$SM" -bp
check_eq "user: sendmail -bp is mailq" "$(cat "$T/mailq.user")" "$(cat "$OUT")"
u_run "$RQ" queue list
expect_rc "user: relayq queue list" 0
check_eq "user: relayq queue list is mailq" "$(cat "$T/mailq.user")" "$(cat "$OUT")"
u_run "$RQ" queue list --json
expect_rc "user: relayq queue list --json" 0
check_eq "user: JSON, one object per message" 3 "$(grep -c '^{"queue_name": ' "$OUT")"
check_grep "user: JSON, the held one in queue hold" '"queue_name": "hold"' "$OUT"
check_no_grep "user: JSON, no body" 'body-secret' "$OUT"
as_other "$MAILQ" >"$T/mailq.other" 2>/dev/null
check_grep "another user (monitoring): 3 requests" '^-- [0-9]+ Kbytes in 3 Requests\.$' \
	"$T/mailq.other"

cannot() {
	u_run "$@"
	[ "$RC" != 0 ] && ok "user cannot $*" || check_fail "user cannot $*" failure "exit 0"
}
QID=$(grep -l 'other@example.org' "$SPOOL"/queue/*.env | head -n 1)
QID=$(basename "$QID" .env)
cannot cat "$SPOOL/queue/$QID"
cannot cat "$SPOOL/queue/$QID.env"
cannot ls "$SPOOL/queue"
cannot ls "$SPOOL/tmp"
u_run "$RQ" queue show "$QID"
check_match "user: relayq queue show fails" '^[1-9][0-9]*$' "$RC"
check_no_grep "user: queue show printed no body" 'body-secret' "$OUT"

# --- delivery stays root's and the runner's ------------------------------------
u_run "$SM" -q
expect_rc "user: sendmail -q" 77
check_match "user: sendmail -q, one line" \
	'^relayq: only root or the queue runner \(user relayq\) delivers the queue in .*; mailq lists it$' \
	"$(cat "$ERR")"
u_run "$RQ" run
expect_rc "user: relayq run" 77
check_eq "user: relayq run, one line" 1 "$(grep -c . "$ERR")"
check_eq "user: nothing was sent" 0 "$(connections)"

# --- restricted ------------------------------------------------------------------
restrict() {	# VALUE
	sed -i '/^mailq_users = /d' "$CONF"
	sed -i "/^domain = /a mailq_users = $1" "$CONF"
	KEYLINE=$(grep -n '^mailq_users = ' "$CONF" | cut -d: -f1)
}
restrict "root, @$PRIV_OTHER"
u_run "$MAILQ"
expect_rc "restricted, user not admitted: mailq" 77
check_eq "restricted: nothing on stdout" "" "$(cat "$OUT")"
check_eq "restricted: one line naming the key, where, and the user" \
	"mailq: the queue is listed only for root and [local] mailq_users ($CONF:$KEYLINE), which does not admit user $PRIV_USER" \
	"$(cat "$ERR")"
u_run "$RQ" queue list --json
expect_rc "restricted, user not admitted: relayq queue list --json" 77
check_grep "restricted: relayq queue list names the key" 'mailq_users' "$ERR"
as_other "$MAILQ" >"$T/mailq.other" 2>"$T/mailq.other.err"
check_eq "restricted: a member of @$PRIV_OTHER lists" 0 "$?"
check_grep "restricted: its listing is complete" '^-- [0-9]+ Kbytes in 3 Requests\.$' \
	"$T/mailq.other"
run "$MAILQ"
expect_rc "restricted: root lists" 0
restrict "$PRIV_USER"
u_run "$MAILQ"
expect_rc "mailq_users = $PRIV_USER: that user lists" 0
as_other "$MAILQ" >/dev/null 2>&1
check_eq "mailq_users = $PRIV_USER: another user does not" 77 "$?"
restrict "anyone"
u_run "$MAILQ"
expect_rc "mailq_users = anyone: the user lists" 0
restrict "anyone, root"
u_run "$MAILQ"
expect_rc "mailq_users = anyone, root: a configuration error" 78
check_grep "the error names the key" 'mailq_users: anyone stands alone' "$ERR"
sed -i '/^mailq_users = /d' "$CONF"

# --- an old installation: make install-root fixes it -----------------------------
for d in queue hold corrupt tmp; do
	chown relayq:relayq "$SPOOL/$d" && chmod 0700 "$SPOOL/$d" || die "old mode $d"
done
find "$SPOOL/queue" "$SPOOL/hold" -name '*.env' -exec chgrp relayq {} + \
	-exec chmod 0600 {} + || die "old envelope modes"
u_run "$MAILQ"
expect_rc "old modes: user's mailq" 77
check_grep "old modes: the error says what fixes it" 'make install-root' "$ERR"
priv_make install-root >"$T/install-root2.log" 2>&1 ||
	{ cat "$T/install-root2.log"; die "make install-root (again) failed"; }
bad=$(find "$SPOOL/queue" "$SPOOL/hold" -type f -name '*.env' \
	! \( -user relayq -group relayq-drop -perm 0640 \) -printf '%f %u:%g %m\n')
check_eq "install-root again: envelopes relayq:relayq-drop 0640" "" "$bad"
bad=$(find "$SPOOL/queue" "$SPOOL/hold" -type f ! -name '*.env' \
	! \( -user relayq -perm 0600 \) -printf '%f %u:%g %m\n')
check_eq "install-root again: message files untouched, 0600" "" "$bad"
check_eq "install-root again: queue/ relayq:relayq-drop 2750" "relayq:relayq-drop 2750" \
	"$(stat -c '%U:%G %a' "$SPOOL/queue")"
u_run "$MAILQ"
expect_rc "install-root again: the user lists" 0
check_grep "install-root again: all 3" '^-- [0-9]+ Kbytes in 3 Requests\.$' "$OUT"
e2e_finish
