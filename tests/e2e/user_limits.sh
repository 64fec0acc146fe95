#!/bin/sh
# relayq e2e (root only): per-user queue limits and users in turn, on a
# real set-gid installation with two unprivileged users (priv_lib.sh).
# Asserts:
#  - [queue] user_max_queued: a user's submissions are accepted up to the
#    limit; the next one exits 75 with "user NAME has N queued messages
#    (limit L)" and leaves nothing behind; the other user is not affected;
#  - after pickup (the messages in queue/, which the user cannot read) the
#    limit still holds: the runner's summary counts them;
#  - 20 submissions at once from one user never take it over its limit;
#  - sendmail -bs: a session of a user at its limit gets 421; a session
#    under it gets 250 up to the limit, then 451, nothing more queued;
#  - [user NAME] max_queued and max_bytes override [queue]; root is
#    exempt unless it has its own [user root] section;
#  - users in turn: user A queues 200 messages, then user B one; in the
#    next pass B's message is not the last delivered (it is the second).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init
DOWN_PORT=$(mt free-port) || die "no free port"
UP_PORT=$SH_PORT

# limits PORT LINES...: the system config with the smarthost at PORT and
# the extra lines (sections of their own) at the end.
limits() {
	_port=$1
	shift
	write_config "$CONF" spool="$SPOOL" user="$PRIV_USERNAME" \
		password_file="$SECRET" port="$_port"
	for _l in "$@"; do
		printf '%s\n' "$_l" >>"$CONF"
	done
}
printf 'Subject: limited\n\nbody\n' >"$T/msg"
chmod 0644 "$T/msg"
# entries_of USER: maildrop entries owned by USER.
entries_of() { maildrop_entries | awk -v u="$1" '$3 == u' | wc -l | tr -d ' '; }

# --- the limit, counted live in the maildrop ----------------------------------
limits "$DOWN_PORT" "[queue]" "user_max_queued = 3"
for i in 1 2 3; do
	u_run "$SM" -i a$i@example.org <"$T/msg"
	expect_rc "user: submission $i of 3" 0
done
u_run "$SM" -i a4@example.org <"$T/msg"
expect_rc "user: submission 4 over the limit: temporary failure" 75
check_grep "user: the reason names the user, the count and the limit" \
	"user $PRIV_USER has 3 queued messages \\(limit 3\\)" "$ERR"
check_eq "user: the refused submission left no entry" 3 "$(entries_of "$PRIV_USER")"
check_maildrop_clean "after a refused submission"
as_other "$SM" -i o1@example.org <"$T/msg"
check_eq "other user: not limited by the first one's messages" 1 \
	"$(entries_of "$PRIV_OTHER")"

# --- after pickup, from the runner's summary ---------------------------------------
run "$RQ" run
check_match "relayq run (smarthost down)" '^(0|75)$' "$RC"
check_eq "picked up: maildrop/ empty" 0 "$(spool_files maildrop)"
check_eq "the summary is world-readable, owned by the runner" "relayq 644" \
	"$(stat -c '%U %a' "$SPOOL/usage")"
u_run "$SM" -i a5@example.org <"$T/msg"
expect_rc "user: still at the limit after pickup" 75
check_grep "user: counted from queue/" "has 3 queued messages \\(limit 3\\)" "$ERR"

# --- -bs ------------------------------------------------------------------------------
bs_input() { # N: N messages in one session
	printf 'EHLO client.test\r\n'
	_i=1
	while [ "$_i" -le "$1" ]; do
		printf 'MAIL FROM:<bs@example.org>\r\nRCPT TO:<b%s@example.org>\r\n' "$_i"
		printf 'DATA\r\nSubject: bs %s\r\n\r\nbody\r\n.\r\n' "$_i"
		_i=$((_i + 1))
	done
	printf 'QUIT\r\n'
}
bs_input 1 >"$T/bs1"
u_run "$SM" -bs <"$T/bs1"
check_grep "-bs at the limit: 421 with the reason" \
	"^421 .*has 3 queued messages" "$OUT"
limits "$DOWN_PORT" "[queue]" "user_max_queued = 5"
bs_input 4 >"$T/bs4"
u_run "$SM" -bs <"$T/bs4"
check_eq "-bs under the limit: queued up to it, then refused" \
	"2 2" "$(grep -c '^250 2.0.0 Ok: queued' "$OUT") $(grep -c '^451 ' "$OUT")"
