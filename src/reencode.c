/*
 * reencode.c - the transport re-encoding of a message body, in place
 * (API in reencode.h).
 *
 * Three passes over the file, each through one 64 KiB buffer: the body
 * is read once to measure both encodings (quoted-printable is run into a
 * counter, base64 is arithmetic), then the header and the body are
 * written after the old message in the shorter encoding, then the new
 * message is moved down over the old one (a leftward copy, so nothing
 * unread is overwritten) and the file truncated. Every write is checked
 * against the bound the caller gives before it is made, so a hostile body
 * cannot make the file grow past it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "header.h"
#include "reencode.h"

/* The re-encoding's buffers (reader, writer, the move): 16 KB each, as
 * the submission's own (linereader.h). */
#define RE_BUF		16384
#define QP_LINE		76	/* RFC 2045 6.7 (5), the '=' included */
#define B64_LINE	76	/* RFC 2045 6.8 */

/* A buffered reader or writer at an offset of one fd; fd -1 counts. */
struct pio {
	int fd;
	off_t off, end;		/* reader: next and end offsets */
	off_t limit;		/* writer: no byte at or past it (0: none) */
	size_t i, n;
	int err;		/* errno of the first failure */
	int over;		/* writer: stopped at limit (err EFBIG) */
	char buf[RE_BUF];
};

static int
pio_getc(struct pio *r)
{
	ssize_t got;
	size_t want;

	if (r->i == r->n) {
		if (r->off >= r->end || r->err)
			return -1;
		want = sizeof(r->buf);
		if ((off_t)want > r->end - r->off)
			want = (size_t)(r->end - r->off);
		if ((got = pread(r->fd, r->buf, want, r->off)) <= 0) {
			r->err = got == 0 ? EIO : errno;
			return -1;
		}
		r->off += got;
		r->i = 0;
		r->n = (size_t)got;
	}
	return (unsigned char)r->buf[r->i++];
}

static void
pio_flush(struct pio *w)
{
	size_t done = 0;
	ssize_t n;

	if (w->limit > 0 && w->off + (off_t)w->n > w->limit && !w->err) {
		w->over = 1;
		w->err = EFBIG;
	}
	while (w->fd != -1 && done < w->n && !w->err) {
		n = pwrite(w->fd, w->buf + done, w->n - done, w->off + done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n == 0 ? EIO : errno;
		else
			done += (size_t)n;
	}
	w->off += (off_t)w->n;
	w->n = 0;
}

static void
pio_put(struct pio *w, const char *p, size_t len)
{
	for (; len > 0; p++, len--) {
		if (w->n == sizeof(w->buf))
			pio_flush(w);
		w->buf[w->n++] = *p;
	}
}

/* ---- quoted-printable (RFC 2045 6.7) ----------------------------------- */

struct qp {
	struct pio *w;
	size_t col;		/* octets on the current encoded line */
	int pend;		/* a space or tab not yet known to end a line */
};

static void
qp_token(struct qp *q, const char *t, size_t n)
{
	if (q->col + n > QP_LINE - 1) {
		pio_put(q->w, "=\n", 2);	/* soft line break */
		q->col = 0;
	}
	pio_put(q->w, t, n);
	q->col += n;
}

static void
qp_hex(struct qp *q, int c)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3] = { '=', hex[(c >> 4) & 15], hex[c & 15] };

	qp_token(q, t, 3);
}

/* Encode one byte of body text; c < 0 ends the body. */
static void
qp_byte(struct qp *q, int c)
{
	char t;

	if (q->pend != -1) {
		if (c == '\n' || c < 0)
			qp_hex(q, q->pend);	/* no white space at line end */
		else {
			t = (char)q->pend;
			qp_token(q, &t, 1);
		}
		q->pend = -1;
	}
	if (c < 0)
		return;
	if (c == '\n') {
		pio_put(q->w, "\n", 1);
		q->col = 0;
	} else if (c == ' ' || c == '\t')
		q->pend = c;
	else if (c >= 33 && c <= 126 && c != '=') {
		t = (char)c;
		qp_token(q, &t, 1);
	} else
		qp_hex(q, c);
}

/* ---- base64 (RFC 2045 6.8): text, so a line end is encoded as CRLF ----- */

struct b64 {
	struct pio *w;
	struct buf line;	/* one encoded line */
	size_t n;		/* octets in in[] */
	unsigned char in[B64_LINE / 4 * 3];
};

static void
b64_line(struct b64 *b)
{
	buf_reset(&b->line);
	if (b64_encode(b->in, b->n, &b->line) == -1 && !b->w->err)
		b->w->err = errno;
	pio_put(b->w, b->line.data, b->line.len);
	pio_put(b->w, "\n", 1);
	b->n = 0;
}

static void
b64_octet(struct b64 *b, int c)
{
	b->in[b->n++] = (unsigned char)c;
	if (b->n == sizeof(b->in))
		b64_line(b);
}

/* One byte of body text; c < 0 ends the body. */
static void
b64_byte(struct b64 *b, int c)
{
	if (c < 0) {
		if (b->n > 0)
			b64_line(b);
		return;
	}
	if (c == '\n')
		b64_octet(b, '\r');
	b64_octet(b, c);
}

