/*
 * check_logline.c - the delivery log lines: given an outcome, the exact
 * line (Postfix's shape, as pflogsumm reads it); delays split from the
 * times of an attempt; Postfix's number precision; the DSN code; the
 * syslog-like prefix of a log file line.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "logline.h"

#include "ck_run.h"

static const struct {
	struct logline_rcpt in;
	const char *line;
} lines[] = {
	{ { "6B15EA59790CBF5A", "bob@example.org", "mx.example[192.0.2.1]:587",
	    "sent", "250 2.0.0 OK queued as 0001", 1.24, 0.5, 0, 0.7, 0.05 },
	  "6B15EA59790CBF5A: to=<bob@example.org>, "
	  "relay=mx.example[192.0.2.1]:587, delay=1.2, delays=0.5/0/0.7/0.05, "
	  "dsn=2.0.0, status=sent (250 2.0.0 OK queued as 0001)" },
	{ { "AB", "a@b", "h[::1]:25", "deferred",
	    "h[::1]:25 said after RCPT TO: 451 4.3.0 try later", 125, 0, 120,
	    3.3, 1.7 },
	  "AB: to=<a@b>, relay=h[::1]:25, delay=125, delays=0/120/3.3/1.7, "
	  "dsn=4.3.0, status=deferred (h[::1]:25 said after RCPT TO: 451 "
	  "4.3.0 try later)" },
	{ { "AB", "a@b", NULL, "deferred", "connect to h: Connection refused",
	    0.004, 0.001, 0, 0.003, 0 },
	  "AB: to=<a@b>, relay=none, delay=0, delays=0/0/0/0, dsn=4.0.0, "
	  "status=deferred (connect to h: Connection refused)" },
	{ { "AB", "x@y", "h[10.0.0.1]:465", "bounced",
	    "550 5.1.1 <x@y>: user unknown", 0.52, 0.11, 0.02, 0.3, 0.09 },
	  "AB: to=<x@y>, relay=h[10.0.0.1]:465, delay=0.52, "
	  "delays=0.11/0.02/0.3/0.09, dsn=5.1.1, status=bounced (550 5.1.1 "
	  "<x@y>: user unknown)" },
	{ { "AB", "x@y", "", "bounced", "550 no such user", 10, 10, 0, 0, 0 },
	  "AB: to=<x@y>, relay=none, delay=10, delays=10/0/0/0, dsn=5.0.0, "
	  "status=bounced (550 no such user)" },
};

START_TEST(rcpt_line)
{
	char out[1024];

	logline_rcpt_fmt(out, sizeof(out), &lines[_i].in);
	ck_assert_str_eq(out, lines[_i].line);
}
END_TEST

static const struct {
	double v;
	const char *s;
} secs[] = {
	{ 0, "0" }, { 0.004, "0" }, { 0.01, "0.01" }, { 0.5, "0.5" },
	{ 0.523, "0.52" }, { 1, "1" }, { 5.24, "5.2" }, { 9.94, "9.9" },
	{ 10, "10" }, { 115.4, "115" }, { 86400.2, "86400" },
};

START_TEST(precision)
{
	char out[32];

	ck_assert_str_eq(logline_secs(secs[_i].v, out, sizeof(out)),
	    secs[_i].s);
}
END_TEST

static const struct {
	const char *reply, *status, *dsn;
} dsns[] = {
	{ "250 2.0.0 Ok: queued", "sent", "2.0.0" },
	{ "250 Ok", "sent", "2.0.0" },
	{ "h[1]:2 said after AUTH: 535 5.7.8 bad", "deferred", "5.7.8" },
	{ "421 4.4.2 timeout", "deferred", "4.4.2" },
	{ "version 12.0.0", "deferred", "4.0.0" },
	{ "550 5.1.10 no", "bounced", "5.1.10" },
	{ "", "bounced", "5.0.0" },
	{ NULL, "deferred", "4.0.0" },
};

START_TEST(dsn_code)
{
	char out[16];

	ck_assert_str_eq(logline_dsn(dsns[_i].reply, dsns[_i].status, out,
	    sizeof(out)), dsns[_i].dsn);
}
END_TEST

/* The parts add up to the total; a is known on the first attempt only. */
START_TEST(delays)
{
	struct logline_times t = { 1000, 1, 1002.5, 0.75, 1004.0, 1004.5 };
	struct logline_rcpt l;

	memset(&l, 0, sizeof(l));
	logline_delays(&l, &t);
	ck_assert(l.a > 2.49 && l.a < 2.51);
	ck_assert(l.b > 0.74 && l.b < 0.76);	/* 1003.25 - 1002.5 */
	ck_assert(l.c > 0.74 && l.c < 0.76);
	ck_assert(l.d > 0.49 && l.d < 0.51);
	ck_assert(l.delay > 4.49 && l.delay < 4.51);
	t.first = 0;			/* a retry: all waiting is b */
	logline_delays(&l, &t);
	ck_assert(l.a == 0);
	ck_assert(l.b > 3.24 && l.b < 3.26);
	ck_assert(l.delay > 4.49 && l.delay < 4.51);
	t.end = t.xfer - 5;		/* a clock stepped back: never < 0 */
	logline_delays(&l, &t);
	ck_assert(l.d == 0);
}
END_TEST

/* syslog's shape, in English, whatever the day's width. */
START_TEST(prefix)
{
	char out[128];

	setenv("TZ", "UTC", 1);
	tzset();
	log_prefix(out, sizeof(out), 1796598301, "vm", "relayq/smtp", 42);
	ck_assert_str_eq(out, "Dec  6 23:05:01 vm relayq/smtp[42]: ");
	log_prefix(out, sizeof(out), 1767225599, "h", "relayq", 7);
	ck_assert_str_eq(out, "Dec 31 23:59:59 h relayq[7]: ");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("logline");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, rcpt_line, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_loop_test(tc, precision, 0, sizeof(secs) / sizeof(secs[0]));
	tcase_add_loop_test(tc, dsn_code, 0, sizeof(dsns) / sizeof(dsns[0]));
	tcase_add_test(tc, delays);
	tcase_add_test(tc, prefix);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ck_run(suite());
}
