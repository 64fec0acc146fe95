#!/usr/bin/env bash
# relayq benchmark against Debian's dma and nullmailer.  See bench/README.md.
#
#   bench/run.sh [-n N] [-m "relayq dma nullmailer"] [--big MB] [--tls] [--keep]
#
# Needs root (unshare -m and bind/overlay mounts give each peer its compiled-in
# /etc and /var/spool paths in a private mount namespace; nothing on the host's
# /etc, /usr or /var is touched).  Every wait is bounded; every process we start is
# stopped by its PID.
set -u -o pipefail

SELF=$(readlink -f "$0")
BENCH=$(dirname "$SELF")
TOP=$(dirname "$BENCH")
PY=/usr/bin/python3            # Debian's, with python3-aiosmtpd; not a python3 from PATH
RCPT=bench@sink.test

# ---------------------------------------------------------------------------------
# helpers shared by all modes

say() { printf '%s\n' "$*"; }
warn() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# now: wall clock in seconds with microseconds (bash builtin, no fork)
now() { printf '%s' "$EPOCHREALTIME"; }
# rate COUNT T0 T1 -> COUNT/(T1-T0), one decimal
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { d = b - a; if (d <= 0) print "inf"; else printf "%.1f", n / d }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# sink_cmd LINE [READ_TIMEOUT]: one request on the sink's control port, prints the reply.
sink_cmd() {
	local fd reply
	exec {fd}<>"/dev/tcp/127.0.0.1/$CPORT" || return 1
	printf '%s\n' "$1" >&"$fd"
	IFS= read -r -t "${2:-30}" reply <&"$fd" || reply=
	exec {fd}>&-
	printf '%s\n' "$reply"
}

# rss_prefix OUTFILE: sets RSSP to a command prefix that runs a command and writes
# its peak RSS in KB (max over the process and the descendants it waited for) to
# OUTFILE; the exit status is the command's.
rss_prefix() {
	if [ -x /usr/bin/time ]; then RSSP=(/usr/bin/time -f '%M' -o "$1" --)
	else RSSP=("$PY" "$BENCH/maxrss.py" "$1"); fi
}
readnum() { local v; v=$(tail -n 1 "$1" 2>/dev/null | tr -dc '0-9'); printf '%s' "${v:-?}"; }

# ---------------------------------------------------------------------------------
# per-MTA commands (used inside the MTA's mount namespace)

# set_cmds MTA: SUBMIT (queue one message read from stdin, queue-only) and
# DELIVER (one delivery pass in the foreground) as argv arrays.
set_cmds() {
	case $1 in
	relayq*)
		SUBMIT=("$T/bin/sendmail" -C "$D/relayq.conf" -odq "$RCPT")
		DELIVER=("$T/bin/sendmail" -C "$D/relayq.conf" -q) ;;
	dma)
		# dma ignores -odq ("all other -o options are ignored"); DEFER in dma.conf queues.
		SUBMIT=(/usr/sbin/dma -odq "$RCPT")
		# -D: no daemon(); -q forks one child per queued message and does not wait.
		DELIVER=(/usr/sbin/dma -D -q) ;;
	nullmailer)
		# sendmail -> nullmailer-inject -> nullmailer-queue (setuid mail): queue only.
		SUBMIT=(/usr/sbin/sendmail -odq "$RCPT")
		# pausetime=0 makes nullmailer-send one-shot: one pass over the queue, then exit.
		# Debian runs it as user mail (nullmailer.service); so do we.
		DELIVER=(setpriv --reuid=mail --regid=mail --init-groups /usr/sbin/nullmailer-send) ;;
	esac
}

# queue_count MTA: messages still queued ("?" if it cannot tell).
queue_count() {
	local out
	case $1 in
	relayq*)
		out=$(timeout -k 5 30 "$T/bin/sendmail" -C "$D/relayq.conf" -bp </dev/null 2>/dev/null) || { printf '?'; return; }
		if [ "$out" = "Mail queue is empty" ]; then printf 0
		else printf '%s' "$out" | sed -n 's/.*Total requests: *\([0-9]*\).*/\1/p' | tail -n 1 | grep . || printf '?'
		fi ;;
	dma)        find "$D/spool" -maxdepth 1 -name 'Q*' -type f | wc -l ;;
	nullmailer) find "$D/spool/queue" -mindepth 1 -maxdepth 1 -type f | wc -l ;;
	esac
}

