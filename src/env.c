/*
 * env.c - the envelope and state file (queue/ID.env, see env.h): built
 * from a message file, parsed as hostile input, rewritten atomically.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "buf.h"
#include "env.h"
#include "pattern.h"
#include "spoolrec.h"

/*
 * An envelope up to this size is read in one read(2) into the stack (one
 * recipient with a long reply takes about 2 KB); a larger one is read
 * after an fstat(2), into the heap.
 */
#define ENV_SMALL	8192

/* ---- envelope ---------------------------------------------------------- */

int
env_set_reason(char **dst, const char *s)
{
	size_t n = strlen(s), i;
	char *r;

	if (n > REASON_MAX)
		n = REASON_MAX;
	if ((r = malloc(n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		r[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	r[n] = '\0';
	free(*dst);
	*dst = r;
	return 0;
}

int
env_set_route(struct env *env, const char *name)
{
	char *p;

	if ((p = strdup(name)) == NULL)
		return -1;
	free(env->route);
	env->route = p;
	return 0;
}

enum rq_status
env_from_msg(struct env *env, const char *id, const struct spool_msg *m,
    struct err *e)
{
	size_t i;

	memset(env, 0, sizeof(*env));
	strlcpy(env->id, id, sizeof(env->id));
	env->priority = ENV_PRIORITY_NORMAL;
	env->arrival = m->arrival;
	env->uid = m->uid;
	env->flags = m->flags;
	env->dsn = m->dsn;
	env->msg_off = m->msg_off;
	env->msg_len = m->msg_len;
	if ((env->sender = strdup(m->sender)) == NULL ||
	    (env->rcpts = calloc(m->nrcpt, sizeof(*env->rcpts))) == NULL) {
		env_free(env);
		return err_sys(e, RQ_INTERNAL, "malloc");
	}
	for (i = 0; i < m->nrcpt; i++) {
		env->rcpts[i].state = RCPT_PENDING;
		if ((env->rcpts[i].addr = strdup(m->rcpts[i])) == NULL) {
			env->nrcpt = i;
			env_free(env);
			return err_sys(e, RQ_INTERNAL, "strdup");
		}
	}
	env->nrcpt = m->nrcpt;
	return RQ_OK;
}

int
env_format(const struct env *env, char **out, size_t *len)
{
	char dv[3][DSN_REC_MAX];
	struct buf b;
	size_t i, ndv;
	int r;

	buf_init(&b, ENV_MAX);
	r = buf_printf(&b, "RELAYQENV1\nI %s\nA %lld\nU %lu\nS %s\n"
	    "O %lld %lld\nX %u\nN %u\nT %lld\n", env->id,
	    (long long)env->arrival, (unsigned long)env->uid, env->sender,
	    (long long)env->msg_off, (long long)env->msg_len, env->flags,
	    env->attempts, (long long)env->next);
	if (r == 0 && env->reason != NULL)
		r = buf_printf(&b, "W %s\n", env->reason);
	if (r == 0 && env->route != NULL)
		r = buf_printf(&b, "H %s\n", env->route);
	if (r == 0 && env->priority >= 1 && env->priority <= 5 &&
	    env->priority != ENV_PRIORITY_NORMAL)
		r = buf_printf(&b, "P %d\n", env->priority);
	ndv = dsn_values(&env->dsn, dv);
	for (i = 0; r == 0 && i < ndv; i++)
		r = buf_printf(&b, "D %s\n", dv[i]);
	for (i = 0; r == 0 && i < env->nrcpt; i++) {
		r = buf_printf(&b, "R %c %s\n", env->rcpts[i].state,
		    env->rcpts[i].addr);
		if (r == 0 && env->rcpts[i].reason != NULL)
			r = buf_printf(&b, "E %s\n", env->rcpts[i].reason);
	}
	if (r == 0)
		r = buf_puts(&b, "Z\n");
	if (r == -1) {
		buf_free(&b);
		return -1;
	}
	*len = b.len;
	*out = buf_steal(&b);
	return 0;
}

static int
env_add_rcpt(struct env *env, const char *v)
{
	struct env_rcpt *r;

	if ((v[0] != RCPT_PENDING && v[0] != RCPT_DONE &&
	    v[0] != RCPT_FAILED && v[0] != RCPT_REPORTED) || v[1] != ' ' ||
	    addr_check(v + 2, "recipient", NULL) != RQ_OK || v[2] == '\0')
		return -1;
	r = array_grow(env->rcpts, env->nrcpt, sizeof(*r));
	if (r == NULL)
		return -1;
	env->rcpts = r;
	r += env->nrcpt;
	r->state = v[0];
	r->reason = NULL;
	if ((r->addr = strdup(v + 2)) == NULL)
		return -1;
	env->nrcpt++;
	return 0;
}

/*
 * The O record, "OFF LEN": two numbers >= 0, one space apart (parsed
 * without sscanf, whose code is large for what the runner needs).
 */
static int
env_offsets(const char *v, long long *off, long long *len)
{
	char num[24];
	const char *sp = strchr(v, ' ');

	if (sp == NULL || (size_t)(sp - v) >= sizeof(num))
		return -1;
	memcpy(num, v, (size_t)(sp - v));
	num[sp - v] = '\0';
	return parse_ll(num, INT64_MAX, off) == -1 ||
	    parse_ll(sp + 1, INT64_MAX, len) == -1 ? -1 : 0;
}

/* One record of an envelope; -1 when it is malformed. */
static int
env_rec(struct env *env, char type, const char *v)
{
	long long a, b;

	switch (type) {
	case 'I':
		if (!spool_id_valid(v))
			return -1;
		strlcpy(env->id, v, sizeof(env->id));
		return 0;
	case 'A':
		return parse_ll(v, INT64_MAX, &a) == -1 ? -1 :
		    (env->arrival = (time_t)a, 0);
	case 'U':
		return parse_ll(v, UINT32_MAX, &a) == -1 ? -1 :
		    (env->uid = (uid_t)a, 0);
	case 'S':
		if (env->sender != NULL || (*v != '\0' &&
		    addr_check(v, "sender", NULL) != RQ_OK))
			return -1;
		return (env->sender = strdup(v)) == NULL ? -1 : 0;
	case 'O':
		if (env_offsets(v, &a, &b) == -1)
			return -1;
		env->msg_off = (off_t)a;
		env->msg_len = (off_t)b;
		return 0;
	case 'X':
		return parse_ll(v, UINT32_MAX, &a) == -1 ? -1 :
		    (env->flags = (unsigned)a, 0);
	case 'N':
		return parse_ll(v, UINT32_MAX, &a) == -1 ? -1 :
		    (env->attempts = (unsigned)a, 0);
	case 'T':
		return parse_ll(v, INT64_MAX, &a) == -1 ? -1 :
		    (env->next = (time_t)a, 0);
	case 'W':
		return env_set_reason(&env->reason, v);
	case 'H':
		if (env->route != NULL || !route_name_valid(v))
			return -1;
		return (env->route = strdup(v)) == NULL ? -1 : 0;
	case 'P':
		return parse_ll(v, 5, &a) == -1 || a < 1 ? -1 :
		    (env->priority = (int)a, 0);
	case 'D':
		return dsn_value(&env->dsn, v);
	case 'R':
		return env_add_rcpt(env, v);
	case 'E':
		if (env->nrcpt == 0)
			return -1;
		return env_set_reason(&env->rcpts[env->nrcpt - 1].reason, v);
	}
	return -1;
}

/* env_parse() of text that may be parsed in place. */
static enum rq_status
parse_text(struct env *env, char *text, size_t len, struct err *e)
{
	char *p, *end = text + len, type, *v;
	int done = 0;

	memset(env, 0, sizeof(*env));
	env->priority = ENV_PRIORITY_NORMAL;
	if (len < 11 || memcmp(text, "RELAYQENV1\n", 11) != 0)
		return err_set(e, RQ_DATAERR, "malformed envelope: bad magic");
	for (p = text + 11; p < end && !done;) {
		if (next_rec(&p, end, &type, &v) == -1)
			break;
		if (type == 'Z')
			done = *v == '\0' && p == end;
		else if (env_rec(env, type, v) == -1)
			break;
	}
	if (!done || env->id[0] == '\0' || env->sender == NULL ||
	    env->nrcpt == 0) {
		env_free(env);
		return err_set(e, RQ_DATAERR, "malformed envelope");
	}
	return RQ_OK;
}

enum rq_status
env_parse(struct env *env, const char *text, size_t len, struct err *e)
{
	enum rq_status rs;
	char *copy;

	memset(env, 0, sizeof(*env));
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		return err_sys(e, RQ_INTERNAL, "malloc");
	memcpy(copy, text, len);
	rs = parse_text(env, copy, len, e);
	free(copy);
	return rs;
}

/*
 * The text of an envelope that did not fit the first read (or read as
 * empty: not a regular file?), read whole into a new *text.
 */
static enum rq_status
load_big(int fd, const char *name, char **text, size_t *len, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)ENV_MAX)
		return err_set(e, RQ_DATAERR, "%s: not a regular file of sane "
		    "size", name);
	if ((*text = malloc((size_t)st.st_size + 1)) == NULL)
		return err_sys(e, RQ_INTERNAL, "malloc");
	if (pread_all(fd, *text, (size_t)st.st_size, 0) == -1) {
		free(*text);
		return err_sys(e, RQ_TEMP, "read %s", name);
	}
	*len = (size_t)st.st_size;
	return RQ_OK;
}

/* env_load() once: dirfd/ID.env as it reads now. */
static enum rq_status
load_once(int dirfd, const char *id, struct env *env, struct err *e)
{
	char name[SPOOL_ID_LEN + 8], small[ENV_SMALL], *text = small;
	enum rq_status rs;
	size_t len;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%s.env", id);
	/* O_NONBLOCK: a FIFO must not hang the runner (or mailq). */
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return err_set(e, RQ_NOINPUT, "%s: no envelope", id);
		if (errno == ELOOP)
			return err_set(e, RQ_DATAERR, "%s: a symbolic link",
			    name);
		return err_sys(e, RQ_TEMP, "open %s", name);
	}
	/* Most envelopes fit one read into the stack: no fstat, no malloc. */
	while ((n = read(fd, small, sizeof(small))) == -1 && errno == EINTR)
		;
	len = n > 0 ? (size_t)n : 0;
	if ((n <= 0 || len == sizeof(small)) &&
	    (rs = load_big(fd, name, &text, &len, e)) != RQ_OK) {
		close(fd);
		return rs;
	}
	close(fd);
	rs = parse_text(env, text, len, e);
	if (text != small)
		free(text);
	if (rs == RQ_OK && strcmp(env->id, id) != 0) {
		env_free(env);
		return err_set(e, RQ_DATAERR, "%s: id mismatch", name);
	}
	return rs;
}

enum rq_status
env_load(int dirfd, const char *id, struct env *env, struct err *e)
{
	enum rq_status rs = load_once(dirfd, id, env, e);

	/*
	 * A runner's group commit replaces an envelope by exchanging it
	 * with the new one, and writes a later state over the old inode
	 * (queue.h): a reader without the entry's lock that opened it just
	 * before may read another message's state, or a mix of both. The
	 * name is right now. (A damaged envelope is only read twice.)
	 */
	if (rs == RQ_DATAERR)
		rs = load_once(dirfd, id, env, e);
	return rs;
}

/* tmp/ID.env.PID: where an envelope is written before its rename. */
static void
env_tmp_name(const char *id, char *tmp, size_t len)
{
	snprintf(tmp, len, "%s.env.%ld", id, (long)getpid());
}

/*
 * Write env into tmpfd/tmp. reuse: tmp holds an envelope that was
 * replaced (env_install_as()): overwrite it in place, so that no inode
 * and no block is freed and allocated again (on a file system mounted
 * with discard, each freed block is a device command waited for).
 */
static enum rq_status
stage_into(int tmpfd, const char *tmp, int reuse, const struct env *env,
    int *fdp, struct err *e)
{
	char *text;
	size_t len;
	int fd = -1, saved;

	if (env_format(env, &text, &len) == -1)
		return err_sys(e, RQ_INTERNAL, "format envelope");
	if (reuse && (fd = openat(tmpfd, tmp, O_WRONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		(void)unlinkat(tmpfd, tmp, 0);	/* not ours to write */
	if (fd == -1 && (fd = openat(tmpfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) != -1 &&
	    fchmod(fd, SPOOL_MODE_ENV) == -1) {
		saved = errno;
		close(fd);
		fd = -1;
		errno = saved;
	}
	if (fd == -1) {
		free(text);
		return err_sys(e, RQ_TEMP, "create envelope %s", tmp);
	}
	saved = write_all(fd, text, len) == -1 ||
	    (reuse && ftruncate(fd, (off_t)len) == -1) ? errno : 0;
	free(text);
	if (saved != 0) {
		close(fd);
		(void)unlinkat(tmpfd, tmp, 0);
		errno = saved;
		return err_sys(e, RQ_TEMP, "write envelope %s", tmp);
	}
	*fdp = fd;
	return RQ_OK;
}

enum rq_status
env_stage(int tmpfd, const struct env *env, int *fdp, struct err *e)
{
	char tmp[SPOOL_ID_LEN + 32];

	env_tmp_name(env->id, tmp, sizeof(tmp));
	return stage_into(tmpfd, tmp, 0, env, fdp, e);
}

enum rq_status
env_stage_as(int tmpfd, const char *tmp, int reuse, const struct env *env,
    int *fdp, struct err *e)
{
	return stage_into(tmpfd, tmp, reuse, env, fdp, e);
}

/*
 * Rename tmpfd/tmp to dirfd/ID.env. kept not NULL: exchange the two when
 * ID.env exists (*kept = 1: tmp now holds the envelope replaced).
 */
static enum rq_status
install(int dirfd, int tmpfd, const char *tmp, const char *id, int *kept,
    struct err *e)
{
	char name[SPOOL_ID_LEN + 8];
	int saved;

	snprintf(name, sizeof(name), "%s.env", id);
	if (kept != NULL) {
		*kept = 0;
		if (renameat2(tmpfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
			*kept = 1;
			return RQ_OK;
		}
		/* ENOENT: no envelope yet; EINVAL, ENOSYS: no exchange. */
		if (errno != ENOENT && errno != EINVAL && errno != ENOSYS)
			goto fail;
	}
	if (renameat(tmpfd, tmp, dirfd, name) == 0)
		return RQ_OK;
fail:
	saved = errno;
	(void)unlinkat(tmpfd, tmp, 0);
	errno = saved;
	return err_sys(e, RQ_TEMP, "rename envelope %s", name);
}

enum rq_status
env_install(int dirfd, int tmpfd, const char *id, struct err *e)
{
	char tmp[SPOOL_ID_LEN + 32];

	env_tmp_name(id, tmp, sizeof(tmp));
	return install(dirfd, tmpfd, tmp, id, NULL, e);
}

enum rq_status
env_install_as(int dirfd, int tmpfd, const char *tmp, const char *id,
    int *kept, struct err *e)
{
	return install(dirfd, tmpfd, tmp, id, kept, e);
}

void
env_unstage(int tmpfd, const char *id)
{
	char tmp[SPOOL_ID_LEN + 32];

	env_tmp_name(id, tmp, sizeof(tmp));
	(void)unlinkat(tmpfd, tmp, 0);
}

enum rq_status
env_save(int dirfd, int tmpfd, const struct env *env, struct err *e)
{
	enum rq_status st;
	int fd, saved = 0;

	if ((st = env_stage(tmpfd, env, &fd, e)) != RQ_OK)
		return st;
	if (fsync(fd) == -1)
		saved = errno;
	if (close(fd) == -1 && saved == 0)
		saved = errno;
	if (saved != 0) {
		env_unstage(tmpfd, env->id);
		errno = saved;
		return err_sys(e, RQ_TEMP, "write envelope of %s", env->id);
	}
	if (env_install(dirfd, tmpfd, env->id, e) != RQ_OK)
		return RQ_TEMP;
	if (spool_fsync_dir(dirfd) == -1)
		return err_sys(e, RQ_TEMP, "fsync queue directory");
	return RQ_OK;
}

void
env_free(struct env *env)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].reason);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->reason);
	free(env->route);
	memset(env, 0, sizeof(*env));
}
