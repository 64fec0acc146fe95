/*
 * dropper.c - the maildrop entry maker for set-gid submissions (see the
 * header). The child closes every descriptor but its socket and the
 * maildrop directory and puts /dev/null on 0-2 (it must not hold the
 * client's pipes). The channel is a SOCK_SEQPACKET socketpair: one
 * fixed-size request or reply per message, a descriptor as SCM_RIGHTS
 * beside it, and end of file when either side is gone (done, failed or
 * killed), which the helper answers by removing the named entries it made
 * that are still unfinished and exiting. Error policy: each reply carries
 * an errno value (0 on success) that the submitter reports as it is; the
 * helper never writes to stderr.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

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

#define DROPPER_MAX_ENTRIES 10000

#define OP_CREATE	'C'
#define OP_LINK		'L'

struct dropper_req {
	char op;
	char id[SPOOL_ID_LEN + 1];
};

struct dropper_reply {
	int err;
	int anon;
	char id[SPOOL_ID_LEN + 1];
};

/* An entry this helper made. */
struct made {
	char id[SPOOL_ID_LEN + 1];
	dev_t dev;
	ino_t ino;
	int anon;	/* O_TMPFILE: no name until linked */
	int linked;
};

/* One message of n bytes with fd (-1: none) beside it; -1 on failure. */
static int
send_msg(int sock, const void *p, size_t n, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { (void *)p, n };
	struct msghdr msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/*
 * One message of exactly n bytes into p, and the descriptor sent with it
 * (*fd, -1 if none; any extra is closed by the kernel). -1 at end of file
 * or on a message of another size.
 */
static int
recv_msg(int sock, void *p, size_t n, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { p, n };
	struct msghdr msg;
	struct cmsghdr *h;
	ssize_t r;

	*fd = -1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if ((h = CMSG_FIRSTHDR(&msg)) != NULL && h->cmsg_level == SOL_SOCKET &&
	    h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(h), sizeof(int));
	if (r == (ssize_t)n && !(msg.msg_flags & MSG_TRUNC))
		return 0;
	if (*fd != -1)
		close(*fd);
	*fd = -1;
	return -1;
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
 * The session is over (or was killed): remove the named entries it left
 * unfinished (still mode 0600, the same file). The session itself cannot:
 * it runs without the group. Anonymous ones need nothing.
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

/*
 * 'C': a new entry, remembered; a session gets a bounded number. It is
 * locked here, before the descriptor leaves: the lock belongs to the open
 * file, so it lasts while the submitter holds it, helper dead or not.
 */
static void
req_create(const struct dropper *d, int sock, int dirfd, struct made **made,
    int *nmade)
{
	struct dropper_reply r;
	struct made *m;
	struct stat st;
	int fd = -1;

	memset(&r, 0, sizeof(r));
	if (*nmade >= DROPPER_MAX_ENTRIES)
		r.err = EDQUOT;
	else if ((m = array_grow(*made, (size_t)*nmade, sizeof(*m))) == NULL)
		r.err = ENOMEM;
	else {
		*made = m;
		if ((fd = make_entry(dirfd, r.id, &r.anon)) != -1 &&
		    (flock(fd, LOCK_EX | LOCK_NB) == -1 ||
		    fstat(fd, &st) == -1)) {
			r.err = errno;
			if (!r.anon)
				(void)unlinkat(dirfd, r.id, 0);
			close(fd);
			fd = -1;
		} else if (fd == -1)
			r.err = errno;
	}
	if (fd != -1 && d->admit != NULL &&
	    (r.err = d->admit(d->admit_arg, dirfd, r.id)) != 0) {
		if (!r.anon)
			(void)unlinkat(dirfd, r.id, 0);
		close(fd);
		fd = -1;
	}
	if (fd != -1) {
		m = &(*made)[(*nmade)++];
		memcpy(m->id, r.id, sizeof(r.id));
		m->dev = st.st_dev;
		m->ino = st.st_ino;
		m->anon = r.anon;
		m->linked = 0;
	}
	(void)send_msg(sock, &r, sizeof(r), fd);
	if (fd != -1)
		close(fd);
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
 * 'L' ID with the entry's descriptor: link it (anonymous), or check that
 * ID still names it (named). Only a file made here under that id.
 */
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

static void
req_link(const struct dropper *d, int sock, int dirfd, struct made *made,
    int nmade, const char *id, int fd)
{
	struct dropper_reply r;
	struct stat st, named;
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < nmade; i++)
		if (strcmp(made[i].id, id) == 0 && !made[i].linked)
			break;
	if (i == nmade || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_dev != made[i].dev || st.st_ino != made[i].ino)
		r.err = EBADF;	/* not an entry of this session */
	else if (made[i].anon)
		r.err = admit_and_link(d, dirfd, &made[i], fd, &st);
	else if (fstatat(dirfd, id, &named, AT_SYMLINK_NOFOLLOW) == -1 ||
	    named.st_dev != st.st_dev || named.st_ino != st.st_ino)
		r.err = ENOENT;	/* renamed or removed (reaped) */
	(void)send_msg(sock, &r, sizeof(r), -1);
}

/* Close every descriptor from 3 on but a and b: one call per gap where
 * the kernel has close_range(), not one per possible number. */
static void
close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a, i;

#ifdef HAVE_CLOSE_RANGE
	if ((lo <= 3 || close_range(3, (unsigned)lo - 1, 0) == 0) &&
	    (hi - lo <= 1 || close_range((unsigned)lo + 1,
	    (unsigned)hi - 1, 0) == 0) &&
	    close_range((unsigned)hi + 1, ~0U, 0) == 0)
		return;
#endif
	for (i = 3; i < 1024; i++)
		if (i != a && i != b)
			(void)close(i);
}

static void
helper(const struct dropper *d, int sock, int dirfd)
{
	struct dropper_req q;
	struct made *made = NULL;
	int devnull, fd, i, nmade = 0;

	if ((devnull = open("/dev/null", O_RDWR)) != -1)
		for (i = 0; i < 3; i++)
			(void)dup2(devnull, i);
	close_others(sock, dirfd);
	/* Until the session ends (done, failed or killed). */
	while (recv_msg(sock, &q, sizeof(q), &fd) == 0) {
		q.id[SPOOL_ID_LEN] = '\0';
		if (q.op == OP_CREATE)
			req_create(d, sock, dirfd, &made, &nmade);
		else if (q.op == OP_LINK && fd != -1)
			req_link(d, sock, dirfd, made, nmade, q.id, fd);
		else
			break;
		if (fd != -1)
			close(fd);
	}
	remove_unfinished(dirfd, made, nmade);
	_exit(0);
}

enum rq_status
dropper_start(struct dropper *d, int dirfd, struct err *e)
{
	int sv[2];

	d->last_id[0] = '\0';
	d->last_anon = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return err_sys(e, RQ_TEMP, "socketpair");
	if ((d->pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return err_sys(e, RQ_TEMP, "fork");
	}
	if (d->pid == 0) {
		close(sv[0]);
		helper(d, sv[1], dirfd);
	}
	close(sv[1]);
	d->sock = sv[0];
	return RQ_OK;
}

/* The helper did not answer: it was killed (or failed). */
static int
gone(const struct dropper *d)
{
	log_warnx("the maildrop helper (pid %ld) is gone: nothing was "
	    "queued", (long)d->pid);
	errno = EPIPE;
	return -1;
}

/* A request and its reply (*fd: a descriptor that came with it). */
static int
ask(struct dropper *d, char op, const char *id, int sendfd,
    struct dropper_reply *r, int *fd)
{
	struct dropper_req q;

	memset(&q, 0, sizeof(q));
	q.op = op;
	if (id != NULL)
		strlcpy(q.id, id, sizeof(q.id));
	if (send_msg(d->sock, &q, sizeof(q), sendfd) == -1 ||
	    recv_msg(d->sock, r, sizeof(*r), fd) == -1)
		return gone(d);
	r->id[SPOOL_ID_LEN] = '\0';
	return 0;
}

int
dropper_create(void *arg, char id[SPOOL_ID_LEN + 1])
{
	struct dropper *d = arg;
	struct dropper_reply r;
	int fd;

	if (ask(d, OP_CREATE, NULL, -1, &r, &fd) == -1)
		return -1;
	if (r.err != 0 || fd == -1 || !spool_id_valid(r.id)) {
		if (fd != -1)
			close(fd);
		errno = r.err != 0 ? r.err : EIO;
		return -1;
	}
	strlcpy(id, r.id, SPOOL_ID_LEN + 1);
	strlcpy(d->last_id, r.id, sizeof(d->last_id));
	d->last_anon = r.anon;
	return fd;
}

int
dropper_named(void *arg, const char *id, int fd)
{
	struct dropper *d = arg;
	struct dropper_reply r;
	int rfd;

	if (ask(d, OP_LINK, id, fd, &r, &rfd) == -1) {
		/* A named entry outlives us: leave it empty and unfinished
		 * for the runner's reaper (an anonymous one just goes). */
		if (!d->last_anon && strcmp(d->last_id, id) == 0) {
			(void)fchmod(fd, SPOOL_MODE_WRITING);
			if (ftruncate(fd, 0) == -1)
				log_warn("maildrop/%s: cannot empty", id);
		}
		errno = EPIPE;
		return 0;
	}
	if (rfd != -1)
		close(rfd);
	errno = r.err;
	return r.err == 0;
}

void
dropper_stop(struct dropper *d)
{
	if (d->pid <= 0)
		return;
	close(d->sock);
	(void)waitpid(d->pid, NULL, 0);
	d->pid = -1;
}
