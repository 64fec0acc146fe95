/*
 * daemon.c - `relayq daemon` (contract and policy in daemon.h).
 *
 * One loop: wait (ppoll) for a wake-up byte on the FIFO, a signal, the
 * next full pass or the end of the smarthost session's idle time. A
 * wake-up picks up the maildrop and delivers only the messages that this
 * pickup added to the queue, so a deferred backlog is not rescanned per
 * submission; the full pass (start, SIGHUP, earliest retry, at least
 * every DAEMON_SCAN_SECONDS) is the ordinary deliver_run() over
 * everything. The passes are deliver_run() with the daemon's session
 * lent to them, so a burst of mail shares one connection (and one TLS
 * handshake and AUTH). Signals only set flags: they are blocked except
 * inside ppoll(), and deliver_run() checks the stop flag between messages.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "aliases.h"
#include "daemon.h"
#include "deliver.h"
#include "log.h"
#include "pickup.h"
#include "queue.h"
#include "smtp.h"
#include "spool.h"

static volatile sig_atomic_t daemon_stop, daemon_hup;

struct daemon {
	struct cfg *c;
	int must_exist;
	int verbose;
	int top;		/* the spool directory */
	int lockfd;
	int rfd, wfd;		/* the FIFO: read end, and our own write end
				   (so that it never reports end of file) */
	struct smtp_session *s;	/* kept between passes, or NULL */
	time_t used;		/* monotonic: last use of s */
	time_t next_full;	/* monotonic: the next full pass */
	int woken;
};

static void
on_term(int sig)
{
	(void)sig;
	daemon_stop = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	daemon_hup = 1;
}

