#!/bin/sh
# relayq e2e: crafted maildrop entries and corrupt queue state.
# Every broken kind is dropped into maildrop/ of a private spool next to
# good messages; `sendmail -q` (bounded by timeout) must not crash or hang,
# must move each broken entry to corrupt/ with one log line (or leave an
# entry still being written alone), must not touch what a link points at,
# and must deliver the good messages.
#  maildrop kinds: no end record, Z length too big / too small, NUL in a
#  recipient and in the sender record, bad magic, bad U record, no
#  recipients, malformed recipient, an empty line, empty file, a 65 MB
#  (sparse) trailer and an 8 MB one, a symlink to /etc/passwd and to a
#  valid message elsewhere, a FIFO, a hard link (nlink 2), a directory with
#  an id name, modes 0644, 0777 and 04704; mode 0600 (being written: left
#  alone; unchanged for 5 minutes and locked by no process: removed with a
#  log line; locked, however old: left alone, also the entry of a real
#  slow sendmail, which then commits); names that are not 16
#  upper-case hex digits (ignored, untouched); as root: an entry owned by
#  another user that claims uid 0 (quarantined) and one that claims its
#  owner's uid (delivered).
#  queue/ID.env kinds: bad magic, truncated, no end record, NUL, another
#  id, bad recipient state, bad offsets, records after the end, empty,
#  65 MB (sparse), a symlink, a FIFO, a directory: message and envelope
#  quarantined, mailq and the runner never block. mailq (and relayq queue
#  list --json) count corrupt/ on stderr; stdout stays a clean listing.
# AUTH LOGIN is used here (hostile_lib.sh checks its secret never shows).
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./hostile_lib.sh
. "$RELAYQ_E2E_DIR/hostile_lib.sh"
e2e_init
hostile_setup maildrop
write_config "$CONF" password="$HPW" extra="auth = login"
E2E_CMD_TIMEOUT=30
craft() { "$RELAYQ_PYTHON" "$RELAYQ_E2E_DIR/hostile_craft.py" "$@"; }
MD=$T/spool/maildrop
Q=$T/spool/queue
C=$T/spool/corrupt

# The spool exists once a first message went through.
printf 'Subject: first\n\nfirst\n' >"$T/first.msg"
sm -C "$CONF" -odq good-0@example.org <"$T/first.msg"
expect_rc "a first message queued" 0
sm -C "$CONF" -q
expect_rc "sendmail -q (first)" 0
wait_for 1 || die "the first message did not arrive"
[ -d "$C" ] || die "no corrupt/ directory after a run"

# --- maildrop ----------------------------------------------------------------
# Ids: F0000000000000NN for broken ones, E0000000000000NN for good ones.
n=0
: >"$T/quarantine.ids"
bad() { # KIND: a broken message file with that kind, expected in corrupt/
	n=$((n + 1))
	_id=$(printf 'F%015X' "$n")
	craft msg "$MD/$_id" 0 "bad-$1@example.org" "$1" || die "craft $1"
	printf '%s %s\n' "$_id" "$1" >>"$T/quarantine.ids"
}
for k in noend zbig zsmall nul-rcpt nul-sender badmagic baduid norcpt \
	badrcpt emptyline empty huge-trailer big-trailer; do
	bad "$k"
done
# Not regular files, links, modes.
mkdir "$T/elsewhere"
cp /etc/passwd "$T/passwd.copy"
nid() { n=$((n + 1)); _id=$(printf 'F%015X' "$n"); printf '%s %s\n' "$_id" "$1" >>"$T/quarantine.ids"; }
nid symlink-passwd; ln -s /etc/passwd "$MD/$_id"
craft msg "$T/elsewhere/valid" 0 bad-symlink-target@example.org || die craft
cp "$T/elsewhere/valid" "$T/elsewhere/valid.copy"
nid symlink-valid; ln -s "$T/elsewhere/valid" "$MD/$_id"
nid fifo; mkfifo -m 0704 "$MD/$_id" || die mkfifo
nid hardlink; craft msg "$MD/$_id" 0 bad-hardlink@example.org && ln "$MD/$_id" "$T/elsewhere/hardlink" || die craft
cp "$T/elsewhere/hardlink" "$T/elsewhere/hardlink.copy"
nid directory; mkdir -m 0704 "$MD/$_id"
nid mode-0644; craft msg "$MD/$_id" 0 bad-mode-0644@example.org && chmod 0644 "$MD/$_id"
nid mode-0777; craft msg "$MD/$_id" 0 bad-mode-0777@example.org && chmod 0777 "$MD/$_id"
nid mode-4704; craft msg "$MD/$_id" 0 bad-mode-4704@example.org && chmod 04704 "$MD/$_id"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	nid owner-claims-root; craft msg "$MD/$_id" 0 bad-owner@example.org &&
		chown nobody "$MD/$_id" && chmod 0704 "$MD/$_id"
	craft msg "$MD/E000000000000003" "$(id -u nobody)" good-owned@example.org &&
		chown nobody "$MD/E000000000000003" && chmod 0704 "$MD/E000000000000003"
	HAVE_OWNED=1
