#!/bin/sh
# relayq e2e: mail user agents as callers, pointed at relayq's sendmail
# through their own settings, run with env -i as an unprivileged user
# (relayq-e2e-user when the test runs as root):
#  - bsd-mailx (the `sendmail` variable in $MAILRC; it runs "sendmail -i -t").
#    Its package hard-depends on an MTA, so it is never installed: the test
#    fetches it (and liblockfile1 if missing) with apt-get download and runs
#    it from its temp dir.
#  - s-nail (-S mta=PATH; it runs "sendmail -i -- RECIPIENTS").
#  - mutt (set sendmail="PATH -oem -oi"; it adds "--" before the
#    recipients) with a recipient that begins with '-': delivered to that
#    exact address, never taken for an option.
#  - git send-email --sendmail-cmd=PATH on a patch from a generated commit.
# Each asserts the envelope and the content the smarthost received.  A tool
# that cannot be had skips its part with a warning; all missing: exit 77.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./callers_lib.sh
. "$RELAYQ_E2E_DIR/callers_lib.sh"
e2e_init
make_certs
start_tls_smarthost mua
caller_setup
HOMEDIR=$UD/home
mkdir "$HOMEDIR" && chmod 755 "$HOMEDIR" || die "mkdir $HOMEDIR"
[ "$(id -u)" = 0 ] && chown "$CU:" "$HOMEDIR"
RAN=0
EXPECT=0

# --- bsd-mailx, fetched, never installed ---
BSDMAILX=
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
	mkdir "$T/debs" "$T/bsd-mailx"
	if (cd "$T/debs" && apt-get download bsd-mailx) >"$T/apt-download.log" 2>&1; then
		dpkg-deb -x "$T"/debs/bsd-mailx_*.deb "$T/bsd-mailx" &&
			BSDMAILX=$T/bsd-mailx/usr/bin/bsd-mailx
	fi
	# Its libraries: liblockfile1 is not always installed.
	if [ -n "$BSDMAILX" ] && ldd "$BSDMAILX" | grep -q 'liblockfile.*not found'; then
		if (cd "$T/debs" && apt-get download liblockfile1) >>"$T/apt-download.log" 2>&1; then
			dpkg-deb -x "$T"/debs/liblockfile1_*.deb "$T/bsd-mailx"
		fi
	fi
	chmod -R a+rX "$T/bsd-mailx" "$T/debs"
fi
LIBS=$(find "$T/bsd-mailx" -name 'liblockfile.so.1' -exec dirname {} \; 2>/dev/null | head -n 1)
if [ -n "$BSDMAILX" ] && [ -x "$BSDMAILX" ]; then
	printf 'set sendmail=%s\n' "$USM" >"$T/mailrc"
	chmod 644 "$T/mailrc"
	printf 'Sent with bsd-mailx.\nSecond line.\n' >"$T/bsdmailx.body"
	as_caller HOME="$HOMEDIR" MAILRC="$T/mailrc" ${LIBS:+LD_LIBRARY_PATH=$LIBS} \
		"$BSDMAILX" -s "from bsd-mailx" -c copy@example.net to@example.org \
		<"$T/bsdmailx.body"
	expect_rc "bsd-mailx -s SUBJ -c CC TO (sendmail variable in MAILRC)" 0
	check_eq "bsd-mailx: no output" "" "$(cat "$OUT" "$ERR")"
	RAN=$((RAN + 1))
	EXPECT=$((EXPECT + 1))
else
	warn "bsd-mailx: apt-get download failed or unusable; part skipped: $(tail -n 3 "$T/apt-download.log" 2>/dev/null)"
fi

# --- s-nail ---
if command -v s-nail >/dev/null 2>&1; then
	printf 'Sent with s-nail.\n' >"$T/snail.body"
	as_caller HOME="$HOMEDIR" MAILRC=/dev/null s-nail -n -S "mta=$USM" \
		-s "from s-nail" -. snail-to@example.org second@example.net <"$T/snail.body"
	expect_rc "s-nail -S mta=PATH -s SUBJ -. TO TO" 0
	check_eq "s-nail: no output" "" "$(cat "$OUT" "$ERR")"
	RAN=$((RAN + 1))
	EXPECT=$((EXPECT + 1))
else
	warn "s-nail not found (Debian package s-nail): part skipped"
fi

# --- mutt, a recipient that begins with '-' ---
if command -v mutt >/dev/null 2>&1; then
	cat >"$T/muttrc" <<EOF
set sendmail="$USM -oem -oi"
set from="Mutt User <mutt-user@example.test>"
set use_from=yes
set copy=no
set record=""
set charset="utf-8"
set send_charset="us-ascii:utf-8"
EOF
	chmod 644 "$T/muttrc"
	printf 'Sent with mutt.\n' >"$T/mutt.body"
	as_caller HOME="$HOMEDIR" mutt -n -F "$T/muttrc" -s "from mutt" -- \
		-dash@example.org <"$T/mutt.body"
	expect_rc "mutt -s SUBJ -- -dash@example.org (sendmail=\"PATH -oem -oi\")" 0
	check_eq "mutt: no output" "" "$(cat "$OUT" "$ERR")"
	RAN=$((RAN + 1))
	EXPECT=$((EXPECT + 1))
else
	warn "mutt not found (Debian package mutt): part skipped"
fi

