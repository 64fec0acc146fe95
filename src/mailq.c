/*
 * mailq.c - the Postfix-compatible queue listing.
 *
 * Format (Postfix showq): a header line; per message "ID" padded to 10,
 * a status character ('*' being delivered, '!' held, ' ' waiting), the
 * size in 8 columns, the arrival time as asctime's first 20 characters
 * and the sender; then each distinct deferral reason in parentheses,
 * right-aligned to 78 columns, followed by the recipients it applies to,
 * indented by 41 spaces; a blank line between messages. Then sendmail's
 * "\t\tTotal requests: N" and, last, "-- N Kbytes in N Requests.".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "mailq.h"
#include "queue.h"
#include "spool.h"

#define RCPT_INDENT	"%41s"

struct listing {
	FILE *out;
	size_t count;
	unsigned long long bytes;
};

static void
print_head(struct listing *l, const char *id, char status, off_t size,
    time_t arrival, const char *sender)
{
	char when[32];
	struct tm tm;

	if (l->count++ == 0)
		fprintf(l->out, "%-10s %8s %-20s %s\n", "-Queue ID-",
		    "--Size--", "----Arrival Time----",
		    "-Sender/Recipient-------");
	else
		fputc('\n', l->out);
	if (localtime_r(&arrival, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		strlcpy(when, "??", sizeof(when));
	fprintf(l->out, "%-10s%c%8lld %-20.20s %s\n", id, status,
	    (long long)size, when, *sender ? sender : "MAILER-DAEMON");
	l->bytes += (unsigned long long)size;
}

static void
print_reason(struct listing *l, const char *reason)
{
	int pad = 76 - (int)strlen(reason);

	fprintf(l->out, "%*s(%s)\n", pad > 0 ? pad : 0, "", reason);
}

static void
print_env(struct listing *l, const struct env *env, char status)
{
	const char *last = NULL, *why;
	size_t i;

	print_head(l, env->id, status, env->msg_len, env->arrival,
	    env->sender);
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *r = &env->rcpts[i];

		if (r->state != RCPT_PENDING)
			continue;
		why = env->attempts > 0 ? (r->reason ? r->reason :
		    env->reason) : NULL;
		if (why != NULL && (last == NULL || strcmp(why, last) != 0))
			print_reason(l, why);
		last = why;
		fprintf(l->out, RCPT_INDENT "%s\n", "", r->addr);
	}
}

static void
list_queue(struct listing *l, const struct spool *sp, enum spool_sub sub,
    const char *id)
{
	struct env env;
	char status = ' ';

	if (env_load(sp->fd[sub], id, &env, NULL) != RQ_OK)
		return;
	if (sub == SP_HOLD)
		status = '!';
	else if (queue_is_locked(sp, sub, id))
		status = '*';
	if (queue_pending(&env) > 0)
		print_env(l, &env, status);
	env_free(&env);
}

/* A complete maildrop entry not picked up yet. */
static void
list_maildrop(struct listing *l, const struct spool *sp, const char *id)
{
	struct spool_msg m;
	size_t i;
	int fd;

	fd = openat(sp->fd[SP_MAILDROP], id, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return;
	if (spool_msg_read(fd, &m, NULL) == RQ_OK) {
		print_head(l, id, ' ', m.msg_len, m.arrival, m.sender);
		for (i = 0; i < m.nrcpt; i++)
			fprintf(l->out, RCPT_INDENT "%s\n", "", m.rcpts[i]);
		spool_msg_free(&m);
	}
	close(fd);
}

/*
 * Open what exists of the spool: a directory never created (nothing was
 * ever queued there) is empty; one we may not read is RQ_NOPERM.
 */
static enum rq_status
open_spool(const struct cfg *c, struct spool *sp, struct err *e)
{
	static const enum spool_sub subs[] = { SP_MAILDROP, SP_QUEUE,
	    SP_HOLD };
	struct spool one;
	size_t i;

	for (i = 0; i < SP_NSUB; i++)
		sp->fd[i] = -1;
	if ((sp->dir = strdup(c->queue_dir)) == NULL)
		return err_sys(e, RQ_TEMP, "strdup");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (spool_open(&one, c->queue_dir, 1u << subs[i], 0, e) ==
		    RQ_OK) {
			sp->fd[subs[i]] = one.fd[subs[i]];
			one.fd[subs[i]] = -1;
			spool_close(&one);
		} else if (errno == EACCES) {
			spool_close(sp);
			return err_set(e, RQ_NOPERM, "cannot read the queue in "
			    "%s: only root and the queue owner may list it",
			    c->queue_dir);
		} else if (errno != ENOENT) {
			spool_close(sp);
			return RQ_TEMP;
		}
	}
	return RQ_OK;
}

enum rq_status
mailq_print(const struct cfg *c, FILE *out, struct err *e)
{
	static const enum spool_sub subs[] = { SP_MAILDROP, SP_QUEUE,
	    SP_HOLD };
	struct listing l = { out, 0, 0 };
	struct spool sp;
	struct idlist ids;
	enum rq_status st;
	size_t s, i;

	if ((st = open_spool(c, &sp, e)) != RQ_OK)
		return st;
	for (s = 0; s < sizeof(subs) / sizeof(subs[0]); s++) {
		if (sp.fd[subs[s]] == -1)
			continue;
		if (queue_scan(&sp, subs[s], &ids, e) != RQ_OK) {
			spool_close(&sp);
			return RQ_TEMP;
		}
		for (i = 0; i < ids.n; i++)
			if (subs[s] == SP_MAILDROP)
				list_maildrop(&l, &sp, ids.ids[i]);
			else
				list_queue(&l, &sp, subs[s], ids.ids[i]);
		idlist_free(&ids);
	}
	spool_close(&sp);
	if (l.count == 0)
		fprintf(out, "Mail queue is empty\n");
	else
		fprintf(out, "\n\t\tTotal requests: %zu\n-- %llu Kbytes in %zu "
		    "Request%s.\n", l.count, l.bytes / 1024, l.count,
		    l.count == 1 ? "" : "s");
	return fflush(out) == 0 ? RQ_OK : err_sys(e, RQ_TEMP, "write");
}
