/*
 * usage.c - free space and per-user usage of the spool (see usage.h).
 *
 * The summary file, SPOOL/usage:
 *   "RELAYQUSAGE1\n", "T <sec> <nsec>\n" (when its scan began),
 *   "U <uid> <messages> <bytes>\n" per uid, "Z\n".
 * The runner replaces it through tmp/ (rename) under flock() on the spool
 * directory, so concurrent runners and pickups never lose each other's
 * counts; readers take no lock. It is not fsync()ed: after a crash the
 * next pass writes it again, and a missing or unreadable summary counts as
 * empty (the maildrop entries are then all counted live).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "log.h"
#include "queue.h"
#include "usage.h"

#define USAGE_FILE	"usage"
#define USAGE_MAX	(1 << 20)	/* bytes of summary read */
#define CLOCK_SLACK	1		/* seconds: coarse file times */

struct usage_ent {
	uid_t uid;
	long long count;
	long long bytes;
};

struct usage_tab {
	struct timespec since;	/* the scan began; {0, 0}: no summary */
	struct usage_ent *v;
	size_t n;
};

void
usage_limits(const struct cfg *c, uid_t uid, long long *max_queued,
    off_t *max_bytes)
{
	const struct cfg_user *u = cfg_user_find(c, uid);
	int inherit = uid != 0;	/* root: only what [user root] says */

	*max_queued = inherit ? c->user_max_queued : 0;
	*max_bytes = inherit ? c->user_max_bytes : 0;
	if (u != NULL && u->max_queued >= 0)
		*max_queued = u->max_queued;
	if (u != NULL && u->max_bytes >= 0)
		*max_bytes = u->max_bytes;
}

/* 1536 -> "1.5k", in the units of relayq.conf. */
static const char *
human_size(long long v, char *buf, size_t len)
{
	static const char units[] = "kMG";
	double d = (double)v;
	int i = -1;

	while (d >= 1024 && i < 2) {
		d /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%lld bytes", v);
	else
		snprintf(buf, len, "%.1f%c", d, units[i]);
	return buf;
}

/* The floor in bytes for a file system of fs (0: none). */
static long long
space_floor(const struct cfg *c, const struct statvfs *fs)
{
	if (c->min_free_pct >= 0)
		return (long long)((double)fs->f_blocks * fs->f_frsize *
		    c->min_free_pct / 100);
	return (long long)c->min_free;
}

enum rq_status
usage_space_check(const struct cfg *c, int dirfd, struct err *e)
{
	char have[32], want[32], pct[16] = "";
	struct statvfs fs;
	long long avail, floor;

	if (fstatvfs(dirfd, &fs) == -1)
		return err_sys(e, RQ_TEMP, "statvfs %s", c->queue_dir);
	avail = (long long)fs.f_bavail * (long long)fs.f_frsize;
	if ((floor = space_floor(c, &fs)) <= 0 || avail >= floor)
		return RQ_OK;
	if (c->min_free_pct >= 0)
		snprintf(pct, sizeof(pct), "%d%% = ", c->min_free_pct);
	return err_set(e, RQ_TEMP, "the file system of the spool %s has %s "
	    "free, less than [queue] min_free (%s%s): mail is refused until "
	    "space is freed", c->queue_dir, human_size(avail, have,
	    sizeof(have)), pct, human_size(floor, want, sizeof(want)));
}

static struct usage_ent *
tab_get(struct usage_tab *t, uid_t uid)
{
	struct usage_ent *v;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].uid == uid)
			return &t->v[i];
	if ((v = array_grow(t->v, t->n, sizeof(*v))) == NULL)
		return NULL;
	t->v = v;
	v += t->n++;
	memset(v, 0, sizeof(*v));
	v->uid = uid;
	return v;
}

static int
tab_add(struct usage_tab *t, uid_t uid, long long count, long long bytes)
{
	struct usage_ent *u = tab_get(t, uid);

	if (u == NULL)
		return -1;
	u->count += count;
	u->bytes += bytes;
	return 0;
}

/* ts >= since - CLOCK_SLACK: changed after the summary's scan began. */
static int
newer(const struct timespec *ts, const struct timespec *since)
{
	return ts->tv_sec > since->tv_sec - CLOCK_SLACK ||
	    (ts->tv_sec == since->tv_sec - CLOCK_SLACK &&
	    ts->tv_nsec >= since->tv_nsec);
}

/*
 * Add the maildrop entries (valid ids but skip) to t: all of them, or
 * (since not NULL) only uid's changed since then. -1 when the directory
 * cannot be listed.
 */
static int
scan_maildrop(int mdfd, uid_t uid, const struct timespec *since,
    const char *skip, struct usage_tab *t)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = openat(mdfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!spool_id_valid(de->d_name) || (skip != NULL &&
		    strcmp(de->d_name, skip) == 0) ||
		    fstatat(mdfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (since != NULL && (st.st_uid != uid ||
		    !newer(&st.st_ctim, since)))
			continue;
		(void)tab_add(t, st.st_uid, 1, st.st_size);
	}
	closedir(d);
	return 0;
}