# reset_spool MTA: an empty spool, as the package would leave it.  The directory
# itself is kept (it is bind-mounted for the peers).
reset_spool() {
	mkdir -p "$D/spool"
	find "$D/spool" -mindepth 1 -delete
	case $1 in
	relayq*)
		chmod 0755 "$D/spool" ;;   # owned by the caller; relayq makes its subdirs
	dma)
		chown root:mail "$D/spool"; chmod 0775 "$D/spool" ;;   # dma runs setgid mail
	nullmailer)
		mkdir "$D/spool/queue" "$D/spool/tmp" "$D/spool/failed"
		mkfifo "$D/spool/trigger"
		chown -R mail:root "$D/spool"
		chmod 0750 "$D/spool" "$D/spool/queue" "$D/spool/tmp" "$D/spool/failed"
		chmod 0600 "$D/spool/trigger" ;;
	esac
}

# setup_mounts MTA: inside the private mount namespace, make the peer's compiled-in
# paths point at its extracted package and at $D.  Read-only overlays (several
# lowerdirs, no upperdir) so nothing is ever written below the host's dirs.
setup_mounts() {
	local mta=$1 usr_lower="" d
	case $mta in relayq*) return 0 ;; esac
	# the peer's own tree, plus any library packages fetched for it
	usr_lower="$PEERS/root/$mta/usr:"
	for d in "$PEERS"/root/lib*/usr; do [ -d "$d" ] && usr_lower="$usr_lower$d:"; done
	mkdir -p "$D/skel/dma" "$D/skel/nullmailer"
	mount -t overlay "bench-$mta-usr" -o "lowerdir=${usr_lower}/usr" /usr || return 1
	mount -t overlay "bench-$mta-etc" -o "lowerdir=$D/etc:$PEERS/root/$mta/etc:/etc" /etc || return 1
	mount -t overlay "bench-$mta-spool" -o "lowerdir=$D/skel:/var/spool" /var/spool || return 1
	mount --bind "$D/spool" "/var/spool/$mta" || return 1
}

# ---------------------------------------------------------------------------------
# mode --loop MTA COUNT MSGFILE: the timed submission loop (run under timeout).
# Prints "elapsed_seconds"; the first submission is wrapped to get its peak RSS.
loop_main() {
	local mta=$1 count=$2 msg=$3 i t0 t1 rc
	set_cmds "$mta"
	rss_prefix "$D/submit.rss"
	t0=$(now)
	"${RSSP[@]}" "${SUBMIT[@]}" <"$msg" >"$D/last.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		say "FAIL 1 $rc"; return 1
	fi
	for ((i = 2; i <= count; i++)); do
		"${SUBMIT[@]}" <"$msg" >"$D/last.out" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			say "FAIL $i $rc"; return 1
		fi
	done
	t1=$(now)
	say "OK $(secs "$t0" "$t1")"
}

# ---------------------------------------------------------------------------------
# mode --inner MTA: runs inside `unshare -m`; all phases for one MTA; writes
# $D/result (key=value) and $D/failures (free text).

res() { printf '%s=%s\n' "$1" "$2" >>"$D/result"; }
fail() {
	{ printf '%s\n' "$*"; printf -- '----\n'; } >>"$D/failures"
	warn "$MTA: $(printf '%s' "$*" | head -n 1)"
}
# tailof FILE: last lines of an output file, indented, for failure reports.
tailof() { [ -s "$1" ] && tail -n 15 "$1" | sed 's/^/    | /' || say "    | (no output)"; }

cmd_text() {   # the command line of submit/deliver for failure reports
	if [ "$1" = submit ]; then printf '%s < MESSAGE' "${SUBMIT[*]}"; else printf '%s' "${DELIVER[*]}"; fi
	case $MTA in relayq*) printf '   (%s/bin/sendmail -> %s)' "$T" "$RELAYQ" ;; esac
}

# start_sampler / stop_sampler: total PSS of the MTA's processes in this namespace.
start_sampler() {
	rm -f "$D/sampler.ready" "$D/sampler.out"
	"$PY" "$BENCH/memsample.py" --ns-of $$ --out "$D/sampler.out" --ready "$D/sampler.ready" \
		--max "$((DTO + 30))" &
	SAMPLER=$!
	local i
	for ((i = 0; i < 100; i++)); do [ -e "$D/sampler.ready" ] && return 0; sleep 0.05; done
	warn "memory sampler did not start"
}
stop_sampler() {
	[ -n "${SAMPLER:-}" ] || return 0
	kill -TERM "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
}