else
	note "not root: the wrong-owner cases are skipped"
	HAVE_OWNED=0
fi
# Left alone: being written (0600, fresh); names that are not ids.
craft msg "$MD/F0000000000000FF" 0 bad-writing@example.org && chmod 0600 "$MD/F0000000000000FF"
craft msg "$MD/F0000000000000FE" 0 bad-stale@example.org && chmod 0600 "$MD/F0000000000000FE" &&
	touch -d '2 days ago' "$MD/F0000000000000FE"
for nm in not-an-id abcdef0123456789 0123456789ABCDEF0 0123456789ABCDE 0123456789ABCDEF.env; do
	craft msg "$MD/$nm" 0 bad-name@example.org || die "craft $nm"
done
(cd "$MD" && ls -l not-an-id abcdef0123456789 0123456789ABCDEF0 0123456789ABCDE \
	0123456789ABCDEF.env F0000000000000FF) >"$T/untouched.before"
sha256sum /etc/passwd "$T/elsewhere/valid" "$T/elsewhere/hardlink" >"$T/targets.before"
# Good ones alongside: crafted, and submitted.
craft msg "$MD/E000000000000001" 0 good-crafted@example.org || die craft
printf 'Subject: good submitted\n\ngood\n' >"$T/good.msg"
sm -C "$CONF" -odq good-submitted@example.org <"$T/good.msg"
expect_rc "a good message submitted alongside" 0
nbad=$(wc -l <"$T/quarantine.ids" | tr -d ' ')

sm -C "$CONF" -q -v
case $RC in
0) ok "sendmail -q with $nbad broken entries: exit 0 within ${E2E_CMD_TIMEOUT}s" ;;
124) check_fail "sendmail -q did not hang" "exit 0" "killed by timeout (a FIFO?)" ;;
*) check_fail "sendmail -q with broken entries: exit 0" 0 "$RC" ;;
esac
cp "$ERR" "$T/run1.err"
want=3
[ "$HAVE_OWNED" = 1 ] && want=4
wait_for "$want" || true
nap
check_eq "exactly the good messages arrived" \
	"$(printf '%s\n' good-0 good-crafted good-submitted $([ "$HAVE_OWNED" = 1 ] && echo good-owned) | sed 's/$/@example.org/' | sort | tr '\n' ' ')" \
	"$(for j in "$SH_RX"/[0-9]*.json; do jget "$j" rcpt_tos; done | sort | tr '\n' ' ')"
check_no_grep "no broken entry was ever sent" 'bad-' "$SH_LOG"

while read -r id kind; do
	if [ -e "$MD/$id" ] || [ -L "$MD/$id" ]; then
		check_fail "$kind ($id): moved out of maildrop/" "gone" "$(ls -ld "$MD/$id")"
	elif [ -e "$C/$id" ] || [ -L "$C/$id" ]; then
		ok "$kind ($id): in corrupt/"
	else
		check_fail "$kind ($id): in corrupt/" "corrupt/$id" "$(ls "$C")"
	fi
	check_eq "$kind ($id): one log line" 1 "$(grep -c "$id" "$T/run1.err")"
	check_grep "$kind ($id): the log line says it moved to corrupt/" "$id: moved to corrupt/" "$T/run1.err"
done <"$T/quarantine.ids"
check_eq "symlink: moved as a link (corrupt/ holds the link itself)" "link" \
	"$(id=$(awk '$2 == "symlink-passwd" {print $1}' "$T/quarantine.ids"); [ -L "$C/$id" ] && echo link || echo "not a link")"
check_eq "fifo: still a FIFO in corrupt/" "fifo" \
	"$(id=$(awk '$2 == "fifo" {print $1}' "$T/quarantine.ids"); [ -p "$C/$id" ] && echo fifo || echo other)"
check_eq "link targets untouched (/etc/passwd, the valid message, the hard link)" \
	"$(cat "$T/targets.before")" "$(sha256sum /etc/passwd "$T/elsewhere/valid" "$T/elsewhere/hardlink")"
check_eq "hard link: moved, not copied or removed (corrupt/ID and the outside link: 2 links)" \
	2 "$(stat -c %h "$T/elsewhere/hardlink")"
(cd "$MD" && ls -l not-an-id abcdef0123456789 0123456789ABCDEF0 0123456789ABCDE \
	0123456789ABCDEF.env F0000000000000FF) >"$T/untouched.after"
