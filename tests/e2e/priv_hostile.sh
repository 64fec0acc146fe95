#!/bin/sh
# relayq e2e (root only): the set-gid submitter under hostile process state,
# run by an unprivileged user on a real set-gid installation (priv_lib.sh).
# Each case ends in exactly one of:
#   exit 0 and one new, complete maildrop entry (0704, user:relayq-drop),
#   later delivered once with its body intact;
#   a clean non-zero exit (not a signal) and no new maildrop entry;
# never a half-file (an odd or 0600 entry), never an entry in corrupt/.
# Cases: fds 0, 1, 2 closed in every combination; umask 000 and 777;
# RLIMIT_FSIZE 1 KB (a 100 KB message: exit 75, nothing left; a small one:
# queued); RLIMIT_NOFILE 4..8; RLIMIT_AS 16..64 MB (not under ASan);
# LD_PRELOAD, LD_LIBRARY_PATH, TMPDIR, TZ, LANG, LC_ALL, LOCPATH,
# GCONV_PATH, NLSPATH, HOSTALIASES, PATH set to traps (the trap library's
# constructor must not run; under strace: no open of the secret or of a
# trap path, no exec); stdout and stderr a pipe nobody reads (SIGPIPE) with
# -v: the committed message is no failure; kill -9 of a submitter (as the
# user) in the middle of the input, many times: no name in maildrop/ while
# writing, nothing left, no process but the submitter (no helper), the set-id
# group not effective while the input is read; a stopped and resumed
# submitter commits; a `sendmail -bs` session cut off inside DATA leaves no
# half-written entry; without O_TMPFILE (refused by strace): named entries,
# a killed submitter's left unfinished and reaped after 5 minutes (lock
# table), a live slow writer's kept; a message over the recipient limit is
# refused (65, the limit named) and nothing is left in maildrop/.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init
command -v bash >/dev/null 2>&1 || skip "bash not found (ulimit -f/-n/-v)"
U=$T/u
mkdir "$U" && chown "$PRIV_USER:$PRIV_USER" "$U" || die "mkdir $U"
: >"$T/expected"	# NAME per case that queued a message with a body file
: >"$T/expected.empty"	# NAME per case that queued an empty message

# hcase NAME BODY|- ALLOWED_RCS CMD...: run CMD (as PRIV_USER, the message
# BODY on stdin, or /dev/null with -) and judge the outcome. ALLOWED_RCS is
# an ERE of acceptable exit codes.
hcase() {
	_n=$1 _body=$2 _allowed=$3
	shift 3
	if [ "$_body" = - ]; then
		_in=/dev/null
	else
		_in=$T/msg.$_n
		{
			printf 'Subject: hostile %s\n\n' "$_n"
			cat "$_body"
		} >"$_in"
	fi
	ls "$SPOOL/maildrop" >"$T/md.before"
	u_run "$@" <"$_in"
	_new=$(ls "$SPOOL/maildrop" | comm -13 "$T/md.before" - | tr '\n' ' ')
	check_match "$_n: exit code ($RC) allowed" "^($_allowed)\$" "$RC"
	if [ "$RC" = 0 ]; then
		check_match "$_n: exit 0 with exactly one new entry" '^[0-9A-F]{16} $' "$_new"
		if [ "$_body" = - ]; then
			echo "$_n" >>"$T/expected.empty"
		else
			echo "$_n $_body" >>"$T/expected"
		fi
	else
		check_eq "$_n: exit $RC and no new entry" "" "$_new"
		[ "$RC" -lt 128 ] || check_fail "$_n: not killed by a signal" "< 128" "$RC"
	fi
	check_maildrop_clean "$_n"
}

printf 'line one\nline two\n' >"$T/body.small"
"$RELAYQ_PYTHON" -c 'import sys
sys.stdout.write("".join("hostile body line %06d ......................................\n" % i
                         for i in range(1700)))' >"$T/body.big"	# ~100 KB

# --- fds 0, 1, 2 closed -------------------------------------------------------
for fds in 0 1 2 01 02 12 012; do
	redir=
	case $fds in *0*) redir="$redir <&-" ;; esac
	case $fds in *1*) redir="$redir >&-" ;; esac
	case $fds in *2*) redir="$redir 2>&-" ;; esac
	# glibc gives a set-id program a closed fd 0 as /dev/full opened
	# write-only: reading it fails, so 75 is as right as an empty message.
	case $fds in *0*) body=- ok_rc='0|75' ;; *) body=$T/body.small ok_rc=0 ;; esac
	hcase "fds-closed-$fds" "$body" "$ok_rc" \
		sh -c "exec \"\$0\" \"\$@\" $redir" "$SM" -i "fd$fds@example.org"
