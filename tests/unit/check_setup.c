/*
 * check_setup.c - relayq setup's configuration edit: the [smarthost]
 * section (or a [smarthost NAME] route) is replaced in place or appended,
 * everything else keeps its bytes, and doing it twice changes nothing.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "setup.h"

#include "ck_run.h"

#define NEW	"[smarthost]\nhost = smtp.example.test\nport = 587\n"
#define ROUTE	"[smarthost example-test]\nhost = smtp.example.test\n" \
		"senders = *@example.test\n"

static const struct {
	const char *what;
	const char *old;
	const char *header;
	const char *section;
	const char *want;
} cases[] = {
	{ "no file yet", NULL, "[smarthost]", NEW, NEW },
	{ "empty file", "", "[smarthost]", NEW, NEW },
	{ "appended after the other sections",
	    "# mine\n[queue]\ndir = /q\n", "[smarthost]", NEW,
	    "# mine\n[queue]\ndir = /q\n\n" NEW },
	{ "a last line without newline",
	    "[queue]\ndir = /q", "[smarthost]", NEW,
	    "[queue]\ndir = /q\n\n" NEW },
	{ "replaced in the middle, the rest kept",
	    "[queue]\ndir = /q\n\n[smarthost]\nhost = old\nuser = x\n\n"
	    "[local]\ndomain = d\n", "[smarthost]", NEW,
	    "[queue]\ndir = /q\n\n" NEW "\n[local]\ndomain = d\n" },
	{ "replaced at the end",
	    "[queue]\ndir = /q\n[smarthost]\nhost = old\n", "[smarthost]",
	    NEW, "[queue]\ndir = /q\n" NEW },
	{ "a header with blanks around it",
	    "  [smarthost] \t\nhost = old\n[local]\n", "[smarthost]", NEW,
	    NEW "\n[local]\n" },
	{ "a route next to the default one",
	    "[smarthost]\nhost = old\n", "[smarthost example-test]", ROUTE,
	    "[smarthost]\nhost = old\n\n" ROUTE },
	{ "the route replaced, the default kept",
	    "[smarthost]\nhost = old\n\n[smarthost example-test]\n"
	    "host = older\n", "[smarthost example-test]", ROUTE,
	    "[smarthost]\nhost = old\n\n" ROUTE },
	{ "[smarthost] is not [smarthost other]",
	    "[smarthost other]\nhost = o\n", "[smarthost]", NEW,
	    "[smarthost other]\nhost = o\n\n" NEW },
};

START_TEST(merge_table)
{
	struct buf out, again;

	buf_init(&out, SETUP_CONF_MAX);
	buf_init(&again, SETUP_CONF_MAX);
	ck_assert_int_eq(setup_merge(cases[_i].old, cases[_i].header,
	    cases[_i].section, &out), 0);
	ck_assert_msg(strcmp(buf_cstr(&out), cases[_i].want) == 0,
	    "%s:\n--- got\n%s--- want\n%s", cases[_i].what, buf_cstr(&out),
	    cases[_i].want);
	ck_assert_int_eq(setup_merge(buf_cstr(&out), cases[_i].header,
	    cases[_i].section, &again), 0);
	ck_assert_msg(strcmp(buf_cstr(&again), buf_cstr(&out)) == 0,
	    "%s: not idempotent:\n%s", cases[_i].what, buf_cstr(&again));
	buf_free(&out);
	buf_free(&again);
}
END_TEST

START_TEST(route_names)
{
	char n[64];

	setup_route_name("Example.TEST", n, sizeof(n));
	ck_assert_str_eq(n, "example-test");
	setup_route_name("a_b.c-d9", n, sizeof(n));
	ck_assert_str_eq(n, "a-b-c-d9");
	setup_route_name("longdomain.example", n, 5);
	ck_assert_str_eq(n, "long");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("setup");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, merge_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, route_names);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
