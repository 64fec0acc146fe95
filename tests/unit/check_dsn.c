/*
 * check_dsn.c - DSN requests: sendmail's -N/-R/-V values are accepted or
 * refused as sendmail does, and xtext encodes exactly what RFC 3461 says.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "dsn.h"

#include "ck_run.h"

static const struct {
	const char *in;
	int ok;
	unsigned bits;
	const char *canon;
} notify[] = {
	{ "never", 1, DSN_NOTIFY_NEVER, "NEVER" },
	{ "NEVER", 1, DSN_NOTIFY_NEVER, "NEVER" },
	{ "success,failure,delay", 1, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE |
	    DSN_NOTIFY_DELAY, "SUCCESS,FAILURE,DELAY" },
	{ "delay,Failure", 1, DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
	    "FAILURE,DELAY" },
	{ "failure,failure", 1, DSN_NOTIFY_FAILURE, "FAILURE" },
	{ "", 0, 0, NULL },
	{ "never,success", 0, 0, NULL },
	{ "success,", 0, 0, NULL },
	{ ",success", 0, 0, NULL },
	{ "success failure", 0, 0, NULL },
	{ "fail", 0, 0, NULL },
	{ "failures", 0, 0, NULL },
};

START_TEST(notify_values)
{
	unsigned bits = 0x100;
	char canon[64];

	ck_assert_int_eq(dsn_notify_parse(notify[_i].in, &bits) == 0,
	    notify[_i].ok);
	if (!notify[_i].ok) {
		ck_assert_uint_eq(bits, 0x100);	/* untouched */
		return;
	}
	ck_assert_uint_eq(bits, notify[_i].bits);
	dsn_notify_str(bits, canon, sizeof(canon));
	ck_assert_str_eq(canon, notify[_i].canon);
}
END_TEST

START_TEST(ret_values)
{
	enum dsn_ret r = DSN_RET_UNSET;

	ck_assert_int_eq(dsn_ret_parse("full", &r), 0);
	ck_assert_int_eq(r, DSN_RET_FULL);
	ck_assert_int_eq(dsn_ret_parse("HDRS", &r), 0);
	ck_assert_int_eq(r, DSN_RET_HDRS);
	ck_assert_str_eq(dsn_ret_name(r), "HDRS");
	ck_assert_int_eq(dsn_ret_parse("headers", &r), -1);
	ck_assert_int_eq(dsn_ret_parse("", &r), -1);
	ck_assert_str_eq(dsn_ret_name(DSN_RET_UNSET), "");
}
END_TEST

static const struct {
	const char *in, *xtext;
} xt[] = {
	{ "abc-123", "abc-123" },
	{ "a+b=c", "a+2Bb+3Dc" },
	{ "two words", "two+20words" },
	{ "\x01\x7f\xc3\xa9", "+01+7F+C3+A9" },
	{ "", "" },
};

START_TEST(xtext_encoding)
{
	char out[64];
	size_t n;

	n = dsn_xtext(xt[_i].in, out, sizeof(out));
	ck_assert_str_eq(out, xt[_i].xtext);
	ck_assert_uint_eq(n, strlen(xt[_i].xtext));
	/* Too small: the length is still right, the output cut and ended. */
	ck_assert_uint_eq(dsn_xtext(xt[_i].in, out, 3), n);
	ck_assert_uint_le(strlen(out), 2);
	ck_assert_uint_eq(dsn_xtext(xt[_i].in, NULL, 0), n);
}
END_TEST

static const struct {
	const char *arg;
	int ok;
	const char *stored;
} envid[] = {
	{ "QQ314159", 1, "QQ314159" },
	{ "a+2Bb", 1, "a+b" },		/* valid xtext: decoded (sendmail) */
	{ "a+b", 1, "a+b" },		/* not xtext: literal */
	{ "x=y", 1, "x=y" },
	{ "with space", 1, "with space" },
	{ "a+00", 1, "a+00" },		/* decodes to NUL: taken literally */
	{ "", 0, NULL },
	{ "tab\there", 0, NULL },
	{ "caf\xc3\xa9", 0, NULL },
	{ "+0A", 1, "+0A" },
};

START_TEST(envid_values)
{
	char out[DSN_ENVID_MAX + 1];

	ck_assert_int_eq(dsn_envid_parse(envid[_i].arg, out) == 0,
	    envid[_i].ok);
	if (envid[_i].ok)
		ck_assert_str_eq(out, envid[_i].stored);
}
END_TEST

START_TEST(envid_length)
{
	char arg[DSN_ENVID_MAX + 2], out[DSN_ENVID_MAX + 1];

	memset(arg, 'x', DSN_ENVID_MAX);
	arg[DSN_ENVID_MAX] = '\0';
	ck_assert_int_eq(dsn_envid_parse(arg, out), 0);
	arg[DSN_ENVID_MAX] = 'x';
	arg[DSN_ENVID_MAX + 1] = '\0';
	ck_assert_int_eq(dsn_envid_parse(arg, out), -1);
	/* '=' takes three characters once encoded. */
	memset(arg, 'x', DSN_ENVID_MAX);
	arg[97] = '=';
	arg[98] = '\0';
	ck_assert_int_eq(dsn_envid_parse(arg, out), 0);	/* 97 + 3 */
	arg[98] = '=';
	arg[99] = '\0';
	ck_assert_int_eq(dsn_envid_parse(arg, out), -1);	/* 97 + 3 + 3 */
}
END_TEST

START_TEST(failure_wanted)
{
	struct dsn_req d;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(dsn_req_any(&d), 0);
	ck_assert_int_eq(dsn_wants_failure(&d), 1);	/* default */
	d.notify = DSN_NOTIFY_NEVER;
	ck_assert_int_eq(dsn_wants_failure(&d), 0);
	d.notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY;
	ck_assert_int_eq(dsn_wants_failure(&d), 0);
	d.notify = DSN_NOTIFY_FAILURE;
	ck_assert_int_eq(dsn_wants_failure(&d), 1);
	ck_assert_int_eq(dsn_req_any(&d), 1);
	memset(&d, 0, sizeof(d));
	strcpy(d.envid, "x");
	ck_assert_int_eq(dsn_req_any(&d), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, notify_values, 0,
	    sizeof(notify) / sizeof(notify[0]));
	tcase_add_test(tc, ret_values);
	tcase_add_loop_test(tc, xtext_encoding, 0, sizeof(xt) / sizeof(xt[0]));
	tcase_add_loop_test(tc, envid_values, 0,
	    sizeof(envid) / sizeof(envid[0]));
	tcase_add_test(tc, envid_length);
	tcase_add_test(tc, failure_wanted);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
