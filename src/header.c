/*
 * header.c - header field recognition, folding, and the fields relayq
 * adds. Folding works line by line, in linear time, writing pieces of the
 * input to a sink, so a caller's field of many megabytes is folded
 * without a copy. Full names are emitted as an RFC 5322 quoted string
 * when they are plain ASCII with foldable words, as RFC 2047 encoded-words
 * otherwise; control characters never reach the output (the caller
 * refuses CR/LF/NUL earlier, this is the second line of defence).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64.h"
#include "header.h"

size_t
header_name_len(const char *line, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':' || c <= 32 || c >= 127)
			break;
	}
	if (i == 0)
		return 0;
	n = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':' ? n : 0;
}

int
header_is(const char *line, size_t len, const char *name)
{
	size_t n = header_name_len(line, len);

	return n == strlen(name) && strncasecmp(line, name, n) == 0;
}

int
header_is_continuation(const char *line, size_t len)
{
	return len > 0 && (line[0] == ' ' || line[0] == '\t');
}

/* ---- folding ----------------------------------------------------------- */

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A fold may go before p[i]: white space that ends a word. */
static int
fold_ok(const char *p, size_t i)
{
	return is_wsp(p[i]) && !is_wsp(p[i - 1]) && p[i - 1] != '\\';
}

/* Inside a quoted string after p[0..n), starting with q? */
static int
fold_quoted(const char *p, size_t n, int q)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (q && p[i] == '\\' && i + 1 < n)
			i++;
		else if (p[i] == '"')
			q = !q;
	}
	return q;
}

/*
 * Where a line may break: outside quotes, the last at or before soft and
 * the first after it; the same inside quotes. 0: none.
 */
struct fold_at {
	size_t out_soft, out_late, in_soft, in_late;
};

/* Record a break before p[i]; inq: inside a quoted string. */
static void
fold_note(struct fold_at *a, size_t i, size_t soft, int inq)
{
	size_t *last = inq ? &a->in_soft : &a->out_soft;
	size_t *late = inq ? &a->in_late : &a->out_late;

	if (i <= soft)
		*last = i;
	else if (*late == 0)
		*late = i;
}

/*
 * Where to break the line pre + p[0..len) (pre: octets put before p, a
 * space or none): an index of p, or 0 when the line may stay as it is.
 * Breaks go at min or later. *q says whether p starts inside a quoted
 * string, and is set for the break chosen: a break outside quotes is
 * taken first (some readers do not unfold inside a quoted string), one
 * inside only when the line would not fit 998 octets otherwise.
 */
static size_t
fold_point(const char *p, size_t len, size_t min, size_t pre, int *q)
{
	size_t i, soft = HEADER_LINE_SOFT - pre, hard = HEADER_LINE_MAX - pre;
	struct fold_at a;
	int inq = *q;

	memset(&a, 0, sizeof(a));
	/* Past soft, an outside break found there is the one taken. */
	for (i = 0; i < len && i <= hard && !(i > soft && a.out_soft); i++) {
		if (i >= min && i > 0 && fold_ok(p, i))
			fold_note(&a, i, soft, inq);
		if (inq && p[i] == '\\' && i + 1 < len)
			i++;		/* a quoted pair */
		else if (p[i] == '"')
			inq = !inq;
	}
	if (a.out_soft || a.out_late) {
		*q = 0;
		return a.out_soft ? a.out_soft : a.out_late;
	}
	if (pre + len <= HEADER_LINE_MAX)
		return 0;
	if (a.in_soft || a.in_late) {
		*q = 1;
		return a.in_soft ? a.in_soft : a.in_late;
	}
	/* No white space: cut, but not inside a UTF-8 character. */
	for (i = hard; i > min + 3 && hard - i < 3 &&
	    ((unsigned char)p[i] & 0xc0) == 0x80; i--)
		;
	*q = fold_quoted(p, i, *q);
	return i;
}

/* One line (no LF); min: no break before p[min] (the colon). */
static int
fold_line(const char *p, size_t len, size_t min, size_t over,
    header_sink out, void *arg)
{
	size_t i, pre = 0;
	int q = 0;

	while (len > over && pre + len > HEADER_LINE_SOFT &&
	    (i = fold_point(p, len, min, pre, &q)) != 0) {
		if ((pre && out(arg, " ", 1) == -1) || out(arg, p, i) == -1 ||
		    out(arg, "\n", 1) == -1)
			return -1;
		pre = !is_wsp(p[i]);
		p += i;
		len -= i;
		min = 1;
		over = 0;	/* the rest of a folded line folds too */
	}
	if ((pre && out(arg, " ", 1) == -1) || out(arg, p, len) == -1)
		return -1;
	return out(arg, "\n", 1);
}

int
header_fold(const char *f, size_t len, size_t over, header_sink out,
    void *arg)
{
	const char *nl, *colon;
	size_t n, min;

	while (len > 0) {
		if ((nl = memchr(f, '\n', len)) == NULL)
			nl = f + len;
		n = (size_t)(nl - f);
		min = 1;
		if (!header_is_continuation(f, n) &&
		    (colon = memchr(f, ':', n)) != NULL)
			min = (size_t)(colon - f) + 1;
		if (fold_line(f, n, min, over, out, arg) == -1)
			return -1;
		len -= n < len ? n + 1 : n;
		f = nl + 1;
	}
	return 0;
}

static int
buf_sink(void *arg, const void *p, size_t n)
{
	return buf_append(arg, p, n);
}

