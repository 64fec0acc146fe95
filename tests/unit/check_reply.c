/*
 * check_reply.c - the SMTP reply parser and what builds on it: reply
 * grammar (good and malformed replies, one table), the bounds on line
 * length, line count and size, one-line summaries and EHLO capabilities
 * (one table). The AUTH helpers are in check_auth.c, the TLS pins in
 * check_tls.c.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "reply.h"

#include "ck_run.h"

#define MAXL 6

struct reply_case {
	const char *lines[MAXL];	/* NULL-terminated */
	size_t len0;			/* lines[0]'s length if NULs */
	enum reply_state want;
	int code;
	const char *esc;
	size_t nlines;
};

static const struct reply_case reply_cases[] = {
	/* well-formed */
	{ { "250 OK" }, 0, REPLY_DONE, 250, "", 1 },
	{ { "250" }, 0, REPLY_DONE, 250, "", 1 },
	{ { "220 mx.example ESMTP" }, 0, REPLY_DONE, 220, "", 1 },
	{ { "250-", "250 " }, 0, REPLY_DONE, 250, "", 2 },
	{ { "250-mx greets", "250-PIPELINING", "250 SIZE 100" }, 0,
	  REPLY_DONE, 250, "", 3 },
	{ { "250-mx", "250" }, 0, REPLY_DONE, 250, "", 2 },
	{ { "451 4.3.0 try later" }, 0, REPLY_DONE, 451, "4.3.0", 1 },
	{ { "550 5.1.1" }, 0, REPLY_DONE, 550, "5.1.1", 1 },
	{ { "250 2.0.0 Ok: queued" }, 0, REPLY_DONE, 250, "2.0.0", 1 },
	{ { "550-5.7.1 no", "550 5.7.1 really" }, 0, REPLY_DONE, 550,
	  "5.7.1", 2 },
	{ { "554 5.123.456 x" }, 0, REPLY_DONE, 554, "5.123.456", 1 },
	{ { "354 go ahead" }, 0, REPLY_DONE, 354, "", 1 },
	{ { "334 " }, 0, REPLY_DONE, 334, "", 1 },
	{ { "559 x" }, 0, REPLY_DONE, 559, "", 1 },
	{ { "250 h\xc3\xa9llo" }, 0, REPLY_DONE, 250, "", 1 },
	/* enhanced codes that are not captured */
	{ { "550 4.1.1 class differs" }, 0, REPLY_DONE, 550, "", 1 },
	{ { "550 5.1.1x" }, 0, REPLY_DONE, 550, "", 1 },
	{ { "250 2.1234.0 x" }, 0, REPLY_DONE, 250, "", 1 },
	{ { "250 2.0 x" }, 0, REPLY_DONE, 250, "", 1 },
	{ { "250 2..0 x" }, 0, REPLY_DONE, 250, "", 1 },
	/* incomplete */
	{ { "220-a" }, 0, REPLY_MORE, 220, "", 1 },
	{ { "250-a", "250-b" }, 0, REPLY_MORE, 250, "", 2 },
	/* malformed: never success */
	{ { "2500" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "25" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "250OK" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "600 no" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "199 no" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "100 no" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "260 no" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "25a no" }, 0, REPLY_BAD, 0, "", 0 },
	{ { " 250 no" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "+OK" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "250\t" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "250_x" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "250 a\0b" }, 7, REPLY_BAD, 0, "", 0 },
	{ { "2\0" "0 a" }, 5, REPLY_BAD, 0, "", 0 },
	{ { "250 a\rb" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "250 a\nb" }, 0, REPLY_BAD, 0, "", 0 },
	{ { "250-a", "251 b" }, 0, REPLY_BAD, 250, "", 1 },
	{ { "250-a", "550 b" }, 0, REPLY_BAD, 250, "", 1 },
	{ { "250-a", "2500" }, 0, REPLY_BAD, 250, "", 1 },
	{ { "250 a", "250 b" }, 0, REPLY_BAD, 250, "", 1 },
	{ { "250 a", "250-b" }, 0, REPLY_BAD, 250, "", 1 },
};

#define NREPLY (sizeof(reply_cases) / sizeof(reply_cases[0]))

