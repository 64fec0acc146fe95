/*
 * env.h - the envelope and delivery state of a queued message,
 * queue/ID.env (spool.h has the directory layout and the message file).
 *
 * Records: "RELAYQENV1", then I (id), A, U, S, O (offset and length of
 * the message), X, N (attempts), T (next attempt), W (last reason), H
 * (route, see route.h), P (priority 1..5, when not 3), D, R/E per
 * recipient, Z. An envelope is rewritten whole and atomically; a reader
 * treats it as hostile input.
 */
#ifndef RELAYQ_ENV_H
#define RELAYQ_ENV_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "dsn.h"
#include "err.h"
#include "spool.h"

/* Envelope: the queue state of one message. */
#define RCPT_PENDING	'P'
#define RCPT_DONE	'D'
#define RCPT_FAILED	'F'	/* failed for good, the sender not told yet */
#define RCPT_REPORTED	'B'	/* failed for good, a DSN is queued */

struct env_rcpt {
	char *addr;
	char state;
	char *reason;		/* last reply for this recipient, or NULL */
};

struct env {
	char id[SPOOL_ID_LEN + 1];
	time_t arrival;
	uid_t uid;		/* the submitter */
	char *sender;
	unsigned flags;
	struct dsn_req dsn;	/* "D" records, as in the message file */
	off_t msg_off;
	off_t msg_len;
	unsigned attempts;
	time_t next;		/* next attempt; 0: now */
	char *reason;		/* last deferral reason, or NULL */
	char *route;		/* "H" record: the route chosen for it, or
				   NULL until the runner has chosen */
	int priority;		/* "P" record: 1..5, 5 most urgent;
				   ENV_PRIORITY_NORMAL when absent (0, in
				   an env built by hand, means the same);
				   a pass sends higher first (queue.h) */
	struct env_rcpt *rcpts;
	size_t nrcpt;
};

#define ENV_PRIORITY_NORMAL	3

/* env from a parsed message file (all recipients pending). */
enum rq_status env_from_msg(struct env *env, const char *id,
    const struct spool_msg *m, struct err *e);
/* Serialise env into a new buffer (*out, *len); -1 on ENOMEM. */
int env_format(const struct env *env, char **out, size_t *len);
/* Parse env text; RQ_DATAERR with the reason when malformed. */
enum rq_status env_parse(struct env *env, const char *text, size_t len,
    struct err *e);
/* Read dirfd/ID.env (one read(2) into the stack when it is small, the
 * usual case). RQ_NOINPUT when it does not exist. */
enum rq_status env_load(int dirfd, const char *id, struct env *env,
    struct err *e);
/* Atomically replace dirfd/ID.env via tmpfd (write, fsync, rename,
 * fsync dir), mode SPOOL_MODE_ENV whatever the umask. */
enum rq_status env_save(int dirfd, int tmpfd, const struct env *env,
    struct err *e);
/*
 * The parts of env_save() for a group commit (queue.h, struct qgroup):
 * env_stage() writes tmpfd/ID.env.PID (not synced; *fd is left open for
 * the caller to fsync and close), env_install() renames it to
 * dirfd/ID.env (not synced either), env_unstage() removes a staged one.
 * The caller must make the staged file durable (fsync of *fd, or
 * spool_sync()) before env_install(): a rename that reaches the disk
 * before the data would leave an empty envelope after a crash.
 */
enum rq_status env_stage(int tmpfd, const struct env *env, int *fd,
    struct err *e);
enum rq_status env_install(int dirfd, int tmpfd, const char *id,
    struct err *e);
/*
 * The same with a staging file named by the caller (a group commit's
 * slot, queue.h): env_stage_as() writes tmpfd/tmp, overwriting in place
 * when reuse (tmp holds an envelope that env_install_as() replaced, so
 * that no inode or block is freed and allocated again); env_install_as()
 * exchanges tmp with dirfd/ID.env when that exists (*kept = 1: tmp now
 * holds the envelope replaced, for reuse once the exchange is durable),
 * else renames it.
 */
enum rq_status env_stage_as(int tmpfd, const char *tmp, int reuse,
    const struct env *env, int *fd, struct err *e);
enum rq_status env_install_as(int dirfd, int tmpfd, const char *tmp,
    const char *id, int *kept, struct err *e);
void env_unstage(int tmpfd, const char *id);
void env_free(struct env *env);
/* Set env->route to a copy of name; -1 on ENOMEM. */
int env_set_route(struct env *env, const char *name);
/* Replace *dst with a sanitized copy of s (printable, one line, bounded). */
int env_set_reason(char **dst, const char *s);

#endif
