/*
 * cfg.c - read relayq.conf (INI, libinih) into a caller-owned struct cfg.
 *
 * Every key is checked as it is read; the first error is kept with the
 * key name and the line reader supplies its line, so the message reads
 * "FILE:LINE: KEY: what is wrong". Unknown sections and keys are errors.
 * Checks across keys and sections (cfg_finish, route_check) name the
 * line of the section or key they concern.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pwd.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "cfg.h"
#include "pattern.h"
#include "rate.h"
#include "secretcmd.h"

#ifndef RELAYQ_SPOOL_DIR
#define RELAYQ_SPOOL_DIR "/var/spool/relayq"
#endif

static const char default_retry[] = "1m 5m 15m 30m 1h 2h 4h";

struct cfg_parse {
	struct cfg *c;
	char msg[ERR_MSG_MAX];	/* first error, without file:line */
	int failed;
	unsigned char seen[64];	/* keys[] of [queue] and [local] set */
	unsigned char secseen[64];	/* keys[] set in this route/user */
	FILE *fp;
	int line;		/* the line libinih is at */
	int secline;		/* the line of the last section header */
	char cursec[128];	/* the section of the last key */
	void *cur;		/* its struct cfg_smarthost or cfg_user */
	int core_only;		/* read [queue] and [local] only */
	int skipping;		/* core_only: in another section */
	int partial;		/* the last chunk ended without a newline */
};

/* libinih (as Debian builds it) splits lines longer than this. */
#define CFG_LINE_MAX 198

int
cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* A decimal number with an optional one-letter unit from units/mult. */
static int
parse_scaled(const char *s, const char *units, const long long *mult,
    long long max, long long *out)
{
	char num[32];
	const char *errstr, *u;
	size_t n = strlen(s);
	long long v, m = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if (!isdigit((unsigned char)num[n - 1])) {
		if ((u = strchr(units, num[n - 1])) == NULL)
			return -1;
		m = mult[u - units];
		num[--n] = '\0';
		if (n == 0)
			return -1;
	}
	v = strtonum(num, 0, max, &errstr);
	if (errstr != NULL || v > max / m)
		return -1;
	*out = v * m;
	return 0;
}

int
cfg_parse_duration(const char *s, time_t *out)
{
	static const long long mult[] = { 1, 60, 3600, 86400, 604800 };
	long long v;

	if (parse_scaled(s, "smhdw", mult, INT_MAX, &v) == -1)
		return -1;
	*out = (time_t)v;
	return 0;
}

int
cfg_parse_size(const char *s, off_t *out)
{
	static const long long mult[] = { 1024, 1024, 1048576, 1048576,
		1073741824, 1073741824 };
	long long v;

	if (parse_scaled(s, "kKmMgG", mult, LLONG_MAX / 2, &v) == -1)
		return -1;
	*out = (off_t)v;
	return 0;
}

static int
parse_retry(struct cfg *c, const char *value)
{
	char tok[32];
	const char *p = value;
	size_t n = 0, len;
	time_t t;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		for (len = 0; p[len] != '\0' && p[len] != ' ' &&
		    p[len] != '\t' && p[len] != ','; len++)
			;
		if (n == CFG_RETRY_MAX || len >= sizeof(tok))
			return -1;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (cfg_parse_duration(tok, &t) == -1 || t == 0)
			return -1;
		c->retry[n++] = t;
		p += len;
	}
	if (n == 0)
		return -1;
	c->nretry = n;
	return 0;
}

static void
smarthost_defaults(struct cfg_smarthost *sh)
{
	memset(sh, 0, sizeof(*sh));
	sh->tls = TLS_MODE_STARTTLS;
	sh->tls_verify = 1;
	sh->auth = AUTH_AUTO;
	sh->connections = CFG_CONNECTIONS_DEFAULT;
}

void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->queue_dir = strdup(RELAYQ_SPOOL_DIR);
	parse_retry(c, default_retry);
	c->lifetime = 5 * 86400;
	c->max_size = 50 * 1048576;
	c->min_free_pct = 2;
	smarthost_defaults(&c->smarthost);
	c->smarthost.name = strdup("default");
}

static int
set_str(char **dst, const char *value)
{
	char *p = NULL;

	if (*value != '\0' && (p = strdup(value)) == NULL)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

/* Record the first error; libinih adds the line number. */
static int
bad(struct cfg_parse *cp, const char *key, const char *what)
{
	if (!cp->failed) {
		snprintf(cp->msg, sizeof(cp->msg), "%s: %s", key, what);
		cp->failed = 1;
	}
	return 0;
}

enum key_type {
	K_STR, K_BOOL, K_DURATION, K_SIZE, K_RETRY, K_PORT, K_TLS, K_AUTH,
	K_SENDERS,	/* a struct cfg_list of sender patterns */
	K_ALLOWED,	/* a struct cfg_list of allowed senders */
	K_FROM,		/* "Name <addr>" or "addr" */
	K_FROM_NAME,
	K_REWRITE,	/* always, foreign, no */
	K_ROUTE,	/* a route name, with its line */
	K_PRIORITY,	/* 1..5 */
	K_RATE,		/* N/day, N/hour, N/minute, ... */
	K_FALLBACK,	/* a route name, with its line */
	K_COMMAND,	/* password_command */
	K_COUNT,	/* a number of messages */
	K_MINFREE,	/* a size or a percentage of the file system */
	K_MAILQ_USERS,	/* anyone, or user names and @groups */
	K_LOG,		/* syslog, stderr or an absolute file path */
	K_CONNECTIONS,	/* 1..CFG_CONNECTIONS_MAX */
};

/*
 * A key of section (queue, local: offsets in struct cfg; smarthost,
 * either kind: in struct cfg_smarthost; user: in struct cfg_user; K_ROUTE
 * is a key of [user NAME] only).
 */
struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
};