check_eq "invalid names and the 0600 entry being written: untouched" \
	"$(cat "$T/untouched.before")" "$(cat "$T/untouched.after")"
check_eq "invalid names, the 0600 entry: no log line" "" \
	"$(grep -E 'not-an-id|abcdef0123456789|0123456789ABCDE|F0000000000000FF' "$T/run1.err")"
check_eq "a 0600 entry a day old: removed" "gone" "$([ -e "$MD/F0000000000000FE" ] && echo present || echo gone)"
check_eq "a 0600 entry a day old: one log line" 1 "$(grep -c 'F0000000000000FE' "$T/run1.err")"

# A second pass finds nothing more to say or do.
sm -C "$CONF" -q
expect_rc "second sendmail -q" 0
check_eq "second pass: nothing logged" "" "$(cat "$ERR")"
check_eq "second pass: nothing more arrived" "$want" "$(received_count)"
rm -f "$MD"/*

# --- corrupt queue/ID.env ----------------------------------------------------
# Queue messages while the smarthost cannot be reached (deferred: message
# and envelope in queue/), then break each envelope.
down_port DOWN_PORT
write_config "$T/down.conf" password="$HPW" port="$DOWN_PORT"
KINDS="badmagic truncated noend nul idmismatch badrcpt badoffset trailing empty huge symlink fifo directory"
for k in $KINDS; do
	printf 'Subject: env %s\n\nenv test\n' "$k" >"$T/env.msg"
	sm -C "$CONF" -odq "envtest-$k@example.org" <"$T/env.msg"
	[ "$RC" = 0 ] || check_fail "queue envtest-$k" 0 "$RC"
done
sm -C "$T/down.conf" -q
expect_rc "sendmail -q with the smarthost down (all deferred)" 0
: >"$T/env.ids"
# (Map every envelope first: grep must never read a FIFO made below.)
grep -H '^R P envtest-' "$Q"/*.env >"$T/env.map" 2>/dev/null
for k in $KINDS; do
	f=$(grep -F "R P envtest-$k@example.org" "$T/env.map" | sed -n '1s/:R P .*//p')
	[ -n "$f" ] || { check_fail "envtest-$k deferred in queue/" "an envelope" "none"; continue; }
	id=$(basename "$f" .env)
	off=$(sed -n 's/^O \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$f")
	rm -f "$f"
	case $k in
	symlink) ln -s /etc/passwd "$f" ;;
	fifo) mkfifo -m 0600 "$f" ;;
	directory) mkdir -m 0700 "$f" ;;
	# shellcheck disable=SC2086
	*) craft env "$f" "$id" "$k" $off || die "craft env $k" ;;
	esac
	printf '%s %s\n' "$id" "$k" >>"$T/env.ids"
done
printf 'Subject: env control\n\ngood\n' >"$T/envgood.msg"
sm -C "$CONF" -odq good-env@example.org <"$T/envgood.msg"
expect_rc "a good message queued next to the broken envelopes" 0

run timeout 10 "$RELAYQ_BIN/mailq" -C "$CONF"
check_match "mailq with broken envelopes does not hang" '^[0-9]+$' "$RC"
[ "$RC" = 124 ] && check_fail "mailq: not killed by timeout" "exit != 124" 124
sm -C "$CONF" -q
case $RC in
0) ok "sendmail -q with broken envelopes: exit 0" ;;
124) check_fail "sendmail -q with broken envelopes did not hang" 0 "killed by timeout" ;;
*) check_fail "sendmail -q with broken envelopes: exit 0" 0 "$RC" ;;
esac
cp "$ERR" "$T/run2.err"
wait_for "$((want + 1))" || true
nap
check_eq "the good message next to them arrived (and only it)" \
	"good-env@example.org" "$(rcpts "$(mt find "$SH_RX" "env control")")"
check_no_grep "no broken envelope was sent" 'envtest-|bad-env-' "$SH_LOG"
while read -r id k; do
	if [ ! -e "$Q/$id" ] && [ -e "$C/$id" ] && { [ -e "$C/$id.env" ] || [ -L "$C/$id.env" ]; }; then
		ok "envelope $k ($id): message and envelope in corrupt/"
	else
		check_fail "envelope $k ($id): message and envelope in corrupt/" "corrupt/$id{,.env}" \
			"queue: $(ls "$Q" | grep "$id" | tr '\n' ' ') corrupt: $(ls "$C" | grep "$id" | tr '\n' ' ')"
	fi
	check_eq "envelope $k ($id): one log line" 1 "$(grep -c "$id" "$T/run2.err")"
