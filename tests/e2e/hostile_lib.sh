# relayq e2e: helpers for the hostile-input tests (tests/e2e/hostile_*.sh).  Sourced after lib.sh.
# shellcheck shell=sh
#
# Every hostile test runs against a STARTTLS smarthost that requires AUTH
# with a distinctive password ($HPW), and ends with check_no_secrets: the
# password, its AUTH PLAIN blob and its AUTH LOGIN answer never appear in
# anything relayq printed (every run's stdout and stderr, -v included) or
# logged.  The smarthost's own log is not relayq output and is not checked.

HPW='hQ7zK2pW9-hostile-S3cret'

# hostile_setup NAME [smarthost.py options...]: certificates, a smarthost
# (SH_*), and $CONF for a private spool $T/spool with the password set.
hostile_setup() {
	_hn=$1
	shift
	make_certs
	start_smarthost "$_hn" --mode starttls --cert "$T/server.pem" \
		--key "$T/server.key" --auth "alice:$HPW" "$@"
	CONF=$T/relayq.conf
	write_config "$CONF" password="$HPW"
}

# b64 STRING (printf %b escapes allowed): base64 without line breaks.
b64() { printf '%b' "$1" | base64 | tr -d '\n'; }

# check_no_secrets [FILE...]: none of the secret forms in any command's
# output ($T/cmd.*) nor in the files given.
check_no_secrets() {
	_plain=$(b64 "\\0alice\\0$HPW")
	_login=$(b64 "$HPW")
	: >"$T/secrets.hits"
	for _f in "$T"/cmd.*.out "$T"/cmd.*.err "$T/commands.log" "$@"; do
		[ -f "$_f" ] || continue
		for _s in "$HPW" "$_plain" "$_login"; do
			if grep -aqF -- "$_s" "$_f"; then
				printf '%s: %s\n' "$(basename "$_f")" "$_s" >>"$T/secrets.hits"
			fi
		done
	done
	if [ -s "$T/secrets.hits" ]; then
		check_fail "no password, AUTH PLAIN or AUTH LOGIN secret in relayq output" \
			"none" "$(head -n 5 "$T/secrets.hits")"
	else
		ok "no password, AUTH PLAIN or AUTH LOGIN secret in $(ls "$T"/cmd.*.err 2>/dev/null | wc -l | tr -d ' ') commands' output"
	fi
	# The positive control: AUTH really happened with that password.
	check_grep "the smarthost saw a successful AUTH (secrets were in use)" \
		"AUTH (PLAIN|LOGIN) as b'alice': ok" "$SH_LOG"
}

# hostile_py CODE ARGS...: run a python snippet (for checks on received
# messages).
hostile_py() {
	_code=$1
	shift
	"$RELAYQ_PYTHON" -c "$_code" "$@"
}

# check_clean_message WHAT BASE: a received message has CRLF line ends
# only, no NUL, no header line longer than 998 octets.
check_clean_message() {
	if _d=$(hostile_py '
import sys
d = open(sys.argv[1], "rb").read()
bad = []
if b"\0" in d: bad.append("NUL byte")
body = d.find(b"\r\n\r\n")
hdr = d[:body if body >= 0 else len(d)]
for i, l in enumerate(d.split(b"\r\n")):
    if b"\r" in l or b"\n" in l: bad.append("bare CR/LF in line %d" % (i + 1)); break
for l in hdr.split(b"\r\n"):
    if len(l) > 998: bad.append("header line of %d octets" % len(l)); break
print("; ".join(bad))
sys.exit(1 if bad else 0)' "$2.eml"); then
		ok "$1: clean CRLF message"
	else
		check_fail "$1: clean CRLF message" "no NUL, bare CR/LF, long header line" "$_d"
	fi
}
