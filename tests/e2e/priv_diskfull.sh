#!/bin/sh
# relayq e2e (root only): a full disk on a real set-gid installation
# (priv_lib.sh) is reported as a full disk to every caller.
# A. maildrop/ on a full tmpfs: the unprivileged user's sendmail and
#    root's exit 75 with "No space left on device" (never the "Permission
#    denied" of the entry's removal, which fails without the group), and
#    nothing is left in maildrop/.
# B. Only the queue full (the spool on a small tmpfs, maildrop/ on another
#    file system): the user's message is accepted; the queue run cannot
#    copy it into the queue: its log line says "No space left on device",
#    and mailq (stderr, before the listing) shows why mail waits. Space
#    back: the next run delivers it and the note is gone.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./priv_lib.sh
. "$RELAYQ_E2E_DIR/priv_lib.sh"
priv_init
MNTS=
trap '_rc=$?; for m in $MNTS; do umount -l "$m" 2>/dev/null; done; e2e_cleanup $_rc' EXIT
RQ_UID=$(id -u relayq)
RQ_GID=$(getent group relayq | cut -d: -f3)
DROP_GID=$(getent group relayq-drop | cut -d: -f3)
printf 'Subject: disk full\n\na small body\n' >"$T/msg.small"
"$RELAYQ_PYTHON" -c 'import sys
sys.stdout.write("Subject: queue full\n\n" + "".join(
    "queue full body line %06d ....................................\n" % i
    for i in range(3000)))' >"$T/msg.big"	# ~200 KB
chmod 0644 "$T/msg.small" "$T/msg.big"

# fill DIR KB: leave about KB KiB free on the tmpfs holding DIR.
fill() {
	rm -f "$1/fill"
	dd if=/dev/zero of="$1/fill" bs=4096 >/dev/null 2>&1
	_full=$(stat -c %s "$1/fill")
	[ "$2" -gt 0 ] && truncate -s $((_full > $2 * 1024 ? _full - $2 * 1024 : 0)) "$1/fill"
	sync
}

# --- A. maildrop/ full ----------------------------------------------------------
mount -t tmpfs -o "size=256k,mode=1770,uid=$RQ_UID,gid=$DROP_GID" tmpfs \
	"$SPOOL/maildrop" 2>"$T/mount.err" ||
	skip "cannot mount a tmpfs: $(cat "$T/mount.err")"
MNTS=$SPOOL/maildrop
fill "$SPOOL/maildrop" 0
u_run "$SM" -i bob@example.org <"$T/msg.small"
expect_rc "user, maildrop/ full: sendmail" 75
check_grep "user: told the disk is full" 'No space left on device' "$ERR"
check_no_grep "user: not told 'Permission denied'" 'Permission denied' "$ERR"
run "$SM" -i bob@example.org <"$T/msg.small"
expect_rc "root, maildrop/ full: sendmail" 75
check_grep "root: told the disk is full" 'No space left on device' "$ERR"
check_eq "maildrop/ full: nothing left behind" fill "$(ls -A "$SPOOL/maildrop")"
umount "$SPOOL/maildrop" || die "umount $SPOOL/maildrop"
MNTS=

# --- B. only the queue full ----------------------------------------------------------
install -d -o relayq -g relayq-drop -m 1770 "$T/maildrop-elsewhere" || die "mkdir"
mount -t tmpfs -o "size=1m,mode=0755,uid=$RQ_UID,gid=$RQ_GID" tmpfs "$SPOOL" ||
	die "cannot mount a tmpfs on $SPOOL"
MNTS=$SPOOL
for d in queue hold corrupt tmp; do
	install -d -o relayq -g relayq -m 0700 "$SPOOL/$d" || die "mkdir $d"
done
install -d -o relayq -g relayq-drop -m 1770 "$SPOOL/maildrop" || die "mkdir maildrop"
mount --bind "$T/maildrop-elsewhere" "$SPOOL/maildrop" || die "bind mount maildrop/"
MNTS="$SPOOL/maildrop $SPOOL"
fill "$SPOOL" 24
u_run "$SM" -odq -i bob@example.org <"$T/msg.big"
expect_rc "user, only the queue full: the message is accepted" 0
run "$RQ" run
cp "$ERR" "$T/run.err"
check_grep "the queue run logs why it cannot pick up" \
	'pickup [0-9A-F]{16}: .*No space left on device' "$T/run.err"
check_eq "the message waits in maildrop/" 1 "$(spool_files maildrop)"
run "$MAILQ"
expect_rc "mailq (root), queue full" 0
check_match "mailq: the pickup problem, on stderr" \
	'^-- warning: the queue run cannot pick up mail: 1 message waits in maildrop/: .*No space left on device \(see relayq\(8\)\)$' \
	"$(cat "$ERR")"
check_grep "mailq: the waiting message listed" '^-- [0-9]+ Kbytes in 1 Request\.$' "$OUT"
rm -f "$SPOOL/fill"
run "$RQ" run
expect_rc "space back: relayq run" 0
wait_for 1 || die "the waiting message was not delivered once there was space"
check_eq "space back: delivered once" 1 "$(received_count)"
run "$MAILQ"
check_eq "space back: no note from mailq" "" "$(cat "$ERR")"
check_eq "space back: the queue is empty" "Mail queue is empty" "$(cat "$OUT")"
e2e_finish
