/*
 * runexec.c - execute the full relayq program (see runexec.h). Errors:
 * a failed exec or fork is RQ_TEMP (the caller's mail is already queued
 * or was never read).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat.h"
#include "priv.h"
#include "runexec.h"

#ifndef RELAYQ_PROGRAM_PATH
#define RELAYQ_PROGRAM_PATH "/usr/sbin/relayq"
#endif

/*
 * The relayq to run: beside this executable when not set-id and it is
 * there, else the built-in path.
 */
static const char *
program_path(char *buf, size_t len)
{
	ssize_t n;
	char *slash;

	if (priv_is_setid())
		return RELAYQ_PROGRAM_PATH;
	if ((n = readlink("/proc/self/exe", buf, len - 1)) <= 0)
		return RELAYQ_PROGRAM_PATH;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL ||
	    (size_t)(slash - buf) + sizeof("/relayq") > len)
		return RELAYQ_PROGRAM_PATH;
	strlcpy(slash, "/relayq", len - (size_t)(slash - buf));
	return access(buf, X_OK) == 0 ? buf : RELAYQ_PROGRAM_PATH;
}

enum rq_status
runexec_replace(char *const argv[], struct err *e)
{
	char buf[PATH_MAX];
	const char *path = program_path(buf, sizeof(buf));

	if (priv_is_setid() && priv_drop_or_fail(e) != RQ_OK)
		return e->status;
	fflush(NULL);
	execv(path, argv);
	return err_sys(e, RQ_TEMP, "cannot run %s", path);
}

void
runexec_detach(void)
{
	int fd;

	(void)setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

pid_t
runexec_spawn(char *const argv[], int detach, struct err *e)
{
	char buf[PATH_MAX];
	const char *path = program_path(buf, sizeof(buf));
	pid_t pid;
	int status;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		err_sys(e, RQ_TEMP, "fork");
		return -1;
	}
	if (pid == 0) {
		if (detach)
			runexec_detach();
		if (!priv_is_setid() || priv_drop() == 0)
			execv(path, argv);
		_exit(127);
	}
	if (detach)
		return pid;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			err_sys(e, RQ_TEMP, "waitpid");
			return -1;
		}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
