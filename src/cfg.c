/*
 * cfg.c - read relayq.conf (INI, libinih) into a caller-owned struct cfg.
 *
 * Every key is checked as it is read; the first error is kept with the
 * key name and libinih supplies its line, so the message reads
 * "FILE:LINE: KEY: what is wrong". Unknown sections and keys are errors.
 * Keys of the design that this version does not implement are refused
 * with a clear message rather than accepted and ignored.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#ifndef RELAYQ_SPOOL_DIR
#define RELAYQ_SPOOL_DIR "/var/spool/relayq"
#endif

static const char default_retry[] = "1m 5m 15m 30m 1h 2h 4h";

struct cfg_parse {
	struct cfg *c;
	char msg[ERR_MSG_MAX];	/* first error, without file:line */
	int failed;
	unsigned char seen[64];	/* keys[] already set */
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
	char *copy, *tok, *save = NULL;
	size_t n = 0;
	time_t t;

	if ((copy = strdup(value)) == NULL)
		return -1;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		if (n == CFG_RETRY_MAX || cfg_parse_duration(tok, &t) == -1 ||
		    t == 0) {
			free(copy);
			return -1;
		}
		c->retry[n++] = t;
	}
	free(copy);
	if (n == 0)
		return -1;
	c->nretry = n;
	return 0;
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
	c->smarthost.tls = TLS_MODE_STARTTLS;
	c->smarthost.tls_verify = 1;
	c->smarthost.auth = AUTH_AUTO;
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
	K_COUNT, K_MINFREE,
	K_LATER,	/* in the design, not in this version */
};

/*
 * Section "user" stands for every [user NAME]: its offsets are in struct
 * cfg_user, the others' in struct cfg.
 */
struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
};

#define O(f) offsetof(struct cfg, f)
#define SH(f) (offsetof(struct cfg, smarthost) + \
	offsetof(struct cfg_smarthost, f))
#define U(f) offsetof(struct cfg_user, f)
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
	{ "smarthost", "password_command", K_LATER, 0 },
	{ "smarthost", "senders", K_LATER, 0 },
	{ "smarthost", "from", K_LATER, 0 },
	{ "smarthost", "rewrite_from", K_LATER, 0 },
	{ "smarthost", "allowed_senders", K_LATER, 0 },
	{ "smarthost", "rate", K_LATER, 0 },
	{ "smarthost", "fallback", K_LATER, 0 },
	{ "user", "max_queued", K_COUNT, U(max_queued) },
	{ "user", "max_bytes", K_SIZE, U(max_bytes) },
	{ "user", "allowed_senders", K_LATER, 0 },
	{ "user", "priority", K_LATER, 0 },
	{ "user", "route", K_LATER, 0 },
};
#undef O
#undef SH
#undef U

static const char *const tls_names[] = {
	[TLS_MODE_STARTTLS] = "starttls", [TLS_MODE_SMTPS] = "smtps",
	[TLS_MODE_NONE] = "none",
};
static const char *const auth_names[] = {
	[AUTH_AUTO] = "auto", [AUTH_PLAIN] = "plain", [AUTH_LOGIN] = "login",
	[AUTH_CRAM_MD5] = "cram-md5", [AUTH_XOAUTH2] = "xoauth2",
	[AUTH_NONE] = "none",
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

static int
set_key(struct cfg_parse *cp, const struct key_def *k, char *base,
    const char *value)
{
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
	case K_PORT:
		if (!valid_port(value))
			return bad(cp, k->name, "not a number from 1 to 65535");
		return set_str((char **)(void *)(base + k->off), value) == -1 ?
		    bad(cp, k->name, "out of memory") : 1;
	case K_TLS:
		if ((v = lookup_name(tls_names, sizeof(tls_names) /
		    sizeof(tls_names[0]), value)) == -1)
			return bad(cp, k->name, "expected starttls, smtps or none");
		cp->c->smarthost.tls = (enum tls_mode)v;
		return 1;
	case K_AUTH:
		if ((v = lookup_name(auth_names, sizeof(auth_names) /
		    sizeof(auth_names[0]), value)) == -1)
			return bad(cp, k->name, "expected auto, plain, login, "
			    "cram-md5, xoauth2 or none");
		cp->c->smarthost.auth = (enum auth_mech)v;
		return 1;
	case K_COUNT:
	case K_MINFREE:
		return set_number(cp, k, base, value);
	case K_LATER:
		return bad(cp, k->name, "not supported by this version of "
		    "relayq");
	}
	return bad(cp, k->name, "internal error");
}

/* The reason a section name is refused, or NULL when it is fine. */
static const char *
section_name_problem(const char *name)
{
	static const char *const sections[] = { "queue", "local",
	    "smarthost" };
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(name, sections[i]) == 0)
			return NULL;
	if (strncmp(name, "user ", 5) == 0) {
		if (name[5] == '\0')
			return "missing the user name";
		if (getpwnam(name + 5) == NULL)
			return "no such user (NAME must be a local user name)";
		return NULL;
	}
	if (strncmp(name, "smarthost ", 10) == 0)
		return "section not supported by this version of relayq";
	return "unknown section (expected queue, local, smarthost or user "
	    "NAME)";
}

