/*
 * spawnloop PROCS COUNT MSG ERRFILE CMD [ARG...]: the timed submission loop
 * of bench/bench.py.
 *
 * Runs CMD COUNT times in all, each with MSG on standard input, standard
 * output on /dev/null and standard error appended to ERRFILE, split over
 * PROCS submitters running in parallel; each submitter runs one process at
 * a time, as a caller of sendmail does.  Prints "OK SECONDS" (wall time of
 * the whole loop, from the first spawn to the last exit), or "FAIL P/I RC"
 * for the first submission that did not exit 0 (submitter P, its I-th run).
 *
 * Why not a shell loop: a shell forks a copy of itself for every command,
 * and on a small virtual machine that fork costs as much as a whole
 * queue-only submission, so the loop measured the shell as much as the
 * MTA.  posix_spawn() uses vfork semantics (no page-table copy), which
 * leaves the cost of the program under test, and the same for every MTA
 * and for the `cat` reference.
 */
#define _GNU_SOURCE
#include <err.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One submitter: n runs, one at a time.  Returns 0, or prints FAIL. */
static int
submitter(int tag, long n, const char *msg, const char *errf, char **argv)
{
	posix_spawn_file_actions_t fa;
	long i;
	pid_t pid;
	int st, e;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, msg, O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, errf,
	    O_WRONLY | O_APPEND | O_CREAT, 0644) != 0)
		errx(2, "posix_spawn_file_actions failed");
	for (i = 1; i <= n; i++) {
		if ((e = posix_spawnp(&pid, argv[0], &fa, NULL, argv,
		    environ)) != 0) {
			printf("FAIL %d/%ld spawn: errno %d\n", tag, i, e);
			return 1;
		}
		while (waitpid(pid, &st, 0) == -1)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("FAIL %d/%ld %d\n", tag, i,
			    WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st));
			return 1;
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

int
main(int argc, char *argv[])
{
	long procs, count, per, extra, n;
	double t0, t1;
	pid_t pid;
	int p, st, bad = 0;

	if (argc < 6)
		errx(2, "usage: spawnloop PROCS COUNT MSG ERRFILE CMD [ARG...]");
	procs = strtol(argv[1], NULL, 10);
	count = strtol(argv[2], NULL, 10);
	if (procs < 1 || count < 1)
		errx(2, "PROCS and COUNT must be positive");
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now();
	if (procs == 1) {
		if (submitter(1, count, argv[3], argv[4], argv + 5) != 0)
			return 1;
	} else {
		per = count / procs;
		extra = count % procs;
		for (p = 1; p <= procs; p++) {
			n = per + (p <= extra);
			if ((pid = fork()) == -1)
				err(2, "fork");
			if (pid == 0)
				_exit(submitter(p, n, argv[3], argv[4],
				    argv + 5));
		}
		while ((pid = wait(&st)) != -1)
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				bad = 1;
		if (bad)
			return 1;
	}
	t1 = now();
	printf("OK %.6f\n", t1 - t0);
	return 0;
}
