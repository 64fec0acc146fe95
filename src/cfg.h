/*
 * cfg.h - the configuration file (INI, libinih), see relayq.conf(5).
 *
 * cfg_load() reads the file once into a struct cfg the caller owns; there
 * is no global configuration. Every error names the file, the line and the
 * key ("relayq.conf:12: port: not a number") and returns RQ_CONFIG.
 * Unknown sections and keys are errors, so that a typo never silently
 * changes where mail goes. Secrets are not read here: cfg_password() reads
 * them only in the process that needs them (the runner).
 */
#ifndef RELAYQ_CFG_H
#define RELAYQ_CFG_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "err.h"
#include "proto.h"

#define CFG_RETRY_MAX 32
#define CFG_RATE_MAX 4

/* rewrite_from: which messages get the route's address in From. */
enum rewrite_mode {
	REWRITE_NO,
	REWRITE_FOREIGN,	/* senders outside the route's domains */
	REWRITE_ALWAYS,
};

/* One sending limit of a route: limit messages per window seconds. */
struct cfg_rate {
	unsigned limit;
	time_t window;
};

/* A list of words from one key (senders, allowed_senders). */
struct cfg_list {
	char **v;
	size_t n;
	int line;	/* where the key was given; 0: not given */
};

/*
 * One route (an SMTP account): the default [smarthost] (name "default")
 * or a [smarthost NAME] section. route.h selects among them.
 */
/* `connections` of a route: at most this many sessions in one pass. */
#define CFG_CONNECTIONS_MAX	20
#define CFG_CONNECTIONS_DEFAULT	2

struct cfg_smarthost {
	char *name;		/* "default", or the NAME of the section */
	int line;		/* its section line; 0: no section */
	char *host;		/* NULL: no smarthost configured */
	char *port;		/* service: "587", "465", ... */
	enum tls_mode tls;
	int tls_verify;		/* CA chain + host name */
	char *ca_file;
	char *fingerprint;	/* "sha256:AB:CD..." or hex; NULL: no pin */
	char *cert_file;
	char *key_file;
	enum auth_mech auth;
	char *user;
	char *password;
	char *password_file;
	char *password_command;	/* secretcmd.h */
	int plaintext_auth;	/* allow AUTH without TLS (loopback only) */
	time_t timeout;		/* seconds for every SMTP state; 0: defaults */
	struct cfg_list senders;	/* patterns choosing this route */
	char *from;		/* the account's address, or NULL */
	char *from_name;	/* its display name, or NULL */
	int from_named;		/* `from` gave the display name */
	enum rewrite_mode rewrite_from;
	struct cfg_list allowed;	/* allowed_senders, as patterns */
	struct cfg_rate rate[CFG_RATE_MAX];	/* sending limits */
	size_t nrate;
	char *fallback;		/* the route to try when this one cannot be
				   reached, or NULL */
	int fallback_line;
	unsigned connections;	/* parallel sessions for a long queue
				   (1..CFG_CONNECTIONS_MAX) */
};

/*
 * A [user NAME] section: policy for the local user NAME (resolved with
 * getpwnam when the file is read), by the caller's uid. A limit of -1
 * means "as [queue] says".
 */
struct cfg_user {
	char *name;
	uid_t uid;		/* getpwnam(name) when the file was read */
	int line;		/* its section line */
	char *route;		/* route = NAME, or NULL */
	int route_line;
	struct cfg_list allowed;	/* allowed_senders, as patterns */
	int priority;		/* 1..5 (5 most urgent); 0: not given */
	long long max_queued;	/* messages; 0: no limit; -1: inherit */
	off_t max_bytes;	/* bytes; 0: no limit; -1: inherit */
};

struct cfg {
	char *path;		/* the file read (or the default path) */
	/* [queue] */
	char *queue_dir;
	time_t retry[CFG_RETRY_MAX];
	size_t nretry;
	time_t lifetime;
	off_t max_size;
	off_t min_free;		/* bytes that must stay free, or ... */
	int min_free_pct;	/* ... percent of the file system (-1: bytes) */
	long long user_max_queued;	/* per user; 0: no limit */
	off_t user_max_bytes;		/* per user; 0: no limit */
	/* [local] */
	char *alert;		/* who hears of refused senders */
	char *hostname;		/* [local] hostname; NULL: cfg_hostname() */
	char *domain;		/* [local] domain; NULL: cfg_domain() */
	char *aliases;		/* NULL: no aliases (see aliases.h) */
	/* who may list the queue (qaccess.h): user names and @groups; no
	 * words, or the one word "anyone": every user */
	struct cfg_list mailq_users;
	char *log;		/* "syslog", "stderr", a path; NULL: syslog */
	/* [smarthost]: the default route */
	struct cfg_smarthost smarthost;
	/* [smarthost NAME] sections, in file order */
	struct cfg_smarthost *routes;
	size_t nroutes;
	/* [user NAME] sections, in file order */
	struct cfg_user *users;
	size_t nusers;
};

