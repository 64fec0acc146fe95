#!/bin/bash
# relayq e2e: SMTP smuggling.  One message per end-of-data look-alike --
# \n.\n  \r.\r  \r.\n  \n.\r  \n.\r\n  \r\n.\n  \r.\r\n  \r\n.\r  \r\n\0.\r\n
# \r\n.\0\r\n, and the real \r\n.\r\n as a control -- each followed by a
# complete second SMTP transaction (MAIL FROM/RCPT TO/DATA/.../QUIT lines) in
# the body.  All are queued, then sent in one session to a raw recorder that
# keeps the exact bytes of every DATA and ends it only at CRLF.CRLF.  It must
# see exactly one message per submission, from the real sender to the real
# recipient, whose DATA has clean CRLF lines only (no bare CR or LF, no NUL),
# exactly one line "." (the terminator, last), and no second transaction.
# With and without PIPELINING.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./faults_lib.sh
. "$RELAYQ_E2E_DIR/faults_lib.sh"
faults_init

SEQS='\n.\n \r.\r \r.\n \n.\r \n.\r\n \r\n.\n \r.\r\n \r\n.\r \r\n\0.\r\n \r\n.\0\r\n \r\n.\r\n'
NSEQ=$(echo $SEQS | wc -w)

smuggle_case() {
	_p=$1
	_n=smuggle-pipelining-$_p
	start_scripted srv "{\"offer\": {\"pipelining\": $_p}}" --mode plain
	CONF=$T/relayq.conf
	write_config "$CONF" tls=none tls_verify= ca_file= user= extra="timeout = 3s"
	SENDER=$(id -un)@example.test
	_i=0
	for s in $SEQS; do
		_i=$((_i + 1))
		{
			printf 'To: bob@example.org\nSubject: smuggle %02d\n\nfirst line' "$_i"
			printf "$s"
			printf 'MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n'
			printf 'From: evil@attacker.test\r\nSubject: smuggled %02d\r\n\r\nsmuggled body\r\n.\r\nQUIT\r\n' "$_i"
			printf 'last line\n'
		} >"$T/msg$_i"
		sm -C "$CONF" -odq -i bob@example.org <"$T/msg$_i"
		expect_rc "$_n: queue message $_i ($s)" 0
	done
	sm -C "$CONF" -q
	expect_rc "$_n: sendmail -q" 0
	check_eq "$_n: one message per submission" "$NSEQ" "$(received_count)"
	check_eq "$_n: one session" 1 "$(connections)"
	check_eq "$_n: one MAIL per submission" "$NSEQ" \
		"$(awk '$4 == "C:" && toupper($5) == "MAIL"' "$SH_LOG" | wc -l)"
	check_eq "$_n: one DATA per submission" "$NSEQ" \
		"$(awk '$4 == "C:" && toupper($5) == "DATA"' "$SH_LOG" | wc -l)"
	check_no_grep "$_n: no smuggled command reached the server" \
		'C: .*(evil@attacker|victim@example)' "$SH_LOG"
	check_eq "$_n: one QUIT (the real one)" 1 \
		"$(awk '$4 == "C:" && toupper($5) == "QUIT"' "$SH_LOG" | wc -l)"
	check_eq "$_n: every message from the real sender to the real recipient" \
		"$NSEQ" "$(for j in "$SH_RX"/[0-9]*.json; do
			[ "$(jget "$j" mail_from)" = "$SENDER" ] &&
				[ "$(jget "$j" rcpt_tos)" = bob@example.org ] && echo y
		done | wc -l)"
	"$RELAYQ_PYTHON" - "$SH_RX" >"$T/raw.check" 2>&1 <<'PY'
import glob, os, sys
bad = 0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.raw"))):
    raw = open(f, "rb").read()
    why = []
    if not raw.endswith(b"\r\n.\r\n"):
        why.append("does not end in CRLF.CRLF")
    if b"\0" in raw:
        why.append("NUL byte")
    if raw.replace(b"\r\n", b"").find(b"\r") >= 0:
        why.append("bare CR")
    if raw.replace(b"\r\n", b"").find(b"\n") >= 0:
        why.append("bare LF")
    lines = raw.split(b"\r\n")[:-1]
    dots = [i for i, l in enumerate(lines) if l == b"."]
    if dots != [len(lines) - 1]:
        why.append("lines that are a lone '.': %r of %d" % (dots, len(lines)))
    if not any(l == b"..MAIL FROM:<evil@attacker.test>" or
               l == b"MAIL FROM:<evil@attacker.test>" for l in lines):
        why.append("the smuggled MAIL line is not in the body as text")
    if b"..\r\nQUIT\r\n" not in raw:
        why.append("the smuggled '.' is not dot-stuffed")
    print("%s: %s" % (os.path.basename(f), "; ".join(why) or "clean"))
    bad += bool(why)
sys.exit(1 if bad else 0)
PY
	if [ $? = 0 ]; then
		ok "$_n: every DATA is clean CRLF lines with one terminator"
	else
		check_fail "$_n: every DATA is clean CRLF lines with one terminator" \
			"clean" "$(cat "$T/raw.check")"
	fi
	check_queue_empty "$_n: queue empty" "$CONF"
}

run_case smuggle-pipelining smuggle_case true
run_case smuggle-no-pipelining smuggle_case false
cases_wait
e2e_finish
