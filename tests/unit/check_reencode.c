/*
 * check_reencode.c - re-encoding a body with over-long lines in its own
 * file: the result has no line over 998 octets and names its encoding;
 * the message's own bound refuses it as data (65), while a write the
 * kernel refuses (EFBIG of a file size limit, as a failing disk or a
 * fault injector can also report) is a temporary failure (75), never the
 * message's fault.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "reencode.h"

#include "ck_run.h"

#define HEAD	"From: a@example.org\nSubject: long\n\n"

/* A file holding HEAD and a body of one line of n octets; *len, *body. */
static int
long_line_file(size_t n, off_t *len, off_t *body)
{
	FILE *f = tmpfile();
	size_t i;

	ck_assert_ptr_nonnull(f);
	fputs(HEAD, f);
	for (i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), f);
	fputc('\n', f);
	ck_assert_int_eq(fflush(f), 0);
	*body = (off_t)strlen(HEAD);
	*len = *body + (off_t)n + 1;
	return dup(fileno(f));	/* tmpfile's file lives while fd is open */
}

START_TEST(reencoded)
{
	struct err e = { 0 };
	off_t len, body, newlen;
	int fd = long_line_file(5000, &len, &body);
	char *p;

	ck_assert_int_eq(reencode_body(fd, 0, len, body, 1, 0, &newlen, &e),
	    RQ_OK);
	p = calloc(1, (size_t)newlen + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pread(fd, p, (size_t)newlen, 0), newlen);
	ck_lines_within("re-encoded", p, (size_t)newlen, 998);
	ck_assert_ptr_nonnull(strstr(p, "Content-Transfer-Encoding: "));
	ck_assert_ptr_nonnull(strstr(p, "MIME-Version: 1.0\n"));
	free(p);
	close(fd);
}
END_TEST

START_TEST(own_bound_is_data)
{
	struct err e = { 0 };
	off_t len, body, newlen;
	int fd = long_line_file(5000, &len, &body);

	ck_assert_int_eq(reencode_body(fd, 0, len, body, 1, len + 100,
	    &newlen, &e), RQ_DATAERR);
	ck_assert_ptr_nonnull(strstr(e.msg, "bound"));
	close(fd);
}
END_TEST

START_TEST(kernel_efbig_is_temporary)
{
	struct err e = { 0 };
	struct rlimit rl;
	off_t len, body, newlen;
	int fd = long_line_file(200000, &len, &body);

	/* Check runs each test in its own process: the limit ends with it. */
	ck_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	rl.rlim_cur = rl.rlim_max = (rlim_t)len + 4096;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_eq(reencode_body(fd, 0, len, body, 1, 0, &newlen, &e),
	    RQ_TEMP);
	ck_assert_ptr_null(strstr(e.msg, "bound"));	/* not the message's */
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reencode");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, reencoded);
	tcase_add_test(tc, own_bound_is_data);
	tcase_add_test(tc, kernel_efbig_is_temporary);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
