#!/bin/sh
# relayq e2e: monitoring-plugins' check_mailq (Debian package
# monitoring-plugins-standard, no MTA dependency) reading relayq's mailq,
# in its sendmail mode (-M sendmail: the "Total requests: N" line) and its
# postfix mode (-M postfix: the last line, "-- N Kbytes in N Requests." or
# "Mail queue is empty"), with 0 and with 3 messages queued (smarthost
# down): OK / WARNING / CRITICAL with the right count.  Then the smarthost
# comes up, a queue flush delivers the 3 and check_mailq is OK again.
#
# check_mailq runs the mailq named in utils.pm (PATH_TO_MAILQ, set when
# monitoring-plugins is built; it resets PATH itself): the test runs a copy
# of check_mailq next to a copy of utils.pm that names relayq's mailq, with
# RELAYQ_CONFIG, or (postfix mode) with -d CONF, which check_mailq turns
# into "mailq -C CONF".  As the spool's owner, with env -i.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
# shellcheck source=./callers_lib.sh
. "$RELAYQ_E2E_DIR/callers_lib.sh"
e2e_init
PLUGINS=/usr/lib/nagios/plugins
[ -r "$PLUGINS/check_mailq" ] && [ -r "$PLUGINS/utils.pm" ] ||
	skip "$PLUGINS/check_mailq not found (Debian package monitoring-plugins-standard)"
need_cmd perl perl
make_certs
down_port DOWN_PORT
caller_setup port="$DOWN_PORT"

mkdir "$T/plugins" || die "mkdir"
cp "$PLUGINS/check_mailq" "$T/plugins/" || die "cp check_mailq"
sed "s|^\\(\\\$PATH_TO_MAILQ *= *\\)\"[^\"]*\";|\\1\"$UMQ\";|" "$PLUGINS/utils.pm" \
	>"$T/plugins/utils.pm" || die "sed utils.pm"
grep -q "^\\\$PATH_TO_MAILQ *= *\"$UMQ\";" "$T/plugins/utils.pm" ||
	die "could not point utils.pm's PATH_TO_MAILQ at $UMQ"
chmod -R a+rX "$T/plugins"
CHECK=$T/plugins/check_mailq

# cm EXPECTED_RC EXPECTED_LINE_ERE WHAT [check_mailq args...]
cm() {
	_rc=$1 _re=$2 _what=$3
	shift 3
	as_caller perl "$CHECK" -t 20 "$@"
	expect_rc "check_mailq $* ($_what)" "$_rc"
	check_match "check_mailq $* ($_what): output" "$_re" "$(cat "$OUT")"
}
# cm_d: postfix mode with -d CONF (mailq -C CONF) and no RELAYQ_CONFIG.
cm_d() {
	_rc=$1 _re=$2 _what=$3
	shift 3
	# shellcheck disable=SC2086
	run $AS_CALLER perl "$CHECK" -t 20 "$@" -d "$UCONF"
	expect_rc "check_mailq $* -d CONF ($_what)" "$_rc"
	check_match "check_mailq $* -d CONF ($_what): output" "$_re" "$(cat "$OUT")"
}

# 1. Empty queue (the spool is new).
cm 0 '^OK: sendmail mailq is empty(\|unsent=0;2;5;0)?$' "empty" -M sendmail -w 2 -c 5
cm 0 '^OK: postfix mailq reports queue is empty(\|unsent=0;2;5;0)?$' "empty" -M postfix -w 2 -c 5
cm_d 0 '^OK: postfix mailq reports queue is empty(\|unsent=0;2;5;0)?$' "empty" -M postfix -w 2 -c 5

# 2. A monitoring probe may run at any moment, also right after a
# submission, while its background delivery (a detached child) picks the
# message up and defers it.  In one shell, as a script would: submit and
# run mailq at once, eight times (own spool, smarthost down).  Every
# accepted message must be listed every time.
UCONF2=$UD/relayq-race.conf
sed "s|^dir = .*|dir = $UD/spool2|" "$UCONF" >"$UCONF2" && mkdir "$UD/spool2" ||
	die "cannot make $UCONF2"
[ "$(id -u)" = 0 ] && chown "$CU:" "$UCONF2" "$UD/spool2"
chmod 600 "$UCONF2"
printf 'To: race@example.org\nSubject: race\n\nx\n' >"$T/race.msg"
# shellcheck disable=SC2086
run $AS_CALLER RELAYQ_CONFIG="$UCONF2" sh -c 'for i in 1 2 3 4 5 6 7 8; do
	"$1" -t -i <"$2" || { echo "submit $i: exit $?"; exit 1; }
	"$3" | sed -n "s/^-- [0-9]* Kbytes in \([0-9]*\) Requests*\.\$/\1/p;s/^Mail queue is empty\$/0/p"
