/*
 * fuzz_smtpdata.c - libFuzzer target for the DATA encoder (SMTP
 * smuggling defence).
 *
 * The first two bytes seed the split of the rest into chunks; each chunk
 * is encoded into a buffer of exactly SMTP_DATA_OUT(n) bytes and the end
 * into exactly SMTP_DATA_TAIL (so ASan sees any overrun). Invariants on
 * the whole output: only CRLF line ends, no NUL, "\r\n.\r\n" (or ".\r\n"
 * for an empty message) only as the final terminator, every line that
 * starts with '.' stuffed, and equal to a simple reference encoding and
 * to the encoding in one piece (the split never matters).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: drop NULs, split lines at CRLF, CR or LF, stuff dots. */
static size_t
reference(const char *in, size_t n, char *out)
{
	size_t i, k = 0;
	int bol = 1, cr = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\0')
			continue;
		if (in[i] == '\n' && cr) {
			cr = 0;
			continue;
		}
		cr = in[i] == '\r';
		if (in[i] == '\r' || in[i] == '\n') {
			memcpy(out + k, "\r\n", 2);
			k += 2;
			bol = 1;
			continue;
		}
		if (bol && in[i] == '.')
			out[k++] = '.';
		out[k++] = in[i];
		bol = 0;
	}
	if (!bol) {
		memcpy(out + k, "\r\n", 2);
		k += 2;
	}
	memcpy(out + k, ".\r\n", 3);
	return k + 3;
}

static size_t
encode_split(const char *in, size_t n, uint32_t seed, char *out)
{
	struct smtp_data_enc d;
	size_t off = 0, k = 0, chunk, got;
	char *tmp;

	smtp_data_init(&d);
	while (off < n) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		chunk = seed % 8 == 0 ? n - off : 1 + seed % 17;
		if (chunk > n - off)
			chunk = n - off;
		if ((tmp = malloc(SMTP_DATA_OUT(chunk))) == NULL)
			abort();
		got = smtp_data_encode(&d, in + off, chunk, tmp);
		if (got > SMTP_DATA_OUT(chunk))
			abort();
		memcpy(out + k, tmp, got);
		free(tmp);
		k += got;
		off += chunk;
	}
	if ((tmp = malloc(SMTP_DATA_TAIL)) == NULL)
		abort();
	got = smtp_data_finish(&d, tmp);
	if (got > SMTP_DATA_TAIL)
		abort();
	memcpy(out + k, tmp, got);
	free(tmp);
	return k + got;
}

static void
check_wire(const char *w, size_t n)
{
	size_t i;

	if (n < 3 || memcmp(w + n - 3, ".\r\n", 3) != 0 ||
	    (n > 3 && (n < 5 || memcmp(w + n - 5, "\r\n.\r\n", 5) != 0)))
		abort();
	for (i = 0; i < n; i++) {
		if (w[i] == '\0')
			abort();
		if (w[i] == '\r' && (i + 1 == n || w[i + 1] != '\n'))
			abort();
		if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r'))
			abort();
		/* A line before the terminator that starts with '.' must
		 * start with "..": never ".\r\n" early, never unstuffed. */
		if ((i == 0 || w[i - 1] == '\n') && i + 3 < n && w[i] == '.' &&
		    w[i + 1] != '.')
			abort();
	}
	for (i = 0; n > 5 && i + 5 < n; i++)
		if (memcmp(w + i, "\r\n.\r\n", 5) == 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in;
	char *w1, *w2, *ref;
	size_t n, n1, n2, nr;
	uint32_t seed;

	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1] | 0x10000;
	in = (const char *)data + 2;
	n = size - 2;
	w1 = malloc(SMTP_DATA_OUT(n) + SMTP_DATA_TAIL);
	w2 = malloc(SMTP_DATA_OUT(n) + SMTP_DATA_TAIL);
	ref = malloc(SMTP_DATA_OUT(n) + SMTP_DATA_TAIL);
	if (w1 == NULL || w2 == NULL || ref == NULL)
		abort();
	n1 = encode_split(in, n, seed, w1);
	n2 = encode_split(in, n, 0, w2);	/* 0: one piece */
	nr = reference(in, n, ref);
	check_wire(w1, n1);
	if (n1 != nr || memcmp(w1, ref, nr) != 0 || n2 != nr ||
	    memcmp(w2, ref, nr) != 0)
		abort();
	free(w1);
	free(w2);
	free(ref);
	return 0;
}