#define O(f) offsetof(struct cfg, f)
#define SH(f) offsetof(struct cfg_smarthost, f)
#define US(f) offsetof(struct cfg_user, f)
static const struct key_def keys[] = {
	{ "queue", "dir", K_STR, O(queue_dir) },
	{ "queue", "retry", K_RETRY, 0 },
	{ "queue", "lifetime", K_DURATION, O(lifetime) },
	{ "queue", "max_size", K_SIZE, O(max_size) },
	{ "queue", "min_free", K_MINFREE, 0 },
	{ "queue", "user_max_queued", K_COUNT, O(user_max_queued) },
	{ "queue", "user_max_bytes", K_SIZE, O(user_max_bytes) },
	{ "local", "hostname", K_STR, O(hostname) },
	{ "local", "domain", K_STR, O(domain) },
	{ "local", "aliases", K_STR, O(aliases) },
	{ "local", "alert", K_STR, O(alert) },
	{ "local", "mailq_users", K_MAILQ_USERS, O(mailq_users) },
	{ "local", "log", K_LOG, O(log) },
	{ "smarthost", "host", K_STR, SH(host) },
	{ "smarthost", "port", K_PORT, SH(port) },
	{ "smarthost", "tls", K_TLS, SH(tls) },
	{ "smarthost", "tls_verify", K_BOOL, SH(tls_verify) },
	{ "smarthost", "ca_file", K_STR, SH(ca_file) },
	{ "smarthost", "fingerprint", K_STR, SH(fingerprint) },
	{ "smarthost", "cert_file", K_STR, SH(cert_file) },
	{ "smarthost", "key_file", K_STR, SH(key_file) },
	{ "smarthost", "auth", K_AUTH, SH(auth) },
	{ "smarthost", "user", K_STR, SH(user) },
	{ "smarthost", "password", K_STR, SH(password) },
	{ "smarthost", "password_file", K_STR, SH(password_file) },
	{ "smarthost", "plaintext_auth", K_BOOL, SH(plaintext_auth) },
	{ "smarthost", "timeout", K_DURATION, SH(timeout) },
	{ "smarthost", "password_command", K_COMMAND, SH(password_command) },
	{ "smarthost", "senders", K_SENDERS, SH(senders) },
	{ "user", "route", K_ROUTE, US(route) },
	{ "smarthost", "from", K_FROM, SH(from) },
	{ "smarthost", "from_name", K_FROM_NAME, SH(from_name) },
	{ "smarthost", "rewrite_from", K_REWRITE, SH(rewrite_from) },
	{ "smarthost", "allowed_senders", K_ALLOWED, SH(allowed) },
	{ "user", "allowed_senders", K_ALLOWED, US(allowed) },
	{ "user", "priority", K_PRIORITY, US(priority) },
	{ "user", "max_queued", K_COUNT, US(max_queued) },
	{ "user", "max_bytes", K_SIZE, US(max_bytes) },
	{ "smarthost", "rate", K_RATE, 0 },
	{ "smarthost", "fallback", K_FALLBACK, SH(fallback) },
	{ "smarthost", "connections", K_CONNECTIONS, SH(connections) },
};
#undef O
#undef SH
#undef US
_Static_assert(sizeof(keys) / sizeof(keys[0]) <=
    sizeof(((struct cfg_parse *)0)->seen), "cfg_parse.seen too small");

static const char *const tls_names[] = {
	[TLS_MODE_STARTTLS] = "starttls", [TLS_MODE_SMTPS] = "smtps",
	[TLS_MODE_NONE] = "none",
};
static const char *const auth_names[] = {
	[AUTH_AUTO] = "auto", [AUTH_PLAIN] = "plain", [AUTH_LOGIN] = "login",
	[AUTH_CRAM_MD5] = "cram-md5", [AUTH_XOAUTH2] = "xoauth2",
	[AUTH_OAUTHBEARER] = "oauthbearer", [AUTH_NONE] = "none",
};

static const char *const rewrite_names[] = {
	[REWRITE_NO] = "no", [REWRITE_FOREIGN] = "foreign",
	[REWRITE_ALWAYS] = "always",
};

const char *
cfg_tls_name(enum tls_mode m)
{
	return tls_names[m];
}

const char *
cfg_auth_name(enum auth_mech m)
{
	return auth_names[m];
}

static int
lookup_name(const char *const *names, size_t n, const char *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(names[i], value) == 0)
			return (int)i;
	return -1;
}

static int
valid_port(const char *value)
{
	const char *errstr;

	strtonum(value, 1, 65535, &errstr);
	return errstr == NULL;
}

/* "5%" (percent of the file system) or a size. */
static int
parse_min_free(struct cfg *c, const char *value)
{
	const char *errstr;
	char num[8];
	size_t n = strlen(value);
	long long pct;

	if (n > 0 && value[n - 1] == '%') {
		if (n - 1 == 0 || n - 1 >= sizeof(num))
			return -1;
		memcpy(num, value, n - 1);
		num[n - 1] = '\0';
		pct = strtonum(num, 0, 100, &errstr);
		if (errstr != NULL)
			return -1;
		c->min_free_pct = (int)pct;
		c->min_free = 0;
		return 0;
	}
	if (cfg_parse_size(value, &c->min_free) == -1)
		return -1;
	c->min_free_pct = -1;
	return 0;
}

static int
set_number(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
	const char *errstr;
	long long v;

	if (k->type == K_MINFREE) {
		if (parse_min_free(cp->c, value) == -1)
			return bad(cp, k->name, "expected a size (100M) or a "
			    "percentage from 0% to 100%");
		return 1;
	}
	v = strtonum(value, 0, 1000000000, &errstr);
	if (errstr != NULL)
		return bad(cp, k->name, "not a number from 0 to 1000000000");
	*(long long *)(void *)(base + k->off) = v;
	return 1;
}

/*
 * Split value at spaces, commas and semicolons into l (replacing what it
 * held); every word must pass valid(). -1 with *badword set (or NULL when
 * out of memory, or the list is empty).
 */