done' sh "$USM" "$T/race.msg" "$UMQ"
expect_rc "submit 8 messages (smarthost down), mailq after each" 0
check_eq "mailq right after each submission lists every accepted message" \
	"1 2 3 4 5 6 7 8" "$(tr -s '\n' ' ' <"$OUT" | sed 's/ $//')"

# 3. Three messages, smarthost down: they stay queued.
for i in 1 2 3; do
	printf 'To: ops%s@example.org\nSubject: queued %s\n\nwaiting for the relay\n' \
		"$i" "$i" >"$T/q$i.msg"
	as_caller "$USM" -t -i <"$T/q$i.msg"
	expect_rc "submit message $i (smarthost down)" 0
done
# Then let them settle: every attempt over (no * entry), nothing left in
# maildrop/ or tmp/, and mailq showing 3, before asking check_mailq.
end=$(($(date +%s) + E2E_WAIT))
while :; do
	caller_mailq
	if ! grep -q '^[0-9A-F]\{1,\} *\*' "$OUT" &&
		[ -z "$(cd "$UD/spool" && find maildrop tmp -type f 2>/dev/null)" ] &&
		grep -q '^-- [0-9]* Kbytes in 3 Requests\.$' "$OUT"; then
		break
	fi
	[ "$(date +%s)" -lt "$end" ] || break
	nap
done
check_grep "mailq: 3 requests" '^-- [0-9]+ Kbytes in 3 Requests\.$' "$OUT"
cp "$OUT" "$T/mailq3.txt"
check_grep "mailq: the connection failure is the reason shown" '^ *\(.*\)$' "$T/mailq3.txt"

cm 1 '^WARNING: sendmail mailq is 3 \(threshold w = 2\)(\|unsent=3;2;5;0)?$' "3 queued" -M sendmail -w 2 -c 5
cm 0 '^OK: sendmail mailq \(3\) is below threshold \(5/10\)(\|unsent=3;5;10;0)?$' "3 queued" -M sendmail -w 5 -c 10
cm 2 '^CRITICAL: sendmail mailq is 3 \(threshold c = 3\)(\|unsent=3;1;3;0)?$' "3 queued" -M sendmail -w 1 -c 3
cm 1 '^WARNING: postfix mailq is 3 \(threshold w = 2\)(\|unsent=3;2;5;0)?$' "3 queued" -M postfix -w 2 -c 5
cm 0 '^OK: postfix mailq \(3\) is below threshold \(5/10\)(\|unsent=3;5;10;0)?$' "3 queued" -M postfix -w 5 -c 10
cm 2 '^CRITICAL: postfix mailq is 3 \(threshold c = 3\)(\|unsent=3;1;3;0)?$' "3 queued" -M postfix -w 1 -c 3
cm_d 1 '^WARNING: postfix mailq is 3 \(threshold w = 2\)(\|unsent=3;2;5;0)?$' "3 queued" -M postfix -w 2 -c 5
check_eq "nothing connected to the dead port" "" "$(ls "$T"/*.rx 2>/dev/null)"

# 4. The smarthost comes up: a flush (the retry time has not come) delivers
# all three.
start_tls_smarthost mon
sed "s/^port = .*/port = $SH_PORT/" "$UCONF" >"$T/conf.new" && cat "$T/conf.new" >"$UCONF" ||
	die "cannot edit $UCONF"
RELAYQ=$(dirname "$USM")/relayq
as_caller "$RELAYQ" queue flush
expect_rc "relayq queue flush once the smarthost is up" 0
wait_for 3 || die "the queued messages did not arrive"
for i in 1 2 3; do
	M=$(msg_by_subject "queued $i") || continue
	check_eq "message $i: recipient" "ops$i@example.org" "$(rcpts "$M")"
	check_eq "message $i: sender" "$CU@example.test" "$(jget "$M.json" mail_from)"
done
cm 0 '^OK: sendmail mailq is empty(\|unsent=0;2;5;0)?$' "flushed" -M sendmail -w 2 -c 5
cm 0 '^OK: postfix mailq reports queue is empty(\|unsent=0;2;5;0)?$' "flushed" -M postfix -w 2 -c 5
check_no_cleartext "$SH_LOG"
e2e_finish
