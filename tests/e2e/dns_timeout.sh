#!/bin/sh
# relayq e2e (root only): a name server that never answers cannot hang a
# queue run. In a private network and mount namespace, /etc/resolv.conf
# names a silent server on 127.0.0.1:53 with resolver limits of 3 x 20 s;
# the smarthost is a name that only DNS could resolve and [smarthost]
# timeout is 2s. `relayq test` and `sendmail -odi` must give up after about
# 2 s (not 60: judged as under 20 s, room for a loaded machine), exit 75
# and say why; the message stays queued with the
# reason in mailq. (relayq bounds the lookup with glibc's getaddrinfo_a;
# without it the resolver's own limits would apply.)
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
[ "$(id -u)" = 0 ] || skip "needs root (network and mount namespaces)"
command -v unshare >/dev/null 2>&1 || skip "unshare not found"
unshare -mn sh -c "mount --bind /etc/hosts /etc/hosts" 2>/dev/null ||
	skip "cannot make network and mount namespaces (and mount) here"

CONF=$T/relayq.conf
write_config "$CONF" host=smarthost.dns-timeout.test port=587 \
	extra="timeout = 2s"
printf 'nameserver 127.0.0.1\noptions timeout:20 attempts:3\n' >"$T/resolv.conf"
cat >"$T/silent_dns.py" <<'EOF'
# Binds 127.0.0.1:53 (UDP and TCP), reads queries, never answers.
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 53))
t.listen(16)
open(sys.argv[1], "w").write("ready\n")
u.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        u.recvfrom(4096)
    except socket.timeout:
        pass
EOF
# in_ns CMD...: CMD inside the namespaces, with the silent server up.
cat >"$T/in_ns" <<'EOF'
#!/bin/sh
T=$1
shift
exec unshare -mn sh -c '
	T=$1
	shift
	ip link set lo up 2>/dev/null ||
	    "$RELAYQ_PYTHON" -c "import socket,fcntl,struct
s = socket.socket(); f = fcntl.ioctl(s, 0x8913, struct.pack(\"16sH\", b\"lo\", 0))
fl = struct.unpack(\"16sH\", f[:18])[1] | 1
fcntl.ioctl(s, 0x8914, struct.pack(\"16sH\", b\"lo\", fl))" || exit 70
	mount --bind "$T/resolv.conf" /etc/resolv.conf || exit 70
	rm -f "$T/dns.ready"
	"$RELAYQ_PYTHON" "$T/silent_dns.py" "$T/dns.ready" &
	dns=$!
	i=0
	while [ ! -s "$T/dns.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	"$@"
	rc=$?
	kill "$dns"
	exit $rc' sh "$T" "$@"
EOF
chmod +x "$T/in_ns"

run "$T/in_ns" "$T" "$RELAYQ_SBIN/relayq" -C "$CONF" test
expect_rc "relayq test with a silent name server" 75
cat "$OUT" "$ERR" >"$T/test.out"
check_grep "relayq test: says the lookup timed out" 'name lookup timed out' "$T/test.out"
check_match "relayq test: gave up within 20 s (the resolver alone: 60 s)" '^ok$' \
	"$([ "$MS" -lt 20000 ] && echo ok || echo "$MS ms")"
note "relayq test: $MS ms"

printf 'Subject: dns timeout\n\nbody\n' >"$T/msg"
run "$T/in_ns" "$T" "$RELAYQ_SBIN/sendmail" -C "$CONF" -odi bob@example.org <"$T/msg"
check_match "sendmail -odi: queued, delivery deferred" '^(0|75)$' "$RC"
check_match "sendmail -odi: gave up within 20 s (not 60)" '^ok$' \
	"$([ "$MS" -lt 20000 ] && echo ok || echo "$MS ms")"
note "sendmail -odi: exit $RC, $MS ms"
mailq_of "$CONF"
check_grep "mailq: the message waits, with the reason" 'name lookup timed out' "$OUT"
e2e_finish
