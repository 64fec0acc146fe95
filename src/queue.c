/*
 * queue.c - scanning, locking, retry policy and moves of queue entries,
 * and the operator's changes to them (relayq queue delete, hold, ...).
 * Everything that changes an entry expects the caller to hold its lock;
 * every change is made durable (fsync of the directory) before success
 * is reported.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "queue.h"

#define LOCK_TRIES	3		/* extra tries of a busy message lock */
#define LOCK_WAIT_NS	2000000L	/* 2 ms apart */
/*
 * Up to this many files to sync, a group commit fsyncs each: cheaper
 * than a sync of the whole file system when that has other dirty data.
 */
#define QG_FEW		4
/*
 * Descriptors an item holds: its lock and a maildrop entry (those of
 * files to sync only while the group has at most QG_FEW of them).
 */
#define QG_FDS		2

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
idlist_add_id(struct idlist *l, const char *id)
{
	char (*v)[SPOOL_ID_LEN + 1];

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		if ((v = reallocarray(l->ids, cap, sizeof(*v))) == NULL)
			return -1;
		l->ids = v;
		l->cap = cap;
	}
	strlcpy(l->ids[l->n++], id, SPOOL_ID_LEN + 1);
	return 0;
}

void
idlist_free(struct idlist *l)
{
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

enum rq_status
queue_each(const struct spool *sp, enum spool_sub sub,
    int (*each)(void *, const char *, unsigned long long), void *arg,
    struct err *e)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(sp->fd[sub], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return err_sys(e, RQ_TEMP, "read %s/%s", sp->dir,
		    spool_sub_name(sub));
	}
	while ((de = readdir(d)) != NULL)
		if (spool_id_valid(de->d_name) &&
		    each(arg, de->d_name, (unsigned long long)de->d_ino) == -1) {
			closedir(d);
			return err_sys(e, RQ_INTERNAL, "queue scan");
		}
	closedir(d);
	return RQ_OK;
}

static int
scan_add(void *arg, const char *id, unsigned long long ino)
{
	(void)ino;
	return idlist_add_id(arg, id);
}

enum rq_status
queue_scan(const struct spool *sp, enum spool_sub sub, struct idlist *out,
    struct err *e)
{
	enum rq_status st;

	memset(out, 0, sizeof(*out));
	if ((st = queue_each(sp, sub, scan_add, out, e)) != RQ_OK) {
		idlist_free(out);
		return st;
	}
	if (out->n > 0)	/* qsort(NULL, 0) is undefined (UBSan) */
		qsort(out->ids, out->n, sizeof(*out->ids), id_cmp);
	return RQ_OK;
}

struct order_ent {
	uid_t uid;
	int prio;
	size_t rank;	/* among the messages of its uid and priority */
	size_t pos;	/* in arrival order */
	size_t idx;	/* in l */
	const char *id;
	struct timespec written;	/* the message file's mtime */
};

/*
 * Arrival: the second the id begins with, then (ids of one second are
 * random) when the message file was written, then the id.
 */
static int
cmp_arrival(const void *a, const void *b)
{
	const struct order_ent *x = a, *y = b;
	int c = strncmp(x->id, y->id, 8);

	if (c == 0 && x->written.tv_sec != y->written.tv_sec)
		c = x->written.tv_sec < y->written.tv_sec ? -1 : 1;
	if (c == 0 && x->written.tv_nsec != y->written.tv_nsec)
		c = x->written.tv_nsec < y->written.tv_nsec ? -1 : 1;
	return c != 0 ? c : strcmp(x->id, y->id);
}

