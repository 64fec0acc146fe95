/*
 * reply.c - the SMTP reply parser and the EHLO capability parser.
 *
 * Invariants: r->text never grows beyond REPLY_SIZE_MAX bytes, a reply
 * never has more than REPLY_LINES_MAX lines, and nothing is accepted
 * that does not match the grammar exactly. Error policy: malformed input
 * is REPLY_BAD with a static reason; there is no other failure (running
 * out of memory is BAD too: the caller drops the session either way).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "auth.h"
#include "reply.h"

void
reply_init(struct reply *r)
{
	buf_init(&r->text, REPLY_SIZE_MAX);
	reply_reset(r);
}

void
reply_reset(struct reply *r)
{
	r->state = REPLY_MORE;
	r->code = 0;
	r->esc[0] = '\0';
	r->nlines = 0;
	r->why = NULL;
	buf_reset(&r->text);
}

void
reply_free(struct reply *r)
{
	buf_free(&r->text);
	reply_reset(r);
}

static enum reply_state
reply_bad(struct reply *r, const char *why)
{
	r->state = REPLY_BAD;
	r->why = why;
	return REPLY_BAD;
}

/* Skip 1-3 digits at t[*i]; 0 when there were none or too many. */
static int
reply_digits(const char *t, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && isdigit((unsigned char)t[*i]))
		(*i)++;
	return *i > start && *i - start <= 3;
}

/*
 * An enhanced status code (RFC 3463) "c.sss.ddd" at the start of the
 * first line, whose class matches the reply code, followed by a space
 * or the end of the line. Anything else is simply not captured.
 */
static void
reply_take_esc(struct reply *r, const char *t, size_t n)
{
	size_t i = 2;

	if (n < 5 || t[0] != '0' + r->code / 100 || t[1] != '.')
		return;
	if (!reply_digits(t, n, &i) || i >= n || t[i] != '.')
		return;
	i++;
	if (!reply_digits(t, n, &i) || (i < n && t[i] != ' '))
		return;
	memcpy(r->esc, t, i);
	r->esc[i] = '\0';
}

