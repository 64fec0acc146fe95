#!/bin/sh
# relayq e2e (root only): the privilege model of doc/ARCHITECTURE.md against an
# unprivileged local user, on a real set-gid installation (priv_lib.sh).
# Asserts:
#  - the installation has the owners and modes of doc/ARCHITECTURE.md's table;
#  - the user can submit: exit 0, silent, a maildrop entry owned by the
#    user, group relayq-drop, mode 0704; no delivery is attempted for it;
#  - the user cannot list or read maildrop/ or queue/ (its own entry, the
#    other user's entry, the queued copy), cannot read the secret; mailq
#    and relayq queue list work (envelopes only: priv_mailq.sh); relayq
#    queue show/delete fail, sendmail -q exits 77 with one line; nothing
#    changes;
#  - the user cannot change a message after submission: the maildrop
#    entry cannot be opened, chmod'ed or removed by its owner; after
#    pickup the queue copy is relayq:relayq-drop 0600 (its envelope
#    0640); a maildrop entry changed
#    behind relayq's back (truncated, garbage appended, wrong mode) is
#    quarantined or left alone, never delivered, while good mail flows;
#  - -C / RELAYQ_CONFIG with the user's own config drop privilege: the
#    system secret is never opened successfully, the system spool is never
#    opened, an evil smarthost sees no AUTH and no secret; -C naming the
#    system spool or the secret itself fails without leaking it;
#  - -X FILE, -oQDIR, -OQueueDirectory=DIR, -oLlevel create no file;
#    the set-gid submitter opens no secret, nothing in queue/, and creates
#    exactly one file, its maildrop entry (strace);
#  - no output of any of this contains the password or its base64.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init

# --- the installation ---------------------------------------------------
stat_of() { stat -c '%U:%G %a' "$1"; }
check_eq "binary root:relayq-drop 2755" "root:relayq-drop 2755" "$(stat_of "$RQ")"
check_eq "sendmail (its own program) root:relayq-drop 2755" "root:relayq-drop 2755" \
	"$(stat_of "$SM")"
check_eq "mailq is relayq (the same inode)" "$(stat -c %i "$RQ")" "$(stat -c %i "$MAILQ")"
check_eq "sendmail links neither libssl nor libcrypto" "" \
	"$(ldd "$SM" 2>/dev/null | grep -E 'libssl|libcrypto')"
check_eq "maildrop relayq:relayq-drop 1770" "relayq:relayq-drop 1770" \
	"$(stat_of "$SPOOL/maildrop")"
for d in queue hold corrupt; do
	check_eq "$d/ relayq:relayq-drop 2750" "relayq:relayq-drop 2750" \
		"$(stat_of "$SPOOL/$d")"
done
check_eq "tmp/ relayq:relayq-drop 2700" "relayq:relayq-drop 2700" "$(stat_of "$SPOOL/tmp")"
check_eq "state/ relayq:relayq 700" "relayq:relayq 700" "$(stat_of "$SPOOL/state")"
check_eq "config root:root 644" "root:root 644" "$(stat_of "$CONF")"
check_eq "secret root:relayq 640" "root:relayq 640" "$(stat_of "$SECRET")"

# A directory of the user's own for its files and configs.
U=$T/u
mkdir "$U" && chown "$PRIV_USER:$PRIV_USER" "$U" && chmod 0700 "$U" || die "mkdir $U"
printf 'Subject: from the test user\n\nuser body\n' >"$T/msg.user"
printf 'Subject: from the other user\n\nother body\n' >"$T/msg.other"

# --- submission -----------------------------------------------------------
u_run "$SM" -i bob@example.org <"$T/msg.user"
expect_rc "user: sendmail (set-gid, default config)" 0
check_eq "user: sendmail is silent" "" "$(cat "$OUT" "$ERR")"
E=$(maildrop_entries)
check_match "user: one maildrop entry, 0704 $PRIV_USER:relayq-drop" \
	"^[0-9A-F]{16} 704 $PRIV_USER relayq-drop [0-9]+\$" "$E"
UID_ENTRY=${E%% *}
# -odi as a user: the submitter may not deliver (it cannot read secrets).
u_run "$SM" -odi -i bob@example.org <"$T/msg.user"
expect_rc "user: sendmail -odi" 0
check_eq "user: -odi attempted no delivery" 0 "$(connections)"
check_eq "user: two entries now" 2 "$(maildrop_entries | grep -c " 704 $PRIV_USER relayq-drop ")"
run setpriv --reuid="$PRIV_OTHER" --regid="$PRIV_OTHER" --init-groups -- \
	"$SM" -i carol@example.org <"$T/msg.other"