/* The struct of [user NAME], added on its first key. NULL: no memory or
 * no such user. */
static struct cfg_user *
user_section(struct cfg *c, const char *name)
{
	struct cfg_user *u;
	struct passwd *pw;
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, name) == 0)
			return &c->users[i];
	if ((pw = getpwnam(name)) == NULL ||
	    (u = array_grow(c->users, c->nusers, sizeof(*u))) == NULL)
		return NULL;
	c->users = u;
	u += c->nusers;
	memset(u, 0, sizeof(*u));
	if ((u->name = strdup(name)) == NULL)
		return NULL;
	u->uid = pw->pw_uid;
	u->max_queued = -1;
	u->max_bytes = -1;
	c->nusers++;
	return u;
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

/* "Given twice": per file for the fixed sections, per [user NAME]. */
static int
seen_before(struct cfg_parse *cp, struct cfg_user *u, size_t i)
{
	unsigned long bit = 1ul << i;

	if (u == NULL)
		return cp->seen[i]++ != 0;
	if (u->seen & bit)
		return 1;
	u->seen |= bit;
	return 0;
}

static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse *cp = user;
	struct cfg_user *u = NULL;
	const char *why, *sect = section;
	char what[256], *base = (char *)cp->c;
	size_t i;

	if (cp->failed)
		return 1;	/* keep the first error only */
	if ((why = section_name_problem(section)) != NULL) {
		cp->failed = 1;
		snprintf(cp->msg, sizeof(cp->msg), "[%.200s]: %s", section,
		    why);
		return 0;
	}
	if (strncmp(section, "user ", 5) == 0) {
		if ((u = user_section(cp->c, section + 5)) == NULL)
			return bad(cp, name, "out of memory, or the user is "
			    "gone");
		sect = "user";
		base = (char *)u;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, sect) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		/* An indented line continues the previous key in libinih:
		 * "given twice" is how that mistake shows. */
		if (seen_before(cp, u, i))
			return bad(cp, name, "given twice (note: an indented "
			    "line continues the previous value)");
		return set_key(cp, &keys[i], base, value);
	}
	snprintf(what, sizeof(what), "unknown key in [%.200s]", section);
	return bad(cp, name, what);
}

/* Cross-key checks and defaults that depend on other keys. */
static enum rq_status
cfg_finish(struct cfg *c, struct err *e)
{
	struct cfg_smarthost *sh = &c->smarthost;
	const char *port = NULL;

	if (c->queue_dir == NULL || c->queue_dir[0] != '/')
		return err_set(e, RQ_CONFIG, "%s: [queue] dir: must be an "
		    "absolute path", c->path);
	if (c->aliases != NULL && c->aliases[0] != '/')
		return err_set(e, RQ_CONFIG, "%s: [local] aliases: must be an "
		    "absolute path", c->path);
	if (c->lifetime <= 0)
		return err_set(e, RQ_CONFIG, "%s: [queue] lifetime: must be "
		    "more than 0", c->path);
	if (sh->port == NULL) {
		port = sh->tls == TLS_MODE_SMTPS ? "465" :
		    sh->tls == TLS_MODE_STARTTLS ? "587" : "25";
		if ((sh->port = strdup(port)) == NULL)
			return err_sys(e, RQ_INTERNAL, "strdup");
	}
	if (sh->host == NULL && (sh->user != NULL || sh->password != NULL))
		return err_set(e, RQ_CONFIG, "%s: [smarthost] user/password "
		    "given but no host", c->path);
	if ((sh->cert_file == NULL) != (sh->key_file == NULL))
		return err_set(e, RQ_CONFIG, "%s: [smarthost] cert_file and "
		    "key_file go together", c->path);
	if (sh->plaintext_auth && sh->host != NULL &&
	    !cfg_is_loopback(sh->host))
		return err_set(e, RQ_CONFIG, "%s: [smarthost] plaintext_auth: "
		    "only allowed for a loopback host (127.0.0.1, ::1, "
		    "localhost)", c->path);
	if (sh->password != NULL && sh->password_file != NULL)
		return err_set(e, RQ_CONFIG, "%s: [smarthost] password and "
		    "password_file: choose one", c->path);
	return RQ_OK;
}

/* The reason a "[section]" line is refused, or NULL when it is fine. */
static const char *
section_problem(const char *line, size_t len)
{
	char name[128];
	const char *end = memchr(line, ']', len);

	if (end == NULL)
		return "unterminated section name";
	snprintf(name, sizeof(name), "%.*s", (int)(end - line - 1), line + 1);
	return section_name_problem(name);
}

