/*
 * msghead.c - read and search a stored message's header block (see
 * msghead.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "header.h"
#include "msghead.h"

/*
 * Most header blocks fit in one read of this size; a longer one takes a
 * few more. Small on purpose: the runner's memory must not depend on the
 * size of the message, and a larger chunk would pull body bytes of a big
 * message into raw for nothing.
 */
#define READ_CHUNK	4096

/*
 * The header block's length in raw (with its last LF), or -1 when its end
 * is not there yet. from: what an earlier call already searched.
 */
static ssize_t
head_length(const struct buf *raw, size_t from)
{
	const char *p;

	if (raw->len > 0 && raw->data[0] == '\n')
		return 0;
	if (from > 0)
		from--;		/* the "\n\n" may straddle two reads */
	if (raw->len <= from || (p = memmem(raw->data + from,
	    raw->len - from, "\n\n", 2)) == NULL)
		return -1;
	return p - raw->data + 1;
}

enum rq_status
msghead_read(int fd, off_t off, off_t len, struct buf *raw, size_t *hlen,
    struct err *e)
{
	char chunk[READ_CHUNK];
	ssize_t n, hl = -1;
	off_t got = 0;
	size_t seen = 0;

	buf_reset(raw);
	while (got < len && raw->len < MSGHEAD_MAX &&
	    (hl = head_length(raw, seen)) == -1) {
		seen = raw->len;
		n = pread(fd, chunk, len - got < READ_CHUNK ?
		    (size_t)(len - got) : READ_CHUNK, off + got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? err_set(e, RQ_TEMP, "message file "
			    "shorter than recorded") : err_sys(e, RQ_TEMP,
			    "reading the message header");
		if (buf_append(raw, chunk, (size_t)n) == -1)
			return err_sys(e, RQ_INTERNAL, "reading the message "
			    "header");
		got += n;
	}
	if (hl == -1 && (hl = head_length(raw, seen)) == -1 && got == len)
		hl = (ssize_t)raw->len;		/* no body: all header */
	if (hl == -1 || hl > MSGHEAD_MAX)
		return err_set(e, RQ_PERM, "header longer than %d bytes",
		    MSGHEAD_MAX);
	*hlen = (size_t)hl;
	return RQ_OK;
}

size_t
msghead_field_end(const char *text, size_t len, size_t p)
{
	const char *nl;

	for (;;) {
		nl = memchr(text + p, '\n', len - p);
		p = nl != NULL ? (size_t)(nl - text) + 1 : len;
		if (p >= len || !header_is_continuation(text + p, len - p))
			return p;
	}
}

int
msghead_value(const char *text, size_t len, const char *name,
    struct buf *out)
{
	const char *v;
	size_t p, next, i;

	buf_reset(out);
	for (p = 0; p < len; p = next) {
		next = msghead_field_end(text, len, p);
		if (!header_is(text + p, next - p, name))
			continue;
		v = (const char *)memchr(text + p, ':', next - p) + 1;
		for (i = (size_t)(v - text); i < next; i++)
			if (text[i] != '\n' && text[i] != '\r' &&
			    buf_putc(out, text[i]) == -1)
				return -1;
		for (i = 0; i < out->len && (out->data[i] == ' ' ||
		    out->data[i] == '\t'); i++)
			;
		buf_consume(out, i);
		while (out->len > 0 && (out->data[out->len - 1] == ' ' ||
		    out->data[out->len - 1] == '\t'))
			out->data[--out->len] = '\0';
		return 0;
	}
	return -1;
}
