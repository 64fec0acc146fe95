/*
 * submit.c - read a message the way sendmail does and queue it.
 *
 * Input is read in 64 KiB blocks and processed line by line; a line longer
 * than a block is passed through in pieces. In the header section one
 * field (with its continuation lines) is held at a time, at most
 * FIELD_MAX bytes, so that To/Cc/Bcc can be parsed for -t and Bcc can be
 * dropped. CR immediately before LF is removed (CRLF and LF input give
 * the same stored message); other bytes are kept as they came.
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
#include "priv.h"
#include "submit.h"

#define FIELD_MAX	(16 << 20)
#define RCPT_MAX	1000000

struct lreader {
	int fd;
	size_t start, end;
	int eof;
	int rerrno;
	char buf[65536];
};

/*
 * Next line or piece: *p and *len without the LF (and CRs before it), *nl
 * set when the line was terminated. 1 = got one, 0 = EOF, -1 = error.
 */
static int
lr_next(struct lreader *r, const char **p, size_t *len, int *nl)
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
		if (r->eof || (r->start == 0 && r->end == sizeof(r->buf))) {
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
		if (r->start > 0) {
			memmove(r->buf, s, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
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

/* A set of recipients, deduplicated (case-insensitive), in input order. */
struct rcpts {
	char **v;
	size_t n, cap;
	size_t *slot;		/* open addressing: index + 1, 0 = empty */
	size_t nslot;
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

/* Add a copy of a; duplicates are ignored. 0, or -1 on ENOMEM/limit. */
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
	if (rs->n == RCPT_MAX)
		return -1;
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

struct sub {
	const struct submit_opts *o;
	struct err *e;
	struct spool_writer w;
	struct lreader r;
	struct buf field;	/* the header field being read */
	struct rcpts hdr;	/* -t: To, Cc, Bcc */
	struct rcpts resent;	/* -t: Resent-To, Resent-Cc, Resent-Bcc */
	int seen_resent;
	int seen_date, seen_msgid, seen_from;
	unsigned flags;
	enum rq_status st;	/* first error while parsing */
};

static void
sub_put(struct sub *s, const char *p, size_t n)
{
	size_t i;

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
	r = rcpts_add(c->rs, q);
	free(q);
	if (r == -1)
		err_set(c->e, RQ_TEMP, "too many recipients or out of memory");
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

static void
flush_field(struct sub *s)
{
	const char *f = buf_cstr(&s->field), *colon;
	size_t len = s->field.len;
	struct rcpts *target;

	if (len == 0)
		return;
	if (header_is(f, len, "Date"))
		s->seen_date = 1;
	else if (header_is(f, len, "Message-ID"))
		s->seen_msgid = 1;
	else if (header_is(f, len, "From"))
		s->seen_from = 1;
	target = field_target(s, f, len);
	if (target != NULL && s->o->extract && s->st == RQ_OK) {
		colon = memchr(f, ':', len);
		s->st = collect(target, colon + 1, len - (size_t)(colon + 1 - f),
		    s->o->domain, "header", s->e);
	}
	if (!header_is(f, len, "Bcc") && !header_is(f, len, "Resent-Bcc")) {
		sub_put(s, f, len);
		sub_put(s, "\n", 1);
	}
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
}

enum phase { PH_FIRST, PH_HEADER, PH_BODY, PH_DONE };

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

static enum phase
body_line(struct sub *s, const char *p, size_t len, int cont, int nl)
{
	if (!cont && nl && len == 1 && p[0] == '.' && !s->o->ignore_dots)
		return PH_DONE;
	sub_put(s, p, len);
	if (nl)
		sub_put(s, "\n", 1);
	return PH_BODY;
}

static enum rq_status
read_input(struct sub *s)
{
	enum phase ph = PH_FIRST, next;
	const char *p;
	size_t len;
	int nl, cont = 0, r;

	while (ph != PH_DONE && (r = lr_next(&s->r, &p, &len, &nl)) == 1) {
		if (ph == PH_BODY)
			next = body_line(s, p, len, cont, nl);
		else
			next = header_line(s, ph, p, len, cont, nl);
		/* A non-header line opened the body: it is body text. */
		if (ph != PH_BODY && next == PH_BODY && !(len == 0 && nl))
			next = body_line(s, p, len, cont, nl);
		ph = next;
		cont = !nl;
	}
	if (ph != PH_DONE && r == -1) {
		errno = s->r.rerrno;
		return err_sys(s->e, RQ_TEMP, "read standard input");
	}
	if (ph == PH_FIRST || ph == PH_HEADER)
		end_headers(s, 0);
	return s->st;
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
	if (out->n == 0)
		return err_set(s->e, RQ_USAGE, o->extract ? "no recipient "
		    "addresses found in the message header (-t)" :
		    "no recipients given");
	return RQ_OK;
}

static enum rq_status
submit_run(struct sub *s, int dirfd, int infd, char *id)
{
	const struct submit_opts *o = s->o;
	struct rcpts all;
	struct buf b;
	enum rq_status st;

	if ((st = spool_writer_open(&s->w, dirfd, NULL, o->sender, time(NULL),
	    o->uid, o->max_size, s->e)) != RQ_OK)
		return st;
	/* The maildrop entry is open: the set-id group is not needed now. */
	if (o->drop_privileges && priv_drop() == -1) {
		spool_writer_abort(&s->w);
		return err_sys(s->e, RQ_TEMP, "cannot drop privileges");
	}
	buf_init(&b, 4096);
	header_add_received(&b, o->hostname, o->uid, s->w.id, time(NULL));
	sub_put(s, buf_cstr(&b), b.len);
	buf_free(&b);
	s->r.fd = infd;
	memset(&all, 0, sizeof(all));
	if ((st = read_input(s)) == RQ_OK)
		st = final_rcpts(s, &all);
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

enum rq_status
submit_message(int dirfd, const struct submit_opts *o, int infd,
    char id[SPOOL_ID_LEN + 1], struct err *e)
{
	struct sub *s;
	enum rq_status st;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	s->o = o;
	s->e = e;
	s->w.fd = -1;
	buf_init(&s->field, FIELD_MAX);
	st = submit_run(s, dirfd, infd, id);
	buf_free(&s->field);
	rcpts_free(&s->hdr);
	rcpts_free(&s->resent);
	free(s);
	return st;
}

enum rq_status
submit_parse_rcpts(char *const *args, size_t nargs, const char *domain,
    char ***out, size_t *nout, struct err *e)
{
	struct rcpts rs;
	enum rq_status st = RQ_OK;
	size_t i;

	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < nargs && st == RQ_OK; i++)
		st = collect(&rs, args[i], strlen(args[i]), domain,
		    "recipient argument", e);
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