# sink_cpu: user+system CPU ticks used so far by the sink (SINK_PID)
sink_cpu() { awk '{ print $14 + $15 }' "/proc/$SINK_PID/stat" 2>/dev/null || echo 0; }

# alive PID: PID runs (a zombie does not count)
alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ "$st" != Z ] && [ "$st" != X ]
}

# ns_procs: PIDs of the processes in this mount namespace other than this shell:
# what the MTA left running (run.sh's own helpers have ended when this is called).
ns_procs() {
	local me p
	me=$(readlink "/proc/$$/ns/mnt")
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
		[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$me" ] && alive "$p" && printf '%s\n' "$p"
	done
}

# ns_reap TAG: give the MTA's remaining processes GRACE seconds to finish, then
# record and stop them (TERM, then KILL), each by its PID.
ns_reap() {
	local tag=$1 i pids comms
	for ((i = 0; i < ${GRACE:-10} * 5; i++)); do
		pids=$(ns_procs)
		[ -z "$pids" ] && return 0
		sleep 0.2
	done
	comms=$(for p in $pids; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c | tr -s ' \n' ' ')
	res "${tag}_leftover_procs" "$(printf '%s\n' "$pids" | wc -l)"
	fail "$tag: $(printf '%s\n' "$pids" | wc -l) process(es) still running ${GRACE:-10}s after the delivery pass (${comms}); stopped them"
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 25; i++)); do
		pids=$(ns_procs)
		[ -z "$pids" ] && return 0
		sleep 0.2
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
}

# sink_wait COUNT PID: wait until the sink has COUNT messages.  Gives up after DTO
# seconds, or once PID (the delivery pass) has ended and the count has not grown for
# GRACE seconds (dma's children may still be at work after its -q process exits).
# Prints the sink's last "messages bytes" reply.
sink_wait() {
	local count=$1 pid=$2 deadline=$((SECONDS + DTO)) got n last=-1 idle=0
	while :; do
		got=$(sink_cmd "wait $count 1" 10)
		n=${got%% *}
		[ "$n" = "$count" ] && break
		if ! alive "$pid"; then
			if [ "$n" = "$last" ]; then idle=$((idle + 1)); else idle=0; fi
			[ "$idle" -ge "${GRACE:-10}" ] && break
		fi
		last=$n
		[ "$SECONDS" -ge "$deadline" ] && break
	done
	printf '%s\n' "$got"
}

# deliver_timed COUNT TAG [SAMPLE]: one delivery pass, waiting until the sink has
# COUNT messages.  Sets DELIV_OK=1 on success; results under TAG.  SAMPLE=1 runs the
# memory sampler during the pass (it costs CPU: not in the timed throughput pass).
deliver_timed() {
	local count=$1 tag=$2 sample=${3:-0} t0 t1 t2 dp drc got n bytes c0 c1
	DELIV_OK=0
	[ "$sample" = 1 ] && start_sampler
	c0=$(sink_cpu)
	t0=$(now)
	rss_prefix "$D/$tag.deliver.rss"
	timeout -k 5 "$DTO" "${RSSP[@]}" "${DELIVER[@]}" </dev/null >"$D/$tag.deliver.log" 2>&1 &
	dp=$!
	got=$(sink_wait "$count" "$dp")
	t1=$(now)
	c1=$(sink_cpu)
	wait "$dp"; drc=$?
	t2=$(now)
	stop_sampler
	ns_reap "$tag"
	read -r n bytes <<<"${got:-? ?}"
	res "${tag}_deliver_rc" "$drc"
	# CPU the sink used while the pass ran: near the pass time = the sink was the limit
	res "${tag}_sink_cpu_s" "$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	res "${tag}_deliver_pass_s" "$(secs "$t0" "$t2")"
	res "${tag}_deliver_rss" "$(readnum "$D/$tag.deliver.rss")"
	if [ "$sample" = 1 ] && [ -s "$D/sampler.out" ]; then
		read -r pss _ procs <"$D/sampler.out"
		res "${tag}_deliver_total_pss" "$pss"
		res "${tag}_deliver_max_procs" "$procs"
	fi
	res "${tag}_sink_bytes" "${bytes:-?}"
	res "${tag}_left_in_queue" "$(queue_count "$MTA")"
	if [ "${n:-x}" = "$count" ]; then
		DELIV_OK=1
		res "${tag}_deliver_s" "$(secs "$t0" "$t1")"
		res "${tag}_deliver_rate" "$(rate "$count" "$t0" "$t1")"
		[ "$drc" -eq 0 ] || fail "$tag delivery: all $count messages arrived, but the delivery command exited $drc
  command: $(cmd_text deliver)
  output:
$(tailof "$D/$tag.deliver.log")"
	else
		fail "$tag delivery: the sink counted ${n:-?} of $count messages (delivery exit status $drc, 124 = killed after ${DTO}s; gave up after $(secs "$t0" "$t2")s)
  command: $(cmd_text deliver)
  output:
$(tailof "$D/$tag.deliver.log")
  still queued: $(queue_count "$MTA")"
	fi
}

