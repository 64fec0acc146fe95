/*
 * qualify.c - "@domain" after the bare local parts of address fields.
 *
 * One pass over the value: a lexer that skips white space, folding and
 * (nested) comments and returns words (atoms, quoted strings), domain
 * literals and specials; a parser that follows RFC 5322's address-list
 * (mailbox, name-addr, angle-addr with an obsolete route, group) and
 * remembers, per mailbox, where its local part ends. Only a mailbox that
 * is a local part alone ("root", "<bob>", "\"a b\"") is qualified. The
 * output is the input with "@domain" spliced in at those places, so
 * everything else stays byte for byte. Anything the grammar does not
 * allow makes the whole field "unparseable", and it is left alone.
 * Linear time, no recursion: comments nest by a counter.
 */
#include "config.h"

#include <string.h>

#include "header.h"
#include "qualify.h"

enum tok { T_END, T_WORD, T_EWORD, T_LITERAL, T_SPECIAL, T_BAD };

struct lex {
	const char *p;
	size_t i, n;
};

/* Where a mailbox's local part stands. */
enum lp { LP_START, LP_WORD, LP_DOT, LP_BAD };

struct mbox {
	size_t words;	/* words and dots seen */
	enum lp lp;
	int at;		/* its '@' was seen: it has a domain */
	int done;	/* closed by '>' or a group's ';' */
	size_t ins;	/* just after the local part's last word */
};

struct qual {
	const char *f;
	size_t len, copied;
	const char *domain;
	struct buf *out;
	int group;
};

static const char *const fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Resent-From", "Resent-Sender", "Resent-Reply-To", "Resent-To",
	"Resent-Cc", "Resent-Bcc",
};

int
qualify_is_address_field(const char *f, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (header_is(f, len, fields[i]))
			return 1;
	return 0;
}

/* ---- the lexer ------------------------------------------------------ */

static int
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;	/* RFC 6532: UTF-8 in addresses */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Skip white space, folding and comments; -1 for an unclosed comment. */
static int
skip_cfws(struct lex *l)
{
	size_t depth = 0;

	for (; l->i < l->n; l->i++) {
		char c = l->p[l->i];

		if (c == '\\' && depth > 0) {
			if (++l->i == l->n)
				return -1;
		} else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\n' &&
		    c != '\r')
			break;
	}
	return depth == 0 ? 0 : -1;
}

/* Past the quoted string or domain literal opened at l->i, up to close. */
static enum tok
lex_delimited(struct lex *l, char close, enum tok kind)
{
	for (l->i++; l->i < l->n; l->i++) {
		char c = l->p[l->i];

		if (c == '\\') {
			if (++l->i == l->n)
				return T_BAD;
		} else if (c == close) {
			l->i++;
			return kind;
		} else if (close == ']' && c == '[')
			return T_BAD;
	}
	return T_BAD;
}

/* An RFC 2047 encoded word is a display name, never a local part. */
static int
is_encoded_word(const char *p, size_t n)
{
	return n >= 8 && p[0] == '=' && p[1] == '?' && p[n - 2] == '?' &&
	    p[n - 1] == '=';
}

/* The next token: [*a, l->i) is its text; *c the special character. */
static enum tok
lex_next(struct lex *l, size_t *a, char *c)
{
	unsigned char u;

	if (skip_cfws(l) == -1)
		return T_BAD;
	*a = l->i;
	if (l->i == l->n)
		return T_END;
	u = (unsigned char)l->p[l->i];
	*c = (char)u;
	if (u == '"')
		return lex_delimited(l, '"', T_WORD);
	if (u == '[')
		return lex_delimited(l, ']', T_LITERAL);
	if (is_atext(u)) {
		while (l->i < l->n && is_atext((unsigned char)l->p[l->i]))
			l->i++;
		return is_encoded_word(l->p + *a, l->i - *a) ? T_EWORD :
		    T_WORD;
	}
	if (strchr("<>:;@,.", u) == NULL || u == '\0')
		return T_BAD;	/* ')', ']', '\\', controls */
	l->i++;
	return T_SPECIAL;
}

/* ---- the parser ----------------------------------------------------- */

static void
lp_word(struct mbox *m, enum tok k, size_t end)
{
	m->words++;
	if (m->at)
		return;		/* the domain */
	if (k == T_EWORD || m->lp == LP_WORD || m->lp == LP_BAD)
		m->lp = LP_BAD;	/* a phrase: a display name at most */
	else {
		m->lp = LP_WORD;
		m->ins = end;
	}
}

static void
lp_dot(struct mbox *m)
{
	m->words++;
	if (!m->at)
		m->lp = m->lp == LP_WORD ? LP_DOT : LP_BAD;
}

/* Splice "@domain" in at q->f[ins]; -1 when out cannot grow. */
static int
splice(struct qual *q, size_t ins)
{
	if (buf_append(q->out, q->f + q->copied, ins - q->copied) == -1 ||
	    buf_putc(q->out, '@') == -1 || buf_puts(q->out, q->domain) == -1)
		return -1;
	q->copied = ins;
	return 0;
}

