#!/bin/sh
# relayq e2e: hostile arguments.
#  - the PHPMailer / CVE-2016-10033 class: a sender like
#    "attacker\" -oQ/tmp/ -X/var/www/cache/phpcode.php some"@email.com as
#    one -f argument, as the words PHP's escapeshellcmd() splits it into,
#    and -X/-O/-oQ as separate words: no file is ever created (-X and -oQ
#    never open anything), the sender is refused (65) or used only as an
#    address, a path never becomes a recipient;
#  - CR, LF and other control characters in -f, -r, -F, recipient
#    arguments, -V, -N, -L: refused (65 or 64), nothing queued;
#  - CR and NUL in the To: header with -t: refused or delivered with a
#    clean SMTP dialogue and a clean message;
#  - a GECOS full name with CR, control characters, quotes and angle
#    brackets (root's passwd entry replaced in a private mount namespace;
#    passwd files cannot hold a newline, and usermod/chfn refuse control
#    characters): From: is one well-formed mailbox, no header injected;
#  - a -F full name of 130 000 characters (no white space; ASCII words;
#    UTF-8 words): accepted, every line on the wire within 998 octets, the
#    From: field folded within 78, and its display name decodes to the
#    first 1000 octets of the name (RFC 2047 encoded-words joined, or the
#    quoted string unfolded);
#  - the smarthost password is in use and never appears in any output
#    (-v included).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./hostile_lib.sh
. "$RELAYQ_E2E_DIR/hostile_lib.sh"
e2e_init
hostile_setup args

# Where an option that opened files would leave them.
mkdir -p "$T/oq" "$T/www/cache" "$T/cwd"
PHP_LITERAL=/var/www/cache/phpcode.php
[ -e "$PHP_LITERAL" ] && PHP_LITERAL_EXISTED=1 || PHP_LITERAL_EXISTED=0
[ -e /tmp/phpcode.php ] && TMP_PHP_EXISTED=1 || TMP_PHP_EXISTED=0

# hsm SUBJECT ARGS...: sendmail -C $CONF -odq ARGS with a small message
# (no From:, Subject SUBJECT), run from the empty directory $T/cwd.
hsm() {
	_subj=$1
	shift
	printf 'Subject: %s\n\nhostile args test\n' "$_subj" >"$T/msg"
	cd "$T/cwd" || die "cd $T/cwd"
	sm -C "$CONF" -odq "$@" <"$T/msg"
	cd "$T" || die "cd $T"
}
# hsm_t SUBJECT TO-HEADER-BYTES ARGS...: the same with -t and a To: field
# given as printf %b text.
hsm_t() {
	_subj=$1 _to=$2
	shift 2
	{ printf 'To: %b\n' "$_to"; printf 'Subject: %s\n\nhostile -t test\n' "$_subj"; } >"$T/msg"
	cd "$T/cwd" || die "cd $T/cwd"
	sm -C "$CONF" -odq -t "$@" <"$T/msg"
	cd "$T" || die "cd $T"
}

# A first good message makes the spool; the refusals must not change it.
hsm "baseline" bob@example.org
expect_rc "baseline message queued" 0
spool_snapshot >"$T/spool.before"

