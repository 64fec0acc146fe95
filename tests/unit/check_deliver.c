/*
 * check_deliver.c - the queue selection of selective runs
 * (sendmail -qI/-qR/-qS, mailq's same options): deliver_filter_match()
 * on one envelope, one table. Case-insensitive throughout: queue ids
 * and senders by substring, domains at the end of a pending recipient's
 * domain; the values of one kind are ORed, the kinds ANDed. And
 * deliver_sessions(): how many sessions a pass opens for a route with
 * so many due messages and `connections`.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "deliver.h"
#include "env.h"
#include "spool.h"

#include "ck_run.h"

static struct env_rcpt rc[] = {
	{ "a@Mail.Example.COM", RCPT_PENDING, NULL },
	{ "b@other.test", RCPT_DONE, NULL },
};

static const struct {
	const char *ids[2], *domains[2], *senders[2];
	int match;
} sel[] = {
	{ { NULL }, { NULL }, { NULL }, 1 },
	{ { "c3d4" }, { NULL }, { NULL }, 1 },		/* case-insensitive */
	{ { "FFFF" }, { NULL }, { NULL }, 0 },
	{ { "FFFF", "A1B2" }, { NULL }, { NULL }, 1 },	/* ORed */
	{ { NULL }, { "example.com" }, { NULL }, 1 },
	{ { NULL }, { "@mail.example.com" }, { NULL }, 1 },
	{ { NULL }, { "EXAMPLE" }, { NULL }, 0 },	/* end of domain */
	{ { NULL }, { "other.test" }, { NULL }, 0 },	/* delivered already */
	{ { NULL }, { NULL }, { "WWW-data" }, 1 },
	{ { NULL }, { NULL }, { "root" }, 0 },
	{ { "A1" }, { "example.com" }, { "root" }, 0 },	/* kinds ANDed */
	{ { "A1" }, { "example.com" }, { "www" }, 1 },
};

static void
fill(const char *const *src, const char **dst, size_t *n)
{
	for (*n = 0; *n < 2 && src[*n] != NULL; (*n)++)
		dst[*n] = src[*n];
}

START_TEST(queue_selection)
{
	struct deliver_filter f;
	struct env env;

	memset(&f, 0, sizeof(f));
	fill(sel[_i].ids, f.ids, &f.nids);
	fill(sel[_i].domains, f.domains, &f.ndomains);
	fill(sel[_i].senders, f.senders, &f.nsenders);
	memset(&env, 0, sizeof(env));
	strcpy(env.id, "65A1B2C3D4E5F607");
	env.sender = (char *)"www-data@example.test";
	env.rcpts = rc;
	env.nrcpt = 2;
	ck_assert_int_eq(deliver_filter_match(&f, env.id, &env), sel[_i].match);
	ck_assert_int_eq(deliver_filter_match(NULL, env.id, &env), 1);
}
END_TEST

static const struct {
	size_t due;
	unsigned connections, sessions;
} sess[] = {
	{ 0, 2, 1 }, { 5, 3, 1 }, { 99, 20, 1 },	/* short: one */
	{ 100, 3, 1 }, { 199, 3, 1 }, { 200, 3, 2 },	/* one per 100 */
	{ 300, 3, 3 }, { 100000, 3, 3 },		/* at most N */
	{ 100000, 1, 1 }, { 300, 1, 1 },		/* 1: as before */
	{ 2000, 20, 20 }, { 5000, 20, 20 },
};

START_TEST(sessions_per_route)
{
	ck_assert_uint_eq(deliver_sessions(sess[_i].due, sess[_i].connections),
	    sess[_i].sessions);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc = tcase_create("filter");

	tcase_add_loop_test(tc, queue_selection, 0, sizeof(sel) / sizeof(sel[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("sessions");
	tcase_add_loop_test(tc, sessions_per_route, 0,
	    sizeof(sess) / sizeof(sess[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
