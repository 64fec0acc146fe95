/*
 * tmpsweep.c - remove what killed writers left in tmp/ (see tmpsweep.h).
 * A file is touched only when its writer's PID names no process; the
 * sweep holds the lock of tmp/ so that two runners never sweep at once.
 * A maildrop entry caught in the middle of its reaping is mail: it goes
 * back to maildrop/, never away.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "tmpsweep.h"

#define REAP_SUFFIX	".reap"	/* pickup.c's name for an entry it reaps */

long
tmpsweep_pid(const char *name, size_t *stem)
{
	const char *dot = strrchr(name, '.'), *errstr;
	long long pid;

	if (dot == NULL || dot == name || dot[1] < '1' || dot[1] > '9' ||
	    strspn(dot + 1, "0123456789") != strlen(dot + 1))
		return -1;
	pid = strtonum(dot + 1, 1, INT_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	*stem = (size_t)(dot - name);
	return (long)pid;
}

/* Whether process pid may still be writing (unknown counts as alive). */
static int
writer_alive(long pid)
{
	if (pid == (long)getpid())
		return 1;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/*
 * tmp/NAME (its stem: MID.reap) is a maildrop entry whose reaper died:
 * back to maildrop/MID, where the reaper found it, never over another.
 */
static void
put_back(const struct spool *sp, const char *name, size_t stem, long pid)
{
	char mid[SPOOL_ID_LEN + 1];
	size_t len = stem - strlen(REAP_SUFFIX);

	if (len == SPOOL_ID_LEN) {
		memcpy(mid, name, len);
		mid[len] = '\0';
	}
	if (len != SPOOL_ID_LEN || !spool_id_valid(mid)) {
		log_warnx("tmp/%s: left by process %ld, which is gone; not a "
		    "maildrop entry's name, left alone", name, pid);
		return;
	}
	if (renameat2(sp->fd[SP_TMP], name, sp->fd[SP_MAILDROP], mid,
	    RENAME_NOREPLACE) == -1) {
		log_warn("tmp/%s: cannot put back as maildrop/%s", name, mid);
		return;
	}
	/* The new name durable first, then the old one gone: a crash must
	 * not leave both, whose second copy would be put back (and sent)
	 * once more after the first was delivered. */
	(void)spool_fsync_dir(sp->fd[SP_MAILDROP]);
	(void)spool_fsync_dir(sp->fd[SP_TMP]);
	log_warnx("tmp/%s: put back as maildrop/%s (process %ld, which was "
	    "reaping it, is gone)", name, mid, pid);
}

/* One entry of tmp/: removed (or put back) when its writer is gone. */
static void
sweep_one(const struct spool *sp, const char *name)
{
	struct stat st;
	size_t stem, rl = strlen(REAP_SUFFIX);
	long pid;

	if ((pid = tmpsweep_pid(name, &stem)) == -1 || writer_alive(pid) ||
	    fstatat(sp->fd[SP_TMP], name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return;
	if (stem > rl && strncmp(name + stem - rl, REAP_SUFFIX, rl) == 0) {
		put_back(sp, name, stem, pid);
		return;
	}
	if (unlinkat(sp->fd[SP_TMP], name, 0) == -1) {
		if (errno != ENOENT)
			log_warn("tmp/%s: cannot remove", name);
		return;
	}
	log_info("tmp/%s: removed, left by process %ld, which is gone "
	    "(%lld bytes)", name, pid, (long long)st.st_size);
}

void
tmpsweep_run(const struct spool *sp)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (sp->fd[SP_TMP] == -1)
		return;
	if (spool_tmp_lock(sp) == -1)
		return;
	if ((fd = openat(sp->fd[SP_TMP], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/tmp: read", sp->dir);
		if (fd != -1)
			close(fd);
	} else {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				sweep_one(sp, de->d_name);
		closedir(d);
	}
	spool_tmp_unlock(sp);
}