/* The three digits of a reply code, or -1 when they are not valid. */
static int
reply_code(const char *line, size_t len)
{
	int i;

	if (len < 3)
		return -1;
	for (i = 0; i < 3; i++)
		if (!isdigit((unsigned char)line[i]))
			return -1;
	if (line[0] < '2' || line[0] > '5' || line[1] > '5')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

enum reply_state
reply_feed(struct reply *r, const char *line, size_t len)
{
	const char *t;
	size_t tlen;
	int code;

	if (r->state != REPLY_MORE)
		return reply_bad(r, "data after the end of a reply");
	if (len > REPLY_LINE_MAX)
		return reply_bad(r, "reply line too long");
	if (memchr(line, '\0', len) != NULL ||
	    memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL)
		return reply_bad(r, "NUL, CR or LF inside a reply line");
	if ((code = reply_code(line, len)) == -1)
		return reply_bad(r, "malformed reply code");
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return reply_bad(r, "no space or '-' after the reply code");
	if (r->nlines > 0 && code != r->code)
		return reply_bad(r, "reply code changed within a reply");
	if (r->nlines >= REPLY_LINES_MAX)
		return reply_bad(r, "too many reply lines");
	t = len > 3 ? line + 4 : line + 3;
	tlen = len > 3 ? len - 4 : 0;
	if ((r->nlines > 0 && buf_putc(&r->text, '\n') == -1) ||
	    buf_append(&r->text, t, tlen) == -1)
		return reply_bad(r, "reply too large");
	r->code = code;
	if (r->nlines++ == 0)
		reply_take_esc(r, t, tlen);
	if (len == 3 || line[3] == ' ')
		r->state = REPLY_DONE;
	return r->state;
}

/*
 * The line that starts at *off; *off moves past it. The caller makes sure
 * a line is left (fewer than r->nlines taken): the text holds exactly
 * nlines - 1 separators, so *off never passes r->text.len before that.
 */
static const char *
reply_next(const struct reply *r, size_t *off, size_t *len)
{
	const char *p = buf_cstr(&r->text) + *off, *nl;

	nl = memchr(p, '\n', r->text.len - *off);
	*len = nl != NULL ? (size_t)(nl - p) : r->text.len - *off;
	*off += *len + 1;
	return p;
}

const char *
reply_line(const struct reply *r, size_t i, size_t *len)
{
	const char *p = NULL;
	size_t off = 0, k;

	if (i >= r->nlines)
		return NULL;
	for (k = 0; k <= i; k++)
		p = reply_next(r, &off, len);
	return p;
}

struct sink {
	char *dst;
	size_t size;
	size_t len;
	int cut;
};

static void
sink_put(struct sink *k, const char *p, size_t n)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < n; i++) {
		if (k->len + 1 >= k->size) {
			k->cut = 1;
			break;
		}
		c = (unsigned char)p[i];
		k->dst[k->len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	k->dst[k->len] = '\0';
}

char *
reply_summary(const struct reply *r, char *dst, size_t size)
{
	struct sink k = { dst, size, 0, 0 };
	const char *p;
	size_t n, esclen = strlen(r->esc), i, off = 0;
	char code[8];

	if (size == 0)
		return dst;
	dst[0] = '\0';
	snprintf(code, sizeof(code), "%03d", r->code);
	sink_put(&k, code, strlen(code));
	for (i = 0; i < r->nlines; i++) {
		p = reply_next(r, &off, &n);
		/* Continuation lines repeat the enhanced code: say it once. */
		if (i > 0 && esclen > 0 && n > esclen &&
		    memcmp(p, r->esc, esclen) == 0 && p[esclen] == ' ') {
			sink_put(&k, " ", 1);
			sink_put(&k, p + esclen + 1, n - esclen - 1);
		} else if (n > 0) {
			sink_put(&k, " ", 1);
			sink_put(&k, p, n);
		}
	}
	if (k.cut && size >= 4)
		memcpy(dst + k.len - 3, "...", 3);
	return dst;
}

/* "SIZE n": n as a limit; 0 (no limit) when missing or not a number. */
static off_t
reply_size_value(const char *p, size_t n)
{
	char num[24];
	const char *errstr;
	long long v;
	size_t i;

	while (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	for (i = 0; i < n && p[i] != ' '; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	if (i == 0 || i >= sizeof(num))
		return 0;
	memcpy(num, p, i);
	num[i] = '\0';
	v = strtonum(num, 0, LLONG_MAX, &errstr);
	return errstr != NULL ? 0 : (off_t)v;
}

/* "AUTH PLAIN LOGIN ..." or "AUTH=PLAIN LOGIN": the mechanisms as bits. */
static unsigned
reply_auth_bits(const char *p, size_t n)
{
	enum auth_mech m;
	unsigned bits = 0;
	size_t i, start;

	for (i = 0; i < n; ) {
		while (i < n && p[i] == ' ')
			i++;
		for (start = i; i < n && p[i] != ' '; i++)
			continue;
		if (i > start && (m = auth_mech_lookup(p + start,
		    i - start)) != AUTH_NONE)
			bits |= 1u << m;
	}
	return bits;
}

static int
keyword_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && strncasecmp(k, name, klen) == 0;
}

static void
reply_caps_line(struct reply_caps *c, const char *t, size_t n)
{
	size_t k, rest;

	for (k = 0; k < n && t[k] != ' ' && t[k] != '='; k++)
		continue;
	rest = k < n ? k + 1 : n;
	if (keyword_is(t, k, "PIPELINING"))
		c->pipelining = 1;
	else if (keyword_is(t, k, "SIZE")) {
		c->size = 1;
		c->size_max = reply_size_value(t + rest, n - rest);
	} else if (keyword_is(t, k, "8BITMIME"))
		c->eightbitmime = 1;
	else if (keyword_is(t, k, "SMTPUTF8"))
		c->smtputf8 = 1;
	else if (keyword_is(t, k, "DSN"))
		c->dsn = 1;
	else if (keyword_is(t, k, "STARTTLS"))
		c->starttls = 1;
	else if (keyword_is(t, k, "ENHANCEDSTATUSCODES"))
		c->enhancedstatuscodes = 1;
	else if (keyword_is(t, k, "AUTH"))
		c->auth |= reply_auth_bits(t + rest, n - rest);
}

void
reply_parse_caps(const struct reply *r, struct reply_caps *c)
{
	const char *p;
	size_t n, i, off = 0;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < r->nlines; i++) {
		p = reply_next(r, &off, &n);
		if (i > 0)
			reply_caps_line(c, p, n);
	}
}
