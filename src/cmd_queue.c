/*
 * cmd_queue.c - the queue runner's and the listing's commands shared by
 * relayq run/flush/daemon/queue list and sendmail -q/-bp (relayq only:
 * the sendmail program executes relayq for them, runexec.h).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "deliver.h"
#include "log.h"
#include "mailq.h"
#include "priv.h"
#include "qaccess.h"

static char list_buf[65536];	/* stdout's buffer for a queue listing */

static int
run_pass(struct cfg *c, const struct deliver_opts *o);

static void
on_hup_reopen(int sig)
{
	(void)sig;
	log_reopen_request();
}

void
cmd_log_runner(const struct cfg *c, int stream_ok)
{
	struct sigaction sa;
	struct stat st;
	struct err e;
	int owner;

	if ((priv_is_setid() && priv_drop() == -1) ||
	    priv_become_runner(c->queue_dir, &e) != RQ_OK)
		return;		/* run_pass() says why */
	/* Only the spool's owner (the runner) writes the log file; a
	 * spool yet to be made will be this process's. */
	owner = stat(c->queue_dir, &st) == 0 ? st.st_uid == geteuid() :
	    errno == ENOENT;
	log_runner(owner || c->log == NULL || c->log[0] != '/' ? c->log :
	    NULL, stream_ok);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_hup_reopen;
	(void)sigaction(SIGHUP, &sa, NULL);
}

int
cmd_run_queue(struct cfg *c, const char *only_id, int flush, int verbose,
    int report)
{
	struct deliver_opts o;

	memset(&o, 0, sizeof(o));
	o.only_id = only_id;
	o.flush = flush;
	o.verbose = verbose;
	o.report = report;
	return run_pass(c, &o);
}

int
cmd_run_selected(struct cfg *c, const struct deliver_filter *f, int verbose)
{
	struct deliver_opts o;

	memset(&o, 0, sizeof(o));
	o.filter = f;
	o.flush = 1;	/* asked for by name: retry times do not apply */
	o.verbose = verbose;
	o.report = verbose;
	return run_pass(c, &o);
}

/*
 * Only root and the owner of the spool run the queue: anyone else gets one
 * line and EX_NOPERM, not a permission error from inside the spool. A
 * spool not made yet is a private one (-C) its user will own.
 */
static enum rq_status
may_run_queue(const struct cfg *c, struct err *e)
{
	const struct passwd *pw;
	struct stat st;
	uid_t uid = getuid();

	if (uid == 0 || stat(c->queue_dir, &st) == -1 || st.st_uid == uid)
		return RQ_OK;
	pw = getpwuid(st.st_uid);
	return err_set(e, RQ_NOPERM, "only root or the queue runner (user "
	    "%s) delivers the queue in %s; mailq lists it",
	    pw != NULL ? pw->pw_name : "?", c->queue_dir);
}

static int
run_pass(struct cfg *c, const struct deliver_opts *o)
{
	struct deliver_stats st;
	struct err e;

	if (priv_is_setid() && priv_drop_or_fail(&e) != RQ_OK)
		return cmd_fail("relayq", &e);
	if (may_run_queue(c, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	if (priv_become_runner(c->queue_dir, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	if (deliver_run(c, o, &st, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	if (o->verbose)
		fprintf(stderr, "relayq: %zu delivered, %zu deferred, %zu "
		    "bounced, %zu not due or busy\n", st.delivered,
		    st.deferred, st.bounced, st.skipped);
	return EX_OK;
}

int
cmd_list_queue(const struct cfg *c, const char *prog, int json)
{
	enum rq_status st;
	struct err e;

	if ((st = qaccess_check(c, &e)) == RQ_OK && getuid() == 0) {
		if (priv_is_setid())
			st = priv_drop_or_fail(&e);
		if (st == RQ_OK)
			st = priv_become_runner(c->queue_dir, &e);
	}
	/* A large queue's listing in few write(2)s (set before any output;
	 * glibc keeps its own size when given no buffer). */
	if (st == RQ_OK)
		(void)setvbuf(stdout, list_buf, _IOFBF, sizeof(list_buf));
	if (st == RQ_OK)
		st = json ? mailq_print_json(c, stdout, &e) :
		    mailq_print(c, stdout, &e);
	if (priv_is_setid() && st == RQ_OK)
		st = priv_drop_or_fail(&e);
	else if (priv_is_setid())
		(void)priv_drop();	/* e already says what failed */
	return st == RQ_OK ? EX_OK : cmd_fail(prog, &e);
}
