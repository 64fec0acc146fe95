/* check_buf.c - the bounded buffer: limits hold, contents stay intact. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#include "ck_run.h"

START_TEST(append_within_max)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_puts(&b, "world"), 0);
	ck_assert_str_eq(buf_cstr(&b), "helloworld");
	errno = 0;
	ck_assert_int_eq(buf_putc(&b, '!'), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_str_eq(buf_cstr(&b), "helloworld");	/* unchanged */
	buf_free(&b);
}
END_TEST

START_TEST(printf_and_consume)
{
	struct buf b;
	char *s;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(buf_cstr(&b), "42-x");
	buf_consume(&b, 3);
	ck_assert_str_eq(buf_cstr(&b), "x");
	ck_assert_int_eq(buf_printf(&b, "%0200d", 1), -1);
	ck_assert_str_eq(buf_cstr(&b), "x");
	s = buf_steal(&b);
	ck_assert_str_eq(s, "x");
	ck_assert_str_eq(buf_cstr(&b), "");
	free(s);
}
END_TEST

START_TEST(grows_large)
{
	struct buf b;
	char chunk[1000];
	int i;

	memset(chunk, 'a', sizeof(chunk));
	buf_init(&b, 1000000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 1000000);
	ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), -1);
	buf_wipe(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

/* array_grow: contents kept; reallocations only at powers of two. */
START_TEST(array_grows_by_doubling)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 5, 63, 64, 65, 1000, 100000 };
	size_t i, k, n, moves;
	int *v, *w;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		v = NULL;
		moves = 0;
		for (n = 0; n < sizes[k]; n++) {
			w = array_grow(v, n, sizeof(*v));
			ck_assert_ptr_nonnull(w);
			if (n != 0 && (n & (n - 1)) != 0)
				ck_assert_ptr_eq(w, v);	/* room was left */
			else
				moves++;
			v = w;
			v[n] = (int)n;
		}
		for (i = 0; i < sizes[k]; i++)
			ck_assert_int_eq(v[i], (int)i);
		/* about log2(n) + 1 reallocations, never one per element */
		ck_assert_uint_le(moves, 18);
		free(v);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, append_within_max);
	tcase_add_test(tc, printf_and_consume);
	tcase_add_test(tc, grows_large);
	tcase_add_test(tc, array_grows_by_doubling);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