/*
 * What libinih cannot report with the right line: over-long lines (it
 * splits them) and bad section names (it tells only at their first key,
 * and never for an empty section). The file is rewound afterwards.
 */
static enum rq_status
prescan(FILE *fp, const char *path, struct err *e)
{
	char *line = NULL;
	const char *why, *p;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	enum rq_status st = RQ_OK;

	while (st == RQ_OK && (n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > CFG_LINE_MAX) {
			st = err_set(e, RQ_CONFIG, "%s:%d: line longer than %d "
			    "characters", path, lineno, CFG_LINE_MAX);
			break;
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '[' && (why = section_problem(p, strlen(p))) != NULL)
			st = err_set(e, RQ_CONFIG, "%s:%d: %.100s: %s", path,
			    lineno, p, why);
	}
	free(line);
	rewind(fp);
	return st;
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

enum rq_status
cfg_load(struct cfg *c, const char *path, int must_exist, struct err *e)
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
	if (prescan(fp, path, e) != RQ_OK) {
		fclose(fp);
		return RQ_CONFIG;
	}
	memset(&cp, 0, sizeof(cp));
	cp.c = c;
	line = ini_parse_file(fp, cfg_handler, &cp);
	fclose(fp);
	if (line == -2)
		return err_set(e, RQ_INTERNAL, "%s: out of memory", path);
	if (line != 0) {
		if (!cp.failed)
			snprintf(cp.msg, sizeof(cp.msg), "syntax error "
			    "(expected [section] or key = value)");
		return err_set(e, RQ_CONFIG, "%s:%d: %s", path, line, cp.msg);
	}
	return cfg_finish(c, e);
}

void
cfg_free(struct cfg *c)
{
	struct cfg_smarthost *sh = &c->smarthost;

	if (sh->password != NULL)
		explicit_bzero(sh->password, strlen(sh->password));
	free(c->path);
	free(c->queue_dir);
	free(c->hostname);
	free(c->domain);
	free(c->aliases);
	free(sh->host);
	free(sh->port);
	free(sh->ca_file);
	free(sh->fingerprint);
	free(sh->cert_file);
	free(sh->key_file);
	free(sh->user);
	free(sh->password);
	free(sh->password_file);
	for (size_t i = 0; i < c->nusers; i++)
		free(c->users[i].name);
	free(c->users);
	memset(c, 0, sizeof(*c));
}

/* A secret must be a regular file nobody else may change or read. */
static enum rq_status
secret_mode_ok(const char *path, const struct stat *st, struct err *e)
{
	if (!S_ISREG(st->st_mode))
		return err_set(e, RQ_TEMP, "%s: not a regular file", path);
	if (st->st_mode & (S_IWGRP | S_IWOTH | S_IROTH))
		return err_set(e, RQ_TEMP, "%s: refusing a secret that is "
		    "group-writable or world-accessible (mode %04o; use 0600 "
		    "or 0640)", path, (unsigned)(st->st_mode & 07777));
	return RQ_OK;
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
		return RQ_TEMP;
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
cfg_password(const struct cfg *c, char **out, struct err *e)
{
	const struct cfg_smarthost *sh = &c->smarthost;

	*out = NULL;
	if (sh->password != NULL) {
		if ((*out = strdup(sh->password)) == NULL)
			return err_sys(e, RQ_INTERNAL, "strdup");
		return RQ_OK;
	}
	if (sh->password_file != NULL)
		return read_secret(sh->password_file, out, e);
	return RQ_OK;
}

enum rq_status
cfg_read_secret(const char *path, char **out, struct err *e)
{
	return read_secret(path, out, e);
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

const char *
cfg_hostname(struct cfg *c)
{
	struct addrinfo hints, *res = NULL;
	char name[256];

	if (c->hostname != NULL)
		return c->hostname;
	/* Debian's visible mail name, when the admin set one. */
	if (cfg_read_mailname(CFG_MAILNAME, name, sizeof(name)) == 0 &&
	    (c->hostname = strdup(name)) != NULL)
		return c->hostname;
	if (gethostname(name, sizeof(name)) == -1)
		strlcpy(name, "localhost", sizeof(name));
	name[sizeof(name) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	if (strchr(name, '.') == NULL &&
	    getaddrinfo(name, NULL, &hints, &res) == 0 &&
	    res->ai_canonname != NULL)
		strlcpy(name, res->ai_canonname, sizeof(name));
	if (res != NULL)
		freeaddrinfo(res);
	c->hostname = strdup(name);
	return c->hostname != NULL ? c->hostname : "localhost";
}

const char *
cfg_domain(struct cfg *c)
{
	char name[256];

	if (c->domain != NULL)
		return c->domain;
	if (cfg_read_mailname(CFG_MAILNAME, name, sizeof(name)) == 0)
		c->domain = strdup(name);
	if (c->domain == NULL)
		c->domain = strdup(cfg_hostname(c));
	return c->domain != NULL ? c->domain : "localhost";
}
