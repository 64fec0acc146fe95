/*
 * addr.c - RFC 5322 address-list parsing and envelope address checks.
 *
 * The list parser is a single left-to-right scan with a small state: the
 * current element's address text (outside comments, quotes kept) and,
 * when an angle address appears, that instead. ',' ends an element, ':'
 * opens a group (its name is dropped) and ';' closes it. Errors are
 * RQ_DATAERR with the reason; nothing here trusts its input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "addr.h"
#include "buf.h"

struct alist {
	struct buf plain;	/* addr-spec text outside <> and comments */
	struct buf angle;	/* text inside <> */
	int have_angle;
	addr_cb cb;
	void *arg;
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Drop an obsolete source route "@a,@b:" from an angle address. */
static const char *
strip_route(const char *a)
{
	const char *colon;

	if (a[0] != '@' || (colon = strchr(a, ':')) == NULL)
		return a;
	return colon + 1;
}

static enum rq_status
emit(struct alist *al, struct err *e)
{
	const char *a;

	a = al->have_angle ? strip_route(buf_cstr(&al->angle)) :
	    buf_cstr(&al->plain);
	/* The callback may set e itself (e.g. a bad address). */
	if (*a != '\0' && al->cb(al->arg, a) != 0)
		return e->status != RQ_OK ? e->status :
		    err_set(e, RQ_INTERNAL, "address callback failed");
	buf_reset(&al->plain);
	buf_reset(&al->angle);
	al->have_angle = 0;
	return RQ_OK;
}

/* Skip a (possibly nested) comment starting at s[i] == '('. */
static size_t
skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return (size_t)-1;
}

/* Copy a quoted string starting at s[i] == '"' into b (quotes kept). */
static size_t
copy_quoted(const char *s, size_t len, size_t i, struct buf *b)
{
	size_t start = i++;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			break;
	}
	if (i >= len)
		return (size_t)-1;
	if (buf_append(b, s + start, i + 1 - start) == -1)
		return (size_t)-2;
	return i + 1;
}

/* Text inside <...>, starting after '<'; returns index after '>'. */
static size_t
copy_angle(const char *s, size_t len, size_t i, struct buf *b)
{
	size_t next;

	while (i < len && s[i] != '>') {
		if (s[i] == '"') {
			if ((next = copy_quoted(s, len, i, b)) >= (size_t)-2)
				return next;
			i = next;
		} else if (s[i] == '(') {
			if ((i = skip_comment(s, len, i)) == (size_t)-1)
				return i;
		} else if (s[i] == '<') {
			return (size_t)-1;
		} else {
			if (!is_ws(s[i]) && buf_putc(b, s[i]) == -1)
				return (size_t)-2;
			i++;
		}
	}
	return i < len ? i + 1 : (size_t)-1;
}

static enum rq_status
scan_error(size_t r, struct err *e)
{
	if (r == (size_t)-2)
		return err_set(e, RQ_DATAERR, "address too long");
	return err_set(e, RQ_DATAERR, "unbalanced quote, comment or angle "
	    "bracket in address list");
}

static enum rq_status
scan(struct alist *al, const char *s, size_t len, struct err *e)
{
	size_t i = 0, r;

	while (i < len) {
		char c = s[i];

		if (c == ',' || c == ';') {
			if (emit(al, e) != RQ_OK)
				return e->status;
			i++;
		} else if (c == ':' && !al->have_angle) {
			buf_reset(&al->plain);	/* group name */
			i++;
		} else if (c == '(') {
			if ((r = skip_comment(s, len, i)) == (size_t)-1)
				return scan_error(r, e);
			i = r;
		} else if (c == '"') {
			if ((r = copy_quoted(s, len, i, &al->plain)) >=
			    (size_t)-2)
				return scan_error(r, e);
			i = r;
		} else if (c == '<') {
			buf_reset(&al->angle);
			al->have_angle = 1;
			if ((r = copy_angle(s, len, i + 1, &al->angle)) >=
			    (size_t)-2)
				return scan_error(r, e);
			i = r;
		} else if (c == '>') {
			return scan_error((size_t)-1, e);
		} else {
			if (!is_ws(c) && buf_putc(&al->plain, c) == -1)
				return scan_error((size_t)-2, e);
			i++;
		}
	}
	return emit(al, e);
}

enum rq_status
addr_parse_list(const char *s, size_t len, addr_cb cb, void *arg,
    struct err *e)
{
	struct alist al;
	enum rq_status st;

	err_clear(e);
	/* A display name may be long; the address itself may not. */
	buf_init(&al.plain, 1024 * 1024);
	buf_init(&al.angle, ADDR_MAX);
	al.have_angle = 0;
	al.cb = cb;
	al.arg = arg;
	st = scan(&al, s, len, e);
	buf_free(&al.plain);
	buf_free(&al.angle);
	return st;
}

enum rq_status
addr_check(const char *addr, const char *what, struct err *e)
{
	const unsigned char *p;
	int quoted = 0;

	if (strlen(addr) > ADDR_MAX)
		return err_set(e, RQ_DATAERR, "%s: address longer than %d "
		    "bytes", what, ADDR_MAX);
	for (p = (const unsigned char *)addr; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return err_set(e, RQ_DATAERR, "%s: control character "
			    "in address", what);
		if (*p == '\\' && quoted && p[1] != '\0') {
			p++;	/* the escaped byte must pass the check too */
			if (*p < 0x20 || *p == 0x7f)
				return err_set(e, RQ_DATAERR, "%s: control "
				    "character in address", what);
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == ' ' || *p == '<' || *p == '>'))
			return err_set(e, RQ_DATAERR, "%s: malformed address "
			    "\"%.100s\"", what, addr);
	}
	if (quoted)
		return err_set(e, RQ_DATAERR, "%s: unbalanced quote in "
		    "address", what);
	return RQ_OK;
}

char *
addr_qualify(const char *addr, const char *domain)
{
	char *out;

	if (strchr(addr, '@') != NULL || domain == NULL || *domain == '\0')
		return strdup(addr);
	if (asprintf(&out, "%s@%s", addr, domain) == -1)
		return NULL;
	return out;
}

int
addr_is_utf8(const char *addr)
{
	for (; *addr != '\0'; addr++)
		if ((unsigned char)*addr >= 0x80)
			return 1;
	return 0;
}
