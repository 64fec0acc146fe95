#!/bin/sh
# relayq e2e: [local] aliases.
#  - Debian cron's argv (`sendmail -FCronDaemon -i -B8BITMIME -oem root`)
#    with an aliases file sending root to two outside addresses, one of
#    them through another alias: the smarthost receives one message with
#    both envelope recipients, and nothing for root itself; its To: root
#    is qualified (root@DOMAIN), never aliased.
#  - an aliases file that cannot be read: mail waits in the queue (never
#    sent unaliased) and goes out once the file is there.
#  - newaliases / sendmail -bi / -I: a good file -> exit 0 and a summary;
#    a broken one -> exit 65 and FILE:LINE on stderr; none configured ->
#    exit 0 (package scripts run newaliases).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main

# add_aliases CONF FILE: set [local] aliases (the file is 0644: relayq
# refuses group- or world-writable aliases files).
add_aliases() {
	sed "s|^domain = .*|&\naliases = $2|" "$1" >"$1.new" && mv "$1.new" "$1" ||
		die "cannot edit $1"
	[ -f "$2" ] && chmod 644 "$2"
	grep -q "^aliases = $2\$" "$1" || die "add_aliases: no aliases line in $1"
}

CONF=$T/relayq.conf
write_config "$CONF"
cat >"$T/aliases" <<'EOF'
# /etc/aliases for the e2e test
postmaster: root
# root goes to the admin and to the ops team (an alias itself)
root: admin@example.org,
	ops
ops: ops-team@example.net
EOF
add_aliases "$CONF" "$T/aliases"

# 1. What Debian's cron runs (MAILTO unset: the job owner, root).
{
	printf 'From: root (Cron Daemon)\n'
	printf 'To: root\n'
	printf 'Subject: Cron <root@relayq> /usr/local/bin/nightly\n'
	printf 'MIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=UTF-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n'
	printf 'X-Cron-Env: <SHELL=/bin/sh>\n'
	printf 'X-Cron-Env: <HOME=/root>\n'
	printf '\n'
	printf 'nightly: caf\303\251 done\n'
} >"$T/cron.msg"
sm -C "$CONF" -FCronDaemon -i -B8BITMIME -oem root <"$T/cron.msg"
expect_rc "cron's sendmail -FCronDaemon -i -B8BITMIME -oem root" 0
wait_for 1 || die "the cron message did not arrive"
nap
nap
check_eq "one message at the smarthost" 1 "$(received_count)"
M=$(msg_by_subject "Cron <root@relayq> /usr/local/bin/nightly") ||
	die "cron message missing"
check_eq "envelope recipients: root's alias, expanded through ops" \
	"admin@example.org ops-team@example.net" "$(rcpts "$M")"
check_eq "To: header qualified, not aliased" "root@example.test" "$(header "$M.eml" To)"
check_no_grep "no RCPT TO root itself" 'C: RCPT TO:<root@' "$SH_LOG"
check_queue_empty "queue empty after delivery" "$CONF"

# 2. The aliases file cannot be read: mail waits, then goes out.
mkdir "$T/spool2" || die "mkdir spool2"
CONF2=$T/relayq2.conf
write_config "$CONF2" spool="$T/spool2"
add_aliases "$CONF2" "$T/aliases2"
printf 'Subject: waits for aliases\n\nfor postmaster\n' >"$T/wait.msg"
sm -C "$CONF2" -odq postmaster <"$T/wait.msg"
expect_rc "sendmail -odq postmaster (aliases file missing)" 0
sm -C "$CONF2" -q
check_eq "nothing sent while the aliases file is missing" 1 "$(received_count)"
mailq_of "$CONF2"
check_grep "mailq: the message is still queued" '^-- [0-9]+ Kbytes in 1 Request' "$OUT"
printf 'postmaster: pm@example.org\n' >"$T/aliases2"
chmod 644 "$T/aliases2"
sm -C "$CONF2" -q
expect_rc "sendmail -q once the aliases file exists" 0
wait_for 2 || die "the waiting message did not arrive"
M2=$(msg_by_subject "waits for aliases") || die "waiting message missing"
check_eq "waiting message: sent to the alias" "pm@example.org" "$(rcpts "$M2")"

# 3. newaliases and sendmail -bi / -I.
run env RELAYQ_CONFIG="$CONF" "$RELAYQ_BIN/newaliases"
expect_rc "newaliases, good file" 0
check_eq "newaliases: summary" \
	"$T/aliases: 3 aliases, longest 23 bytes, 69 bytes total" "$(cat "$OUT")"
check_eq "newaliases: nothing on stderr" "" "$(cat "$ERR")"
sm -C "$CONF" -bi
expect_rc "sendmail -bi, good file" 0
sm -C "$CONF" -I
expect_rc "sendmail -I, good file" 0

cat >"$T/bad-aliases" <<'EOF'
root: admin@example.org
no colon on this line
logs: |/usr/bin/logger -t mail
ok: ok@example.org
EOF
CONF3=$T/relayq3.conf
write_config "$CONF3"
add_aliases "$CONF3" "$T/bad-aliases"
run env RELAYQ_CONFIG="$CONF3" "$RELAYQ_BIN/newaliases"
expect_rc "newaliases, broken file" 65
check_grep "newaliases: line 2 reported as FILE:LINE" \
	"^$T/bad-aliases:2: expected \"name: address, ...\" \\(no ':'\\)\$" "$ERR"
check_grep "newaliases: the command target reported on line 3" \
	"^$T/bad-aliases:3: logs: \\|/usr/bin/logger -t mail: delivery to a command is not supported" "$ERR"
check_eq "newaliases: one stderr line per problem" 2 "$(wc -l <"$ERR" | tr -d ' ')"
sm -C "$CONF3" -bi
expect_rc "sendmail -bi, broken file" 65

CONF4=$T/relayq4.conf
write_config "$CONF4"
run env RELAYQ_CONFIG="$CONF4" "$RELAYQ_BIN/newaliases"
expect_rc "newaliases, no aliases configured" 0
check_match "newaliases: says no aliases file is configured" \
	'no aliases file configured' "$(cat "$OUT")"
e2e_finish
