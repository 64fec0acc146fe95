#!/bin/sh
# relayq e2e: messages that say what happened and what to do next.
#  - relayq queue show of a message that is gone: "ID: no such message",
#    exit 66; the queue commands name the id once (never "ID: ID: ...")
#  - a message locked by a queue run: delete, hold and flush say
#    "ID: being delivered by another queue run; try again ..." (exit 75)
#  - hold of a held message says "already held", release of one not held
#    "not held"
#  - relayq queue flush without ids prints one line per message tried
#    (deferred with the reason; delivered), as it does for named ones;
#    a named one that is gone is reported
#  - a password file with a loose mode: the error ends with the command
#    that fixes it for the reader (chown root:GROUP F && chmod 0640 F, or
#    chmod 0600 F for the reader's own file)
#  - a host name without a dot ([local] hostname = nodot): relayq test,
#    setup and daemon warn once on stderr, naming the file and [local];
#    relayq run says it only with -v (cron mails stderr); sendmail never
#  - no [smarthost] host: relayq test says where to set it, or relayq setup
#  - (root, setpriv) a user who is neither root nor the spool's owner:
#    run, test and the queue commands say who may (exit 77), not a bare
#    Permission denied
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
# These checks are about stderr as the diagnostic channel, on a host with a
# syslog socket (most hosts; the runner's log goes there, not to stderr).
# Without one the runner's whole log falls back to stderr: logging.sh.
export RELAYQ_TEST_SYSLOG_SOCKET=/dev/null
command -v flock >/dev/null 2>&1 || skip "flock(1) not found"
down_port DOWN_PORT
CONF=$T/relayq.conf
write_config "$CONF" port="$DOWN_PORT" tls=none ca_file= user=

# queue_ids: the ids in queue/, one a line, sorted.
queue_ids() {
	find "$T/spool/queue" -name '*.env' | sed 's|.*/||; s|\.env$||' | sort
}

# once WHAT ID FILE: FILE names ID exactly once per line that has it.
once() {
	if grep -q "$2: $2" "$3"; then
		check_fail "$1: the id is named twice" "$2: ..." "$(cat "$3")"
	else
		ok "$1: the id is named once"
	fi
}

for n in 1 2; do
	printf 'To: bob@example.org\nSubject: m%s\n\nbody %s\n' "$n" "$n" >"$T/msg$n"
	sm -C "$CONF" -odq -i -f alice@example.test bob@example.org <"$T/msg$n"
	expect_rc "queue message $n" 0
done

# --- flush of the whole queue reports each message ---------------------------
rq -C "$CONF" queue flush
expect_rc "relayq queue flush (smarthost down)" 0
queue_ids >"$T/ids"
check_eq "two messages queued" 2 "$(wc -l <"$T/ids")"
ID1=$(sed -n 1p "$T/ids")
ID2=$(sed -n 2p "$T/ids")
for id in "$ID1" "$ID2"; do
	check_grep "flush: $id deferred, with the reason" \
		"^relayq: $id: deferred: .*$DOWN_PORT" "$ERR"
done
check_eq "flush: one line per message" 2 "$(grep -c ': deferred: ' "$ERR")"

# --- a message being delivered -----------------------------------------------
exec 9<"$T/spool/queue/$ID1"
flock -x 9 || die "flock $ID1"
rq -C "$CONF" queue delete "$ID1"
expect_rc "delete while locked" 75
check_eq "delete while locked: the message" \
	"relayq: $ID1: being delivered by another queue run; try again when it is done" \
	"$(cat "$ERR")"
rq -C "$CONF" queue hold "$ID1"
expect_rc "hold while locked" 75
once "hold while locked" "$ID1" "$ERR"
check_grep "hold while locked: being delivered" "$ID1: being delivered" "$ERR"
rq -C "$CONF" queue flush "$ID1"
expect_rc "flush ID while locked" 0
check_grep "flush ID while locked: being delivered" "^relayq: $ID1: being delivered" "$ERR"
once "flush ID while locked" "$ID1" "$ERR"
exec 9<&-

# --- hold, release, gone -------------------------------------------------------
rq -C "$CONF" queue hold "$ID2"
expect_rc "hold $ID2" 0
rq -C "$CONF" queue hold "$ID2"
expect_rc "hold of a held message" 66
check_eq "hold of a held message: the message" "relayq: $ID2: already held" "$(cat "$ERR")"
rq -C "$CONF" queue release "$ID1"
expect_rc "release of a message not held" 66
check_eq "release of a message not held: the message" \
	"relayq: $ID1: not held (it is in the queue already)" "$(cat "$ERR")"
rq -C "$CONF" queue requeue "$ID2"
expect_rc "requeue of a held message" 66
check_grep "requeue of a held message: says release it first" \
	"^relayq: $ID2: held \\(relayq queue release $ID2 puts it back first\\)\$" "$ERR"
rq -C "$CONF" queue release "$ID2"
expect_rc "release $ID2" 0
rq -C "$CONF" queue delete "$ID2"
expect_rc "delete $ID2" 0
rq -C "$CONF" queue show "$ID2"
expect_rc "queue show of a deleted message" 66
check_eq "queue show of a deleted message: the message" \
	"relayq: $ID2: no such message (not queued nor held; mailq lists the queue)" \
	"$(cat "$ERR")"
