/*
 * check_policy.c - the priority a message's header asks for: X-Priority,
 * Priority and Importance, the highest of them, else normal (3).
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "policy.h"

#include "ck_run.h"

static const struct {
	const char *head;
	int priority;
} cases[] = {
	{ "Subject: x\n", 3 },
	{ "", 3 },
	{ "X-Priority: 1\n", 5 },
	{ "X-Priority: 1 (Highest)\n", 5 },
	{ "X-Priority: 2 (High)\n", 4 },
	{ "X-Priority: 3\n", 3 },
	{ "X-Priority: 5 (Lowest)\n", 1 },
	{ "X-Priority: 12\n", 3 },
	{ "X-Priority: high\n", 3 },
	{ "x-priority:   2\n", 4 },
	{ "Priority: urgent\n", 5 },
	{ "Priority: Non-Urgent\n", 1 },
	{ "Priority: normal\n", 3 },
	{ "Importance: high\n", 5 },
	{ "Importance: HIGH\n", 5 },
	{ "Importance: low\n", 1 },
	{ "Importance:\n high\n", 5 },	/* folded */
	{ "X-Priority: 5\nImportance: high\n", 5 },	/* the highest */
	{ "Subject: X-Priority: 1\n", 3 },
};

START_TEST(priority)
{
	ck_assert_int_eq(policy_message_priority(cases[_i].head,
	    strlen(cases[_i].head)), cases[_i].priority);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, priority, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
