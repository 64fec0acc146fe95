/*
 * check_authpause.c - a route whose credentials are refused: the pause
 * schedule (none after the first refusal, 5 minutes after the second,
 * doubling to the cap) on a fake clock, and the state file: kept across
 * runs, forgotten after a good AUTH or when the credentials change.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authpause.h"

#include "ck_run.h"

static const struct {
	unsigned fails;
	time_t pause;
} schedule[] = {
	{ 0, 0 }, { 1, 0 }, { 2, 300 }, { 3, 600 }, { 4, 1200 },
	{ 5, 2400 }, { 6, 4800 }, { 7, 9600 }, { 8, 19200 },
	{ 9, AUTHPAUSE_MAX }, { 10, AUTHPAUSE_MAX }, { 1000, AUTHPAUSE_MAX },
};

START_TEST(interval)
{
	ck_assert_int_eq(authpause_interval(schedule[_i].fails),
	    schedule[_i].pause);
}
END_TEST

/* Refusals at a fake clock: until moves with each one. */
START_TEST(refusals)
{
	struct authpause p;
	time_t now = 1000000;

	memset(&p, 0, sizeof(p));
	authpause_refused(&p, now, "alice", "535 5.7.8 bad");
	ck_assert_uint_eq(p.fails, 1);
	ck_assert_int_eq(p.until, 0);		/* one typo: no pause */
	now += 60;
	authpause_refused(&p, now, "alice", "535 5.7.8 bad");
	ck_assert_int_eq(p.until, now + 300);
	now += 300;
	authpause_refused(&p, now, "alice", "535 5.7.8 still bad");
	ck_assert_int_eq(p.until, now + 600);
	ck_assert_str_eq(p.user, "alice");
	ck_assert_str_eq(p.reply, "535 5.7.8 still bad");
}
END_TEST

struct fixture {
	char dir[64], conf[96];
	int statefd;
	struct cfg c;
};

static void
fixture_make(struct fixture *f)
{
	FILE *fp;

	strcpy(f->dir, "/tmp/check_authpause.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->conf, sizeof(f->conf), "%s/relayq.conf", f->dir);
	ck_assert_ptr_nonnull(fp = fopen(f->conf, "w"));
	fclose(fp);
	ck_assert_int_ne(f->statefd = open(f->dir, O_RDONLY | O_DIRECTORY),
	    -1);
	memset(&f->c, 0, sizeof(f->c));
	f->c.path = f->conf;
	f->c.smarthost.name = (char *)"default";
	f->c.smarthost.host = (char *)"mx.example";
	f->c.smarthost.user = (char *)"alice";
	f->c.smarthost.password = (char *)"x";
}

static void
fixture_free(struct fixture *f)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/authpause.default", f->dir);
	unlink(path);
	unlink(f->conf);
	close(f->statefd);
	rmdir(f->dir);
}

START_TEST(state_file)
{
	struct fixture f;
	struct authpause p;
	const struct cfg_smarthost *sh;
	char why[512];
	time_t now = 2000000;

	fixture_make(&f);
	sh = &f.c.smarthost;
	ck_assert_int_eq(authpause_check(f.statefd, &f.c, sh, now, why,
	    sizeof(why)), 0);
	authpause_opened(f.statefd, &f.c, sh, now, 0, 1, "535 5.7.8 no");
	ck_assert_int_eq(authpause_check(f.statefd, &f.c, sh, now, why,
	    sizeof(why)), 0);
	authpause_opened(f.statefd, &f.c, sh, now + 60, 0, 1, "535 5.7.8 no");
	ck_assert_int_eq(authpause_check(f.statefd, &f.c, sh, now + 61, why,
	    sizeof(why)), 1);
	ck_assert_ptr_nonnull(strstr(why, "route default paused until"));
	ck_assert_ptr_nonnull(strstr(why, "user alice (last: 535 5.7.8 no)"));
	/* the pause ends by itself */
	ck_assert_int_eq(authpause_paused(f.statefd, &f.c, sh, now + 360, &p),
	    0);
	ck_assert_uint_eq(p.fails, 2);
	/* a failure that is no refusal (network) does not count */
	authpause_opened(f.statefd, &f.c, sh, now + 400, 0, 0, "timeout");
	(void)authpause_paused(f.statefd, &f.c, sh, now + 400, &p);
	ck_assert_uint_eq(p.fails, 2);
	/* a good AUTH forgets */
	authpause_opened(f.statefd, &f.c, sh, now + 500, 1, 0, NULL);
	(void)authpause_paused(f.statefd, &f.c, sh, now + 500, &p);
	ck_assert_uint_eq(p.fails, 0);
	fixture_free(&f);
}
END_TEST

/* Another user name (or a changed file) forgets the refusals. */
START_TEST(credentials_changed)
{
	struct fixture f;
	struct authpause p;
	time_t now = 3000000;

	fixture_make(&f);
	authpause_opened(f.statefd, &f.c, &f.c.smarthost, now, 0, 1, "535");
	authpause_opened(f.statefd, &f.c, &f.c.smarthost, now, 0, 1, "535");
	ck_assert_int_eq(authpause_paused(f.statefd, &f.c, &f.c.smarthost,
	    now + 1, &p), 1);
	f.c.smarthost.user = (char *)"bob";
	ck_assert_int_eq(authpause_paused(f.statefd, &f.c, &f.c.smarthost,
	    now + 1, &p), 0);
	f.c.smarthost.user = (char *)"alice";
	ck_assert_int_eq(authpause_paused(f.statefd, &f.c, &f.c.smarthost,
	    now + 1, &p), 0);		/* gone for good */
	fixture_free(&f);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("authpause");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, interval, 0,
	    sizeof(schedule) / sizeof(schedule[0]));
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, state_file);
	tcase_add_test(tc, credentials_changed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ck_run(suite());
}
