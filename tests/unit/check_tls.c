/*
 * check_tls.c - tls_parse_fingerprint(), the certificate pin of a route
 * (tls_fingerprint): the spellings accepted (hex with or without colons,
 * an optional sha256: prefix) and the ones refused, one table.
 */
#include "config.h"

#include <check.h>

#include "tls.h"

#include "ck_run.h"

struct fp_case {
	const char *in;
	int ok;
};

#define HEX64 "00112233445566778899AABBCCDDEEFF" \
	"00112233445566778899aabbccddeeff"
#define COLONS "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:" \
	"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"

static const struct fp_case fp_cases[] = {
	{ HEX64, 1 },
	{ COLONS, 1 },
	{ "sha256:" HEX64, 1 },
	{ "SHA256:" COLONS, 1 },
	{ "", 0 },
	{ "sha256:", 0 },
	{ HEX64 "00", 0 },
	{ HEX64 ":", 0 },
	{ "0" HEX64, 0 },
	{ "sha1:" HEX64, 0 },
	{ ":" HEX64, 0 },
	{ "0:0112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeef",
	  0 },
	{ "G0112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
	  0 },
};

#define NFP (sizeof(fp_cases) / sizeof(fp_cases[0]))

START_TEST(test_fingerprint)
{
	const struct fp_case *c = &fp_cases[_i];
	unsigned char md[TLS_FP_LEN];

	ck_assert_int_eq(tls_parse_fingerprint(c->in, md), c->ok ? 0 : -1);
	if (c->ok) {
		ck_assert_uint_eq(md[0], 0x00);
		ck_assert_uint_eq(md[10], 0xaa);
		ck_assert_uint_eq(md[31], 0xff);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("pin");

	tcase_add_loop_test(tc, test_fingerprint, 0, (int)NFP);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