/* Higher priority first, then the key (uid or rank), then arrival. */
static int
cmp_keys(const struct order_ent *x, const struct order_ent *y,
    unsigned long long kx, unsigned long long ky)
{
	int c = (x->prio < y->prio) - (x->prio > y->prio);

	if (c == 0)
		c = (kx > ky) - (kx < ky);
	return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static int
cmp_user(const void *a, const void *b)
{
	const struct order_ent *x = a, *y = b;

	return cmp_keys(x, y, x->uid, y->uid);
}

static int
cmp_turn(const void *a, const void *b)
{
	const struct order_ent *x = a, *y = b;

	return cmp_keys(x, y, x->rank, y->rank);
}

/* The keys of v[i] (l->ids[i]): pk[i], or its envelope read now. */
static void
order_keys(const struct spool *sp, const struct idlist *l,
    const struct queue_peek *pk, struct order_ent *v)
{
	struct env env;
	struct stat st;
	struct err ign;
	size_t i;

	for (i = 0; i < l->n; i++) {
		v[i].idx = i;
		v[i].id = l->ids[i];
		v[i].uid = (uid_t)-1;
		v[i].prio = ENV_PRIORITY_NORMAL;
		if (fstatat(sp->fd[SP_QUEUE], l->ids[i], &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
			v[i].written = st.st_mtim;
		if (pk != NULL && pk[i].ok) {
			v[i].uid = pk[i].uid;
			v[i].prio = pk[i].prio;
		} else if (pk == NULL && env_load(sp->fd[SP_QUEUE], l->ids[i],
		    &env, &ign) == RQ_OK) {
			v[i].uid = env.uid;
			v[i].prio = env.priority;
			env_free(&env);
		}
	}
}

enum rq_status
queue_order(const struct spool *sp, struct idlist *l, struct queue_peek *pk,
    struct err *e)
{
	char (*ids)[SPOOL_ID_LEN + 1];
	struct queue_peek *npk = NULL;
	struct order_ent *v;
	size_t i;

	if (l->n < 2)
		return RQ_OK;
	v = calloc(l->n, sizeof(*v));
	ids = calloc(l->n, sizeof(*ids));
	if (pk != NULL)
		npk = calloc(l->n, sizeof(*npk));
	if (v == NULL || ids == NULL || (pk != NULL && npk == NULL)) {
		free(v);
		free(ids);
		free(npk);
		return err_sys(e, RQ_INTERNAL, "queue order");
	}
	order_keys(sp, l, pk, v);
	qsort(v, l->n, sizeof(*v), cmp_arrival);
	for (i = 0; i < l->n; i++)
		v[i].pos = i;
	qsort(v, l->n, sizeof(*v), cmp_user);
	for (i = 1; i < l->n; i++)
		if (v[i].uid == v[i - 1].uid && v[i].prio == v[i - 1].prio)
			v[i].rank = v[i - 1].rank + 1;
	qsort(v, l->n, sizeof(*v), cmp_turn);
	for (i = 0; i < l->n; i++) {
		memcpy(ids[i], l->ids[v[i].idx], sizeof(ids[i]));
		if (npk != NULL)
			npk[i] = pk[v[i].idx];
	}
	memcpy(l->ids, ids, l->n * sizeof(*ids));
	if (npk != NULL)
		memcpy(pk, npk, l->n * sizeof(*pk));
	free(npk);
	free(ids);
	free(v);
	return RQ_OK;
}

enum rq_status
queue_lock(const struct spool *sp, enum spool_sub sub, const char *id,
    int *fd, struct err *e)
{
	int tries, saved;

	if (!spool_id_valid(id))
		return err_set(e, RQ_NOINPUT, "invalid queue id");
	*fd = openat(sp->fd[sub], id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (*fd == -1) {
		if (errno == ENOENT)
			return err_set(e, RQ_NOINPUT, "%s: no such message "
			    "(mailq lists the queue)", id);
		return err_sys(e, RQ_TEMP, "open %s", id);
	}
	/* mailq's probe (queue_is_locked) holds a shared lock for a moment:
	 * a few short waits keep it from making a runner skip the message
	 * until its next pass. A runner holds its lock far longer. */
	for (tries = 0; flock(*fd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (errno == EWOULDBLOCK && tries < LOCK_TRIES) {
			struct timespec ts = { 0, LOCK_WAIT_NS };

			(void)nanosleep(&ts, NULL);
			continue;
		}
		saved = errno;
		close(*fd);
		*fd = -1;
		if (saved == EWOULDBLOCK)
			return err_set(e, RQ_TEMP, "%s: being delivered by "
			    "another queue run; try again when it is done",
			    id);
		errno = saved;
		return err_sys(e, RQ_TEMP, "lock %s", id);
	}
	return RQ_OK;
}

int
queue_is_locked(const struct spool *sp, enum spool_sub sub, const char *id)
{
	int fd, busy = 0;

	fd = openat(sp->fd[sub], id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK)
		busy = 1;
	close(fd);
	return busy;
}

time_t
queue_next_attempt(const struct cfg *c, unsigned attempts, time_t now)
{
	size_t i = attempts == 0 ? 0 : attempts - 1;

	if (c->nretry == 0)
		return now + 300;
	if (i >= c->nretry)
		i = c->nretry - 1;
	return now + c->retry[i];
}

size_t
queue_pending(const struct env *env)
{
	size_t i, n = 0;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == RCPT_PENDING)
			n++;
	return n;
}

/* Unlink dirfd/ID.env, then dirfd/ID (not synced). */
static enum rq_status
queue_unlink(int dfd, const char *id, struct err *e)
{
	char name[SPOOL_ID_LEN + 8];

	snprintf(name, sizeof(name), "%s.env", id);
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		return err_sys(e, RQ_TEMP, "remove %s", name);
	if (unlinkat(dfd, id, 0) == -1 && errno != ENOENT)
		return err_sys(e, RQ_TEMP, "remove %s", id);
	return RQ_OK;
}

enum rq_status
queue_remove(const struct spool *sp, enum spool_sub sub, const char *id,
    struct err *e)
{
	int dfd = sp->fd[sub];

	if (queue_unlink(dfd, id, e) != RQ_OK)
		return RQ_TEMP;
	if (spool_fsync_dir(dfd) == -1)
		return err_sys(e, RQ_TEMP, "fsync %s", spool_sub_name(sub));
	return RQ_OK;
}

enum rq_status
queue_move(const struct spool *sp, enum spool_sub from, enum spool_sub to,
    const char *id, struct err *e)
{
	char name[SPOOL_ID_LEN + 8];

	/* Message first: an envelope is never without its message. */
	if (renameat(sp->fd[from], id, sp->fd[to], id) == -1)
		return err_sys(e, RQ_TEMP, "move %s to %s", id,
		    spool_sub_name(to));
	snprintf(name, sizeof(name), "%s.env", id);
	if (renameat(sp->fd[from], name, sp->fd[to], name) == -1 &&
	    errno != ENOENT)
		return err_sys(e, RQ_TEMP, "move %s to %s", name,
		    spool_sub_name(to));
	if (spool_fsync_dir(sp->fd[to]) == -1 ||
	    spool_fsync_dir(sp->fd[from]) == -1)
		return err_sys(e, RQ_TEMP, "fsync queue directories");
	return RQ_OK;
}

void
queue_quarantine(const struct spool *sp, enum spool_sub sub, const char *id,
    const char *why)
{
	char name[SPOOL_ID_LEN + 8];

	snprintf(name, sizeof(name), "%s.env", id);
	if (renameat(sp->fd[sub], id, sp->fd[SP_CORRUPT], id) == -1 &&
	    errno != ENOENT)
		log_warn("%s: cannot move to corrupt/", id);
	if (renameat(sp->fd[sub], name, sp->fd[SP_CORRUPT], name) == -1 &&
	    errno != ENOENT)
		log_warn("%s: cannot move to corrupt/", name);
	(void)spool_fsync_dir(sp->fd[SP_CORRUPT]);
	log_warnx("%s: moved to corrupt/: %s", id, why);
}

int
qgroup_init(struct qgroup *g, const struct spool *sp, size_t max)
{
	struct rlimit rl;

	memset(g, 0, sizeof(*g));
	g->sp = sp;
	/* Leave three quarters of the descriptors to everything else. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur !=
	    RLIM_INFINITY && max > rl.rlim_cur / (4 * QG_FDS))
		max = rl.rlim_cur / (4 * QG_FDS);
	g->max = max > 0 ? max : 1;
	if ((g->v = calloc(g->max, sizeof(*g->v))) == NULL ||
	    (g->spare = calloc(g->max, 1)) == NULL) {
		free(g->v);
		g->v = NULL;
		return -1;
	}
	return 0;
}

/* tmp/spare.K.PID: the staging file of a group's K-th item. */
static void
slot_name(size_t k, char *out, size_t len)
{
	snprintf(out, len, "spare.%zu.%ld", k, (long)getpid());
}

enum rq_status
qgroup_stage(struct qgroup *g, struct qgroup_item *it, const struct env *env,
    struct err *e)
{
	char name[64];
	size_t k = g->n;

	if (k >= g->max)
		return err_set(e, RQ_INTERNAL, "qgroup_stage: group full");
	slot_name(k, name, sizeof(name));
	if (k >= g->slots)
		g->slots = k + 1;
	if (env_stage_as(g->sp->fd[SP_TMP], name, g->spare[k], env, &it->efd,
	    e) != RQ_OK) {
		g->spare[k] = 0;
		return RQ_TEMP;
	}
	g->spare[k] = 0;	/* it holds the new state now */
	it->what |= QG_ENV | QG_SLOT;
	return RQ_OK;
}

/* Install item k's staged envelope; its slot may keep the one replaced. */
static enum rq_status
qgroup_install(struct qgroup *g, size_t k, struct err *e)
{
	const struct spool *sp = g->sp;
	const struct qgroup_item *it = &g->v[k];
	char name[64];
	int kept = 0;
	enum rq_status st;

	if (!(it->what & QG_SLOT))
		return env_install(sp->fd[SP_QUEUE], sp->fd[SP_TMP], it->id,
		    e);
	slot_name(k, name, sizeof(name));
	st = env_install_as(sp->fd[SP_QUEUE], sp->fd[SP_TMP], name, it->id,
	    &kept, e);
	g->spare[k] = st == RQ_OK && kept;
	return st;
}

/* Drop a staged envelope that is not to be installed. */
static void
qgroup_unstage(struct qgroup *g, size_t k)
{
	char name[64];

	if (!(g->v[k].what & QG_SLOT)) {
		env_unstage(g->sp->fd[SP_TMP], g->v[k].id);
		return;
	}
	slot_name(k, name, sizeof(name));
	(void)unlinkat(g->sp->fd[SP_TMP], name, 0);
	g->spare[k] = 0;
}

/*
 * The old envelopes in the slots may still be queue/'s on the disk (its
 * fsync failed, or a slot was never durably exchanged): remove them
 * rather than write over them.
 */
static void
qgroup_drop_spares(struct qgroup *g)
{
	char name[64];
	size_t k;

	for (k = 0; k < g->slots; k++)
		if (g->spare[k]) {
			slot_name(k, name, sizeof(name));
			(void)unlinkat(g->sp->fd[SP_TMP], name, 0);
			g->spare[k] = 0;
		}
}

int
qgroup_full(const struct qgroup *g)
{
	return g->n >= g->max;
}

void
qgroup_add(struct qgroup *g, const struct qgroup_item *it)
{
	struct qgroup_item *v = &g->v[g->n++];
	size_t i;

	*v = *it;
	g->nsync += (v->efd != -1) + (v->cfd != -1);
	if (g->nsync <= QG_FEW)
		return;
	/* The commit syncs the file system: no descriptor is needed. */
	for (i = 0; i < g->n; i++) {
		if (g->v[i].efd != -1)
			close(g->v[i].efd);
		if (g->v[i].cfd != -1)
			close(g->v[i].cfd);
		g->v[i].efd = g->v[i].cfd = -1;
	}
}

/* Make the staged envelopes and copied files durable; -1 with errno. */
static int
qgroup_sync(const struct qgroup *g)
{
	size_t i;

	if (g->nsync == 0)
		return 0;
	if (g->nsync > QG_FEW)
		return spool_sync(g->sp->fd[SP_QUEUE]);
	for (i = 0; i < g->n; i++)
		if ((g->v[i].efd != -1 && fsync(g->v[i].efd) == -1) ||
		    (g->v[i].cfd != -1 && fsync(g->v[i].cfd) == -1))
			return -1;
	return 0;
}

static void
qgroup_close(struct qgroup_item *it)
{
	int *fds[] = { &it->efd, &it->cfd, &it->fd, &it->mfd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] != -1) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

/*
 * Install and remove what the group holds (the sync done: ok; if not,
 * nothing: a removal waits for a commit that works). An entry that
 * could not be removed loses its QG_REMOVE: it is kept, and said so.
 */
static void
qgroup_apply(struct qgroup *g, int ok)
{
	const struct spool *sp = g->sp;
	struct qgroup_item *it;
	struct err e;
	size_t i;

	for (i = 0; i < g->n; i++) {
		it = &g->v[i];
		if ((it->what & QG_ENV) && !ok)
			qgroup_unstage(g, i);
		else if ((it->what & QG_ENV) && qgroup_install(g, i, &e) !=
		    RQ_OK)
			log_warnx("%s: %s", it->id, e.msg);
		if ((it->what & QG_REMOVE) && ok && queue_unlink(
		    sp->fd[SP_QUEUE], it->id, &e) != RQ_OK) {
			log_warnx("%s: not removed, kept in the queue: %s",
			    it->id, e.msg);
			it->what &= ~QG_REMOVE;
		}
	}
}

/*
 * The log lines of the group's removals, once the commit has decided
 * their fate (Postfix's "removed" says the entry is gone for good): a
 * removal made durable, one not made at all (synced: 0; the entry is
 * kept and goes again), one made but not synced (why: the error).
 */
static void
qgroup_log(const struct qgroup *g, int synced, int ok, const char *why)
{
	const struct qgroup_item *it;
	size_t i;

	for (i = 0; i < g->n; i++) {
		it = &g->v[i];
		if (!(it->what & QG_REMOVE))
			continue;
		if (ok)
			log_agent("qmgr", "%s: removed", it->id);
		else if (!synced)
			log_warnx("%s: not removed, kept in the queue: %s",
			    it->id, why);
		else
			log_warnx("%s: removal not durable (%s): a crash may "
			    "bring the message back", it->id, why);
	}
}

enum rq_status
qgroup_commit(struct qgroup *g, struct err *e)
{
	const struct spool *sp = g->sp;
	enum rq_status st = RQ_OK;
	size_t i, dropped = 0;
	int ok, synced;

	if (g->n == 0)
		return RQ_OK;
	if (!(ok = synced = qgroup_sync(g) == 0))
		st = err_sys(e, RQ_TEMP, "sync %s", sp->dir);
	qgroup_apply(g, ok);
	if (spool_fsync_dir(sp->fd[SP_QUEUE]) == -1) {
		ok = 0;
		st = err_sys(e, RQ_TEMP, "fsync %s/queue", sp->dir);
		qgroup_drop_spares(g);
	}
	qgroup_log(g, synced, ok, ok ? NULL : e->msg);
	/* The queue's copies are durable: only now the maildrop's go. */
	for (i = 0; i < g->n; i++) {
		if (ok && (g->v[i].what & QG_DROP) &&
		    unlinkat(sp->fd[SP_MAILDROP], g->v[i].mid, 0) == 0)
			dropped++;
		qgroup_close(&g->v[i]);
	}
	if (dropped > 0)
		(void)spool_fsync_dir(sp->fd[SP_MAILDROP]);
	g->n = g->nsync = 0;
	return st;
}

void
qgroup_free(struct qgroup *g)
{
	struct err e;
	char name[64];
	size_t k;

	if (g->v != NULL && qgroup_commit(g, &e) != RQ_OK)
		log_warnx("%s", e.msg);
	for (k = 0; k < g->slots; k++) {
		slot_name(k, name, sizeof(name));
		(void)unlinkat(g->sp->fd[SP_TMP], name, 0);
	}
	free(g->spare);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

/* ---- relayq queue delete, hold, release, requeue ---- */

static enum rq_status
requeue(const struct spool *sp, enum spool_sub sub, const char *id,
    struct err *e)
{
	struct env env;
	enum rq_status st;

	if ((st = env_load(sp->fd[sub], id, &env, e)) != RQ_OK)
		return st;
	env.attempts = 0;
	env.next = 0;
	st = env_save(sp->fd[sub], sp->fd[SP_TMP], &env, e);
	env_free(&env);
	return st;
}

/* hold of a held message, release of one not held: say that instead
 * of "no such message". */
static enum rq_status
not_there(const struct spool *sp, enum queue_op op, const char *id,
    enum rq_status st, struct err *e)
{
	enum spool_sub other = op == Q_RELEASE ? SP_QUEUE : SP_HOLD;

	if (st != RQ_NOINPUT || op == Q_DELETE || faccessat(sp->fd[other],
	    id, F_OK, AT_SYMLINK_NOFOLLOW) == -1)
		return st;
	if (op == Q_RELEASE)
		return err_set(e, RQ_NOINPUT, "%s: not held (it is in the "
		    "queue already)", id);
	if (op == Q_HOLD)
		return err_set(e, RQ_NOINPUT, "%s: already held", id);
	return err_set(e, RQ_NOINPUT, "%s: held (relayq queue release %s "
	    "puts it back first)", id, id);
}

enum rq_status
queue_apply(const struct spool *sp, enum queue_op op, const char *id, struct err *e)
{
	enum spool_sub sub = op == Q_RELEASE ? SP_HOLD : SP_QUEUE;
	enum rq_status st;
	int fd;

	if (op == Q_DELETE && faccessat(sp->fd[SP_QUEUE], id, F_OK,
	    AT_SYMLINK_NOFOLLOW) == -1)
		sub = SP_HOLD;
	if ((st = queue_lock(sp, sub, id, &fd, e)) != RQ_OK)
		return not_there(sp, op, id, st, e);
	switch (op) {
	case Q_DELETE:
		st = queue_remove(sp, sub, id, e);
		break;
	case Q_HOLD:
		st = queue_move(sp, SP_QUEUE, SP_HOLD, id, e);
		break;
	case Q_RELEASE:
		if ((st = requeue(sp, SP_HOLD, id, e)) == RQ_OK)
			st = queue_move(sp, SP_HOLD, SP_QUEUE, id, e);
		break;
	case Q_REQUEUE:
		st = requeue(sp, SP_QUEUE, id, e);
		break;
	}
	close(fd);
	return st;
}