/* ---- the passes -------------------------------------------------------- */

/*
 * Would quoted-printable more than double the body r holds? Then base64
 * is used: only a body with about half its bytes 8-bit gets there, and
 * for that base64 is at most about 2.1 times the body (4/3, with 2 for a
 * line end); quoted-printable up to 2: the result never passes 2.1.
 */
static int
prefer_base64(struct pio *r, struct pio *count)
{
	struct qp q = { count, 0, -1 };
	off_t octets = 0;
	int c;

	while ((c = pio_getc(r)) != -1) {
		qp_byte(&q, c);
		octets++;
	}
	qp_byte(&q, -1);
	pio_flush(count);
	return count->off > 2 * octets;
}

/*
 * Copy the header section (r up to the blank line) to w without its
 * Content-Transfer-Encoding field, and add the MIME fields needed.
 */
static void
copy_header(struct pio *r, struct pio *w, int add_mime, const char *cte)
{
	char pre[64];
	size_t n;
	int c = 0, drop = 0;

	while (c != -1) {
		for (n = 0; n < sizeof(pre) && (c = pio_getc(r)) != -1;) {
			pre[n++] = (char)c;
			if (c == '\n')
				break;
		}
		if (n == 1 && pre[0] == '\n')
			break;			/* the separator */
		if (!header_is_continuation(pre, n))
			drop = header_is(pre, n, "Content-Transfer-Encoding");
		if (!drop)
			pio_put(w, pre, n);
		while (n > 0 && pre[n - 1] != '\n' && (c = pio_getc(r)) != -1) {
			pre[0] = (char)c;
			if (!drop)
				pio_put(w, pre, 1);
			if (c == '\n')
				break;
		}
	}
	if (add_mime)
		pio_put(w, "MIME-Version: 1.0\n", 18);
	pio_put(w, "Content-Transfer-Encoding: ", 27);
	pio_put(w, cte, strlen(cte));
	pio_put(w, "\n\n", 2);
}

/* Encode the body r holds into w. */
static void
encode(struct pio *r, struct pio *w, int base64)
{
	struct qp q = { w, 0, -1 };
	struct b64 b;
	int c;

	memset(&b, 0, sizeof(b));
	b.w = w;
	buf_init(&b.line, B64_LINE);
	while ((c = pio_getc(r)) != -1) {
		if (base64)
			b64_byte(&b, c);
		else
			qp_byte(&q, c);
	}
	if (base64)
		b64_byte(&b, -1);
	else
		qp_byte(&q, -1);
	pio_flush(w);
	buf_free(&b.line);
}

/* Move [from, from + len) of fd down to start; truncate after it. */
static int
move_down(int fd, off_t start, off_t from, off_t len)
{
	char *buf;
	off_t done = 0;
	ssize_t n;

	if ((buf = malloc(RE_BUF)) == NULL)
		return -1;
	while (done < len) {
		n = pread(fd, buf, (size_t)(len - done < RE_BUF ? len - done :
		    RE_BUF), from + done);
		if (n <= 0 || pwrite(fd, buf, (size_t)n, start + done) != n) {
			if (n == 0)
				errno = EIO;
			free(buf);
			return -1;
		}
		done += n;
	}
	free(buf);
	if (ftruncate(fd, start + len) == -1 ||
	    lseek(fd, start + len, SEEK_SET) == -1)
		return -1;
	return 0;
}

/* Set the reader r to [from, end) of fd. */
static void
pio_reader(struct pio *r, int fd, off_t from, off_t end)
{
	r->fd = fd;
	r->off = from;
	r->end = end;
	r->i = r->n = 0;
	r->err = 0;
}

enum rq_status
reencode_body(int fd, off_t start, off_t len, off_t body, int add_mime,
    off_t limit, off_t *newlen, struct err *e)
{
	struct pio *r, *w;
	off_t end = start + len;
	int base64, err, over;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		free(r);
		return err_sys(e, RQ_TEMP, "malloc");
	}
	pio_reader(r, fd, start + body, end);
	w->fd = -1;
	base64 = prefer_base64(r, w);
	err = r->err;
	pio_reader(r, fd, start, end);
	w->fd = fd;
	w->off = end;
	w->limit = limit > 0 ? start + limit : 0;
	copy_header(r, w, add_mime, base64 ? "base64" : "quoted-printable");
	encode(r, w, base64);
	if (err == 0)
		err = r->err ? r->err : w->err;
	if (err == 0 && move_down(fd, start, end, w->off - end) == -1)
		err = errno;
	*newlen = w->off - end;
	over = w->over;
	free(r);
	free(w);
	/* Only our bound is the message's fault: an EFBIG from the kernel
	   (a file size limit, a failing disk) is temporary, like ENOSPC. */
	if (over && err == EFBIG)
		return err_set(e, RQ_DATAERR, "message too large once "
		    "re-encoded for transport: the queue file would pass its "
		    "bound of %lld octets", (long long)limit);
	errno = err;
	return err == 0 ? RQ_OK : err_sys(e, RQ_TEMP, "re-encoding pass");
}
