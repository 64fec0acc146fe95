#!/usr/bin/env bash
# The Debian package end to end, on this machine, as root (.ci/run's last
# pass; needs dpkg-dev, debhelper, lintian, fakeroot, python3-aiosmtpd):
#  - builds relayq_VERSION_ARCH.deb with dpkg-buildpackage -b -us -uc from
#    a copy of the tree (the files git knows) in build-deb/; lintian finds
#    no error;
#  - installs it with apt-get install ./relayq_*.deb; checks the owners
#    and modes of the privilege model, the statoverrides, the conffile;
#    apt-get install -s bsd-mailx cron plans no other MTA;
#  - starts the daemon (by systemd where it runs, else by hand) and sends
#    mail as www-data through /usr/sbin/sendmail to a loopback smarthost;
#  - queues mail while the smarthost is down, upgrades to a rebuilt package
#    with a higher version: nothing lost, modes intact, config kept; the
#    restarted daemon delivers it; mailq as www-data lists the queue;
#  - purges: spool, configuration, accounts and overrides gone.
# The machine is left as it was: relayq is purged at exit, also on failure
# (trap), and processes started here are stopped by their PID. A machine
# with another MTA installed is skipped, not changed.
# Prints "ok - ..." / "not ok - ..." lines and, last,
# "deb package: N passed, N failed" (or "deb package: skipped (why)").
set -u
cd "$(dirname "$0")/../.."
TOP=$(pwd)
PY=/usr/bin/python3
B=$TOP/build-deb
W=
SH_PID= D_PID=
pass=0 fail=0

ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$*"; }
nok() { fail=$((fail + 1)); printf 'not ok - %s\n' "$*"; }
check() { # WHAT EXPECTED GOT
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1"; printf '    expected: %s\n    got:      %s\n' "$2" "$3"; fi
}
finish() {
	printf 'deb package: %d passed, %d failed\n' "$pass" "$fail"
	[ "$fail" -eq 0 ]
	exit
}
skip() { printf 'deb package: skipped (%s)\n' "$*"; exit 0; }
die() { nok "$*"; finish; }

installed() { dpkg-query -W -f '${Status}' relayq 2>/dev/null | grep -q 'ok installed'; }
# shellcheck source=../e2e/pid_lib.sh
. "$TOP/tests/e2e/pid_lib.sh"
cleanup() {
	trap - EXIT
	stop_pid "$D_PID"
	stop_pid "$SH_PID"
	if dpkg-query -W relayq >/dev/null 2>&1; then
		apt-get purge -y -qq relayq >"$W/purge-at-exit.log" 2>&1 ||
			cat "$W/purge-at-exit.log"
	fi
	[ -n "$W" ] && rm -rf "$W"
}

[ "$(id -u)" = 0 ] || skip "needs root"
for t in dpkg-buildpackage dh lintian fakeroot apt-get setpriv; do
	command -v "$t" >/dev/null || skip "$t not installed"
done
"$PY" -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
getent passwd www-data >/dev/null || skip "no user www-data"
# Another MTA would be removed by the install: leave such a machine alone.
other=$(dpkg-query -W -f '${Package} ${Provides} ${Status}\n' 2>/dev/null |
	awk '/mail-transport-agent/ && /ok installed/ && $1 != "relayq" { print $1 }')
[ -z "$other" ] || skip "another MTA is installed: $other"
if [ -e /usr/sbin/sendmail ] && ! dpkg -S /usr/sbin/sendmail 2>/dev/null | grep -q '^relayq:'; then
	skip "/usr/sbin/sendmail exists and is not relayq's"
fi

W=$(mktemp -d /tmp/relayq-deb-e2e.XXXXXX) || die "mktemp"
chmod 0755 "$W"
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
export DEBIAN_FRONTEND=noninteractive
# A relayq left by an interrupted earlier run.
if dpkg-query -W relayq >/dev/null 2>&1; then
	apt-get purge -y -qq relayq >/dev/null 2>&1
fi

