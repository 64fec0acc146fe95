/*
 * secretcmd.c - run password_command (see secretcmd.h): fork, exec, read
 * its output under a deadline with poll(), reap it. The buffer that held
 * the output is wiped before it is freed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "secretcmd.h"

#define ARGV_MAX	64

/* Split cmd into argv (words in copy); the word count, or -1. */
static int
split(char *copy, char **argv)
{
	char *p = copy, *w, q;
	int n = 0;

	if (strncmp(copy, "sh -c ", 6) == 0) {
		argv[0] = "sh";
		argv[1] = "-c";
		argv[2] = copy + 6;
		argv[3] = NULL;
		return copy[6] != '\0' ? 3 : -1;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == ARGV_MAX - 1)
			return -1;
		argv[n++] = w = p;
		for (q = 0; *p != '\0' && (q != 0 || (*p != ' ' && *p != '\t'));
		    p++) {
			if (q == 0 && (*p == '\'' || *p == '"'))
				q = *p;
			else if (q != 0 && *p == q)
				q = 0;
			else
				*w++ = *p;
		}
		if (q != 0)
			return -1;
		if (*p != '\0')
			p++;
		*w = '\0';
	}
	argv[n] = NULL;
	return n > 0 ? n : -1;
}

int
secretcmd_valid(const char *cmd)
{
	char *copy, *argv[ARGV_MAX];
	int n;

	if ((copy = strdup(cmd)) == NULL)
		return 0;
	n = split(copy, argv);
	free(copy);
	return n > 0;
}

static void
child(int wfd, char **argv)
{
	int null = open("/dev/null", O_RDONLY);

	if (null == -1 || dup2(null, 0) == -1 || dup2(wfd, 1) == -1)
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

/* Read fd until EOF or the deadline; 0, -1 (error) or -2 (deadline). */
static int
collect(int fd, int timeout, struct buf *b)
{
	struct timespec start, now;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char chunk[4096];
	ssize_t n;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long)timeout * 1000 - ((now.tv_sec - start.tv_sec) *
		    1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return -2;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return -1;
		if (pfd.revents == 0)
			continue;
		if ((n = read(fd, chunk, sizeof(chunk))) == 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0 && buf_append(b, chunk, (size_t)n) == -1) {
			explicit_bzero(chunk, sizeof(chunk));
			return -1;
		}
		explicit_bzero(chunk, sizeof(chunk));
	}
}

/* The output in b, trimmed, as a new string (b is wiped). */
static char *
trimmed(struct buf *b)
{
	size_t s = 0, e = b->len;
	char *out;

	while (s < e && strchr(" \t\r\n", b->data[s]) != NULL)
		s++;
	while (e > s && strchr(" \t\r\n", b->data[e - 1]) != NULL)
		e--;
	out = e > s ? strndup(b->data + s, e - s) : NULL;
	buf_wipe(b);
	return out;
}

enum rq_status
secretcmd_run(const char *cmd, int timeout, char **out, struct err *e)
{
	char *copy, *argv[ARGV_MAX];
	struct buf b;
	int p[2], status = 0, r;
	pid_t pid;

	*out = NULL;
	if ((copy = strdup(cmd)) == NULL || split(copy, argv) == -1) {
		free(copy);
		return err_set(e, RQ_TEMP, "password_command: cannot be split "
		    "into words");
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		free(copy);
		return err_sys(e, RQ_TEMP, "password_command %s", argv[0]);
	}
	if (pid == 0)
		child(p[1], argv);
	close(p[1]);
	buf_init(&b, SECRETCMD_MAX);
	r = collect(p[0], timeout > 0 ? timeout : SECRETCMD_TIMEOUT, &b);
	close(p[0]);
	if (r != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		*out = trimmed(&b);
	buf_wipe(&b);
	if (r == -2)
		err_set(e, RQ_TEMP, "password_command %s: no answer within %d "
		    "s (killed)", argv[0], timeout > 0 ? timeout :
		    SECRETCMD_TIMEOUT);
	else if (r == -1)
		err_sys(e, RQ_TEMP, "password_command %s: reading its output",
		    argv[0]);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		err_set(e, RQ_TEMP, "password_command %s: %s %d", argv[0],
		    WIFEXITED(status) ? "exited with status" :
		    "killed by signal", WIFEXITED(status) ?
		    WEXITSTATUS(status) : WTERMSIG(status));
	else if (*out == NULL)
		err_set(e, RQ_TEMP, "password_command %s: printed nothing",
		    argv[0]);
	free(copy);
	return *out != NULL ? RQ_OK : RQ_TEMP;
}
