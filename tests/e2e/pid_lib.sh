# relayq tests: stopping a process the test started, by its PID. Sourced
# by lib.sh, tests/pkg/deb_e2e.sh and bench/latency.sh (which have no
# lib.sh); plain sh.
# shellcheck shell=sh

# stop_pid PID: TERM, a bounded wait (5 s), then KILL; reaps it when it
# is this shell's child. An empty PID is nothing to stop. Always 0.
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
