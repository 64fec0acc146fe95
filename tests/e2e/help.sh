#!/bin/sh
# relayq e2e: every usage and help text, against golden files.
#  - each form below (--help, -h, help, help COMMAND, COMMAND --help, and
#    the usage errors: unknown options and commands, missing or extra
#    arguments) is run and its exit code, stdout and stderr compared with
#    golden/help/NAME.txt, NAME made from the command line
#  - help needs no configuration: the forms that print help or find an
#    unknown option or command run with RELAYQ_CONFIG naming a file that
#    does not exist (which relayq would refuse if it read it)
#  - the usage errors found after the configuration is read (a command's
#    own options) run with a valid one
#  - a golden file that no form produces any more is an error
#  - the manual pages: mandoc -Tlint finds nothing (when mandoc is
#    installed), and the COMMANDS synopses render with their spaces
#    (groff through man, and mandoc)
#
# To regenerate the golden files after changing a text (src/help.c), run
#   make check TESTS=tests/e2e/help.sh UPDATE_GOLDEN=1
# (UPDATE_GOLDEN=1 in the environment also works), then review the diff.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init
CONF=$T/relayq.conf
write_config "$CONF" port=1 tls=none ca_file= user=
GOLDEN=$RELAYQ_E2E_DIR/golden/help
: "${UPDATE_GOLDEN:=0}"
[ "$UPDATE_GOLDEN" = 1 ] && mkdir -p "$GOLDEN"
: >"$T/seen"

# golden CONFIG PROGRAM ARGS...: run PROGRAM (relayq, sendmail, mailq or
# newaliases) with RELAYQ_CONFIG=CONFIG and compare with its golden file.
golden() {
	_cfg=$1
	_prog=$2
	shift 2
	case $_prog in
	relayq | sendmail) _bin=$RELAYQ_SBIN/$_prog ;;
	*) _bin=$RELAYQ_BIN/$_prog ;;
	esac
	_name=$(printf '%s' "$_prog $*" | tr -c 'A-Za-z0-9._-' '_')
	printf '%s\n' "$_name.txt" >>"$T/seen"
	run env RELAYQ_CONFIG="$_cfg" "$_bin" "$@"
	{
		printf '$ %s %s\nexit %s\n--- stdout\n' "$_prog" "$*" "$RC"
		cat "$OUT"
		printf -- '--- stderr\n'
		cat "$ERR"
	} >"$T/got.txt"
	if [ "$UPDATE_GOLDEN" = 1 ]; then
		cp "$T/got.txt" "$GOLDEN/$_name.txt" || die "cannot write $GOLDEN"
		ok "$_prog $*: golden file written"
	elif [ ! -f "$GOLDEN/$_name.txt" ]; then
		check_fail "$_prog $*: no golden file $_name.txt (UPDATE_GOLDEN=1)"
	elif cmp -s "$T/got.txt" "$GOLDEN/$_name.txt"; then
		ok "$_prog $*: as golden/help/$_name.txt"
	else
		check_fail "$_prog $*: differs from golden/help/$_name.txt"
		diff -u "$GOLDEN/$_name.txt" "$T/got.txt" | sed 's/^/    /'
	fi
}

NOCONF=$T/no-such.conf
# Help, to stdout with exit 0, without a configuration.
golden "$NOCONF" relayq --help
golden "$NOCONF" relayq -h
golden "$NOCONF" relayq help
for c in run daemon queue test probe setup version help; do
	golden "$NOCONF" relayq help "$c"
	golden "$NOCONF" relayq "$c" --help
done
for c in list show flush requeue hold release delete; do
	golden "$NOCONF" relayq help queue "$c"
	golden "$NOCONF" relayq queue "$c" --help
done
golden "$NOCONF" relayq -C /nonexistent/relayq.conf queue show --raw --help
golden "$NOCONF" relayq help sendmail
golden "$NOCONF" sendmail --help
golden "$NOCONF" sendmail -i --help
golden "$NOCONF" mailq --help
golden "$NOCONF" newaliases --help

# Usage errors found before the configuration is read: stderr, exit 64.
golden "$NOCONF" relayq
golden "$NOCONF" relayq -x
golden "$NOCONF" relayq --frob
golden "$NOCONF" relayq -C
golden "$NOCONF" relayq frob
golden "$NOCONF" relayq queue
golden "$NOCONF" relayq queue frob
golden "$NOCONF" relayq run now
golden "$NOCONF" relayq daemon now
golden "$NOCONF" relayq version 2
golden "$NOCONF" relayq help frob
golden "$NOCONF" relayq help queue frob
golden "$NOCONF" sendmail --frob
golden "$NOCONF" sendmail -Z
golden "$NOCONF" mailq -Z
golden "$NOCONF" newaliases --frob

# Usage errors of a command's own arguments: a configuration first.
golden "$CONF" relayq test --frob
golden "$CONF" relayq test one two
golden "$CONF" relayq test --send
golden "$CONF" relayq test --all one
golden "$CONF" relayq test --from a@example.test
golden "$CONF" relayq probe
golden "$CONF" relayq probe --timeout 0 a@example.test
golden "$CONF" relayq probe a@example.test --ca-file
golden "$CONF" relayq setup --frob
golden "$CONF" relayq setup --name
golden "$CONF" relayq queue list --frob
golden "$CONF" relayq queue show
golden "$CONF" relayq queue show 12
golden "$CONF" relayq queue show --raw 0123456789ABCDEF extra
golden "$CONF" relayq queue flush "6B05D903C9651C08*"
golden "$CONF" relayq queue delete
golden "$CONF" relayq queue hold
golden "$CONF" relayq queue release
golden "$CONF" relayq queue requeue 0123456789abcdef

# No golden file left over from a form that is gone.
for f in "$GOLDEN"/*.txt; do
	[ -f "$f" ] || continue
	grep -qxF "$(basename "$f")" "$T/seen" ||
		check_fail "golden/help/$(basename "$f") is no form's any more (remove it)"
done
# The manual pages.
MANDIR=$RELAYQ_E2E_DIR/../../man
if command -v mandoc >/dev/null 2>&1; then
	mandoc -Tlint "$MANDIR/relayq.8" "$MANDIR/relayq.conf.5" >"$T/lint" 2>&1
	check_eq "mandoc -Tlint: no message" "" "$(cat "$T/lint")"
	mandoc -Tascii "$MANDIR/relayq.8" | col -b >"$T/relayq.8.mandoc"
	check_grep "mandoc: the test synopsis" \
		'^ +test \[route \| --all\] \[--send address \[--from address\]\] \[--json\]$' \
		"$T/relayq.8.mandoc"
else
	warn "mandoc not installed: the man pages are not linted"
fi
if command -v man >/dev/null 2>&1 && command -v col >/dev/null 2>&1; then
	MANWIDTH=80 man -l "$MANDIR/relayq.8" 2>/dev/null | col -b >"$T/relayq.8.man"
	check_grep "man: the test synopsis" \
		'^ +test \[route \| --all\] \[--send address \[--from address\]\] \[--json\]$' \
		"$T/relayq.8.man"
	check_grep "man: the queue show synopsis" '^ +queue show \[--raw\] id$' "$T/relayq.8.man"
fi
e2e_finish