static int
parse_list(const char *value, struct cfg_list *l, int (*valid)(const char *),
    const char **badword)
{
	static char word[128];
	char *copy, *tok, *save = NULL, **v;
	size_t n = 0;

	*badword = NULL;
	if ((copy = strdup(value)) == NULL)
		return -1;
	cfg_list_free(l);
	for (tok = strtok_r(copy, " \t,;", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,;", &save)) {
		if (!valid(tok)) {
			strlcpy(word, tok, sizeof(word));
			*badword = word;
			break;
		}
		if ((v = array_grow(l->v, n, sizeof(*v))) == NULL)
			break;
		l->v = v;
		if ((l->v[n] = strdup(tok)) == NULL)
			break;
		l->n = ++n;
	}
	free(copy);
	return tok == NULL && n > 0 ? 0 : -1;
}

void
cfg_list_free(struct cfg_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
set_senders(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
	struct cfg_list *l = (struct cfg_list *)(void *)(base + k->off);
	char what[200];
	const char *w;

	if (cp->cur == &cp->c->smarthost)
		return bad(cp, k->name, "only in a [smarthost NAME] section "
		    "(the default route takes every sender no other route "
		    "takes)");
	if (parse_list(value, l, route_pattern_valid, &w) == -1) {
		if (w == NULL)
			return bad(cp, k->name, "expected patterns like "
			    "*@example.com, *@*.example.com or "
			    "user@example.com");
		snprintf(what, sizeof(what), "%.100s: not a sender pattern "
		    "(*@DOMAIN, *@*.DOMAIN or LOCAL@DOMAIN)", w);
		return bad(cp, k->name, what);
	}
	l->line = cp->line;
	return 1;
}

/* A display name: printable, no angle brackets; quotes around it go. */
static int
set_name(char **dst, const char *v, size_t n)
{
	size_t i;

	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		v++, n -= 2;
	if (n == 0 || n > 200)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || v[i] == '<' ||
		    v[i] == '>' || v[i] == '"')
			return -1;
	free(*dst);
	return (*dst = strndup(v, n)) == NULL ? -1 : 0;
}

/* from = Display Name <addr> | addr */
static int
set_from(struct cfg_parse *cp, const struct key_def *k,
    struct cfg_smarthost *sh, const char *value)
{
	const char *lt = strchr(value, '<'), *a = value;
	size_t n = strlen(value), i;

	if (lt != NULL) {
		if (value[n - 1] != '>' || (lt > value && set_name(
		    &sh->from_name, value, (size_t)(lt - value)) == -1))
			return bad(cp, k->name, "expected \"Display Name "
			    "<address>\" or an address (a name without "
			    "control characters, quotes or angle brackets)");
		sh->from_named = lt > value;
		a = lt + 1;
		n = (size_t)(value + n - 1 - a);
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f ||
		    strchr("<>()[],;:\\\"", a[i]) != NULL)
			break;
	if (i < n || n == 0 || memchr(a, '@', n) == NULL ||
	    a[0] == '@' || a[n - 1] == '@')
		return bad(cp, k->name, "not an address (local@domain, ASCII)");
	free(sh->from);
	return (sh->from = strndup(a, n)) == NULL ?
	    bad(cp, k->name, "out of memory") : 1;
}

static int
set_from_name(struct cfg_parse *cp, const struct key_def *k,
    struct cfg_smarthost *sh, const char *value)
{
	if (sh->from_named)
		return bad(cp, k->name, "the from key already gives the display "
		    "name");
	if (set_name(&sh->from_name, value, strlen(value)) == -1)
		return bad(cp, k->name, "a display name without control "
		    "characters, quotes or angle brackets");
	return 1;
}

/* allowed_senders: addresses and domains, kept as sender patterns. */
static int
set_allowed(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
	struct cfg_list *l = (struct cfg_list *)(void *)(base + k->off);
	char what[200], *p;
	const char *w;
	size_t i;

	if (*value == '\0') {		/* empty: every sender */
		cfg_list_free(l);
		l->line = cp->line;
		return 1;
	}
	if (parse_list(value, l, route_allowed_valid, &w) == -1) {
		if (w == NULL)
			return bad(cp, k->name, "expected addresses and domains "
			    "(user@example.com, example.com, *.example.com)");
		snprintf(what, sizeof(what), "%.100s: not an address or "
		    "domain (user@example.com, example.com, *.example.com)",
		    w);
		return bad(cp, k->name, what);
	}
	for (i = 0; i < l->n; i++) {
		if ((p = route_allowed_pattern(l->v[i])) == NULL)
			return bad(cp, k->name, "out of memory");
		free(l->v[i]);
		l->v[i] = p;
	}
	l->line = cp->line;
	return 1;
}

/* A word of mailq_users: a user name or @group (POSIX portable names). */
static int
mailq_word_valid(const char *w)
{
	size_t i;

	if (*w == '@')
		w++;
	if (*w == '\0' || *w == '-')
		return 0;
	for (i = 0; w[i] != '\0'; i++)
		if (!isalnum((unsigned char)w[i]) && w[i] != '.' &&
		    w[i] != '_' && w[i] != '-')
			return 0;
	return i <= 64;
}

/* mailq_users: "anyone" alone, or user names and @groups. */
static int
set_mailq_users(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
	struct cfg_list *l = (struct cfg_list *)(void *)(base + k->off);
	char what[200];
	const char *w;
	size_t i;

	if (parse_list(value, l, mailq_word_valid, &w) == -1) {
		if (w == NULL)
			return bad(cp, k->name, "expected anyone, or user names "
			    "and @groups (root, @adm, nagios)");
		snprintf(what, sizeof(what), "%.100s: not a user name or "
		    "@group", w);
		return bad(cp, k->name, what);
	}
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], "anyone") == 0 && l->n > 1)
			return bad(cp, k->name, "anyone stands alone (it "
			    "already means every user)");
	l->line = cp->line;
	return 1;
}