expect_rc "other user: sendmail" 0
OTHER_ENTRY=$(maildrop_entries | awk -v u="$PRIV_OTHER" '$3 == u {print $1}')
check_match "other user: its entry" '^[0-9A-F]{16}$' "$OTHER_ENTRY"
check_maildrop_clean "after three submissions"

# --- what the user cannot do -------------------------------------------------
# cannot WHAT CMD...: CMD run as the user fails.
cannot() {
	_w=$1
	shift
	u_run "$@"
	if [ "$RC" != 0 ]; then
		ok "user cannot $_w (exit $RC)"
	else
		check_fail "user cannot $_w" "failure" "exit 0: $(head -c 300 "$OUT")"
	fi
}
cannot "list maildrop/" ls "$SPOOL/maildrop"
cannot "list queue/" ls "$SPOOL/queue"
cannot "list corrupt/" ls "$SPOOL/corrupt"
cannot "read its own maildrop entry" cat "$SPOOL/maildrop/$UID_ENTRY"
cannot "read the other user's entry" cat "$SPOOL/maildrop/$OTHER_ENTRY"
cannot "append to its own entry" sh -c 'echo evil >>"$1"' sh "$SPOOL/maildrop/$UID_ENTRY"
cannot "chmod its own entry" chmod 0777 "$SPOOL/maildrop/$UID_ENTRY"
cannot "remove its own entry" rm -f "$SPOOL/maildrop/$UID_ENTRY"
cannot "create a file in maildrop/" sh -c ': >"$1/0000000000000000"' sh "$SPOOL/maildrop"
cannot "read the smarthost secret" cat "$SECRET"
u_run "$MAILQ"
expect_rc "user: mailq lists the queue" 0
u_run "$RQ" queue list
expect_rc "user: relayq queue list lists the queue" 0
u_run "$RQ" queue delete ALL
check_match "user: relayq queue delete ALL fails" '^[1-9][0-9]*$' "$RC"
u_run "$SM" -q
expect_rc "user: sendmail -q" 77
check_match "user: sendmail -q says who runs the queue, in one line" \
	'^relayq: only root or the queue runner \(user relayq\) delivers the queue in .*; mailq lists it$' \
	"$(cat "$ERR")"
check_eq "user: nothing was delivered or removed" "0 3" \
	"$(connections) $(spool_files maildrop)"
check_eq "user: secret file unchanged" "root:relayq 640" "$(stat_of "$SECRET")"

# --- after pickup the message is out of the user's reach -------------------
# Pick up only: queue commands pick up first; requeue delivers nothing.
run "$RQ" queue requeue ALL
expect_rc "root: relayq queue requeue ALL (picks up)" 0
check_eq "pickup: maildrop empty" 0 "$(spool_files maildrop)"
bad=$(find "$SPOOL/queue" -type f ! -name '*.env' ! \( -user relayq -group relayq-drop \
	-perm 0600 \) -printf '%f %u:%g %m\n')
check_eq "pickup: message files are relayq:relayq-drop 0600" "" "$bad"
bad=$(find "$SPOOL/queue" -type f -name '*.env' ! \( -user relayq -group relayq-drop \
	-perm 0640 \) -printf '%f %u:%g %m\n')
check_eq "pickup: envelopes are relayq:relayq-drop 0640" "" "$bad"
QID=$(find "$SPOOL/queue" -type f ! -name '*.*' -printf '%f\n' | head -n 1)
cannot "read a queued message" cat "$SPOOL/queue/$QID"
u_run "$RQ" queue show "$QID"
check_match "user: relayq queue show fails" '^[1-9][0-9]*$' "$RC"
check_no_grep "user: queue show printed no message" 'user body|other body' "$OUT"

