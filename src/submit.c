/*
 * submit.c - read a message the way sendmail does and queue it.
 *
 * Input is read in 64 KiB blocks and processed line by line; a line longer
 * than a block is passed through in pieces. In the header section one
 * field (with its continuation lines) is held at a time, at most
 * FIELD_MAX bytes, so that To/Cc/Bcc can be parsed for -t and Bcc can be
 * dropped. CR immediately before LF is removed (CRLF and LF input give
 * the same stored message); other bytes are kept as they came.
 *
 * Lines longer than LINE_MAX (998) octets are never refused or cut. A long
 * header line is folded at white space (header_fold()). In the body,
 * the first pass decides from the header whether the message is
 * single-part text (no Content-Type or text/<any>, and no
 * Content-Transfer-Encoding or 7bit/8bit): if not, long lines are folded
 * as they are written (a line break every LINE_MAX octets); if so, the
 * body is written as it came and, when a long line was seen, a second pass
 * re-encodes the whole body as quoted-printable or base64 (reencode.h),
 * in the entry itself, which stays uncommitted (0600, no end record) until
 * the normal commit.
 *
 * Sizes: [queue] max_size applies to what the caller sent, counted as
 * read with each line end as one octet (CRLF and LF alike), before relayq
 * adds or removes anything; the final "." of -bs or a lone-dot input is
 * not counted. Past it nothing more is written and the message is
 * refused at the end (RQ_DATAERR). What is written to the queue is
 * bounded separately by SUBMIT_STORED_MAX (the added fields, folding and
 * the re-encoding).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "buf.h"
#include "header.h"
#include "linereader.h"
#include "priv.h"
#include "qualify.h"
#include "reencode.h"
#include "submit.h"
#include "vis.h"

#define FIELD_MAX	(16 << 20)
#define LINE_MAX_OCTETS	HEADER_LINE_MAX	/* RFC 5322 2.1.1, no CRLF */

/*
 * A set of recipients, deduplicated (case-insensitive), in input order.
 * At most SPOOL_RCPT_MAX are kept; addresses past that are only counted
 * (over), so that the refusal can say how many there were without memory
 * growing with them.
 */
struct rcpts {
	char **v;
	size_t n, cap;
	size_t *slot;		/* open addressing: index + 1, 0 = empty */
	size_t nslot;
	size_t over;		/* addresses past SPOOL_RCPT_MAX, not kept */
};

static size_t
rcpt_hash(const char *s)
{
	size_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (size_t)(unsigned char)(*s | 0x20);
	return h;
}