/* A key naming a route (route, fallback); *line gets its line. */
static int
set_route_name(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value, int *line)
{
	if (!route_name_valid(value))
		return bad(cp, k->name, "expected the NAME of a "
		    "[smarthost NAME] section, or default");
	*line = cp->line;
	return set_str((char **)(void *)(base + k->off), value) == -1 ?
	    bad(cp, k->name, "out of memory") : 1;
}

/* connections: parallel sessions of a route for a long queue. */
static int
set_connections(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
	const char *errstr;
	long long v;

	v = strtonum(value, 1, CFG_CONNECTIONS_MAX, &errstr);
	if (errstr != NULL)
		return bad(cp, k->name, "expected 1 to 20 (sessions at once "
		    "for a long queue; 1: one at a time)");
	*(unsigned *)(void *)(base + k->off) = (unsigned)v;
	return 1;
}

/* The keys of routes and users beyond an SMTP account's (set_key). */
static int
set_policy_key(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
	const char *errstr;
	int v;

	switch (k->type) {
	case K_SENDERS:
		return set_senders(cp, k, base, value);
	case K_ALLOWED:
		return set_allowed(cp, k, base, value);
	case K_COMMAND:
		if (*value != '\0' && !secretcmd_valid(value))
			return bad(cp, k->name, "unbalanced quotes, or no "
			    "command");
		return set_str((char **)(void *)(base + k->off), value) == -1 ?
		    bad(cp, k->name, "out of memory") : 1;
	case K_FALLBACK:
		return set_route_name(cp, k, base, value,
		    &((struct cfg_smarthost *)(void *)base)->fallback_line);
	case K_RATE:
		if (rate_parse(value, ((struct cfg_smarthost *)(void *)base)->rate,
		    &((struct cfg_smarthost *)(void *)base)->nrate) == -1)
			return bad(cp, k->name, "expected limits like \"100/day, "
			    "20/minute\" (N/day, N/hour or N/minute; N from 1 to "
			    "100000; at most 4, one per period)");
		return 1;
	case K_PRIORITY:
		if ((v = (int)strtonum(value, 1, 5, &errstr)) == 0 ||
		    errstr != NULL)
			return bad(cp, k->name, "expected 1 to 5 (3 is normal, "
			    "5 most urgent)");
		*(int *)(void *)(base + k->off) = v;
		return 1;
	case K_FROM:
		return set_from(cp, k, cp->cur, value);
	case K_FROM_NAME:
		return set_from_name(cp, k, cp->cur, value);
	case K_REWRITE:
		if ((v = lookup_name(rewrite_names, sizeof(rewrite_names) /
		    sizeof(rewrite_names[0]), value)) == -1)
			return bad(cp, k->name, "expected always, foreign or no");
		*(enum rewrite_mode *)(void *)(base + k->off) =
		    (enum rewrite_mode)v;
		return 1;
	case K_ROUTE:
		return set_route_name(cp, k, base, value,
		    &((struct cfg_user *)(void *)base)->route_line);
	case K_COUNT:
	case K_MINFREE:
		return set_number(cp, k, base, value);
	case K_MAILQ_USERS:
		return set_mailq_users(cp, k, base, value);
	case K_CONNECTIONS:
		return set_connections(cp, k, base, value);
	default:
		break;
	}
	return bad(cp, k->name, "internal error");
}

static int
set_key(struct cfg_parse *cp, const struct key_def *k, const char *value)
{
	char *base = strcmp(k->section, "smarthost") == 0 ||
	    strcmp(k->section, "user") == 0 ? cp->cur : (char *)cp->c;
	int v;

	switch (k->type) {
	case K_STR:
		if (set_str((char **)(void *)(base + k->off), value) == -1)
			return bad(cp, k->name, "out of memory");
		return 1;
	case K_BOOL:
		if (cfg_parse_bool(value, &v) == -1)
			return bad(cp, k->name, "expected yes or no");
		*(int *)(void *)(base + k->off) = v;
		return 1;
	case K_DURATION:
		if (cfg_parse_duration(value, (time_t *)(void *)(base + k->off))
		    == -1)
			return bad(cp, k->name, "not a duration (a number, "
			    "optionally s, m, h, d or w)");
		return 1;
	case K_SIZE:
		if (cfg_parse_size(value, (off_t *)(void *)(base + k->off)) == -1)
			return bad(cp, k->name,
			    "not a size (a number, optionally k, M or G)");
		return 1;
	case K_RETRY:
		if (parse_retry(cp->c, value) == -1)
			return bad(cp, k->name, "expected a list of durations "
			    "like \"1m 5m 1h\" (at most 32, none zero)");
		return 1;
	case K_LOG:
		if (strcmp(value, "syslog") != 0 &&
		    strcmp(value, "stderr") != 0 && value[0] != '/')
			return bad(cp, k->name, "expected syslog, stderr or "
			    "an absolute file path");
		return set_str((char **)(void *)(base + k->off), value) == -1 ?
		    bad(cp, k->name, "out of memory") : 1;
	case K_PORT:
		if (!valid_port(value))
			return bad(cp, k->name, "not a number from 1 to 65535");
		return set_str((char **)(void *)(base + k->off), value) == -1 ?
		    bad(cp, k->name, "out of memory") : 1;
	case K_TLS:
		if ((v = lookup_name(tls_names, sizeof(tls_names) /
		    sizeof(tls_names[0]), value)) == -1)
			return bad(cp, k->name, "expected starttls, smtps or none");
		*(enum tls_mode *)(void *)(base + k->off) = (enum tls_mode)v;
		return 1;
	case K_AUTH:
		if ((v = lookup_name(auth_names, sizeof(auth_names) /
		    sizeof(auth_names[0]), value)) == -1)
			return bad(cp, k->name, "expected auto, plain, login, "
			    "cram-md5, xoauth2, oauthbearer or none");
		*(enum auth_mech *)(void *)(base + k->off) =
		    (enum auth_mech)v;
		return 1;
	default:
		return set_policy_key(cp, k, base, value);
	}
	return bad(cp, k->name, "internal error");
}

