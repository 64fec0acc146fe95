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
