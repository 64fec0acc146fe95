# relayq e2e privilege tests (tests/e2e/priv_*.sh): shared helpers on top
# of lib.sh.  Sourced after lib.sh.
# shellcheck shell=sh
#
# These tests need root (CI runs them as root): they make a real set-gid
# installation the way doc/ARCHITECTURE.md's privilege model describes it and then
# attack it as an unprivileged user.  Not root: exit 77 (skipped).
#
# The set-gid submitter ignores -C and RELAYQ_CONFIG (they drop privilege),
# so it has to find its config at the compiled-in default path.  priv_init
# therefore links a relayq and a sendmail whose default paths point under
# $T/prefix: it recompiles the only files that use them (src/cfg.c,
# src/cmd_sendmail.c, src/cmd_common.c, src/runexec.c; for sendmail also
# src/main.c, and all with RELAYQ_SUBMIT_ONLY) with this build's own flags (prefix/sysconfdir/
# localstatedir/sbindir overridden on make's command line) and links them
# with this build's other objects, so the binaries are this build (werror,
# sanitizers and all) in a few seconds.
# Then `make install-root` (the real one, same overrides) creates the users,
# groups, owners and modes, and the test adds the secret and the config:
#
#   $P/sbin/relayq              root:relayq-drop 2755
#   $P/sbin/sendmail            root:relayq-drop 2755 (the submission program)
#   $P/bin/mailq, newaliases    hard links to relayq
#   $P/etc/relayq/relayq.conf   root:root 0644, password_file = $SECRET
#   $SECRET                     root:relayq 0640 (the smarthost password)
#   $SPOOL                      relayq:relayq 0755, maildrop 1770 ...
#
# Users: relayq and relayq-drop (install-root: a system account whose home
# is /nonexistent here, as the spool is under /tmp), PRIV_USER (relayq-e2e-user)
# and PRIV_OTHER (relayq-e2e-other), plain unprivileged accounts; created
# when missing, under a lock (the tests run in parallel), never removed.

PRIV_USER=relayq-e2e-user
PRIV_OTHER=relayq-e2e-other
# A password that cannot appear by chance, its AUTH PLAIN and AUTH LOGIN
# forms (base64).
PRIV_PASS='Pw-Xyzzy-7q3R-not-in-any-log'
PRIV_USERNAME=alice
PRIV_B64_PLAIN=$(printf '\0%s\0%s' "$PRIV_USERNAME" "$PRIV_PASS" | base64 -w0)
PRIV_B64_PASS=$(printf '%s' "$PRIV_PASS" | base64 -w0)

# priv_require_root: skip unless root with a usable build tree.
priv_require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (a real set-gid installation)"
	for _t in setpriv flock useradd groupadd getent make; do
		command -v "$_t" >/dev/null 2>&1 || skip "$_t not found"
	done
	PRIV_B=${RELAYQ_TEST_ROOT:-}
	PRIV_B=${PRIV_B%/tests/e2e-root}
	[ -n "$PRIV_B" ] && [ -f "$PRIV_B/Makefile" ] && [ -f "$PRIV_B/src/librelayq.a" ] ||
		skip "needs the build tree (RELAYQ_TEST_ROOT from make check)"
	PRIV_ASAN=0
	grep -q '^HARDEN_CFLAGS = .*-fsanitize=[a-z,]*address' "$PRIV_B/Makefile" &&
		PRIV_ASAN=1
	return 0
}