int
header_fold_buf(struct buf *b, const char *f, size_t len, size_t over)
{
	return header_fold(f, len, over, buf_sink, b);
}

int
header_fold_since(struct buf *b, size_t start)
{
	struct buf f;
	int r;

	buf_init(&f, b->max);
	r = buf_append(&f, b->data + start, b->len - start);
	b->len = start;
	if (b->data != NULL)
		b->data[start] = '\0';
	if (r == 0)
		r = header_fold_buf(b, f.data, f.len, HEADER_LINE_SOFT);
	buf_free(&f);
	return r;
}

/* ---- the fields relayq adds ---------------------------------------------- */

void
header_date(char *out, size_t outlen, time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static int
needs_encoding(const char *s, size_t len)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 1;
		/* A word that could not fold within HEADER_LINE_SOFT. */
		run = is_wsp(s[i]) ? 0 : run + 1;
		if (run > HEADER_LINE_SOFT - 4)
			return 1;
	}
	return 0;
}

/* The length of s[0..len) cut to n octets at a UTF-8 character start. */
static size_t
utf8_cut(const char *s, size_t len, size_t n)
{
	size_t i;

	if (len <= n)
		return len;
	for (i = n; i > 0 && n - i < 3 && ((unsigned char)s[i] & 0xc0) ==
	    0x80; i--)
		;
	return i > 0 ? i : n;
}

/* One RFC 2047 encoded-word (UTF-8, B) of p[0..n), n <= 45. */
static int
add_word(struct buf *b, const unsigned char *p, size_t n)
{
	if (buf_puts(b, "=?UTF-8?B?") == -1 || b64_encode(p, n, b) == -1)
		return -1;
	return buf_puts(b, "?=");
}

/*
 * RFC 2047 encoded-words of at most 45 octets of s each (72 characters),
 * separated by a space: a decoder joins them without it (6.2), and the
 * field folds there. A word never ends inside a UTF-8 character (5).
 */
static int
add_encoded(struct buf *b, const char *s, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = utf8_cut(s + i, len - i, 45);
		if ((i > 0 && buf_putc(b, ' ') == -1) ||
		    add_word(b, (const unsigned char *)s + i, n) == -1)
			return -1;
	}
	return 0;
}

/* s[0..len) as one RFC 5322 quoted string. */
static int
add_quoted(struct buf *b, const char *s, size_t len)
{
	size_t i;

	if (buf_putc(b, '"') == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((s[i] == '"' || s[i] == '\\') && buf_putc(b, '\\') == -1)
			return -1;
		if (buf_putc(b, s[i]) == -1)
			return -1;
	}
	return buf_putc(b, '"');
}

/*
 * s[0..len) as a phrase of quoted words, one per word of s, separated by
 * a space: the field folds between them, never inside a quoted string
 * (where some readers do not unfold). A reader joins the words with one
 * space, so only runs of white space change.
 */
static int
add_quoted_words(struct buf *b, const char *s, size_t len)
{
	size_t i = 0, n, words = 0;

	while (i < len) {
		while (i < len && is_wsp(s[i]))
			i++;
		for (n = 0; i + n < len && !is_wsp(s[i + n]); n++)
			;
		if (n == 0)
			break;
		if ((words++ > 0 && buf_putc(b, ' ') == -1) ||
		    add_quoted(b, s + i, n) == -1)
			return -1;
		i += n;
	}
	return words > 0 ? 0 : add_quoted(b, s, len);
}

int
header_add_from(struct buf *b, const char *fullname, const char *addr)
{
	size_t start = b->len, n;

	if (fullname == NULL || *fullname == '\0')
		return buf_printf(b, "From: %s\n", addr) == -1 ? -1 :
		    header_fold_since(b, start);
	n = utf8_cut(fullname, strlen(fullname), HEADER_FULLNAME_MAX);
	if (buf_puts(b, "From: ") == -1 || (needs_encoding(fullname, n) ?
	    add_encoded(b, fullname, n) : add_quoted(b, fullname, n)) == -1 ||
	    buf_printf(b, " <%s>\n", addr) == -1)
		return -1;
	/* Too long for one line: a word per quoted string, so it folds. */
	if (b->len - start > HEADER_LINE_SOFT + 1 &&
	    !needs_encoding(fullname, n)) {
		b->len = start;
		if (buf_puts(b, "From: ") == -1 ||
		    add_quoted_words(b, fullname, n) == -1 ||
		    buf_printf(b, " <%s>\n", addr) == -1)
			return -1;
	}
	return header_fold_since(b, start);
}

int
header_add_message_id(struct buf *b, const char *id, const char *host,
    time_t t)
{
	char stamp[32];
	struct tm tm;

	size_t start = b->len;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		stamp[0] = '\0';
	if (buf_printf(b, "Message-ID: <%s.%s@%s>\n", stamp, id, host) == -1)
		return -1;
	return header_fold_since(b, start);
}

int
header_add_date(struct buf *b, time_t t)
{
	char date[64];

	header_date(date, sizeof(date), t);
	return buf_printf(b, "Date: %s\n", date);
}

int
header_add_received(struct buf *b, const char *host, uid_t uid,
    const char *id, time_t t)
{
	char date[64];
	size_t start = b->len;

	header_date(date, sizeof(date), t);
	if (buf_printf(b, "Received: by %s (relayq, from userid %lu)\n"
	    "\tid %s; %s\n", host, (unsigned long)uid, id, date) == -1)
		return -1;
	return header_fold_since(b, start);
}