# --- build -------------------------------------------------------------------
# build SRC LOG: dpkg-buildpackage in SRC; the .deb lands in its parent.
build() {
	(cd "$1" && dpkg-buildpackage -b -us -uc) >"$2" 2>&1 ||
		{ tail -n 40 "$2"; return 1; }
}
rm -rf "$B"
mkdir -p "$B/relayq"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
	case $f in build-*/* | relayq_*.deb) continue ;; esac
	if [ -f "$f" ]; then cp --parents -p "$f" "$B/relayq/"; fi
done
cp -a "$B/relayq" "$B/relayq-next"	# the upgrade, copied before any build
build "$B/relayq" "$W/build1.log" || die "dpkg-buildpackage -b -us -uc"
DEB1=$(ls "$B"/relayq_*_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB1" ] && ok "built $(basename "$DEB1")" || die "no relayq_*.deb built"
V1=$(dpkg-deb -f "$DEB1" Version)

lintian "$DEB1" >"$W/lintian.log" 2>&1
check "lintian: no errors" "" "$(grep '^E:' "$W/lintian.log")"

# --- install -------------------------------------------------------------------
apt-get install -y -qq "$DEB1" >"$W/install1.log" 2>&1 ||
	{ cat "$W/install1.log"; die "apt-get install ./$(basename "$DEB1")"; }
installed && ok "apt-get install ./$(basename "$DEB1")" || die "not installed"

check_modes() { # WHEN
	local f
	for f in /usr/sbin/relayq /usr/sbin/sendmail /usr/bin/mailq /usr/bin/newaliases; do
		check "$1: $f root:relayq-drop 2755" "2755 root relayq-drop" "$(stat -c '%a %U %G' "$f")"
		check "$1: statoverride for $f" "root relayq-drop 2755 $f" "$(dpkg-statoverride --list "$f")"
	done
	check "$1: one inode for relayq and its links (mailq, newaliases)" 1 \
		"$(stat -c %i /usr/sbin/relayq /usr/bin/mailq /usr/bin/newaliases | sort -u | wc -l)"
	check "$1: sendmail, the submission program, without libssl/libcrypto" "" \
		"$(ldd /usr/sbin/sendmail | grep -E 'libssl|libcrypto')"
	check "$1: /usr/lib/sendmail" "/usr/sbin/sendmail" "$(readlink -f /usr/lib/sendmail)"
	check "$1: spool" "755 relayq relayq" "$(stat -c '%a %U %G' /var/spool/relayq)"
	check "$1: maildrop" "1770 relayq relayq-drop" "$(stat -c '%a %U %G' /var/spool/relayq/maildrop)"
	for f in queue hold corrupt; do
		check "$1: $f/" "2750 relayq relayq-drop" "$(stat -c '%a %U %G' "/var/spool/relayq/$f")"
	done
	check "$1: tmp/" "2700 relayq relayq-drop" "$(stat -c '%a %U %G' /var/spool/relayq/tmp)"
	check "$1: state/" "700 relayq relayq" "$(stat -c '%a %U %G' /var/spool/relayq/state)"
	check "$1: wake-up FIFO" "fifo 620 relayq relayq-drop" \
		"$(stat -c '%F %a %U %G' /var/spool/relayq/wakeup)"
	check "$1: relayq.conf" "644 root root" "$(stat -c '%a %U %G' /etc/relayq/relayq.conf)"
	check "$1: log directory" "2750 relayq adm" "$(stat -c '%a %U %G' /var/log/relayq)"
	check "$1: logrotate snippet" "644 root root" "$(stat -c '%a %U %G' /etc/logrotate.d/relayq)"
	check "$1: user relayq: system account, no login shell" "/usr/sbin/nologin" \
		"$(getent passwd relayq | cut -d: -f7)"
	[ "$(id -u relayq)" -lt 1000 ] && ok "$1: relayq has a system uid" || nok "$1: relayq has a system uid"
	check "$1: relayq is not in relayq-drop" "relayq" "$(id -nG relayq)"
}
check_modes "install"
check "conffile /etc/relayq/relayq.conf" 1 \
	"$(dpkg-query -W -f '${Conffiles}\n' relayq | grep -c ' /etc/relayq/relayq.conf ')"
apt-get install -s bsd-mailx cron >"$W/sim.log" 2>&1 || { cat "$W/sim.log"; nok "apt-get install -s bsd-mailx cron"; }
check "apt-get install -s bsd-mailx cron plans no other MTA and keeps relayq" "" \
	"$(grep -E '^(Inst|Remv) ' "$W/sim.log" | grep -E 'exim4|postfix|nullmailer|dma|ssmtp|msmtp-mta|sendmail-bin|opensmtpd|courier-mta|^Remv relayq')"

# --- a loopback smarthost and the daemon ----------------------------------------------
start_smarthost() { # NAME
	rm -f "$W/$1.port"
	"$PY" "$TOP/tests/e2e/smarthost.py" --mode plain --outdir "$W/$1.rx" \
		--port-file "$W/$1.port" --log "$W/$1.log" >"$W/$1.out" 2>&1 &
	SH_PID=$!
	for _ in $(seq 200); do [ -s "$W/$1.port" ] && break; sleep 0.1; done
	[ -s "$W/$1.port" ] || die "smarthost $1 did not start: $(cat "$W/$1.out")"
	PORT=$(cat "$W/$1.port")
}
configure() { # PORT: the system config points at 127.0.0.1:PORT, plain
	cat >/etc/relayq/relayq.conf <<EOF
# written by tests/pkg/deb_e2e.sh
[queue]
retry = 1m

[local]
hostname = relayq-deb.test
domain = example.test

[smarthost]
host = 127.0.0.1
port = $1
tls = none
auth = none
EOF
}
start_daemon() { # NAME
	if [ -d /run/systemd/system ]; then
		systemctl restart relayq.service && ok "relayq.service (re)started by systemd" ||
			nok "systemctl restart relayq.service"
		return
	fi
	/usr/sbin/relayq -v daemon >"$W/$1.daemon.log" 2>&1 &
	D_PID=$!
	for _ in $(seq 200); do grep -q "daemon started" "$W/$1.daemon.log" && break; sleep 0.1; done
	grep -q "daemon started" "$W/$1.daemon.log" && ok "relayq daemon started by hand (no systemd)" ||
		nok "relayq daemon started: $(cat "$W/$1.daemon.log")"
}
stop_daemon() {
	if [ -d /run/systemd/system ]; then systemctl stop relayq.service; return; fi
	stop_pid "$D_PID"
	D_PID=
}
count() { find "$W/$1.rx" -name '[0-9]*.json' 2>/dev/null | wc -l; }
wait_count() { # NAME N
	for _ in $(seq 200); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	return 1
}
www_send() { # SUBJECT: as PHP's mail() does, as www-data
	printf 'To: bob@example.org\nSubject: %s\n\nfrom www-data\n' "$1" |
		setpriv --reuid=www-data --regid=www-data --init-groups /usr/sbin/sendmail -t -i
}

start_smarthost sh1
configure "$PORT"
start_daemon d1
t0=$(date +%s%N)
www_send "deb hello" && ok "www-data: sendmail -t -i exits 0" || nok "www-data: sendmail -t -i"
if wait_count sh1 1; then
	ok "www-data's mail reached the smarthost in $((($(date +%s%N) - t0) / 1000000)) ms"
else
	nok "www-data's mail reached the smarthost within 20 s"
fi
grep -q '"mail_from": "www-data@example.test"' "$W"/sh1.rx/*.json 2>/dev/null &&
	ok "envelope sender www-data@example.test" || nok "envelope sender www-data@example.test"

# --- upgrade with mail in the queue ---------------------------------------------------
stop_pid "$SH_PID"
SH_PID=
www_send "queued one" && www_send "queued two" || nok "queue while the smarthost is down"
sleep 1
stop_daemon
mailq >"$W/mailq1.txt" 2>&1
check "2 messages queued before the upgrade" 1 "$(grep -c 'Total requests: 2' "$W/mailq1.txt")"
{
	printf 'relayq (%s+ci1) unstable; urgency=medium\n\n' "$V1"
	printf '  * Rebuilt by tests/pkg/deb_e2e.sh to test the upgrade.\n\n'
	printf ' -- relayq developers <dev@relayq.invalid>  %s\n\n' "$(date -R)"
	cat "$B/relayq-next/debian/changelog"
} >"$W/changelog" && mv "$W/changelog" "$B/relayq-next/debian/changelog"
build "$B/relayq-next" "$W/build2.log" || die "dpkg-buildpackage of the upgrade"
DEB2=$(ls "$B"/relayq_"$V1"+ci1_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB2" ] || die "no upgrade package built"
apt-get install -y -qq -o Dpkg::Options::=--force-confold "$DEB2" >"$W/install2.log" 2>&1 ||
	{ cat "$W/install2.log"; die "apt-get install ./$(basename "$DEB2")"; }
check "upgraded to $V1+ci1" "$V1+ci1" "$(dpkg-query -W -f '${Version}' relayq)"
check_modes "upgrade"
mailq >"$W/mailq2.txt" 2>&1
check "the 2 queued messages survived the upgrade" 1 "$(grep -c 'Total requests: 2' "$W/mailq2.txt")"
setpriv --reuid=www-data --regid=www-data --init-groups /usr/bin/mailq >"$W/mailq3.txt" 2>&1
check "mailq as www-data lists them too (envelopes only)" 1 \
	"$(grep -c 'Total requests: 2' "$W/mailq3.txt")"
check "the edited relayq.conf was kept" 1 "$(grep -c 'written by tests/pkg/deb_e2e.sh' /etc/relayq/relayq.conf)"
start_smarthost sh2
configure "$PORT"
start_daemon d2
wait_count sh2 2 && ok "the queued mail was delivered after the upgrade" ||
	nok "the queued mail was delivered after the upgrade ($(count sh2) of 2)"
t0=$(date +%s%N)
www_send "after upgrade"
wait_count sh2 3 && ok "new mail after the upgrade in $((($(date +%s%N) - t0) / 1000000)) ms" ||
	nok "new mail after the upgrade"
stop_daemon

# --- purge -------------------------------------------------------------------------
apt-get purge -y -qq relayq >"$W/purge.log" 2>&1 || { cat "$W/purge.log"; nok "apt-get purge relayq"; }
installed && nok "apt-get purge relayq: still installed" || ok "apt-get purge relayq"
for p in /var/spool/relayq /etc/relayq /var/log/relayq /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq; do
	[ -e "$p" ] || [ -L "$p" ] && nok "purge removed $p" || ok "purge removed $p"
done
check "purge removed the accounts" "" "$(getent passwd relayq; getent group relayq relayq-drop)"
check "purge removed the statoverrides" "" "$(dpkg-statoverride --list | grep -E 'relayq|sendmail|mailq|newaliases')"
finish