# priv_users: the accounts, idempotent, serialised between parallel tests.
priv_users() {
	flock "${TMPDIR:-/tmp}/relayq-e2e-users.lock" sh -c '
		set -e
		for u in "$1" "$2"; do
			getent group "$u" >/dev/null || groupadd "$u"
			getent passwd "$u" >/dev/null ||
			    useradd --gid "$u" --no-create-home --home-dir /nonexistent \
			    --shell /bin/sh --comment "relayq e2e test user" "$u"
		done
		# Older versions of these tests had make install-root create
		# user relayq with its home in their temp dir; install-root
		# now refuses such an account: give it the home it would get.
		# usermod refuses while a process runs as relayq: retry.
		i=0
		while case $(getent passwd relayq | cut -d: -f6) in
		      /tmp/*) ! usermod --home /nonexistent relayq ;;
		      *) false ;; esac; do
			i=$((i + 1))
			[ $i -lt 60 ] || exit 1
			sleep 1
		done' sh "$PRIV_USER" "$PRIV_OTHER" >>"$T/users.log" 2>&1 ||
		die "cannot create the test users: $(cat "$T/users.log")"
}

# priv_make ARGS...: make in the build tree with the prefix moved to $P,
# independent of the make that runs the tests.
priv_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$PRIV_B" \
		prefix="$P" exec_prefix="$P" sysconfdir="$P/etc" \
		localstatedir="$P/var" sbindir="$P/sbin" bindir="$P/bin" "$@"
}

# priv_build: $P/sbin/relayq with the default paths under $P.
priv_build() {
	mkdir -p "$T/obj" "$P/sbin" "$P/bin" || die "mkdir $P"
	# ASan build: a set-id program ignores ASAN_OPTIONS, and LeakSanitizer
	# cannot stop the world of a set-gid process (nor under strace): it
	# would fail runs with exit 1. Built in, for this binary only, leak
	# checking is off; ASan and UBSan stay on.
	: >"$T/obj/opts.c"
	[ "$PRIV_ASAN" = 1 ] && printf '%s\n' \
		'const char *__asan_default_options(void);' \
		'const char *__asan_default_options(void) { return "detect_leaks=0"; }' \
		>"$T/obj/opts.c"
	priv_make -f Makefile -f - PRIV_OUT="$T/obj" priv-relayq \
		>"$T/build.log" 2>&1 <<'EOF' || { cat "$T/build.log"; die "cannot link the test relayq"; }
priv-relayq:
	$(COMPILE) -c -o $(PRIV_OUT)/cfg.$(OBJEXT) $(srcdir)/src/cfg.c
	$(COMPILE) -c -o $(PRIV_OUT)/cmd_sendmail.$(OBJEXT) $(srcdir)/src/cmd_sendmail.c
	$(COMPILE) -c -o $(PRIV_OUT)/cmd_common.$(OBJEXT) $(srcdir)/src/cmd_common.c
	$(COMPILE) -c -o $(PRIV_OUT)/runexec.$(OBJEXT) $(srcdir)/src/runexec.c
	$(COMPILE) -DRELAYQ_SUBMIT_ONLY -c -o $(PRIV_OUT)/sm-main.$(OBJEXT) $(srcdir)/src/main.c
	$(COMPILE) -DRELAYQ_SUBMIT_ONLY -c -o $(PRIV_OUT)/sm-cmd_sendmail.$(OBJEXT) $(srcdir)/src/cmd_sendmail.c
	$(COMPILE) -DRELAYQ_SUBMIT_ONLY -c -o $(PRIV_OUT)/sm-cmd_common.$(OBJEXT) $(srcdir)/src/cmd_common.c
	cp src/librelayq.a $(PRIV_OUT)/librelayq.a
	$(AR) d $(PRIV_OUT)/librelayq.a cfg.$(OBJEXT) runexec.$(OBJEXT)
	$(CC) -c -o $(PRIV_OUT)/opts.$(OBJEXT) $(PRIV_OUT)/opts.c
	$(CCLD) $(AM_CFLAGS) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) \
	  -o $(PRIV_OUT)/relayq \
	  $(filter-out src/cmd_sendmail.$(OBJEXT) src/cmd_common.$(OBJEXT),$(relayq_OBJECTS)) \
	  $(PRIV_OUT)/cmd_sendmail.$(OBJEXT) $(PRIV_OUT)/cmd_common.$(OBJEXT) \
	  $(PRIV_OUT)/cfg.$(OBJEXT) \
	  $(PRIV_OUT)/runexec.$(OBJEXT) $(PRIV_OUT)/opts.$(OBJEXT) \
	  $(PRIV_OUT)/librelayq.a $(OPENSSL_LIBS) $(INIH_LIBS) $(LIBBSD_LIBS) $(LIBS)
	$(CCLD) $(AM_CFLAGS) $(CFLAGS) $(sendmail_LDFLAGS) $(LDFLAGS) \
	  -o $(PRIV_OUT)/sendmail \
	  $(PRIV_OUT)/sm-main.$(OBJEXT) $(PRIV_OUT)/sm-cmd_sendmail.$(OBJEXT) \
	  $(PRIV_OUT)/sm-cmd_common.$(OBJEXT) \
	  $(PRIV_OUT)/cfg.$(OBJEXT) $(PRIV_OUT)/runexec.$(OBJEXT) \
	  $(PRIV_OUT)/opts.$(OBJEXT) \
	  $(PRIV_OUT)/librelayq.a $(SUBMIT_LIBS) $(LIBS)
	@echo "spooldir=$(spooldir)"
	@echo "confdir=$(relayqconfdir)"
EOF
	grep -qx "confdir=$P/etc/relayq" "$T/build.log" &&
		grep -qx "spooldir=$P/var/spool/relayq" "$T/build.log" ||
		die "the test relayq has the wrong default paths: $(cat "$T/build.log")"
	grep -q "$P/etc/relayq/relayq.conf" "$T/obj/relayq" ||
		die "the test relayq does not default to $P/etc/relayq/relayq.conf"
	grep -q "$P/sbin/relayq" "$T/obj/sendmail" ||
		die "the test sendmail does not run $P/sbin/relayq"
	install -m 0755 "$T/obj/relayq" "$P/sbin/relayq" || die "install relayq"
	install -m 0755 "$T/obj/sendmail" "$P/sbin/sendmail" || die "install sendmail"
	ln -f "$P/sbin/relayq" "$P/bin/mailq" &&
		ln -f "$P/sbin/relayq" "$P/bin/newaliases" || die "links"
}

# priv_init: everything above, a TLS smarthost that wants AUTH alice with
# PRIV_PASS, the system config and secret.  Sets P, SM, MAILQ, RQ, CONF,
# SPOOL, SECRET, SH_* (lib.sh).
priv_init() {
	priv_require_root
	umask 022	# what the test user must read is readable, whatever CI had
	e2e_init
	# The test user must reach the installation; everything in $T it
	# must not read is made private below or is private already.
	chmod 0755 "$T" || die "chmod $T"
	P=$T/prefix
	SPOOL=$P/var/spool/relayq
	CONF=$P/etc/relayq/relayq.conf
	SECRET=$P/etc/relayq/password
	SM=$P/sbin/sendmail
	RQ=$P/sbin/relayq
	MAILQ=$P/bin/mailq
	priv_users
	priv_build
	priv_make install-root >"$T/install-root.log" 2>&1 ||
		{ cat "$T/install-root.log"; die "make install-root failed"; }
	make_certs
	chmod 0644 "$T/ca.pem"
	start_smarthost main --mode starttls --cert "$T/server.pem" \
		--key "$T/server.key" --auth "$PRIV_USERNAME:$PRIV_PASS" "$@"
	printf '%s\n' "$PRIV_PASS" >"$SECRET"
	chown root:relayq "$SECRET" && chmod 0640 "$SECRET" || die "secret"
	write_config "$CONF" spool="$SPOOL" user="$PRIV_USERNAME" \
		password_file="$SECRET"
	chown root:root "$CONF" && chmod 0644 "$CONF" || die "config"
	priv_setgid_works
}

# priv_setgid_works: the kernel honours set-gid here (no nosuid mount, no
# no_new_privs); otherwise nothing below would mean anything.
priv_setgid_works() {
	cp /usr/bin/id "$T/sgid-id" && chown root:relayq-drop "$T/sgid-id" &&
		chmod 2755 "$T/sgid-id" || die "cannot make a set-gid test program"
	_g=$(as_user "$T/sgid-id" -gn 2>/dev/null)
	rm -f "$T/sgid-id"
	[ "$_g" = relayq-drop ] ||
		skip "set-gid programs do not gain their group here (nosuid or no_new_privs?): got '$_g'"
}

# as_user CMD...: run as PRIV_USER (its own groups only), environment
# kept.  as_other: the same as PRIV_OTHER.
as_user() { setpriv --reuid="$PRIV_USER" --regid="$PRIV_USER" --init-groups -- "$@"; }
as_other() { setpriv --reuid="$PRIV_OTHER" --regid="$PRIV_OTHER" --init-groups -- "$@"; }
# u_run CMD...: run (lib.sh: $OUT $ERR $RC) as PRIV_USER.
u_run() { run setpriv --reuid="$PRIV_USER" --regid="$PRIV_USER" --init-groups -- "$@"; }

# u_strace TRACEFILE CMD...: run CMD as PRIV_USER under `strace -f -u`,
# which keeps set-id bits working (the tracer is root); $OUT $ERR $RC.
u_strace() {
	_tf=$1
	shift
	run strace -f -qq -s 256 -o "$_tf" -u "$PRIV_USER" "$@"
}

# maildrop_entries: "name mode owner group size" of each maildrop entry.
maildrop_entries() {
	find "$SPOOL/maildrop" -mindepth 1 -maxdepth 1 -printf '%f %m %u %g %s\n' |
		sort
}

# spool_files SUB: number of entries in a spool subdirectory.
spool_files() {
	find "$SPOOL/$1" -mindepth 1 -maxdepth 1 | wc -l | tr -d ' '
}

# check_maildrop_clean WHAT: every maildrop entry is complete (0704, group
# relayq-drop, one link); none half-written (0600) or otherwise odd.
check_maildrop_clean() {
	_bad=$(find "$SPOOL/maildrop" -mindepth 1 -maxdepth 1 \
		\( ! -type f -o ! -perm 0704 -o ! -group relayq-drop -o -links +1 \) \
		-printf '%f %m %u %g %n\n')
	check_eq "$1: no half-written or odd maildrop entry" "" "$_bad"
}

# check_no_secret WHAT FILE...: neither the password nor its base64 forms
# appear in any of the files.
check_no_secret() {
	_nsw=$1
	shift
	_hit=$(grep -l -F -e "$PRIV_PASS" -e "$PRIV_B64_PLAIN" -e "$PRIV_B64_PASS" \
		"$@" 2>/dev/null)
	check_eq "$_nsw: no password or base64 of it" "" "$_hit"
}
