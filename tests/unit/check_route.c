/*
 * check_route.c - sender patterns: which senders each form matches, which
 * patterns cover which (the "can never be chosen" check of the
 * configuration), and which strings are patterns at all.
 */
#include "config.h"

#include <check.h>

#include "route.h"

#include "ck_run.h"

static const struct {
	const char *pattern;
	const char *sender;
	int match;
} matches[] = {
	{ "*@example.com", "bob@example.com", 1 },
	{ "*@example.com", "bob@EXAMPLE.Com", 1 },
	{ "*@example.com", "bob@mail.example.com", 0 },
	{ "*@example.com", "bob@badexample.com", 0 },
	{ "*@example.com", "", 0 },
	{ "*@example.com", "bob", 0 },
	{ "*@*.example.com", "bob@mail.example.com", 1 },
	{ "*@*.example.com", "bob@a.b.Example.COM", 1 },
	{ "*@*.example.com", "bob@example.com", 0 },
	{ "*@*.example.com", "bob@xexample.com", 0 },
	{ "bob@example.com", "bob@example.com", 1 },
	{ "bob@example.com", "bob@Example.com", 1 },
	{ "bob@example.com", "Bob@example.com", 0 },
	{ "bob@example.com", "bob+shop@example.com", 1 },
	{ "bob@example.com", "bob+@example.com", 1 },
	{ "bob@example.com", "bobby@example.com", 0 },
	{ "bob@example.com", "bob@mail.example.com", 0 },
	{ "bob+shop@example.com", "bob+shop@example.com", 1 },
	{ "bob+shop@example.com", "bob@example.com", 0 },
	{ "bob+shop@example.com", "bob+shop+x@example.com", 0 },
};

START_TEST(pattern_match)
{
	ck_assert_msg(route_pattern_match(matches[_i].pattern,
	    matches[_i].sender) == matches[_i].match, "%s vs %s",
	    matches[_i].pattern, matches[_i].sender);
}
END_TEST

static const struct {
	const char *a, *b;
	int covers;
} covers[] = {
	{ "*@example.com", "*@example.com", 1 },
	{ "*@example.com", "bob@EXAMPLE.com", 1 },
	{ "*@example.com", "*@*.example.com", 0 },
	{ "*@example.com", "*@mail.example.com", 0 },
	{ "*@*.example.com", "*@mail.example.com", 1 },
	{ "*@*.example.com", "*@*.mail.example.com", 1 },
	{ "*@*.example.com", "*@*.example.com", 1 },
	{ "*@*.example.com", "bob@a.example.com", 1 },
	{ "*@*.example.com", "*@example.com", 0 },
	{ "bob@example.com", "bob+x@example.com", 1 },
	{ "bob@example.com", "bob@example.com", 1 },
	{ "bob@example.com", "*@example.com", 0 },
	{ "bob+x@example.com", "bob@example.com", 0 },
};

START_TEST(pattern_covers)
{
	ck_assert_msg(route_pattern_covers(covers[_i].a, covers[_i].b) ==
	    covers[_i].covers, "%s covers %s", covers[_i].a, covers[_i].b);
}
END_TEST

static const struct {
	const char *s;
	int valid;
} valid[] = {
	{ "*@example.com", 1 }, { "*@*.example.com", 1 },
	{ "bob@example.com", 1 }, { "bob+tag@example.com", 1 },
	{ "*@*", 0 }, { "*@", 0 }, { "@example.com", 0 }, { "example.com", 0 },
	{ "b*b@example.com", 0 }, { "*@ex*ample.com", 0 }, { "**@x.com", 0 },
	{ "*@.example.com", 0 }, { "*@example.com.", 0 }, { "*@*.*.x.com", 0 },
	{ "bob@exa mple.com", 0 },
};

START_TEST(pattern_valid)
{
	ck_assert_msg(route_pattern_valid(valid[_i].s) == valid[_i].valid,
	    "%s", valid[_i].s);
}
END_TEST

START_TEST(names)
{
	ck_assert(route_name_valid("gmail"));
	ck_assert(route_name_valid("shop-2.eu_west"));
	ck_assert(!route_name_valid(""));
	ck_assert(!route_name_valid("a b"));
	ck_assert(!route_name_valid("a/b"));
	ck_assert(!route_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, pattern_match, 0,
	    sizeof(matches) / sizeof(matches[0]));
	tcase_add_loop_test(tc, pattern_covers, 0,
	    sizeof(covers) / sizeof(covers[0]));
	tcase_add_loop_test(tc, pattern_valid, 0,
	    sizeof(valid) / sizeof(valid[0]));
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