START_TEST(test_reply_grammar)
{
	const struct reply_case *c = &reply_cases[_i];
	struct reply r;
	enum reply_state st = REPLY_MORE;
	size_t i, len;

	reply_init(&r);
	for (i = 0; i < MAXL && c->lines[i] != NULL; i++) {
		len = (i == 0 && c->len0 != 0) ? c->len0 : strlen(c->lines[i]);
		st = reply_feed(&r, c->lines[i], len);
	}
	ck_assert_msg(st == c->want, "case %d: state %d, want %d", _i, st,
	    c->want);
	if (st == REPLY_BAD)
		ck_assert_ptr_nonnull(r.why);
	if (c->code != 0)
		ck_assert_int_eq(r.code, c->code);
	ck_assert_str_eq(r.esc, c->esc);
	ck_assert_uint_eq(r.nlines, c->nlines);
	/* reset makes the parser usable again */
	reply_reset(&r);
	ck_assert_int_eq(reply_feed(&r, "250 ok", 6), REPLY_DONE);
	reply_free(&r);
}
END_TEST

/* A line of n bytes: "250" + sep + filler. */
static char *
long_line(size_t n, char sep)
{
	char *p = malloc(n + 1);

	ck_assert_ptr_nonnull(p);
	memset(p, 'x', n);
	memcpy(p, "250", 3);
	p[3] = sep;
	p[n] = '\0';
	return p;
}

START_TEST(test_reply_bounds)
{
	struct reply r;
	char *p;
	size_t i;

	reply_init(&r);
	p = long_line(REPLY_LINE_MAX, ' ');
	ck_assert_int_eq(reply_feed(&r, p, REPLY_LINE_MAX), REPLY_DONE);
	free(p);
	reply_reset(&r);
	p = long_line(REPLY_LINE_MAX + 1, ' ');
	ck_assert_int_eq(reply_feed(&r, p, REPLY_LINE_MAX + 1), REPLY_BAD);
	free(p);
	/* REPLY_LINES_MAX lines are fine, one more is not */
	reply_reset(&r);
	for (i = 0; i + 1 < REPLY_LINES_MAX; i++)
		ck_assert_int_eq(reply_feed(&r, "250-x", 5), REPLY_MORE);
	ck_assert_int_eq(reply_feed(&r, "250 x", 5), REPLY_DONE);
	reply_reset(&r);
	for (i = 0; i < REPLY_LINES_MAX; i++)
		ck_assert_int_eq(reply_feed(&r, "250-x", 5), REPLY_MORE);
	ck_assert_int_eq(reply_feed(&r, "250 x", 5), REPLY_BAD);
	/* total size: long lines run into REPLY_SIZE_MAX first */
	reply_reset(&r);
	p = long_line(REPLY_LINE_MAX, '-');
	for (i = 0; i < REPLY_LINES_MAX; i++)
		if (reply_feed(&r, p, REPLY_LINE_MAX) != REPLY_MORE)
			break;
	ck_assert_int_eq(r.state, REPLY_BAD);
	ck_assert_uint_le(r.text.len, REPLY_SIZE_MAX);
	ck_assert_uint_lt(i, REPLY_SIZE_MAX / REPLY_LINE_MAX + 2);
	free(p);
	reply_free(&r);
}
END_TEST

static void
feed_all(struct reply *r, const char *const *lines)
{
	size_t i;

	reply_reset(r);
	for (i = 0; lines[i] != NULL; i++)
		reply_feed(r, lines[i], strlen(lines[i]));
}

START_TEST(test_reply_summary)
{
	static const char *const multi[] = { "550-5.1.1 The account",
	    "550-5.1.1 does not", "550 5.1.1 exist", NULL };
	static const char *const odd[] = { "250 h\x01\x7f\xc3\xa9.", NULL };
	static const char *const bare[] = { "250", NULL };
	struct reply r;
	char s[64], tiny[10];
	const char *l;
	size_t len;

	reply_init(&r);
	feed_all(&r, multi);
	ck_assert_str_eq(reply_summary(&r, s, sizeof(s)),
	    "550 5.1.1 The account does not exist");
	ck_assert_str_eq(reply_summary(&r, tiny, sizeof(tiny)), "550 5....");
	l = reply_line(&r, 1, &len);
	ck_assert(l != NULL && len == 14 && memcmp(l, "5.1.1 does not",
	    14) == 0);
	ck_assert_ptr_null(reply_line(&r, 3, &len));
	feed_all(&r, odd);
	ck_assert_str_eq(reply_summary(&r, s, sizeof(s)), "250 h????.");
	feed_all(&r, bare);
	ck_assert_str_eq(reply_summary(&r, s, sizeof(s)), "250");
	l = reply_line(&r, 0, &len);
	ck_assert(l != NULL && len == 0);
	reply_free(&r);
}
END_TEST

