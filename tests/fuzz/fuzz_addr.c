/*
 * fuzz_addr.c - libFuzzer target for the address-list parser.
 *
 * The input is an address list (a To/Cc/Bcc value or a command-line
 * argument): every address addr_parse_list() reports must be non-empty,
 * go through addr_check() and addr_qualify() without a fault, and a
 * checked address must hold no control character. The same bytes, cut at
 * the first NUL, also go to addr_check() directly.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
one(void *arg, const char *a)
{
	struct err e;
	size_t *n = arg;
	char *q;

	if (*a == '\0')
		abort();	/* empty addresses are never reported */
	if (addr_check(a, "recipient", &e) == RQ_OK) {
		for (const char *p = a; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (strlen(a) > ADDR_MAX)
			abort();
	}
	if ((q = addr_qualify(a, "example.test")) == NULL)
		abort();
	if (strchr(q, '@') == NULL)
		abort();
	(void)addr_is_utf8(q);
	free(q);
	return ++*n > 100000;	/* a non-zero return stops the parse */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	size_t n = 0;
	char *s;

	(void)addr_parse_list((const char *)data, size, one, &n, &e);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)addr_check(s, "sender", &e);
	free(s);
	return 0;
}
