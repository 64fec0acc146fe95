#!/bin/sh
# relayq e2e (an accepted message is never lost: doc/ARCHITECTURE.md, "The
# promises and the tests that prove them"): a full disk and failing I/O.
#
# A. The spool on a small tmpfs (root only; skipped when the mount fails),
#    with messages already queued (deferred in queue/, and waiting in
#    maildrop/).  Filled so that 0, 1 KiB, 10 KiB, 100 KiB and 300 KiB are
#    left, a small and a big message are submitted at each level: exit 0 or
#    75, never anything else, nothing partial left behind; every file that
#    was there before is unchanged.  Then the runner with the disk full:
#    the smarthost down (the deferral cannot be saved) and up (pickup
#    cannot write envelopes): nothing lost, no state broken.  Space back:
#    the next submission works and everything accepted is delivered
#    exactly once, complete.
# B. I/O errors at exact points (strace -e inject=NAME:error=...:when=N):
#    every write, pwrite, ftruncate, fchmod and fsync of a submission fails
#    once in turn with ENOSPC or EIO: exit 75, nothing delivered; every
#    write, fsync, rename, link, unlink and pread of a queue run fails once
#    in turn with EIO: then a clean run delivers everything, at least once,
#    complete, duplicates only as in crash_runner.sh.
# C. libfiu (fiu-run -x, Debian's fiu-utils): write, pwrite and fsync fail
#    at random (probability DISKFULL_FIU_P, 0.05) in DISKFULL_FIU_SUBMIT
#    (40) submissions and DISKFULL_FIU_RUNS (20) queue runs; the same
#    verdicts.  (libfiu wraps rename() but relayq calls renameat(): B
#    covers renames.)  Skipped when fiu-run is missing or cannot preload
#    (an ASan build).
# D. [queue] min_free above the free space (a huge size, and 100%): exit 75
#    with the spool's file system and the floor named, nothing left in
#    maildrop/, -bs answers 421; the runner still picks up and delivers.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
traced_relayq
trap '_rc=$?; [ -n "${MNT:-}" ] && umount -l "$MNT" 2>/dev/null; e2e_cleanup $_rc' EXIT
FIU_SUBMIT=${DISKFULL_FIU_SUBMIT:-40}
FIU_RUNS=${DISKFULL_FIU_RUNS:-20}
FIU_P=${DISKFULL_FIU_P:-0.05}
HAVE_STRACE=0
have_strace && HAVE_STRACE=1
start_smarthost full --mode plain
down_port DEAD_PORT
M=$T/msgs
mkdir "$M"
LEDGER=$T/ledger
ALLOWED=$T/allowed
: >"$LEDGER"
: >"$ALLOWED"
t0=$(date +%s)

# submit TAG N KIND CONF [more sendmail options]: queue one message (-odq),
# recorded in the ledger with its exit code.
submit() {
	_tag=$1 _n=$2 _kind=$3 _conf=$4
	shift 4
	ct mkmsg "$M" "$_tag" "$_n" "$_kind"
	run "$RELAYQ_SBIN/sendmail" -C "$_conf" -odq -t "$@" <"$M/$_tag-$_n.msg"
	echo "$_tag-$_n sub - - $RC 0" >>"$LEDGER"
}

# spool_sums DIR: checksum of every file under DIR (a path and sum a line).
spool_sums() { (cd "$1" && find maildrop queue hold -type f -exec md5sum {} + 2>/dev/null | LC_ALL=C sort); }

# ---- A. a small tmpfs -------------------------------------------------------
MNT=
if [ "$(id -u)" != 0 ]; then
	note "A skipped: not root (tmpfs mount)"
elif ! mkdir "$T/small" || ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$T/small" 2>"$T/mount.err"; then
	note "A skipped: cannot mount a tmpfs: $(cat "$T/mount.err")"
