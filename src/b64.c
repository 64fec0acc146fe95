/*
 * b64.c - base64 encoding (see b64.h), apart from auth.c: the header and
 * body encoders of submission use it too, and the submission program is
 * linked without OpenSSL (Makefile.am), which the rest of auth.c needs.
 */
#include "config.h"

#include <errno.h>

#include "b64.h"

static const char b64_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
b64_encode(const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	unsigned long v;
	char q[4];
	size_t i;

	if (n > (B64_TEXT_MAX / 4) * 3) {
		errno = EMSGSIZE;
		return -1;
	}
	for (i = 0; i < n; i += 3) {
		v = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64_digits[(v >> 18) & 63];
		q[1] = b64_digits[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64_digits[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64_digits[v & 63] : '=';
		if (buf_append(out, q, sizeof(q)) == -1)
			return -1;
	}
	return 0;
}
