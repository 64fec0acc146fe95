/*
 * pickup.c - maildrop -> queue, validating everything (see pickup.h).
 * Order of operations, for a group of entries at a time (queue.h, struct
 * qgroup): each message file lands in queue/ (rename, or copy + link) and
 * its envelope is staged in tmp/; then one commit makes the copies and
 * envelopes durable, renames the envelopes into queue/, fsyncs queue/,
 * and only then removes the maildrop entries of the copies. A crash in
 * between leaves either a maildrop entry (picked up again, recognised as
 * already queued) or a queue message without envelope (an orphan,
 * completed later), never an envelope without its data.
 * Aliases are applied as the envelope is written: when the configured
 * aliases file cannot be read, mail waits (it is never sent unaliased).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "aliases.h"
#include "log.h"
#include "pickup.h"
#include "queue.h"
#include "usage.h"

/*
 * An unfinished entry (0600) not written for this long and locked by no
 * process was abandoned: its writer died (a live writer holds its lock
 * from creation to commit, however slow its input).
 */
#define ABANDONED_AFTER	(5 * 60)
/* The same when the lock table cannot be read: a last resort. */
#define UNKNOWN_LOCK_AFTER	(24 * 60 * 60)
/*
 * Entries per group commit (queue.h): one sync of the file system and
 * one fsync of each directory for this many, instead of three fsyncs
 * each; the entries' locks are held until then.
 */
#define PICKUP_GROUP	256

const struct aliases *
pickup_aliases(const struct cfg *c, struct aliases *al)
{
	struct err e;
	size_t i;

	memset(al, 0, sizeof(*al));
	if (c->aliases == NULL)
		return NULL;
	if (aliases_load(al, c->aliases, cfg_domain(c), &e) != RQ_OK) {
		log_warnx("%s: mail waits until the aliases file can be read",
		    al->broken);
		return al;
	}
	for (i = 0; i < al->np; i++)
		log_debug("%s:%d: %s", al->path, al->p[i].line, al->p[i].msg);
	if (al->np > 0)
		log_warnx("%s: %zu problem(s), those entries are ignored (run "
		    "newaliases to list them)", al->path, al->np);
	return al;
}

/* Replace the recipients of env by their alias expansion. */
static enum rq_status
apply_aliases(const struct aliases *al, struct env *env, struct err *e)
{
	struct aliases_exp x;
	struct env_rcpt *r;
	const char **v;
	size_t i;

	if ((v = calloc(env->nrcpt + 1, sizeof(*v))) == NULL)
		return err_sys(e, RQ_INTERNAL, "calloc");
	for (i = 0; i < env->nrcpt; i++)
		v[i] = env->rcpts[i].addr;
	if (aliases_expand(al, v, env->nrcpt, &x, e) != RQ_OK) {
		free(v);
		return RQ_INTERNAL;
	}
	free(v);
	for (i = 0; i < x.nnotes; i++)
		log_warnx("%s: %s", env->id, x.notes[i]);
	if (x.changed && (r = calloc(x.n, sizeof(*r))) == NULL) {
		aliases_exp_free(&x);
		return err_sys(e, RQ_INTERNAL, "calloc");
	}
	if (x.changed) {
		log_info("%s: aliases: %zu recipient(s) became %zu", env->id,
		    env->nrcpt, x.n);
		for (i = 0; i < env->nrcpt; i++)
			free(env->rcpts[i].addr);
		free(env->rcpts);
		for (i = 0; i < x.n; i++) {
			r[i].addr = x.addr[i];	/* taken over */
			r[i].state = RCPT_PENDING;
			if (addr_is_utf8(r[i].addr))
				env->flags |= MSG_F_SMTPUTF8;
		}
		env->rcpts = r;
		env->nrcpt = x.n;
		x.n = 0;
	}
	aliases_exp_free(&x);
	return RQ_OK;
}

/*
 * Write the envelope of queue/ID from its message file (fd, locked):
 * durably, or (it not NULL) staged for it's group commit.
 */
