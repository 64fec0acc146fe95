/*
 * check_smtpdata.c - the DATA encoder (smtp_data_encode/finish): golden
 * cases for line ends, NUL bytes, dot-stuffing and every SMTP smuggling
 * sequence, each encoded whole, split at every point and byte by byte;
 * then generated inputs checked against the wire invariants (no bare CR
 * or LF, no early end of data, stuffed dots). Also the state name table.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

#include "ck_run.h"

#define S(x)	x, sizeof(x) - 1

struct enc_case {
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
};

static const struct enc_case enc_cases[] = {
	/* empty and unterminated content */
	{ S(""), S(".\r\n") },
	{ S("a"), S("a\r\n.\r\n") },
	{ S("a\n"), S("a\r\n.\r\n") },
	{ S("a\r\n"), S("a\r\n.\r\n") },
	{ S("a\r"), S("a\r\n.\r\n") },
	/* LF, CRLF, CR and mixtures */
	{ S("a\n\nb\n"), S("a\r\n\r\nb\r\n.\r\n") },
	{ S("l1\r\nl2\nl3\rl4"), S("l1\r\nl2\r\nl3\r\nl4\r\n.\r\n") },
	{ S("\r\r\n"), S("\r\n\r\n.\r\n") },
	{ S("\n\r"), S("\r\n\r\n.\r\n") },
	{ S("x\r\r"), S("x\r\n\r\n.\r\n") },
	{ S("a\r\n\r\nb"), S("a\r\n\r\nb\r\n.\r\n") },
	/* NUL bytes are dropped and do not split a CRLF */
	{ S("\0"), S(".\r\n") },
	{ S("a\0b"), S("ab\r\n.\r\n") },
	{ S("a\r\0\nb"), S("a\r\nb\r\n.\r\n") },
	{ S("\0.\n"), S("..\r\n.\r\n") },
	/* dot-stuffing */
	{ S("."), S("..\r\n.\r\n") },
	{ S(".\n"), S("..\r\n.\r\n") },
	{ S("..\n"), S("...\r\n.\r\n") },
	{ S(".\r\n.\r\n"), S("..\r\n..\r\n.\r\n") },
	{ S(" .a"), S(" .a\r\n.\r\n") },
	{ S("a.\n"), S("a.\r\n.\r\n") },
	{ S(".hidden\nline\n"), S("..hidden\r\nline\r\n.\r\n") },
	/* smuggling sequences: never an early end of data */
	{ S("a\n.\nb\n"), S("a\r\n..\r\nb\r\n.\r\n") },
	{ S("\n.\n"), S("\r\n..\r\n.\r\n") },
	{ S("a\r.\rb"), S("a\r\n..\r\nb\r\n.\r\n") },
	{ S("a\r.\nb"), S("a\r\n..\r\nb\r\n.\r\n") },
	{ S("a\n.\rb"), S("a\r\n..\r\nb\r\n.\r\n") },
	{ S("a\r\n\0.\r\nb"), S("a\r\n..\r\nb\r\n.\r\n") },
	{ S("a\n.\r\n"), S("a\r\n..\r\n.\r\n") },
	{ S("a\r\n.\0\r\nMAIL FROM:<x>\r\n"),
	  S("a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n") },
};

#define NENC (sizeof(enc_cases) / sizeof(enc_cases[0]))

/* Encode in[] in chunks of at most `step` bytes (0: split once at cut). */
static size_t
encode_split(const char *in, size_t n, size_t cut, size_t step, char *out)
{
	struct smtp_data_enc d;
	size_t k = 0, off = 0, len;

	smtp_data_init(&d);
	if (step == 0) {
		k += smtp_data_encode(&d, in, cut, out + k);
		k += smtp_data_encode(&d, in + cut, n - cut, out + k);
	} else {
		for (off = 0; off < n; off += len) {
			len = n - off < step ? n - off : step;
			k += smtp_data_encode(&d, in + off, len, out + k);
		}
	}
	k += smtp_data_finish(&d, out + k);
	return k;
}

static void
check_out(const struct enc_case *c, const char *out, size_t k,
    const char *how)
{
	ck_assert_msg(k == c->outlen && memcmp(out, c->out, k) == 0,
	    "case %zu (%s): wrong output (%zu bytes, want %zu)",
	    (size_t)(c - enc_cases), how, k, c->outlen);
}

