#!/usr/bin/env bash
# relayq latency: from `sendmail` returning to the smarthost's 250 for that
# message, with `relayq daemon` running.  See bench/README.md.
#
#   bench/latency.sh [-n N] [--user USER] [--relayq PATH]
#
# An unprivileged user (as root: USER, default www-data; otherwise the
# caller) runs a daemon on a private spool (-C) and submits N messages one
# after the other, each after the previous one has reached the sink
# (bench/sink.py on 127.0.0.1, port 0, which stamps the moment it answers
# 250).  Prints the median, p90, p99 and max, checks them against the
# targets (median < 100 ms, p99 < 1 s) and exits 1 when one is missed.
# Every wait is bounded; every process started here is stopped by its PID.
set -u -o pipefail

SELF=$(readlink -f "$0")
BENCH=$(dirname "$SELF")
TOP=$(dirname "$BENCH")
PY=/usr/bin/python3
N=200
RUSER=www-data
RELAYQ=$TOP/relayq
T= SINK_PID= D_PID=

die() { printf 'latency.sh: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,13s/^# \{0,1\}//p' "$SELF"; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	--user) RUSER=$2; shift 2 ;;
	--relayq) RELAYQ=$(readlink -f "$2"); shift 2 ;;
	*) usage ;;
	esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || die "-n: a positive number"
[ -x "$RELAYQ" ] || die "$RELAYQ: not built (autoreconf -fi && ./configure && make)"
"$PY" -c 'import aiosmtpd' 2>/dev/null || die "$PY has no aiosmtpd (apt-get install python3-aiosmtpd)"

# stop_pid PID: the tests' own (TERM, a bounded wait, KILL).
# shellcheck source=../tests/e2e/pid_lib.sh
. "$TOP/tests/e2e/pid_lib.sh"
cleanup() { stop_pid "$D_PID"; stop_pid "$SINK_PID"; [ -n "$T" ] && rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

T=$(mktemp -d /tmp/relayq-latency.XXXXXX) || die "mktemp"
AS=()
if [ "$(id -u)" = 0 ]; then
	getent passwd "$RUSER" >/dev/null || die "no user $RUSER (--user)"
	AS=(setpriv --reuid="$RUSER" --regid="$RUSER" --init-groups --)
	chmod 0755 "$T"
fi
# The programs, where the user can run them: relayq and a sendmail link.
mkdir "$T/bin" "$T/spool"
cp "$RELAYQ" "$T/bin/relayq" && ln -s relayq "$T/bin/sendmail" || die "copy $RELAYQ"
[ ${#AS[@]} -gt 0 ] && chown "$RUSER:" "$T/spool"

"$PY" "$BENCH/sink.py" --port-file "$T/sink.ports" --stamps "$T/stamps" \
	--lifetime 3600 2>"$T/sink.err" &
SINK_PID=$!
for _ in $(seq 100); do [ -s "$T/sink.ports" ] && break; sleep 0.1; done
[ -s "$T/sink.ports" ] || die "the sink did not start: $(cat "$T/sink.err")"
read -r SPORT CPORT <"$T/sink.ports"
cat >"$T/relayq.conf" <<EOF
[queue]
dir = $T/spool

[local]
hostname = bench.test
domain = bench.test

[smarthost]
host = 127.0.0.1
port = $SPORT
tls = none
auth = none
EOF
chmod 0644 "$T/relayq.conf"

"${AS[@]}" "$T/bin/relayq" -C "$T/relayq.conf" -v daemon >"$T/daemon.log" 2>&1 &
D_PID=$!
for _ in $(seq 100); do [ -p "$T/spool/wakeup" ] && break; sleep 0.1; done
[ -p "$T/spool/wakeup" ] || die "the daemon did not start: $(cat "$T/daemon.log")"

# wait_sink N: until the sink has N messages (bounded: 10 s).
wait_sink() {
	local fd reply
	exec {fd}<>"/dev/tcp/127.0.0.1/$CPORT" || return 1
	printf 'wait %s 10\n' "$1" >&"$fd"
	IFS= read -r -t 15 reply <&"$fd" || reply=
	exec {fd}>&-
	[ "${reply%% *}" = "$1" ]
}

: >"$T/returns"
for ((i = 1; i <= N; i++)); do
	printf 'Subject: latency %d\nX-Bench-Seq: %d\n\nlatency probe %d\n' "$i" "$i" "$i" |
		"${AS[@]}" "$T/bin/sendmail" -C "$T/relayq.conf" -i bench@sink.test ||
		die "sendmail failed at message $i"
	printf '%d %s\n' "$i" "$EPOCHREALTIME" >>"$T/returns"
	wait_sink "$i" || die "message $i did not reach the sink within 10 s"
done

# latency per message in ms, then the order statistics
join <(sort -k1,1 "$T/returns") <(sort -k1,1 "$T/stamps") |
	awk '{ printf "%.3f\n", ($3 - $2) * 1000 }' | sort -n >"$T/ms"
got=$(wc -l <"$T/ms")
[ "$got" -eq "$N" ] || die "$got of $N messages stamped"
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int(p * NR + 0.999999); if (i < 1) i = 1; print v[i] }' "$T/ms"; }
MED=$(pct 0.5) P90=$(pct 0.9) P99=$(pct 0.99) MAX=$(tail -n 1 "$T/ms")
# With -C, sendmail would deliver in a background child if the wake-up
# failed: every message must have been sent by the daemon.
sent=$(grep -c 'status=sent' "$T/daemon.log")
[ "$sent" -eq "$N" ] || die "the daemon sent $sent of $N messages (wake-up not working?)"
who=$(id -un)
[ ${#AS[@]} -gt 0 ] && who=$RUSER
printf 'relayq latency, sendmail returned -> smarthost 250 (user %s, %d messages, all sent by the daemon):\n' \
	"$who" "$N"
printf '  median %s ms, p90 %s ms, p99 %s ms, max %s ms\n' "$MED" "$P90" "$P99" "$MAX"
rc=0
awk -v v="$MED" 'BEGIN { exit !(v < 100) }' && echo "  median < 100 ms: ok" ||
	{ echo "  median < 100 ms: MISSED"; rc=1; }
awk -v v="$P99" 'BEGIN { exit !(v < 1000) }' && echo "  p99 < 1000 ms: ok" ||
	{ echo "  p99 < 1000 ms: MISSED"; rc=1; }
exit $rc
