#!/bin/sh
# relayq e2e: PHP as a caller (Debian's php8.2-cli and libphp-phpmailer).
#  - mail() through sendmail_path = "sendmail -t -i" (php.ini's default),
#    without and with additional_params "-f...": mail() returns true, the
#    smarthost gets the envelope and the content; PHP's mixed line endings
#    (CRLF header lines, the script's LF body) arrive as clean CRLF; From:
#    is added from the GECOS name when the script sets none.
#  - PHPMailer in its sendmail mode (isSendmail(): "sendmail -t -i" plus its
#    own " -oi -fX -t"), with a Bcc (delivered, header stripped) and a body
#    with no final newline.
# PHP runs with env -i, as an unprivileged user when the test runs as root
# (as www-data would); its relayq.conf is chosen with RELAYQ_CONFIG, so
# sendmail delivers in the background at once.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./callers_lib.sh
. "$RELAYQ_E2E_DIR/callers_lib.sh"
e2e_init
need_cmd php php-cli
PHPMAILER=/usr/share/php/libphp-phpmailer/autoload.php
make_certs
start_tls_smarthost php
caller_setup

php_run() { # SCRIPT: run a PHP script as the caller, sendmail_path as PHP's default
	as_caller php -d "sendmail_path=$USM -t -i" -d display_errors=stderr "$1"
}

# 1. mail() without -f; the script sets no From:.
cat >"$T/mail1.php" <<'EOF'
<?php
$body = "Hello from PHP mail().\nSecond line, LF only.\n\n-- \nsig\n";
var_dump(mail("bob@example.org", "PHP mail without -f", $body,
    "X-Mailer: PHP/" . PHP_VERSION . "\r\nReply-To: shop@example.test"));
EOF
# PHP writes "\r\n" after the script's body: one more (empty) line.
printf 'Hello from PHP mail().\nSecond line, LF only.\n\n-- \nsig\n\n' >"$T/body1"
php_run "$T/mail1.php"
expect_rc "php mail() without -f" 0
check_eq "mail() without -f returns true" "bool(true)" "$(cat "$OUT")"
check_eq "nothing on stderr" "" "$(cat "$ERR")"

# 2. mail() with additional_params "-f..." and a From: header.
cat >"$T/mail2.php" <<'EOF'
<?php
$body = "Order 42 shipped.\r\nThis line ended in CRLF, the next ones in LF.\nthree\nfour\n";
var_dump(mail("alice@example.org, carol@example.net", "PHP mail with -f", $body,
    ["From" => "Shop <shop@example.test>", "X-Order" => "42"],
    "-fbounces@example.test"));
EOF
printf 'Order 42 shipped.\nThis line ended in CRLF, the next ones in LF.\nthree\nfour\n\n' >"$T/body2"
php_run "$T/mail2.php"
expect_rc "php mail() with additional_params -f" 0
check_eq "mail() with -f returns true" "bool(true)" "$(cat "$OUT")"
check_eq "nothing on stderr" "" "$(cat "$ERR")"

# 3. PHPMailer, sendmail mode, Bcc, no final newline.
if [ -r "$PHPMAILER" ]; then
	HAVE_PHPMAILER=1
	cat >"$T/phpmailer.php" <<EOF
<?php
require '$PHPMAILER';
use PHPMailer\\PHPMailer\\PHPMailer;
\$m = new PHPMailer(true);
\$m->isSendmail();
\$m->setFrom('noreply@example.test', 'Web Shop');
\$m->addAddress('dave@example.org', 'Dave');
\$m->addBCC('hidden@example.net');
\$m->Subject = 'PHPMailer sendmail mode';
\$m->Body = "First line\nlast line, no newline";
\$m->send();
echo \$m->Sendmail, "\n";
EOF
	php_run "$T/phpmailer.php"
	expect_rc "PHPMailer send() in sendmail mode" 0
	check_eq "PHPMailer ran 'sendmail -t -i' (+ its -oi -fX -t)" "$USM -t -i" "$(cat "$OUT")"
	check_eq "nothing on stderr" "" "$(cat "$ERR")"
else
	HAVE_PHPMAILER=0
	warn "$PHPMAILER missing (Debian package libphp-phpmailer): PHPMailer part skipped"
fi