# fill_and_deliver TAG SAMPLE: N timed queue-only submissions, then one delivery
# pass (see deliver_timed).
fill_and_deliver() {
	local tag=$1 sample=$2 out rc n
	reset_spool "$MTA"
	sink_cmd reset >/dev/null
	timeout -k 5 "$LOOP_TO" bash "$SELF" --loop "$MTA" "$N" "$MSG" >"$D/loop.out" 2>"$D/loop.err"
	rc=$?
	out=$(tail -n 1 "$D/loop.out")
	case $out in
	OK\ *)
		res "${tag}_submit_s" "${out#OK }"
		res "${tag}_submit_rate" "$(awk -v n="$N" -v s="${out#OK }" 'BEGIN { printf "%.1f", n / s }')"
		res "${tag}_submit_rss" "$(readnum "$D/submit.rss")" ;;
	FAIL\ *)
		set -- $out
		fail "submission $2 of $N failed with exit status $3
  command: $(cmd_text submit)
  output:
$(tailof "$D/last.out")"
		return 1 ;;
	*)
		fail "submission loop did not finish (exit $rc; 124 = ${LOOP_TO}s timeout)
  command: $(cmd_text submit)
  last output:
$(tailof "$D/last.out")
$(tailof "$D/loop.err")"
		return 1 ;;
	esac
	# Queue-only must mean queue-only: nothing may have reached the sink yet.
	sleep 0.5
	n=$(sink_cmd count); n=${n%% *}
	res "${tag}_queued_before_pass" "$(queue_count "$MTA")"
	if [ "${n:-0}" != 0 ]; then
		fail "queue-only submission delivered ${n} message(s) before the delivery pass ($(cmd_text submit))"
		res "${tag}_delivered_early" "$n"
	fi
	deliver_timed "$N" "$tag" "$sample"
	[ "$DELIV_OK" = 1 ]
}

phase_big() {
	local rc
	reset_spool "$MTA"
	sink_cmd reset >/dev/null
	rss_prefix "$D/big.submit.rss"
	timeout -k 5 "$BIG_TO" "${RSSP[@]}" "${SUBMIT[@]}" <"$BIG" >"$D/big.submit.log" 2>&1
	rc=$?
	res big_submit_rc "$rc"
	res big_submit_rss "$(readnum "$D/big.submit.rss")"
	if [ $rc -ne 0 ]; then
		fail "${BIG_MB} MB submission failed with exit status $rc
  command: $(cmd_text submit | sed "s|MSG|${BIG_MB}MB-message|")
  output:
$(tailof "$D/big.submit.log")"
		return 1
	fi
	deliver_timed 1 big 1
	if [ "$DELIV_OK" = 1 ]; then
		local b; b=$(sed -n 's/^big_sink_bytes=//p' "$D/result")
		if [ "${b:-0}" -lt "$BIG_BYTES" ]; then
			fail "${BIG_MB} MB message arrived with only $b bytes (sent $BIG_BYTES)"
		fi
	fi
}