static int
rcpts_rehash(struct rcpts *rs)
{
	size_t n = rs->nslot ? rs->nslot * 2 : 64, i, h;
	size_t *slot;

	if ((slot = calloc(n, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < rs->n; i++) {
		for (h = rcpt_hash(rs->v[i]) & (n - 1); slot[h] != 0;
		    h = (h + 1) & (n - 1))
			;
		slot[h] = i + 1;
	}
	free(rs->slot);
	rs->slot = slot;
	rs->nslot = n;
	return 0;
}

/* Add a copy of a; duplicates are ignored, past the limit it is counted
 * only. 0, or -1 on ENOMEM. */
static int
rcpts_add(struct rcpts *rs, const char *a)
{
	size_t h;
	char **v;

	if ((rs->n + 1) * 2 > rs->nslot && rcpts_rehash(rs) == -1)
		return -1;
	for (h = rcpt_hash(a) & (rs->nslot - 1); rs->slot[h] != 0;
	    h = (h + 1) & (rs->nslot - 1))
		if (strcasecmp(rs->v[rs->slot[h] - 1], a) == 0)
			return 0;
	if (rs->n == SPOOL_RCPT_MAX) {
		rs->over++;
		return 0;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;

		if ((v = reallocarray(rs->v, cap, sizeof(*v))) == NULL)
			return -1;
		rs->v = v;
		rs->cap = cap;
	}
	if ((rs->v[rs->n] = strdup(a)) == NULL)
		return -1;
	rs->slot[h] = ++rs->n;
	return 0;
}

static void
rcpts_free(struct rcpts *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->v[i]);
	free(rs->v);
	free(rs->slot);
	memset(rs, 0, sizeof(*rs));
}

enum phase { PH_FIRST, PH_HEADER, PH_BODY, PH_DONE };

struct sub {
	const struct submit_opts *o;
	struct err *e;
	struct spool_writer w;
	struct linereader r;
	struct buf field;	/* the header field being read */
	struct rcpts hdr;	/* -t: To, Cc, Bcc */
	struct rcpts resent;	/* -t: Resent-To, Resent-Cc, Resent-Bcc */
	int seen_resent;
	int seen_date, seen_msgid, seen_from;
	unsigned flags;
	enum rq_status st;	/* first error while parsing */
	enum phase ph;		/* where submit_feed() is */
	int cont;		/* the last piece had no line end */
	off_t msg_start;	/* file offset of the message's first byte */
	off_t body_off;		/* message offset of the body; -1: none */
	int seen_mime;		/* MIME-Version: */
	int text_single;	/* single-part text: QP when lines are long */
	int hdr_8bit;		/* 8-bit bytes in the header section */
	size_t linelen;		/* octets of the body line being written */
	int long_body;		/* a body line over LINE_MAX_OCTETS */
	off_t insize;		/* octets read (LF line ends): max_size */
};

/* Over max_size: nothing more is written, the refusal comes at the end. */
static int
sub_too_big(const struct sub *s)
{
	return s->o->max_size > 0 && s->insize > s->o->max_size;
}

static void
sub_put(struct sub *s, const char *p, size_t n)
{
	size_t i;

	if (sub_too_big(s))
		return;
	if (!(s->flags & MSG_F_8BIT))
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] >= 0x80) {
				s->flags |= MSG_F_8BIT;
				break;
			}
	spool_writer_put(&s->w, p, n);
}

struct collect {
	struct rcpts *rs;
	const char *domain;
	struct err *e;
};

static int
collect_one(void *arg, const char *a)
{
	struct collect *c = arg;
	char *q;
	int r;

	if (addr_check(a, "recipient", c->e) != RQ_OK)
		return -1;
	if ((q = addr_qualify(a, c->domain)) == NULL) {
		err_set(c->e, RQ_INTERNAL, "out of memory");
		return -1;
	}
	/* Qualified, it may have grown past ADDR_MAX (fuzz_header): the
	 * runner would refuse the queued file. */
	if (addr_check(q, "recipient", c->e) != RQ_OK) {
		free(q);
		return -1;
	}
	r = rcpts_add(c->rs, q);
	free(q);
	if (r == -1)
		err_set(c->e, RQ_TEMP, "out of memory");
	return r;
}

/* Parse an address list into rs; RQ_DATAERR names the origin. */
static enum rq_status
collect(struct rcpts *rs, const char *s, size_t len, const char *domain,
    const char *origin, struct err *e)
{
	struct collect c = { rs, domain, e };
	enum rq_status st;

	st = addr_parse_list(s, len, collect_one, &c, e);
	if (st != RQ_OK) {
		char why[ERR_MSG_MAX];

		strlcpy(why, e->msg, sizeof(why));
		err_set(e, st, "%s: %s", origin, why);
	}
	return st;
}

/* The header fields whose addresses -t collects, and where to. */
static struct rcpts *
field_target(struct sub *s, const char *f, size_t len)
{
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
	    "Resent-Bcc" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (header_is(f, len, plain[i]))
			return &s->hdr;
		if (header_is(f, len, resent[i])) {
			s->seen_resent = 1;
			return &s->resent;
		}
	}
	return NULL;
}

/* The value of field f (after the colon), white space skipped. */
static const char *
field_value(const char *f, size_t len, size_t *vlen)
{
	const char *v = memchr(f, ':', len), *end = f + len;

	for (v++; v < end && (*v == ' ' || *v == '\t' || *v == '\n'); v++)
		;
	*vlen = (size_t)(end - v);
	return v;
}