/*
 * A mailbox ends (',' ';' or the end): 0 when it is fine as it is or was
 * qualified, 1 when it does not parse, -1 when out cannot grow.
 */
static int
finish(struct qual *q, const struct mbox *m)
{
	if (m->done || m->at || (m->lp == LP_START && m->words == 0))
		return 0;	/* closed, has a domain, or empty */
	if (m->lp != LP_WORD)
		return 1;
	return splice(q, m->ins);
}

/* An obsolete route "@a,@b:" inside "<...>" (its first '@' read). */
static int
skip_route(struct lex *l)
{
	size_t a;
	char c = 0;
	enum tok k;

	while ((k = lex_next(l, &a, &c)) != T_END && k != T_BAD)
		if (k == T_SPECIAL && c == ':')
			return 0;
		else if (k == T_SPECIAL && c != '@' && c != ',' && c != '.')
			return 1;
	return 1;
}

/* An angle-addr, '<' read: 0, 1 (does not parse) or -1 as finish(). */
static int
angle(struct qual *q, struct lex *l)
{
	struct mbox in = { 0, LP_START, 0, 0, 0 };
	size_t a;
	char c = 0;
	enum tok k;

	for (;;) {
		k = lex_next(l, &a, &c);
		if (k == T_WORD || k == T_EWORD)
			lp_word(&in, k, l->i);
		else if (k == T_LITERAL && !in.at)
			return 1;
		else if (k == T_SPECIAL && c == '.')
			lp_dot(&in);
		else if (k == T_SPECIAL && c == '@' && in.words == 0) {
			if (skip_route(l) != 0)
				return 1;
		} else if (k == T_SPECIAL && c == '@' && !in.at &&
		    in.lp == LP_WORD)
			in.at = 1;
		else if (k == T_SPECIAL && c == '>')
			break;
		else if (k != T_LITERAL)
			return 1;
	}
	if (in.at || in.words == 0)
		return 0;	/* has a domain, or the null address <> */
	return in.lp == LP_WORD ? splice(q, in.ins) : 1;
}

/* A special outside "<...>": 0, 1 (does not parse) or -1. */
static int
special(struct qual *q, struct lex *l, struct mbox *m, char c)
{
	static const struct mbox fresh = { 0, LP_START, 0, 0, 0 };
	int r;

	if (c != ',' && c != ';' && m->done)
		return 1;
	switch (c) {
	case '.':
		lp_dot(m);
		return 0;
	case '@':
		if (m->at || m->lp != LP_WORD)
			return 1;
		m->at = 1;
		return 0;
	case '<':
		if (m->at || (r = angle(q, l)) != 0)
			return m->at ? 1 : r;
		m->done = 1;
		return 0;
	case ':':
		if (q->group || m->at || m->words == 0)
			return 1;
		q->group = 1;
		*m = fresh;
		return 0;
	case ';':
	case ',':
		if ((c == ';' && !q->group) || (r = finish(q, m)) != 0)
			return c == ';' && !q->group ? 1 : r;
		*m = fresh;
		m->done = c == ';';
		q->group = q->group && c == ',';
		return 0;
	}
	return 1;
}

/* The value from l's position: 0 when it parsed, 1 when not, -1. */
static int
parse_list(struct qual *q, struct lex *l)
{
	struct mbox m = { 0, LP_START, 0, 0, 0 };
	size_t a;
	char c = 0;
	enum tok k;
	int r;

	for (;;) {
		switch ((k = lex_next(l, &a, &c))) {
		case T_WORD:
		case T_EWORD:
			if (m.done)
				return 1;
			lp_word(&m, k, l->i);
			break;
		case T_LITERAL:
			if (!m.at || m.done)
				return 1;
			break;
		case T_SPECIAL:
			if ((r = special(q, l, &m, c)) != 0)
				return r;
			break;
		case T_END:
			return q->group ? 1 : finish(q, &m);
		default:
			return 1;
		}
	}
}

int
qualify_field(const char *f, size_t len, const char *domain,
    struct buf *out)
{
	struct qual q = { f, len, 0, domain, out, 0 };
	struct lex l;
	const char *colon;
	int r;

	buf_reset(out);
	if (domain == NULL || *domain == '\0' ||
	    !qualify_is_address_field(f, len) ||
	    (colon = memchr(f, ':', len)) == NULL)
		return 0;
	l.p = f;
	l.i = (size_t)(colon + 1 - f);
	l.n = len;
	r = parse_list(&q, &l);
	if (r == 0 && q.copied > 0 &&
	    buf_append(out, f + q.copied, len - q.copied) == 0)
		return 1;
	buf_reset(out);
	return r == -1 || (r == 0 && q.copied > 0) ? -1 : 0;
}
