#!/bin/sh
# relayq e2e: message bodies arrive byte for byte.  For each message the
# body received by the smarthost (after the first CRLF CRLF) must equal the
# submitted body with LF turned into CRLF:
#   - 8-bit bodies (UTF-8 and Latin-1 bytes)
#   - a 1 MiB body of normal-length lines
#   - a lone "." line ends the input without -i, is kept with -i and -oi
#   - lines starting with "." (dot-stuffing round trip), with and without -i
#   - CRLF input stays CRLF (no CR CR LF); a last line without LF gets CRLF
# All queued with -odq, then one `relayq run`.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost bodies
CONF=$T/relayq.conf
write_config "$CONF"

N=0
# submit NAME SENDMAIL_OPTS...: headers (LF) + $T/NAME.body, recipient
# bob@example.org on the command line.
submit() {
	_nm=$1
	shift
	N=$((N + 1))
	{
		printf 'To: bob@example.org\nSubject: bodies %s\n' "$_nm"
		[ -n "${HDRS:-}" ] && printf '%s\n' "$HDRS"
		printf '\n'
		cat "$T/$_nm.body"
	} >"$T/$_nm.msg"
	sm -C "$CONF" -odq "$@" bob@example.org <"$T/$_nm.msg"
	expect_rc "submit '$_nm' (sendmail -odq $*)" 0
}

# 8-bit: UTF-8 text, then Latin-1 bytes that are not valid UTF-8, a NBSP.
printf 'Gr\303\274\303\237e aus K\303\266ln \342\234\223 \360\237\223\254\nLatin-1: caf\351 na\357ve \351t\351\240fin\n\nend\n' \
	>"$T/eightbit.body"
HDRS='MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit' submit eightbit -i

# 1 MiB of normal lines.
mt gen-body "$T/big.body" 1048576 || die "gen-body"
submit big -i

# lone dot without -i: input ends there.
printf 'before the dot\n.\nafter the dot\n' >"$T/lonedot.body"
submit lonedot
printf 'before the dot\n' >"$T/lonedot.expected"

# lone dot with -i and with -oi: kept.
printf 'before the dot\n.\nafter the dot\n' >"$T/lonedot_i.body"
submit lonedot_i -i
cp "$T/lonedot_i.body" "$T/lonedot_oi.body"
submit lonedot_oi -oi

# dot-stuffing round trip.
printf '.leading dot\n..two dots\n...\n. space\n.\n.\r\nend\n.' >"$T/dots_i.body"
submit dots_i -i
printf '.leading dot\n..two dots\n...\n. space\n.\n.\nend\n.\n' >"$T/dots_i.expected"
# without -i, lines that are not a lone dot are ordinary lines.
printf '.leading dot\n..two dots\n...\n. space\nend\n' >"$T/dots_noi.body"
submit dots_noi

# CRLF input, and no final newline.
printf 'crlf line one\r\ncrlf line two\r\n' >"$T/crlf.body"
submit crlf -i
printf 'last line without newline' >"$T/nolf.body"
submit nolf -i
printf 'last line without newline\n' >"$T/nolf.expected"

rq -C "$CONF" run
expect_rc "relayq run" 0
wait_for "$N" 30 || die "not all messages arrived"

for nm in eightbit big lonedot lonedot_i lonedot_oi dots_i dots_noi crlf nolf; do
	M=$(msg_by_subject "bodies $nm") || continue
	exp=$T/$nm.body
	[ -f "$T/$nm.expected" ] && exp=$T/$nm.expected
	check_body "$nm: body bytes" "$exp" "$M.eml"
	check_crlf_only "$nm: CRLF line ends only" "$M.eml"
	check_eq "$nm: recipient" "bob@example.org" "$(rcpts "$M")"
done

M=$(msg_by_subject "bodies eightbit") &&
	if jget "$M.json" mail_options | grep -qx 'BODY=8BITMIME'; then
		ok "eightbit: MAIL FROM carried BODY=8BITMIME"
	else
		warn "eightbit: 8-bit body sent without BODY=8BITMIME (RFC 6152); MAIL options: $(jget "$M.json" mail_options | tr '\n' ' ')"
	fi
M=$(msg_by_subject "bodies big") &&
	check_match "big: size at the smarthost is over 1 MiB" '^[0-9]{7,}$' "$(jget "$M.json" size)"
check_queue_empty "queue empty" "$CONF"
e2e_finish