/* MIME fields decide what a long body line turns into. */
static void
mime_field(struct sub *s, const char *f, size_t len)
{
	const char *v;
	size_t n, tok;

	if (header_is(f, len, "MIME-Version"))
		s->seen_mime = 1;
	else if (header_is(f, len, "Content-Type")) {
		v = field_value(f, len, &n);
		if (n < 5 || strncasecmp(v, "text/", 5) != 0)
			s->text_single = 0;
	} else if (header_is(f, len, "Content-Transfer-Encoding")) {
		v = field_value(f, len, &n);
		tok = strcspn(v, " \t\n;(");
		if (tok > n)
			tok = n;
		if (tok != 4 || (strncasecmp(v, "7bit", 4) != 0 &&
		    strncasecmp(v, "8bit", 4) != 0))
			s->text_single = 0;
	}
}

static int
field_sink(void *arg, const void *p, size_t n)
{
	sub_put(arg, p, n);
	return 0;
}

/*
 * A whole field as the caller wrote it, bare local parts of address
 * fields qualified (qualify.h; unchanged when that fails); a line over
 * LINE_MAX_OCTETS is folded (header_fold), legal ones are kept byte for
 * byte.
 */
static void
put_header(struct sub *s, const char *f, size_t len)
{
	struct buf q;

	buf_init(&q, 2 * (size_t)FIELD_MAX);
	if (qualify_field(f, len, s->o->domain, &q) == 1) {
		f = buf_cstr(&q);
		len = q.len;
	}
	(void)header_fold(f, len, HEADER_LINE_MAX, field_sink, s);
	buf_free(&q);
}

static void
flush_field(struct sub *s)
{
	const char *f = buf_cstr(&s->field), *colon;
	size_t len = s->field.len;
	struct rcpts *target;
	size_t i;

	if (len == 0)
		return;
	/* A bare CR would become a line break on the way out (a header line
	 * made from the middle of this field: tests/e2e/hostile_args.sh), a
	 * NUL would end an address early: both are read as white space, as
	 * the address parser reads a CR. */
	for (i = 0; i < len; i++)
		if (s->field.data[i] == '\r' || s->field.data[i] == '\0')
			s->field.data[i] = ' ';
	if (header_is(f, len, "Date"))
		s->seen_date = 1;
	else if (header_is(f, len, "Message-ID"))
		s->seen_msgid = 1;
	else if (header_is(f, len, "From"))
		s->seen_from = 1;
	mime_field(s, f, len);
	target = field_target(s, f, len);
	if (target != NULL && s->o->extract && s->st == RQ_OK) {
		colon = memchr(f, ':', len);
		s->st = collect(target, colon + 1, len - (size_t)(colon + 1 - f),
		    s->o->domain, "header", s->e);
	}
	if (!header_is(f, len, "Bcc") && !header_is(f, len, "Resent-Bcc"))
		put_header(s, f, len);
	buf_reset(&s->field);
}

/* End of the header section: add what the sender left out. */
static void
end_headers(struct sub *s, int separator)
{
	struct buf b;
	time_t now = time(NULL);

	flush_field(s);
	buf_init(&b, 1 << 20);
	if (!s->seen_date)
		header_add_date(&b, now);
	if (!s->seen_msgid)
		header_add_message_id(&b, s->w.id, s->o->hostname, now);
	if (!s->seen_from)
		header_add_from(&b, s->o->fullname, s->o->from_addr);
	if (separator)
		buf_putc(&b, '\n');
	sub_put(s, buf_cstr(&b), b.len);
	buf_free(&b);
	s->hdr_8bit = (s->flags & MSG_F_8BIT) != 0;
	s->body_off = separator ? s->w.msglen : -1;
}

