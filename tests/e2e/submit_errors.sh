#!/bin/sh
# relayq e2e: submission errors leave nothing behind.
#  - no recipients (no arguments, no -t): exit 64 with a message
#  - -t and no To/Cc/Bcc: exit 64 or 65
#  - an option letter sendmail does not have (-y): exit 64
# each time nothing is queued and the spool is unchanged.  And recipients
# given as a comma list ("a@x,b@y") are two envelope recipients.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
make_certs
start_tls_smarthost errs
CONF=$T/relayq.conf
write_config "$CONF"

printf 'Subject: comma list\n\nto two\n' >"$T/comma.msg"
sm -C "$CONF" -odq -i "a@x.example,b@y.example" <"$T/comma.msg"
expect_rc "sendmail -odq 'a@x.example,b@y.example'" 0
printf 'Subject: comma space list\n\nto two more\n' >"$T/comma2.msg"
sm -C "$CONF" -odq -i "c@x.example, d@y.example" <"$T/comma2.msg"
expect_rc "sendmail -odq 'c@x.example, d@y.example'" 0

# The spool now exists and holds two messages; none of what follows may
# change it.
mailq_of "$CONF"
cp "$OUT" "$T/mailq.before"
spool_snapshot >"$T/spool.before"

# check_nothing_queued WHAT
check_nothing_queued() {
	check_spool_unchanged "$1"
	mailq_of "$CONF"
	if cmp -s "$T/mailq.before" "$OUT"; then
		ok "$1: mailq unchanged"
	else
		check_fail "$1: mailq unchanged" "$(cat "$T/mailq.before")" "$(cat "$OUT")"
	fi
}

printf 'To: someone@example.org\nSubject: no recipients\n\nbody\n' >"$T/norcpt.msg"
sm -C "$CONF" -odq <"$T/norcpt.msg"
expect_rc "sendmail with no recipients (no args, no -t)" 64
check_match "no recipients: says why on stderr" . "$(cat "$ERR")"
check_nothing_queued "no recipients"

printf 'Subject: -t without recipient headers\nFrom: me@example.test\n\nbody\n' >"$T/nohdr.msg"
sm -C "$CONF" -odq -t -i <"$T/nohdr.msg"
check_match "sendmail -t, no To/Cc/Bcc: exit 64 or 65" '^(64|65)$' "$RC"
check_match "-t without recipients: says why on stderr" . "$(cat "$ERR")"
check_nothing_queued "-t without recipients"

printf 'To: bob@example.org\nSubject: bad option\n\nbody\n' >"$T/badopt.msg"
sm -C "$CONF" -odq -y bob@example.org <"$T/badopt.msg"
expect_rc "sendmail -y (not a sendmail option)" 64
check_match "-y: says why on stderr" . "$(cat "$ERR")"
check_nothing_queued "-y"

# Deliver the two good ones.
sm -C "$CONF" -q
expect_rc "sendmail -q" 0
wait_for 2 || die "comma-list messages did not arrive"
nap
for pair in "comma list|a@x.example b@y.example" "comma space list|c@x.example d@y.example"; do
	subj=${pair%%|*}
	want=${pair#*|}
	got=
	for m in $(mt find "$SH_RX" "$subj"); do
		got="$got $(jget "$m.json" rcpt_tos)"
	done
	# shellcheck disable=SC2086
	check_eq "'$subj': two envelope recipients" "$want" \
		"$(printf '%s\n' $got | sort | tr '\n' ' ' | sed 's/ $//')"
done
check_eq "nothing else arrived (no stray recipients)" \
	"a@x.example b@y.example c@x.example d@y.example" \
	"$(for j in "$SH_RX"/*.json; do jget "$j" rcpt_tos; done | sort | tr '\n' ' ' | sed 's/ $//')"
check_queue_empty "queue empty at the end" "$CONF"
e2e_finish
