/*
 * check_auth.c - the pure AUTH helpers of auth.c that turn server text
 * and configuration into bytes: mechanism choice (one table), PLAIN,
 * LOGIN, CRAM-MD5 with RFC 2195's example, XOAUTH2, and base64 both ways
 * (one table). The exchange over a connection is in check_smtp.c.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"

#include "ck_run.h"

#define B(m)	(1u << (m))

struct choose_case {
	enum auth_mech want;
	unsigned offered;
	enum auth_mech got;
};

static const struct choose_case choose_cases[] = {
	{ AUTH_AUTO, B(AUTH_PLAIN) | B(AUTH_LOGIN) | B(AUTH_CRAM_MD5),
	  AUTH_CRAM_MD5 },
	{ AUTH_AUTO, B(AUTH_PLAIN) | B(AUTH_LOGIN), AUTH_PLAIN },
	{ AUTH_AUTO, B(AUTH_LOGIN), AUTH_LOGIN },
	{ AUTH_AUTO, B(AUTH_XOAUTH2), AUTH_NONE },
	{ AUTH_AUTO, 0, AUTH_NONE },
	{ AUTH_XOAUTH2, B(AUTH_XOAUTH2) | B(AUTH_PLAIN), AUTH_XOAUTH2 },
	{ AUTH_LOGIN, B(AUTH_PLAIN) | B(AUTH_LOGIN), AUTH_LOGIN },
	{ AUTH_PLAIN, B(AUTH_LOGIN), AUTH_NONE },
	{ AUTH_NONE, B(AUTH_PLAIN), AUTH_NONE },
};

#define NCHOOSE (sizeof(choose_cases) / sizeof(choose_cases[0]))

START_TEST(test_auth_choose)
{
	const struct choose_case *c = &choose_cases[_i];

	ck_assert_int_eq(auth_choose(c->want, c->offered), c->got);
}
END_TEST

START_TEST(test_auth_lines)
{
	struct auth a;
	struct buf out;

	buf_init(&out, AUTH_LINE_MAX);
	auth_init(&a, AUTH_PLAIN, "user", "pass");
	ck_assert_int_eq(auth_begin(&a, &out, NULL), RQ_OK);
	ck_assert_str_eq(buf_cstr(&out), "AUTH PLAIN AHVzZXIAcGFzcw==");
	ck_assert_int_eq(auth_next(&a, "", 0, &out, NULL), RQ_TEMP);

	auth_init(&a, AUTH_LOGIN, "user", "pass");
	ck_assert_int_eq(auth_begin(&a, &out, NULL), RQ_OK);
	ck_assert_str_eq(buf_cstr(&out), "AUTH LOGIN");
	ck_assert_int_eq(auth_next(&a, "VXNlcm5hbWU6", 12, &out, NULL), RQ_OK);
	ck_assert_str_eq(buf_cstr(&out), "dXNlcg==");
	ck_assert_int_eq(auth_next(&a, "UGFzc3dvcmQ6", 12, &out, NULL), RQ_OK);
	ck_assert_str_eq(buf_cstr(&out), "cGFzcw==");
	ck_assert_int_eq(auth_next(&a, "", 0, &out, NULL), RQ_TEMP);

	/* RFC 2195's example */
	auth_init(&a, AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf");
	ck_assert_int_eq(auth_begin(&a, &out, NULL), RQ_OK);
	ck_assert_str_eq(buf_cstr(&out), "AUTH CRAM-MD5");
	ck_assert_int_eq(auth_next(&a, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2Uu"
	    "cmVzdG9uLm1jaS5uZXQ+", 56, &out, NULL), RQ_OK);
	ck_assert_str_eq(buf_cstr(&out),
	    "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	auth_init(&a, AUTH_CRAM_MD5, "tim", "x");
	ck_assert_int_eq(auth_next(&a, "not*base64", 10, &out, NULL), RQ_TEMP);

	auth_init(&a, AUTH_XOAUTH2, "u@x", "tok");
	ck_assert_int_eq(auth_begin(&a, &out, NULL), RQ_OK);
	/* base64("user=u@x\1auth=Bearer tok\1\1") */
	ck_assert_str_eq(buf_cstr(&out),
	    "AUTH XOAUTH2 dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE=");
	ck_assert_int_eq(auth_next(&a, "e30=", 4, &out, NULL), RQ_OK);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(auth_next(&a, "", 0, &out, NULL), RQ_TEMP);
	buf_wipe(&out);
}
END_TEST

struct b64_case {
	const char *in;
	int ok;
	const char *out;
};

static const struct b64_case b64_cases[] = {
	{ "", 1, "" },
	{ "YQ==", 1, "a" },
	{ "YWI=", 1, "ab" },
	{ "YWJj", 1, "abc" },
	{ "YWJjZA==", 1, "abcd" },
	{ "YWJ", 0, NULL },
	{ "Y===", 0, NULL },
	{ "YW=j", 0, NULL },
	{ "YW J", 0, NULL },
	{ "YWJ!", 0, NULL },
};

#define NB64 (sizeof(b64_cases) / sizeof(b64_cases[0]))

START_TEST(test_b64)
{
	const struct b64_case *c = &b64_cases[_i];
	struct buf out, back;
	int rc;

	buf_init(&out, 1024);
	buf_init(&back, 1024);
	rc = auth_b64_decode(c->in, strlen(c->in), &out);
	ck_assert_int_eq(rc, c->ok ? 0 : -1);
	if (c->ok) {
		ck_assert_str_eq(buf_cstr(&out), c->out);
		ck_assert_int_eq(b64_encode(out.data != NULL ? out.data :
		    "", out.len, &back), 0);
		ck_assert_str_eq(buf_cstr(&back), c->in);
	}
	buf_free(&out);
	buf_free(&back);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_auth_choose, 0, (int)NCHOOSE);
	tcase_add_test(tc, test_auth_lines);
	tcase_add_loop_test(tc, test_b64, 0, (int)NB64);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