/* One header-section line (or piece of one). Returns the new phase. */
static enum phase
header_line(struct sub *s, enum phase ph, const char *p, size_t len,
    int cont, int nl)
{
	if (cont) {
		if (buf_append(&s->field, p, len) == -1 && s->st == RQ_OK)
			s->st = err_set(s->e, RQ_DATAERR, "header field "
			    "longer than %d bytes", FIELD_MAX);
		return ph;
	}
	if (ph == PH_FIRST && len >= 5 && memcmp(p, "From ", 5) == 0)
		return PH_HEADER;	/* mbox separator: not part of mail */
	if (len == 0 && nl) {
		end_headers(s, 1);
		return PH_BODY;
	}
	if (header_is_continuation(p, len) && s->field.len > 0) {
		if ((buf_putc(&s->field, '\n') == -1 ||
		    buf_append(&s->field, p, len) == -1) && s->st == RQ_OK)
			s->st = err_set(s->e, RQ_DATAERR, "header field "
			    "longer than %d bytes", FIELD_MAX);
		return PH_HEADER;
	}
	if (header_name_len(p, len) == 0) {
		/* Not a header: the body starts here (sendmail's rule). */
		end_headers(s, 1);
		return PH_BODY;
	}
	flush_field(s);
	if (buf_append(&s->field, p, len) == -1 && s->st == RQ_OK)
		s->st = err_set(s->e, RQ_DATAERR, "header field longer than "
		    "%d bytes", FIELD_MAX);
	return PH_HEADER;
}

/*
 * Write body text. In single-part text the bytes go as they came (a long
 * line only marks the body for the QP pass); elsewhere a line break goes
 * in after every LINE_MAX_OCTETS octets of a line.
 */
static void
put_body(struct sub *s, const char *p, size_t len, int nl)
{
	size_t n;

	if (s->text_single) {
		sub_put(s, p, len);
		s->linelen += len;
		if (s->linelen > LINE_MAX_OCTETS)
			s->long_body = 1;
	} else
		while (len > 0) {
			if (s->linelen == LINE_MAX_OCTETS) {
				sub_put(s, "\n", 1);
				s->linelen = 0;
			}
			n = LINE_MAX_OCTETS - s->linelen;
			if (n > len)
				n = len;
			sub_put(s, p, n);
			s->linelen += n;
			p += n;
			len -= n;
		}
	if (nl) {
		sub_put(s, "\n", 1);
		s->linelen = 0;
	}
}

static enum phase
body_line(struct sub *s, const char *p, size_t len, int cont, int nl)
{
	if (!cont && nl && len == 1 && p[0] == '.' && !s->o->ignore_dots)
		return PH_DONE;
	put_body(s, p, len, nl);
	return PH_BODY;
}

/* One line or piece of input; returns 1 once the message has ended. */
static int
sub_feed(struct sub *s, const char *p, size_t len, int nl)
{
	enum phase ph = s->ph, next;

	if (ph == PH_DONE)
		return 1;
	s->insize += (off_t)len + (nl ? 1 : 0);
	if (ph == PH_BODY)
		next = body_line(s, p, len, s->cont, nl);
	else
		next = header_line(s, ph, p, len, s->cont, nl);
	/* A non-header line opened the body: it is body text. */
	if (ph != PH_BODY && next == PH_BODY && !(len == 0 && nl))
		next = body_line(s, p, len, s->cont, nl);
	if (next == PH_DONE)
		s->insize -= (off_t)len + 1;	/* the lone "." is no data */
	s->ph = next;
	s->cont = !nl;
	return next == PH_DONE;
}

static enum rq_status
read_input(struct sub *s)
{
	const char *p;
	size_t len;
	int nl, r;

	while ((r = lr_next(&s->r, &p, &len, &nl)) == 1)
		if (sub_feed(s, p, len, nl))
			return RQ_OK;
	if (r == -1) {
		errno = s->r.rerrno;
		return err_sys(s->e, RQ_TEMP, "read standard input");
	}
	return RQ_OK;
}

/* Re-encode a single-part text body with a long line (reencode.h). */
static enum rq_status
requote(struct sub *s)
{
	enum rq_status st;
	off_t len;

	if (spool_writer_flush(&s->w) == -1)
		return err_sys(s->e, RQ_TEMP, "queue file %s: write", s->w.id);
	st = reencode_body(s->w.fd, s->msg_start, s->w.msglen, s->body_off,
	    !s->seen_mime, s->w.max, &len, s->e);
	if (st == RQ_OK)
		s->w.msglen = len;
	return st;
}