wait_for $((2 + HAVE_PHPMAILER)) || die "messages did not arrive"
wait_caller_queue_empty || check_fail "queue empty after background delivery"
nap

# --- 1 ---
M=$(msg_by_subject "PHP mail without -f") || die "message 1 missing"
check_eq "1: envelope sender: the caller at [local] domain" "$CU@example.test" \
	"$(jget "$M.json" mail_from)"
check_eq "1: envelope recipient" "bob@example.org" "$(rcpts "$M")"
check_eq "1: TLS and AUTH" "true alice" "$(jget "$M.json" tls) $(jget "$M.json" auth_login)"
check_crlf_only "1: mixed CRLF/LF input arrives as clean CRLF" "$M.eml"
check_body "1: body bytes" "$T/body1" "$M.eml"
check_eq "1: To: kept" "bob@example.org" "$(header "$M.eml" To)"
check_eq "1: Reply-To: kept" "shop@example.test" "$(header "$M.eml" Reply-To)"
check_match "1: X-Mailer: kept" '^PHP/8\.' "$(header "$M.eml" X-Mailer)"
check_added_headers "1" "$M.eml"
check_eq "1: exactly one From:" 1 "$(header "$M.eml" From | grep -c .)"
if [ "$CU" = "$CALLER_USER" ]; then
	check_match "1: From: added with the GECOS name" \
		"^\"?Relayq E2E User\"? <$CU@example\\.test>\$" "$(header "$M.eml" From)"
else
	check_match "1: From: added with the caller's address" \
		"(^|<)$CU@example\\.test>?\$" "$(header "$M.eml" From)"
fi

# --- 2 ---
M=$(msg_by_subject "PHP mail with -f") || die "message 2 missing"
check_eq "2: envelope sender = additional_params -f" "bounces@example.test" \
	"$(jget "$M.json" mail_from)"
check_eq "2: envelope recipients (To: list)" "alice@example.org carol@example.net" \
	"$(all_rcpts "PHP mail with -f")"
check_crlf_only "2: clean CRLF" "$M.eml"
check_body "2: body bytes" "$T/body2" "$M.eml"
check_eq "2: From: kept as given" "Shop <shop@example.test>" "$(header "$M.eml" From)"
check_eq "2: X-Order: kept" "42" "$(header "$M.eml" X-Order)"
check_added_headers "2" "$M.eml"

# --- 3 ---
if [ "$HAVE_PHPMAILER" = 1 ]; then
	M=$(msg_by_subject "PHPMailer sendmail mode") || die "PHPMailer message missing"
	check_eq "PHPMailer: envelope sender (-f from setFrom)" "noreply@example.test" \
		"$(jget "$M.json" mail_from)"
	check_eq "PHPMailer: envelope recipients = To + Bcc" \
		"dave@example.org hidden@example.net" "$(all_rcpts "PHPMailer sendmail mode")"
	for m in $(mt find "$SH_RX" "PHPMailer sendmail mode"); do
		check_stripped "PHPMailer $(basename "$m")" "$m.eml" Bcc hidden@example.net
		check_crlf_only "PHPMailer $(basename "$m"): clean CRLF" "$m.eml"
		mt body "$m.eml" "$T/pm.body" || check_fail "PHPMailer: header/body separator"
		printf 'First line\r\nlast line, no newline\r\n' >"$T/pm.want"
		# PHPMailer may end the body with one more line break of its own.
		if cmp -s "$T/pm.want" "$T/pm.body" ||
			{ printf '\r\n' >>"$T/pm.want" && cmp -s "$T/pm.want" "$T/pm.body"; }; then
			ok "PHPMailer $(basename "$m"): body, last line completed with CRLF"
		else
			check_bytes "PHPMailer $(basename "$m"): body" "$T/pm.want" "$T/pm.body"
		fi
	done
	check_eq "PHPMailer: To: kept" "Dave <dave@example.org>" "$(header "$M.eml" To)"
	check_eq "PHPMailer: From: kept" "Web Shop <noreply@example.test>" "$(header "$M.eml" From)"
	check_eq "PHPMailer: its own Message-ID kept, no second one" 1 \
		"$(header "$M.eml" Message-ID | grep -c .)"
fi

check_no_cleartext "$SH_LOG"
e2e_finish
