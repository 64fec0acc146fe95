/*
 * check_addr.c - the address-list parser against golden/addr.txt, and
 * the envelope address checks.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"

#include "ck_run.h"

static int
join(void *arg, const char *a)
{
	struct buf *b = arg;

	if (b->len > 0)
		buf_putc(b, '|');
	return buf_puts(b, a);
}

START_TEST(golden_lists)
{
	char *line = NULL, *in = NULL;
	size_t cap = 0;
	ssize_t n;
	int cases = 0;
	FILE *fp = fopen(GOLDEN_DIR "/addr.txt", "r");

	ck_assert_ptr_nonnull(fp);
	while ((n = getline(&line, &cap, fp)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (strncmp(line, "IN: ", 4) == 0) {
			free(in);
			in = strdup(line + 4);
		} else if (strncmp(line, "OUT:", 4) == 0) {
			const char *want = line[4] == ' ' ? line + 5 : "";
			struct buf got;
			struct err e;
			enum rq_status st;

			buf_init(&got, 4096);
			st = addr_parse_list(in, strlen(in), join, &got, &e);
			if (strcmp(want, "ERR") == 0)
				ck_assert_msg(st == RQ_DATAERR,
				    "%s: accepted as \"%s\"", in, buf_cstr(&got));
			else {
				ck_assert_msg(st == RQ_OK, "%s: %s", in, e.msg);
				ck_assert_msg(strcmp(buf_cstr(&got), want) == 0,
				    "%s: got \"%s\", want \"%s\"", in,
				    buf_cstr(&got), want);
			}
			buf_free(&got);
			cases++;
		}
	}
	free(line);
	free(in);
	fclose(fp);
	ck_assert_int_ge(cases, 20);
}
END_TEST

static const struct {
	const char *addr;
	int ok;
} checks[] = {
	{ "user@example.com", 1 },
	{ "\"john doe\"@example.com", 1 },
	{ "ü@exämple.test", 1 },
	{ "a@b\r\nRCPT TO:<evil@x>", 0 },
	{ "a@b\n", 0 },
	{ "a b@c", 0 },
	{ "a<b@c", 0 },
	{ "a@b>", 0 },
	{ "\"unbalanced@x", 0 },
	{ "tab\there@x", 0 },
	{ "del\x7f@x", 0 },
	/* fuzz_addr: an escaped control byte in a quoted local part */
	{ "\"a\\\nb\"@x", 0 },
	{ "\"a\\\r\nRCPT TO:<evil@x>\"@b", 0 },
	{ "\"a\\\x7f\"@x", 0 },
	{ "\"a\\\"b\"@x", 1 },
};

START_TEST(envelope_checks)
{
	struct err e;
	enum rq_status st = addr_check(checks[_i].addr, "test", &e);

	ck_assert_msg((st == RQ_OK) == checks[_i].ok, "case %d", _i);
}
END_TEST

START_TEST(too_long)
{
	char a[ADDR_MAX + 10];
	struct err e;

	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	ck_assert_int_eq(addr_check(a, "x", &e), RQ_DATAERR);
}
END_TEST

START_TEST(qualify)
{
	char *q = addr_qualify("root", "example.com");

	ck_assert_str_eq(q, "root@example.com");
	free(q);
	q = addr_qualify("a@b", "example.com");
	ck_assert_str_eq(q, "a@b");
	free(q);
	ck_assert_int_eq(addr_is_utf8("ü@x"), 1);
	ck_assert_int_eq(addr_is_utf8("u@x"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, golden_lists);
	tcase_add_loop_test(tc, envelope_checks, 0,
	    sizeof(checks) / sizeof(checks[0]));
	tcase_add_test(tc, too_long);
	tcase_add_test(tc, qualify);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