/* Command-line recipients plus, with -t, those of the header. */
static enum rq_status
final_rcpts(struct sub *s, struct rcpts *out)
{
	const struct submit_opts *o = s->o;
	struct rcpts *h = s->seen_resent ? &s->resent : &s->hdr;
	size_t i;

	for (i = 0; i < o->nrcpt; i++)
		if (rcpts_add(out, o->rcpts[i]) == -1)
			return err_set(s->e, RQ_TEMP, "out of memory");
	for (i = 0; o->extract && i < h->n; i++)
		if (rcpts_add(out, h->v[i]) == -1)
			return err_set(s->e, RQ_TEMP, "out of memory");
	if (o->extract)
		out->over += h->over;
	/* Before anything is committed: the spool would refuse it too. */
	if (out->n + out->over > SPOOL_RCPT_MAX)
		return err_set(s->e, RQ_DATAERR, "too many recipients: %zu "
		    "(limit %d)", out->n + out->over, SPOOL_RCPT_MAX);
	if (out->n == 0)
		return err_set(s->e, RQ_USAGE, o->extract ? "no recipient "
		    "addresses found in the message header (-t)" :
		    "no recipients given");
	return RQ_OK;
}

/* Create the entry, drop the set-id group, write the Received field. */
static enum rq_status
sub_open(struct sub *s, int dirfd)
{
	const struct submit_opts *o = s->o;
	struct buf b;
	enum rq_status st;

	if (o->create != NULL) {
		char id[SPOOL_ID_LEN + 1];
		int fd = o->create(o->create_arg, id);

		if (fd == -1)
			return err_sys(s->e, RQ_TEMP, "cannot create queue "
			    "file");
		spool_writer_adopt(&s->w, dirfd, fd, id, o->sender, time(NULL),
		    o->uid, SUBMIT_STORED_MAX(o->max_size));
		s->w.named = o->named;
		s->w.named_arg = o->create_arg;
	} else if ((st = spool_writer_open(&s->w, dirfd, NULL, o->sender,
	    time(NULL), o->uid, SUBMIT_STORED_MAX(o->max_size), s->e)) !=
	    RQ_OK)
		return st;
	if (o->dsn != NULL)
		s->w.dsn = *o->dsn;
	/* The maildrop entry is open: the set-id group is not needed now. */
	if (o->drop_privileges && priv_drop_or_fail(s->e) != RQ_OK) {
		spool_writer_abort(&s->w);
		return s->e->status;
	}
	if (spool_writer_flush(&s->w) == -1 ||
	    (s->msg_start = lseek(s->w.fd, 0, SEEK_CUR)) == -1) {
		spool_writer_abort(&s->w);
		return err_sys(s->e, RQ_TEMP, "queue file %s: write", s->w.id);
	}
	buf_init(&b, 4096);
	header_add_received(&b, o->hostname, o->uid, s->w.id, time(NULL));
	sub_put(s, buf_cstr(&b), b.len);
	buf_free(&b);
	return RQ_OK;
}

/* The input has ended: finish the message and commit it. */
static enum rq_status
sub_close(struct sub *s, char *id)
{
	const struct submit_opts *o = s->o;
	struct rcpts all;
	enum rq_status st = s->st;

	if (s->ph == PH_FIRST || s->ph == PH_HEADER)
		end_headers(s, 0);
	memset(&all, 0, sizeof(all));
	if (st == RQ_OK && sub_too_big(s))
		st = err_set(s->e, RQ_DATAERR, "message too large: %lld octets "
		    "(limit [queue] max_size = %lld)", (long long)s->insize,
		    (long long)o->max_size);
	if (st == RQ_OK)
		st = final_rcpts(s, &all);
	/* Past the stored bound the first pass kept only a part: the
	 * commit refuses that, there is nothing to re-encode. */
	if (st == RQ_OK && s->long_body && s->body_off >= 0 &&
	    (s->w.max == 0 || s->w.msglen <= s->w.max)) {
		if ((st = requote(s)) == RQ_OK && !s->hdr_8bit)
			s->flags &= ~(unsigned)MSG_F_8BIT;
	}
	if (st != RQ_OK) {
		spool_writer_abort(&s->w);
		rcpts_free(&all);
		return st;
	}
	for (size_t i = 0; i < all.n; i++)
		if (addr_is_utf8(all.v[i]))
			s->flags |= MSG_F_SMTPUTF8;
	if (addr_is_utf8(o->sender))
		s->flags |= MSG_F_SMTPUTF8;
	st = spool_writer_commit(&s->w, (const char *const *)all.v, all.n,
	    s->flags, SPOOL_MODE_COMPLETE, s->e);
	rcpts_free(&all);
	if (st == RQ_OK)
		strlcpy(id, s->w.id, SPOOL_ID_LEN + 1);
	return st;
}

