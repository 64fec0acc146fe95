#!/bin/bash
# relayq e2e (root: a private network namespace): the mistakes of
# `relayq test` that depend on the real port numbers. tls = starttls
# against port 465 waits for a greeting that never comes (the server waits
# for a TLS hello): relayq gives up after its 10 s greeting limit and says
# "this port speaks TLS at once: use tls = smtps"; tls = smtps against
# port 587 says to use tls = starttls; connections to port 25 that time
# out (a firewall dropping them) are named as an ISP's port 25 block; and
# a host name that does not resolve says so, with the usual names.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./netns_lib.sh
. "$RELAYQ_E2E_DIR/netns_lib.sh"
netns_enter "$@"
e2e_init
make_certs
netns_dns '{"localhost.": {"A": ["127.0.0.1"]}}'
RQ=$RELAYQ_SBIN/relayq

start_smarthost p465 --mode smtps --port 465 --cert "$T/server.pem" \
	--key "$T/server.key" --auth "alice:$E2E_PASS"
start_tls_smarthost p587 --port 587
netfake blackhole --host 127.0.0.1 --port 25 --ready "$T/bh.ready"

write_config "$T/465.conf" port=465 tls=starttls
run "$RQ" -C "$T/465.conf" test
cat "$OUT" "$ERR" >"$T/465.out"
expect_rc "465 with tls = starttls" 75
check_grep "465 with tls = starttls: no greeting within 10 s" \
	'FAIL greeting .*timed out after 10s' "$T/465.out"
check_grep "465 with tls = starttls: named, with the fix" \
	'advice: this port speaks TLS at once: use tls = smtps' "$T/465.out"
check_match "465 with tls = starttls: gave up within 20 s (not minutes)" '^ok$' \
	"$([ "$MS" -lt 20000 ] && echo ok || echo "$MS ms")"

write_config "$T/465ok.conf" port=465 tls=smtps
run "$RQ" -C "$T/465ok.conf" test
expect_rc "465 with tls = smtps works" 0

write_config "$T/587.conf" port=587 tls=smtps
run "$RQ" -C "$T/587.conf" test
cat "$OUT" "$ERR" >"$T/587.out"
expect_rc "587 with tls = smtps" 75
check_grep "587 with tls = smtps: named, with the fix" \
	'advice: port 587 speaks plain SMTP first .*use tls = starttls' "$T/587.out"

write_config "$T/25.conf" port=25 extra="timeout = 2s"
run "$RQ" -C "$T/25.conf" test
cat "$OUT" "$ERR" >"$T/25.out"
expect_rc "port 25 black-holed" 75
check_grep "port 25: the connect times out" 'FAIL connect .*port 25: Connection timed out' \
	"$T/25.out"
check_grep "port 25: named as an ISP's block, with the fix" \
	'advice: connections to port 25 time out: many ISPs .*port = 587' "$T/25.out"

write_config "$T/nohost.conf" host=smtp.nowhere.test port=587 extra="timeout = 3s"
run "$RQ" -C "$T/nohost.conf" test
cat "$OUT" "$ERR" >"$T/nohost.out"
expect_rc "a name without address" 75
check_grep "a name without address: named" \
	'advice: smtp\.nowhere\.test has no address: .*smtp\.example\.com or mail\.example\.com' \
	"$T/nohost.out"
e2e_finish