# --- a maildrop entry changed behind relayq's back ---------------------------
# The user cannot do this (above); the runner must not trust the file
# anyway. Root plays the part, keeping owner and mode.
tamper() {	# HOW
	ls "$SPOOL/maildrop" >"$T/md.before"
	u_run "$SM" -i "tamper-$1@example.org" <"$T/msg.user"
	_e=$(ls "$SPOOL/maildrop" | comm -13 "$T/md.before" -)
	case $_e in
	[0-9A-F]*) ;;
	*) check_fail "tamper $1: one new entry" "an id" "$_e"; return ;;
	esac
	_f=$SPOOL/maildrop/$_e
	case $1 in
	truncate) truncate -s $(($(stat -c %s "$_f") / 2)) "$_f" ;;
	append) printf 'R evil@example.org\n' >>"$_f" ;;
	mode-0600) chmod 0600 "$_f" ;;
	mode-0744) chmod 0744 "$_f" ;;
	esac
	check_eq "tamper $1: owner kept" "$PRIV_USER" "$(stat -c %U "$_f")"
}
for how in truncate append mode-0600 mode-0744; do
	tamper "$how"
done
u_run "$SM" -i good@example.org <"$T/msg.user"
expect_rc "user: a good message among the tampered ones" 0
# Now deliver: the smarthost is up, the runner is started by root.
run "$RQ" run
expect_rc "root: relayq run" 0
wait_for 3
nap
delivered=$(cat "$SH_RX"/*.json 2>/dev/null | grep -o '"[a-z-]*@example.org"' | sort | tr '\n' ' ')
check_eq "delivered: the three good messages only" \
	'"bob@example.org" "bob@example.org" "carol@example.org" "good@example.org" ' \
	"$delivered"
check_no_grep "no tampered message delivered" 'tamper|evil' "$SH_LOG"
check_eq "tampered: truncated, appended and 0744 quarantined" 3 "$(spool_files corrupt)"
check_eq "tampered: the 0600 one waits in maildrop (being written)" \
	"600 $PRIV_USER" "$(maildrop_entries | awk '{print $2, $3}')"
rm -f "$SPOOL"/maildrop/*

# --- -C / RELAYQ_CONFIG: the user's own config gets no privilege -----------
start_smarthost evil --mode plain --auth "$PRIV_USERNAME:x" --allow-auth-in-clear
EVIL_LOG=$SH_LOG
EVIL_RX=$SH_RX
EVIL_PORT=$SH_PORT
SH_RX=$T/main.rx
SH_LOG=$T/main.smarthost.log
write_config "$U/evil.conf" host=127.0.0.1 port="$EVIL_PORT" tls=none ca_file= \
	spool="$U/spool" user="$PRIV_USERNAME" password_file="$SECRET" \
	extra="plaintext_auth = yes"
write_config "$U/sysspool.conf" spool="$SPOOL"
chown -R "$PRIV_USER" "$U"
strace_ok=0
if have_strace; then
	strace_ok=1
else
	warn "strace missing or not allowed here: the open() checks are skipped"
fi

# trace_opens TRACE PATH: successful opens of PATH in a strace log.
trace_opens() { grep -E "open(at)?\(.*\"$2\".* = [0-9]+\$" "$1"; }
# check_c_run WHAT TRACE: the last -C run never read the system secret or
# touched the system queue, and the evil smarthost learnt nothing.
check_c_run() {
	if [ "$strace_ok" = 1 ]; then
		check_eq "$1: the secret was never opened" "" "$(trace_opens "$2" "$SECRET")"
		check_no_grep "$1: no open of the system spool" "\"$SPOOL" "$2"
	fi
	check_no_grep "$1: the evil smarthost got no AUTH" ' C\+: | C: [Aa][Uu][Tt][Hh]' \
		"$EVIL_LOG"
	check_no_secret "$1: stdout/stderr/evil smarthost" "$OUT" "$ERR" "$EVIL_LOG" "$2"
}
if [ "$strace_ok" = 1 ]; then
	u_strace "$T/trace.C" "$SM" -C "$U/evil.conf" -odi -v -i bob@example.org <"$T/msg.user"
else
	u_run "$SM" -C "$U/evil.conf" -odi -v -i bob@example.org <"$T/msg.user"
	: >"$T/trace.C"
fi
expect_rc "user: sendmail -C own.conf -odi (queued in the user's spool)" 0
if [ "$strace_ok" = 1 ]; then
	# The trace sees opens: the delivery tried the secret as the user.
	check_grep "-C: the secret was tried without privilege (EACCES)" \
		"open(at)?\\(.*\"$SECRET\".* = -1 EACCES" "$T/trace.C"
fi
check_match "-C: the delivery failed on the secret" 'password|Permission denied' "$(cat "$ERR")"
check_eq "-C: queued in the user's own spool" 1 \
	"$(find "$U/spool/queue" -type f ! -name '*.*' | wc -l | tr -d ' ')"
check_c_run "-C" "$T/trace.C"
if [ "$strace_ok" = 1 ]; then
	u_strace "$T/trace.env" env RELAYQ_CONFIG="$U/evil.conf" "$SM" -odi -v -i \
		bob@example.org <"$T/msg.user"
else
	u_run env RELAYQ_CONFIG="$U/evil.conf" "$SM" -odi -v -i bob@example.org <"$T/msg.user"
	: >"$T/trace.env"
fi
expect_rc "user: RELAYQ_CONFIG=own.conf sendmail -odi" 0
check_c_run "RELAYQ_CONFIG" "$T/trace.env"
u_run env RELAYQ_CONFIG="$U/evil.conf" "$RQ" run
check_c_run "RELAYQ_CONFIG relayq run" "$T/trace.env"
check_eq "-C: the evil smarthost received nothing" 0 "$(received_count "$EVIL_RX")"

u_run "$SM" -C "$U/sysspool.conf" -i bob@example.org <"$T/msg.user"
check_match "-C naming the system spool: refused" '^(73|75|77)$' "$RC"
check_eq "-C naming the system spool: nothing in maildrop" 0 "$(spool_files maildrop)"
u_run "$SM" -C "$SECRET" -i bob@example.org <"$T/msg.user"
check_match "-C naming the secret: refused" '^[1-9][0-9]*$' "$RC"
check_no_secret "-C naming the secret: stderr" "$ERR" "$OUT"
u_run "$MAILQ" -C "$SECRET"
check_no_secret "mailq -C naming the secret: stderr" "$ERR" "$OUT"

# --- options that would change paths, under strace ---------------------------
# Each run: exit 0, one new maildrop entry, no file created anywhere else.
for opts in "-X $U/x.log" "-oQ$U/q" "-OQueueDirectory=$U/q2" "-oL9 -oX$U/x2" \
	"-X $SPOOL/maildrop/evil"; do
	before=$(spool_files maildrop)
	# shellcheck disable=SC2086
	if [ "$strace_ok" = 1 ]; then
		u_strace "$T/trace.opt" "$SM" $opts -i bob@example.org <"$T/msg.user"
	else
		u_run "$SM" $opts -i bob@example.org <"$T/msg.user"
		: >"$T/trace.opt"
	fi
	expect_rc "user: sendmail $opts" 0
	check_eq "$opts: one new maildrop entry" $((before + 1)) "$(spool_files maildrop)"
	check_eq "$opts: no file created" "" \
		"$(ls -d "$U/x.log" "$U/q" "$U/q2" "$U/x2" "$SPOOL/maildrop/evil" 2>/dev/null)"
	if [ "$strace_ok" = 1 ]; then
		# The entry: an anonymous file in maildrop/ (dropper.c), given
		# its id by a link once it is complete.
		creat=$(grep -E 'open(at)?\(.*O_(CREAT|TMPFILE).* = [0-9]+$' "$T/trace.opt" |
			grep -vE 'openat\([0-9]+, "\.", O_RDWR\|O_CLOEXEC\|O_TMPFILE, 0600\)')
		check_eq "$opts: the only file created is the maildrop entry" "" "$creat"
		check_grep "$opts: the maildrop entry was created (trace)" \
			'openat\([0-9]+, "\.", O_RDWR\|O_CLOEXEC\|O_TMPFILE, 0600\) = [0-9]+$' \
			"$T/trace.opt"
		check_grep "$opts: and linked as maildrop/ID when complete (trace)" \
			'linkat\(.*, [0-9]+, "[0-9A-F]{16}", AT_(EMPTY_PATH|SYMLINK_FOLLOW)\) = 0$' \
			"$T/trace.opt"
		check_eq "$opts: the set-gid submitter never opens the secret" "" \
			"$(grep -F "$SECRET" "$T/trace.opt")"
		check_no_grep "$opts: nor anything in queue/" '"queue"|/queue/' "$T/trace.opt"
		check_no_secret "$opts: trace" "$T/trace.opt"
	fi
done
check_maildrop_clean "after the option runs"
check_no_secret "all command output" "$T"/cmd.*.out "$T"/cmd.*.err "$T/commands.log"
e2e_finish