else
	MNT=$T/small
	SP=$MNT/spool
	mkdir "$SP"
	UP=$T/up.conf
	DOWN=$T/down.conf
	write_config "$UP" tls=none tls_verify= ca_file= user= spool="$SP"
	write_config "$DOWN" tls=none tls_verify= ca_file= user= spool="$SP" \
		port="$DEAD_PORT"
	# Already queued: three deferred in queue/, two waiting in maildrop/.
	for i in 1 2 3; do
		submit pre "$i" big "$DOWN"
		[ "$RC" = 0 ] || die "queueing pre-$i: exit $RC"
	done
	sm -C "$DOWN" -q
	[ -n "$(ls "$SP/queue")" ] || die "nothing deferred in queue/"
	for i in 4 5; do
		submit pre "$i" small "$DOWN"
		[ "$RC" = 0 ] || die "queueing pre-$i: exit $RC"
	done
	spool_sums "$SP" >"$T/sums.before"
	note "before: $(wc -l <"$T/sums.before") files in the spool"

	# fill_to BYTES: leave about BYTES free (whole pages) on the tmpfs.
	fill_to() {
		rm -f "$MNT/fill"
		dd if=/dev/zero of="$MNT/fill" bs=4096 >/dev/null 2>&1
		_full=$(stat -c %s "$MNT/fill")
		if [ "$1" -gt 0 ]; then
			truncate -s $((_full > $1 ? _full - $1 : 0)) "$MNT/fill"
		fi
		sync
	}
	lvl=0
	for free in 0 1024 10240 102400 307200; do
		fill_to "$free"
		avail=$(df -k --output=avail "$MNT" | tail -n 1 | tr -d ' ')
		for kind in small big; do
			lvl=$((lvl + 1))
			ls -A "$SP/maildrop" | LC_ALL=C sort >"$T/md.before"
			submit full "$lvl" "$kind" "$UP"
			ls -A "$SP/maildrop" | LC_ALL=C sort >"$T/md.after"
			new=$(LC_ALL=C comm -13 "$T/md.before" "$T/md.after" | tr '\n' ' ')
			note "free ${free} B (df: ${avail} KiB), $kind: exit $RC$([ "$RC" != 0 ] && echo ": $(head -c 120 "$ERR")")"
			case $RC in
			0) [ -n "$new" ] ||
				check_fail "free $free, $kind: exit 0 but no new maildrop entry" ;;
			75) check_eq "free $free, $kind: exit 75 leaves nothing behind" "" "$new" ;;
			*) check_fail "free $free, $kind: exit 0 or 75" "0 or 75" "$RC" ;;
			esac
		done
	done
	check_eq "the disk full, nothing but a small message fits with 0 free" \
		"" "$(awk '$1 == "full-2" && $5 == 0' "$LEDGER")"
	ct scan-maildrop "$SP" "$M" >"$T/scan"
	check_no_grep "no partial or odd maildrop entry" '^(partial|badmode)' "$T/scan"
	spool_sums "$SP" >"$T/sums.after"
	check_eq "every file there before is unchanged" "" \
		"$(LC_ALL=C comm -23 "$T/sums.before" "$T/sums.after")"

	# The runner, disk full: smarthost down, then up.
	fill_to 0
	sm -C "$DOWN" -q
	note "runner, disk full, smarthost down: exit $RC, $(head -c 200 "$ERR")"
	spool_sums "$SP" >"$T/sums.run1"
	# (a maildrop entry may have moved into queue/: compared by content)
	check_eq "runner on a full disk: every queued file still there, unchanged" "" \
		"$(awk 'NR == FNR { have[$1] = 1; next } !($1 in have)' \
			"$T/sums.run1" "$T/sums.before")"
	run env RELAYQ_CONFIG="$UP" "$RELAYQ_SBIN/relayq" queue flush
	note "runner, disk full, smarthost up: exit $RC, $(received_count) received, $(head -c 200 "$ERR")"
	check_eq "nothing moved to corrupt/ on a full disk" "" "$(ls -A "$SP/corrupt")"

	# Space back.
	rm -f "$MNT/fill"
	submit after 1 big "$UP"
	expect_rc "space back: the next submission works" 0
	run env RELAYQ_CONFIG="$UP" "$RELAYQ_SBIN/relayq" queue flush
	expect_rc "space back: a queue run" 0
	check_eq "space back: queue/ empty" "" "$(ls -A "$SP/queue")"
	check_eq "space back: maildrop/ empty" "" "$(ls -A "$SP/maildrop")"
	check_eq "nothing moved to corrupt/" "" "$(ls -A "$SP/corrupt")"
fi
t1=$(date +%s)