check_eq "queue show of a deleted message: nothing on stdout" "" "$(cat "$OUT")"
rq -C "$CONF" queue delete "$ID2"
expect_rc "delete of a deleted message" 66
check_eq "delete of a deleted message: the message" \
	"relayq: $ID2: no such message (mailq lists the queue)" "$(cat "$ERR")"
rq -C "$CONF" queue flush "$ID2"
check_grep "flush of a deleted message says so" "^relayq: $ID2: no such message" "$ERR"

# --- flush delivers, and says so -------------------------------------------------
start_smarthost up --mode plain
write_config "$CONF" tls=none ca_file= user=
rq -C "$CONF" queue flush
expect_rc "relayq queue flush (smarthost up)" 0
check_eq "flush: the delivery reported" "relayq: $ID1: delivered" "$(cat "$ERR")"
wait_for 1 || check_fail "flushed message not delivered"

# --- a password file with a loose mode ----------------------------------------
printf '%s\n' "$E2E_PASS" >"$T/pw"
chmod 0644 "$T/pw"
write_config "$CONF" tls=none ca_file= password_file="$T/pw"
rq -C "$CONF" test
check_match "loose password file: relayq test fails" '^(75|78)$' "$RC"
if [ "$(id -u)" = 0 ]; then
	FIX="chown root:relayq $T/pw && chmod 0640 $T/pw"
else
	FIX="chmod 0600 $T/pw"
fi
check_grep "loose password file: the command that fixes it" \
	"mode 0644\\); fix: $FIX\$" "$ERR"

# --- a host name without a dot ---------------------------------------------------
write_config "$CONF" port="$DOWN_PORT" tls=none ca_file= user=
sed -i 's/^hostname = .*/hostname = nodot/' "$CONF"
printf '[smarthost other]\nhost = localhost\nport = %s\ntls = none\n' \
	"$DOWN_PORT" >>"$CONF"
WARN="warning: the host name \"nodot\" \\(for EHLO and Message-ID\\) is not a fully qualified domain name, which smarthosts may refuse: set hostname = NAME.EXAMPLE.COM under \\[local\\] in $CONF"
rq -C "$CONF" test --all
check_grep "relayq test: the warning" "^relayq: $WARN" "$ERR"
check_eq "relayq test --all: warned once" 1 "$(grep -c 'nodot' "$ERR")"
rq -C "$CONF" setup </dev/null
check_grep "relayq setup: the warning" "^relayq: $WARN" "$ERR"
sm -C "$CONF" -odq -i bob@example.org <"$T/msg1"
expect_rc "sendmail with a dotless host name" 0
check_eq "sendmail: nothing on stderr" "" "$(cat "$ERR")"
rq -C "$CONF" run
check_no_grep "relayq run: no warning on stderr (cron)" nodot "$ERR"
rq -C "$CONF" -v run
check_grep "relayq -v run: the note" "^relayq: note: the host name \"nodot\"" "$ERR"
"$RELAYQ_SBIN/relayq" -C "$CONF" daemon 2>"$T/daemon.err" &
DPID=$!
SH_PIDS="$SH_PIDS $DPID"
i=0
while ! grep -q nodot "$T/daemon.err" && [ $i -lt $((E2E_WAIT * 10)) ]; do
	nap
	i=$((i + 1))
done
kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
check_grep "relayq daemon: the warning at start" "^relayq: $WARN" "$T/daemon.err"
check_eq "relayq daemon: warned once" 1 "$(grep -c nodot "$T/daemon.err")"

# --- no smarthost ----------------------------------------------------------------
printf '[queue]\ndir = %s\n[local]\nhostname = relayq.test\n' "$T/spool" >"$CONF"
rq -C "$CONF" test
expect_rc "relayq test without a smarthost" 75
check_eq "relayq test without a smarthost: where to set it" \
	"relayq: no smarthost configured: set [smarthost] host in $CONF, or let relayq setup ADDRESS write it" \
	"$(cat "$ERR")"

# --- neither root nor the spool owner -----------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	id nobody >/dev/null 2>&1; then
	chmod 711 "$T"
	mkdir -m 755 "$T/pub"
	printf '[queue]\ndir = %s\n[local]\nhostname = relayq.test\n' "$T/pub" >"$T/pub.conf"
	chmod 644 "$T/pub.conf"
	for c in run test "queue flush" "queue delete ALL"; do
		# shellcheck disable=SC2086
		run setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
			"$RELAYQ_SBIN/relayq" -C "$T/pub.conf" $c
		expect_rc "nobody: relayq $c" 77
		w=$(echo "$c" | sed 's/ ALL$//')
		check_eq "nobody: relayq $c: who may" \
			"relayq: $w: the queue in $T/pub belongs to root: run this as root (sudo)" \
			"$(cat "$ERR")"
	done
else
	note "not root (or no setpriv, no user nobody): the owner message is not checked"
fi
e2e_finish