START_TEST(test_golden)
{
	const struct enc_case *c = &enc_cases[_i];
	char *out = malloc(SMTP_DATA_OUT(c->inlen) + SMTP_DATA_TAIL);
	size_t cut, k;

	ck_assert_ptr_nonnull(out);
	k = encode_split(c->in, c->inlen, c->inlen, 0, out);
	check_out(c, out, k, "whole");
	for (cut = 0; cut <= c->inlen; cut++) {
		k = encode_split(c->in, c->inlen, cut, 0, out);
		check_out(c, out, k, "split");
	}
	k = encode_split(c->in, c->inlen, 0, 1, out);
	check_out(c, out, k, "bytewise");
	free(out);
}
END_TEST

/* The encoder is reusable: finish resets it for the next message. */
START_TEST(test_reuse)
{
	struct smtp_data_enc d;
	char out[32];
	size_t k;

	smtp_data_init(&d);
	k = smtp_data_encode(&d, "ab", 2, out);
	k += smtp_data_finish(&d, out + k);
	ck_assert_uint_eq(k, 7);
	k = smtp_data_encode(&d, ".", 1, out);
	k += smtp_data_finish(&d, out + k);
	ck_assert_uint_eq(k, 7);
	ck_assert(memcmp(out, "..\r\n.\r\n", 7) == 0);
}
END_TEST

/*
 * The wire invariants: every CR is followed by LF and every LF preceded
 * by CR; the data ends in a line "." that is the only such line; every
 * other line starting with '.' is stuffed ("..").
 */
static void
check_wire(const char *out, size_t k, const char *in, size_t n)
{
	size_t i, start = 0;

	ck_assert(k >= 3 && memcmp(out + k - 3, ".\r\n", 3) == 0);
	ck_assert(k == 3 || (k >= 5 && out[k - 5] == '\r' &&
	    out[k - 4] == '\n'));
	for (i = 0; i < k; i++) {
		ck_assert(out[i] != '\0');
		if (out[i] == '\r')
			ck_assert_msg(i + 1 < k && out[i + 1] == '\n',
			    "bare CR at %zu (input of %zu bytes)", i, n);
		if (out[i] == '\n')
			ck_assert_msg(i > 0 && out[i - 1] == '\r',
			    "bare LF at %zu", i);
		if (out[i] != '\n')
			continue;
		/* the line [start, i - 1) */
		if (i + 1 < k && out[start] == '.')
			ck_assert_msg(i - 1 - start >= 2 &&
			    out[start + 1] == '.', "unstuffed or early dot "
			    "line at %zu (input %.*s)", start, (int)n, in);
		start = i + 1;
	}
}

START_TEST(test_generated)
{
	static const char alpha[] = { '\r', '\n', '.', '\0', 'a' };
	char in[10], out[SMTP_DATA_OUT(10) + SMTP_DATA_TAIL];
	char ref[SMTP_DATA_OUT(10) + SMTP_DATA_TAIL];
	size_t n = (size_t)_i, i, k, r, cut;
	unsigned long code, total = 1;

	for (i = 0; i < n; i++)
		total *= sizeof(alpha);
	/* every input of length n over the alphabet */
	for (code = 0; code < total; code++) {
		unsigned long v = code;

		for (i = 0; i < n; i++, v /= sizeof(alpha))
			in[i] = alpha[v % sizeof(alpha)];
		r = encode_split(in, n, n, 0, ref);
		check_wire(ref, r, in, n);
		for (cut = 0; cut <= n; cut++) {
			k = encode_split(in, n, cut, 0, out);
			ck_assert(k == r && memcmp(out, ref, k) == 0);
		}
	}
}
END_TEST

START_TEST(test_state_names)
{
	int i;

	for (i = 0; smtp_state_name(i) != NULL; i++)
		ck_assert(*smtp_state_name(i) != '\0');
	ck_assert_int_gt(i, 10);
	ck_assert_ptr_null(smtp_state_name(-1));
	ck_assert_str_eq(smtp_state_name(0), "connect");
}
END_TEST

static Suite *
smtpdata_suite(void)
{
	Suite *s = suite_create("smtpdata");
	TCase *tc;

	tc = tcase_create("golden");
	tcase_add_loop_test(tc, test_golden, 0, (int)NENC);
	tcase_add_test(tc, test_reuse);
	suite_add_tcase(s, tc);
	tc = tcase_create("generated");
	tcase_add_loop_test(tc, test_generated, 0, 8);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("states");
	tcase_add_test(tc, test_state_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ck_run(smtpdata_suite());
}
