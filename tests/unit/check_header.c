/*
 * check_header.c - the header builders and parsers of header.c: field
 * names, the From: encodings (quoting, RFC 2047, long names folded), the
 * folding rules, and the Date:/Received: date from fixed instants in
 * fixed zones (TZ set inside the test, so the host's zone does not
 * matter).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "header.h"

#include "ck_run.h"

static const struct {
	const char *line;
	size_t len;
} names[] = {
	{ "Subject: x", 7 }, { "X-Custom-1: y", 10 }, { "To : spaced", 2 },
	{ "From a@b Mon", 0 }, { ": empty name", 0 }, { "No colon here", 0 },
	{ " continuation: x", 0 }, { "Bad\x01Name: x", 0 }, { "", 0 },
};

START_TEST(field_names)
{
	ck_assert_uint_eq(header_name_len(names[_i].line,
	    strlen(names[_i].line)), names[_i].len);
}
END_TEST

START_TEST(from_encoding)
{
	struct buf b;

	buf_init(&b, 4096);
	header_add_from(&b, "Plain Name", "a@b");
	header_add_from(&b, "Quote \"me\" \\ now", "a@b");
	header_add_from(&b, "Zoë", "a@b");
	header_add_from(&b, NULL, "a@b");
	ck_assert_str_eq(buf_cstr(&b), "From: \"Plain Name\" <a@b>\n"
	    "From: \"Quote \\\"me\\\" \\\\ now\" <a@b>\n"
	    "From: =?UTF-8?B?Wm/Dqw==?= <a@b>\n"
	    "From: a@b\n");
	buf_free(&b);
}
END_TEST

/*
 * header_fold(): exact results for the rules. "%N<c>" in an input or an
 * expected text stands for N times the character c.
 */
static const struct fcase {
	const char *name, *in;
	size_t over;
	const char *want;
} folds[] = {
	{ "short stays", "Subject: hi", HEADER_LINE_SOFT, "Subject: hi\n" },
	{ "legal caller line stays", "X: %200a b", HEADER_LINE_MAX,
	    "X: %200a b\n" },
	{ "folds at the last space within 78",
	  "Subject: %30a %30b %30c", HEADER_LINE_SOFT,
	  "Subject: %30a %30b\n %30c\n" },
	{ "no space within 78: the first after it",
	  "Subject: %100a %10b", HEADER_LINE_SOFT,
	  "Subject:\n %100a\n %10b\n" },
	{ "a run of white space: broken before it, never a blank line",
	  "Subject: %60a    %20b", HEADER_LINE_SOFT,
	  "Subject: %60a\n    %20b\n" },
	{ "never after a backslash (quoted-pair)",
	  "To: \"%70a\\ b\" <x@y>", HEADER_LINE_SOFT,
	  "To:\n \"%70a\\ b\"\n <x@y>\n" },
	{ "not inside a quoted string when it can be avoided",
	  "To: \"%50a %50b\" <x@y>", HEADER_LINE_SOFT,
	  "To:\n \"%50a %50b\"\n <x@y>\n" },
	{ "inside a quoted string when 998 needs it",
	  "X: \"%600a %600b\"", HEADER_LINE_MAX,
	  "X:\n \"%600a\n %600b\"\n" },
	{ "no white space at all: cut at 998 with a space put in",
	  "X-T: %2000t", HEADER_LINE_MAX,
	  "X-T:\n %997t\n %997t\n %6t\n" },
	{ "the cut keeps a UTF-8 character whole",
	  "X:%996t\xc3\xa9%10t", HEADER_LINE_MAX,
	  "X:%996t\n \xc3\xa9%10t\n" },
	{ "continuation lines are folded alone, LF ends added",
	  "A: b\n\t%40c %40d\nB: e", HEADER_LINE_SOFT,
	  "A: b\n\t%40c\n %40d\nB: e\n" },
};

/* Expand "%N<c>" in s into b. */
static void
expand_reps(const char *s, struct buf *b)
{
	char *end;
	long n;

	for (; *s != '\0'; s++) {
		if (*s == '%' && (n = strtol(s + 1, &end, 10)) > 0) {
			while (n-- > 0)
				buf_putc(b, *end);
			s = end;
		} else
			buf_putc(b, *s);
	}
}

