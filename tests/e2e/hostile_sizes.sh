#!/bin/sh
# relayq e2e: hostile sizes.  Each case is delivered exactly as
# expected or refused cleanly with nothing queued; never a partial message.
#  - a 200 KB display name in To: with -t (with and without white space):
#    one recipient, every header line folded to <= 998 octets;
#  - 100 000 recipients with -t (1 000 Bcc: fields of 100 addresses, so
#    the message itself stays small): all 100 000 delivered, once each, in
#    transactions of at most 1 000 recipients;
#  - 64 000 header lines: all arrive, in order, body intact;
#  - a 50 MB message (50 000 000 octets, under the default max_size of
#    50 MiB): delivered byte for byte, and the peak RSS of the submitting
#    sendmail and of the runner (sendmail -q) stays a few MB, not
#    proportional to the size (/usr/bin/time -v, Debian package `time`);
#  - over max_size: exit 65, nothing queued;
#  - max_size counts what the caller sent, not the re-encoding: with
#    max_size = 2M an 8-bit text body of 1.5 MB with long lines (stored
#    base64, more than 2 MB) is delivered intact, one of 2.5 MB is
#    refused (65, the size and the limit named, nothing queued);
#  - recipient limit: 100 000 (the limit, above) delivered; 100 001 with -t,
#    and 140 000 Bcc recipients of 480 octets (67 MB of header, once moved
#    to corrupt/ after sendmail said 0), are refused at submission: 65,
#    "too many recipients: N (limit 100000)", nothing queued;
#  - empty input (no header, no body): queued with the fields relayq adds
#    (Received, Date, Message-ID, From) and no body, delivered as that;
#    with -t: refused (64, no recipients);
#  - no final newline (in the body; in a header-only message): the last
#    line arrives complete, CRLF-terminated.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./hostile_lib.sh
. "$RELAYQ_E2E_DIR/hostile_lib.sh"
e2e_init
# aiosmtpd's default SIZE limit is 32 MiB: room for the 50 MB message.
hostile_setup sizes --data-size-limit 60000000
E2E_CMD_TIMEOUT=120

# --- generate the inputs (python: no shell loops) ---------------------------
hostile_py '
import sys, os
t = sys.argv[1]
def w(name, data):
    with open(os.path.join(t, name), "wb") as f: f.write(data)
