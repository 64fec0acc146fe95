/*
 * check_rate.c - sending limits: the syntax of `rate`, and the sliding
 * window: when a message is held back and when its next slot frees up.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "rate.h"

#include "ck_run.h"

static const struct {
	const char *s;
	int ok;
	size_t n;
} parses[] = {
	{ "100/day", 1, 1 }, { "100/day, 20/minute", 1, 2 },
	{ "3/minute 50/hour;1000/day", 1, 3 }, { "", 0, 0 }, { "100", 0, 0 },
	{ "0/day", 0, 0 }, { "100/week", 0, 0 }, { "100/day, 5/day", 0, 0 },
	{ "-1/day", 0, 0 }, { "100001/day", 0, 0 }, { "x/day", 0, 0 },
};

START_TEST(parse)
{
	struct cfg_rate r[CFG_RATE_MAX];
	size_t n = 0;

	ck_assert_int_eq(rate_parse(parses[_i].s, r, &n) == 0, parses[_i].ok);
	if (parses[_i].ok)
		ck_assert_uint_eq(n, parses[_i].n);
}
END_TEST

START_TEST(names)
{
	struct cfg_rate r[CFG_RATE_MAX];
	char buf[32];
	size_t n;

	ck_assert_int_eq(rate_parse("20/minute, 100/day", r, &n), 0);
	ck_assert_str_eq(rate_name(&r[0], buf, sizeof(buf)), "20/minute");
	ck_assert_int_eq(r[0].window, 60);
	ck_assert_str_eq(rate_name(&r[1], buf, sizeof(buf)), "100/day");
	ck_assert_int_eq(r[1].window, 86400);
}
END_TEST

START_TEST(window)
{
	struct cfg_rate three[] = { { 3, 60 } };
	struct cfg_rate two[] = { { 3, 60 }, { 4, 3600 } };
	time_t t[] = { 1000, 1010, 1020, 1030 }, next;

	/* 3/minute: free below three sends in the last 60 s */
	ck_assert_int_eq(rate_check(t, 2, three, 1, 1025, &next), -1);
	ck_assert_int_eq(rate_check(t, 3, three, 1, 1025, &next), 0);
	ck_assert_int_eq(next, 1060);	/* the oldest of the three + 60 */
	ck_assert_int_eq(rate_check(t, 3, three, 1, 1060, &next), -1);
	ck_assert_int_eq(rate_check(t, 4, three, 1, 1065, &next), 0);
	ck_assert_int_eq(next, 1070);
	/* several limits: the one that frees up last decides */
	ck_assert_int_eq(rate_check(t, 4, two, 2, 1090, &next), 1);
	ck_assert_int_eq(next, 4600);
	ck_assert_int_eq(rate_check(NULL, 0, two, 2, 1090, &next), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rate");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse, 0, sizeof(parses) / sizeof(parses[0]));
	tcase_add_test(tc, names);
	tcase_add_test(tc, window);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
