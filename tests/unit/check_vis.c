/* check_vis.c - terminal escaping: text passes, anything that acts is shown. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vis.h"

#include "ck_run.h"

static const struct {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	const char *out;
} cases[] = {
	{ "plain text\twith tab\n", 0, "plain text\twith tab\n" },
	{ "crlf\r\nline\r\n", 0, "crlf\nline\n" },
	{ "lone\rcr", 0, "lone\\rcr" },
	{ "cr at end\r", 0, "cr at end\\r" },
	{ "two\r\r\n", 0, "two\\r\n" },
	{ "\x1b]0;owned\x07title", 0, "\\x1b]0;owned\\x07title" },
	{ "\x1b[2J\x1b[H", 0, "\\x1b[2J\\x1b[H" },
	{ "del\x7f", 0, "del\\x7f" },
	{ "nul\0byte", 8, "nul\\x00byte" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", 0,
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7" },
	{ "8-bit csi \x9b" "31m", 0, "8-bit csi \\x9b31m" },
	{ "utf-8 csi \xc2\x9b" "31m", 0, "utf-8 csi \\xc2\\x9b31m" },
	{ "nbsp \xc2\xa0.", 0, "nbsp \xc2\xa0." },
	{ "overlong \xc0\xaf \xe0\x80\xaf", 0,
	    "overlong \\xc0\\xaf \\xe0\\x80\\xaf" },
	{ "surrogate \xed\xa0\x80", 0, "surrogate \\xed\\xa0\\x80" },
	{ "too big \xf4\x90\x80\x80", 0, "too big \\xf4\\x90\\x80\\x80" },
	{ "cut \xe2\x82", 0, "cut \\xe2\\x82" },
	{ "cut then esc \xe2\x1b", 0, "cut then esc \\xe2\\x1b" },
	{ "latin-1 \xe9t\xe9", 0, "latin-1 \\xe9t\\xe9" },
};

/* Escape in one write, or one byte per write when bytewise is set. */
static char *
escape(const char *in, size_t len, int bytewise)
{
	struct vis v;
	char *out = NULL;
	size_t olen = 0, i;
	FILE *fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&out, &olen));
	vis_init(&v);
	if (bytewise)
		for (i = 0; i < len; i++)
			vis_write(&v, fp, in + i, 1);
	else
		vis_write(&v, fp, in, len);
	vis_flush(&v, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return out;
}

START_TEST(escapes_table)
{
	size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);
	char *whole = escape(cases[_i].in, len, 0);
	char *bytes = escape(cases[_i].in, len, 1);

	ck_assert_str_eq(whole, cases[_i].out);
	ck_assert_str_eq(bytes, cases[_i].out);	/* split writes agree */
	free(whole);
	free(bytes);
}
END_TEST

START_TEST(puts_escapes)
{
	char *out = NULL;
	size_t olen = 0;
	FILE *fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&out, &olen));
	vis_puts(fp, "421 \x1b[31mgo away\r");
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_str_eq(out, "421 \\x1b[31mgo away\\r");
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("vis");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, escapes_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, puts_escapes);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
