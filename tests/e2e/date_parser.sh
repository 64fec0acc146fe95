#!/bin/sh
# relayq e2e: the self-test of the RFC 5322 date-time parser the other
# tests judge Date: and Received: with (rfc5322date.py through
# "mailtool.py date"), so that it can never quietly accept everything nor
# refuse a valid form a real caller writes: a table of valid dates (the
# strict form, one-digit days with one or two spaces, no day of week, no
# seconds, comments, folding, leap days and seconds, half-hour and
# negative zones, the obsolete zones and years) and of invalid ones
# (wrong day of week, days that do not exist, out-of-range times and
# zones, broken syntax); then the instant it computes, and the clock
# window check.
# shellcheck source=./lib.sh
. "${RELAYQ_E2E_DIR:-$(dirname "$0")}/lib.sh"
e2e_init

cat >"$T/dates" <<'EOF'
# valid: the strict form and what real formatters print
ok Sun, 06 Dec 2026 16:53:32 +0000
ok Sun,  6 Dec 2026 16:53:32 +0000
ok Sun, 6 Dec 2026 16:53:32 +0000
ok 6 Dec 2026 16:53:32 +0000
ok Sun, 06 Dec 2026 16:53 +0000
ok Thu, 01 Jan 1970 00:00:00 +0000
ok Fri, 31 Dec 2027 23:59:59 +0000
ok Sat, 01 Jan 2028 00:00:00 +0000
ok Tue, 29 Feb 2028 12:00:00 +0000
ok Tue, 29 Feb 2000 12:00:00 +0000
ok Sat, 31 Dec 2016 23:59:60 +0000
ok Fri, 31 Dec 2027 23:59:59 +0530
ok Sat, 01 Jan 2028 05:29:59 +0530
ok Mon, 07 Dec 2026 03:23:32 +1030
ok Sun, 06 Dec 2026 13:23:32 -0330
ok Sun, 06 Dec 2026 13:23:32 -0230
ok Mon, 07 Dec 2026 05:38:32 +1245
ok Sun, 06 Dec 2026 16:53:32 -0000
ok Sun, 06 Dec 2026 16:53:32 +0000 (UTC)
ok Sun, 06 Dec 2026 16:53:32 +0530 (IST)
ok Sun, 06 Dec 2026 16:53:32\t+0000
ok Sun, 06 Dec 2026\r\n 16:53:32 +0000
ok sun, 06 dec 2026 16:53:32 +0000
ok SUN, 06 DEC 2026 16:53:32 +0000
ok Sun, 06 Dec 2026 16:53:32 +9959
# valid: the obsolete syntax (RFC 5322 section 4.3)
ok Sun, 06 Dec 2026 16:53:32 GMT
ok Sun, 06 Dec 2026 16:53:32 UT
ok Sun, 06 Dec 2026 11:53:32 EST
ok Sun, 06 Dec 2026 08:53:32 PST
ok Sun, 06 Dec 2026 16:53:32 Z
ok Sun, 06 Dec 26 16:53:32 +0000
ok Thu, 06 Dec 79 16:53:32 +0000
ok Sun , 06 Dec 2026 16:53:32 +0000
ok (comment) Sun, 06 Dec 2026 16:53:32 +0000
ok Sun,(c)06(c)Dec(c)2026(c)16:53:32 +0000
ok Sun, 06 Dec 2026 16 : 53 : 32 +0000
ok Sun, 06 Dec 2026 16:53:32 +0000 (nested (comment) \) here)
# invalid: the day of week is not the date's
bad Mon, 06 Dec 2026 16:53:32 +0000
bad Mon,  6 Dec 2026 16:53:32 +0000
bad Sat, 31 Dec 2027 23:59:59 +0000
bad Mon, 29 Feb 2028 12:00:00 +0000
# invalid: days that do not exist
bad Sun, 00 Dec 2026 16:53:32 +0000
bad 32 Dec 2026 16:53:32 +0000
bad 31 Nov 2026 16:53:32 +0000
bad 29 Feb 2027 12:00:00 +0000
bad 29 Feb 1900 12:00:00 +0000
bad 30 Feb 2028 12:00:00 +0000
bad 006 Dec 2026 16:53:32 +0000
# invalid: the time of day
bad Sun, 06 Dec 2026 24:00:00 +0000
bad Sun, 06 Dec 2026 16:60:00 +0000
bad Sun, 06 Dec 2026 16:53:61 +0000
bad Sun, 06 Dec 2026 6:53:32 +0000
bad Sun, 06 Dec 2026 16:5:32 +0000
bad Sun, 06 Dec 2026 16:53:32.5 +0000
bad Sun, 06 Dec 2026 16 +0000
# invalid: the zone
bad Sun, 06 Dec 2026 16:53:32 +0060
bad Sun, 06 Dec 2026 16:53:32 +05:30
bad Sun, 06 Dec 2026 16:53:32 +530
bad Sun, 06 Dec 2026 16:53:32 +00000
bad Sun, 06 Dec 2026 16:53:32+0000
bad Sun, 06 Dec 2026 16:53:32 + 0000
bad Sun, 06 Dec 2026 16:53:32 CET
bad Sun, 06 Dec 2026 16:53:32 J
bad Sun, 06 Dec 2026 16:53:32
# invalid: everything else
bad
bad Sunday, 06 Dec 2026 16:53:32 +0000
bad Sun 06 Dec 2026 16:53:32 +0000
bad Sun, 06 December 2026 16:53:32 +0000
bad Sun, 06 Dez 2026 16:53:32 +0000
bad Sun, 06 12 2026 16:53:32 +0000
bad 2026-12-06T16:53:32Z
bad Sun, 06 Dec 1899 16:53:32 +0000
bad Sun, 06 Dec 6 16:53:32 +0000
bad Sun, 06 Dec 2026 16:53:32 +0000 trailing
bad Sun, 06 Dec 2026 16:53:32 +0000 (unclosed
bad Sun, 06 Dec 2026\r\n16:53:32 +0000
bad Sun, 06 Dec 2026\n 16:53:32 +0000
bad Sun, 06 Dec 2026 16:53:32 +0000\r\n
bad Sun,, 06 Dec 2026 16:53:32 +0000
EOF
if mt date-table "$T/dates" >"$T/table.out"; then
	ok "date parser: all $(grep -c '^ok' "$T/table.out") table verdicts right"
else
	grep '^not ok' "$T/table.out"
	check_fail "date parser: every table verdict right"
fi
check_eq "date parser: a sample of each verdict was checked" 1 \
	"$([ "$(grep -c "^ok - ok " "$T/table.out")" -ge 30 ] &&
		[ "$(grep -c "^ok - bad " "$T/table.out")" -ge 30 ] && echo 1)"

