/*
 * check_qaccess.c - who may list the queue: [local] mailq_users as read
 * from a file, matched against a user and its groups (qaccess.h). Uses
 * the accounts every system has: root (uid 0, group 0).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "cfg.h"
#include "qaccess.h"

#include "ck_run.h"

#define NOUID	((uid_t)54321)	/* no account has it in the test */
#define NOGID	((gid_t)54321)

static const struct {
	const char *value;	/* mailq_users = ..., NULL: not set */
	uid_t uid;
	gid_t gid;		/* the user's one group */
	int allowed;
} cases[] = {
	{ NULL, NOUID, NOGID, 1 },
	{ "anyone", NOUID, NOGID, 1 },
	{ "root", 0, NOGID, 1 },
	{ "root", NOUID, NOGID, 0 },
	{ "root", NOUID, 0, 0 },		/* a user name is no group */
	{ "@root", NOUID, 0, 1 },		/* member of group root */
	{ "@root", 0, NOGID, 0 },		/* a group name is no user */
	{ "@root", NOUID, NOGID, 0 },
	{ "root, @root", NOUID, 0, 1 },
	{ "nosuchuser-xq, @nosuchgroup-xq", NOUID, NOGID, 0 },
	{ "nosuchuser-xq @root", NOUID, 0, 1 },
	{ "nosuchuser-xq;root", 0, NOGID, 1 },
};

static char path[64];

/* Load text as a configuration file (path keeps its name). */
static void
load(struct cfg *c, const char *text)
{
	struct err e;
	FILE *fp;
	int fd;

	strlcpy(path, "/tmp/check_qaccess.XXXXXX", sizeof(path));
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fputs(text, fp);
	fclose(fp);
	ck_assert_msg(cfg_load(c, path, 1, &e) == RQ_OK, "%s", e.msg);
	unlink(path);
}

START_TEST(allows)
{
	char text[256] = "";
	gid_t gids[2];
	struct cfg c;

	if (cases[_i].value != NULL)
		snprintf(text, sizeof(text), "[local]\nmailq_users = %s\n",
		    cases[_i].value);
	load(&c, text);
	ck_assert_int_eq(c.mailq_users.line, cases[_i].value != NULL ? 2 : 0);
	gids[0] = cases[_i].gid;
	gids[1] = cases[_i].gid;
	ck_assert_msg(qaccess_allows(&c.mailq_users, cases[_i].uid, gids, 2) ==
	    cases[_i].allowed, "mailq_users = %s, uid %lu, gid %lu",
	    cases[_i].value ? cases[_i].value : "(unset)",
	    (unsigned long)cases[_i].uid, (unsigned long)cases[_i].gid);
	cfg_free(&c);
}
END_TEST

/* The caller's own check: root always; the refusal names key and place. */
START_TEST(check_caller)
{
	struct cfg c;
	struct err e;

	load(&c, "[queue]\ndir = /nonexistent/spool\n[local]\n"
	    "mailq_users = nosuchuser-xq\n");
	if (getuid() == 0)
		ck_assert_int_eq(qaccess_check(&c, &e), RQ_OK);
	else {
		char want[256];

		ck_assert_int_eq(qaccess_check(&c, &e), RQ_NOPERM);
		snprintf(want, sizeof(want), "[local] mailq_users (%s:4), "
		    "which does not admit ", path);
		ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	}
	cfg_free(&c);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("qaccess");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, allows, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, check_caller);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ck_run(suite());
}
