# relayq e2e: a private network and mount namespace for tests that need
# fixed ports (25, 465, 587), names and DNS answers of their own.
# Sourced after lib.sh. Only loopback: the namespace has nothing else.
# shellcheck shell=sh
#
# netns_enter "$@": call first, before e2e_init. Outside the namespace it
# re-runs this script inside a new one (as root; skips where namespaces
# or mounts are forbidden); inside it brings lo up. The script then runs
# wholly inside, so every server it starts lives and dies there.
netns_enter() {
	if [ "${RELAYQ_NETNS:-}" != 1 ]; then
		[ "$(id -u)" = 0 ] || skip "needs root (a network namespace)"
		command -v unshare >/dev/null 2>&1 || skip "unshare not found"
		unshare -mn sh -c "mount --bind /etc/hosts /etc/hosts" \
			2>/dev/null || skip "cannot make network and mount namespaces here"
		RELAYQ_NETNS=1 exec unshare -mn --propagation private bash "$0" "$@"
	fi
	ip link set lo up 2>/dev/null || die "cannot bring up lo in the namespace"
}

# netns_dns ZONE_JSON: the fake DNS server (netfake.py) on 127.0.0.1:53
# answers from ZONE_JSON; /etc/resolv.conf and /etc/hosts of the
# namespace are this test's (resolver limits: 1 s x 1 attempt).
netns_dns() {
	printf '%s\n' "$1" >"$T/zone.json"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$T/hosts"
	mount --bind "$T/resolv.conf" /etc/resolv.conf || die "mount resolv.conf"
	mount --bind "$T/hosts" /etc/hosts || die "mount hosts"
	netfake dns --zone "$T/zone.json" --ready "$T/dns.ready"
}

# netfake KIND ARGS... --ready FILE: start netfake.py, wait until ready.
netfake() {
	_ready=
	for _a in "$@"; do
		[ "${_prev:-}" = --ready ] && _ready=$_a
		_prev=$_a
	done
	"$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/netfake.py" "$@" \
		--lifetime 600 2>>"$T/netfake.err" &
	SH_PIDS="$SH_PIDS $!"
	_i=0
	while [ ! -s "$_ready" ]; do
		_i=$((_i + 1))
		[ $_i -le 100 ] || die "netfake $1 did not start: $(cat "$T/netfake.err")"
		nap
	done
}

# mail_world: inside the namespace, the fake world of probe.sh and
# setup.sh (certificates from make_certs' CA for the fake names):
#   example.test: smtp.example.test (127.0.0.2) has implicit TLS on 465
#     with a certificate for another name, and STARTTLS on 587 with the
#     right one, whose AUTH wants the local part "bob"; mail.example.test
#     (127.0.0.3) black-holes port 25 and has a wrong-name certificate on
#     587; nothing answers on 2525 and 26.
#   srv.test: only an SRV record (_submissions._tcp -> mx1.srv.test:465),
#     a server that speaks implicit TLS only.
# Sets S465_LOG, S587_LOG, S587_RX and M587_LOG; $T/pw (0600) holds bob's
# password.
mail_world() {
	make_certs
	printf '%s\n' "$E2E_PASS" >"$T/pw"
	chmod 600 "$T/pw"
	# server certificates from the test CA for the fake names (lib.sh's helper)
	_srv smtp-example ca "DNS:smtp.example.test"
	_srv mx1-srv ca "DNS:mx1.srv.test"
	netns_dns '{
	 "smtp.example.test.": {"A": ["127.0.0.2"]},
	 "mail.example.test.": {"A": ["127.0.0.3"]},
	 "example.test.": {"MX": [[10, "mail.example.test."]]},
	 "srv.test.": {},
	 "_submissions._tcp.srv.test.": {"SRV": [[0, 1, 465, "mx1.srv.test."]]},
	 "mx1.srv.test.": {"A": ["127.0.0.4"]}
	}'
	start_smarthost s465 --host 127.0.0.2 --port 465 --mode smtps \
		--cert "$T/othername-server.pem" --key "$T/othername-server.key" \
		--auth "bob:$E2E_PASS"
	S465_LOG=$SH_LOG
	start_smarthost s587 --host 127.0.0.2 --port 587 --mode starttls \
		--cert "$T/smtp-example.pem" --key "$T/smtp-example.key" --auth "bob:$E2E_PASS"
	S587_LOG=$SH_LOG
	start_smarthost m587 --host 127.0.0.3 --port 587 --mode starttls \
		--cert "$T/othername-server.pem" --key "$T/othername-server.key" \
		--auth "bob:$E2E_PASS"
	M587_LOG=$SH_LOG
	netfake blackhole --host 127.0.0.3 --port 25 --ready "$T/bh.ready"
	start_smarthost srv465 --host 127.0.0.4 --port 465 --mode smtps \
		--cert "$T/mx1-srv.pem" --key "$T/mx1-srv.key" --auth "bob:$E2E_PASS"
	S587_RX=$T/s587.rx
}

# netns_mail_world "$@": the start of a test in mail_world (probe.sh,
# setup.sh): into the namespace, e2e_init, the world.
netns_mail_world() {
	netns_enter "$@"
	e2e_init
	mail_world
}