done
# A usage error with 1 and 2 closed: a clean 64, nothing written anywhere.
hcase "fds-closed-12-bad-option" "$T/body.small" 64 \
	sh -c 'exec "$0" "$@" >&- 2>&-' "$SM" -y -i bad@example.org

# --- umask ----------------------------------------------------------------------
for m in 000 777; do
	hcase "umask-$m" "$T/body.small" 0 \
		sh -c "umask $m; exec \"\$0\" \"\$@\"" "$SM" -i "umask$m@example.org"
done

# --- resource limits ---------------------------------------------------------
hcase "fsize-1k-big" "$T/body.big" 75 \
	bash -c 'ulimit -f 1; exec "$0" "$@"' "$SM" -i fsizebig@example.org
hcase "fsize-1k-small" "$T/body.small" 0 \
	bash -c 'ulimit -f 1; exec "$0" "$@"' "$SM" -i fsizesmall@example.org
for n in 4 5 6 7 8; do
	hcase "nofile-$n" "$T/body.small" '0|7[0-9]' \
		bash -c "ulimit -n $n; exec \"\$0\" \"\$@\"" "$SM" -i "nofile$n@example.org"
done
if [ "$PRIV_ASAN" = 1 ]; then
	note "ASan build: RLIMIT_AS cases skipped (the sanitizer reserves terabytes)"
else
	# 127: the dynamic loader itself cannot map the libraries.
	for mb in 16 24 32 64; do
		hcase "as-${mb}m" "$T/body.big" '0|7[0-9]|127' \
			bash -c "ulimit -v $((mb * 1024)); exec \"\$0\" \"\$@\"" "$SM" \
			-i "as$mb@example.org"
	done
fi

# --- environment traps -----------------------------------------------------------
mkdir -p "$U/bin" "$U/locale" "$U/gconv" "$U/marks" && chmod 0777 "$U/marks" ||
	die "mkdir traps"
for p in sh cat date hostname uname ls; do
	printf '#!/bin/sh\n: >"%s/marks/path-%s.$$"\n' "$U" "$p" >"$U/bin/$p"
	chmod 0755 "$U/bin/$p"
done
printf '127.0.0.1 evil\n' >"$U/hosts"
chown -R "$PRIV_USER" "$U/bin" "$U/locale" "$U/gconv" "$U/hosts"
trap_env="LD_LIBRARY_PATH=$U TMPDIR=$U/nonexistent TZ=$SECRET LANG=../../../../$U/locale \
LC_ALL=../../../../$U/locale LOCPATH=$U/locale GCONV_PATH=$U/gconv NLSPATH=$U/locale/%N \
HOSTALIASES=$U/hosts PATH=$U/bin RELAYQ_DEBUG=1"
have_trap=0
if command -v cc >/dev/null 2>&1; then
	printf '%s\n' '#include <fcntl.h>' '#include <stdio.h>' '#include <unistd.h>' \
		'__attribute__((constructor)) static void trap(void) {' \
		'	char p[512];' \
		"	snprintf(p, sizeof(p), \"%s/marks/preload.%ld\", \"$U\", (long)getpid());" \
		'	close(open(p, O_WRONLY | O_CREAT, 0666));' '}' >"$T/trap.c"
	if cc -shared -fPIC -o "$U/trap.so" "$T/trap.c" 2>"$T/trap.err"; then
		chmod 0755 "$U/trap.so"
		have_trap=1
	else
		warn "cannot build the LD_PRELOAD trap: $(cat "$T/trap.err")"
	fi
else
	warn "no C compiler: the LD_PRELOAD trap is not tested"