# ---- B. I/O errors at exact points ----------------------------------------------
CONF=$T/relayq.conf
write_config "$CONF" tls=none tls_verify= ca_file= user=
CT_SUBMIT="$RELAYQ_SBIN/sendmail -C $CONF -odq -t"
CT_RUN="$RELAYQ_SBIN/sendmail -C $CONF -q"
CT_FLUSH="$RELAYQ_SBIN/relayq -C $CONF queue flush"
export CT_SUBMIT CT_RUN CT_FLUSH
if [ "$HAVE_STRACE" = 1 ]; then
	SUB_SET=write,pwrite64,ftruncate,fchmod,fsync
	# The spool made first (a queue run over nothing), so that the
	# reference submissions make the calls every injected one makes,
	# not those of making the spool.
	sm -C "$CONF" -q
	expect_rc "B: the spool made by an empty queue run" 0
	n=0
	for kind in small big longline; do
		ct mkmsg "$M" "eref$kind" 0 "$kind"
		strace -f -qq -o "$T/etrace.$kind" "$RELAYQ_SBIN/sendmail" -C "$CONF" \
			-odq -t <"$M/eref$kind-0.msg" >/dev/null 2>&1 ||
			die "reference submission ($kind) failed"
		echo "eref$kind-0 ref - - 0 -" >>"$LEDGER"
		ct points "$T/etrace.$kind" "$SUB_SET" >"$T/epoints.$kind"
		for errno in ENOSPC EIO; do
			while read -r _k name ord; do
				n=$((n + 1))
				ct mkmsg "$M" "e$kind" "$n" "$kind" </dev/null
				CT_INJECT=error=$errno ct strace-kill "$LEDGER" "e$kind" "$n" \
					"$name" "$ord" 0 "$M/e$kind-$n.msg" -- \
					"$RELAYQ_SBIN/sendmail" -C "$CONF" -odq -t </dev/null
			done <"$T/epoints.$kind"
		done
	done
	note "B: $n submissions with one failing call each"
	check_eq "B: every failed submission exited 75" "" \
		"$(awk '$1 ~ /^e(small|big|longline)-/ && $5 != 75' "$LEDGER" | head -n 5)"
	check_eq "B: no entry left in maildrop/ by a failed submission" \
		"$(grep -c '^eref' "$LEDGER")" "$(ls -A "$T/spool/maildrop" | wc -l)"
	sm -C "$CONF" -q
	expect_rc "B: sendmail -q" 0

	# The runner.
	RUN_SET=write,fsync,renameat,renameat2,linkat,unlinkat,pread64
	for i in 1 2 3; do
		ct mkmsg "$M" rref "$i" small
		sm -C "$CONF" -odq -t <"$M/rref-$i.msg"
		echo "rref-$i run - - $RC -" >>"$LEDGER"
	done
	strace -f -qq -o "$T/rtrace" "$RELAYQ_SBIN/sendmail" -C "$CONF" -q \
		>/dev/null 2>&1 || die "reference queue run failed"
	ct points "$T/rtrace" "$RUN_SET" >"$T/rpoints"
	CT_ERRNO=EIO
	export CT_ERRNO
	ct runner-rounds "$LEDGER" "$ALLOWED" "$M" "$T/spool" "$SH_RX" "$T/rpoints" \
		"$(wc -l <"$T/rpoints")" 3 r error >"$T/rounds.error"
	note "B: runner: $(wc -l <"$T/rpoints") failing calls: $(sed -n 's/^stats //p' "$T/rounds.error")"
	check_no_grep "B: every clean run after a failed one emptied the queue" \
		'still queued|recovery run failed' "$T/rounds.error"
else
	note "B skipped: strace cannot trace here"
fi
t2=$(date +%s)

# ---- C. libfiu ---------------------------------------------------------------------
FIU_OK=0
if command -v fiu-run >/dev/null 2>&1; then
	cat >"$T/fiu-sendmail" <<EOF
#!/bin/sh
exec fiu-run -x -f "" \\
	-c "enable_random name=posix/io/rw/write,probability=$FIU_P" \\
	-c "enable_random name=posix/io/rw/pwrite,probability=$FIU_P" \\
	-c "enable_random name=posix/io/sync/fsync,probability=$FIU_P" \\
	"$RELAYQ_SBIN/sendmail" "\$@"
EOF
	chmod +x "$T/fiu-sendmail"
	if fiu-run -x -f "" "$RELAYQ_SBIN/sendmail" -C "$CONF" -bp >"$T/fiu.check" 2>&1; then
		FIU_OK=1
	else
		note "C skipped: fiu-run cannot run relayq here: $(head -c 200 "$T/fiu.check")"
	fi
else
	note "C skipped: fiu-run not found (apt install fiu-utils)"