# The instant: the same moment written in four zones and both forms of
# the obsolete year.
for d in 'Fri, 31 Dec 2027 23:59:59 +0000' 'Sat, 01 Jan 2028 05:29:59 +0530' \
	'Fri, 31 Dec 2027 20:29:59 -0330' '31 Dec 27 18:59:59 EST'; do
	check_eq "date parser: '$d' is 2027-12-31T23:59:59Z" "ok 1830297599" \
		"$(mt date "$d")"
done
check_eq "date parser: 29 Feb 2028 noon UTC" "ok 1835438400" \
	"$(mt date '29 Feb 2028 12:00 +0000')"
check_eq "date parser: a wrong day of week is named" \
	"bad: Mon is not the day of week of 6 Dec 2026 (a Sun)" \
	"$(mt date 'Mon,  6 Dec 2026 16:53:32 +0000')"

# The clock window check_date uses.
check_eq "date parser: within the window" "ok 1830297599" \
	"$(mt date 'Fri, 31 Dec 2027 23:59:59 +0000' 1830297600 5)"
check_eq "date parser: outside the window (a zone offset off by 5:30)" \
	"bad: +19800 s from the clock (1830297599), more than 60 s" \
	"$(mt date 'Sat, 01 Jan 2028 05:29:59 +0000' 1830297599 60)"
e2e_finish
