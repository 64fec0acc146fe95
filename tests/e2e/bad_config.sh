#!/bin/sh
# relayq e2e: a config broken where submission needs it ([queue], [local])
# is refused with exit 78 (EX_CONFIG) and one clear line on stderr naming
# file:line and the key, before anything is queued: the spool is unchanged.
# Cases: max_size not a size, an unknown key, lifetime not a duration, a
# line that is not INI, a missing -C file / RELAYQ_CONFIG, and a config
# that is not a regular file (directory, pipe, FIFO, device).  The runner
# refuses a config broken anywhere (port not a number) the same way.
# (A route broken while [queue] and [local] are fine: route_typo.sh.)
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
GOOD=$T/good.conf
down_port DOWN_PORT
write_config "$GOOD" port="$DOWN_PORT" tls=none ca_file= user=
CONF=$GOOD

# A good message first, so the spool exists and is not empty.
printf 'Subject: queued with a good config\n\nbody\n' >"$T/msg"
sm -C "$GOOD" -odq -i bob@example.org <"$T/msg"
expect_rc "sendmail -odq with a good config" 0
spool_snapshot >"$T/spool.before"
[ -s "$T/spool.before" ] || die "no spool snapshot"

# check_78 WHAT FILE-PATTERN KEY: the last command failed with 78 and one
# stderr line matching FILE-PATTERN and naming KEY.
check_78() {
	expect_rc "$1" 78
	_lines=$(grep -c . "$ERR")
	check_eq "$1: exactly one line on stderr" 1 "$_lines"
	check_match "$1: stderr names the file:line" "$2" "$(cat "$ERR")"
	if [ -n "$3" ]; then
		check_match "$1: stderr names the key '$3'" "(^|[^A-Za-z_])$3([^A-Za-z_]|\$)" \
			"$(cat "$ERR")"
	fi
	check_eq "$1: nothing on stdout" "" "$(cat "$OUT")"
}

# bad_case NAME SECTION 'key = value': a good config with one line added to
# SECTION; sets BAD (the file) and LINE (the line number of the bad line).
bad_case() {
	mkdir -p "$T/$1"
	BAD=$T/$1/relayq.conf
	awk -v sec="[$2]" -v bad="$3" '{ print } $0 == sec { print bad }' "$GOOD" >"$BAD"
	LINE=$(grep -nxF -- "$3" "$BAD" | cut -d: -f1)
	[ -n "$LINE" ] || die "bad_case $1: could not place '$3'"
}

# replace_case NAME KEY 'key = value': the good config with the line setting
# KEY replaced (so the file has exactly one value for it); sets BAD, LINE.
replace_case() {
	mkdir -p "$T/$1"
	BAD=$T/$1/relayq.conf
	awk -v key="$2" -v bad="$3" '$1 == key && !done { print bad; done = 1; next } { print }' \
		"$GOOD" >"$BAD"
	LINE=$(grep -nxF -- "$3" "$BAD" | cut -d: -f1)
	[ -n "$LINE" ] || die "replace_case $1: could not place '$3'"
}

# 1. max_size not a size ([queue])
bad_case size queue "max_size = huge"
sm -C "$BAD" -odq -i bob@example.org <"$T/msg"
check_78 "max_size = huge (sendmail -C)" "relayq\.conf:$LINE([^0-9]|\$)" max_size
check_spool_unchanged "max_size not a size"
run env RELAYQ_CONFIG="$BAD" "$RELAYQ_SBIN/sendmail" -odq -i bob@example.org <"$T/msg"
check_78 "max_size = huge (RELAYQ_CONFIG sendmail)" "relayq\.conf:$LINE([^0-9]|\$)" max_size
mailq_of "$BAD"
check_78 "max_size = huge (mailq)" "relayq\.conf:$LINE([^0-9]|\$)" max_size
sm -C "$BAD" -bp
check_78 "max_size = huge (sendmail -bp)" "relayq\.conf:$LINE([^0-9]|\$)" max_size
sm -C "$BAD" -bs </dev/null
expect_rc "max_size = huge (sendmail -bs)" 78
check_match "sendmail -bs: a 421 naming the file:line" \
	"^421 .*relayq\.conf:$LINE([^0-9]|\$)" "$(cat "$OUT")"