# --- refused: control characters in envelope arguments -------------------
CR=$(printf '\r')
LF='
'
refuse() { # WHAT RCS...: $RC is one of RCS
	_w=$1
	shift
	case " $* " in
	*" $RC "*) ok "$_w: refused (exit $RC)" ;;
	*) check_fail "$_w: refused" "exit $*" "exit $RC; stderr: $(head -c 300 "$ERR")" ;;
	esac
	if [ ! -s "$ERR" ]; then check_fail "$_w: says why on stderr"; fi
}
hsm "r1" -f "a@example.org${CR}${LF}RCPT TO:<evil@x.example>" bob@example.org
refuse "-f with CRLF RCPT TO:" 65
hsm "r2" -f "a@example.org${LF}Bcc: evil@x.example" bob@example.org
refuse "-f with LF Bcc:" 65
hsm "r3" -r "a@example.org${CR}MAIL FROM:<evil@x.example>" bob@example.org
refuse "-r with CR" 65
hsm "r4" -F "Name${LF}Bcc: evil@x.example" bob@example.org
refuse "-F with LF Bcc:" 65
hsm "r5" -F "Name${CR}${LF}X-Injected: yes" bob@example.org
refuse "-F with CRLF" 65
hsm "r6" -F "$(printf 'Name\001\033[31m')" bob@example.org
refuse "-F with control characters" 65
hsm "r7" "bob@example.org${CR}${LF}RCPT TO:<evil@x.example>"
refuse "recipient with CRLF RCPT TO:" 65
hsm "r8" "bob@example.org${LF}Bcc: evil@x.example"
refuse "recipient with LF Bcc:" 65
hsm "r9" "bob@example.org${CR}DATA"
refuse "recipient with CR DATA" 65
hsm "r10" bob@example.org "carol@example.org$(printf '\001')"
refuse "second recipient with a control character" 65
hsm "r11" -V "env${CR}${LF}RCPT TO:<evil@x.example>" bob@example.org
refuse "-V with CRLF" 64 65
hsm "r12" -N "never${LF}" bob@example.org
refuse "-N with LF" 64 65
hsm "r13" -L "tag${LF}injected" bob@example.org
refuse "-L with LF" 64 65
# The words PHP's escapeshellcmd() makes of the CVE-2016-10033 sender
# (-fattacker\ -oQ/tmp/ -X/var/www/cache/phpcode.php some"@email.com):
# the last one is an unbalanced quote, never a valid recipient.
hsm "r14" -t -i "-fattacker\\" "-oQ$T/oq/" "-X$T/www/cache/phpcode.php" 'some"@email.com'
refuse "CVE-2016-10033 words (escapeshellcmd split)" 65
hsm "r15" -t -i "-fattacker\\" -oQ/tmp/ -X/var/www/cache/phpcode.php 'some"@email.com'
refuse "CVE-2016-10033 words, literal paths" 65

check_spool_unchanged refusals

# --- accepted or refused, never options: the sender as one argument -----
# EXPECT lines: "SUBJECT|SENDER|RECIPIENTS" for what must arrive.
: >"$T/expect"
accept_or_65() { # WHAT SUBJECT SENDER RCPTS
	case $RC in
	0) ok "$1: accepted (used as an address)"
	   printf '%s|%s|%s\n' "$2" "$3" "$4" >>"$T/expect" ;;
	65) ok "$1: refused (exit 65)" ;;
	*) check_fail "$1: exit 0 or 65" "0 or 65" "$RC: $(head -c 300 "$ERR")" ;;
	esac
}
printf 'baseline|root@example.test|bob@example.org\n' >>"$T/expect"
CVE1="\"attacker\\\" -oQ$T/oq/ -X$T/www/cache/phpcode.php some\"@email.com"
hsm "cve one arg" -f "$CVE1" bob@example.org
accept_or_65 "CVE-2016-10033 sender as one -f argument" "cve one arg" "$CVE1" bob@example.org
CVE2='"attacker\" -oQ/tmp/ -X/var/www/cache/phpcode.php some"@email.com'
hsm "cve literal" -f "$CVE2" bob@example.org
accept_or_65 "CVE-2016-10033 sender, literal paths" "cve literal" "$CVE2" bob@example.org
hsm "cve as -f and -t" -t -i -f "$CVE1" bob@example.org
accept_or_65 "CVE-2016-10033 sender with -t -i" "cve as -f and -t" "$CVE1" bob@example.org
# The escapeshellcmd words with a valid last word: -fattacker\ alone.
hsm "cve split good rcpt" -i "-fattacker\\" "-oQ$T/oq/" "-X$T/www/cache/phpcode.php" bob@example.org
# (Sent as MAIL FROM:<attacker\@example.test>, which aiosmtpd reads as
# "attacker\\"@example.test: an address either way, never an option.)
accept_or_65 "-fattacker\\ -oQ... -X... bob@example.org" "cve split good rcpt" '~^"?attacker\\+"?@example\.test$' bob@example.org
# Path-taking options as separate words: the path is their argument,
# never a recipient, and nothing is opened.
hsm "separate words" -X "$T/www/cache/x.log" -O "QueueDirectory=$T/oq" -o "Q$T/oq" \
	-oL9 -oA"$T/www/cache/aliases" -C"$CONF" -odq bob@example.org