w("name-nows.msg", b"To: \"" + b"N" * 204800 + b"\" <bob@example.org>\nSubject: long name no space\n\nbody\n")
w("name-ws.msg", b"To: \"" + b" ".join([b"word%05d" % i for i in range(204800 // 10)]) + b"\" <bob@example.org>\nSubject: long name spaces\n\nbody\n")
rc = ["r%06d@example.org" % i for i in range(100000)]
w("rcpts.list", ("\n".join(rc) + "\n").encode())
hdr = b"".join(b"Bcc: " + ", ".join(rc[i:i + 100]).encode() + b"\n" for i in range(0, 100000, 100))
w("rcpts.msg", b"To: undisclosed-recipients:;\nSubject: hundred thousand\n" + hdr + b"\nto 100000\n")
w("rcpts1.msg", b"To: one-too-many@example.org\nSubject: hundred thousand and one\n" + hdr + b"\nto 100001\n")
big = b"".join(b"Bcc: " + b", ".join(b"%06d%s@example.org" % (i + j, b"b" * 462) for j in range(0, 1000)) + b"\n" for i in range(0, 140000, 1000))
w("rcpts140k.msg", b"To: undisclosed-recipients:;\nSubject: attack\n" + big + b"\nbody\n")
# 8-bit text with long lines: 60 % 8-bit bytes (QP would triple them).
l8 = ("Привет мир, " * 100).encode() + b"\n"
w("8bit-ok.msg", b"Subject: eight-bit 1.5 MB\nContent-Type: text/plain; charset=utf-8\n\n" + l8 * (1500000 // len(l8)))
w("8bit-ok.body", l8 * (1500000 // len(l8)))
w("8bit-big.msg", b"Subject: eight-bit 2.5 MB\nContent-Type: text/plain; charset=utf-8\n\n" + l8 * (2500000 // len(l8)))
h = b"".join(b"X-Line-%05d: value %d\n" % (i, i) for i in range(64000))
w("headers.msg", b"Subject: many header lines\n" + h + b"\nbody after 64000 header lines\n")
# 50 000 000 octets of body: 76-octet lines (+LF), a counter in each.
line = bytearray()
n = 0
parts = []
size = 0
while size < 50000000:
    l = b"%010d " % n + b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-=+" + b"\n"
    parts.append(l)
    size += len(l)
    n += 1
body = b"".join(parts)[:50000000 - 1] + b"\n"
w("big.body", body)
w("big.msg", b"Subject: fifty megabytes\n\n" + body)
' "$T" || die "cannot generate the inputs"

RSS_SCALE=1
grep -qa libasan "$RELAYQ_SBIN/relayq" 2>/dev/null && RSS_SCALE=4
# peak_kb FILE: "Maximum resident set size" from /usr/bin/time -v output.
peak_kb() { sed -n 's/.*Maximum resident set size (kbytes): *//p' "$1" | tail -n 1; }
HAVE_GNU_TIME=0
if [ -x /usr/bin/time ] && /usr/bin/time -v true 2>/dev/null; then
	HAVE_GNU_TIME=1
else
	note "no GNU /usr/bin/time (Debian package time): RSS not measured"
fi
# tsm NAME ARGS...: sendmail under /usr/bin/time -v (stderr of both in $ERR).
tsm() {
	_tn=$1
	shift
	if [ "$HAVE_GNU_TIME" = 1 ]; then
		run /usr/bin/time -v -o "$T/$_tn.time" "$RELAYQ_SBIN/sendmail" "$@"
	else
		sm "$@"
	fi
}

# --- a baseline for the RSS: a small message --------------------------------
printf 'Subject: small\n\nsmall\n' >"$T/small.msg"
tsm small.submit -C "$CONF" -odq bob@example.org <"$T/small.msg"
expect_rc "small message queued" 0
tsm small.run -C "$CONF" -q
expect_rc "small message: sendmail -q" 0
wait_for 1 || die "the small message did not arrive"

# --- 50 MB -----------------------------------------------------------------
tsm big.submit -C "$CONF" -odq -i bob@example.org <"$T/big.msg"
expect_rc "50 MB message queued (sendmail -odq)" 0
note "50 MB submission: $MS ms"
tsm big.run -C "$CONF" -q
expect_rc "50 MB message: sendmail -q" 0
note "50 MB delivery: $MS ms"
wait_for 2 60 || true
if [ "$HAVE_GNU_TIME" = 1 ]; then
	for w in submit run; do
		base=$(peak_kb "$T/small.$w.time")
		big=$(peak_kb "$T/big.$w.time")
		note "peak RSS, sendmail $w: small message ${base} KB, 50 MB message ${big} KB"
		# A few MB: at most 8 MB more than for a tiny message, 24 MB in
		# all (4 times that in a sanitizer build, as in faults_lib.sh).
		if [ -n "$big" ] && [ -n "$base" ] &&
			[ "$big" -le $((base + 8192 * RSS_SCALE)) ] &&
			[ "$big" -le $((24576 * RSS_SCALE)) ]; then
			ok "50 MB message: peak RSS of the $w bounded (${big} KB, small: ${base} KB)"
		else
			check_fail "50 MB message: peak RSS of the $w bounded" \
				"<= $((base + 8192 * RSS_SCALE)) KB and <= $((24576 * RSS_SCALE)) KB" "${big:-?} KB"
		fi
	done
fi
m=$(msg_by_subject "fifty megabytes") && {
	check_eq "50 MB: recipients" "bob@example.org" "$(rcpts "$m")"
	check_body "50 MB: body byte for byte (CRLF)" "$T/big.body" "$m.eml"
	check_clean_message "50 MB" "$m"
}
rm -f "$T/big.msg" "$T/expected.body" "$T/got.body"

# --- over max_size: refused, nothing queued ----------------------------------
write_config "$T/small.conf" password="$HPW" spool="$T/spool" extra="" 
sed -i 's/^retry = .*/&\nmax_size = 1M/' "$T/small.conf"
spool_snapshot >"$T/spool.before"
hostile_py 'import sys; open(sys.argv[1], "wb").write(b"Subject: too big\n\n" + (b"x" * 75 + b"\n") * 20000)' "$T/toobig.msg"
sm -C "$T/small.conf" -odq bob@example.org <"$T/toobig.msg"
expect_rc "1.5 MB message over max_size = 1M: refused" 65
check_match "over max_size: says why" "max_size|maximum size" "$(cat "$ERR")"
spool_snapshot >"$T/spool.after"
check_eq "over max_size: nothing queued, spool unchanged" "$(cat "$T/spool.before")" "$(cat "$T/spool.after")"

# --- max_size counts the input, not its re-encoding ---------------------------
write_config "$T/max2.conf" password="$HPW" spool="$T/spool" extra=""
sed -i 's/^retry = .*/&\nmax_size = 2M/' "$T/max2.conf"
sm -C "$T/max2.conf" -odq bob@example.org <"$T/8bit-ok.msg"
expect_rc "1.5 MB 8-bit text with long lines under max_size = 2M: queued" 0
spool_snapshot >"$T/spool.before"
sm -C "$T/max2.conf" -odq bob@example.org <"$T/8bit-big.msg"
expect_rc "2.5 MB 8-bit text over max_size = 2M: refused" 65
check_match "over max_size: names the size and the limit" \
	"message too large: 2[0-9]{6} octets \(limit \[queue\] max_size = 2097152\)" "$(cat "$ERR")"
spool_snapshot >"$T/spool.after"
check_eq "2.5 MB over max_size: nothing queued" "$(cat "$T/spool.before")" "$(cat "$T/spool.after")"

# --- recipient limit: one set of limits, checked before the commit ------------
spool_snapshot >"$T/spool.before"
sm -C "$CONF" -odq -t <"$T/rcpts1.msg"
expect_rc "100 001 recipients (-t): refused" 65
check_grep "100 001 recipients: says so" "too many recipients: 100001 \(limit 100000\)" "$ERR"
sm -C "$CONF" -odq -t <"$T/rcpts140k.msg"
expect_rc "140 000 Bcc recipients of 480 octets (67 MB): refused" 65
check_grep "67 MB of Bcc: over max_size (Bcc fields count, as sent)" \
	"message too large: 67[0-9]{6} octets" "$ERR"
# With room for the size, the recipient limit is what refuses it.
write_config "$T/max100.conf" password="$HPW" spool="$T/spool" extra=""
sed -i 's/^retry = .*/&\nmax_size = 100M/' "$T/max100.conf"
sm -C "$T/max100.conf" -odq -t <"$T/rcpts140k.msg"
expect_rc "140 000 Bcc recipients, max_size = 100M: refused" 65
check_grep "140 000 recipients: says so" "too many recipients: 140000 \(limit 100000\)" "$ERR"
note "140 000 recipients refused in $MS ms"
spool_snapshot >"$T/spool.after"
check_eq "refused recipient lists: nothing queued" "$(cat "$T/spool.before")" "$(cat "$T/spool.after")"
rm -f "$T/rcpts140k.msg"

# --- display names, header lines, recipients -----------------------------------
sm -C "$CONF" -odq -t <"$T/name-nows.msg"
expect_rc "200 KB display name without white space (-t)" 0
sm -C "$CONF" -odq -t <"$T/name-ws.msg"
expect_rc "200 KB display name with white space (-t)" 0
sm -C "$CONF" -odq bob@example.org <"$T/headers.msg"
expect_rc "64 000 header lines" 0
sm -C "$CONF" -odq -t <"$T/rcpts.msg"
expect_rc "100 000 recipients (-t, Bcc:)" 0
note "100 000 recipients: submission $MS ms"

# --- empty input, no final newline ---------------------------------------------
sm -C "$CONF" -odq bob@example.org </dev/null
expect_rc "empty input: queued" 0
sm -C "$CONF" -odq -t </dev/null
check_match "empty input with -t: refused (no recipients)" '^(64|65)$' "$RC"
check_match "empty input with -t: says why" . "$(cat "$ERR")"
printf 'Subject: no final newline\n\nfirst line\nlast line without newline' >"$T/nonl.msg"
sm -C "$CONF" -odq bob@example.org <"$T/nonl.msg"
expect_rc "no final newline in the body" 0
printf 'Subject: header only no newline' >"$T/nonl2.msg"
sm -C "$CONF" -odq bob@example.org <"$T/nonl2.msg"
expect_rc "header-only message without a final newline" 0

tsm rcpts.run -C "$CONF" -q
expect_rc "sendmail -q (names, headers, 100 000 recipients, empty...)" 0
note "delivery pass: $MS ms"
wait_for 109 60 || true
check_eq "nothing moved to corrupt/" "" "$(ls "$T/spool/corrupt" 2>/dev/null)"

m=$(msg_by_subject "eight-bit 1.5 MB") && {
	check_clean_message "1.5 MB 8-bit text" "$m"
	check_eq "1.5 MB 8-bit text: re-encoded, decodes to the original body" "ok" "$(hostile_py '
import sys, email
msg = email.message_from_binary_file(open(sys.argv[1], "rb"))
got = msg.get_payload(decode=True)
want = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
cte = msg["Content-Transfer-Encoding"]
print("ok" if got == want and cte == "base64" else "%s, %d vs %d octets" % (cte, len(got), len(want)))' "$m.eml" "$T/8bit-ok.body")"
}
[ "$HAVE_GNU_TIME" = 1 ] && note "runner peak RSS with 100 000 recipients: $(peak_kb "$T/rcpts.run.time") KB"

for s in "long name no space" "long name spaces"; do
	m=$(msg_by_subject "$s") || continue
	check_eq "$s: one recipient" "bob@example.org" "$(rcpts "$m")"
	check_clean_message "$s" "$m"
	check_eq "$s: To: holds the whole name (folding aside)" "ok" "$(hostile_py '
import sys, re
d = open(sys.argv[1], "rb").read().split(b"\r\n\r\n")[0]
to = re.search(rb"\r\nTo:(.*?)\r\n(?![ \t])", d, re.S).group(1)
to = re.sub(rb"\r\n[ \t]", b"", to).replace(b" ", b"")
want = open(sys.argv[2], "rb").read().split(b"\n")[0][3:].replace(b" ", b"")
print("ok" if to == want else "differs: %d vs %d octets" % (len(to), len(want)))' "$m.eml" "$T/$( [ "$s" = "long name no space" ] && echo name-nows || echo name-ws).msg")"
done

m=$(msg_by_subject "many header lines") && {
	check_eq "64 000 header lines: all arrived in order, body intact" "ok" "$(hostile_py '
import sys
d = open(sys.argv[1], "rb").read()
h, _, b = d.partition(b"\r\n\r\n")
xs = [l for l in h.split(b"\r\n") if l.startswith(b"X-Line-")]
want = [b"X-Line-%05d: value %d" % (i, i) for i in range(64000)]
print("ok" if xs == want and b == b"body after 64000 header lines\r\n" else "got %d X-Line fields, body %r" % (len(xs), b[:60]))' "$m.eml")"
	check_clean_message "64 000 header lines" "$m"
}

# 100 000 recipients go out in transactions of 1 000 (RCPT_BATCH in
# src/deliver.c): 100 copies of the message, the union of their envelopes
# each recipient exactly once.
mt find "$SH_RX" "hundred thousand" >"$T/hundred.list"
check_eq "100 000 recipients: 100 transactions of 1 000" 100 "$(grep -c . "$T/hundred.list")"
check_eq "100 000 recipients: each exactly once, <= 1 000 per transaction" "ok" "$(hostile_py '
import sys, json
got, most = [], 0
for base in open(sys.argv[1]).read().split():
    r = json.load(open(base + ".json"))["rcpt_tos"]
    got += r
    most = max(most, len(r))
want = open(sys.argv[2]).read().split()
print("ok" if sorted(got) == sorted(want) and len(got) == len(set(got)) and most <= 1000 else "got %d (%d distinct, at most %d at once), want %d" % (len(got), len(set(got)), most, len(want)))' "$T/hundred.list" "$T/rcpts.list")"
m=$(head -n 1 "$T/hundred.list")
if [ -n "$m" ]; then
	check_no_grep "100 000 recipients: no Bcc: field arrived" '^Bcc:' "$m.eml"
	check_clean_message "100 000 recipients" "$m"
fi

# Empty input: exactly the added fields and no body.
m=$(for j in "$SH_RX"/[0-9]*.json; do
	grep -qi '^Subject:' "${j%.json}.eml" || echo "${j%.json}"
done)
if [ "$(printf '%s\n' "$m" | grep -c .)" = 1 ]; then
	check_eq "empty input: the added fields only, no body" \
		"Received Date Message-ID From" "$(hostile_py '
import sys
d = open(sys.argv[1], "rb").read()
names = [l.split(b":")[0].decode() for l in d.split(b"\r\n") if l and l[:1] not in b" \t"]
print(" ".join(names) if d.endswith(b"\r\n") and b"\r\n\r\n" not in d else "bad: %r" % d[-80:])' "$m.eml")"
	check_eq "empty input: recipient" "bob@example.org" "$(rcpts "$m")"
else
	check_fail "exactly one message without Subject (the empty input)" 1 "$m"
fi

m=$(msg_by_subject "no final newline") &&
	check_eq "no final newline: the last line arrives complete" \
		"$(printf 'first line\r\nlast line without newline\r\n' | od -c)" \
		"$(mt body "$m.eml" /dev/stdout | od -c)"
m=$(msg_by_subject "header only no newline") && {
	check_clean_message "header only, no final newline" "$m"
	check_eq "header only, no final newline: Subject intact" \
		"header only no newline" "$(header "$m.eml" Subject)"
}

check_eq "messages at the smarthost (100 of them the 100 000 recipients)" 109 "$(received_count)"
check_queue_empty "queue empty at the end" "$CONF"
check_no_secrets "$T"/*.time
e2e_finish