fi
if [ "$have_trap" = 1 ]; then
	# Positive control: the trap works on a program that is not set-id.
	as_user env LD_PRELOAD="$U/trap.so" /bin/true
	check_match "control: the LD_PRELOAD trap fires for /bin/true" 'preload\.' \
		"$(ls "$U/marks")"
	rm -f "$U/marks"/*
	trap_env="LD_PRELOAD=$U/trap.so $trap_env"
fi
# shellcheck disable=SC2086
hcase "env-traps" "$T/body.small" 0 env $trap_env "$SM" -i envtraps@example.org
check_eq "env traps: no trap fired (no marker)" "" "$(ls "$U/marks")"
if have_strace; then
	set --
	for kv in $trap_env; do set -- "$@" -E "$kv"; done
	u_strace "$T/trace.env" "$@" "$SM" -i envtraps2@example.org <"$T/msg.env-traps"
	expect_rc "env traps under strace" 0
	check_eq "env traps (strace): no open of the secret (TZ=secret)" "" \
		"$(grep -F "\"$SECRET\"" "$T/trace.env")"
	check_eq "env traps (strace): no open under the trap dir" "" \
		"$(grep -E 'open(at)?\(' "$T/trace.env" | grep -F "\"$U")"
	check_eq "env traps (strace): one execve, no program run" 1 \
		"$(grep -c 'execve(' "$T/trace.env")"
	check_eq "env traps (strace): no trap fired" "" "$(ls "$U/marks")"
	echo "env-traps2 $T/body.small" >>"$T/expected"
else
	warn "strace missing or not allowed: env traps not traced"
fi
check_maildrop_clean "env traps"

# --- SIGPIPE: stdout and stderr are a pipe nobody reads ----------------------
cat >"$T/brokenpipe.py" <<'EOF'
import os, signal, sys
r, w = os.pipe()
os.close(r)
os.dup2(w, 1)
os.dup2(w, 2)
os.close(w)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)	# as a shell would leave it
os.execv(sys.argv[1], sys.argv[1:])
EOF
hcase "sigpipe-v" "$T/body.small" 0 "$RELAYQ_PYTHON" "$T/brokenpipe.py" \
	"$SM" -v -i sigpipe@example.org
hcase "sigpipe" "$T/body.small" 0 "$RELAYQ_PYTHON" "$T/brokenpipe.py" \
	"$SM" -i sigpipe2@example.org

# --- sendmail -bs: one message queued, the next cut off inside DATA -----------
# The session reads without the group effective; an entry is linked only
# once it is complete: the one cut off never gets a name.
{
	printf 'EHLO client.test\r\nMAIL FROM:<a@example.org>\r\n'
	printf 'RCPT TO:<bs-good@example.org>\r\nDATA\r\n'
	printf 'Subject: hostile bs-good\r\n\r\nline one\r\nline two\r\n.\r\n'
	printf 'MAIL FROM:<a@example.org>\r\nRCPT TO:<bs-cut@example.org>\r\nDATA\r\n'
	printf 'Subject: hostile bs-cut\r\n\r\nhalf a bo'
} >"$T/bs.in"
ls "$SPOOL/maildrop" >"$T/md.before"
u_run "$SM" -bs <"$T/bs.in"
expect_rc "-bs session cut inside the second DATA" 0
check_eq "-bs: one message queued (one 250 after DATA)" 1 \
	"$(grep -c '^250 .*queued' "$OUT")"
check_eq "-bs: exactly one new entry, complete" "704" \
	"$(ls "$SPOOL/maildrop" | comm -13 "$T/md.before" - |
		(cd "$SPOOL/maildrop" && xargs -r stat -c %a) | tr '\n' ' ' | sed 's/ $//')"
check_maildrop_clean "-bs cut session"
echo "bs-good $T/body.small" >>"$T/expected"

# --- kill -9 of the submitter ----------------------------------------------
# The entry is an anonymous file (src/dropper.c) until the submitter links
# it, complete, at the commit: while it reads its input there is no name in
# maildrop/ at all, and when it dies the data goes with its descriptor.
# There is no second process to kill, and while the input is read the
# set-id group is the saved group only (/proc/PID/status: Gid real,
# effective, saved, fs). Runs KILLN times, to show nothing accumulates.
KILLN=${PRIV_KILL_ROUNDS:-12}
cat >"$T/kill9.py" <<'EOF'
import os, signal, subprocess, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, os.environ["RELAYQ_E2E_DIR"])
from proc_tool import alive, as_user, children, wait_dead
md, user, sm, mode, rounds = sys.argv[1:6]
u = as_user(user)

def gids(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Gid:"):
                return line.split()[1:5]
    return []

def entry_open(pid):
    try:
        return any(os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(md + "/")
                   for fd in os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return False

before = set(os.listdir(md))
rcs, names, kids_seen, groups = [], set(), 0, set()
for i in range(int(rounds)):
    p = subprocess.Popen(u + [sm, "-i", "killed-%s@example.org" % mode],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    p.stdin.write(b"Subject: hostile kill " + mode.encode() + b"\n\n")
    p.stdin.write(b"half a body .............................................\n" * 40000)
    p.stdin.flush()
    for _ in range(200):
        if entry_open(p.pid):
            break
        time.sleep(0.05)
    names |= set(os.listdir(md)) - before	# what a reader could see now
    kids_seen += len(children(p.pid))
    groups.add(" ".join(gids(p.pid)))
    subprocess.run(u + ["kill", "-KILL", str(p.pid)])
    p.stdin.close()
    rcs.append(p.wait(timeout=60))
    p.stderr.close()
print("rcs: %s" % " ".join(sorted(set(str(r) for r in rcs))))
print("seen while writing: %s" % " ".join(sorted(names)))
print("left: %s" % " ".join(sorted(set(os.listdir(md)) - before)))
print("children: %d" % kids_seen)
for g in sorted(groups):
    print("gids while reading: %s" % g)
EOF
run "$RELAYQ_PYTHON" "$T/kill9.py" "$SPOOL/maildrop" "$PRIV_USER" "$SM" submitter "$KILLN"
check_grep "kill submitter x$KILLN: exit status" '^rcs: -9$' "$OUT"
check_grep "kill submitter: no name in maildrop/ while writing" '^seen while writing: $' "$OUT"
check_grep "kill submitter: nothing left in maildrop/" '^left: $' "$OUT"
check_grep "kill submitter: no helper process" '^children: 0$' "$OUT"
U_GID=$(id -g "$PRIV_USER")
D_GID=$(getent group relayq-drop | cut -d: -f3)
check_grep "while reading: real, effective and fs gid the user's, saved relayq-drop" \
	"^gids while reading: $U_GID $U_GID $D_GID $U_GID\$" "$OUT"
check_maildrop_clean "kill submitter"

# A stopped and resumed submitter: exit 0, queued.
cat >"$T/stopped.py" <<'EOF'
import os, signal, subprocess, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, os.environ["RELAYQ_E2E_DIR"])
from proc_tool import alive, as_user, children, new_entries
md, user, sm, kill = sys.argv[1:5]
before = set(os.listdir(md))
p = subprocess.Popen(as_user(user) + [sm, "-i", "stopped@example.org"],
                     stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
p.stdin.write(b"Subject: hostile stopped-" + kill.encode() + b"\n\nfirst\n")
p.stdin.flush()
time.sleep(0.3)
p.send_signal(signal.SIGSTOP)
p.send_signal(signal.SIGCONT)
p.stdin.write(b"second\n")
p.stdin.close()
rc = p.wait(timeout=30)
left = sorted(set(os.listdir(md)) - before)
modes = ["%o" % (os.lstat(os.path.join(md, n)).st_mode & 0o7777) for n in left]
print("rc: %d left: %s" % (rc, " ".join(modes)))
EOF
run "$RELAYQ_PYTHON" "$T/stopped.py" "$SPOOL/maildrop" "$PRIV_USER" "$SM" no
check_grep "stopped and resumed: exit 0, queued" '^rc: 0 left: 704$' "$OUT"
printf 'first\nsecond\n' >"$T/body.stopped"
echo "stopped-no $T/body.stopped" >>"$T/expected"

# --- a file system without O_TMPFILE: named entries, the reaper's lock test --
# strace refuses the submitter's O_TMPFILE (EOPNOTSUPP: its first openat on the
# maildrop directory), so it falls back to a named 0600 entry, locked as it
# is made. Committed: exit 0, 0704. Submitter killed: the entry is left
# unfinished (0600); the runner (as relayq, which cannot open a user's
# 0600 file: it reads the kernel's lock table) keeps it while it is fresh
# and removes it once it is 5 minutes old (aged by touch -d); a live,
# slow writer's entry made days old is kept (its lock was found) and then
# commits.
if have_strace; then
	cat >"$T/notmp.py" <<'EOF'
import os, signal, subprocess, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, os.environ["RELAYQ_E2E_DIR"])
from proc_tool import alive, as_user, children, new_entries
md, user, sm, rq, mode = sys.argv[1:6]
before = set(os.listdir(md))
p = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-u", user,
                      "-P", md, "-e", "trace=openat",
                      "-e", "inject=openat:error=EOPNOTSUPP:when=1",
                      sm, "-i", "notmp-%s@example.org" % mode],
                     stdin=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdin.write(b"Subject: hostile notmp-" + mode.encode() + b"\n\nfirst\n")
p.stdin.flush()
new = new_entries(md, before)
path = os.path.join(md, new[0]) if new else md + "/none"
print("while writing: %s" % " ".join("%o" % (os.lstat(os.path.join(md, n)).st_mode & 0o7777) for n in new))
if mode == "kill":
    for s in children(p.pid):
        subprocess.run(as_user(user) + ["kill", "-KILL", str(s)])
    time.sleep(0.5)
else:
    old = time.time() - 3 * 86400	# past the day of an unknown lock state
    os.utime(path, (old, old))
    r = subprocess.run([rq, "run"], stderr=subprocess.PIPE, timeout=60)
    print("during the run: %s" % ("there" if os.path.exists(path) else "gone"))
if mode != "kill":
    p.stdin.write(b"second\n")
try:
    p.stdin.close()
except BrokenPipeError:
    pass
rc = p.wait(timeout=60)
err = p.stderr.read().decode(errors="replace")
st = os.lstat(path) if os.path.exists(path) else None
print("rc: %d entry: %s" % (rc, "%o %d" % (st.st_mode & 0o7777, st.st_size) if st else "gone"))
print("name: %s" % (new[0] if new else ""))
for line in err.splitlines():
    print("stderr: " + line)
EOF
	run "$RELAYQ_PYTHON" "$T/notmp.py" "$SPOOL/maildrop" "$PRIV_USER" "$SM" "$RQ" slow
	check_grep "no O_TMPFILE: a named 0600 entry while writing" '^while writing: 600$' "$OUT"
	check_grep "no O_TMPFILE: a live slow writer's entry, days old, is kept by the runner" \
		'^during the run: there$' "$OUT"
	check_grep "no O_TMPFILE: the slow writer commits (exit 0, 0704)" '^rc: 0 entry: 704 ' "$OUT"
	printf 'first\nsecond\n' >"$T/body.notmp"
	echo "notmp-slow $T/body.notmp" >>"$T/expected"
	run "$RELAYQ_PYTHON" "$T/notmp.py" "$SPOOL/maildrop" "$PRIV_USER" "$SM" "$RQ" kill
	check_grep "no O_TMPFILE, submitter killed: the entry left unfinished (0600)" \
		'^rc: -9 entry: 600 [0-9]+$' "$OUT"
	left=$(sed -n 's/^name: //p' "$OUT")
	if [ -n "$left" ] && [ -e "$SPOOL/maildrop/$left" ]; then
		run "$RQ" run
		check_eq "its leftover, fresh: kept by the runner" there \
			"$([ -e "$SPOOL/maildrop/$left" ] && echo there || echo gone)"
		touch -d '6 minutes ago' "$SPOOL/maildrop/$left"
		run "$RQ" run
		check_eq "its leftover, 6 minutes old and unlocked: removed" gone \
			"$([ -e "$SPOOL/maildrop/$left" ] && echo there || echo gone)"
		check_grep "its leftover: one log line" \
			"maildrop/$left: removed an unfinished entry that no process was writing" "$ERR"
	fi
else
	warn "strace missing or not allowed: the fallback without O_TMPFILE is not tested"
fi

# --- a commit refused by the limits, set-gid -----------------------------------
# The set-gid submitter has dropped the group when the recipient limit
# refuses the message: the error is the same as without set-gid (65, the
# limit named) and nothing is left in maildrop/.
"$RELAYQ_PYTHON" -c 'import sys
sys.stdout.write("Subject: hostile too many\n" + "".join(
    "Bcc: " + ", ".join("r%06d@example.org" % (i + j) for j in range(100)) + "\n"
    for i in range(0, 100000, 100)) + "Bcc: one-more@example.org\n\nx\n")' >"$T/rcpts1.msg"
ls "$SPOOL/maildrop" >"$T/md.before"
u_run "$SM" -t -i <"$T/rcpts1.msg"
check_eq "set-gid, 100 001 recipients: exit 65" 65 "$RC"
check_grep "set-gid, 100 001 recipients: the limit named" \
	'too many recipients: 100001 \(limit 100000\)' "$ERR"
check_eq "set-gid, 100 001 recipients: no entry left" "" \
	"$(ls "$SPOOL/maildrop" | comm -13 "$T/md.before" -)"
check_maildrop_clean "set-gid, 100 001 recipients"

# --- deliver everything: each queued message once, intact ----------------------
run "$RQ" run
expect_rc "root: relayq run" 0
nexp=$(($(wc -l <"$T/expected") + $(wc -l <"$T/expected.empty")))
wait_for "$nexp"
nap
check_eq "every queued message delivered, nothing else" "$nexp" "$(received_count)"
check_eq "nothing in corrupt/" 0 "$(spool_files corrupt)"
check_eq "maildrop empty" 0 "$(spool_files maildrop)"
while read -r name body; do
	case $name in env-traps2) subj="hostile env-traps" ;; *) subj="hostile $name" ;; esac
	for m in $(mt find "$SH_RX" "$subj"); do
		check_body "$name: body intact" "$body" "$m.eml"
	done
done <"$T/expected"
check_no_secret "all command output" "$T"/cmd.*.out "$T"/cmd.*.err "$T/commands.log"
e2e_finish