/* One "U uid count bytes" or "T sec nsec" line into t; -1: malformed. */
static int
parse_line(const char *line, struct usage_tab *t)
{
	unsigned long uid;
	long long a, b;

	if (sscanf(line, "U %lu %lld %lld", &uid, &a, &b) == 3 && a >= 0 &&
	    b >= 0)
		return tab_add(t, (uid_t)uid, a, b);
	if (sscanf(line, "T %lld %lld", &a, &b) == 2 && a >= 0 && b >= 0 &&
	    b < 1000000000) {
		t->since.tv_sec = (time_t)a;
		t->since.tv_nsec = (long)b;
		return 0;
	}
	return -1;
}

/* Read the summary into t (empty when missing or malformed: then 0). */
static int
usage_read(const char *dir, struct usage_tab *t)
{
	char path[4096], *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	int fd, ok = 0;
	FILE *fp;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/%s", dir, USAGE_FILE);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return 0;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	if ((n = getline(&line, &cap, fp)) > 0 &&
	    strcmp(line, "RELAYQUSAGE1\n") == 0)
		while ((n = getline(&line, &cap, fp)) > 0 &&
		    (total += (size_t)n) < USAGE_MAX) {
			if (strcmp(line, "Z\n") == 0) {
				ok = 1;
				break;
			}
			if (parse_line(line, t) == -1)
				break;
		}
	free(line);
	fclose(fp);
	if (!ok) {
		free(t->v);
		memset(t, 0, sizeof(*t));
	}
	return ok;
}

/*
 * What uid has queued: the summary plus its maildrop entries changed since
 * the summary's scan began. The listing comes before the summary that is
 * used; when a new summary replaced the one whose time filtered the
 * listing, the count is made again (at last without a filter: too high,
 * never too low).
 */
static void
user_usage(const struct cfg *c, int mdfd, uid_t uid, const char *skip,
    long long *count, long long *bytes)
{
	static const struct timespec all = { 0, 0 };
	struct usage_tab sum, live;
	struct usage_ent *s, *l;
	struct timespec since;
	int tries;

	for (tries = 0;; tries++) {
		usage_read(c->queue_dir, &sum);
		since = tries < 3 ? sum.since : all;
		free(sum.v);
		memset(&live, 0, sizeof(live));
		if (scan_maildrop(mdfd, uid, &since, skip, &live) == -1)
			log_warn("%s/maildrop: cannot count the messages of "
			    "uid %lu", c->queue_dir, (unsigned long)uid);
		usage_read(c->queue_dir, &sum);
		if (tries == 3 || (sum.since.tv_sec == since.tv_sec &&
		    sum.since.tv_nsec == since.tv_nsec))
			break;
		free(sum.v);
		free(live.v);
	}
	s = tab_get(&sum, uid);
	l = tab_get(&live, uid);
	*count = (s ? s->count : 0) + (l ? l->count : 0);
	*bytes = (s ? s->bytes : 0) + (l ? l->bytes : 0);
	free(sum.v);
	free(live.v);
}

enum rq_status
usage_user_check(const struct cfg *c, int mdfd, uid_t uid,
    const char *skip_id, struct err *e)
{
	struct passwd *pw;
	long long max_q, count, bytes;
	off_t max_b;
	char name[64], b1[32], b2[32];

	usage_limits(c, uid, &max_q, &max_b);
	if (max_q == 0 && max_b == 0)
		return RQ_OK;
	user_usage(c, mdfd, uid, skip_id, &count, &bytes);
	if ((pw = getpwuid(uid)) != NULL)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "uid %lu", (unsigned long)uid);
	if (max_q > 0 && count >= max_q)
		return err_set(e, RQ_TEMP, "user %s has %lld queued messages "
		    "(limit %lld); try again later", name, count, max_q);
	if (max_b > 0 && bytes >= max_b)
		return err_set(e, RQ_TEMP, "user %s has %s queued (limit %s); "
		    "try again later", name, human_size(bytes, b1, sizeof(b1)),
		    human_size(max_b, b2, sizeof(b2)));
	return RQ_OK;
}

int
usage_admit(void *arg, int mdfd, const char *id)
{
	const struct usage_admit *a = arg;
	struct err e;

	if (usage_space_check(a->c, mdfd, &e) != RQ_OK)
		return ENOSPC;
	if (usage_user_check(a->c, mdfd, a->uid, id, &e) != RQ_OK)
		return EDQUOT;
	return 0;
}