expect_rc "-X PATH -O QueueDirectory=PATH -o QPATH -oA...: accepted" 0
printf 'separate words|root@example.test|bob@example.org\n' >>"$T/expect"

# --- -F of 130 000 characters: folded, never a line over 998 octets ----------
: >"$T/fullnames"
for kind in nows ascii utf8; do
	hostile_py '
import sys
k = sys.argv[1]
n = {"nows": "N" * 130000, "ascii": "Firstname Lastname " * 6842,
     "utf8": "J\u00f6rg Q. \u00c9mile " * 7647}[k]
sys.stdout.write(n)' "$kind" >"$T/fullname.$kind"
	hsm "fullname $kind" -F "$(cat "$T/fullname.$kind")" bob@example.org
	expect_rc "-F of $(wc -c <"$T/fullname.$kind" | tr -d ' ') octets ($kind): accepted" 0
	printf 'fullname %s|root@example.test|bob@example.org\n' "$kind" >>"$T/expect"
	printf '%s\n' "$kind" >>"$T/fullnames"
done

# --- -t: CR and NUL inside To: ---------------------------------------------
hsm_t "to with nul" 'bob@example.org\0, carol@example.org'
accept_or_65 "-t, To: with a NUL" "to with nul" root@example.test "*"
hsm_t "to with bare cr" 'bob@example.org\rRCPT TO:<evil@x.example>'
accept_or_65 "-t, To: with a bare CR and RCPT TO:" "to with bare cr" root@example.test "*"
hsm_t "to with crlf bcc" 'bob@example.org\r\nBcc: carol@example.org'
expect_rc "-t, To: then a real Bcc: line (CRLF input)" 0
printf 'to with crlf bcc|root@example.test|bob@example.org carol@example.org\n' >>"$T/expect"

# --- GECOS --------------------------------------------------------------
# root's passwd entry with a hostile full name, in a private mount
# namespace (unshare -m, bind mount over /etc/passwd).
gecos_ok=0
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -m sh -c 'mount --bind /etc/passwd /etc/passwd' 2>/dev/null; then
	gecos_ok=1
else
	note "GECOS cases skipped: needs root and unshare -m with mount (a private mount namespace)"
fi
if [ "$gecos_ok" = 1 ]; then
	n=0
		# (No ':' and no newline: a passwd file cannot hold them in a field.)
	for g in 'Evil\rBcc evil@x.example' 'Evil\001\033[31m red' \
		'Evil" <evil@x.example>, "x' 'Ev(il <evil@x.example>' \
		'=?utf-8?q?=0D=0ABcc=3A_evil@x.example?=' 'Évil Ünïcode <evil@x.example>'; do
		n=$((n + 1))
		G=$(printf '%b' "$g") awk -F: -v OFS=: \
			'$1 == "root" { $5 = ENVIRON["G"] } { print }' /etc/passwd >"$T/passwd.$n"
		printf 'Subject: gecos %s\n\nhostile GECOS test\n' "$n" >"$T/msg"
		# shellcheck disable=SC2016
		run unshare -m sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' \
			sh "$T/passwd.$n" "$RELAYQ_SBIN/sendmail" -C "$CONF" -odq bob@example.org <"$T/msg"
		case $RC in
		0) ok "GECOS $n ($g): accepted"
		   printf 'gecos %s|root@example.test|bob@example.org\n' "$n" >>"$T/expect" ;;
		65) ok "GECOS $n ($g): refused (exit 65)" ;;
		*) check_fail "GECOS $n: exit 0 or 65" "0 or 65" "$RC: $(head -c 300 "$ERR")" ;;
		esac
	done
fi

