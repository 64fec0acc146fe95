#!/bin/bash
# relayq e2e (root: a private network namespace with its own DNS):
# `relayq probe ADDRESS` finds working settings in the fake world of
# netns_lib.sh's mail_world (names, SRV and MX records, servers).
# probe must pick smtp.example.test:587, try AUTH as bob@example.test and
# then as bob, say that bob worked, never send a password where the
# certificate did not verify, finish within its deadline although port 25
# black-holes, and print a ready [smarthost] section; with SRV, the SRV
# target wins.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./netns_lib.sh
. "$RELAYQ_E2E_DIR/netns_lib.sh"
netns_mail_world "$@"
RQ=$RELAYQ_SBIN/relayq

run "$RQ" probe bob@example.test --password-file "$T/pw" --ca-file "$T/ca.pem" \
	--timeout 6
cp "$OUT" "$T/probe.out"
expect_rc "probe example.test" 0
check_match "probe: finished within its 6 s deadline (port 25 black-holes)" '^ok$' \
	"$([ "$MS" -lt 10000 ] && echo ok || echo "$MS ms")"
check_grep "the right server: STARTTLS on 587, verified, its AUTH mechanisms" \
	'^  ok +smtp\.example\.test port 587 \(tls = starttls, guess\): TLSv1\.[23], certificate verified, AUTH: PLAIN LOGIN' \
	"$T/probe.out"
check_grep "465 with a certificate for another name: not recommended, names shown" \
	'^  no +smtp\.example\.test port 465 \(tls = smtps, guess\): .*certificate verify failed.*names: other\.test' \
	"$T/probe.out"
check_grep "mail.example.test port 25 black-holes: timed out, or cut at the deadline" \
	'^  no +mail\.example\.test port 25 .*(timed out|no answer before the deadline)' "$T/probe.out"
check_grep "nothing on 2525: refused" '^  no +smtp\.example\.test port 2525 .*refused' \
	"$T/probe.out"
check_grep "AUTH tried with the full address first" \
	'AUTH as bob@example\.test at smtp\.example\.test port 587: .*535' "$T/probe.out"
check_grep "then with the local part, which works" \
	'AUTH as bob at smtp\.example\.test port 587: ok' "$T/probe.out"
check_grep "says which user name worked" 'AUTH works with user name bob$' "$T/probe.out"
sed -n '/^\[smarthost\]/,$p' "$T/probe.out" >"$T/section"
check_eq "a ready [smarthost] section" "[smarthost]
host = smtp.example.test
port = 587
tls = starttls
user = bob
password_file = $T/pw" "$(cat "$T/section")"
check_not_sent "no password to the server whose certificate did not verify (465)" AUTH "$S465_LOG"
check_not_sent "no password to mail.example.test (wrong name)" AUTH "$M587_LOG"
check_sent "the password went to the verified server" AUTH "$S587_LOG"

# The section works: relayq test passes with it.
{
	printf '[queue]\ndir = %s\n[local]\nhostname = relayq.test\n' "$T/spool"
	cat "$T/section"
	printf 'ca_file = %s\n' "$T/ca.pem"
} >"$T/found.conf"
run "$RQ" -C "$T/found.conf" test
expect_rc "relayq test with the settings probe found" 0

run "$RQ" probe bob@srv.test --no-password --ca-file "$T/ca.pem" --timeout 6
cp "$OUT" "$T/srv.out"
expect_rc "probe srv.test" 0
check_grep "the SRV record is read" 'SRV _submissions\._tcp\.srv\.test: mx1\.srv\.test port 465' \
	"$T/srv.out"
check_grep "the SRV target answers implicit TLS" \
	'^  ok +mx1\.srv\.test port 465 \(tls = smtps, SRV\)' "$T/srv.out"
check_eq "the SRV target is chosen, the address as user name" "host = mx1.srv.test
port = 465
tls = smtps
user = bob@srv.test" "$(sed -n '/^host = /,/^user = /p' "$T/srv.out")"

run "$RQ" probe bob@nothing.test --no-password --ca-file "$T/ca.pem" --timeout 3
expect_rc "probe where nothing answers: unavailable" 69
check_grep "says nothing was found" 'no server with a verified certificate found' "$OUT"

run "$RQ" probe not-an-address --no-password
expect_rc "probe of a non-address" 64
e2e_finish
