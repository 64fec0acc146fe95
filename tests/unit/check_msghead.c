/*
 * check_msghead.c - reading a stored message's header block: its end is
 * found wherever it falls against the reads (it is read in small pieces,
 * so that a big message costs no more memory than a small one), an empty
 * header, no body, a header too long to inspect, a short file.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msghead.h"

#include "ck_run.h"

static const struct {
	size_t head;		/* header bytes, its last LF included */
	size_t body;		/* body bytes after the empty line; -1: none */
	off_t skip;		/* bytes before the message in the file */
	enum rq_status st;
} cases[] = {
	{ 12, 100, 0, RQ_OK },
	{ 4095, 10, 0, RQ_OK },		/* "\n\n" at the end of the first */
	{ 4096, 10, 0, RQ_OK },		/* "\n\n" across two reads */
	{ 4094, 10, 0, RQ_OK },
	{ 4098, 5000000, 0, RQ_OK },	/* a big body is not read */
	{ 8191, 10, 7, RQ_OK },		/* at an offset in the file */
	{ 100000, 10, 0, RQ_OK },
	{ 0, 300, 0, RQ_OK },		/* an empty header block */
	{ 5000, (size_t)-1, 0, RQ_OK },	/* no body: all header */
	{ MSGHEAD_MAX + 10, 10, 0, RQ_PERM },
};

/* fd of a file: skip bytes, a header of n bytes of fields, body. */
static int
message_file(size_t n, size_t body, off_t skip)
{
	FILE *f = tmpfile();
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < (size_t)skip; i++)
		fputc('#', f);
	for (i = 0; i < n; i++)		/* "X: aaa...\n" lines of 64 */
		fputc(i + 1 == n || i % 64 == 63 ? '\n' : i % 64 == 0 ? 'X' :
		    i % 64 == 1 ? ':' : 'a', f);
	if (body != (size_t)-1) {
		fputc('\n', f);
		for (i = 0; i < body; i++)
			fputc(i % 70 == 69 ? '\n' : 'b', f);
	}
	ck_assert_int_eq(fflush(f), 0);
	return dup(fileno(f));	/* tmpfile's file lives while fd is open */
}

START_TEST(read_head)
{
	struct buf raw;
	struct err e = { 0 };
	size_t hl = 0, body = cases[_i].body;
	off_t len = (off_t)cases[_i].head + (body == (size_t)-1 ? 0 :
	    (off_t)body + 1);
	int fd = message_file(cases[_i].head, body, cases[_i].skip);

	buf_init(&raw, 2 * MSGHEAD_MAX);
	ck_assert_int_eq(msghead_read(fd, cases[_i].skip, len, &raw, &hl, &e),
	    cases[_i].st);
	if (cases[_i].st == RQ_OK) {
		ck_assert_uint_eq(hl, cases[_i].head);
		ck_assert(hl == 0 || raw.data[hl - 1] == '\n');
		ck_assert_uint_le(raw.len, hl + 4096);	/* no body read */
	}
	buf_free(&raw);
	close(fd);
}
END_TEST

START_TEST(short_file)
{
	struct buf raw;
	struct err e = { 0 };
	size_t hl;
	int fd = message_file(5000, (size_t)-1, 0);

	buf_init(&raw, 2 * MSGHEAD_MAX);
	ck_assert_int_eq(msghead_read(fd, 0, 9000, &raw, &hl, &e), RQ_TEMP);
	ck_assert_ptr_nonnull(strstr(e.msg, "shorter than recorded"));
	buf_free(&raw);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("msghead");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, read_head, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, short_file);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