# --- queue show: a user's escape sequences never reach root's terminal ------
# An OSC title change, a screen clear and an 8-bit CSI in the Subject and
# the body: escaped as \xHH by default, the bytes as they are with --raw.
printf 'Subject: esc \033]0;owned\007 title\n\nbody \033[2J\033[H clear \233 csi \303\251t\303\251\n' >"$T/msg"
sm -C "$CONF" -odq bob@example.org <"$T/msg"
expect_rc "message with escape sequences queued" 0
rq -C "$CONF" queue hold ALL	# picks up first; keeps it from delivery
expect_rc "hold everything queued" 0
ESC_ID=$(grep -l 'owned' "$T/spool/hold"/* 2>/dev/null | head -n 1)
ESC_ID=${ESC_ID##*/}
if [ -n "$ESC_ID" ]; then
	rq -C "$CONF" queue show "$ESC_ID"
	expect_rc "queue show of a held message" 0
	check_eq "queue show: no ESC or 8-bit CSI byte" 0 \
		"$(tr -cd '\033\233\007' <"$OUT" | wc -c | tr -d ' ')"
	check_grep "queue show: ESC shown as \\x1b" 'esc \\x1b\]0;owned\\x07 title' "$OUT"
	check_grep "queue show: clear shown escaped" 'body \\x1b\[2J\\x1b\[H clear \\x9b csi' "$OUT"
	check_grep "queue show: UTF-8 text kept" "$(printf '\303\251t\303\251')" "$OUT"
	rq -C "$CONF" queue show --raw "$ESC_ID"
	expect_rc "queue show --raw" 0
	check_eq "queue show --raw: the bytes as sent" 4 \
		"$(tr -cd '\033\233' <"$OUT" | wc -c | tr -d ' ')"
	rq -C "$CONF" queue release ALL
	expect_rc "release the held messages" 0
else
	check_fail "a held message to show" "an id in hold/" "none"
fi

# --- delivery, verbose (secrets must not show) ------------------------------
want=$(($(wc -l <"$T/expect") + 1))	# and the escape sequences
sm -C "$CONF" -q -v
expect_rc "sendmail -q -v" 0
wait_for "$want" || true
printf 'Subject: verbose odi\n\nverbose\n' >"$T/msg"
sm -C "$CONF" -v -odi bob@example.org <"$T/msg"
expect_rc "sendmail -v -odi" 0
printf 'verbose odi|root@example.test|bob@example.org\n' >>"$T/expect"
want=$((want + 1))
wait_for "$want" || true
nap
check_eq "messages at the smarthost" "$want" "$(received_count)"

while IFS='|' read -r subj sender rc; do
	m=$(msg_by_subject "$subj") || continue
	case $sender in
	"~"*) check_match "'$subj': envelope sender" "${sender#"~"}" "$(jget "$m.json" mail_from)" ;;
	*) check_eq "'$subj': envelope sender" "$sender" "$(jget "$m.json" mail_from)" ;;
	esac
	if [ "$rc" != "*" ]; then
		check_eq "'$subj': envelope recipients" "$rc" "$(rcpts "$m")"
	fi
	check_clean_message "'$subj'" "$m"
	froms=$(hostile_py '
import sys, email, email.policy, email.utils
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
f = m.get_all("From") or []
print(" ".join(a for n, a in email.utils.getaddresses(f)))
print("bcc" if m.get_all("Bcc") else "")
hdr = open(sys.argv[1], "rb").read().split(b"\r\n\r\n")[0].split(b"\r\n")
print(" ".join(l.decode("latin-1")[:40] for l in hdr if l[:1] not in (b" ", b"\t") and b":" in l and b" " in l.split(b":")[0]))' "$m.eml")
	case $sender in
	"~"*) check_match "'$subj': From: is one mailbox, the sender's" "${sender#"~"}" \
		"$(printf '%s\n' "$froms" | sed -n 1p)" ;;
	*) check_eq "'$subj': From: is one mailbox, the sender's" "$sender" \
		"$(printf '%s\n' "$froms" | sed -n 1p)" ;;
	esac
	check_eq "'$subj': no Bcc: field arrived" "" "$(printf '%s\n' "$froms" | sed -n 2p)"
	check_eq "'$subj': no injected header line" "" "$(printf '%s\n' "$froms" | sed -n 3p)"