/* The kind of a section name, or NULL when there is none. */
static const char *
section_kind(const char *section)
{
	static const char *const plain[] = { "queue", "local", "smarthost" };
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(section, plain[i]) == 0)
			return plain[i];
	if (strncmp(section, "smarthost ", 10) == 0)
		return "smarthost";
	if (strncmp(section, "user ", 5) == 0)
		return "user";
	return NULL;
}

/* A new [smarthost NAME] (checked by prescan) becomes the current one. */
static int
begin_route(struct cfg_parse *cp, const char *name)
{
	struct cfg *c = cp->c;
	struct cfg_smarthost *v;

	if ((v = array_grow(c->routes, c->nroutes, sizeof(*v))) == NULL)
		return -1;
	c->routes = v;
	v += c->nroutes;
	smarthost_defaults(v);
	v->line = cp->secline;
	if ((v->name = strdup(name)) == NULL)
		return -1;
	c->nroutes++;
	cp->cur = v;
	return 0;
}

/* A new [user NAME] (its user exists: checked by prescan). */
static int
begin_user(struct cfg_parse *cp, const char *name)
{
	struct cfg *c = cp->c;
	struct cfg_user *v;
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL)
		return -1;
	if ((v = array_grow(c->users, c->nusers, sizeof(*v))) == NULL)
		return -1;
	c->users = v;
	v += c->nusers;
	memset(v, 0, sizeof(*v));
	v->uid = pw->pw_uid;
	v->line = cp->secline;
	v->max_queued = -1;	/* as [queue] says */
	v->max_bytes = -1;
	if ((v->name = strdup(name)) == NULL)
		return -1;
	c->nusers++;
	cp->cur = v;
	return 0;
}

/* The keys that follow belong to section. */
static int
begin_section(struct cfg_parse *cp, const char *section)
{
	int r = 0;

	strlcpy(cp->cursec, section, sizeof(cp->cursec));
	memset(cp->secseen, 0, sizeof(cp->secseen));
	cp->cur = NULL;
	if (strcmp(section, "smarthost") == 0) {
		cp->cur = &cp->c->smarthost;
		cp->c->smarthost.line = cp->secline;
	} else if (strncmp(section, "smarthost ", 10) == 0)
		r = begin_route(cp, section + 10);
	else if (strncmp(section, "user ", 5) == 0)
		r = begin_user(cp, section + 5);
	if (r == -1) {
		cp->failed = 1;
		snprintf(cp->msg, sizeof(cp->msg), "[%.100s]: %s", section,
		    errno == ENOMEM ? "out of memory" : "cannot be set up");
	}
	return r;
}

static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *cp = user;
	const char *kind;
	char what[256];
	size_t i;

	if (cp->failed)
		return 1;	/* keep the first error only */
	if ((kind = section_kind(section)) == NULL) {	/* prescan said */
		cp->failed = 1;
		snprintf(cp->msg, sizeof(cp->msg), "[%.200s]: unknown section",
		    section);
		return 0;
	}
	if (strcmp(section, cp->cursec) != 0 &&
	    begin_section(cp, section) == -1)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, kind) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		/* An indented line continues the previous key in libinih:
		 * "given twice" is how that mistake shows. */
		if ((cp->cur != NULL ? cp->secseen : cp->seen)[i]++)
			return bad(cp, name, "given twice (note: an indented "
			    "line continues the previous value)");
		return set_key(cp, &keys[i], value);
	}
	snprintf(what, sizeof(what), "unknown key in [%.200s]", section);
	return bad(cp, name, what);
}

/* "FILE:LINE: [smarthost NAME]", or "FILE: [smarthost]" without a line. */
static const char *
route_where(const struct cfg *c, const struct cfg_smarthost *sh)
{
	static char where[ERR_MSG_MAX];

	if (sh->line > 0)
		snprintf(where, sizeof(where), "%s:%d: [smarthost%s%s]",
		    c->path, sh->line, sh == &c->smarthost ? "" : " ",
		    sh == &c->smarthost ? "" : sh->name);
	else
		snprintf(where, sizeof(where), "%s: [smarthost]", c->path);
	return where;
}

/* The checks of one route that involve several of its keys. */
static enum rq_status
finish_route(const struct cfg *c, struct cfg_smarthost *sh, struct err *e)
{
	const char *port = NULL;

	if (sh->port == NULL) {
		port = sh->tls == TLS_MODE_SMTPS ? "465" :
		    sh->tls == TLS_MODE_STARTTLS ? "587" : "25";
		if ((sh->port = strdup(port)) == NULL)
			return err_sys(e, RQ_INTERNAL, "strdup");
	}
	if (sh->host == NULL && sh != &c->smarthost)
		return err_set(e, RQ_CONFIG, "%s host: missing (every route "
		    "is a complete account)", route_where(c, sh));
	if (sh->host == NULL && (sh->user != NULL || sh->password != NULL))
		return err_set(e, RQ_CONFIG, "%s user/password given but no "
		    "host", route_where(c, sh));
	if ((sh->cert_file == NULL) != (sh->key_file == NULL))
		return err_set(e, RQ_CONFIG, "%s cert_file and key_file go "
		    "together", route_where(c, sh));
	if (sh->plaintext_auth && sh->host != NULL &&
	    !cfg_is_loopback(sh->host))
		return err_set(e, RQ_CONFIG, "%s plaintext_auth: only allowed "
		    "for a loopback host (127.0.0.1, ::1, localhost)",
		    route_where(c, sh));
	if ((sh->password != NULL) + (sh->password_file != NULL) +
	    (sh->password_command != NULL) > 1)
		return err_set(e, RQ_CONFIG, "%s password, password_file and "
		    "password_command: choose one", route_where(c, sh));
	if ((sh->auth == AUTH_XOAUTH2 || sh->auth == AUTH_OAUTHBEARER) &&
	    sh->user == NULL)
		return err_set(e, RQ_CONFIG, "%s auth = %s: needs user (the "
		    "account the token is for)", route_where(c, sh),
		    cfg_auth_name(sh->auth));
	if (sh->rewrite_from != REWRITE_NO && sh->from == NULL)
		return err_set(e, RQ_CONFIG, "%s rewrite_from: needs from (the "
		    "address to put in From)", route_where(c, sh));
	if (sh->from_name != NULL && sh->from == NULL)
		return err_set(e, RQ_CONFIG, "%s from_name: needs from",
		    route_where(c, sh));
	return RQ_OK;
}