# fsync, fdatasync and friends made by one submission and by the delivery of
# that one message, and whether they were on files or on directories.
SYNC_CALLS='fsync,fdatasync,sync_file_range,syncfs,sync,msync'
phase_fsync() {
	command -v strace >/dev/null || { res fsync_submit n/a; res fsync_deliver n/a; return 0; }
	local rc n sp
	reset_spool "$MTA"
	sink_cmd reset >/dev/null
	timeout -k 5 120 strace -f -y -qq -o "$D/strace.submit" -e "trace=$SYNC_CALLS" \
		"${SUBMIT[@]}" <"$MSG" >"$D/strace.submit.log" 2>&1
	rc=$?
	res fsync_submit "$(count_syncs "$D/strace.submit")"
	if [ $rc -ne 0 ]; then
		fail "submission under strace failed with exit status $rc
  command: strace -f $(cmd_text submit)
  output:
$(tailof "$D/strace.submit.log")"
		return 1
	fi
	timeout -k 5 "$DTO" strace -f -y -qq -o "$D/strace.deliver" -e "trace=$SYNC_CALLS" \
		"${DELIVER[@]}" </dev/null >"$D/strace.deliver.log" 2>&1 &
	sp=$!
	n=$(sink_wait 1 "$sp")
	wait "$sp"
	ns_reap fsync
	res fsync_deliver "$(count_syncs "$D/strace.deliver")"
	[ "${n%% *}" = 1 ] || fail "delivery under strace: the sink counted ${n%% *} of 1
  command: strace -f $(cmd_text deliver)
  output:
$(tailof "$D/strace.deliver.log")"
}

# count_syncs STRACE_OUT: "TOTAL=Ff+Dd": sync calls that succeeded, on files (F) and on
# directories (D), told apart by what the path (strace -y) is now; a temp file renamed
# since counts as a file.
count_syncs() {
	local total=0 files=0 dirs=0 path
	[ -e "$1" ] || { printf '?'; return; }
	while IFS= read -r path; do
		total=$((total + 1))
		if [ -d "$path" ]; then dirs=$((dirs + 1)); else files=$((files + 1)); fi
	done < <(grep -E "^[0-9]+ +(${SYNC_CALLS//,/|})\(" "$1" | grep -v ' = -1 ' |
		sed -n 's/^[^<]*<\([^>]*\)>.*/\1/p')
	printf '%s=%sf+%sd' "$total" "$files" "$dirs"
}

inner_main() {
	MTA=$1
	D=$T/$MTA
	: >"$D/result"; : >"$D/failures"
	set_cmds "$MTA"
	if ! setup_mounts "$MTA"; then
		fail "could not set up the mount namespace for $MTA (overlay/bind mounts)"
		return 0
	fi
	# timed run, undisturbed; then the same again with the memory sampler on
	fill_and_deliver tp 0 && fill_and_deliver mem 1
	phase_big
	phase_fsync
	return 0
}

# ---------------------------------------------------------------------------------
# main mode

usage() {
	cat <<EOF
usage: bench/run.sh [options]
  -n N          messages in the throughput phase (default 1000)
  -m "LIST"     MTAs to run, from: relayq dma nullmailer (default: all three)
  --big MB      size of the large message (default 20)
  --tls         also run relayq against a STARTTLS sink (row relayq+tls)
  --keep        keep the work directory (bench/out/work-*)
  --relayq PATH the relayq binary (default: $TOP/relayq)
Results: printed, and written to bench/out/results-<date>.txt.
EOF
}

fetch_peers() {   # apt-get download + dpkg-deb -x into bench/peers (cached)
	local pkg deb dep
	mkdir -p "$PEERS/debs" "$PEERS/root"
	for pkg in dma nullmailer; do
		deb=$(ls "$PEERS/debs/${pkg}_"*.deb 2>/dev/null | tail -n 1)
		if [ -z "$deb" ]; then
			say "fetching $pkg (apt-get download; not installed)"
			(cd "$PEERS/debs" && apt-get download "$pkg" >/dev/null 2>"$PEERS/debs/apt.err") ||
				die "apt-get download $pkg failed (run 'apt-get update' first?): $(cat "$PEERS/debs/apt.err")"
			deb=$(ls "$PEERS/debs/${pkg}_"*.deb | tail -n 1)
		fi
		if [ ! -e "$PEERS/root/$pkg/.extracted" ] || [ "$deb" -nt "$PEERS/root/$pkg/.extracted" ]; then
			rm -rf "$PEERS/root/$pkg"; mkdir -p "$PEERS/root/$pkg"
			dpkg-deb -x "$deb" "$PEERS/root/$pkg" || die "dpkg-deb -x $deb failed"
			mkdir -p "$PEERS/root/$pkg/etc" "$PEERS/root/$pkg/usr"
			touch "$PEERS/root/$pkg/.extracted"
		fi
		# Library dependencies that this machine lacks: fetch and extract them too;
		# they join the /usr overlay.  (Packages of the base system are left alone.)
		for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//' | tr -d ' '); do
			case $dep in lib*) ;; *) continue ;; esac
			dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' && continue
			if [ ! -e "$PEERS/root/$dep/.extracted" ]; then
				say "fetching library $dep for $pkg"
				(cd "$PEERS/debs" && apt-get download "$dep" >/dev/null 2>&1) || die "apt-get download $dep failed"
				mkdir -p "$PEERS/root/$dep"
				dpkg-deb -x "$(ls "$PEERS/debs/${dep}_"*.deb | tail -n 1)" "$PEERS/root/$dep"
				mkdir -p "$PEERS/root/$dep/etc" "$PEERS/root/$dep/usr"
				touch "$PEERS/root/$dep/.extracted"
			fi
		done
	done
}

