/*
 * rewrite.c - the route's address in MAIL FROM and in From (see
 * rewrite.h). Every field this file writes goes through put_field(), the
 * one place to change how a written field is laid out (folding).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "compat.h"
#include "addr.h"
#include "header.h"
#include "msghead.h"
#include "pattern.h"
#include "rewrite.h"

/* What the header block holds that decides the rewrite. */
struct head_info {
	const char *from;	/* the first From field's value, or NULL */
	size_t from_len;	/* without its final LF */
	char addr[ADDR_MAX + 1];	/* its address, or "" */
	int reply_to;		/* a Reply-To is there */
};

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

int
rewrite_foreign(const struct cfg_smarthost *sh, const char *addr)
{
	size_t i;

	if (sh->from != NULL && *domain_of(addr) != '\0' &&
	    strcasecmp(domain_of(addr), domain_of(sh->from)) == 0)
		return 0;
	for (i = 0; i < sh->senders.n; i++)
		if (route_pattern_match(sh->senders.v[i], addr))
			return 0;
	return 1;
}

const char *
rewrite_sender(const struct cfg_smarthost *sh, const char *sender)
{
	if (sh->from == NULL || *sender == '\0')
		return sender;
	if (sh->rewrite_from == REWRITE_FOREIGN &&
	    !rewrite_foreign(sh, sender))
		return sender;
	return sh->from;
}

/*
 * "Name: value\n"; value may hold folds (LF + white space). The field is
 * folded like every field relayq writes (header_fold_since): no line
 * over HEADER_LINE_SOFT octets where white space allows, none over
 * HEADER_LINE_MAX.
 */
static int
put_field(struct buf *out, const char *name, const char *value, size_t len)
{
	size_t start = out->len;

	if (buf_printf(out, "%s:", name) == -1 ||
	    (len > 0 && value[0] != ' ' && value[0] != '\t' &&
	    buf_putc(out, ' ') == -1) ||
	    buf_append(out, value, len) == -1 || buf_putc(out, '\n') == -1)
		return -1;
	return header_fold_since(out, start);
}

static int
keep_first(void *arg, const char *a)
{
	char *dst = arg;

	if (*dst == '\0')
		strlcpy(dst, a, ADDR_MAX + 1);
	return 0;
}

static void
scan_head(const char *text, size_t len, struct head_info *hi)
{
	size_t p, next, n;
	struct err e;

	memset(hi, 0, sizeof(*hi));
	for (p = 0; p < len; p = next) {
		next = msghead_field_end(text, len, p);
		if (header_is(text + p, next - p, "Reply-To"))
			hi->reply_to = 1;
		if (hi->from != NULL || !header_is(text + p, next - p, "From"))
			continue;
		n = (size_t)((const char *)memchr(text + p, ':', next - p) -
		    (text + p)) + 1;
		hi->from = text + p + n;
		hi->from_len = next - p - n;
		if (hi->from_len > 0 && hi->from[hi->from_len - 1] == '\n')
			hi->from_len--;
		(void)addr_parse_list(hi->from, hi->from_len, keep_first,
		    hi->addr, &e);
	}
}

static int
needs_rewrite(const struct cfg_smarthost *sh, const struct head_info *hi)
{
	if (sh->from == NULL || sh->rewrite_from == REWRITE_NO)
		return 0;
	if (hi->addr[0] != '\0' && strcasecmp(hi->addr, sh->from) == 0)
		return 0;
	return sh->rewrite_from == REWRITE_ALWAYS ||
	    hi->addr[0] == '\0' || rewrite_foreign(sh, hi->addr);
}