START_TEST(fold_rules)
{
	const struct fcase *c = &folds[_i];
	struct buf in, want, got;

	buf_init(&in, 1 << 16);
	buf_init(&want, 1 << 16);
	buf_init(&got, 1 << 16);
	expand_reps(c->in, &in);
	expand_reps(c->want, &want);
	ck_assert_int_eq(header_fold_buf(&got, in.data, in.len, c->over), 0);
	ck_assert_msg(strcmp(buf_cstr(&got), buf_cstr(&want)) == 0,
	    "%s:\n%s\n--- want:\n%s", c->name, buf_cstr(&got),
	    buf_cstr(&want));
	ck_lines_within(c->name, got.data, got.len, 998);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}
END_TEST

/* Remove every LF that a space or tab follows (unfolding). */
static void
unfold(struct buf *b)
{
	size_t i, j;

	for (i = j = 0; i < b->len; i++)
		if (!(b->data[i] == '\n' && i + 1 < b->len &&
		    (b->data[i + 1] == ' ' || b->data[i + 1] == '\t')))
			b->data[j++] = b->data[i];
	b->len = j;
	b->data[j] = '\0';
}

/*
 * Long full names: every line within 78 octets; a plain one stays a
 * quoted string, one with a word too long (or 8-bit) becomes encoded-words
 * of at most 75 characters that never split a character; at most
 * HEADER_FULLNAME_MAX octets are kept.
 */
START_TEST(from_long_names)
{
	struct buf b, name;
	const char *p;
	int i;

	buf_init(&b, 1 << 20);
	buf_init(&name, 1 << 20);
	for (i = 0; i < 13000; i++)
		buf_puts(&name, "Firstname ");
	header_add_from(&b, name.data, "a@b");
	ck_lines_within("spaced name", b.data, b.len, HEADER_LINE_SOFT);
	/* Cut to 1000 octets, a quoted string per word, folded between. */
	unfold(&b);
	buf_reset(&name);
	buf_puts(&name, "From:");
	for (i = 0; i < 100; i++)
		buf_puts(&name, " \"Firstname\"");
	buf_puts(&name, " <a@b>\n");
	ck_assert_str_eq(b.data, name.data);
	buf_reset(&b);
	buf_reset(&name);
	for (i = 0; i < 130000; i++)
		buf_putc(&name, 'N');
	header_add_from(&b, name.data, "a@b");
	ck_lines_within("name without spaces", b.data, b.len, HEADER_LINE_SOFT);
	for (p = b.data; (p = strstr(p, "=?UTF-8?B?")) != NULL; p++)
		ck_assert_int_le((int)(strstr(p, "?=") + 2 - p), 75);
	/* 1000 octets: 22 words of 45 and one of 10 (16 base64 chars). */
	ck_assert_ptr_nonnull(strstr(b.data, "\n =?UTF-8?B?Tk5OTk5OTk5OTg==?= "
	    "<a@b>\n"));
	buf_reset(&b);
	header_add_from(&b, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "a@b");
	ck_assert_str_eq(b.data, "From: =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqc"
	    "Opw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\n"
	    " =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqQ==?= <a@b>\n");
	buf_free(&b);
	buf_free(&name);
}
END_TEST

/*
 * The Date: and Received: date in every kind of zone, from fixed
 * instants: a one-digit day, the last second of a year and the first of
 * the next, 29 February, half-hour, 45-minute and negative zones, both
 * sides of each DST change, the zones furthest east and west. TZ is a
 * POSIX rule (the same offsets as the named zone in the comment in
 * 2026-2028), so no tzdata is needed. Expected strings from Python's
 * zoneinfo, not from the C library under test.
 */