static enum rq_status
make_env(const struct spool *sp, const struct aliases *al, const char *id,
    int fd, struct qgroup_item *it, struct err *e)
{
	struct spool_msg m;
	struct env env;
	enum rq_status st;

	if ((st = env_load(sp->fd[SP_QUEUE], id, &env, e)) == RQ_OK) {
		env_free(&env);		/* someone else completed it */
		return RQ_OK;
	}
	if (al != NULL && al->broken[0] != '\0')
		return err_set(e, RQ_TEMP, "%s", al->broken);
	if ((st = spool_msg_read(fd, &m, e)) == RQ_DATAERR) {
		queue_quarantine(sp, SP_QUEUE, id, e->msg);
		return RQ_OK;
	}
	if (st == RQ_OK) {
		st = env_from_msg(&env, id, &m, e);
		spool_msg_free(&m);
		if (st == RQ_OK && al != NULL &&
		    (st = apply_aliases(al, &env, e)) != RQ_OK)
			env_free(&env);
	}
	if (st == RQ_OK) {
		if (it == NULL)
			st = env_save(sp->fd[SP_QUEUE], sp->fd[SP_TMP], &env, e);
		else if ((st = env_stage(sp->fd[SP_TMP], &env, &it->efd, e)) ==
		    RQ_OK)
			it->what |= QG_ENV;
		if (st == RQ_OK)
			log_agent("pickup", "%s: uid=%lu from=<%s>", id,
			    (unsigned long)env.uid, env.sender);
		env_free(&env);
	}
	return st;
}

enum rq_status
pickup_orphan(const struct spool *sp, const struct aliases *al,
    const char *id, struct err *e)
{
	enum rq_status st;
	int fd;

	if ((st = queue_lock(sp, SP_QUEUE, id, &fd, e)) != RQ_OK)
		return st;
	st = make_env(sp, al, id, fd, NULL, e);
	close(fd);
	return st;
}

/*
 * Copy from (whole file) to to: in the kernel (copy_file_range(2): no
 * copy through user space, a reflink where the file system has them),
 * else through a buffer.
 */
static int
copy_fd(int from, int to)
{
	char buf[65536];
	off_t off = 0, in = 0;
	ssize_t n, w;

	while ((n = copy_file_range(from, &in, to, NULL, SIZE_MAX >> 1, 0)) >
	    0)
		off = in;
	if (n == 0)
		return 0;
	if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
	    errno != EOPNOTSUPP)
		return -1;
	while ((n = pread(from, buf, sizeof(buf), off)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t done = 0; done < n; done += w)
			if ((w = write(to, buf + done, (size_t)(n - done))) ==
			    -1) {
				if (errno != EINTR)
					return -1;
				w = 0;
			}
		off += n;
	}
	return 0;
}

