/*
 * check_tmpsweep.c - the PID at the end of a tmp/ name, which decides
 * whether a queue run may remove the file: only digits, no leading zero,
 * within pid_t, after a non-empty stem; anything else names no writer
 * (the file is left alone).
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "tmpsweep.h"

#include "ck_run.h"

static const struct {
	const char *name;
	long pid;	/* -1: no PID */
	size_t stem;	/* the part before ".PID" */
} names[] = {
	{ "6B161C4372E961CA.env.4242", 4242, 20 },
	{ "6B161C4372E961CA.pickup.7", 7, 23 },
	{ "6B161C4372E961CA.reap.31337", 31337, 21 },
	{ "usage.2147483647", 2147483647L, 5 },
	{ "usage.2147483648", -1, 0 },		/* beyond pid_t */
	{ "usage.99999999999999999999", -1, 0 },
	{ "6B161C4372E961CA.env.0", -1, 0 },	/* no process 0 */
	{ "6B161C4372E961CA.env.042", -1, 0 },	/* leading zero */
	{ "6B161C4372E961CA.env.-42", -1, 0 },
	{ "6B161C4372E961CA.env.+42", -1, 0 },
	{ "6B161C4372E961CA.env.42x", -1, 0 },
	{ "6B161C4372E961CA.env. 42", -1, 0 },
	{ "6B161C4372E961CA.env.", -1, 0 },
	{ "6B161C4372E961CA.env", -1, 0 },
	{ ".4242", -1, 0 },			/* no stem */
	{ "4242", -1, 0 },
	{ "notes", -1, 0 },
	{ "", -1, 0 },
};

START_TEST(pid_of_name)
{
	size_t stem = 0;
	long pid = tmpsweep_pid(names[_i].name, &stem);

	ck_assert_msg(pid == names[_i].pid, "%s: pid %ld, want %ld",
	    names[_i].name, pid, names[_i].pid);
	if (pid != -1)
		ck_assert_msg(stem == names[_i].stem, "%s: stem %zu, want %zu",
		    names[_i].name, stem, names[_i].stem);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tmpsweep");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, pid_of_name, 0,
	    sizeof(names) / sizeof(names[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
