/*
 * aliases.c - read, check and expand an aliases file (see aliases.h).
 *
 * Reading: physical lines (bounded) are joined into entries, each entry
 * is split into its name and its targets; every mistake becomes a problem
 * with its line and the entry (or target) is left out. Entries are then
 * sorted by name for bsearch; a name given twice keeps its first entry.
 * Expansion is a depth-first walk bounded by ALIASES_DEPTH_MAX; each
 * entry is expanded at most once per recipient (a stamp per entry), so
 * the work is linear in the file whatever its shape.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "aliases.h"
#include "buf.h"

/* --- problems ----------------------------------------------------------- */

static int problem(struct aliases *al, int line, const char *fmt, ...)
    RQ_PRINTF(3, 4);

/* Record a problem; -1 only when memory runs out. */
static int
problem(struct aliases *al, int line, const char *fmt, ...)
{
	struct alias_problem *p;
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	if ((p = array_grow(al->p, al->np, sizeof(*p))) == NULL) {
		free(msg);
		return -1;
	}
	al->p = p;
	p[al->np].line = line;
	p[al->np].seq = al->np;
	p[al->np].msg = msg;
	al->np++;
	return 0;
}

static int
problem_cmp(const void *a, const void *b)
{
	const struct alias_problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* --- reading ------------------------------------------------------------ */

struct reader {
	struct aliases *al;
	struct buf entry;	/* the current entry, lines joined */
	int entry_line;		/* 0: none */
	int entry_bad;		/* already reported: swallow its lines */
	int full;		/* ALIASES_MAX reached and reported */
	int nomem;
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * One physical line into b (without its end of line), at most
 * ALIASES_LINE_MAX bytes kept; *bad says why the line cannot be used.
 * -1 at the end of the file.
 */
static int
read_line(FILE *fp, struct buf *b, const char **bad)
{
	int c, any = 0;

	buf_reset(b);
	*bad = NULL;
	while ((c = getc(fp)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (c == '\0')
			*bad = "NUL byte in line";
		else if (b->len >= ALIASES_LINE_MAX)
			*bad = "line too long (more than 4096 bytes)";
		else if (buf_putc(b, c) == -1)
			*bad = "out of memory";
	}
	if (!any)
		return -1;
	if (b->len > 0 && b->data[b->len - 1] == '\r')
		b->data[--b->len] = '\0';
	return 0;
}

/* Quoted name at s ('"'): unescaped into out; returns the end or NULL. */
static const char *
quoted_name(const char *s, struct buf *out)
{
	for (s++; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		if (buf_putc(out, *s) == -1)
			return NULL;
	}
	return *s == '"' ? s + 1 : NULL;
}

/* Split "name: value"; the problem text, or NULL with *value set. */
static const char *
split_name(const char *s, struct buf *name, const char **value)
{
	const char *p, *colon;

	if (*s == '"') {
		if ((p = quoted_name(s, name)) == NULL)
			return "unbalanced quote in the alias name";
		while (is_blank(*p))
			p++;
		if (*p != ':')
			return "expected ':' after the quoted alias name";
		*value = p + 1;
		return NULL;
	}
	if ((colon = strchr(s, ':')) == NULL)
		return "expected \"name: address, ...\" (no ':')";
	for (p = colon; p > s && is_blank(p[-1]); p--)
		;
	if (buf_append(name, s, (size_t)(p - s)) == -1)
		return "alias name too long";
	if (strpbrk(buf_cstr(name), " \t\"") != NULL)
		return "white space or quote in the alias name (quote the "
		    "whole name)";
	*value = colon + 1;
	return NULL;
}

/* What is wrong with an alias name, or NULL. */
static const char *
name_problem(const char *name)
{
	const unsigned char *p;

	if (*name == '\0')
		return "empty alias name";
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "control character in the alias name";
	if (strchr(name, '@') != NULL)
		return "an alias name is a local name, not an address";
	return NULL;
}

/* --- targets ------------------------------------------------------------ */

/* The entry being built from one "name: value" text. */
struct entry {
	struct aliases *al;
	struct alias a;
	int line;
	int full;		/* ALIASES_EXPAND_MAX targets: reported */
	int nomem;
};

/* Append a target unless the entry has it already; -1 on ENOMEM. */
static int
target_add(struct entry *en, const char *text, int supported)
{
	struct alias_target *t;
	size_t i;
	char *copy;

	for (i = 0; i < en->a.nt; i++)
		if (strcasecmp(en->a.t[i].text, text) == 0)
			return 0;
	if (en->a.nt == ALIASES_EXPAND_MAX) {
		if (en->full)
			return 0;
		en->full = 1;
		return problem(en->al, en->line, "%s: more than %d targets: "
		    "the rest are ignored", en->a.name, ALIASES_EXPAND_MAX);
	}
	if ((copy = strdup(text)) == NULL)
		return -1;
	if ((t = array_grow(en->a.t, en->a.nt, sizeof(*t))) == NULL) {
		free(copy);
		return -1;
	}
	en->a.t = t;
	t[en->a.nt].text = copy;
	t[en->a.nt].supported = supported;
	en->a.nt++;
	return 0;
}

static const char *
domain_problem(const char *d)
{
	const unsigned char *p;
	size_t n = strlen(d);

	if (n == 0)
		return "empty domain";
	if (d[0] == '[')
		return n > 2 && d[n - 1] == ']' ? NULL : "malformed domain "
		    "literal";
	if (d[0] == '.' || d[n - 1] == '.' || strstr(d, "..") != NULL)
		return "malformed domain";
	for (p = (const unsigned char *)d; *p != '\0'; p++)
		if (!(*p >= 0x80 || *p == '-' || *p == '.' ||
		    (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')))
			return "character not allowed in a domain (missing "
			    "comma?)";
	return NULL;
}

/* An address or local name fit to be a target, or the problem. */
static const char *
target_problem(const char *a)
{
	const char *p, *at;
	struct err e;

	if (addr_check(a, "target", &e) != RQ_OK)
		return "not a valid address";
	if (*a == '"') {
		for (p = a + 1; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p++ != '"')
			return "unbalanced quote";
		if (*p != '\0' && *p != '@')
			return "text after a quoted local part";
		at = *p == '@' ? p : NULL;
	} else {
		if (strchr(a, '"') != NULL)
			return "misplaced quote";
		at = strchr(a, '@');
		if (at != NULL && strchr(at + 1, '@') != NULL)
			return "more than one '@' (missing comma?)";
		if (at == a)
			return "empty local part";
	}
	return at != NULL ? domain_problem(at + 1) : NULL;
}

/* Targets relayq cannot honour, as sendmail and Postfix spell them. */
static const char *
unsupported(const char *s)
{
	const char *p = *s == '"' ? s + 1 : s;

	if (*p == '|')
		return "delivery to a command is not supported (relayq only "
		    "relays mail)";
	if (*p == '/')
		return "delivery to a file is not supported (relayq only "
		    "relays mail)";
	if (strncasecmp(p, ":include:", 9) == 0)
		return ":include: is not supported (list the addresses here)";
	return NULL;
}

static int
item_addr(void *arg, const char *a)
{
	struct entry *en = arg;
	const char *why;

	if ((why = target_problem(a)) != NULL)
		return problem(en->al, en->line, "%s: \"%.200s\": %s",
		    en->a.name, a, why) == -1 ? -1 : 0;
	return target_add(en, a, 1);
}

/* One comma-separated item of a value (s, len bytes). -1: ENOMEM. */
static int
parse_item(struct entry *en, const char *s, size_t len)
{
	const char *why;
	struct err e;
	char *item;
	int r = 0;

	while (len > 0 && is_blank(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if ((item = strndup(s, len)) == NULL)
		return -1;
	if ((why = unsupported(item)) != NULL) {
		if ((r = problem(en->al, en->line, "%s: %.200s: %s",
		    en->a.name, item, why)) == 0)
			r = target_add(en, item, 0);
	} else if (strpbrk(item, "<(\"") == NULL &&
	    strpbrk(item, " \t") != NULL) {
		r = problem(en->al, en->line, "%s: \"%.200s\": white space "
		    "inside an address (missing comma?)", en->a.name, item);
	} else if (addr_parse_list(item, len, item_addr, en, &e) != RQ_OK) {
		if (e.status == RQ_INTERNAL)
			r = -1;
		else
			r = problem(en->al, en->line, "%s: \"%.200s\": %s",
			    en->a.name, item, e.msg);
	}
	free(item);
	return r;
}

/* Split a value at the commas outside quotes, comments and <>. */
static int
parse_value(struct entry *en, const char *v)
{
	size_t i, start = 0, len = strlen(v);
	int q = 0, depth = 0, angle = 0;

	for (i = 0; i < len; i++) {
		if (q) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			else if (v[i] == '"')
				q = 0;
			continue;
		}
		if (v[i] == '"')
			q = 1;
		else if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && depth > 0)
			depth--;
		else if (v[i] == '<')
			angle = 1;
		else if (v[i] == '>')
			angle = 0;
		else if (v[i] == ',' && depth == 0 && !angle) {
			if (parse_item(en, v + start, i - start) == -1)
				return -1;
			start = i + 1;
		}
	}
	return parse_item(en, v + start, len - start);
}

static void
alias_free(struct alias *a)
{
	size_t i;

	for (i = 0; i < a->nt; i++)
		free(a->t[i].text);
	free(a->t);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

/* Append en->a to the table (it is consumed). -1 on ENOMEM. */
static int
entry_keep(struct aliases *al, struct entry *en)
{
	struct alias *v;

	if (en->a.nt == 0) {	/* every target was refused */
		alias_free(&en->a);
		return 0;
	}
	if ((v = array_grow(al->v, al->n, sizeof(*v))) == NULL) {
		alias_free(&en->a);
		return -1;
	}
	al->v = v;
	al->v[al->n++] = en->a;
	return 0;
}

/* Parse the entry gathered in r (if any). -1 on ENOMEM. */
static int
finish_entry(struct reader *r)
{
	struct entry en;
	struct buf name;
	const char *value = NULL, *why;
	size_t n;
	int line = r->entry_line, rc = 0;

	r->entry_line = 0;
	if (line == 0 || r->entry_bad) {
		r->entry_bad = 0;
		buf_reset(&r->entry);
		return 0;
	}
	buf_init(&name, ALIASES_ENTRY_MAX);
	if ((why = split_name(buf_cstr(&r->entry), &name, &value)) == NULL)
		why = name_problem(buf_cstr(&name));
	if (why != NULL) {
		rc = problem(r->al, line, "%s", why);
		goto done;
	}
	while (is_blank(*value))
		value++;
	for (n = strlen(value); n > 0 && is_blank(value[n - 1]); n--)
		;
	if (n == 0) {
		rc = problem(r->al, line, "%s: no targets", buf_cstr(&name));
		goto done;
	}
	if (r->al->n == ALIASES_MAX) {
		if (!r->full)
			rc = problem(r->al, line, "more than %d aliases: the "
			    "rest are ignored", ALIASES_MAX);
		r->full = 1;
		goto done;
	}
	memset(&en, 0, sizeof(en));
	en.al = r->al;
	en.line = line;
	en.a.line = line;
	en.a.vlen = n;
	if ((en.a.name = buf_steal(&name)) == NULL ||
	    parse_value(&en, value) == -1) {
		alias_free(&en.a);
		rc = -1;
	} else
		rc = entry_keep(r->al, &en);
done:
	buf_free(&name);
	buf_reset(&r->entry);
	return rc;
}

/* One physical line; -1 on ENOMEM. */
static int
take_line(struct reader *r, const struct buf *line, const char *bad,
    int lineno)
{
	const char *s = buf_cstr(line), *p;

	for (p = s; is_blank(*p); p++)
		;
	if (*p == '\0' || *p == '#')
		return 0;	/* blank or comment: ignored */
	if (is_blank(*s)) {
		if (r->entry_line == 0)
			return problem(r->al, lineno, "line starts with white "
			    "space (a continuation) but no alias precedes it");
		if (r->entry_bad)
			return 0;
		if (bad != NULL) {
			r->entry_bad = 1;
			return problem(r->al, lineno, "%s", bad);
		}
		if (buf_putc(&r->entry, ' ') == -1 ||
		    buf_puts(&r->entry, p) == -1) {
			if (errno == ENOMEM)
				return -1;
			r->entry_bad = 1;
			return problem(r->al, r->entry_line, "entry longer "
			    "than %d bytes", ALIASES_ENTRY_MAX);
		}
		return 0;
	}
	if (finish_entry(r) == -1)
		return -1;
	r->entry_line = lineno;
	if (bad != NULL) {
		r->entry_bad = 1;
		return problem(r->al, lineno, "%s", bad);
	}
	return buf_puts(&r->entry, s);
}

static int
alias_cmp(const void *a, const void *b)
{
	const struct alias *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort by name, keep the first of each name, total the sizes. */
static int
index_entries(struct aliases *al)
{
	size_t i, j = 0, sz;

	if (al->n > 0)
		qsort(al->v, al->n, sizeof(*al->v), alias_cmp);
	for (i = 0; i < al->n; i++) {
		if (j > 0 && strcasecmp(al->v[j - 1].name, al->v[i].name) ==
		    0) {
			if (problem(al, al->v[i].line, "duplicate alias "
			    "\"%s\" (first at line %d): ignored",
			    al->v[i].name, al->v[j - 1].line) == -1)
				return -1;
			alias_free(&al->v[i]);
			continue;
		}
		al->v[j++] = al->v[i];
	}
	al->n = j;
	for (i = 0; i < al->n; i++) {
		sz = al->v[i].vlen + 1;
		if (sz > al->longest)
			al->longest = sz;
		al->total += strlen(al->v[i].name) + 1 + sz;
	}
	if (al->np > 0)
		qsort(al->p, al->np, sizeof(*al->p), problem_cmp);
	return 0;
}

enum rq_status
aliases_read(struct aliases *al, FILE *fp, const char *name,
    const char *domain, struct err *e)
{
	struct reader r;
	struct buf line;
	const char *bad;
	int lineno = 0, nomem = 0;

	memset(al, 0, sizeof(*al));
	if ((al->path = strdup(name)) == NULL ||
	    (al->domain = strdup(domain)) == NULL)
		return err_sys(e, RQ_INTERNAL, "strdup");
	memset(&r, 0, sizeof(r));
	r.al = al;
	buf_init(&r.entry, ALIASES_ENTRY_MAX);
	buf_init(&line, ALIASES_LINE_MAX + 1);
	while (!nomem && lineno < 0x7fffffff &&
	    read_line(fp, &line, &bad) == 0)
		nomem = take_line(&r, &line, bad, ++lineno) == -1;
	if (!nomem)
		nomem = finish_entry(&r) == -1;
	buf_free(&line);
	buf_free(&r.entry);
	if (nomem || index_entries(al) == -1)
		return err_set(e, RQ_INTERNAL, "%s: out of memory", name);
	if (ferror(fp))
		return err_set(e, RQ_TEMP, "%s: read error", name);
	return RQ_OK;
}

enum rq_status
aliases_load(struct aliases *al, const char *path, const char *domain,
    struct err *e)
{
	enum rq_status rs;
	struct stat st;
	FILE *fp = NULL;
	int fd;

	memset(al, 0, sizeof(*al));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		rs = err_sys(e, errno == ENOENT ? RQ_NOINPUT : RQ_TEMP,
		    "aliases file %s", path);
	else if (fstat(fd, &st) == -1)
		rs = err_sys(e, RQ_TEMP, "aliases file %s", path);
	else if (!S_ISREG(st.st_mode))
		rs = err_set(e, RQ_TEMP, "aliases file %s: not a regular "
		    "file", path);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		rs = err_set(e, RQ_TEMP, "aliases file %s: refusing a file "
		    "that is group- or world-writable (mode %04o): anyone "
		    "could redirect mail", path,
		    (unsigned)(st.st_mode & 07777));
	else if ((fp = fdopen(fd, "r")) == NULL)
		rs = err_sys(e, RQ_TEMP, "aliases file %s", path);
	else
		rs = aliases_read(al, fp, path, domain, e);
	if (fp != NULL)
		fclose(fp);
	else if (fd != -1)
		close(fd);
	if (rs != RQ_OK)
		strlcpy(al->broken, e->msg[0] != '\0' ? e->msg :
		    "aliases file unusable", sizeof(al->broken));
	return rs;
}

void
aliases_free(struct aliases *al)
{
	size_t i;

	for (i = 0; i < al->n; i++)
		alias_free(&al->v[i]);
	for (i = 0; i < al->np; i++)
		free(al->p[i].msg);
	free(al->v);
	free(al->p);
	free(al->path);
	free(al->domain);
	memset(al, 0, sizeof(*al));
}

/* --- expansion ---------------------------------------------------------- */

struct walk {
	const struct aliases *al;
	struct aliases_exp *x;
	size_t cap;			/* of x->addr */
	size_t *slot, nslot;		/* hash of x->addr: index + 1 */
	unsigned *stamp, gen;		/* entries expanded, this rcpt */
	const struct alias *path[ALIASES_DEPTH_MAX];
	size_t added, emitted;		/* for the current recipient */
	int cut, deep;			/* reported for this recipient */
	struct aliases *check;		/* aliases_check: problems here */
	int nomem;
};

static int note(struct walk *w, const char *fmt, ...) RQ_PRINTF(2, 3);

static int
note(struct walk *w, const char *fmt, ...)
{
	struct aliases_exp *x = w->x;
	va_list ap;
	char *msg, **v;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r == -1 || (v = array_grow(x->notes, x->nnotes,
	    sizeof(*v))) == NULL) {
		if (r != -1)
			free(msg);
		w->nomem = 1;
		return -1;
	}
	x->notes = v;
	v[x->nnotes++] = msg;
	return 0;
}

static size_t
hash_ci(const char *s)
{
	size_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (size_t)(unsigned char)(*s | 0x20);
	return h;
}

static int
set_grow(struct walk *w)
{
	size_t n = w->nslot ? w->nslot * 2 : 64, i, h, *slot;

	if ((slot = calloc(n, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < w->x->n; i++) {
		for (h = hash_ci(w->x->addr[i]) & (n - 1); slot[h] != 0;
		    h = (h + 1) & (n - 1))
			;
		slot[h] = i + 1;
	}
	free(w->slot);
	w->slot = slot;
	w->nslot = n;
	return 0;
}

static const struct alias *
lookup(const struct aliases *al, const char *name)
{
	size_t lo = 0, hi = al->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcasecmp(name, al->v[mid].name)) == 0)
			return &al->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The alias a local address names (bare, or @ the local domain). */
static const struct alias *
local_alias(const struct aliases *al, const char *addr)
{
	char lp[ADDR_MAX + 1];
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr), i, j = 0;

	if ((at != NULL && strcasecmp(at + 1, al->domain) != 0) || n == 0 ||
	    n >= sizeof(lp))
		return NULL;
	if (addr[0] == '"' && n >= 2 && addr[n - 1] == '"') {
		for (i = 1; i < n - 1; i++) {
			if (addr[i] == '\\' && i + 1 < n - 1)
				i++;
			lp[j++] = addr[i];
		}
		lp[j] = '\0';
	} else {
		memcpy(lp, addr, n);
		lp[n] = '\0';
	}
	return lookup(al, lp);
}

/* "a -> b -> c" for path[from..depth) and last. */
static void
path_str(const struct walk *w, size_t from, size_t depth,
    const struct alias *last, char *out, size_t outsz)
{
	size_t i;

	out[0] = '\0';
	for (i = from; i < depth; i++) {
		strlcat(out, w->path[i]->name, outsz);
		strlcat(out, " -> ", outsz);
	}
	strlcat(out, last->name, outsz);
}

/* The expansion of the current recipient reached its size limit. */
static void
report_cut(struct walk *w)
{
	if (w->cut)
		return;
	w->cut = 1;
	if (w->check != NULL) {
		if (problem(w->check, w->path[0]->line, "%s: expands to more "
		    "than %d addresses", w->path[0]->name,
		    ALIASES_EXPAND_MAX) == -1)
			w->nomem = 1;
	} else
		note(w, "alias %s: expands to more than %d addresses: the "
		    "rest are dropped", w->path[0]->name, ALIASES_EXPAND_MAX);
}

/* Add text, qualified, to the result unless it is there already. */
static void
emit(struct walk *w, const char *text)
{
	struct aliases_exp *x = w->x;
	char *q, **v;
	size_t h;

	w->emitted++;
	if ((x->n + 1) * 2 > w->nslot && set_grow(w) == -1)
		goto nomem;
	if ((q = addr_qualify(text, w->al->domain)) == NULL)
		goto nomem;
	for (h = hash_ci(q) & (w->nslot - 1); w->slot[h] != 0;
	    h = (h + 1) & (w->nslot - 1))
		if (strcasecmp(x->addr[w->slot[h] - 1], q) == 0) {
			free(q);
			return;
		}
	if (w->added == ALIASES_EXPAND_MAX) {
		free(q);
		report_cut(w);
		return;
	}
	if (x->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		if ((v = reallocarray(x->addr, w->cap, sizeof(*v))) == NULL) {
			free(q);
			goto nomem;
		}
		x->addr = v;
	}
	x->addr[x->n] = q;
	w->slot[h] = ++x->n;
	w->added++;
	return;
nomem:
	w->nomem = 1;
}

/* A target names b, which is already on the path (not its parent a). */
static void
report_loop(struct walk *w, const struct alias *b, size_t depth,
    const char *target)
{
	char path[512];
	size_t i, from = 0;

	while (from < depth && w->path[from] != b)
		from++;
	path_str(w, from, depth, b, path, sizeof(path));
	if (w->check == NULL) {
		note(w, "alias loop %s: %s delivered as is", path, target);
		return;
	}
	/* Report each loop once: from its entry with the lowest line. */
	if (from != 0)
		return;
	for (i = 1; i < depth; i++)
		if (w->path[i]->line < b->line)
			return;
	if (problem(w->check, b->line, "%s: alias loop %s", b->name, path) ==
	    -1)
		w->nomem = 1;
}

static void
report_deep(struct walk *w, const struct alias *b, const char *target)
{
	char path[512];

	path_str(w, 0, ALIASES_DEPTH_MAX, b, path, sizeof(path));
	if (w->check == NULL)
		note(w, "aliases nested more than %d deep (%s): %s delivered "
		    "as is", ALIASES_DEPTH_MAX, path, target);
	else if (!w->deep && problem(w->check, w->path[0]->line, "%s: "
	    "aliases nested more than %d deep (%s)", w->path[0]->name,
	    ALIASES_DEPTH_MAX, path) == -1)
		w->nomem = 1;
	w->deep = 1;
}

/* Depth-first expansion of a, found at depth (1: the recipient). */
static void
expand_alias(struct walk *w, const struct alias *a, size_t depth)
{
	const struct alias_target *t;
	const struct alias *b;
	size_t i, j;

	w->stamp[a - w->al->v] = w->gen;
	w->path[depth - 1] = a;
	for (i = 0; i < a->nt && !w->nomem; i++) {
		t = &a->t[i];
		if (!t->supported) {
			if (w->check == NULL)
				note(w, "alias %s: skipped %.200s (not "
				    "supported by relayq)", a->name, t->text);
			continue;
		}
		if ((b = local_alias(w->al, t->text)) == NULL) {
			emit(w, t->text);
			continue;
		}
		for (j = 0; j < depth && w->path[j] != b; j++)
			;
		if (j < depth) {	/* on the path: deliver as is */
			if (b != a)
				report_loop(w, b, depth, t->text);
			emit(w, t->text);
		} else if (depth == ALIASES_DEPTH_MAX) {
			report_deep(w, b, t->text);
			emit(w, t->text);
		} else if (w->stamp[b - w->al->v] != w->gen)
			expand_alias(w, b, depth + 1);
	}
}

/* Start a recipient (or, for aliases_check, an entry). */
static void
walk_reset(struct walk *w)
{
	w->gen++;
	w->added = w->emitted = 0;
	w->cut = w->deep = 0;
}

static void
expand_rcpt(struct walk *w, const char *rcpt)
{
	const struct alias *a;

	walk_reset(w);
	if ((a = local_alias(w->al, rcpt)) == NULL) {
		emit(w, rcpt);
		return;
	}
	w->x->changed = 1;
	expand_alias(w, a, 1);
	if (w->emitted == 0 && !w->nomem) {
		note(w, "alias %s: nothing relayq can deliver: %s kept as is",
		    a->name, rcpt);
		emit(w, rcpt);
	}
}

static enum rq_status
walk_init(struct walk *w, const struct aliases *al, struct err *e)
{
	memset(w, 0, sizeof(*w));
	w->al = al;
	if (al->n > 0 && (w->stamp = calloc(al->n, sizeof(*w->stamp))) ==
	    NULL)
		return err_sys(e, RQ_INTERNAL, "calloc");
	return RQ_OK;
}

enum rq_status
aliases_expand(const struct aliases *al, const char *const *rcpts,
    size_t n, struct aliases_exp *x, struct err *e)
{
	struct walk w;
	size_t i;

	memset(x, 0, sizeof(*x));
	if (walk_init(&w, al, e) != RQ_OK)
		return RQ_INTERNAL;
	w.x = x;
	for (i = 0; i < n && !w.nomem; i++)
		expand_rcpt(&w, rcpts[i]);
	free(w.stamp);
	free(w.slot);
	if (w.nomem) {
		aliases_exp_free(x);
		return err_set(e, RQ_INTERNAL, "out of memory expanding "
		    "aliases");
	}
	return RQ_OK;
}

enum rq_status
aliases_check(struct aliases *al, struct err *e)
{
	struct aliases_exp x;
	struct walk w;
	size_t i;

	if (walk_init(&w, al, e) != RQ_OK)
		return RQ_INTERNAL;
	w.check = al;
	for (i = 0; i < al->n && !w.nomem; i++) {
		memset(&x, 0, sizeof(x));
		w.x = &x;
		w.cap = 0;
		free(w.slot);
		w.slot = NULL;
		w.nslot = 0;
		walk_reset(&w);
		expand_alias(&w, &al->v[i], 1);
		aliases_exp_free(&x);
	}
	free(w.stamp);
	free(w.slot);
	if (w.nomem)
		return err_set(e, RQ_INTERNAL, "out of memory checking "
		    "aliases");
	if (al->np > 0)
		qsort(al->p, al->np, sizeof(*al->p), problem_cmp);
	return RQ_OK;
}

void
aliases_exp_free(struct aliases_exp *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->addr[i]);
	for (i = 0; i < x->nnotes; i++)
		free(x->notes[i]);
	free(x->addr);
	free(x->notes);
	memset(x, 0, sizeof(*x));
}