static time_t
mono(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The lock that makes this the only daemon of the spool; our pid in it. */
static enum rq_status
daemon_lock(struct daemon *d, struct err *e)
{
	const char *dir = d->c->queue_dir;
	char pid[32];
	ssize_t n;

	d->lockfd = openat(d->top, DAEMON_LOCK_NAME, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (d->lockfd == -1)
		return err_sys(e, RQ_TEMP, "%s/%s", dir, DAEMON_LOCK_NAME);
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			return err_sys(e, RQ_TEMP, "lock %s/%s", dir,
			    DAEMON_LOCK_NAME);
		n = pread(d->lockfd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return err_set(e, RQ_TEMP, "another relayq daemon is running "
		    "(pid %s): %s/%s is locked", pid[0] ? pid : "unknown", dir,
		    DAEMON_LOCK_NAME);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(d->lockfd, 0) == -1 ||
	    pwrite(d->lockfd, pid, (size_t)n, 0) != n)
		log_warn("%s/%s: cannot write the pid", dir, DAEMON_LOCK_NAME);
	return RQ_OK;
}

/* Warn when set-group-ID submitters cannot write the FIFO. */
static void
fifo_check_group(struct daemon *d, const struct stat *st)
{
	struct stat md;

	if (fstatat(d->top, "maildrop", &md, AT_SYMLINK_NOFOLLOW) == -1)
		return;
	if (md.st_gid != st->st_gid || (st->st_mode & S_IWGRP) == 0)
		log_warnx("%s/%s: not writable by the group of maildrop/ "
		    "(gid %lu): submitters cannot wake the daemon and new mail "
		    "waits for the next scan (make install-root fixes it)",
		    d->c->queue_dir, DAEMON_FIFO_NAME,
		    (unsigned long)md.st_gid);
}

/* Open (make, in a private spool) the wake-up FIFO. */
static enum rq_status
daemon_fifo(struct daemon *d, struct err *e)
{
	const char *dir = d->c->queue_dir;
	struct stat st;

	/* mkfifoat honours the umask: set the mode explicitly. */
	if (mkfifoat(d->top, DAEMON_FIFO_NAME, 0620) == 0) {
		if (fchmodat(d->top, DAEMON_FIFO_NAME, 0620, 0) == -1)
			return err_sys(e, RQ_TEMP, "chmod %s/%s", dir,
			    DAEMON_FIFO_NAME);
	} else if (errno != EEXIST)
		return err_sys(e, RQ_TEMP, "mkfifo %s/%s", dir,
		    DAEMON_FIFO_NAME);
	d->rfd = openat(d->top, DAEMON_FIFO_NAME, O_RDONLY | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC);
	if (d->rfd == -1)
		return err_sys(e, RQ_TEMP, "%s/%s", dir, DAEMON_FIFO_NAME);
	if (fstat(d->rfd, &st) == -1 || !S_ISFIFO(st.st_mode) ||
	    st.st_uid != geteuid())
		return err_set(e, RQ_TEMP, "%s/%s: not a FIFO owned by uid %lu",
		    dir, DAEMON_FIFO_NAME, (unsigned long)geteuid());
	d->wfd = openat(d->top, DAEMON_FIFO_NAME, O_WRONLY | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC);
	if (d->wfd == -1)
		return err_sys(e, RQ_TEMP, "%s/%s", dir, DAEMON_FIFO_NAME);
	fifo_check_group(d, &st);
	return RQ_OK;
}

static void
drain(int fd)
{
	char buf[512];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* A session idle for a second or more is checked before it is lent. */
static void
session_check(struct daemon *d)
{
	struct err e;

	if (d->s == NULL || mono() - d->used < 1)
		return;
	if (smtp_reset(d->s, &e) != RQ_OK) {
		log_info("smarthost session ended while idle (%s); opening "
		    "a new one", e.msg);
		smtp_close(d->s);
		d->s = NULL;
	}
}

/* One deliver_run() (only_id: one message) with the kept session. */
static void
daemon_pass(struct daemon *d, const char *only_id, struct deliver_stats *st)
{
	struct deliver_opts o;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.only_id = only_id;
	o.verbose = d->verbose;
	o.report = d->verbose;
	o.session = &d->s;
	o.stop = &daemon_stop;
	session_check(d);
	if (deliver_run(d->c, &o, st, &e) != RQ_OK)
		log_warnx("queue run: %s", e.msg);
	if (d->s != NULL)
		d->used = mono();
}

/* A message left waiting is due at next_due (wall clock; 0: none). */
static void
schedule(struct daemon *d, time_t next_due)
{
	time_t delay;

	if (next_due == 0)
		return;
	delay = next_due - time(NULL);
	if (delay < 1)
		delay = 1;
	if (mono() + delay < d->next_full)
		d->next_full = mono() + delay;
}

/* Everything due; the next full pass comes with the earliest retry. */
static void
full_pass(struct daemon *d)
{
	struct deliver_stats st;

	daemon_pass(d, NULL, &st);
	d->next_full = mono() + DAEMON_SCAN_SECONDS;
	schedule(d, st.next_due);
}

/* The queue before and after a pickup; only the new ids are sent. */
static enum rq_status
pickup_new(struct daemon *d, struct idlist *before, struct idlist *after,
    struct err *e)
{
	struct aliases al;
	struct spool sp;
	enum rq_status st;

	memset(before, 0, sizeof(*before));
	memset(after, 0, sizeof(*after));
	if ((st = spool_open(&sp, d->c->queue_dir, (1u << SP_NSUB) - 1, 1,
	    e)) != RQ_OK)
		return st;
	if ((st = queue_scan(&sp, SP_QUEUE, before, e)) == RQ_OK) {
		if (pickup_run(&sp, pickup_aliases(d->c, &al), NULL, NULL, e) !=
		    RQ_OK)
			log_warnx("pickup: %s", e->msg);
		aliases_free(&al);
		st = queue_scan(&sp, SP_QUEUE, after, e);
	}
	spool_close(&sp);
	return st;
}

static void
new_mail(struct daemon *d)
{
	struct idlist before, after;
	struct deliver_stats st;
	struct err e;
	size_t i, j = 0;

	if (pickup_new(d, &before, &after, &e) != RQ_OK)
		log_warnx("new mail: %s", e.msg);
	for (i = 0; i < after.n && !daemon_stop; i++) {
		while (j < before.n && strcmp(before.ids[j], after.ids[i]) < 0)
			j++;
		if (j < before.n && strcmp(before.ids[j], after.ids[i]) == 0)
			continue;
		daemon_pass(d, after.ids[i], &st);
		schedule(d, st.next_due);
	}
	idlist_free(&before);
	idlist_free(&after);
}

/* SIGHUP: the file again; a broken one keeps the configuration in use. */
static void
reload(struct daemon *d)
{
	struct cfg n;
	struct err e;

	if (cfg_load(&n, d->c->path, d->must_exist, &e) != RQ_OK) {
		log_warnx("reload: %s; keeping the configuration in use",
		    e.msg);
		cfg_free(&n);
		return;
	}
	if (strcmp(n.queue_dir, d->c->queue_dir) != 0) {
		log_warnx("reload: %s: [queue] dir %s differs from the spool in "
		    "use (%s): restart the daemon to change it; keeping the "
		    "configuration in use", n.path, n.queue_dir,
		    d->c->queue_dir);
		cfg_free(&n);
		return;
	}
	cfg_free(d->c);
	*d->c = n;
	if (d->s != NULL) {	/* the smarthost settings may have changed */
		smtp_close(d->s);
		d->s = NULL;
	}
	log_info("reloaded %s", d->c->path);
}

/* Sleep until a wake-up, a signal, the next full pass or idle time out. */
static void
wait_event(struct daemon *d)
{
	sigset_t block, old;
	struct pollfd pfd;
	struct timespec ts;
	time_t now = mono(), until = d->next_full;

	if (d->s != NULL && d->used + DAEMON_KEEP_SECONDS < until)
		until = d->used + DAEMON_KEEP_SECONDS;
	ts.tv_sec = until > now ? until - now : 0;
	ts.tv_nsec = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &block, &old);
	pfd.fd = d->rfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (!daemon_stop && !daemon_hup && ppoll(&pfd, 1, &ts, &old) > 0 &&
	    (pfd.revents & POLLIN)) {
		drain(d->rfd);
		d->woken = 1;
	}
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (d->s != NULL && mono() >= d->used + DAEMON_KEEP_SECONDS) {
		smtp_close(d->s);
		d->s = NULL;
	}
}

static void
daemon_loop(struct daemon *d)
{
	full_pass(d);
	while (!daemon_stop) {
		wait_event(d);
		if (daemon_stop)
			break;
		if (daemon_hup) {
			daemon_hup = 0;
			/* logrotate renamed the file: from the next line on,
			 * a new one; then [local] log as the file now says. */
			log_reopen_request();
			reload(d);
			log_runner(d->c->log, 1);
			d->next_full = 0;
		}
		if (mono() >= d->next_full) {
			d->woken = 0;
			full_pass(d);
		} else if (d->woken) {
			d->woken = 0;
			new_mail(d);
		}
	}
}

static void
daemon_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
}

static void
daemon_close(struct daemon *d)
{
	if (d->s != NULL)
		smtp_close(d->s);
	d->s = NULL;
	if (d->wfd != -1)
		close(d->wfd);
	if (d->rfd != -1)
		close(d->rfd);
	if (d->lockfd != -1)
		close(d->lockfd);	/* releases the lock */
	if (d->top != -1)
		close(d->top);
}

/* The spool (made when private and new), its lock and its FIFO. */
static enum rq_status
daemon_open(struct daemon *d, struct err *e)
{
	struct spool sp;

	if (spool_open(&sp, d->c->queue_dir, (1u << SP_NSUB) - 1, 1, e) !=
	    RQ_OK)
		return RQ_TEMP;
	spool_close(&sp);
	if ((d->top = open(d->c->queue_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return err_sys(e, RQ_TEMP, "queue directory %s",
		    d->c->queue_dir);
	if (daemon_lock(d, e) != RQ_OK || daemon_fifo(d, e) != RQ_OK)
		return RQ_TEMP;
	return RQ_OK;
}

enum rq_status
daemon_run(struct cfg *c, int must_exist, int verbose, struct err *e)
{
	struct daemon d;

	memset(&d, 0, sizeof(d));
	d.c = c;
	d.must_exist = must_exist;
	d.verbose = verbose;
	d.top = d.lockfd = d.rfd = d.wfd = -1;
	daemon_stop = daemon_hup = 0;
	if (daemon_open(&d, e) != RQ_OK) {
		daemon_close(&d);
		return RQ_TEMP;
	}
	daemon_signals();
	log_info("daemon started (pid %ld, spool %s)", (long)getpid(),
	    c->queue_dir);
	daemon_loop(&d);
	log_info("daemon stopping (signal): in-flight work saved");
	daemon_close(&d);
	return RQ_OK;
}
