/*
 * pattern.c - route names, sender patterns and allowed_senders words:
 * their syntax and matching (see pattern.h).
 *
 * Patterns are parsed on every use: they are short, few, and keeping them
 * as the configuration's strings leaves one representation to get right.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "pattern.h"

enum pat_kind { PAT_DOMAIN, PAT_SUB, PAT_ADDR };

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
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
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
