#!/bin/bash
# relayq e2e: hostile replies from the smarthost.
#  - slow servers: a greeting, an EHLO reply or the reply to the final dot
#    trickled one byte every 0.5 s, or a multi-line EHLO reply whose lines
#    come 0.4 s apart: the 2 s deadline is per state, not per read, so each
#    ends in about 2 s; a server that is slow but within the deadline is
#    fine (control);
#  - floods: 10 000 continuation lines, a 1 MB reply line;
#  - malformed: codes 2500, 25, 250OK, 600, a code that changes within a
#    multi-line reply, a bare-LF reply, a NUL in a reply;
# at the greeting, at EHLO and as the reply to the final dot.  Each: deferred,
# never read as success (the message stays queued), the reason in mailq,
# peak RSS of the runner < 20 MB.  Cases run in parallel.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./faults_lib.sh
. "$RELAYQ_E2E_DIR/faults_lib.sh"
faults_init
make_certs

# reply_case SCRIPT_JSON REASON_ERE MAX_MS [MIN_MS]
reply_case() {
	_n=${T##*/case.}
	start_scripted srv "$1" --mode starttls --cert "$T0/server.pem" \
		--key "$T0/server.key"
	CONF=$T/relayq.conf
	write_config "$CONF" ca_file="$T0/ca.pem" extra="timeout = 2s"
	fault_message "$T/msg" "reply $_n"
	sm -C "$CONF" -odq -i bob@example.org <"$T/msg"
	expect_rc "$_n: sendmail -odq" 0
	sendmail_q_rss "$CONF"
	note "$_n: sendmail -q exit $RC in $MS ms, peak RSS ${RSS_KB:-?} KB"
	check_match "$_n: sendmail -q exits 0 or 75" '^(0|75)$' "$RC"
	check_ms_below "$_n: sendmail -q" "$3"
	if [ -n "${4:-}" ]; then
		[ "$MS" -ge "$4" ] && ok "$_n: took at least $4 ms (the deadline)" ||
			check_fail "$_n: took at least $4 ms" ">= $4 ms" "$MS ms"
	fi
	check_rss "$_n: sendmail -q" 20480
	if [ "$2" = DELIVERED ]; then
		check_eq "$_n: delivered" 1 "$(received_count)"
		check_queue_empty "$_n: queue empty" "$CONF"
		return
	fi
	check_eq "$_n: not accepted by the server" 0 "$(received_count)"
	check_queued "$_n" "$CONF" "$2"
	check_no_grep "$_n: mailq shows no raw control bytes" \
		"$(printf '[\001-\010\013\014\016-\037]')" "$OUT"
}

TRICKLE="220 scripted.test ESMTP this greeting is trickled one byte every half second, it would take a minute\r\n"
run_case trickle-greeting reply_case "{\"greeting\": [[\"trickle\", \"$TRICKLE\", 0.5]]}" \
	'timed out after 2s \(during greeting\)' 20000 1900
run_case trickle-ehlo reply_case '{"ehlo": [["trickle", "250-scripted.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 HELP\r\n", 0.5]]}' \
	'timed out after 2s \(during EHLO\)' 20000 1900
# Every line arrives well within 2 s of the previous one: only a deadline
# for the whole reply stops it.
SLOWLINES='["send", "250-scripted.test\r\n"]'
for i in 1 2 3 4 5 6 7 8 9 10; do
	SLOWLINES="$SLOWLINES, [\"sleep\", 0.4], [\"send\", \"250-SLOW$i\r\n\"]"
done
run_case slowlines-ehlo reply_case "{\"ehlo\": [$SLOWLINES, [\"send\", \"250 STARTTLS\r\n\"]]}" \
	'timed out after 2s \(during EHLO\)' 20000 1900
run_case trickle-dot reply_case '{"dot": [["trickle", "250 2.0.0 OK but very slowly, one byte every half second\r\n", 0.5]]}' \
	'timed out after 2s \(during end of data\)' 20000 1900
run_case slow-but-in-time reply_case '{"greeting": [["sleep", 1.0], ["default"]], "dot": [["sleep", 1.0], ["default"]]}' \
	DELIVERED 20000

for st in greeting ehlo dot; do
	c=250
	[ $st = greeting ] && c=220
	run_case flood-$st reply_case "{\"$st\": [[\"repeat\", \"$c-flood of continuation lines\r\n\", 10000], [\"send\", \"$c end\r\n\"]]}" \
		'too many reply lines' 15000
	run_case line1mb-$st reply_case "{\"$st\": [[\"send\", \"$c \"], [\"repeat\", \"x\", 1048576], [\"send\", \"\r\n\"]]}" \
		'line longer than 4096 bytes' 15000
	run_case code4-$st reply_case "{\"$st\": [[\"send\", \"${c}0 four digits\r\n\"]]}" \
		"no space or '-' after the reply code" 15000
	run_case code2-$st reply_case "{\"$st\": [[\"send\", \"${c%?}\r\n\"]]}" \
		'malformed reply code' 15000
	run_case codetext-$st reply_case "{\"$st\": [[\"send\", \"${c}OK\r\n\"]]}" \
		"no space or '-' after the reply code" 15000
	run_case code600-$st reply_case "{\"$st\": [[\"send\", \"600 out of range\r\n\"]]}" \
		'malformed reply code' 15000
	run_case codechange-$st reply_case "{\"$st\": [[\"send\", \"$c-first\r\n$((c + 1)) second\r\n\"]]}" \
		'reply code changed within a reply' 15000
	run_case barelf-$st reply_case "{\"$st\": [[\"send\", \"$c bare LF\n\"], [\"sleep\", 3]]}" \
		'bare LF' 15000
	run_case nul-$st reply_case "{\"$st\": [[\"send\", \"$c NUL \\u0000 inside\r\n\"]]}" \
		'NUL, CR or LF inside a reply line' 15000
done
cases_wait
e2e_finish