write_configs() {   # per-MTA config dirs under $T/NAME
	local name=$1 sport=$2 d=$T/$1
	mkdir -p "$d/etc" "$d/spool"
	case $name in
	relayq)
		cat >"$d/relayq.conf" <<EOF
[queue]
dir = $d/spool
[local]
hostname = bench.test
domain = bench.test
[smarthost]
host = 127.0.0.1
port = $sport
tls = none
auth = none
EOF
		;;
	relayq+tls)
		cat >"$d/relayq.conf" <<EOF
[queue]
dir = $d/spool
[local]
hostname = bench.test
domain = bench.test
[smarthost]
host = 127.0.0.1
port = $sport
tls = starttls
tls_verify = yes
ca_file = $T/tls/ca.pem
auth = none
EOF
		;;
	dma)
		mkdir -p "$d/etc/dma"
		cat >"$d/etc/dma/dma.conf" <<EOF
SMARTHOST 127.0.0.1
PORT $sport
SPOOLDIR /var/spool/dma
ALIASES /etc/aliases
MAILNAME bench.test
NULLCLIENT
DEFER
EOF
		: >"$d/etc/aliases"
		echo bench.test >"$d/etc/mailname" ;;
	nullmailer)
		mkdir -p "$d/etc/nullmailer"
		echo "127.0.0.1 smtp --port=$sport" >"$d/etc/nullmailer/remotes"
		echo 0 >"$d/etc/nullmailer/pausetime"
		echo 60 >"$d/etc/nullmailer/sendtimeout"
		echo bench.test >"$d/etc/nullmailer/defaultdomain"
		echo bench.test >"$d/etc/mailname"
		chmod 0644 "$d/etc/nullmailer/remotes" ;;
	esac
	chmod 0755 "$d"
}