check_eq "-bs: two entries made" 2 "$(entries_of "$PRIV_USER")"
check_maildrop_clean "after the -bs session"

# --- in parallel -------------------------------------------------------------------
run "$RQ" queue delete ALL
expect_rc "clear the queue" 0
run "$RQ" run
limits "$DOWN_PORT" "[queue]" "user_max_queued = 5"
i=1
PIDS=
while [ "$i" -le 20 ]; do
	(as_user "$SM" -i p$i@example.org <"$T/msg" >/dev/null 2>&1
	echo $? >"$T/par.$i") &
	PIDS="$PIDS $!"
	i=$((i + 1))
done
for p in $PIDS; do wait "$p"; done
ACC=$(cat "$T"/par.* | grep -c '^0$')
note "parallel: $ACC of 20 submissions accepted (limit 5)"
# Entries of refused peers count while they exist: all may be refused.
check_match "parallel: at most the limit accepted" '^[0-5]$' "$ACC"
check_eq "parallel: the others exit 75" $((20 - ACC)) "$(cat "$T"/par.* | grep -c '^75$')"
check_eq "parallel: no more entries than accepted submissions" "$ACC" \
	"$(entries_of "$PRIV_USER")"
check_maildrop_clean "after parallel submissions"

# --- [user NAME] and root -------------------------------------------------------------
run "$RQ" queue delete ALL
run "$RQ" run
limits "$DOWN_PORT" "[queue]" "user_max_queued = 2" "[user $PRIV_OTHER]" \
	"max_queued = 0" "max_bytes = 1k" "[user $PRIV_USER]" "max_queued = 1"
u_run "$SM" -i u1@example.org <"$T/msg"
expect_rc "[user]: first message" 0
u_run "$SM" -i u2@example.org <"$T/msg"
expect_rc "[user] max_queued = 1 overrides [queue]: second refused" 75
head -c 2000 /dev/zero | tr '\0' 'x' | fold -w 70 >"$T/big"
chmod 0644 "$T/big"
as_other "$SM" -i o2@example.org <"$T/big" && ok "[user] other: a 2 KB message" ||
	check_fail "[user] other: a 2 KB message" 0 "$?"
run setpriv --reuid="$PRIV_OTHER" --regid="$PRIV_OTHER" --init-groups -- \
	"$SM" -i o3@example.org <"$T/msg"
expect_rc "[user] max_bytes = 1k: over it, refused" 75
check_grep "[user] max_bytes: the reason shows bytes and the limit" \
	"user $PRIV_OTHER has .* queued \\(limit 1\\.0k\\)" "$ERR"
for i in 1 2 3; do
	run "$SM" -odq -i r$i@example.org <"$T/msg"
	expect_rc "root is exempt from [queue] limits ($i)" 0
done
limits "$DOWN_PORT" "[queue]" "user_max_queued = 2" "[user root]" "max_queued = 3"
run "$SM" -odq -i r4@example.org <"$T/msg"
expect_rc "[user root] applies to root" 75

# --- users in turn -----------------------------------------------------------------
run "$RQ" queue delete ALL
# One session, so that arrival at the sink is the pass's order (with
# several sessions the order holds within each: connections.sh).
write_config "$CONF" spool="$SPOOL" user="$PRIV_USERNAME" \
	password_file="$SECRET" port="$UP_PORT" extra="connections = 1"
i=1
while [ "$i" -le 200 ]; do
	printf 'Subject: A %s\n\nfrom A\n' "$i" | as_user "$SM" -i a@example.org ||
		die "user A: submission $i failed"
	i=$((i + 1))
done
printf 'Subject: B one\n\nfrom B\n' | as_other "$SM" -i b@example.org ||
	die "user B: submission failed"
BEFORE=$(received_count)
run "$RQ" run
expect_rc "one pass for 201 messages" 0
wait_for $((BEFORE + 201)) || die "the pass did not deliver everything"
NB=$(msg_by_subject "B one")
NB=$(basename "$NB" | sed 's/^0*//')
# B's one message is in the first turn, with A's first (the arrival order
# decides between those two).
check_match "users in turn: B's message among the first two of the pass, not the last" \
	"^($((BEFORE + 1))|$((BEFORE + 2)))\$" "$NB"
check_queue_empty "queue empty after the pass" "$CONF"
e2e_finish
