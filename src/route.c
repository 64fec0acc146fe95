/*
 * route.c - route lookup and selection by sender (see route.h).
 *
 * Patterns are parsed on every use: they are short, few, and keeping them
 * as the configuration's strings leaves one representation to get right.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "route.h"

enum pat_kind { PAT_DOMAIN, PAT_SUB, PAT_ADDR };

static int list_admits(const struct cfg_list *, const char *);

struct pat {
	enum pat_kind kind;
	const char *local;	/* PAT_ADDR */
	size_t llen;
	const char *domain;
};

int
route_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

static int
domain_ok(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && n <= 255 && strpbrk(d, "*@ \t,;<>()[]\\\"") == NULL &&
	    d[0] != '.' && d[n - 1] != '.';
}

/* s as a pattern; -1 when it is none. */
static int
pat_parse(const char *s, struct pat *p)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || at == s)
		return -1;
	p->local = s;
	p->llen = (size_t)(at - s);
	p->domain = at + 1;
	if (p->llen == 1 && s[0] == '*') {
		p->kind = PAT_DOMAIN;
		if (strncmp(p->domain, "*.", 2) == 0) {
			p->kind = PAT_SUB;
			p->domain += 2;
		}
	} else {
		p->kind = PAT_ADDR;
		if (memchr(s, '*', p->llen) != NULL ||
		    strcspn(s, " \t,;<>@") < p->llen)
			return -1;
	}
	return domain_ok(p->domain) ? 0 : -1;
}

int
route_pattern_valid(const char *s)
{
	struct pat p;

	return pat_parse(s, &p) == 0;
}

/* d is a proper subdomain of parent (case-insensitive). */
static int
is_subdomain(const char *d, const char *parent)
{
	size_t dl = strlen(d), pl = strlen(parent);

	return dl > pl + 1 && d[dl - pl - 1] == '.' &&
	    strcasecmp(d + dl - pl, parent) == 0;
}

/* Local part l[0..ll) is want[0..wl), or want+tag when want has no '+'. */
static int
local_match(const char *want, size_t wl, const char *l, size_t ll)
{
	if (ll == wl && memcmp(want, l, wl) == 0)
		return 1;
	return memchr(want, '+', wl) == NULL && ll > wl && l[wl] == '+' &&
	    memcmp(want, l, wl) == 0;
}

static int
pat_match(const struct pat *p, const char *local, size_t llen,
    const char *domain)
{
	switch (p->kind) {
	case PAT_DOMAIN:
		return strcasecmp(domain, p->domain) == 0;
	case PAT_SUB:
		return is_subdomain(domain, p->domain);
	case PAT_ADDR:
		return strcasecmp(domain, p->domain) == 0 &&
		    local_match(p->local, p->llen, local, llen);
	}
	return 0;
}

int
route_pattern_match(const char *pattern, const char *sender)
{
	const char *at = strrchr(sender, '@');
	struct pat p;

	if (at == NULL || at == sender || pat_parse(pattern, &p) == -1)
		return 0;
	return pat_match(&p, sender, (size_t)(at - sender), at + 1);
}

int
route_pattern_covers(const char *a, const char *b)
{
	struct pat pa, pb;

	if (pat_parse(a, &pa) == -1 || pat_parse(b, &pb) == -1)
		return 0;
	switch (pb.kind) {
	case PAT_ADDR:
		return pat_match(&pa, pb.local, pb.llen, pb.domain);
	case PAT_DOMAIN:
		return pa.kind == PAT_DOMAIN ?
		    strcasecmp(pa.domain, pb.domain) == 0 :
		    pa.kind == PAT_SUB && is_subdomain(pb.domain, pa.domain);
	case PAT_SUB:
		return pa.kind == PAT_SUB &&
		    (strcasecmp(pa.domain, pb.domain) == 0 ||
		    is_subdomain(pb.domain, pa.domain));
	}
	return 0;
}

size_t
route_count(const struct cfg *c)
{
	return 1 + c->nroutes;
}

const struct cfg_smarthost *
route_at(const struct cfg *c, size_t i)
{
	if (i == 0)
		return &c->smarthost;
	return i <= c->nroutes ? &c->routes[i - 1] : NULL;
}

const struct cfg_smarthost *
route_find(const struct cfg *c, const char *name)
{
	size_t i;

	if (strcmp(name, ROUTE_DEFAULT) == 0)
		return &c->smarthost;
	for (i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].name, name) == 0)
			return &c->routes[i];
	return NULL;
}

/* Non-zero when one of sh's sender patterns matches sender. */
static int
senders_match(const struct cfg_smarthost *sh, const char *sender)
{
	size_t i;

	for (i = 0; i < sh->senders.n; i++)
		if (route_pattern_match(sh->senders.v[i], sender))
			return 1;
	return 0;
}

const struct cfg_smarthost *
route_select(const struct cfg *c, const char *sender, uid_t uid)
{
	const struct cfg_smarthost *sh;
	const struct cfg_user *u;
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		if (senders_match(&c->routes[i], sender))
			return &c->routes[i];
	if ((u = cfg_user_find(c, uid)) != NULL && u->route != NULL &&
	    (sh = route_find(c, u->route)) != NULL)
		return sh;
	return &c->smarthost;
}

