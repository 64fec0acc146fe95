/*
 * dropper.c - the maildrop entry creator for `sendmail -bs` (see the
 * header). The child closes every descriptor but its socket and the
 * maildrop directory, puts /dev/null on 0-2 (it must not hold the
 * client's pipes), and answers each request byte with a reply carrying
 * errno (0 on success) and the id, plus the new fd as SCM_RIGHTS; 'Q' and
 * an id asks whether that entry still has its name (the commit check the
 * session cannot make without the group: spool_writer_commit). When
 * the session closes its end (done, failed or killed), it removes the
 * entries it made that are still unfinished (mode 0600), which the
 * session, without the group, cannot, and exits. Error policy: the
 * parent sees -1 with errno; the helper never writes to stderr.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "dropper.h"

#define DROPPER_MAX_ENTRIES 10000

struct dropper_reply {
	int err;
	char id[SPOOL_ID_LEN + 1];
};

static int
make_entry(int dirfd, char id[SPOOL_ID_LEN + 1])
{
	int fd = -1, tries;

	for (tries = 0; tries < 64; tries++) {
		spool_id_new(id, time(NULL));
		fd = openat(dirfd, id, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, SPOOL_MODE_WRITING);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	return fd;
}

static void
send_reply(int sock, const struct dropper_reply *r, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { (void *)r, sizeof(*r) };
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
	(void)sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* An entry this helper made: removed at the end unless committed. */
struct made {
	char id[SPOOL_ID_LEN + 1];
	dev_t dev;
	ino_t ino;
};

/*
 * The session is over (or was killed): remove the entries it left
 * unfinished (still mode 0600, the same file). The session itself cannot:
 * it runs without the group, and the maildrop is writable by it only.
 */
static void
remove_unfinished(int dirfd, const struct made *m, int n)
{
	struct stat st;
	int i;

	for (i = 0; i < n; i++)
		if (fstatat(dirfd, m[i].id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_dev == m[i].dev &&
		    st.st_ino == m[i].ino &&
		    (st.st_mode & 07777) == SPOOL_MODE_WRITING)
			(void)unlinkat(dirfd, m[i].id, 0);
}

/* Read exactly n bytes (a stream socket may split them). */
static int
read_full(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* 'C': a new entry, remembered; a session gets a bounded number. */
static void
req_create(const struct dropper *d, int sock, int dirfd, struct made **made,
    int *nmade)
{
	struct dropper_reply r;
	struct made *m;
	struct stat st;
	int fd;

	memset(&r, 0, sizeof(r));
	if (*nmade >= DROPPER_MAX_ENTRIES) {
		r.err = EDQUOT;
		send_reply(sock, &r, -1);
		return;
	}
	if ((m = array_grow(*made, (size_t)*nmade, sizeof(*m))) == NULL) {
		r.err = ENOMEM;
		send_reply(sock, &r, -1);
		return;
	}
	*made = m;
	fd = make_entry(dirfd, r.id);
	if (fd != -1 && (fstat(fd, &st) == -1 || (d->admit != NULL &&
	    (errno = d->admit(d->admit_arg, dirfd, r.id)) != 0))) {
		(void)unlinkat(dirfd, r.id, 0);
		close(fd);
		fd = -1;
	}
	r.err = fd == -1 ? errno : 0;
	if (fd != -1) {
		memcpy((*made)[*nmade].id, r.id, sizeof(r.id));
		(*made)[*nmade].dev = st.st_dev;
		(*made)[(*nmade)++].ino = st.st_ino;
	}
	send_reply(sock, &r, fd);
	if (fd != -1)
		close(fd);
}

/* 'Q' ID: 'Y' when maildrop/ID is still the file made under that id. */
static void
req_named(int sock, int dirfd, const struct made *made, int nmade)
{
	char id[SPOOL_ID_LEN + 1], yes = 'N';
	struct stat st;
	int i;

	if (read_full(sock, id, SPOOL_ID_LEN) == -1)
		return;
	id[SPOOL_ID_LEN] = '\0';
	for (i = 0; i < nmade; i++)
		if (strcmp(made[i].id, id) == 0 &&
		    fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == made[i].dev && st.st_ino == made[i].ino)
			yes = 'Y';
	(void)send(sock, &yes, 1, MSG_NOSIGNAL);
}

static void
helper(const struct dropper *d, int sock, int dirfd)
{
	struct made *made = NULL;
	char c;
	int devnull, i, nmade = 0;

	if ((devnull = open("/dev/null", O_RDWR)) != -1)
		for (i = 0; i < 3; i++)
			(void)dup2(devnull, i);
	for (i = 3; i < 1024; i++)
		if (i != sock && i != dirfd)
			(void)close(i);
	/* Until the session ends (done, failed or killed). */
	while (read_full(sock, &c, 1) == 0) {
		if (c == 'C')
			req_create(d, sock, dirfd, &made, &nmade);
		else if (c == 'Q')
			req_named(sock, dirfd, made, nmade);
		else
			break;
	}
	remove_unfinished(dirfd, made, nmade);
	_exit(0);
}

enum rq_status
dropper_start(struct dropper *d, int dirfd, struct err *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
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

int
dropper_create(void *arg, char id[SPOOL_ID_LEN + 1])
{
	struct dropper *d = arg;
	struct dropper_reply r;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { &r, sizeof(r) };
	struct msghdr msg;
	struct cmsghdr *h;
	int fd = -1;

	if (write(d->sock, "C", 1) != 1)
		return -1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	if (recvmsg(d->sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(r)) {
		errno = EIO;
		return -1;
	}
	if ((h = CMSG_FIRSTHDR(&msg)) != NULL && h->cmsg_level == SOL_SOCKET &&
	    h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
	r.id[SPOOL_ID_LEN] = '\0';
	if (r.err != 0 || fd == -1 || !spool_id_valid(r.id)) {
		if (fd != -1)
			close(fd);
		errno = r.err != 0 ? r.err : EIO;
		return -1;
	}
	strlcpy(id, r.id, SPOOL_ID_LEN + 1);
	return fd;
}

int
dropper_named(void *arg, const char *id)
{
	struct dropper *d = arg;
	char req[1 + SPOOL_ID_LEN], yes;

	if (strlen(id) != SPOOL_ID_LEN)
		return 0;
	req[0] = 'Q';
	memcpy(req + 1, id, SPOOL_ID_LEN);
	if (send(d->sock, req, sizeof(req), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(req) || read_full(d->sock, &yes, 1) == -1)
		return 0;
	return yes == 'Y';
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
