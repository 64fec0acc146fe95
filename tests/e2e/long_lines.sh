#!/bin/sh
# relayq e2e: lines over 998 octets are delivered, never refused or cut.
# A 5000-octet line in a text/plain body arrives quoted-printable and
# decodes back to exactly the original body; a long line in a multipart
# message (and in a header) arrives folded with its bytes intact; no line
# on the wire is longer than 998 octets (the smarthost refuses longer
# ones); the same through a `sendmail -bs` session; lines longer than
# submission's read buffer, and a CRLF split between two reads, arrive
# whole.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost main
CONF=$T/relayq.conf
write_config "$CONF"

# pyrun CODE ARGS...: a short python check, exit status = result.
pyrun() {
	_c=$1
	shift
	"$RELAYQ_PYTHON" -c "$_c" "$@"
}

# 1. text/plain, UTF-8, a 5000-octet line with '=', spaces, 8-bit, and a
#    trailing space; CRLF headers and LF body as PHP sends them.
pyrun '
import sys
line = ("Grüße = x " * 600).encode()[:5000]
body = b"first line\n" + line + b"\nlast line with trailing space \n"
open(sys.argv[1], "wb").write(body)
' "$T/body1" || die "python"
{
	printf 'To: bob@example.org\r\nSubject: long text\r\n'
	printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
	cat "$T/body1"
} >"$T/msg1"
sm -C "$CONF" -odq -t -i <"$T/msg1"
expect_rc "sendmail -t -i, 5000-octet text line" 0

# 2. multipart with a 3000-octet line in a part, and a 1500-octet Subject.
pyrun '
import sys
open(sys.argv[1], "wb").write(b"Z" * 3000)
' "$T/longpart" || die "python"
SUBJ="multipart long $(seq 1 300 | sed 's/^/word/' | tr '\n' ' ' | sed 's/ $//')"
{
	printf 'To: bob@example.org\nSubject: %s\nMIME-Version: 1.0\n' "$SUBJ"
	printf 'Content-Type: multipart/mixed; boundary="BB"\n\n--BB\n'
	printf 'Content-Type: application/octet-stream\n\n'
	cat "$T/longpart"
	printf '\n--BB--\n'
} >"$T/msg2"
sm -C "$CONF" -odq -t -i <"$T/msg2"
expect_rc "sendmail -t -i, multipart with a long line" 0

# 3. the same text message through -bs.
{
	printf 'HELO x\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\n'
	printf 'DATA\r\nSubject: long bs\r\nContent-Type: text/plain\r\n\r\n'
	sed 's/$/\r/' "$T/body1"
	printf '.\r\nQUIT\r\n'
} >"$T/bs.in"
sm -C "$CONF" -odq -bs <"$T/bs.in"
expect_rc "sendmail -bs with a 5000-octet line" 0
check_eq "-bs: nothing on stderr" "" "$(cat "$ERR")"
check_grep "-bs: queued" '^250 2\.0\.0 Ok: queued as ' "$OUT"

# 4. lines longer than submission's read buffer (16 KB): a CRLF whose CR
#    is the last byte of the first read, then a 40 000-octet line, read
#    in pieces.
pyrun '
import sys
head = b"To: bob@example.org\r\nSubject: long pieces\r\nContent-Type: text/plain\r\n\r\n"
first = b"a" * (16383 - len(head))
big = (b"c=d \xc3\xa9 " * 5000)[:40000]
open(sys.argv[1], "wb").write(head + first + b"\r\n" + big + b"\r\nend\r\n")
open(sys.argv[2], "wb").write(first + b"\n" + big + b"\nend\n")
assert (head + first + b"\r")[16383:16384] == b"\r"
' "$T/msg4" "$T/body4" || die "python"
sm -C "$CONF" -odq -t -i <"$T/msg4"
expect_rc "sendmail -t -i, lines longer than the read buffer" 0

sm -C "$CONF" -q
expect_rc "sendmail -q" 0
wait_for 4 || die "messages did not arrive"
nap

# check_qp WHAT EML BODY: EML's body is quoted-printable and decodes to
# BODY (LF -> CRLF).
check_qp() {
	_what=$1
	shift
	if qp_decodes "$@"; then ok "$_what"; else check_fail "$_what"; fi
}
qp_decodes() {
	pyrun '
import quopri, sys
eml = open(sys.argv[1], "rb").read()
head, body = eml.split(b"\r\n\r\n", 1)
want = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
got = quopri.decodestring(body)
if got != want:
    print("decoded body differs: %d vs %d octets" % (len(got), len(want)))
    sys.exit(1)
' "$1" "$2"
}

M1=$(msg_by_subject "long text") || die "message 1 missing"
check_eq "1: Content-Transfer-Encoding" "quoted-printable" \
	"$(header "$M1.eml" Content-Transfer-Encoding)"
check_eq "1: MIME-Version added" "1.0" "$(header "$M1.eml" MIME-Version)"
check_eq "1: charset kept" "text/plain; charset=utf-8" \
	"$(header "$M1.eml" Content-Type)"
check_qp "1: QP body decodes to the original bytes" "$M1.eml" "$T/body1"

M2=$(msg_by_subject "$SUBJ") || die "message 2 (folded Subject) missing"
check_no_grep "2: not re-encoded" '^Content-Transfer-Encoding' "$M2.eml"
if pyrun '
import sys
eml = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read()
body = eml.split(b"\r\n\r\n", 1)[1]
part = body.split(b"application/octet-stream\r\n\r\n", 1)[1]
part = part.split(b"\r\n--BB--", 1)[0]
sys.exit(0 if part.replace(b"\r\n", b"") == want and
         part.count(b"\r\n") >= 3 else 1)
' "$M2.eml" "$T/longpart"; then
	ok "2: long part line folded, bytes intact"
else
	check_fail "2: long part line folded, bytes intact"
fi

M3=$(msg_by_subject "long bs") || die "message 3 missing"
check_eq "3: -bs message is QP" "quoted-printable" \
	"$(header "$M3.eml" Content-Transfer-Encoding)"
check_qp "3: -bs QP body decodes to the original bytes" "$M3.eml" "$T/body1"

M4=$(msg_by_subject "long pieces") || die "message 4 missing"
check_eq "4: re-encoded as QP" "quoted-printable" \
	"$(header "$M4.eml" Content-Transfer-Encoding)"
check_qp "4: lines read in pieces decode to the original bytes" "$M4.eml" \
	"$T/body4"

for m in "$M1" "$M2" "$M3" "$M4"; do
	n=$(awk 'length($0) > 999 { n++ } END { print n + 0 }' "$m.eml")
	check_eq "$(basename "$m"): no line over 998 octets on the wire" 0 "$n"
	check_crlf_only "$(basename "$m"): CRLF only" "$m.eml"
done
check_queue_empty "queue empty" "$CONF"
e2e_finish