/* Add the messages of queue/ or hold/ (uid from the envelope). */
static int
scan_sub(const struct spool *sp, enum spool_sub sub, struct usage_tab *t)
{
	struct idlist l;
	struct env env;
	struct stat st;
	struct err e;
	size_t i;

	if (queue_scan(sp, sub, &l, &e) != RQ_OK)
		return -1;
	for (i = 0; i < l.n; i++) {
		if (fstatat(sp->fd[sub], l.ids[i], &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || env_load(sp->fd[sub], l.ids[i], &env, &e) != RQ_OK)
			continue;	/* gone, or not complete yet */
		(void)tab_add(t, env.uid, 1, st.st_size);
		env_free(&env);
	}
	idlist_free(&l);
	return 0;
}

/* Replace the summary with t (through tmp/, mode 0644). */
static void
usage_write(const struct spool *sp, const struct usage_tab *t)
{
	char tmp[64], *text;
	struct buf b;
	size_t i;
	int fd, top, r;

	buf_init(&b, USAGE_MAX);
	r = buf_printf(&b, "RELAYQUSAGE1\nT %lld %ld\n",
	    (long long)t->since.tv_sec, (long)t->since.tv_nsec);
	for (i = 0; r == 0 && i < t->n; i++)
		r = buf_printf(&b, "U %lu %lld %lld\n", (unsigned long)t->v[i].uid,
		    t->v[i].count, t->v[i].bytes);
	if (r == 0)
		r = buf_puts(&b, "Z\n");
	snprintf(tmp, sizeof(tmp), "%s.%ld", USAGE_FILE, (long)getpid());
	fd = r == -1 ? -1 : openat(sp->fd[SP_TMP], tmp, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	top = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	text = buf_steal(&b);
	if (fd == -1 || top == -1 || fchmod(fd, 0644) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    close(fd) == -1 || (fd = -1, renameat(sp->fd[SP_TMP], tmp, top,
	    USAGE_FILE) == -1)) {
		log_warn("%s/%s: cannot write the per-user usage", sp->dir,
		    USAGE_FILE);
		if (fd != -1)
			close(fd);
		(void)unlinkat(sp->fd[SP_TMP], tmp, 0);
	}
	if (top != -1)
		close(top);
	free(text);
}

/* Any per-user limit configured? */
static int
usage_enabled(const struct cfg *c)
{
	size_t i;

	if (c->user_max_queued > 0 || c->user_max_bytes > 0)
		return 1;
	for (i = 0; i < c->nusers; i++)
		if (c->users[i].max_queued > 0 || c->users[i].max_bytes > 0)
			return 1;
	return 0;
}

void
usage_publish(const struct cfg *c, const struct spool *sp)
{
	char path[4096];
	struct usage_tab t;

	memset(&t, 0, sizeof(t));
	if (!usage_enabled(c)) {
		snprintf(path, sizeof(path), "%s/%s", sp->dir, USAGE_FILE);
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("%s", path);
		return;
	}
	if (sp->fd[SP_TMP] == -1 || spool_tmp_lock(sp) == -1)
		return;
	(void)clock_gettime(CLOCK_REALTIME, &t.since);
	/* maildrop/ before queue/: a message moving meanwhile is counted
	 * twice at worst, never missed. */
	if (sp->fd[SP_MAILDROP] != -1 && sp->fd[SP_QUEUE] != -1 &&
	    sp->fd[SP_HOLD] != -1 &&
	    scan_maildrop(sp->fd[SP_MAILDROP], 0, NULL, NULL, &t) == 0 &&
	    scan_sub(sp, SP_QUEUE, &t) == 0 && scan_sub(sp, SP_HOLD, &t) == 0)
		usage_write(sp, &t);
	spool_tmp_unlock(sp);
	free(t.v);
}

void
usage_picked(const struct spool *sp, uid_t uid, off_t bytes,
    const struct timespec *ctime)
{
	struct usage_tab t;

	if (sp->fd[SP_TMP] == -1 || spool_tmp_lock(sp) == -1)
		return;
	/* Older entries were counted by the scan of the summary itself.
	 * No summary: no limits (usage_publish), or none published yet. */
	if (usage_read(sp->dir, &t) && newer(ctime, &t.since) &&
	    tab_add(&t, uid, 1, bytes) == 0)
		usage_write(sp, &t);
	spool_tmp_unlock(sp);
	free(t.v);
}

int
usage_pickup_blocked(const struct cfg *c, const struct spool *sp)
{
	struct stat a, b;
	struct err e;

	if (fstat(sp->fd[SP_MAILDROP], &a) == -1 ||
	    fstat(sp->fd[SP_QUEUE], &b) == -1 || a.st_dev == b.st_dev ||
	    usage_space_check(c, sp->fd[SP_QUEUE], &e) == RQ_OK)
		return 0;
	log_warnx("pickup waits: queue/ is on another file system than "
	    "maildrop/ and %s", e.msg);
	return 1;
}
