#!/bin/sh
# relayq e2e: delivery modes.
#  - plain `sendmail rcpt` (default -odb): sendmail returns at once, the
#    message arrives soon after from a detached background process, and
#    that process does not hold the caller's stdout/stderr pipe (callers like
#    $(...) or subprocess.run(capture_output=True) would hang on it).
#  - explicit -odb with RELAYQ_CONFIG: the same.
#  - -odi: delivered before sendmail exits.
# The smarthost waits GREET seconds before its greeting, so a sendmail
# that delivers in the foreground cannot look prompt.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
# Promptly: well before the greeting. Both scale with E2E_WAIT (tripled
# under valgrind), so that a slow or loaded machine is not taken for a
# sendmail that waits.
GREET=$((E2E_WAIT / 4))
[ "$GREET" -ge 3 ] || GREET=3
PROMPT_MS=$((GREET * 1000 - 1000))
start_tls_smarthost slow --greeting-delay "$GREET"
CONF=$T/relayq.conf
write_config "$CONF"

mkmsg() { # FILE SUBJECT
	printf 'Subject: %s\n\nbody of %s\n' "$2" "$2" >"$1"
}

# check_prompt WHAT: judge the last `mt timed` result in $TIMED.
check_prompt() {
	# shellcheck disable=SC2086
	set -- "$1" $TIMED
	note "$1: exit $2 after $3 ms, output pipe closed after $4 ms"
	check_eq "$1: exit code" 0 "$2"
	if [ "$3" -ge 0 ] && [ "$3" -lt "$PROMPT_MS" ]; then
		ok "$1: returned within ${PROMPT_MS} ms ($3 ms)"
	else
		check_fail "$1: returned promptly" "< $PROMPT_MS ms" "$3 ms (-1 = timeout)"
	fi
	if [ "$4" -ge 0 ] && [ "$4" -lt "$PROMPT_MS" ]; then
		ok "$1: no process kept the caller's stdout/stderr open ($4 ms)"
	else
		check_fail "$1: the background delivery does not hold the caller's stdout/stderr" \
			"pipe closed < $PROMPT_MS ms" "$4 ms (-1 = still open after 30 s)"
	fi
	check_eq "$1: no output" "" "$(cat "$T/timed.out")"
}

# 1. default mode, -C
mkmsg "$T/msg1" "background default"
TIMED=$(mt timed 30 "$T/timed.out" "$RELAYQ_SBIN/sendmail" -C "$CONF" \
	bob@example.org <"$T/msg1")
printf '$ sendmail -C conf bob@example.org (timed)\n  -> %s\n' "$TIMED" >>"$T/commands.log"
check_prompt "sendmail (default -odb)"
wait_for 1 || die "default-mode message did not arrive within ${E2E_WAIT}s"
M1=$(msg_by_subject "background default") || die "message 1 missing"
check_eq "1: recipient" "bob@example.org" "$(rcpts "$M1")"
check_eq "1: TLS" "true" "$(jget "$M1.json" tls)"
check_eq "1: AUTH login" "alice" "$(jget "$M1.json" auth_login)"

# 2. explicit -odb, RELAYQ_CONFIG
mkmsg "$T/msg2" "background odb"
TIMED=$(mt timed 30 "$T/timed.out" env RELAYQ_CONFIG="$CONF" \
	"$RELAYQ_SBIN/sendmail" -odb -oi carol@example.org <"$T/msg2")
printf '$ RELAYQ_CONFIG=conf sendmail -odb -oi carol@example.org (timed)\n  -> %s\n' \
	"$TIMED" >>"$T/commands.log"
check_prompt "sendmail -odb"
wait_for 2 || die "-odb message did not arrive within ${E2E_WAIT}s"
M2=$(msg_by_subject "background odb") || die "message 2 missing"
check_eq "2: recipient" "carol@example.org" "$(rcpts "$M2")"

# 3. -odi: in the foreground
mkmsg "$T/msg3" "interactive odi"
sm -C "$CONF" -odi dave@example.org <"$T/msg3"
expect_rc "sendmail -odi" 0
check_eq "-odi: delivered by the time sendmail exited" 3 "$(received_count)"
if [ "$MS" -lt $((GREET * 1000)) ]; then
	warn "-odi took only $MS ms although the smarthost greets after ${GREET}s"
fi
M3=$(msg_by_subject "interactive odi") || die "message 3 missing"
check_eq "3: recipient" "dave@example.org" "$(rcpts "$M3")"

# Let any background delivery finish before the temp dir goes.
if wait_queue_empty "$CONF"; then
	ok "queue empty at the end"
else
	check_fail "queue empty at the end" "Mail queue is empty" "$(cat "$OUT")"
fi
e2e_finish