done <"$T/expect"

# The long full names: From: folded within 78 octets, every line of the
# message within 998, the display name decoded is the name's first 1000
# octets (cut at a character boundary).
while read -r kind; do
	m=$(msg_by_subject "fullname $kind") || continue
	check_eq "-F $kind: From: folded, name kept up to 1000 octets" "ok" "$(hostile_py '
import sys, email.header, email.utils
d = open(sys.argv[1], "rb").read()
bad = ["%d-octet line" % len(l) for l in d.split(b"\r\n") if len(l) > 998]
hdr = d.split(b"\r\n\r\n")[0].split(b"\r\n")
i = [n for n, l in enumerate(hdr) if l.startswith(b"From:")][0]
field = [hdr[i]] + [l for l in __import__("itertools").takewhile(lambda l: l[:1] in b" \t", hdr[i + 1:])]
bad += ["From: line of %d" % len(l) for l in field if len(l) > 78]
raw = b"".join(field)[5:].decode("utf-8")
want = open(sys.argv[2], "rb").read()
cut = 1000
while (want[cut] & 0xc0) == 0x80: cut -= 1
want = want[:cut]
if "=?" in raw:		# encoded-words, joined without the space between
    parts = email.header.decode_header(raw)
    name = b"".join(p if isinstance(p, bytes) else p.encode() for p, cs in parts)
    name = name.strip()[:-len(b"<root@example.test>")].strip()
else:			# quoted words: a reader joins them with one space
    name = email.utils.parseaddr(raw)[0].encode()
    want = b" ".join(want.split())
if name != want: bad.append("name of %d octets, want %d: %r" % (len(name), len(want), name[-30:]))
print("ok" if not bad else bad[:3])' "$m.eml" "$T/fullname.$kind")"
done <"$T/fullnames"

# Every RCPT the smarthost saw is a plain, well-formed command, and no
# option word or path ever became an address.
awk '$4 == "C:" && toupper($5) ~ /^(MAIL|RCPT)$/' "$SH_LOG" >"$T/envcmds"
check_no_grep "no MAIL/RCPT with a control character" "$(printf '[\001-\010\013-\037]')" "$T/envcmds"
check_no_grep "no recipient made of an option or a path" \
	'RCPT TO:<[^>]*(-oQ|-X|phpcode|/www/|QueueDirectory)' "$T/envcmds"
# evil@x.example may only arrive as what a parser makes of the bare-CR
# To: (a group "bob@example.org RCPT TO:" with that member); never from
# an argument, -f, -F or GECOS.
check_eq "evil@x.example never a recipient elsewhere" "" "$(hostile_py '
import sys, json, glob, os
for j in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    if not os.path.basename(j)[0].isdigit(): continue
    m = json.load(open(j))
    subj = [l for l in open(j[:-5] + ".eml", "rb").read().split(b"\r\n") if l.lower().startswith(b"subject:")]
    if subj and b"to with bare cr" in subj[0]: continue
    if any("evil" in r for r in m["rcpt_tos"]): print(j, m["rcpt_tos"])' "$SH_RX")"

# No file was created by -X, -oQ, -O or -oA.
check_eq "nothing in the -oQ/-O directory" "" "$(ls -A "$T/oq")"
check_eq "no -X/-oA file" "" "$(ls -A "$T/www/cache")"
check_eq "nothing in the working directory" "" "$(ls -A "$T/cwd")"
if [ "$PHP_LITERAL_EXISTED" = 0 ]; then
	check_eq "no $PHP_LITERAL" "absent" "$([ -e "$PHP_LITERAL" ] && echo present || echo absent)"
fi
if [ "$TMP_PHP_EXISTED" = 0 ]; then
	check_eq "no /tmp/phpcode.php" "absent" "$([ -e /tmp/phpcode.php ] && echo present || echo absent)"
fi
check_queue_empty "queue empty at the end" "$CONF"
check_no_secrets
e2e_finish