/* The checks of [queue] and [local] that involve several keys. */
static enum rq_status
cfg_finish_core(struct cfg *c, struct err *e)
{
	if (c->queue_dir == NULL || c->queue_dir[0] != '/')
		return err_set(e, RQ_CONFIG, "%s: [queue] dir: must be an "
		    "absolute path", c->path);
	if (c->aliases != NULL && c->aliases[0] != '/')
		return err_set(e, RQ_CONFIG, "%s: [local] aliases: must be an "
		    "absolute path", c->path);
	if (c->lifetime <= 0)
		return err_set(e, RQ_CONFIG, "%s: [queue] lifetime: must be "
		    "more than 0", c->path);
	return RQ_OK;
}

/* Cross-key checks and defaults that depend on other keys. */
static enum rq_status route_check(const struct cfg *, struct err *);

static enum rq_status
cfg_finish(struct cfg *c, struct err *e)
{
	size_t i;

	if (cfg_finish_core(c, e) != RQ_OK)
		return RQ_CONFIG;
	if (finish_route(c, &c->smarthost, e) != RQ_OK)
		return RQ_CONFIG;
	for (i = 0; i < c->nroutes; i++)
		if (finish_route(c, &c->routes[i], e) != RQ_OK)
			return e->status;
	return route_check(c, e);
}

/*
 * The reason a "[section]" line is refused, or NULL when it is fine.
 * names collects the route and user sections seen so far ("\nNAME\n"),
 * so that one given twice is refused where it is given again.
 */
static const char *
section_problem(const char *line, size_t len, struct buf *names)
{
	static char name[128];
	const char *end = memchr(line, ']', len), *kind;
	char key[140];

	if (end == NULL)
		return "unterminated section name";
	snprintf(name, sizeof(name), "%.*s", (int)(end - line - 1), line + 1);
	if ((kind = section_kind(name)) == NULL)
		return "unknown section (expected queue, local, smarthost, "
		    "smarthost NAME or user NAME)";
	if (strcmp(kind, "queue") == 0 || strcmp(kind, "local") == 0)
		return NULL;
	if (strncmp(name, "smarthost ", 10) == 0 &&
	    (!route_name_valid(name + 10) ||
	    strcmp(name + 10, ROUTE_DEFAULT) == 0))
		return "a route NAME is letters, digits, '.', '-' and '_' "
		    "(and not \"default\", the name of [smarthost])";
	if (strcmp(name, "user ") == 0)
		return "missing the user name";
	if (strncmp(name, "user ", 5) == 0 && getpwnam(name + 5) == NULL)
		return "no such user on this system";
	snprintf(key, sizeof(key), "\n%s\n", name);
	if (strstr(buf_cstr(names), key) != NULL)
		return "section given twice";
	if (buf_puts(names, key + 1) == -1 || buf_putc(names, '\n') == -1)
		return "out of memory";
	return NULL;
}

/* The section_kind() of the header line p (at its '['), or NULL. */
static const char *
header_kind(const char *p)
{
	const char *end = strchr(p, ']');
	char name[CFG_LINE_MAX + 1];

	if (end == NULL || (size_t)(end - p - 1) >= sizeof(name))
		return NULL;
	memcpy(name, p + 1, (size_t)(end - p - 1));
	name[end - p - 1] = '\0';
	return section_kind(name);
}

/* Is the header line p (at its '[') one of [queue] or [local]? */
static int
header_is_core(const char *p)
{
	const char *k = header_kind(p);

	return k != NULL && (strcmp(k, "queue") == 0 || strcmp(k, "local") == 0);
}

/*
 * Does the header line p open a route or user section (well-formed or
 * not)? Only those are skipped when reading for submission: a header
 * that is none of the kinds might be a misspelt [queue] or [local].
 */
static int
header_is_route_or_user(const char *p)
{
	const char *k = header_kind(p);

	return k != NULL && (strcmp(k, "smarthost") == 0 ||
	    strcmp(k, "user") == 0);
}

/*
 * What libinih cannot report with the right line: over-long lines (it
 * splits them) and bad section names (it tells only at their first key,
 * and never for an empty section). The file is rewound afterwards.
 */
static enum rq_status
prescan(FILE *fp, const char *path, int core_only, struct err *e)
{
	struct buf names;
	char *line = NULL;
	const char *why, *p;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, skip = 0;
	enum rq_status st = RQ_OK;

	buf_init(&names, 1 << 20);
	(void)buf_putc(&names, '\n');
	while (st == RQ_OK && (n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (core_only && *p == '[')
			skip = !header_is_core(p) && header_is_route_or_user(p);
		if (skip)
			continue;
		if (n > CFG_LINE_MAX) {
			st = err_set(e, RQ_CONFIG, "%s:%d: line longer than %d "
			    "characters", path, lineno, CFG_LINE_MAX);
			break;
		}
		if (*p == '[' && (why = section_problem(p, strlen(p),
		    &names)) != NULL)
			st = err_set(e, RQ_CONFIG, "%s:%d: %.100s: %s", path,
			    lineno, p, why);
	}
	buf_free(&names);
	free(line);
	rewind(fp);
	return st;
}

/* libinih's line reader: counts lines and notes section headers. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *cp = stream;
	const char *p;

	if (fgets(str, num, cp->fp) == NULL)
		return NULL;
	if (cp->partial) {	/* the rest of a line split by fgets */
		cp->partial = strchr(str, '\n') == NULL;
		if (cp->skipping)
			str[0] = '\0';
		return str;
	}
	cp->partial = strchr(str, '\n') == NULL;
	cp->line++;
	for (p = str; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '[') {
		cp->secline = cp->line;
		if (cp->core_only)
			cp->skipping = !header_is_core(p) &&
			    header_is_route_or_user(p);
	}
	/* Reading for submission: the lines of routes and users are
	 * blank to libinih (their line numbers are kept). */
	if (cp->skipping)
		str[0] = '\0';
	return str;
}

