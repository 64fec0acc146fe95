#!/usr/bin/env bash
# loop.sh PROCS COUNT MSG ERRFILE CMD [ARG...]: the timed submission loop of
# bench/bench.py.  Runs CMD COUNT times in all, each with MSG on standard input,
# split over PROCS submitters running in parallel (each a loop of one process at a
# time, as a caller of sendmail is).  Prints "OK SECONDS" (wall time of the whole
# loop, measured here so that starting this script is not in it), or "FAIL I RC"
# for the first submission that exited non-zero (its output is in ERRFILE).
# Standard output of CMD is discarded, standard error goes to ERRFILE.
set -u
procs=$1 count=$2 msg=$3 errf=$4
shift 4

run_one() {
	local n=$1 tag=$2 i rc
	shift 2
	for ((i = 1; i <= n; i++)); do
		"$@" >/dev/null 2>>"$errf" <"$msg"
		rc=$?
		if [ $rc -ne 0 ]; then
			printf 'FAIL %s/%s %s\n' "$tag" "$i" "$rc"
			return 1
		fi
	done
}

t0=$EPOCHREALTIME
if [ "$procs" -le 1 ]; then
	run_one "$count" 1 "$@" || exit 1
else
	pids=() per=$((count / procs)) extra=$((count % procs))
	for ((p = 1; p <= procs; p++)); do
		n=$per
		[ $p -le $extra ] && n=$((n + 1))
		run_one "$n" "$p" "$@" &
		pids+=($!)
	done
	bad=0
	for p in "${pids[@]}"; do wait "$p" || bad=1; done
	[ $bad = 0 ] || exit 1
fi
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "OK %.6f\n", b - a }'