static const struct {
	const char *tz;
	time_t t;
	const char *want;
} dates[] = {
	{ "UTC0", 1796576012, "Sun, 06 Dec 2026 16:53:32 +0000" },
	{ "UTC0", 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ "UTC0", 1830297599, "Fri, 31 Dec 2027 23:59:59 +0000" },
	{ "UTC0", 1830297600, "Sat, 01 Jan 2028 00:00:00 +0000" },
	{ "UTC0", 1835438400, "Tue, 29 Feb 2028 12:00:00 +0000" },
	/* Asia/Kolkata */
	{ "IST-5:30", 1830277799, "Fri, 31 Dec 2027 23:59:59 +0530" },
	{ "IST-5:30", 1830277800, "Sat, 01 Jan 2028 00:00:00 +0530" },
	{ "IST-5:30", 1830297599, "Sat, 01 Jan 2028 05:29:59 +0530" },
	{ "IST-5:30", 1835375400, "Tue, 29 Feb 2028 00:00:00 +0530" },
	/* America/St_Johns: -0330, -0230 in summer */
	{ "NST3:30NDT,M3.2.0,M11.1.0", 1830310199,
	    "Fri, 31 Dec 2027 23:59:59 -0330" },
	{ "NST3:30NDT,M3.2.0,M11.1.0", 1830297599,
	    "Fri, 31 Dec 2027 20:29:59 -0330" },
	{ "NST3:30NDT,M3.2.0,M11.1.0", 1814408999,
	    "Wed, 30 Jun 2027 23:59:59 -0230" },
	{ "NST3:30NDT,M3.2.0,M11.1.0", 1835494199,
	    "Tue, 29 Feb 2028 23:59:59 -0330" },
	/* Australia/Adelaide: +1030 in (southern) summer, +0930 */
	{ "ACST-9:30ACDT,M10.1.0,M4.1.0/3", 1796576012,
	    "Mon, 07 Dec 2026 03:23:32 +1030" },
	{ "ACST-9:30ACDT,M10.1.0,M4.1.0/3", 1814452200,
	    "Fri, 02 Jul 2027 00:00:00 +0930" },
	/* Asia/Kathmandu, Pacific/Chatham */
	{ "NPT-5:45", 1830276899, "Fri, 31 Dec 2027 23:59:59 +0545" },
	{ "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", 1830248099,
	    "Fri, 31 Dec 2027 23:59:59 +1345" },
	/* America/New_York: the hour skipped, the hour repeated, leap day */
	{ "EST5EDT,M3.2.0,M11.1.0", 1805007599,
	    "Sun, 14 Mar 2027 01:59:59 -0500" },
	{ "EST5EDT,M3.2.0,M11.1.0", 1805007600,
	    "Sun, 14 Mar 2027 03:00:00 -0400" },
	{ "EST5EDT,M3.2.0,M11.1.0", 1825567199,
	    "Sun, 07 Nov 2027 01:59:59 -0400" },
	{ "EST5EDT,M3.2.0,M11.1.0", 1825567200,
	    "Sun, 07 Nov 2027 01:00:00 -0500" },
	{ "EST5EDT,M3.2.0,M11.1.0", 1835413199,
	    "Mon, 28 Feb 2028 23:59:59 -0500" },
	{ "EST5EDT,M3.2.0,M11.1.0", 1835499599,
	    "Tue, 29 Feb 2028 23:59:59 -0500" },
	/* Pacific/Kiritimati, Pacific/Pago_Pago */
	{ "<+14>-14", 1830247199, "Fri, 31 Dec 2027 23:59:59 +1400" },
	{ "SST11", 1830337199, "Fri, 31 Dec 2027 23:59:59 -1100" },
};

/* TZ for this test only (Check forks each test; CK_FORK=no does not). */
static char *
set_tz(const char *tz)
{
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;

	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
	return saved;
}

static void
restore_tz(char *saved)
{
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

START_TEST(date_in_zone)
{
	char got[64], *saved = set_tz(dates[_i].tz);
	struct buf b;

	header_date(got, sizeof(got), dates[_i].t);
	ck_assert_msg(strcmp(got, dates[_i].want) == 0,
	    "TZ=%s, t=%lld: got \"%s\", expected \"%s\"", dates[_i].tz,
	    (long long)dates[_i].t, got, dates[_i].want);
	/* Date: and Received: carry that same string */
	buf_init(&b, 4096);
	header_add_date(&b, dates[_i].t);
	header_add_received(&b, "h.test", 1000, "ID", dates[_i].t);
	snprintf(got, sizeof(got), "Date: %s\n", dates[_i].want);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), got));
	snprintf(got, sizeof(got), "\tid ID; %s\n", dates[_i].want);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), got));
	buf_free(&b);
	restore_tz(saved);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("header");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, field_names, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, from_encoding);
	tcase_add_loop_test(tc, fold_rules, 0, sizeof(folds) / sizeof(folds[0]));
	tcase_add_test(tc, from_long_names);
	tcase_add_loop_test(tc, date_in_zone, 0,
	    sizeof(dates) / sizeof(dates[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
