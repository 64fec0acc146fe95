#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET...] - build the libFuzzer targets
# out of tree (clang, ./configure --enable-fuzzing) and run each one for
# SECONDS (default 20) on its seed corpus in tests/fuzz/corpus/TARGET.
# Targets: header addr reply cfg spool smtpdata (default: all). SECONDS 0
# only replays the corpora (seeds and earlier finds) once.
#
# Prints one line per target, "fuzz_NAME: N execs, N crashes", then
# "fuzz total: N execs, N crashes"; exits 1 when a target crashed (ASan,
# UBSan, a leak, a timeout, a failed invariant) or could not run. A crash
# leaves its input in BUILD/artifacts/ and the log in BUILD/logs/.
#
# Environment: FUZZ_BUILD_DIR (default: TOP/build-fuzz, gitignored),
# CC (default clang), FUZZ_JOBS (make -j, default 2), FUZZ_NO_BUILD=1
# to run what is built. The source is copied (the files git knows,
# committed or not) into BUILD/src first, so the tree may be configured
# in place or edited meanwhile.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-20}
[ $# -gt 0 ] && shift
targets=${*:-header addr reply cfg spool smtpdata}
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
mkdir -p "$build"
build=$(cd "$build" && pwd)

snapshot() {
	local f
	mkdir -p "$build/src"
	(cd "$top" && git ls-files -co --exclude-standard -z) |
	while IFS= read -r -d '' f; do
		[ -f "$top/$f" ] || continue
		# Only changed files: keeps timestamps (and make) calm.
		cmp -s "$top/$f" "$build/src/$f" 2>/dev/null ||
			{ mkdir -p "$build/src/$(dirname "$f")" &&
			  cp -p "$top/$f" "$build/src/$f"; }
	done
}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		snapshot
		src=$build/src
	else
		src=$top
	fi
	if [ ! -x "$src/configure" ]; then
		(cd "$src" && autoreconf -fi >"$build/autoreconf.log" 2>&1) ||
		{ tail -n 20 "$build/autoreconf.log"; exit 1; }
	fi
	mkdir -p "$build/obj"
	if [ ! -f "$build/obj/Makefile" ]; then
		(cd "$build/obj" && "$src/configure" --enable-fuzzing \
		    CC="${CC:-clang}" >"$build/configure.log" 2>&1) ||
		{ tail -n 20 "$build/configure.log"; exit 1; }
	fi
	make -C "$build/obj" -j"${FUZZ_JOBS:-2}" >"$build/make.log" 2>&1 ||
		{ tail -n 40 "$build/make.log"; exit 1; }
fi

max_len() {
	case $1 in
	header) echo 140000 ;;	# past the 64 KiB read block
	reply) echo 20000 ;;	# past REPLY_LINE_MAX
	spool) echo 12000 ;;	# past HEAD_MAX
	*) echo 4096 ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/logs" "$build/artifacts"
total_execs=0 total_crashes=0 status=0
for t in $targets; do
	bin=$build/obj/tests/fuzz/fuzz_$t
	seeds=$top/tests/fuzz/corpus/$t
	work=$build/corpus/$t
	log=$build/logs/fuzz_$t.log
	mkdir -p "$work"
	rc=0
	if [ "$secs" = 0 ]; then
		limit=-runs=0		# replay the corpus only
	else
		limit=-max_total_time=$secs
	fi
	"$bin" "$limit" -timeout=10 -rss_limit_mb=2048 \
	    -max_len="$(max_len "$t")" -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/fuzz_$t-" \
	    "$work" "$seeds" </dev/null >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
	execs=${execs:-0}
	crashes=$(grep -c '^artifact_prefix=.*Test unit written to' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1	# died without an artifact: still a failure
	fi
	echo "fuzz_$t: $execs execs, $crashes crashes"
	if [ "$crashes" -ne 0 ]; then
		status=1
		grep -m 3 -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" |
			sed 's/^/    /'
		echo "    log: $log"
	fi
	total_execs=$((total_execs + execs))
	total_crashes=$((total_crashes + crashes))
done
echo "fuzz total: $total_execs execs, $total_crashes crashes"
exit "$status"
