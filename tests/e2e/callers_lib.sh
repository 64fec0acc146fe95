# relayq e2e: helpers for the tests that run real callers (Debian's PHP,
# PHPMailer, mutt, s-nail, bsd-mailx, git send-email, check_mailq...).
# Sourced by tests/e2e/callers_*.sh after lib.sh.
# shellcheck shell=sh
#
# Callers run with almost no environment (env -i) and, when the test runs
# as root, as an unprivileged user (relayq-e2e-user, created on first use),
# the way PHP runs as www-data and cron jobs as their owner.  That user gets
# its own directory $UD (spool, config) and, when it cannot reach the
# installed binaries (a build tree under /root), a copy of them in $UD/bin.
# Only the test's zone and clock pass through env -i (TZ, and libfaketime's
# LD_PRELOAD and FAKETIME when .ci/run fakes the clock), so that a caller's
# relayq sees the date and zone the test judges its dates by.

CALLER_USER=relayq-e2e-user
CALLER_PATH=/usr/local/bin:/usr/bin:/bin

# need_cmd CMD PACKAGE: skip unless CMD is on PATH.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		skip "$1 not found (Debian package $2; .ci/run installs it)"
}

# caller_setup: set CU (the caller's user name), UD (its directory), USM
# (sendmail it may run), UMQ (mailq), UCONF (its relayq.conf, written with
# write_config's defaults plus spool=$UD/spool) and AS_CALLER (a command
# prefix: run as that user with an empty environment; add VAR=value words
# after it, then the command).
caller_setup() {
	UD=$T/u
	mkdir "$UD" || die "mkdir $UD"
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) not found"
		if ! id "$CALLER_USER" >/dev/null 2>&1; then
			# Two tests may race to create it: only the result counts.
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin --comment 'Relayq E2E User,,,' \
				"$CALLER_USER" >>"$T/useradd.log" 2>&1 ||
				id "$CALLER_USER" >/dev/null 2>&1 ||
				die "useradd $CALLER_USER failed: $(cat "$T/useradd.log")"
		fi
		CU=$CALLER_USER
		chmod 711 "$T"
		chown "$CU:" "$UD"
		AS_CALLER="setpriv --reuid=$CU --regid=$(id -g "$CU") --init-groups env -i PATH=$CALLER_PATH"
	else
		CU=$(id -un)
		AS_CALLER="env -i PATH=$CALLER_PATH"
	fi
	for _v in TZ LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC; do
		eval "_x=\${$_v:-}"
		case $_x in
		"") ;;
		*[[:space:]]*) die "caller_setup: $_v holds white space: '$_x'" ;;
		*) AS_CALLER="$AS_CALLER $_v=$_x" ;;
		esac
	done
	USM=$RELAYQ_SBIN/sendmail
	UMQ=$RELAYQ_BIN/mailq
	# shellcheck disable=SC2086
	if ! $AS_CALLER test -x "$USM" || ! $AS_CALLER test -x "$UMQ"; then
		mkdir "$UD/bin" && cp "$RELAYQ_SBIN/relayq" "$UD/bin/relayq" &&
			ln "$UD/bin/relayq" "$UD/bin/sendmail" &&
			ln "$UD/bin/relayq" "$UD/bin/mailq" &&
			chmod 755 "$UD/bin" "$UD/bin/relayq" ||
			die "cannot copy the relayq binaries to $UD/bin"
		USM=$UD/bin/sendmail
		UMQ=$UD/bin/mailq
		note "$CU cannot reach $RELAYQ_SBIN: using a copy in $UD/bin"
	fi
	UCONF=$UD/relayq.conf
	write_config "$UCONF" spool="$UD/spool" "$@"
	mkdir "$UD/spool" || die "mkdir $UD/spool"
	chmod 600 "$UCONF"
	if [ "$(id -u)" = 0 ]; then
		chown -R "$CU:" "$UD/spool" "$UCONF"
	fi
	# shellcheck disable=SC2034 # read by dump_diagnostics in lib.sh
	CONF=$UCONF
	# Callers start in a directory they own (the build tree may be private).
	cd "$UD" || die "cd $UD"
	note "callers run as $CU with env -i (PATH=$CALLER_PATH)"
}

# as_caller [VAR=value...] CMD [ARGS...]: run (via run: $OUT, $ERR, $RC) as
# the caller, with an empty environment plus RELAYQ_CONFIG=$UCONF.
as_caller() {
	# shellcheck disable=SC2086
	run $AS_CALLER RELAYQ_CONFIG="$UCONF" "$@"
}

# caller_mailq: mailq of the caller's queue, run as the caller.
caller_mailq() { as_caller "$UMQ"; }

# check_caller_queue_empty WHAT
check_caller_queue_empty() { check_empty_by "$1" caller_mailq; }

# wait_caller_queue_empty [SECONDS]
wait_caller_queue_empty() { wait_empty_by "${1:-$E2E_WAIT}" caller_mailq; }

# all_rcpts SUBJECT: the envelope recipients of every received message with
# this Subject (the message may have been split), sorted, unique, space
# separated.
all_rcpts() {
	for _m in $(mt find "$SH_RX" "$1"); do
		jget "$_m.json" rcpt_tos
	done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# check_stripped WHAT EML HEADER STRING: HEADER is gone and STRING appears
# nowhere in the message.
check_stripped() {
	if header "$2" "$3" >/dev/null; then
		check_fail "$1: $3: header stripped" "no $3:" "$3: $(header "$2" "$3")"
	else
		ok "$1: $3: header stripped"
	fi
	if grep -qiF -- "$4" "$2"; then
		check_fail "$1: '$4' appears nowhere in the message" "no '$4'" \
			"$(grep -iF -- "$4" "$2" | head -n 3)"
	else
		ok "$1: '$4' appears nowhere in the message"
	fi
}

# body_has WHAT EML TEXT: the received body has a line exactly TEXT.
check_body_line() {
	mt body "$2" "$T/bl.body" 2>/dev/null || : >"$T/bl.body"
	if tr -d '\r' <"$T/bl.body" | grep -qxF -- "$3"; then
		ok "$1"
	else
		check_fail "$1" "a body line '$3'" "$(head -c 800 "$T/bl.body")"
	fi
}

MSGID_RE='^<[^<>@ ]+@[^<>@ ]+>$'

# check_added_headers WHAT EML: exactly one Date: (RFC 5322, of about now)
# and one Message-ID:.
check_added_headers() {
	check_eq "$1: exactly one Date:" 1 "$(header "$2" Date | grep -c .)"
	check_date "$1: Date: well-formed and now" "$(header "$2" Date | head -n 1)" \
		"$E2E_DATE_SLACK"
	check_eq "$1: exactly one Message-ID:" 1 "$(header "$2" Message-ID | grep -c .)"
	check_match "$1: Message-ID: well-formed" "$MSGID_RE" \
		"$(header "$2" Message-ID | head -n 1)"
}