done <"$T/env.ids"
check_eq "/etc/passwd untouched" "$(sed -n 1p "$T/targets.before")" "$(sha256sum /etc/passwd)"
check_queue_empty "queue empty at the end" "$CONF"
check_no_secrets "$T/run1.err" "$T/run2.err"
check_grep "AUTH LOGIN was the mechanism in use" "AUTH LOGIN as b'alice': ok" "$SH_LOG"

# --- corrupt/ is counted by mailq, on stderr ---------------------------------
ncorrupt=$(ls "$C" | grep -cE '^[0-9A-F]{16}$')
mailq_of "$CONF"
check_eq "mailq with entries in corrupt/: stdout still exactly 'Mail queue is empty'" \
	"Mail queue is empty" "$(cat "$OUT")"
check_eq "mailq: stderr counts corrupt/" \
	"-- $ncorrupt messages in corrupt/ (see relayq(8))" "$(cat "$ERR")"
run env RELAYQ_CONFIG="$CONF" "$RELAYQ_SBIN/relayq" queue list --json
check_eq "relayq queue list --json: stdout has no note" "" "$(cat "$OUT")"
check_grep "relayq queue list --json: the note on stderr" "^-- $ncorrupt messages in corrupt/" "$ERR"

# --- the reaper: abandoned after 5 minutes, a live writer's entry stays ------
# Ages come from touch -d relative to now (nothing waits minutes). A writer
# holds a lock on its entry from creation to commit: a lock holder here, and
# a real sendmail whose input is slow, whose entry is made hours old.
mkent() { # ID AGE: a 0600 (unfinished) entry not written for AGE
	craft msg "$MD/$1" 0 "bad-$1@example.org" && chmod 0600 "$MD/$1" &&
		touch -d "$2" "$MD/$1" || die "craft $1"
}
mkent F0000000000000A1 '6 minutes ago'	# abandoned
mkent F0000000000000A2 '4 minutes ago'	# too young
mkent F0000000000000A3 '2 hours ago'	# locked by a live holder
"$RELAYQ_PYTHON" -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(120)' "$MD/F0000000000000A3" "$T/locked" &
holder=$!
i=0
while [ ! -e "$T/locked" ] && [ $i -lt 100 ]; do nap; i=$((i + 1)); done
[ -e "$T/locked" ] || die "the lock holder did not start"
cat >"$T/slow.py" <<'EOF'
import os, subprocess, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, os.environ["RELAYQ_E2E_DIR"])
from proc_tool import new_entries
md, sm, conf, errf = sys.argv[1:5]
before = set(os.listdir(md))
p = subprocess.Popen([sm, "-C", conf, "-odq", "-i", "slow@example.org"],
                     stdin=subprocess.PIPE)
p.stdin.write(b"Subject: hostile slow\n\nfirst half\n")
p.stdin.flush()
new = new_entries(md, before)
path = os.path.join(md, new[0])
old = time.time() - 7200
os.utime(path, (old, old))
r = subprocess.run([sm, "-C", conf, "-q"], stderr=subprocess.PIPE, timeout=60)
open(errf, "wb").write(r.stderr)
print("during the run: %s" % ("there" if os.path.exists(path) else "gone"))
p.stdin.write(b"second half\n")
p.stdin.close()
print("slow writer: exit %d, entry %o" % (p.wait(timeout=60),
      os.lstat(path).st_mode & 0o7777))
EOF
run "$RELAYQ_PYTHON" "$T/slow.py" "$MD" "$RELAYQ_SBIN/sendmail" "$CONF" "$T/reap.err"
check_grep "a slow writer's entry, hours old, stays while it writes" '^during the run: there$' "$OUT"
check_grep "the slow writer then commits (exit 0, 0704)" '^slow writer: exit 0, entry 704$' "$OUT"
there() { if [ -e "$MD/$1" ]; then echo there; else echo gone; fi; }
check_eq "abandoned 6 minutes, unlocked: removed" gone "$(there F0000000000000A1)"
check_grep "abandoned: one log line" \
	'maildrop/F0000000000000A1: removed an unfinished entry that no process was writing' "$T/reap.err"
check_eq "unfinished for 4 minutes: kept" there "$(there F0000000000000A2)"
check_eq "locked, 2 hours old: kept" there "$(there F0000000000000A3)"
check_no_grep "kept ones: no log line" 'F0000000000000A[23]' "$T/reap.err"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
sm -C "$CONF" -q
check_eq "the lock holder gone: removed" gone "$(there F0000000000000A3)"
check_grep "the lock holder gone: one log line" 'maildrop/F0000000000000A3: removed' "$ERR"
rm -f "$MD/F0000000000000A2"
wait_for "$((want + 2))" || true
check_eq "the slow message was delivered" 1 "$(mt find "$SH_RX" "hostile slow" | wc -l | tr -d ' ')"
e2e_finish
