/*
 * linereader.c - lines from a file descriptor in one fixed buffer (the
 * contract is in linereader.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "linereader.h"

void
lr_init(struct linereader *r, int fd, void (*before_read)(void *),
    void *arg)
{
	r->fd = fd;
	r->start = r->end = 0;
	r->eof = 0;
	r->rerrno = 0;
	r->before_read = before_read;
	r->arg = arg;
}

/* A piece: all that is buffered (at the end of input or a full buffer). */
static int
lr_piece(struct linereader *r, const char **p, size_t *len, int *nl)
{
	char *s = r->buf + r->start;

	if (r->end == r->start)
		return 0;
	*p = s;
	*len = r->end - r->start;
	/* Keep a trailing CR: its LF may come next. */
	if (!r->eof && *len > 1 && s[*len - 1] == '\r')
		(*len)--;
	*nl = 0;
	r->start += *len;
	return 1;
}

int
lr_next(struct linereader *r, const char **p, size_t *len, int *nl)
{
	char *s, *lf;
	ssize_t n;

	for (;;) {
		s = r->buf + r->start;
		if ((lf = memchr(s, '\n', r->end - r->start)) != NULL) {
			*p = s;
			*len = (size_t)(lf - s);
			while (*len > 0 && s[*len - 1] == '\r')
				(*len)--;
			*nl = 1;
			r->start = (size_t)(lf - r->buf) + 1;
			return 1;
		}
		if (r->eof || (r->start == 0 && r->end == sizeof(r->buf)))
			return lr_piece(r, p, len, nl);
		if (r->start > 0) {
			memmove(r->buf, s, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->before_read != NULL)
			r->before_read(r->arg);
		n = read(r->fd, r->buf + r->end, sizeof(r->buf) - r->end);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r->rerrno = errno;
			return -1;
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}