# --- git send-email ---
if command -v git >/dev/null 2>&1 &&
	[ -x "$(git --exec-path 2>/dev/null)/git-send-email" ]; then
	printf '[user]\n\tname = Dev Eloper\n\temail = dev@example.test\n' \
		>"$HOMEDIR/.gitconfig"
	[ "$(id -u)" = 0 ] && chown "$CU:" "$HOMEDIR/.gitconfig"
	(
		cd "$T" && git init -q repo && cd repo &&
			printf 'hello\n.\nworld\n' >greeting.txt && git add greeting.txt &&
			HOME=$HOMEDIR git commit -q -m 'greeting: add a file with a lone dot' &&
			HOME=$HOMEDIR git format-patch -q -1 -o "$T/patches"
	) >"$T/git.log" 2>&1 || die "git commit/format-patch failed: $(cat "$T/git.log")"
	chmod -R a+rX "$T/patches"
	PATCH=$(ls "$T"/patches/*.patch)
	as_caller HOME="$HOMEDIR" git send-email "--sendmail-cmd=$USM" \
		--to=maintainer@example.org --cc=list@example.net --confirm=never \
		--suppress-cc=all --quiet "$PATCH" </dev/null
	if grep -q "Can't locate\|module is not here" "$ERR"; then
		warn "git send-email lacks a Perl module (Debian package libmailtools-perl?): $(head -n 2 "$ERR")"
	else
		expect_rc "git send-email --sendmail-cmd=PATH" 0
		check_match "git send-email: reports it sent" '^Sent \[PATCH\] greeting' "$(cat "$OUT")"
		RAN=$((RAN + 1))
		EXPECT=$((EXPECT + 1))
	fi
else
	warn "git send-email not found (Debian package git-email): part skipped"
fi

[ "$RAN" -gt 0 ] || skip "none of bsd-mailx, s-nail, mutt, git send-email could be run"

wait_for "$EXPECT" || die "messages did not arrive"
wait_caller_queue_empty || check_fail "queue empty after background delivery"
nap

if [ -n "$BSDMAILX" ] && [ -x "$BSDMAILX" ]; then
	M=$(msg_by_subject "from bsd-mailx") || die "bsd-mailx message missing"
	check_eq "bsd-mailx: envelope sender" "$CU@example.test" "$(jget "$M.json" mail_from)"
	check_eq "bsd-mailx: envelope recipients (To + Cc, via -t)" \
		"copy@example.net to@example.org" "$(all_rcpts "from bsd-mailx")"
	check_body "bsd-mailx: body" "$T/bsdmailx.body" "$M.eml"
	check_added_headers "bsd-mailx" "$M.eml"
	check_crlf_only "bsd-mailx: clean CRLF" "$M.eml"
fi
if command -v s-nail >/dev/null 2>&1; then
	M=$(msg_by_subject "from s-nail") || die "s-nail message missing"
	check_eq "s-nail: envelope sender" "$CU@example.test" "$(jget "$M.json" mail_from)"
	check_eq "s-nail: envelope recipients" "second@example.net snail-to@example.org" \
		"$(all_rcpts "from s-nail")"
	check_body "s-nail: body" "$T/snail.body" "$M.eml"
	check_date "s-nail: its Date: kept" "$(header "$M.eml" Date)" "$E2E_DATE_SLACK"
	check_added_headers "s-nail" "$M.eml"
fi
if command -v mutt >/dev/null 2>&1; then
	M=$(msg_by_subject "from mutt") || die "mutt message missing"
	check_eq "mutt: envelope recipient is exactly '-dash@example.org'" \
		"-dash@example.org" "$(all_rcpts "from mutt")"
	check_eq "mutt: envelope sender (the caller; mutt sets no -f)" "$CU@example.test" \
		"$(jget "$M.json" mail_from)"
	check_eq "mutt: To: kept" "-dash@example.org" "$(header "$M.eml" To)"
	check_eq "mutt: From: kept" "Mutt User <mutt-user@example.test>" "$(header "$M.eml" From)"
	check_body "mutt: body" "$T/mutt.body" "$M.eml"
	check_added_headers "mutt" "$M.eml"
	check_no_grep "no option (-oem, -oi, --) became a recipient" \
		'RCPT TO:<(-o[a-z]*|--?)(@[^>]*)?>' "$SH_LOG"
fi
if [ -n "${PATCH:-}" ] && [ -n "$(mt find "$SH_RX" "[PATCH] greeting: add a file with a lone dot")" ]; then
	M=$(msg_by_subject "[PATCH] greeting: add a file with a lone dot")
	check_eq "git send-email: envelope recipients" "list@example.net maintainer@example.org" \
		"$(all_rcpts "[PATCH] greeting: add a file with a lone dot")"
	check_eq "git send-email: envelope sender (the caller; no --envelope-sender)" \
		"$CU@example.test" "$(jget "$M.json" mail_from)"
	check_eq "git send-email: From:" "Dev Eloper <dev@example.test>" "$(header "$M.eml" From)"
	check_match "git send-email: its Message-Id: kept" '^<[0-9]+\.[0-9]+-1-dev@example\.test>$' \
		"$(header "$M.eml" Message-ID)"
	check_added_headers "git send-email" "$M.eml"
	check_body_line "git send-email: the patch's lone-dot line (+.) intact" "$M.eml" "+."
	check_body_line "git send-email: the diff is there" "$M.eml" "+world"
	check_crlf_only "git send-email: clean CRLF" "$M.eml"
fi

check_no_cleartext "$SH_LOG"
e2e_finish