/* Fill c with the built-in defaults (no file read). */
void cfg_defaults(struct cfg *c);
/*
 * Read path into c (defaults first). A missing file is RQ_CONFIG when
 * must_exist, otherwise c keeps the defaults and RQ_OK is returned.
 */
enum rq_status cfg_load(struct cfg *c, const char *path, int must_exist,
    struct err *e);
/*
 * For submission, which needs only [queue] and [local]: cfg_load(), but
 * when the file's only errors are in route or user sections ([smarthost],
 * [smarthost NAME], [user NAME]), c holds [queue] and [local] with no
 * routes and no users (so no sender policy: the runner, which refuses a
 * broken file, applies it), RQ_OK is returned and *problem holds the
 * first error ("FILE:LINE: ..."). Otherwise problem->status is RQ_OK and
 * the result is cfg_load()'s. A header of no known kind is never skipped:
 * it might be a misspelt [queue] or [local].
 */
enum rq_status cfg_load_core(struct cfg *c, const char *path, int must_exist,
    struct err *problem, struct err *e);
void cfg_free(struct cfg *c);
void cfg_list_free(struct cfg_list *l);

/*
 * The password of route sh: `password`, else the first line of
 * `password_file` (refused when group- or world-writable), else the
 * output of `password_command` (secretcmd.h). *out is NULL when none is
 * configured. The caller wipes and frees it.
 */
enum rq_status cfg_password(const struct cfg_smarthost *sh, char **out,
    struct err *e);

/* The first line of the secret file path (same checks as password_file);
 * the caller wipes and frees *out. */
enum rq_status cfg_read_secret(const char *path, char **out, struct err *e);

/* RQ_OK when path is a regular file not group/world-writable nor
 * world-readable (password files, client keys); else RQ_TEMP, the message
 * ending in the command that fixes it for the reading process (the
 * runner): "chown root:GROUP FILE && chmod 0640 FILE", or "chmod 0600
 * FILE" for a file of the reader's own. password_file's Permission
 * denied carries the same advice. */
enum rq_status cfg_secret_ok(const char *path, struct err *e);

/* Helpers shared with other parsers; 0 on success, -1 on error. */
int cfg_parse_duration(const char *s, time_t *out);	/* 30s 5m 2h 5d 1w */
int cfg_parse_size(const char *s, off_t *out);		/* 10k 50M 1G */
int cfg_parse_bool(const char *s, int *out);

#define CFG_MAILNAME	"/etc/mailname"
/*
 * The first word of the first line of a mailname file (Debian's visible
 * mail name) into out; -1 when the file is missing, empty or the word
 * does not fit.
 */
int cfg_read_mailname(const char *path, char *out, size_t len);
/* The [user NAME] section of uid, or NULL. */
const struct cfg_user *cfg_user_find(const struct cfg *c, uid_t uid);

/* The route called name ("default" included), or NULL. */
const struct cfg_smarthost *route_find(const struct cfg *c,
    const char *name);
/* Routes by index: 0 is the default, 1..route_count()-1 the named ones
 * in file order (for `relayq test --all` and listings). */
size_t route_count(const struct cfg *c);
const struct cfg_smarthost *route_at(const struct cfg *c, size_t i);

/* [local] hostname, else /etc/mailname, else this host's FQDN (looked up
 * once). */
const char *cfg_hostname(const struct cfg *c);
/*
 * When cfg_hostname() has no dot, a smarthost may refuse the EHLO name
 * and Message-IDs made with it are not unique worldwide: 1 and a
 * sentence into out saying so and where to set it ([local] hostname of
 * the configuration file); else 0 and out "".
 */
int cfg_hostname_advice(const struct cfg *c, char *out, size_t len);
/* [local] domain, else /etc/mailname, else the hostname. */
const char *cfg_domain(const struct cfg *c);
/* Non-zero when host names the loopback interface. */
int cfg_is_loopback(const char *host);

const char *cfg_tls_name(enum tls_mode m);
const char *cfg_auth_name(enum auth_mech m);

#endif
