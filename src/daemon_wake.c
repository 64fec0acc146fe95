/*
 * daemon_wake.c - the submitter's side of the daemon's wake-up FIFO
 * (API in daemon.h). A file of its own so that the submission program
 * links it without the runner (delivery, SMTP, TLS) that daemon.c needs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

int
daemon_wake_open(const char *spool_dir)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", spool_dir,
	    DAEMON_FIFO_NAME) >= (int)sizeof(path))
		return -1;
	/* O_NONBLOCK: ENXIO at once when no daemon reads the FIFO. */
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
daemon_wake(int fd)
{
	ssize_t n;
	int saved;

	if (fd == -1)
		return -1;
	/* The caller ignores SIGPIPE (a daemon that just died: EPIPE). */
	n = write(fd, "w", 1);
	saved = errno;
	close(fd);
	/* EAGAIN: the pipe is full of wake-ups the daemon has yet to read. */
	return n == 1 || (n == -1 && saved == EAGAIN) ? 0 : -1;
}