check_spool_unchanged "max_size not a size, all commands"

# 2. unknown key ([local])
bad_case unknown local "colour = blue"
sm -C "$BAD" -odq -i bob@example.org <"$T/msg"
check_78 "unknown key colour" "relayq\.conf:$LINE([^0-9]|\$)" colour
check_spool_unchanged "unknown key"

# 3. lifetime = forever ([queue])
bad_case lifetime queue "lifetime = forever"
sm -C "$BAD" -odq -i bob@example.org <"$T/msg"
check_78 "lifetime = forever" "relayq\.conf:$LINE([^0-9]|\$)" lifetime
check_spool_unchanged "lifetime = forever"

# 4. port not a number ([smarthost]): the runner refuses to start a pass.
replace_case port port "port = twenty-five"
rq -C "$BAD" run
check_78 "port = twenty-five (relayq run)" "relayq\.conf:$LINE([^0-9]|\$)" port
sm -C "$BAD" -q
check_78 "port = twenty-five (sendmail -q)" "relayq\.conf:$LINE([^0-9]|\$)" port
rq -C "$BAD" daemon
check_78 "port = twenty-five (relayq daemon)" "relayq\.conf:$LINE([^0-9]|\$)" port
check_spool_unchanged "port not a number, the runner"

# 5. not INI at all
bad_case syntax local "this line is not ini"
sm -C "$BAD" -odq -i bob@example.org <"$T/msg"
check_78 "a line without '='" "relayq\.conf:$LINE([^0-9]|\$)" ""
check_spool_unchanged "syntax error"

# 6. missing file
sm -C "$T/does-not-exist.conf" -odq -i bob@example.org <"$T/msg"
check_78 "sendmail -C missing file" "does-not-exist\.conf" ""
check_spool_unchanged "missing -C file"
run env RELAYQ_CONFIG="$T/does-not-exist.conf" "$RELAYQ_SBIN/sendmail" -odq -i \
	bob@example.org <"$T/msg"
check_78 "RELAYQ_CONFIG=missing file" "does-not-exist\.conf" ""
check_spool_unchanged "missing RELAYQ_CONFIG file"

# 7. not a regular file: a directory, standard input, a FIFO with no writer
#    (it must not block) and a device would read as empty and give the
#    defaults; each is refused.
sm -C / -odq -i bob@example.org <"$T/msg"
check_78 "sendmail -C / (a directory)" "^sendmail: /: not a regular file" ""
check_spool_unchanged "-C /"
run sh -c 'cat "$1" | "$2" -C /dev/stdin -odq -i bob@example.org' sh \
	"$T/msg" "$RELAYQ_SBIN/sendmail"
check_78 "sendmail -C /dev/stdin (a pipe)" "/dev/stdin: not a regular file" ""
check_spool_unchanged "-C /dev/stdin"
mkfifo "$T/fifo.conf" || die "mkfifo"
sm -C "$T/fifo.conf" -odq -i bob@example.org <"$T/msg"
check_78 "sendmail -C FIFO (no writer: no wait)" "fifo\.conf: not a regular file" ""
check_spool_unchanged "-C FIFO"
run env RELAYQ_CONFIG=/dev/null "$RELAYQ_BIN/mailq"
check_78 "mailq with RELAYQ_CONFIG=/dev/null (a device)" "/dev/null: not a regular file" ""

# The good config still works and still sees exactly the one message.
mailq_of "$GOOD"
expect_rc "mailq with the good config" 0
mt mailq "$OUT" >"$T/mailq.parsed"
check_grep "exactly the one good message is queued" '^summary [0-9]+ 1$' "$T/mailq.parsed"
e2e_finish