/*
 * Open a file that must be a regular file: a directory, a device, a pipe
 * or a FIFO (-C /, -C /dev/stdin) would read as empty or block, and
 * silently give the defaults. O_NONBLOCK keeps the open of a FIFO from
 * waiting for a writer. what names the file's role in messages ("" for
 * none). NULL with errno kept and e set (status st).
 */
static FILE *
open_regular(const char *what, const char *path, enum rq_status st,
    struct err *e)
{
	struct stat sb;
	FILE *fp;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		saved = errno;
		err_sys(e, st, "%s%s: cannot open", what, path);
		errno = saved;
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (fp = fdopen(fd, "r")) == NULL) {
		saved = errno;
		if (S_ISREG(sb.st_mode))
			err_sys(e, st, "%s%s", what, path);
		else
			err_set(e, st, "%s%s: not a regular file", what, path);
		close(fd);
		errno = S_ISREG(sb.st_mode) ? saved : EINVAL;
		return NULL;
	}
	return fp;
}

/* cfg_load(), or with core_only [queue] and [local] alone. */
static enum rq_status
load(struct cfg *c, const char *path, int must_exist, int core_only,
    struct err *e)
{
	struct cfg_parse cp;
	FILE *fp;
	int line;

	cfg_defaults(c);
	if ((c->path = strdup(path)) == NULL || c->queue_dir == NULL)
		return err_sys(e, RQ_INTERNAL, "strdup");
	if ((fp = open_regular("", path, RQ_CONFIG, e)) == NULL) {
		if (errno == ENOENT && !must_exist)
			return cfg_finish(c, e);
		return RQ_CONFIG;
	}
	if (prescan(fp, path, core_only, e) != RQ_OK) {
		fclose(fp);
		return RQ_CONFIG;
	}
	memset(&cp, 0, sizeof(cp));
	cp.c = c;
	cp.fp = fp;
	cp.core_only = core_only;
	line = ini_parse_stream(cfg_reader, &cp, cfg_handler, &cp);
	fclose(fp);
	if (line == -2)
		return err_set(e, RQ_INTERNAL, "%s: out of memory", path);
	if (line != 0) {
		if (!cp.failed)
			snprintf(cp.msg, sizeof(cp.msg), "syntax error "
			    "(expected [section] or key = value)");
		return err_set(e, RQ_CONFIG, "%s:%d: %s", path, line, cp.msg);
	}
	return core_only ? cfg_finish_core(c, e) : cfg_finish(c, e);
}

enum rq_status
cfg_load(struct cfg *c, const char *path, int must_exist, struct err *e)
{
	return load(c, path, must_exist, 0, e);
}

enum rq_status
cfg_load_core(struct cfg *c, const char *path, int must_exist,
    struct err *problem, struct err *e)
{
	enum rq_status st;

	problem->status = RQ_OK;
	problem->msg[0] = '\0';
	if ((st = load(c, path, must_exist, 0, e)) != RQ_CONFIG)
		return st;
	*problem = *e;
	cfg_free(c);
	return load(c, path, must_exist, 1, e);
}

static void
smarthost_free(struct cfg_smarthost *sh)
{
	if (sh->password != NULL)
		explicit_bzero(sh->password, strlen(sh->password));
	free(sh->name);
	free(sh->host);
	free(sh->port);
	free(sh->ca_file);
	free(sh->fingerprint);
	free(sh->cert_file);
	free(sh->key_file);
	free(sh->user);
	free(sh->password);
	free(sh->password_file);
	free(sh->password_command);
	cfg_list_free(&sh->senders);
	cfg_list_free(&sh->allowed);
	free(sh->from);
	free(sh->from_name);
	free(sh->fallback);
}

void
cfg_free(struct cfg *c)
{
	size_t i;

	free(c->path);
	free(c->queue_dir);
	free(c->hostname);
	free(c->domain);
	free(c->aliases);
	free(c->alert);
	cfg_list_free(&c->mailq_users);
	free(c->log);
	smarthost_free(&c->smarthost);
	for (i = 0; i < c->nroutes; i++)
		smarthost_free(&c->routes[i]);
	free(c->routes);
	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].route);
		cfg_list_free(&c->users[i].allowed);
	}
	free(c->users);
	memset(c, 0, sizeof(*c));
}

/*
 * What to type so that this process (the queue runner, when it reads a
 * secret) may read path and nobody else may: the caller's own file, not
 * root's, keeps its owner (mode 0600); else root owns it and the
 * runner's group reads it (0640), the group relayq of an installation.
 */
static void
secret_fix(const char *path, const struct stat *st, char *out, size_t len)
{
	const struct group *gr;
	const char *g = "relayq";

	if (st != NULL && st->st_uid == geteuid() && geteuid() != 0) {
		snprintf(out, len, "chmod 0600 %s", path);
		return;
	}
	if (getegid() != 0 && (gr = getgrgid(getegid())) != NULL)
		g = gr->gr_name;
	snprintf(out, len, "chown root:%s %s && chmod 0640 %s", g, path,
	    path);
}

/* A secret must be a regular file nobody else may change or read. */
static enum rq_status
secret_mode_ok(const char *path, const struct stat *st, struct err *e)
{
	char fix[600];

	if (!S_ISREG(st->st_mode))
		return err_set(e, RQ_TEMP, "%s: not a regular file", path);
	if (st->st_mode & (S_IWGRP | S_IWOTH | S_IROTH)) {
		secret_fix(path, st, fix, sizeof(fix));
		return err_set(e, RQ_TEMP, "%s: refusing a secret that is "
		    "group-writable or world-accessible (mode %04o); fix: %s",
		    path, (unsigned)(st->st_mode & 07777), fix);
	}
	return RQ_OK;
}

