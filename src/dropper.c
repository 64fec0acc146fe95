/*
 * dropper.c - maildrop entries for a set-gid submission, made in the
 * submitting process itself (see the header). The group is effective
 * only inside dropper_create(), dropper_named() and dropper_stop(); in
 * between it is the saved set-group-ID alone. Error policy: each call
 * returns an errno value as it is (0 or -1 with errno); nothing here
 * writes to stderr.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "dropper.h"
#include "log.h"
#include "priv.h"

#define DROPPER_MAX_ENTRIES 10000

/* An entry this session made. */
struct made {
	char id[SPOOL_ID_LEN + 1];
	dev_t dev;
	ino_t ino;
	int anon;	/* O_TMPFILE: no name until linked */
	int linked;
};

/* The set-id group effective (up) or not: 0, or -1 with errno. */
static int
group_up(const struct dropper *d)
{
	if (setegid(d->gid) == -1)
		return -1;
	if (getegid() != d->gid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int
group_down(void)
{
	gid_t g = getgid();

	/* Only the effective id: the saved one keeps the group for the
	 * commit. A failure here is fatal to the submission. */
	if (setegid(g) == -1)
		return -1;
	if (getegid() != g) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* An anonymous file in the maildrop and an id no entry has now. */
static int
make_anon(int dirfd, char id[SPOOL_ID_LEN + 1])
{
	struct stat st;
	int fd, tries;

	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    SPOOL_MODE_WRITING);
	if (fd == -1)
		return -1;
	for (tries = 0; tries < 64; tries++) {
		spool_id_new(id, time(NULL));
		if (fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT)
			return fd;
	}
	close(fd);
	errno = EEXIST;
	return -1;
}

/* A new entry: anonymous where the file system can, else named. */
static int
make_entry(int dirfd, char id[SPOOL_ID_LEN + 1], int *anon)
{
	int fd = -1, tries;

	*anon = 1;
	if ((fd = make_anon(dirfd, id)) != -1 || (errno != EOPNOTSUPP &&
	    errno != EISDIR && errno != EINVAL))
		return fd;
	*anon = 0;
	for (tries = 0; tries < 64; tries++) {
		spool_id_new(id, time(NULL));
		fd = openat(dirfd, id, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, SPOOL_MODE_WRITING);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	return fd;
}

/*
 * The session is over: remove the named entries it left unfinished
 * (still mode 0600, the same file). Anonymous ones need nothing; a killed
 * session's named ones are the reaper's (pickup.h).
 */
static void
remove_unfinished(int dirfd, const struct made *m, int n)
{
	struct stat st;
	int i;

	for (i = 0; i < n; i++)
		if (!m[i].anon &&
		    fstatat(dirfd, m[i].id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_dev == m[i].dev &&
		    st.st_ino == m[i].ino &&
		    (st.st_mode & 07777) == SPOOL_MODE_WRITING)
			(void)unlinkat(dirfd, m[i].id, 0);
}

/* Give the anonymous file fd the name m->id, durably: 0 or an errno. */
static int
link_anon(int dirfd, struct made *m, int fd, const struct stat *st)
{
	char path[64];
	int err;

	if ((st->st_mode & 07777) != SPOOL_MODE_COMPLETE || st->st_nlink != 0)
		return EINVAL;	/* not complete, or linked already */
	/* AT_EMPTY_PATH needs a capability on older kernels (ENOENT). */
	if (linkat(fd, "", dirfd, m->id, AT_EMPTY_PATH) == -1) {
		if (errno != ENOENT)
			return errno;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, path, dirfd, m->id,
		    AT_SYMLINK_FOLLOW) == -1)
			return errno;
	}
	if (spool_fsync_dir(dirfd) == -1) {
		err = errno;
		(void)unlinkat(dirfd, m->id, 0);
		return err;
	}
	m->linked = 1;
	return 0;
}

/*
 * An anonymous entry is invisible until it is linked, so the admission
 * check (dropper.h) runs again here, and the check and the link are one
 * step for every helper of the spool (an exclusive lock on the maildrop
 * directory): of two parallel submissions, the later to link sees the
 * other's entry.
 */
static int
admit_and_link(const struct dropper *d, int dirfd, struct made *m, int fd,
    const struct stat *st)
{
	int r;

	if (d->admit == NULL)
		return link_anon(dirfd, m, fd, st);
	if (flock(dirfd, LOCK_EX) == -1)
		return errno;
	if ((r = d->admit(d->admit_arg, dirfd, m->id)) == 0)
		r = link_anon(dirfd, m, fd, st);
	(void)flock(dirfd, LOCK_UN);
	return r;
}

enum rq_status
dropper_start(struct dropper *d, int dirfd, struct err *e)
{
	d->dirfd = dirfd;
	d->gid = getegid();
	d->made = NULL;
	d->nmade = 0;
	if (group_down() == -1)
		return err_sys(e, RQ_TEMP, "cannot drop privileges");
	d->active = 1;
	return RQ_OK;
}

/* Lock the new entry fd (the reaper's sign of a live writer), remember
 * it, and ask admit: 0 or an errno; on failure the entry is gone. */
static int
adopt(struct dropper *d, int fd, const char *id, int anon)
{
	struct made *m;
	struct stat st;
	int err = 0;

	if ((m = array_grow(d->made, (size_t)d->nmade, sizeof(*m))) == NULL)
		err = ENOMEM;
	else if (flock(fd, LOCK_EX | LOCK_NB) == -1 || fstat(fd, &st) == -1)
		err = errno;
	else if (d->admit != NULL)
		err = d->admit(d->admit_arg, d->dirfd, id);
	if (m != NULL)
		d->made = m;
	if (err != 0) {
		if (!anon)
			(void)unlinkat(d->dirfd, id, 0);
		return err;
	}
	m = &d->made[d->nmade++];
	strlcpy(m->id, id, sizeof(m->id));
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->anon = anon;
	m->linked = 0;
	return 0;
}

int
dropper_create(void *arg, char id[SPOOL_ID_LEN + 1])
{
	struct dropper *d = arg;
	int fd, anon, err;

	if (d->nmade >= DROPPER_MAX_ENTRIES) {
		errno = EDQUOT;
		return -1;
	}
	if (group_up(d) == -1)
		return -1;
	if ((fd = make_entry(d->dirfd, id, &anon)) == -1)
		err = errno;
	else if ((err = adopt(d, fd, id, anon)) != 0) {
		close(fd);
		fd = -1;
	}
	if (group_down() == -1) {
		err = errno;
		if (fd != -1) {
			close(fd);
			fd = -1;
		}
	}
	errno = err;
	return fd;
}

/* Link (anonymous) or check (named) the entry fd made under id. */
static int
commit(struct dropper *d, const char *id, int fd)
{
	struct stat st, named;
	int i;

	for (i = 0; i < d->nmade; i++)
		if (strcmp(d->made[i].id, id) == 0 && !d->made[i].linked)
			break;
	if (i == d->nmade || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_dev != d->made[i].dev || st.st_ino != d->made[i].ino)
		return EBADF;	/* not an entry of this session */
	if (d->made[i].anon)
		return admit_and_link(d, d->dirfd, &d->made[i], fd, &st);
	if (fstatat(d->dirfd, id, &named, AT_SYMLINK_NOFOLLOW) == -1 ||
	    named.st_dev != st.st_dev || named.st_ino != st.st_ino)
		return ENOENT;	/* renamed or removed (reaped) */
	d->made[i].linked = 1;
	return 0;
}

int
dropper_named(void *arg, const char *id, int fd)
{
	struct dropper *d = arg;
	int err;

	if (group_up(d) == -1)
		return 0;
	err = commit(d, id, fd);
	if (group_down() == -1 && err == 0)
		err = errno;
	errno = err;
	return err == 0;
}

void
dropper_stop(struct dropper *d)
{
	if (!d->active)
		return;
	if (group_up(d) == 0)
		remove_unfinished(d->dirfd, d->made, d->nmade);
	if (priv_drop() == -1)
		log_warn("cannot drop privileges");
	free(d->made);
	d->made = NULL;
	d->nmade = 0;
	d->active = 0;
}