fi
if [ "$FIU_OK" = 1 ]; then
	i=1
	while [ $i -le "$FIU_SUBMIT" ]; do
		case $((i % 3)) in 0) kind=small ;; 1) kind=big ;; *) kind=longline ;; esac
		ct mkmsg "$M" fiu "$i" "$kind"
		run "$T/fiu-sendmail" -C "$CONF" -odq -t <"$M/fiu-$i.msg"
		echo "fiu-$i fiu - - $RC 0" >>"$LEDGER"
		case $RC in 0 | 75) ;; *) check_fail "fiu: submission $i: exit 0 or 75" "0 or 75" "$RC: $(head -c 200 "$ERR")" ;; esac
		i=$((i + 1))
	done
	note "C: submissions: $(awk '$2 == "fiu" && $5 == 0' "$LEDGER" | wc -l) of $FIU_SUBMIT accepted, the rest exit 75"
	ct scan-maildrop "$T/spool" "$M" >"$T/scan.fiu"
	check_no_grep "C: no partial or odd maildrop entry" '^(partial|badmode)' "$T/scan.fiu"
	# 0704 entries of exit-75 submissions would be delivered: none may exist.
	CT_RUN="$T/fiu-sendmail -C $CONF -q"
	export CT_RUN
	ct runner-rounds "$LEDGER" "$ALLOWED" "$M" "$T/spool" "$SH_RX" - \
		"$FIU_RUNS" 3 fr plain >"$T/rounds.fiu"
	note "C: runner: $FIU_RUNS runs: $(sed -n 's/^stats //p' "$T/rounds.fiu")"
	check_no_grep "C: every clean run after a faulty one emptied the queue" \
		'still queued|recovery run failed' "$T/rounds.fiu"
fi
t3=$(date +%s)

# ---- the verdict over A, B and C ----------------------------------------------------
sm -C "$CONF" -q
sleep 1
ct received "$SH_RX" "$M" >"$T/received"
if ct verdict "$LEDGER" "$T/received" "$ALLOWED" >"$T/verdict"; then
	ok "verdict: $(sed -n 's/^stats //p' "$T/verdict")"
else
	check_fail "verdict: $(sed -n 's/^stats //p' "$T/verdict")"
	grep '^bad' "$T/verdict"
fi
note "duplicates allowed (dot accepted, state not saved): $(wc -l <"$ALLOWED")"
check_eq "nothing moved to corrupt/" "" "$(ls -A "$T/spool/corrupt")"
check_eq "queue/ empty" "" "$(ls -A "$T/spool/queue")"
note "times: A $((t1 - t0)) s, B $((t2 - t1)) s, C $((t3 - t2)) s"

# ---- D. [queue] min_free ---------------------------------------------------------
# A floor above the free space of the test's file system stands in for a
# full disk: a size larger than any disk, or 100% (never met on a file
# system holding anything).
MF=$T/mf
mkdir "$MF"
mf_config() { # MIN_FREE
	write_config "$MF/relayq.conf" spool="$MF/spool" tls=none tls_verify= \
		ca_file= user=
	sed -i "s|^\[queue\]\$|[queue]\nmin_free = $1|" "$MF/relayq.conf"
}
printf 'Subject: min_free one\n\nbody\n' >"$MF/msg"
mf_config 0
sm -C "$MF/relayq.conf" -odq -i d1@example.org <"$MF/msg"
expect_rc "D: min_free = 0: accepted" 0
for floor in 1000000G 100%; do
	mf_config "$floor"
	sm -C "$MF/relayq.conf" -odq -i d2@example.org <"$MF/msg"
	expect_rc "D: min_free = $floor: refused, temporary" 75
	check_grep "D: min_free = $floor: the message names the spool and the floor" \
		"the file system of the spool $MF/spool has .* free, less than \\[queue\\] min_free" "$ERR"
done
check_grep "D: a percentage is shown with its size" \
	'min_free \(100% = [0-9.]+[kMG]\)' "$ERR"
check_eq "D: refused submissions left nothing in maildrop/" 1 \
	"$(ls -A "$MF/spool/maildrop" | wc -l | tr -d ' ')"
printf 'EHLO client.test\r\nQUIT\r\n' >"$MF/bs.in"
sm -C "$MF/relayq.conf" -bs <"$MF/bs.in"
check_grep "D: sendmail -bs below the floor: 421 with the reason" \
	'^421 4.3.0 .*min_free' "$OUT"
# The runner keeps going below the floor (maildrop/ and queue/ share the
# file system: a pickup takes no net space; delivery frees space).
rq -C "$MF/relayq.conf" run
expect_rc "D: relayq run below the floor" 0
check_eq "D: below the floor, the accepted message was picked up and sent" \
	"" "$(ls -A "$MF/spool/queue" "$MF/spool/maildrop" | grep '^[0-9A-F]')"
e2e_finish