make_messages() {
	{
		printf 'From: Bench Sender <sender@bench.test>\n'
		printf 'To: Bench Sink <%s>\n' "$RCPT"
		printf 'Subject: relayq bench message\n'
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
		local i
		for ((i = 1; i <= 24; i++)); do
			printf 'Line %02d of the benchmark body: the quick brown fox jumps over the lazy dog 0123.\n' "$i"
		done
	} >"$MSG"
	{
		printf 'From: Bench Sender <sender@bench.test>\n'
		printf 'To: Bench Sink <%s>\n' "$RCPT"
		printf 'Subject: relayq bench %s MB message\n' "$BIG_MB"
		printf 'MIME-Version: 1.0\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n'
		head -c $((BIG_MB * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76
	} >"$BIG"
	BIG_BYTES=$(stat -c %s "$BIG")
}

start_sink() {   # start_sink NAME [tls]: sets SINK_PID_NAME, ports in $T/NAME.ports
	local name=$1 extra=() i
	[ "${2:-}" = tls ] && extra=(--tls-cert "$T/tls/server.pem" --tls-key "$T/tls/server.key")
	"$PY" "$BENCH/sink.py" --port-file "$T/$name.ports" --lifetime 7200 "${extra[@]}" \
		>"$T/$name.log" 2>&1 &
	SINK_PIDS="$SINK_PIDS $!"
	SINKPID[$name]=$!
	for ((i = 0; i < 100; i++)); do [ -s "$T/$name.ports" ] && return 0; sleep 0.1; done
	die "sink $name did not start: $(cat "$T/$name.log")"
}

make_tls() {
	mkdir -p "$T/tls"
	(
		cd "$T/tls" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=relayq bench CA" \
			-keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >ext.cnf
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile ext.cnf -out server.pem
	) >"$T/tls.log" 2>&1 || die "openssl failed: $(cat "$T/tls.log")"
}

cleanup() {
	local p
	[ -n "${INNER:-}" ] && kill -TERM "$INNER" 2>/dev/null && wait "$INNER" 2>/dev/null
	for p in $SINK_PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	if [ "$KEEP" = 1 ]; then say "work directory kept: $T"
	else rm -rf "$T"; fi
}

machine_info() {
	say "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	say "machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, kernel $(uname -r)"
	say "spool:   $T on $(df --output=fstype "$T" | tail -n 1) ($(df --output=source "$T" | tail -n 1))"
	local v; v=$(cd "$T" && timeout 10 "$RELAYQ" version 2>/dev/null </dev/null | head -n 1)
	if [ "$RELAYQ" = "$TOP/relayq" ]; then
		say "relayq:  $RELAYQ, ${v:-version unknown}, tree $(cd "$TOP" && git describe --always --dirty 2>/dev/null || echo 'without commits')"
	else
		say "relayq:  $RELAYQ, ${v:-version unknown}, built $(date -u -r "$RELAYQ" '+%Y-%m-%d %H:%M UTC')"
	fi
	local p
	for p in dma nullmailer; do
		say "$p: $(dpkg-deb -f "$(ls "$PEERS/debs/${p}_"*.deb | tail -n 1)" Version) (Debian package, extracted, not installed)"
	done
	say "sink:    aiosmtpd $("$PY" -c 'import aiosmtpd; print(aiosmtpd.__version__)') on 127.0.0.1, plain SMTP, PIPELINING advertised"
	say "N = $N messages of $(stat -c %s "$MSG") bytes; large message $BIG_BYTES bytes"
}

get() { sed -n "s/^$2=//p" "$T/$1/result" 2>/dev/null | tail -n 1 | grep . || printf -- '-'; }

report() {
	local name
	machine_info
	say ""
	printf '%-11s %10s %11s %10s %11s %11s %11s %11s %9s %9s\n' \
		MTA "submit/s" "deliver/s" "subRSS_KB" "delRSS_KB" "delPSS_tot" "${BIG_MB}MBsubRSS" "${BIG_MB}MBdelRSS" fsyncSub fsyncDel
	for name in $ROWS; do
		printf '%-11s %10s %11s %10s %11s %11s %11s %11s %9s %9s\n' "$name" \
			"$(get "$name" tp_submit_rate)" "$(get "$name" tp_deliver_rate)" \
			"$(get "$name" tp_submit_rss)" "$(get "$name" tp_deliver_rss)" "$(get "$name" mem_deliver_total_pss)" \
			"$(get "$name" big_submit_rss)" "$(get "$name" big_deliver_rss)" \
			"$(get "$name" fsync_submit)" "$(get "$name" fsync_deliver)"
	done
	say ""
	say "columns: submit/s = N queue-only submissions / wall time of the loop; deliver/s = N / time"
	say "  from starting the delivery pass until the sink has counted N; subRSS/delRSS = peak RSS (KB)"
	say "  of one submission / of the delivery pass (GNU time: max over the process and the children it"
	say "  waited for); delPSS_tot = peak sum of PSS (KB) over all the MTA's processes during a second,"
	say "  untimed pass of N (sampled every 50 ms); ${BIG_MB}MB* = peak RSS for one ${BIG_MB} MB message;"
	say "  fsyncSub/fsyncDel = fsync+fdatasync+sync_file_range+syncfs+msync calls in one submission /"
	say "  in the delivery pass of that one message (strace -f -y): total=on files+on directories."
	say ""
	say "details:"
	for name in $ROWS; do
		say "  $name: $(tr '\n' ' ' <"$T/$name/result" 2>/dev/null || say '(no result)')"
	done
	local any=0
	for name in $ROWS; do
		if [ -s "$T/$name/failures" ]; then
			[ $any = 1 ] || { say ""; say "FAILURES:"; any=1; }
			say "== $name"
			cat "$T/$name/failures"
		fi
	done
}

main() {
	N=1000; MTAS="relayq dma nullmailer"; BIG_MB=20; TLS=0; KEEP=0
	RELAYQ=${RELAYQ:-$TOP/relayq}
	while [ $# -gt 0 ]; do
		case $1 in
		-n) N=$2; shift 2 ;;
		-m) MTAS=$2; shift 2 ;;
		--big) BIG_MB=$2; shift 2 ;;
		--tls) TLS=1; shift ;;
		--keep) KEEP=1; shift ;;
		--relayq) RELAYQ=$(readlink -f "$2"); shift 2 ;;
		-h|--help) usage; exit 0 ;;
		*) usage >&2; exit 64 ;;
		esac
	done
	case $N in ''|*[!0-9]*|0) die "-n wants a positive number" ;; esac
	[ "$(id -u)" = 0 ] || die "needs root (unshare -m, overlay and bind mounts)"
	"$PY" -c 'import aiosmtpd' 2>/dev/null || die "$PY lacks aiosmtpd: apt-get install python3-aiosmtpd"
	command -v unshare >/dev/null || die "unshare (util-linux) is missing"
	[ -x /usr/bin/time ] || warn "GNU time missing (apt-get install time): using a python wait4 wrapper"
	command -v strace >/dev/null || warn "strace missing: no fsync counts"

	PEERS=$BENCH/peers
	OUT=$BENCH/out
	mkdir -p "$OUT"
	case " $MTAS " in *" dma "*|*" nullmailer "*) fetch_peers ;; esac

	T=$(mktemp -d "$OUT/work-XXXXXX")
	chmod 0755 "$T"
	SINK_PIDS=
	declare -gA SINKPID=()
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	MSG=$T/small.msg
	BIG=$T/big.msg
	make_messages

	# Bounds (seconds).  Generous: a healthy run of N=1000 takes a few minutes in all.
	LOOP_TO=${LOOP_TO:-$((120 + N / 2))}     # whole submission loop
	DTO=${DTO:-$((120 + N / 5))}             # one delivery pass
	BIG_TO=${BIG_TO:-120}                    # one large submission

	export T N MSG BIG BIG_MB BIG_BYTES RELAYQ PEERS LOOP_TO DTO BIG_TO

	mkdir -p "$T/bin"
	ln -s "$RELAYQ" "$T/bin/sendmail"
	ln -s "$RELAYQ" "$T/bin/mailq"

	start_sink sink
	local sport cport
	read -r sport cport <"$T/sink.ports"

	ROWS=
	local mta
	for mta in $MTAS; do
		case $mta in relayq|dma|nullmailer) ;; *) die "unknown MTA $mta" ;; esac
		ROWS="$ROWS $mta"
	done
	if [ "$TLS" = 1 ]; then
		command -v openssl >/dev/null || die "--tls needs openssl"
		make_tls
		start_sink tlssink tls
		ROWS="$ROWS relayq+tls"
	fi

	local name s c sp rc
	for name in $ROWS; do
		if [ "$name" = relayq+tls ]; then read -r s c <"$T/tlssink.ports"; sp=${SINKPID[tlssink]}
		else s=$sport; c=$cport; sp=${SINKPID[sink]}; fi
		write_configs "$name" "$s"
		if [[ $name == relayq* ]] && [ ! -x "$RELAYQ" ]; then
			mkdir -p "$T/$name"
			printf 'relayq binary %s is missing: build it first (autoreconf -fi && ./configure && make)\n----\n' \
				"$RELAYQ" >"$T/$name/failures"
			continue
		fi
		say "== $name: $N submissions, one delivery pass, ${BIG_MB} MB message, fsync count"
		CPORT=$c SPORT=$s SINK_PID=$sp D=$T/$name timeout -k 10 $((LOOP_TO + 2 * DTO + BIG_TO + 300)) \
			unshare -m --propagation private -- bash "$SELF" --inner "$name" &
		INNER=$!
		wait "$INNER"; rc=$?
		INNER=
		[ $rc -eq 0 ] || printf 'the run for %s ended abnormally (exit %s; 124 = timeout)\n----\n' "$name" "$rc" >>"$T/$name/failures"
	done

	local outfile; outfile=$OUT/results-$(date +%Y%m%d-%H%M%S).txt
	report | tee "$outfile"
	say ""
	say "written to $outfile"
}

case ${1:-} in
--inner)
	shift
	inner_main "$@" ;;
--loop)
	shift
	loop_main "$@" ;;
*)
	main "$@" ;;
esac
