#!/bin/sh
# relayq e2e (an accepted message is never lost: doc/ARCHITECTURE.md, "The
# promises and the tests that prove them"): a SIGSTOPped submitter whose maildrop
# entry is reaped never exits 0, and the runner's reaper never removes the
# entry of a submitter that is still alive.
#
# A. Simulated reap: the submitter reads its message from a FIFO; once its
#    entry exists it is stopped, the entry is deleted (what the runner does
#    to an abandoned unfinished entry), the rest of the input is given
#    and it is continued: exit 75, nothing queued, nothing delivered.
#    Three variants: reaped before any body line, in mid-body, and after
#    the input has ended.
# B. The real reaper: the stopped submitter's entry is made a day and more
#    old (its lock, still held, now keeps the reaper away: these runs show
#    a live writer's entry is never reaped, and the race below stays
#    closed for a writer whose lock could not be seen); a `sendmail -q`
#    runs with one syscall of the reaper held for 2 s
#    by strace (its first unlink, on entry: the reaper has decided; its
#    first rename, on exit: the entry is moved away, its mode not yet
#    looked at); the submitter is continued meanwhile and finishes.  Exit 0
#    must mean the message is delivered, any other exit that it is not.
#    (Before the fix an exit 0 here lost the message: the reaper looked at
#    the mode, the writer committed, the reaper unlinked.)
# C. Dead submitters' unfinished entries (unlocked, older than 5 minutes)
#    are removed by the runner (B may leave one: 0600 again after its
#    writer failed).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
traced_relayq
start_smarthost stopped --mode plain
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user=
MD=$T/spool/maildrop
M=$T/msgs
mkdir "$M"
"$RELAYQ_SBIN/relayq" -C "$CONF" queue list >/dev/null 2>&1 # make the spool

# wait_entry: wait (bounded) until maildrop/ has an entry; its path in $ENTRY.
wait_entry() {
	_i=0
	while :; do
		ENTRY=$(find "$MD" -type f 2>/dev/null | head -n 1)
		[ -n "$ENTRY" ] && return 0
		_i=$((_i + 1))
		[ $_i -le 100 ] || return 1
		nap
	done
}

# start_fed TAG: sendmail -odq -t reading the FIFO $T/in.TAG, written
# through fd 9; its pid in $SPID.
start_fed() {
	rm -f "$T/in.$1"
	mkfifo "$T/in.$1" || die "mkfifo"
	"$RELAYQ_SBIN/sendmail" -C "$CONF" -odq -t <"$T/in.$1" \
		>"$T/out.$1" 2>"$T/err.$1" &
	SPID=$!
	exec 9>"$T/in.$1"
}

# A. reaped while stopped
for when in head body eof; do
	ct mkmsg "$M" "a$when" 1 big
	msg=$M/a$when-1.msg
	start_fed "$when"
	head -c 100 "$msg" >&9
	wait_entry || die "A/$when: no maildrop entry appeared"
	[ "$when" = body ] && head -c 70000 "$msg" | tail -c +101 >&9 && nap
	kill -STOP "$SPID"
	rm -f "$ENTRY"
	# The rest through a writer of its own (the pipe holds only 64 KiB).
	if [ "$when" = body ]; then
		tail -c +70001 "$msg" >&9 &
	else
		tail -c +101 "$msg" >&9 &
	fi
	WPID=$!
	exec 9>&-
	[ "$when" = eof ] && nap
	kill -CONT "$SPID"
	wait "$SPID"
	rc=$?
	wait "$WPID"
	check_eq "A/$when: a reaped submitter exits 75" 75 "$rc"
	check_eq "A/$when: maildrop empty afterwards" "" "$(ls -A "$MD")"
	note "A/$when: stderr: $(head -c 200 "$T/err.$when")"
done

# B. the reaper's decision and its unlink 2 s apart, the submitter finishing
#    in between.
B_OK=0
have_strace && B_OK=1
# reap_race TAG INJECT: the runner (strace -e inject=INJECT) reaps the
# stopped submitter's entry, made two days old; the submitter is continued
# 1 s into the runner's held syscall and finishes.
reap_race() {
	ct mkmsg "$M" "$1" 1 small
	start_fed "$1"
	head -c 60 "$M/$1-1.msg" >&9
	wait_entry || die "$1: no maildrop entry appeared"
	kill -STOP "$SPID"
	touch -d '2 days ago' "$ENTRY"
	strace -f -qq -o /dev/null -e "trace=${2%%:*}" -e "inject=$2" \
		"$RELAYQ_SBIN/sendmail" -C "$CONF" -q >"$T/runner.$1" 2>&1 9>&- &
	RPID=$!
	sleep 1
	tail -c +61 "$M/$1-1.msg" >&9
	exec 9>&-
	kill -CONT "$SPID"
	wait "$SPID"
	rc=$?
	wait "$RPID"
	note "$1: submitter exit $rc ($(head -c 200 "$T/err.$1")), runner exit $?" \
		"($(head -c 300 "$T/runner.$1"))"
	sm -C "$CONF" -q
	_i=0
	while [ $_i -lt 10 ] && ! ct received "$SH_RX" "$M" | grep -q "^$1-1 "; do
		nap
		_i=$((_i + 1))
	done
	ct received "$SH_RX" "$M" >"$T/received.$1"
	if [ "$rc" = 0 ]; then
		check_eq "$1: the submitter exited 0, so its message is delivered" \
			"$1-1 ok" "$(grep "^$1-1 " "$T/received.$1" | cut -d' ' -f1-2)"
	else
		check_eq "$1: the submitter did not exit 0 ($rc), so nothing is delivered" \
			"" "$(grep "^$1-1 " "$T/received.$1")"
	fi
}
if [ "$B_OK" = 1 ]; then
	# between the reaper's look at the entry and its unlink
	reap_race b unlinkat:delay_enter=2000000:when=1
	# between the reaper's move of the entry and its look at the mode
	reap_race b2 renameat:delay_exit=2000000:when=1
	# between the reaper's decision and its move: the writer commits and
	# exits 0 first, the reaper finds 0704 and puts the entry back
	reap_race b3 renameat:delay_enter=2000000:when=1
	check_eq "b3: the writer that finished first exited 0" \
		"b3-1 ok" "$(grep '^b3-1 ' "$T/received.b3" | cut -d' ' -f1-2)"
else
	note "B skipped: strace cannot trace here"
fi

# C. an unfinished entry whose writer is gone (no lock) is reaped.
ct mkmsg "$M" c 1 small
start_fed c
head -c 60 "$M/c-1.msg" >&9
wait_entry || die "C: no maildrop entry appeared"
kill -9 "$SPID"
wait "$SPID" 2>/dev/null
exec 9>&-
# (with B's leftovers, whose writers are gone too)
find "$MD" -type f -exec touch -d '2 days ago' {} +
sm -C "$CONF" -q
expect_rc "C: sendmail -q" 0
check_eq "C: dead writers' old entries are removed" "" "$(ls -A "$MD")"
check_eq "nothing moved to corrupt/" "" "$(ls -A "$T/spool/corrupt")"
check_eq "nothing but B's messages delivered" "" \
	"$(ct received "$SH_RX" "$M" | grep -v '^b[23]*-1 ok')"
e2e_finish
