/*
 * dropper.c - the maildrop entry creator for `sendmail -bs` (see the
 * header). The child closes every descriptor but its socket and the
 * maildrop directory, puts /dev/null on 0-2 (it must not hold the
 * client's pipes), and answers each request byte with a reply carrying
 * errno (0 on success) and the id, plus the new fd as SCM_RIGHTS. It
 * exits when the session closes its end. Error policy: the parent sees
 * -1 with errno; the helper never writes to stderr.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
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

static void
helper(int sock, int dirfd)
{
	struct dropper_reply r;
	char c;
	int fd, devnull, i, n;

	if ((devnull = open("/dev/null", O_RDWR)) != -1)
		for (i = 0; i < 3; i++)
			(void)dup2(devnull, i);
	for (i = 3; i < 1024; i++)
		if (i != sock && i != dirfd)
			(void)close(i);
	/* One session gets a bounded number of entries: a hostile caller
	 * cannot use the group to fill the maildrop. */
	for (n = 0; n < DROPPER_MAX_ENTRIES && read(sock, &c, 1) == 1; n++) {
		memset(&r, 0, sizeof(r));
		fd = make_entry(dirfd, r.id);
		r.err = fd == -1 ? errno : 0;
		send_reply(sock, &r, fd);
		if (fd != -1)
			close(fd);
	}
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
		helper(sv[1], dirfd);
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

void
dropper_stop(struct dropper *d)
{
	if (d->pid <= 0)
		return;
	close(d->sock);
	(void)waitpid(d->pid, NULL, 0);
	d->pid = -1;
}
