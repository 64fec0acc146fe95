/*
 * fuzz_reply.c - libFuzzer target for the SMTP reply parser and the EHLO
 * capability parser.
 *
 * The first byte picks the size of the summary buffer; the rest is what
 * a server sent, cut at each LF (a CR before it is removed, as the
 * connection does; any other CR or NUL stays in the line). Each complete
 * reply is summarised, walked line by line and read as an EHLO reply.
 * Invariants: the code is 200..559, the bounds of reply.h hold, a
 * summary is NUL-terminated within its buffer and printable, and a BAD
 * state always has a reason.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_done(const struct reply *r, size_t sumsize)
{
	struct reply_caps caps;
	char *sum;
	size_t i, len, total = 0;

	if (r->code < 200 || r->code > 559 || r->nlines == 0 ||
	    r->nlines > REPLY_LINES_MAX || r->text.len > REPLY_SIZE_MAX ||
	    strlen(r->esc) >= REPLY_ESC_MAX)
		abort();
	for (i = 0; i < r->nlines; i++) {
		if (reply_line(r, i, &len) == NULL || len > REPLY_LINE_MAX)
			abort();
		total += len;
	}
	if (reply_line(r, r->nlines, &len) != NULL ||
	    total + r->nlines - 1 != r->text.len)
		abort();
	if ((sum = malloc(sumsize)) == NULL)
		return;
	reply_summary(r, sum, sumsize);
	if (sumsize > 0) {
		len = strnlen(sum, sumsize);
		if (len >= sumsize)
			abort();
		for (i = 0; i < len; i++)
			if ((unsigned char)sum[i] < 0x20 ||
			    (unsigned char)sum[i] >= 0x7f)
				abort();
	}
	free(sum);
	reply_parse_caps(r, &caps);
	if (caps.size_max < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 5, 16, 64, 512 };
	const char *p, *end, *lf;
	struct reply r;
	enum reply_state st;
	size_t sumsize, len;

	if (size == 0)
		return 0;
	sumsize = sizes[data[0] % (sizeof(sizes) / sizeof(sizes[0]))];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	reply_init(&r);
	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		len = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		st = reply_feed(&r, p, len);
		if (st == REPLY_DONE) {
			check_done(&r, sumsize);
			reply_reset(&r);
		} else if (st == REPLY_BAD) {
			if (r.why == NULL)
				abort();
			reply_reset(&r);
		}
		p = lf != NULL ? lf + 1 : end;
	}
	reply_free(&r);
	return 0;
}