/* Same message already queued under this id (a pickup that crashed)? */
static int
already_queued(const struct spool *sp, const char *id, int mfd)
{
	char a[4096], b[4096];
	struct stat sa, sb;
	ssize_t na, nb;
	int qfd;

	if ((qfd = openat(sp->fd[SP_QUEUE], id, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;
	na = pread(mfd, a, sizeof(a), 0);
	nb = pread(qfd, b, sizeof(b), 0);
	if (fstat(mfd, &sa) == -1 || fstat(qfd, &sb) == -1 ||
	    sa.st_size != sb.st_size || na != nb || na <= 0 ||
	    memcmp(a, b, (size_t)na) != 0) {
		close(qfd);
		return 0;
	}
	close(qfd);
	return 1;
}

/*
 * Copy the maildrop file into queue/ under id (or a fresh one): synced,
 * or (cfd not NULL) left for the caller to sync, open on *cfd.
 */
static enum rq_status
copy_in(const struct spool *sp, int mfd, char *id, int *cfd, struct err *e)
{
	char tmp[64];
	int tfd, tries, r, saved;

	snprintf(tmp, sizeof(tmp), "%s.pickup.%ld", id, (long)getpid());
	tfd = openat(sp->fd[SP_TMP], tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (tfd == -1)
		return err_sys(e, RQ_TEMP, "create tmp/%s", tmp);
	if (copy_fd(mfd, tfd) == -1 || (cfd == NULL && fsync(tfd) == -1)) {
		err_sys(e, RQ_TEMP, "copy %s into the queue", id);
		close(tfd);
		(void)unlinkat(sp->fd[SP_TMP], tmp, 0);
		return RQ_TEMP;
	}
	for (tries = 0, r = -1; tries < 64; tries++) {
		r = linkat(sp->fd[SP_TMP], tmp, sp->fd[SP_QUEUE], id, 0);
		if (r == 0 || errno != EEXIST)
			break;
		spool_id_new(id, time(NULL));
	}
	saved = errno;
	(void)unlinkat(sp->fd[SP_TMP], tmp, 0);
	if (r == -1) {
		close(tfd);
		errno = saved;
		return err_sys(e, RQ_TEMP, "link %s into the queue", id);
	}
	if (cfd != NULL)
		*cfd = tfd;
	else
		close(tfd);
	return RQ_OK;
}

/* Rename a runner-owned entry into the queue (never replacing one). */
static enum rq_status
move_in(const struct spool *sp, const char *mid, char *id, int mfd,
    int *cfd, struct err *e)
{
	if (renameat2(sp->fd[SP_MAILDROP], mid, sp->fd[SP_QUEUE], id,
	    RENAME_NOREPLACE) == 0) {
		(void)fchmod(mfd, 0600);
		return RQ_OK;
	}
	if (errno == EEXIST || errno == EINVAL || errno == ENOSYS)
		return copy_in(sp, mfd, id, cfd, e);
	return err_sys(e, RQ_TEMP, "move %s into the queue", mid);
}

int
pickup_lock_ino(const char *line, unsigned maj, unsigned min,
    unsigned long long *ino)
{
	unsigned a, b;
	char end;
	const char *p;

	/* "N: [-> ]CLASS TYPE MODE PID MAJ:MIN:INO START END" */
	for (p = line; (p = strchr(p, ' ')) != NULL; p++) {
		while (*p == ' ')
			p++;
		if (sscanf(p, "%x:%x:%llu%c", &a, &b, ino, &end) == 4 &&
		    end == ' ')
			return a == maj && b == min;
	}
	return 0;
}

int
pickup_lock_line(const char *line, unsigned maj, unsigned min,
    unsigned long long ino)
{
	unsigned long long i;

	return pickup_lock_ino(line, maj, min, &i) && i == ino;
}

/*
 * 1 when a process holds a lock on the file st (of maildrop/mid), 0 when
 * none does, -1 when that cannot be known. The runner cannot open a
 * user's 0600 entry to try the lock itself: the kernel's lock table
 * (PROC_LOCKS, readable by all) names each lock's file.
 */
static int
entry_locked(const struct spool *sp, const char *mid, const struct stat *st)
{
	char *line = NULL;
	size_t cap = 0;
	int fd, held = 0;
	FILE *f;

	fd = openat(sp->fd[SP_MAILDROP], mid, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd != -1) {
		held = flock(fd, LOCK_SH | LOCK_NB) == -1 ? 1 : 0;
		close(fd);
		return held;
	}
	if (errno != EACCES || (f = fopen(PROC_LOCKS, "re")) == NULL)
		return -1;
	while (!held && getline(&line, &cap, f) != -1)
		held = pickup_lock_line(line, major(st->st_dev),
		    minor(st->st_dev), (unsigned long long)st->st_ino);
	free(line);
	if (ferror(f))
		held = -1;
	fclose(f);
	return held;
}

/*
 * Remove an abandoned entry (0600, unlocked for ABANDONED_AFTER) of a
 * writer that may yet come back (stopped before it took its lock). Its
 * mode is checked only after it has been renamed away: the writer checks
 * its name after setting 0704, so either it sees the name gone and fails,
 * or the mode seen here is 0704 and the entry goes back for pickup. A
 * check before the unlink alone would race with a writer committing in
 * between (an accepted message lost).
 */
static void
reap_stale(const struct spool *sp, const char *mid, const struct stat *seen)
{
	char tmp[SPOOL_ID_LEN + 32];
	struct stat st;

	snprintf(tmp, sizeof(tmp), "%s.reap.%ld", mid, (long)getpid());
	if (renameat(sp->fd[SP_MAILDROP], mid, sp->fd[SP_TMP], tmp) == -1)
		return;		/* gone, or not ours to move */
	if (fstatat(sp->fd[SP_TMP], tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_ino == seen->st_ino &&
	    st.st_dev == seen->st_dev &&
	    (st.st_mode & 07777) == SPOOL_MODE_WRITING) {
		if (unlinkat(sp->fd[SP_TMP], tmp, 0) == 0)
			log_warnx("maildrop/%s: removed an unfinished entry "
			    "that no process was writing (%lld bytes, uid "
			    "%lu)", mid, (long long)st.st_size,
			    (unsigned long)st.st_uid);
		return;
	}
	/* Committed meanwhile (or replaced): back where pickup looks. */
	if (renameat2(sp->fd[SP_TMP], tmp, sp->fd[SP_MAILDROP], mid,
	    RENAME_NOREPLACE) == -1)
		log_warn("maildrop/%s: cannot put back %s/tmp/%s", mid,
		    sp->dir, tmp);
	else
		log_warnx("maildrop/%s: finished while being reaped, kept", mid);
}

/* Checks on the maildrop entry before it is opened. */
static int
entry_ok(const struct spool *sp, const char *mid, struct stat *st)
{
	time_t age;
	mode_t mode;
	int locked;

	if (fstatat(sp->fd[SP_MAILDROP], mid, st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;	/* gone */
	mode = st->st_mode & 07777;
	if (S_ISREG(st->st_mode) && mode == SPOOL_MODE_WRITING) {
		age = time(NULL) - st->st_mtime;
		if (age > ABANDONED_AFTER && ((locked = entry_locked(sp, mid,
		    st)) == 0 || (locked == -1 && age > UNKNOWN_LOCK_AFTER)))
			reap_stale(sp, mid, st);
		return 0;	/* still being written */
	}
	if (!S_ISREG(st->st_mode) || mode != SPOOL_MODE_COMPLETE ||
	    st->st_nlink != 1) {
		queue_quarantine(sp, SP_MAILDROP, mid, "not a regular file "
		    "with one link and mode 0704");
		return 0;
	}
	return 1;
}

/*
 * A user's entry (not root's, not ours) must claim its owner's uid: the U
 * record picks the sender policy. 0 when it claims another (a malformed
 * file is left to the normal path, which quarantines it).
 */
static int
owner_matches(int mfd, uid_t owner)
{
	struct spool_msg m;
	struct err e;
	int ok;

	if (owner == 0 || owner == geteuid() ||
	    spool_msg_read(mfd, &m, &e) != RQ_OK)
		return 1;
	ok = m.uid == owner;
	spool_msg_free(&m);
	return ok;
}

/*
 * Queue the maildrop entry mid (open on mfd, locked, checked): renamed
 * (the runner's own, same inode and lock) or copied, and its envelope
 * staged; what the group commit must finish goes into it.
 */
static enum rq_status
queue_entry(const struct spool *sp, const struct aliases *al,
    const char *mid, char *id, int mfd, uid_t owner, struct qgroup_item *it,
    struct err *e)
{
	enum rq_status rs = RQ_OK;
	int own = owner == geteuid(), queued = 0;

	if (own && (rs = move_in(sp, mid, id, mfd, &it->cfd, e)) == RQ_OK &&
	    strcmp(id, mid) == 0) {
		it->fd = mfd;	/* renamed: nothing left in the maildrop */
		return make_env(sp, al, id, mfd, it, e);
	}
	it->mfd = mfd;
	if (rs == RQ_OK && !own && !(queued = already_queued(sp, id, mfd)))
		rs = copy_in(sp, mfd, id, &it->cfd, e);
	if (rs == RQ_OK)
		rs = queue_lock(sp, SP_QUEUE, id, &it->fd, e);
	/* A copy a crashed pass left may not be durable yet: the commit
	 * syncs it before the maildrop entry goes. */
	if (rs == RQ_OK && queued && (it->cfd = dup(it->fd)) == -1)
		rs = err_sys(e, RQ_TEMP, "dup");
	if (rs == RQ_OK)
		rs = make_env(sp, al, id, it->fd, it, e);
	strlcpy(it->mid, mid, sizeof(it->mid));
	it->what |= QG_DROP;
	return rs;
}

static enum rq_status
pickup_entry(const struct spool *sp, const struct aliases *al,
    const char *mid, char *picked, struct qgroup *g, struct err *e)
{
	struct qgroup_item it = { .fd = -1, .mfd = -1, .efd = -1, .cfd = -1 };
	struct stat st, fst;
	enum rq_status rs;
	int mfd;

	if (!entry_ok(sp, mid, &st))
		return RQ_OK;
	mfd = openat(sp->fd[SP_MAILDROP], mid, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (mfd == -1)
		return RQ_OK;	/* gone or not ours to read */
	if (fstat(mfd, &fst) == -1 || fst.st_ino != st.st_ino ||
	    fst.st_dev != st.st_dev || flock(mfd, LOCK_EX | LOCK_NB) == -1 ||
	    fstat(mfd, &fst) == -1 || fst.st_nlink != 1) {
		close(mfd);	/* replaced, busy or already picked up */
		return RQ_OK;
	}
	if (!owner_matches(mfd, fst.st_uid)) {
		queue_quarantine(sp, SP_MAILDROP, mid, "the U record is not "
		    "the uid of the entry's owner");
		close(mfd);
		return RQ_OK;
	}
	strlcpy(it.id, mid, sizeof(it.id));
	if ((rs = queue_entry(sp, al, mid, it.id, mfd, fst.st_uid, &it,
	    e)) != RQ_OK) {
		if (it.what & QG_ENV)
			env_unstage(sp->fd[SP_TMP], it.id);
		it.what = 0;
	} else {
		/* Counted as queued before it leaves the maildrop (usage.h). */
		usage_picked(sp, fst.st_uid, fst.st_size, &fst.st_ctim);
		if (picked != NULL)
			strlcpy(picked, it.id, SPOOL_ID_LEN + 1);
	}
	qgroup_add(g, &it);	/* with nothing to do, it only closes */
	return rs;
}

/* Write text as PICKUP_WARNING (via tmp/, atomically); -1 on failure. */
static int
write_warning(const struct spool *sp, int top, const char *text)
{
	char tmp[64];
	size_t n = strlen(text);
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.%ld", PICKUP_WARNING, (long)getpid());
	if ((fd = openat(sp->fd[SP_TMP], tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		return -1;
	r = fchmod(fd, 0644) == 0 && write(fd, text, n) == (ssize_t)n &&
	    write(fd, "\n", 1) == 1 ? 0 : -1;
	if (close(fd) == -1)
		r = -1;
	if (r == 0 && renameat(sp->fd[SP_TMP], tmp, top, PICKUP_WARNING) == 0)
		return 0;
	(void)unlinkat(sp->fd[SP_TMP], tmp, 0);
	return -1;
}

/*
 * Tell mailq why mail waits in maildrop/ (why NULL: nothing waits); the
 * log has it already, but nobody reads the log of a cron job.
 */
static void
record_problem(const struct spool *sp, size_t n, const char *why)
{
	char text[1024];
	int top;

	if ((top = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (why == NULL) {
		if (unlinkat(top, PICKUP_WARNING, 0) == 0)
			log_info("pickup: maildrop/ is flowing again");
	} else {
		if (n > 0)
			snprintf(text, sizeof(text), "%zu message%s wait%s in "
			    "maildrop/: %s", n, n == 1 ? "" : "s", n == 1 ?
			    "s" : "", why);
		else
			snprintf(text, sizeof(text), "%s", why);
		if (write_warning(sp, top, text) == -1)
			log_warn("pickup: cannot record for mailq: %s", text);
	}
	close(top);
}

enum rq_status
pickup_run(const struct spool *sp, const struct aliases *al,
    const char *only_id, char *picked, struct err *e)
{
	char why[sizeof(e->msg)];
	struct idlist l;
	struct qgroup g;
	enum rq_status st;
	size_t i, failed = 0;

	if (al != NULL && al->broken[0] != '\0') {
		if (only_id == NULL) {
			/* (a long reason loses its tail, never its start) */
			if (snprintf(why, sizeof(why), "%s (mail waits until "
			    "the aliases file can be read)", al->broken) < 0)
				strlcpy(why, al->broken, sizeof(why));
			record_problem(sp, 0, why);
		}
		return err_set(e, RQ_TEMP, "%s", al->broken);
	}
	if (qgroup_init(&g, sp, only_id != NULL ? 1 : PICKUP_GROUP) == -1)
		return err_sys(e, RQ_INTERNAL, "malloc");
	if (only_id != NULL) {
		if ((st = pickup_entry(sp, al, only_id, picked, &g, e)) ==
		    RQ_OK)
			st = qgroup_commit(&g, e);
		qgroup_free(&g);
		return st;
	}
	if ((st = queue_scan(sp, SP_MAILDROP, &l, e)) != RQ_OK) {
		qgroup_free(&g);
		return st;
	}
	for (i = 0; i < l.n; i++) {
		if (qgroup_full(&g) && qgroup_commit(&g, e) != RQ_OK) {
			log_warnx("pickup: %s", e->msg);
			strlcpy(why, e->msg, sizeof(why));
			failed++;
		}
		if (pickup_entry(sp, al, l.ids[i], NULL, &g, e) != RQ_OK) {
			log_warnx("pickup %s: %s", l.ids[i], e->msg);
			strlcpy(why, e->msg, sizeof(why));
			failed++;
		}
	}
	if (qgroup_commit(&g, e) != RQ_OK) {
		log_warnx("pickup: %s", e->msg);
		strlcpy(why, e->msg, sizeof(why));
		failed++;
	}
	qgroup_free(&g);
	idlist_free(&l);
	record_problem(sp, failed, failed > 0 ? why : NULL);
	return RQ_OK;
}
