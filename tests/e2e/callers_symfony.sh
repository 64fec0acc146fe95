#!/bin/sh
# relayq e2e: Symfony Mailer (Debian's php-symfony-mailer) with its default
# transport, "sendmail -bs": relayq speaks SMTP on stdin/stdout. Two
# messages through one Mailer, as a web application sends them, then a
# Laravel-style "-bs -i" command line. Symfony fails on any stderr output
# or on a reply it does not expect, so its success is itself a check; the
# smarthost then must have received exactly what was sent.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./callers_lib.sh
. "$RELAYQ_E2E_DIR/callers_lib.sh"
e2e_init
need_cmd php php-cli
SYMFONY=/usr/share/php/Symfony/Component
[ -r "$SYMFONY/Mailer/autoload.php" ] ||
	skip "$SYMFONY/Mailer missing (Debian package php-symfony-mailer)"
make_certs
start_tls_smarthost symfony
caller_setup

# send.php COMMAND LABEL: two messages through one SendmailTransport.
cat >"$T/send.php" <<PHP
<?php
require '$SYMFONY/Mailer/autoload.php';
require '$SYMFONY/Mime/autoload.php';
use Symfony\\Component\\Mailer\\Mailer;
use Symfony\\Component\\Mailer\\Transport\\SendmailTransport;
use Symfony\\Component\\Mime\\Email;
\$mailer = new Mailer(new SendmailTransport(\$argv[1]));
foreach ([1, 2] as \$n) {
	\$mailer->send((new Email())
	    ->from('App <app@example.test>')
	    ->to("user\$n@example.org")
	    ->bcc('audit@example.net')
	    ->subject("Symfony \$argv[2] message \$n")
	    ->text("Hello \$n from Symfony.\n.leading dot\n.\nend\n"));
}
echo "sent\n";
PHP
chmod 644 "$T/send.php"

as_caller php -d display_errors=stderr "$T/send.php" "$USM -bs" "bs"
expect_rc "Symfony Mailer, sendmail -bs, two messages" 0
check_eq "Symfony reported success" "sent" "$(cat "$OUT")"
check_eq "nothing on stderr" "" "$(cat "$ERR")"
as_caller php -d display_errors=stderr "$T/send.php" "$USM -bs -i" "bs-i"
expect_rc "Laravel-style sendmail -bs -i, two messages" 0
check_eq "Symfony reported success (-bs -i)" "sent" "$(cat "$OUT")"
check_eq "nothing on stderr (-bs -i)" "" "$(cat "$ERR")"

# Four messages, each to its To and the Bcc (one transaction, or split).
wait_for 4 || die "messages did not arrive"
wait_caller_queue_empty || check_fail "queue empty after background delivery"
nap
for mode in bs bs-i; do
	for n in 1 2; do
		S="Symfony $mode message $n"
		M=$(msg_by_subject "$S") || {
			check_fail "$S arrived"
			continue
		}
		check_eq "$S: envelope sender" "app@example.test" \
			"$(jget "$M.json" mail_from)"
		check_eq "$S: envelope recipients (To + Bcc)" \
			"audit@example.net user$n@example.org" "$(all_rcpts "$S")"
		check_eq "$S: TLS and AUTH to the smarthost" "true alice" \
			"$(jget "$M.json" tls) $(jget "$M.json" auth_login)"
		check_crlf_only "$S: clean CRLF" "$M.eml"
		check_stripped "$S" "$M.eml" Bcc audit@example.net
		printf 'Hello %s from Symfony.\r\n.leading dot\r\n.\r\nend\r\n' \
			"$n" >"$T/want.$n"
		mt body "$M.eml" "$T/got" || check_fail "$S: header/body separator"
		# Plain ASCII lines: Symfony sends them as they are, so the
		# body must arrive byte for byte, the dot lines intact. Symfony
		# writes "\r\n.\r\n" after a body that already ends in CRLF:
		# one empty line more is its own doing.
		if cmp -s "$T/want.$n" "$T/got" ||
			{ printf '\r\n' >>"$T/want.$n" && cmp -s "$T/want.$n" "$T/got"; }; then
			ok "$S: body, dot lines intact"
		else
			check_bytes "$S: body, dot lines intact" "$T/want.$n" "$T/got"
		fi
		check_eq "$S: one Message-ID (Symfony's)" 1 \
			"$(header "$M.eml" Message-ID | grep -c .)"
	done
done
check_no_cleartext "$SH_LOG"
e2e_finish
