#!/bin/bash
# relayq e2e: per-recipient outcomes in one message.  RCPT answered 250 for
# ok@, 451 for temp@, 550 for gone@, and a long (120-line) 550 for long@:
#  pass 1: one copy to ok@ only, and at once the DSN for gone@ and long@
#          to the sender through the same smarthost (MAIL FROM:<>), as
#          Postfix does; the message stays queued for temp@ with the 451
#          as the reason;
#  pass 2 (the server now takes everyone): one copy to temp@ only (ok@ is
#          not sent again, gone@ and long@ are not retried, no second DSN),
#          and the queue is empty;
#  pass 3: nothing is sent again.
# With and without PIPELINING.  Also: a 550 flood of 10 000 lines for one
# recipient is a broken session, not a bounce: nothing is sent, nobody is
# failed, the message stays queued.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./faults_lib.sh
. "$RELAYQ_E2E_DIR/faults_lib.sh"
faults_init
make_certs

LONG550='["send", "550-5.1.1 first line of a long refusal\r\n"], ["repeat", "550-5.1.1 more and more text for the same refusal, line after line\r\n", 118], ["send", "550 5.1.1 last line\r\n"]'
MIXED="{\"rcpt_map\": {
	\"temp@example.org\": [[\"send\", \"451 4.2.0 mailbox busy, try again later\r\n\"]],
	\"gone@example.org\": [[\"send\", \"550 5.1.1 no such user here\r\n\"]],
	\"long@example.org\": [$LONG550]}, \"offer\": {\"pipelining\": PIPE}}"

mixed_case() {
	_p=$1
	_n=mixed-pipelining-$_p
	start_scripted srv "$(printf '%s' "$MIXED" | sed "s/PIPE/$_p/")" --mode starttls \
		--cert "$T0/server.pem" --key "$T0/server.key"
	CONF=$T/relayq.conf
	write_config "$CONF" ca_file="$T0/ca.pem" extra="timeout = 2s"
	SENDER=$(id -un)@example.test
	printf 'To: ok@example.org, temp@example.org\nCc: gone@example.org, long@example.org\nSubject: mixed %s\n\nOne message, four fates.\n' \
		"$_p" >"$T/msg"
	sm -C "$CONF" -odq -t -i <"$T/msg"
	expect_rc "$_n: sendmail -odq -t" 0

	# --- pass 1 ---
	sm -C "$CONF" -q
	check_match "$_n: pass 1 exits 0 or 75" '^(0|75)$' "$RC"
	wait_for 2 5 || true
	check_eq "$_n: pass 1: the copy for ok@ and the DSN" 2 "$(received_count)"
	check_eq "$_n: pass 1: the copy went to ok@ only" "ok@example.org" \
		"$(rcpts "$SH_RX/0001")"
	check_eq "$_n: pass 1: two MAIL (the message, the DSN)" 2 \
		"$(sent_lines MAIL "$SH_LOG" | wc -l)"
	check_eq "$_n: pass 1: the DSN has the null sender" "" \
		"$(jget "$SH_RX/0002.json" mail_from)"
	check_eq "$_n: pass 1: the DSN goes to the sender" "$SENDER" \
		"$(rcpts "$SH_RX/0002")"
	check_eq "$_n: pass 1: through the same smarthost, over TLS" "true" \
		"$(jget "$SH_RX/0002.json" tls)"
	check_grep "$_n: DSN names gone@" 'gone@example\.org' "$SH_RX/0002.eml"
	check_grep "$_n: DSN names long@" 'long@example\.org' "$SH_RX/0002.eml"
	check_grep "$_n: DSN carries the 550" '5\.1\.1' "$SH_RX/0002.eml"
	check_no_grep "$_n: DSN does not report ok@ or temp@ as failed" \
		'^Final-Recipient:.*(ok|temp)@' "$SH_RX/0002.eml"
	_why=$(queue_reasons "$CONF")
	check_grep "$_n: pass 1: still queued" '^summary [0-9]+ 1$' "$T/mailq.parsed"
	check_grep "$_n: pass 1: temp@ pending" '^rcpt temp@example\.org$' "$T/mailq.parsed"
	check_no_grep "$_n: pass 1: ok@ not pending" '^rcpt ok@' "$T/mailq.parsed"
	check_match "$_n: pass 1: the 451 is the reason in mailq" '451 4\.2\.0 mailbox busy' "$_why"
	cp "$T/mailq.parsed" "$T/mailq1.parsed"

	# --- pass 2 ---
	set_script '{}'
	rq -C "$CONF" queue flush
	expect_rc "$_n: pass 2: relayq queue flush" 0
	wait_for 3 5 || true
	check_eq "$_n: pass 2: one more message (temp@), no second DSN" 3 \
		"$(received_count)"
	check_eq "$_n: pass 2: the retry went to temp@ only" "temp@example.org" \
		"$(rcpts "$SH_RX/0003")"
	check_eq "$_n: pass 2: not from the null sender" "$SENDER" \
		"$(jget "$SH_RX/0003.json" mail_from)"
	sed -n '/\[conn 2\]/p' "$SH_LOG" >"$T/conn2.log"
	check_no_grep "$_n: pass 2: gone@ and long@ not retried" \
		'RCPT TO:<(gone|long)@' "$T/conn2.log"
	check_no_grep "$_n: pass 2: ok@ not sent again" 'RCPT TO:<ok@' "$T/conn2.log"
	check_queue_empty "$_n: pass 2: queue empty" "$CONF"

	# --- pass 3 ---
	sm -C "$CONF" -q
	rq -C "$CONF" queue flush
	check_eq "$_n: pass 3: nothing sent again" 3 "$(received_count)"
	check_eq "$_n: MAIL commands in all (3 messages)" 3 "$(awk '$4 == "C:" && toupper($5) == "MAIL"' "$SH_LOG" | wc -l)"
}

rcpt_flood_case() {
	start_scripted srv '{"rcpt_map": {"gone@example.org": [["repeat", "550-5.1.1 flood\r\n", 10000], ["send", "550 5.1.1 end\r\n"]]}}' \
		--mode starttls --cert "$T0/server.pem" --key "$T0/server.key"
	CONF=$T/relayq.conf
	write_config "$CONF" ca_file="$T0/ca.pem" extra="timeout = 2s"
	printf 'To: ok@example.org, gone@example.org\nSubject: rcpt flood\n\nx\n' >"$T/msg"
	sm -C "$CONF" -odq -t -i <"$T/msg"
	expect_rc "rcpt-flood: sendmail -odq -t" 0
	sendmail_q_rss "$CONF"
	check_match "rcpt-flood: sendmail -q exits 0 or 75" '^(0|75)$' "$RC"
	check_rss "rcpt-flood: sendmail -q" 20480
	check_eq "rcpt-flood: nothing accepted" 0 "$(received_count)"
	check_queued "rcpt-flood" "$CONF" 'too many reply lines'
	check_grep "rcpt-flood: gone@ still pending (not bounced)" '^rcpt gone@example\.org$' "$T/mailq.parsed"
	check_grep "rcpt-flood: ok@ still pending" '^rcpt ok@example\.org$' "$T/mailq.parsed"
}

run_case mixed-pipelining mixed_case true
run_case mixed-no-pipelining mixed_case false
run_case rcpt-flood rcpt_flood_case
cases_wait
e2e_finish