/* The earlier route (before index j) with a pattern covering pat. */
static const struct cfg_smarthost *
covered_by(const struct cfg *c, size_t j, const char *pat)
{
	size_t i, k;

	for (i = 0; i < j; i++)
		for (k = 0; k < c->routes[i].senders.n; k++)
			if (route_pattern_covers(c->routes[i].senders.v[k],
			    pat))
				return &c->routes[i];
	return NULL;
}

/* Route j can never be chosen by its senders: say so. */
static enum rq_status
shadowed(const struct cfg *c, size_t j, struct err *e)
{
	const struct cfg_smarthost *sh = &c->routes[j], *first = NULL, *by;
	size_t k;

	for (k = 0; k < sh->senders.n; k++) {
		if ((by = covered_by(c, j, sh->senders.v[k])) == NULL)
			return RQ_OK;
		if (first == NULL)
			first = by;
	}
	return err_set(e, RQ_CONFIG, "%s:%d: senders: every pattern is "
	    "already taken by an earlier route (%s by [smarthost %s], line "
	    "%d): [smarthost %s] can never be chosen by its senders",
	    c->path, sh->senders.line, sh->senders.v[0], first->name,
	    first->line, sh->name);
}

/* The fallbacks of route i: each exists, and the chain ends. */
static enum rq_status
check_fallback(const struct cfg *c, size_t i, struct err *e)
{
	const struct cfg_smarthost *sh = route_at(c, i), *p;
	char chain[ERR_MSG_MAX];
	size_t hops;

	if (sh->fallback == NULL)
		return RQ_OK;
	if (route_find(c, sh->fallback) == NULL)
		return err_set(e, RQ_CONFIG, "%s:%d: fallback: no [smarthost %s] "
		    "section", c->path, sh->fallback_line, sh->fallback);
	snprintf(chain, sizeof(chain), "%s", sh->name);
	for (p = sh, hops = 0; p->fallback != NULL && hops < route_count(c);
	    hops++) {
		if ((p = route_find(c, p->fallback)) == NULL)
			return RQ_OK;	/* reported at its own line */
		strlcat(chain, " -> ", sizeof(chain));
		strlcat(chain, p->name, sizeof(chain));
		if (p == sh)
			return err_set(e, RQ_CONFIG, "%s:%d: fallback: a cycle "
			    "(%s)", c->path, sh->fallback_line, chain);
	}
	return RQ_OK;
}

int
route_admits(const struct cfg_smarthost *sh, const char *sender)
{
	return (sh->senders.n == 0 || senders_match(sh, sender)) &&
	    list_admits(&sh->allowed, sender);
}

enum rq_status
route_check(const struct cfg *c, struct err *e)
{
	const struct cfg_user *u;
	size_t i;

	for (i = 0; i < route_count(c); i++)
		if (check_fallback(c, i, e) != RQ_OK)
			return RQ_CONFIG;

	for (i = 0; i < c->nusers; i++) {
		u = &c->users[i];
		if (u->route != NULL && route_find(c, u->route) == NULL)
			return err_set(e, RQ_CONFIG, "%s:%d: route: no "
			    "[smarthost %s] section", c->path, u->route_line,
			    u->route);
	}
	for (i = 1; i < c->nroutes; i++)
		if (c->routes[i].senders.n > 0 && shadowed(c, i, e) != RQ_OK)
			return RQ_CONFIG;
	return RQ_OK;
}

int
route_allowed_valid(const char *word)
{
	char pat[300];

	if (strchr(word, '@') != NULL)
		return route_pattern_valid(word);
	snprintf(pat, sizeof(pat), "*@%s", word);
	return strlen(word) < 256 && route_pattern_valid(pat);
}

char *
route_allowed_pattern(const char *word)
{
	char *p;

	if (strchr(word, '@') != NULL)
		return strdup(word);
	if (asprintf(&p, "*@%s", word) == -1)
		return NULL;
	return p;
}

/* Non-zero when list l is empty or one of its patterns matches sender. */
static int
list_admits(const struct cfg_list *l, const char *sender)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (route_pattern_match(l->v[i], sender))
			return 1;
	return l->n == 0;
}

enum rq_status
route_sender_allowed(const struct cfg *c, const char *sender, uid_t uid,
    const char *who, struct err *e)
{
	const struct cfg_user *u = cfg_user_find(c, uid);
	const struct cfg_smarthost *sh = route_select(c, sender, uid);

	if (u != NULL && !list_admits(&u->allowed, sender))
		return err_set(e, RQ_NOPERM, "sender <%s> not allowed for user "
		    "%s: not in [user %s] allowed_senders (%s:%d)", sender, who,
		    u->name, c->path, u->allowed.line);
	if (!list_admits(&sh->allowed, sender))
		return err_set(e, RQ_NOPERM, "sender <%s> not allowed for user "
		    "%s: not in [smarthost%s%s] allowed_senders (%s:%d)", sender,
		    who, sh == &c->smarthost ? "" : " ",
		    sh == &c->smarthost ? "" : sh->name, c->path,
		    sh->allowed.line);
	return RQ_OK;
}