static struct sub *
sub_new(const struct submit_opts *o, struct err *e)
{
	struct sub *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->o = o;
	s->e = e;
	s->w.fd = -1;
	s->body_off = -1;
	s->text_single = 1;
	buf_init(&s->field, FIELD_MAX);
	return s;
}

static void
sub_free(struct sub *s)
{
	buf_free(&s->field);
	rcpts_free(&s->hdr);
	rcpts_free(&s->resent);
	free(s);
}

enum rq_status
submit_message(int dirfd, const struct submit_opts *o, int infd,
    char id[SPOOL_ID_LEN + 1], struct err *e)
{
	struct sub *s;
	enum rq_status st;

	if ((s = sub_new(o, e)) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	if ((st = sub_open(s, dirfd)) == RQ_OK) {
		lr_init(&s->r, infd, NULL, NULL);
		if ((st = read_input(s)) == RQ_OK)
			st = sub_close(s, id);
		else
			spool_writer_abort(&s->w);
	}
	sub_free(s);
	return st;
}

struct submit {
	struct sub *s;
};

enum rq_status
submit_begin(int dirfd, const struct submit_opts *o, struct submit **out,
    struct err *e)
{
	struct submit *m;
	enum rq_status st;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->s = sub_new(o, e)) == NULL) {
		free(m);
		return err_sys(e, RQ_TEMP, "malloc");
	}
	if ((st = sub_open(m->s, dirfd)) != RQ_OK) {
		sub_free(m->s);
		free(m);
		return st;
	}
	*out = m;
	return RQ_OK;
}

int
submit_feed(struct submit *m, const char *p, size_t len, int nl)
{
	return sub_feed(m->s, p, len, nl);
}

enum rq_status
submit_end(struct submit *m, char id[SPOOL_ID_LEN + 1], struct err *e)
{
	enum rq_status st;

	m->s->e = e;
	st = sub_close(m->s, id);
	sub_free(m->s);
	free(m);
	return st;
}

void
submit_cancel(struct submit *m)
{
	if (m == NULL)
		return;
	spool_writer_abort(&m->s->w);
	sub_free(m->s);
	free(m);
}

enum rq_status
submit_parse_rcpts(char *const *args, size_t nargs, const char *domain,
    char ***out, size_t *nout, struct err *e)
{
	struct rcpts rs;
	enum rq_status st = RQ_OK;
	char shown[64];
	size_t i;

	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < nargs && st == RQ_OK; i++) {
		/* In a header CR and LF are folding; in an argument they can
		 * only be an attempt to inject a recipient or a command. */
		if (vis_has_ctl(args[i]))
			st = err_set(e, RQ_DATAERR, "recipient argument: control "
			    "character in \"%.60s\"", vis_ctl(shown,
			    sizeof(shown), args[i]));
		else
			st = collect(&rs, args[i], strlen(args[i]), domain,
			    "recipient argument", e);
	}
	if (st == RQ_OK && rs.over > 0)
		st = err_set(e, RQ_DATAERR, "too many recipients: %zu (limit "
		    "%d)", rs.n + rs.over, SPOOL_RCPT_MAX);
	free(rs.slot);
	*out = rs.v;
	*nout = rs.n;
	if (st != RQ_OK) {
		for (i = 0; i < rs.n; i++)
			free(rs.v[i]);
		free(rs.v);
		*out = NULL;
		*nout = 0;
	}
	return st;
}