/* The display name of the original From (unfolded, trimmed) into out. */
static void
original_name(const struct head_info *hi, struct buf *out)
{
	const char *lt;
	size_t i, end;

	if (hi->from == NULL || (lt = memrchr(hi->from, '<',
	    hi->from_len)) == NULL)
		return;
	end = (size_t)(lt - hi->from);
	for (i = 0; i < end; i++)
		if (hi->from[i] != '\n' && hi->from[i] != '\r')
			(void)buf_putc(out, hi->from[i]);
	while (out->len > 0 && (out->data[out->len - 1] == ' ' ||
	    out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
	for (i = 0; i < out->len && (out->data[i] == ' ' ||
	    out->data[i] == '\t'); i++)
		;
	buf_consume(out, i);
}

/* The new From value into v: "Name <addr>" or "addr". */
static int
new_from(const struct cfg_smarthost *sh, const struct head_info *hi,
    struct buf *v)
{
	struct buf name;
	int r;

	if (sh->from_name != NULL) {	/* quoted or encoded as needed */
		if (header_add_from(v, sh->from_name, sh->from) == -1)
			return -1;
		buf_consume(v, 6);		/* "From: " */
		v->data[--v->len] = '\0';	/* its LF */
		return 0;
	}
	buf_init(&name, MSGHEAD_MAX);
	original_name(hi, &name);
	r = name.len > 0 ? buf_printf(v, "%s <%s>", buf_cstr(&name),
	    sh->from) : buf_puts(v, sh->from);
	buf_free(&name);
	return r;
}

/* Copy the fields of text into head, the From rewritten. */
static int
emit_head(const char *text, size_t len, const struct head_info *hi,
    const struct buf *from, struct buf *head)
{
	size_t p, next;
	int seen_from = 0, r = 0;

	for (p = 0; r == 0 && p < len; p = next) {
		next = msghead_field_end(text, len, p);
		if (header_is(text + p, next - p, "From")) {
			if (!seen_from++)
				r = put_field(head, "From", from->data,
				    from->len);
		} else if (!header_is(text + p, next - p, "Sender") &&
		    !header_is(text + p, next - p, "Return-Path")) {
			r = buf_append(head, text + p, next - p);
			if (r == 0 && text[next - 1] != '\n')
				r = buf_putc(head, '\n');	/* no body */
		}
	}
	if (r == 0 && !seen_from)
		r = put_field(head, "From", from->data, from->len);
	if (r == 0 && hi->from != NULL && !hi->reply_to)
		r = put_field(head, "Reply-To", hi->from, hi->from_len);
	return r;
}

enum rq_status
rewrite_block(const struct cfg_smarthost *sh, const char *text, size_t len,
    struct buf *head, struct err *e)
{
	struct head_info hi;
	struct buf from;
	int r;

	buf_reset(head);
	scan_head(text, len, &hi);
	if (!needs_rewrite(sh, &hi))
		return RQ_OK;
	buf_init(&from, MSGHEAD_MAX);
	r = new_from(sh, &hi, &from) == -1 ? -1 :
	    emit_head(text, len, &hi, &from, head);
	buf_free(&from);
	if (r == -1) {
		buf_reset(head);
		return err_sys(e, RQ_INTERNAL, "rewriting From");
	}
	return RQ_OK;
}

enum rq_status
rewrite_head(const struct cfg_smarthost *sh, int fd, off_t off, off_t len,
    struct buf *head, off_t *skip, struct err *e)
{
	struct buf raw;
	size_t hl;
	enum rq_status st;

	*skip = 0;
	buf_reset(head);
	if (sh->from == NULL || sh->rewrite_from == REWRITE_NO)
		return RQ_OK;
	buf_init(&raw, 2 * MSGHEAD_MAX);
	if ((st = msghead_read(fd, off, len, &raw, &hl, e)) == RQ_OK &&
	    (st = rewrite_block(sh, buf_cstr(&raw), hl, head, e)) == RQ_OK &&
	    head->len > 0)
		*skip = (off_t)hl;
	buf_free(&raw);
	if (st == RQ_PERM)
		err_set(e, RQ_PERM, "header longer than %d bytes: cannot "
		    "rewrite its From for route %s", MSGHEAD_MAX, sh->name);
	return st;
}
