#!/bin/bash
# relayq e2e: the smarthost disconnects, or says 421, at every state of the
# session: greeting, EHLO, STARTTLS, EHLO after TLS, AUTH, MAIL, RCPT, DATA,
# mid-body (after 64 KB of a 1 MB message) and after the final dot.  Each
# time: `sendmail -q` ends within the 2 s deadline, with bounded memory; the
# message is not counted as delivered and stays queued; mailq gives a reason
# that names the state; nothing the session had not reached was sent (no
# AUTH before TLS, no MAIL before AUTH).  Cases run in parallel.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./faults_lib.sh
. "$RELAYQ_E2E_DIR/faults_lib.sh"
faults_init
make_certs
# A 1 MB body, so that the client is still writing when the server acts.
awk 'BEGIN { for (i = 0; i < 16384; i++) printf "%063d\n", i }' >"$T0/big.body"

# state_case STATE CLOSE|421 REASON_ERE
state_case() {
	_st=$1 _how=$2 _ere=$3
	if [ "$_how" = close ]; then
		_ops='[["close"]]'
	else
		_ops='[["send", "421 4.3.2 scripted: service shutting down\r\n"], ["close"]]'
	fi
	start_scripted srv "{\"$_st\": $_ops, \"body_after\": 65536}" \
		--mode starttls --cert "$T0/server.pem" --key "$T0/server.key"
	CONF=$T/relayq.conf
	write_config "$CONF" ca_file="$T0/ca.pem" extra="timeout = 2s"
	{
		printf 'To: bob@example.org\nSubject: fault %s %s\n\n' "$_st" "$_how"
		if [ "$_st" = body ]; then cat "$T0/big.body"; else echo "short body"; fi
	} >"$T/msg"
	sm -C "$CONF" -odq -i bob@example.org <"$T/msg"
	expect_rc "$_st/$_how: sendmail -odq" 0
	sendmail_q_rss "$CONF"
	note "$_st/$_how: sendmail -q exit $RC in $MS ms, peak RSS ${RSS_KB} KB"
	check_match "$_st/$_how: sendmail -q exits 0 or 75" '^(0|75)$' "$RC"
	check_ms_below "$_st/$_how: sendmail -q" 30000
	check_rss "$_st/$_how: sendmail -q" 20480
	check_eq "$_st/$_how: no message accepted by the server" 0 "$(received_count)"
	check_queued "$_st/$_how" "$CONF" "$_ere"
	case $_st in
	greeting | ehlo | starttls)
		check_not_sent "$_st/$_how: no AUTH" AUTH "$SH_LOG"
		check_no_cleartext "$SH_LOG"
		;;
	esac
	case $_st in
	greeting | ehlo | starttls | ehlo2 | auth)
		check_not_sent "$_st/$_how: no MAIL" MAIL "$SH_LOG"
		check_not_sent "$_st/$_how: no DATA" DATA "$SH_LOG"
		;;
	esac
	check_grep "$_st/$_how: the server closed the session" 'closed \(' "$SH_LOG"
	# A second pass against a healthy server delivers it exactly once.
	set_script '{}'
	rq -C "$CONF" queue flush
	expect_rc "$_st/$_how: flush against a healthy server" 0
	check_eq "$_st/$_how: delivered once after the fault is gone" 1 "$(received_count)"
	check_queue_empty "$_st/$_how: queue empty afterwards" "$CONF"
}

for how in close 421; do
	run_case greeting-$how state_case greeting $how 'greeting'
	run_case ehlo-$how state_case ehlo $how 'EHLO'
	run_case starttls-$how state_case starttls $how 'STARTTLS'
	run_case ehlo2-$how state_case ehlo2 $how 'EHLO'
	run_case auth-$how state_case auth $how 'AUTH'
	run_case mail-$how state_case mail $how 'MAIL FROM'
	run_case rcpt-$how state_case rcpt $how 'RCPT TO'
	run_case data-$how state_case data $how 'DATA'
	run_case body-$how state_case body $how 'message body|end of data'
	run_case dot-$how state_case dot $how 'end of data'
done
cases_wait
e2e_finish
