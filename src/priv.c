/*
 * priv.c - fds, environment and identity changes. Every change is
 * verified after it is made (a setgid() that "succeeds" but leaves the
 * saved id behind would be a hole), and a failure is an error, never
 * something to continue past.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priv.h"

int
priv_sanitize_fds(void)
{
	int fd;

	for (;;) {
		if ((fd = open("/dev/null", O_RDWR)) == -1)
			return -1;
		if (fd > 2) {
			close(fd);
			return 0;
		}
	}
}

int
priv_is_setid(void)
{
	return getuid() != geteuid() || getgid() != getegid();
}

int
priv_drop(void)
{
	gid_t g = getgid();
	uid_t u = getuid();

	if (setresgid(g, g, g) == -1 || setresuid(u, u, u) == -1)
		return -1;
	if (getegid() != g || geteuid() != u)
		return -1;
	return 0;
}

enum rq_status
priv_drop_or_fail(struct err *e)
{
	if (priv_drop() == -1)
		return err_sys(e, RQ_TEMP, "cannot drop privileges");
	return RQ_OK;
}

void
priv_clean_env(void)
{
	clearenv();
	(void)setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
}

enum rq_status
priv_become_runner(const char *spool_dir, struct err *e)
{
	struct passwd *pw;
	struct stat st;

	if (geteuid() != 0)
		return RQ_OK;
	if (stat(spool_dir, &st) == -1 || st.st_uid == 0)
		return RQ_OK;	/* a root-owned spool: stay root */
	if ((pw = getpwuid(st.st_uid)) == NULL)
		return err_set(e, RQ_TEMP, "%s: owner uid %lu has no passwd "
		    "entry", spool_dir, (unsigned long)st.st_uid);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return err_sys(e, RQ_TEMP, "become user %s", pw->pw_name);
	if (geteuid() != pw->pw_uid || getegid() != pw->pw_gid ||
	    setuid(0) != -1)
		return err_set(e, RQ_TEMP, "become user %s: not complete",
		    pw->pw_name);
	return RQ_OK;
}
