/*
 * check_mailq.c - the JSON listing's string writer (postqueue -j shape):
 * every string comes out as valid JSON whatever bytes the queue holds,
 * and the administrator's notes (a pickup problem, entries in corrupt/).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailq.h"
#include "spool.h"

#include "ck_run.h"

static const struct {
	const char *in, *out;
} esc[] = {
	{ "plain@example.test", "\"plain@example.test\"" },
	{ "", "\"\"" },
	{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "cr\rlf\ntab\tbs\b", "\"cr\\u000dlf\\u000atab\\u0009bs\\u0008\"" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
	{ "/ stays", "\"/ stays\"" },
	/* valid UTF-8 (2, 3, 4 bytes) passes through */
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\"" },
	/* invalid: lone continuation, truncated, overlong, surrogate,
	   beyond U+10FFFF, 0xff: each bad byte becomes U+FFFD */
	{ "a\x80z", "\"a\\ufffdz\"" },
	{ "\xc3", "\"\\ufffd\"" },
	{ "\xe2\x82", "\"\\ufffd\\ufffd\"" },
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
	{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	{ "\xff", "\"\\ufffd\"" },
	{ "\xc3\"", "\"\\ufffd\\\"\"" },
};

START_TEST(json_string_escaping)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	mailq_json_string(f, esc[_i].in);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(buf, esc[_i].out);
	free(buf);
}
END_TEST

static const struct {
	size_t ncorrupt;
	const char *pickup, *out;
} notes[] = {
	{ 0, NULL, "" },
	{ 0, "", "" },
	{ 1, NULL, "-- 1 message in corrupt/ (see relayq(8))\n" },
	{ 3, "", "-- 3 messages in corrupt/ (see relayq(8))\n" },
	{ 0, "1 message waits in maildrop/: copy X: No space left on device",
	    "-- warning: the queue run cannot pick up mail: 1 message waits "
	    "in maildrop/: copy X: No space left on device (see relayq(8))\n" },
	{ 2, "why", "-- warning: the queue run cannot pick up mail: why "
	    "(see relayq(8))\n-- 2 messages in corrupt/ (see relayq(8))\n" },
};

START_TEST(admin_notes)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	mailq_notes(f, notes[_i].ncorrupt, notes[_i].pickup);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(buf, notes[_i].out);
	free(buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mailq");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, json_string_escaping, 0,
	    sizeof(esc) / sizeof(esc[0]));
	tcase_add_loop_test(tc, admin_notes, 0, sizeof(notes) / sizeof(notes[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