/* open_regular()'s EACCES, with the command that gives access. */
static enum rq_status
secret_noaccess(const char *path, struct err *e)
{
	const struct passwd *pw = getpwuid(geteuid());
	char fix[600];
	struct stat st;

	secret_fix(path, stat(path, &st) == 0 ? &st : NULL, fix, sizeof(fix));
	return err_set(e, RQ_TEMP, "password_file %s: Permission denied to "
	    "user %s, who runs the queue; fix: %s", path, pw != NULL ?
	    pw->pw_name : "?", fix);
}

enum rq_status
cfg_secret_ok(const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return err_sys(e, RQ_TEMP, "%s", path);
	return secret_mode_ok(path, &st, e);
}

/* Read the first line of a secret file, refusing loose permissions. */
static enum rq_status
read_secret(const char *path, char **out, struct err *e)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	if ((fp = open_regular("password_file ", path, RQ_TEMP, e)) == NULL)
		return errno == EACCES ? secret_noaccess(path, e) : RQ_TEMP;
	if (fstat(fileno(fp), &st) == -1 ||
	    secret_mode_ok(path, &st, e) != RQ_OK) {
		fclose(fp);
		return RQ_TEMP;
	}
	n = getline(&line, &cap, fp);
	fclose(fp);
	if (n <= 0) {
		free(line);
		return err_set(e, RQ_TEMP, "password_file %s: empty", path);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*out = line;
	return RQ_OK;
}

enum rq_status
cfg_read_secret(const char *path, char **out, struct err *e)
{
	return read_secret(path, out, e);
}

enum rq_status
cfg_password(const struct cfg_smarthost *sh, char **out, struct err *e)
{
	*out = NULL;
	if (sh->password != NULL) {
		if ((*out = strdup(sh->password)) == NULL)
			return err_sys(e, RQ_INTERNAL, "strdup");
		return RQ_OK;
	}
	if (sh->password_file != NULL)
		return read_secret(sh->password_file, out, e);
	if (sh->password_command != NULL)
		return secretcmd_run(sh->password_command, (int)sh->timeout, out,
		    e);
	return RQ_OK;
}

int
cfg_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

const struct cfg_user *
cfg_user_find(const struct cfg *c, uid_t uid)
{
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (c->users[i].uid == uid)
			return &c->users[i];
	return NULL;
}

int
cfg_read_mailname(const char *path, char *out, size_t len)
{
	char line[256];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	n = 0;
	if (fgets(line, sizeof(line), fp) != NULL) {
		n = strcspn(line, " \t\r\n");
		line[n] = '\0';
	}
	fclose(fp);
	if (n == 0 || strlcpy(out, line, len) >= len)
		return -1;
	return 0;
}

/*
 * What the host says of itself, apart from any configuration: the
 * mailname file and this host's FQDN. They are facts of the machine, not
 * of a file, so they are looked up once per process, at the first need
 * (a submission with [local] hostname set never resolves anything), and
 * every struct cfg stays read-only after loading.
 */
static struct {
	int mailname_read;	/* CFG_MAILNAME was looked at */
	char mailname[256];	/* "": none */
	char fqdn[256];		/* "": not looked up yet */
} host;

static const char *
host_mailname(void)
{
	if (!host.mailname_read &&
	    cfg_read_mailname(CFG_MAILNAME, host.mailname,
	    sizeof(host.mailname)) == -1)
		host.mailname[0] = '\0';
	host.mailname_read = 1;
	return host.mailname[0] != '\0' ? host.mailname : NULL;
}

static const char *
host_fqdn(void)
{
	struct addrinfo hints, *res = NULL;
	char *name = host.fqdn;

	if (name[0] != '\0')
		return name;
	if (gethostname(name, sizeof(host.fqdn)) == -1)
		strlcpy(name, "localhost", sizeof(host.fqdn));
	name[sizeof(host.fqdn) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	if (strchr(name, '.') == NULL &&
	    getaddrinfo(name, NULL, &hints, &res) == 0 &&
	    res->ai_canonname != NULL)
		strlcpy(name, res->ai_canonname, sizeof(host.fqdn));
	if (res != NULL)
		freeaddrinfo(res);
	if (name[0] == '\0')
		strlcpy(name, "localhost", sizeof(host.fqdn));
	return name;
}

const char *
cfg_hostname(const struct cfg *c)
{
	const char *m;

	if (c->hostname != NULL)
		return c->hostname;
	/* Debian's visible mail name, when the admin set one. */
	if ((m = host_mailname()) != NULL)
		return m;
	return host_fqdn();
}

int
cfg_hostname_advice(const struct cfg *c, char *out, size_t len)
{
	const char *h = cfg_hostname(c);
	const char *dot = strchr(h, '.');

	*out = '\0';
	if (dot != NULL && dot != h && dot[1] != '\0')
		return 0;
	snprintf(out, len, "the host name \"%s\" (for EHLO and Message-ID) "
	    "is not a fully qualified domain name, which smarthosts may "
	    "refuse: set hostname = NAME.EXAMPLE.COM under [local] in %s "
	    "(relayq.conf(5))", h, c->path != NULL ? c->path :
	    RELAYQ_CONFIG_PATH);
	return 1;
}

const char *
cfg_domain(const struct cfg *c)
{
	if (c->domain != NULL)
		return c->domain;
	/* The mailname file names the domain even beside [local] hostname. */
	return host_mailname() != NULL ? host_mailname() : cfg_hostname(c);
}

/* ---- routes: lookup and the checks across sections ---- */

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

/*
 * The checks across sections, for cfg_finish(): every route named exists
 * (route, fallback), fallbacks form no cycle, and no route's senders are
 * all taken by an earlier route (it could never be chosen by them).
 * RQ_CONFIG with "FILE:LINE: KEY: why".
 */
static enum rq_status
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