#define B(m)	(1u << (m))

struct caps_case {
	const char *lines[MAXL + 4];
	struct reply_caps want;
};

static const struct caps_case caps_cases[] = {
	{ { "250-mx.example greets you", "250-PIPELINING",
	    "250-SIZE 10240000", "250-8BITMIME", "250-SMTPUTF8", "250-DSN",
	    "250-STARTTLS", "250-ENHANCEDSTATUSCODES",
	    "250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2", NULL },
	  { 1, 1, 10240000, 1, 1, 1, 1, 1,
	    B(AUTH_PLAIN) | B(AUTH_LOGIN) | B(AUTH_CRAM_MD5) |
	    B(AUTH_XOAUTH2) } },
	{ { "250-mx", "250-AUTH=LOGIN", "250 auth plain", NULL },
	  { 0, 0, 0, 0, 0, 0, 0, 0, B(AUTH_PLAIN) | B(AUTH_LOGIN) } },
	{ { "250-mx", "250 AUTH  PLAIN   GSSAPI  LOGIN ", NULL },
	  { 0, 0, 0, 0, 0, 0, 0, 0, B(AUTH_PLAIN) | B(AUTH_LOGIN) } },
	{ { "250-mx", "250-SIZE", "250 pipelining", NULL },
	  { 1, 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-mx", "250 SIZE abc", NULL }, { 0, 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-mx", "250 SIZE 0", NULL }, { 0, 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-mx", "250 SIZE 99999999999999999999999", NULL },
	  { 0, 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-mx", "250 SIZE -5", NULL }, { 0, 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-mx", "250 starttls", NULL }, { 0, 0, 0, 0, 0, 0, 1, 0, 0 } },
	/* the greeting line carries no capabilities */
	{ { "250 mx PIPELINING STARTTLS", NULL },
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-STARTTLS", "250 mx", NULL }, { 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	/* lookalikes */
	{ { "250-mx", "250-PIPELININGX", "250-XSTARTTLS", "250-AUTHPLAIN",
	    "250 X-AUTH PLAIN", NULL }, { 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ { "250-mx", "250 AUTH GSSAPI DIGEST-MD5 PLAINX", NULL },
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
};

#define NCAPS (sizeof(caps_cases) / sizeof(caps_cases[0]))

START_TEST(test_caps)
{
	const struct caps_case *c = &caps_cases[_i];
	struct reply r;
	struct reply_caps got;

	reply_init(&r);
	feed_all(&r, c->lines);
	ck_assert_int_eq(r.state, REPLY_DONE);
	reply_parse_caps(&r, &got);
	ck_assert_int_eq(got.pipelining, c->want.pipelining);
	ck_assert_int_eq(got.size, c->want.size);
	ck_assert_int_eq((long long)got.size_max, (long long)c->want.size_max);
	ck_assert_int_eq(got.eightbitmime, c->want.eightbitmime);
	ck_assert_int_eq(got.smtputf8, c->want.smtputf8);
	ck_assert_int_eq(got.dsn, c->want.dsn);
	ck_assert_int_eq(got.starttls, c->want.starttls);
	ck_assert_int_eq(got.enhancedstatuscodes,
	    c->want.enhancedstatuscodes);
	ck_assert_uint_eq(got.auth, c->want.auth);
	reply_free(&r);
}
END_TEST

static Suite *
reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc;

	tc = tcase_create("grammar");
	tcase_add_loop_test(tc, test_reply_grammar, 0, (int)NREPLY);
	tcase_add_test(tc, test_reply_bounds);
	tcase_add_test(tc, test_reply_summary);
	suite_add_tcase(s, tc);
	tc = tcase_create("caps");
	tcase_add_loop_test(tc, test_caps, 0, (int)NCAPS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ck_run(reply_suite());
}
