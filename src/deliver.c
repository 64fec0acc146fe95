/*
 * deliver.c - the queue runner's pass (see deliver.h).
 *
 * One SMTP session per route serves every message of the pass that takes
 * that route (relayq daemon lends the default route's session, which it
 * keeps open between passes); a route with a long queue is shared out
 * over up to its `connections` sessions, each in a child process of the
 * pass (pass_run()). If opening it fails, the remaining messages
 * of the route are deferred with the same reason rather than hammering
 * the smarthost; if it breaks mid-pass it is reopened a bounded number of
 * times. A route's password is read once per pass, only when its session
 * is actually opened, and wiped afterwards. The TLS sessions of a route
 * share one tls_cache for the pass (tls.h): the session processes fork
 * after the first session is up, so they inherit its context and resume
 * its TLS session instead of a full handshake each. The pass goes in
 * queue_order(), after the first look at new messages sets their route
 * and priority. Before all that, each envelope is read once without its
 * lock (peek_all()): the first looks, the order and the sharing out go by
 * that, so that a pass reads an envelope twice (that look, and under the
 * lock before the attempt), not four times.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "aliases.h"
#include "conn.h"
#include "authpause.h"
#include "bounce.h"
#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "logline.h"
#include "pickup.h"
#include "policy.h"
#include "msghead.h"
#include "queue.h"
#include "rate.h"
#include "rewrite.h"
#include "route.h"
#include "smarthost.h"
#include "smtp.h"
#include "spool.h"
#include "tls.h"
#include "tmpsweep.h"
#include "usage.h"

#define MAX_REOPEN	3
#define BOUNCE_ROUNDS	4
/*
 * Recipients per SMTP transaction. Each transaction carries the message
 * again (SMTP has no other way past a server's per-transaction limit), so
 * fewer would mean more copies. But RFC 5321 obliges servers to take only
 * 100 and few take more than 1000; a bigger batch would rarely save a
 * copy, and would cost memory (results per recipient) and crash safety:
 * the state is saved after each transaction, and a crash between its "."
 * and that save re-sends the whole batch.
 */
#define RCPT_BATCH	1000
#define STOPPED(o)	((o)->stop != NULL && *(o)->stop)
/*
 * Messages whose new state (or removal) is committed together (queue.h,
 * struct qgroup): one sync for this many instead of two fsyncs each.
 * The promise allows it: a state lost in a crash only means that a
 * message whose final dot was answered 250 is sent again, or that one
 * deferred is tried early. Each message stays locked until the commit,
 * so no other runner sends it meanwhile.
 */
#define DELIVER_GROUP	256
/*
 * Due messages per session before a route's queue is shared out over
 * more sessions (its `connections`). A session costs a TCP and TLS
 * handshake and an AUTH (some hundred ms to a remote smarthost), a
 * message over an open session tens of ms: from 100 messages on, a
 * second session saves seconds while setting it up costs a few percent.
 * Below that the pass stays in one session, as servers that count
 * logins and the daily cron batch prefer.
 */
#define SHARE_MIN	100

/* One route's session: at most one connection per route per pass. */
struct route_sess {
	const struct cfg_smarthost *sh;
	struct smtp_session *s;
	int opens;		/* sessions opened in this pass */
	int down;		/* no session possible in this pass */
	int unreachable;	/* ... because the server is unreachable
				   (smtp_params.unreachable), or the route
				   is paused (authpause.h): fall back */
	int paused;		/* ... because the route is paused */
	char down_reason[ERR_MSG_MAX];
	char *password;
	int password_read;
	int token_refused;	/* smtp_params.token_refused */
	int refreshed;		/* password_command run again this pass */
	int auth_refused;	/* smtp_params.auth_refused */
	struct tls_cache *tls;	/* NULL: none (yet) */
	double conn_secs;	/* how long opening the session took ... */
	int conn_fresh;		/* ... not yet charged to a message */
};

struct runner {
	struct cfg *c;
	const struct deliver_opts *o;
	struct deliver_stats *stats;
	struct spool sp;
	struct route_sess *rs;	/* per route, as route_at() numbers them */
	size_t nrs;
	struct idlist bounces;	/* DSNs queued during this pass */
	struct aliases aliases;
	const struct aliases *al;	/* NULL: none configured */
	struct qgroup g;	/* states not yet committed */
	struct queue_peek *pk;	/* per entry of the pass's list, or NULL */
};

static void
password_forget(struct route_sess *rs)
{
	if (rs->password != NULL) {
		explicit_bzero(rs->password, strlen(rs->password));
		free(rs->password);
	}
	rs->password = NULL;
	rs->password_read = 0;
}

static enum rq_status
session_open(struct runner *r, struct route_sess *rs, struct err *e)
{
	struct smtp_params p;
	enum rq_status st;
	double t0;

	if (!rs->password_read) {
		if (smarthost_secrets(r->c, rs->sh, &rs->password, e) != RQ_OK)
			return RQ_TEMP;
		rs->password_read = 1;
	}
	smarthost_params(r->c, rs->sh, rs->password, r->o->verbose, &p);
	if (rs->sh->tls != TLS_MODE_NONE && rs->tls == NULL)
		rs->tls = tls_cache_new();	/* NULL: full handshakes */
	p.tls_cache = rs->tls;
	rs->unreachable = 0;
	rs->token_refused = 0;
	rs->auth_refused = 0;
	p.unreachable = &rs->unreachable;
	p.token_refused = &rs->token_refused;
	p.auth_refused = &rs->auth_refused;
	rs->opens++;
	t0 = logline_now();
	st = smtp_open(&rs->s, &p, e);
	rs->conn_secs = logline_now() - t0;
	rs->conn_fresh = 1;
	/* An OAuth2 access token expired: once a pass, ask for a new one. */
	if (st != RQ_OK && rs->token_refused &&
	    rs->sh->password_command != NULL && !rs->refreshed) {
		rs->refreshed = 1;
		log_info("route %s: the server refused the access token; "
		    "running password_command again", rs->sh->name);
		password_forget(rs);
		return session_open(r, rs, e);
	}
	return st;
}

/* A usable session, or RQ_TEMP with the reason the smarthost is down. */
static enum rq_status
session_get(struct runner *r, struct route_sess *rs, struct err *e)
{
	if (rs->s != NULL)
		return RQ_OK;
	if (!rs->down && rs->opens > MAX_REOPEN) {
		rs->down = 1;
		rs->unreachable = 0;
		strlcpy(rs->down_reason, "too many broken sessions in one "
		    "pass", sizeof(rs->down_reason));
	}
	/* No connection: the account is protected. Its mail goes as if
	 * the smarthost could not be reached: down the fallback chain,
	 * whose routes log in with their own accounts. */
	if (!rs->down && authpause_check(r->sp.fd[SP_STATE], r->c, rs->sh,
	    time(NULL), rs->down_reason, sizeof(rs->down_reason)))
		rs->down = rs->unreachable = rs->paused = 1;
	if (rs->down)
		return err_set(e, RQ_TEMP, "%s", rs->down_reason);
	if (session_open(r, rs, e) != RQ_OK) {
		rs->s = NULL;
		rs->down = 1;
		strlcpy(rs->down_reason, e->msg, sizeof(rs->down_reason));
		authpause_opened(r->sp.fd[SP_STATE], r->c, rs->sh, time(NULL),
		    0, rs->auth_refused, e->msg);
		/* A deferral is routine: syslog, and stderr only with -v,
		 * so that `sendmail -q` from cron stays quiet. */
		if (!rs->auth_refused)
			log_info("route %s: smarthost unavailable, mail "
			    "deferred: %s", rs->sh->name, e->msg);
		return RQ_TEMP;
	}
	authpause_opened(r->sp.fd[SP_STATE], r->c, rs->sh, time(NULL), 1, 0,
	    NULL);
	return RQ_OK;
}

/* The session state of route sh. */
static struct route_sess *
route_sess(struct runner *r, const struct cfg_smarthost *sh)
{
	size_t i;

	for (i = 0; i < r->nrs; i++)
		if (r->rs[i].sh == sh)
			return &r->rs[i];
	return &r->rs[0];
}

static void
sessions_close(struct runner *r)
{
	struct route_sess *rs;
	size_t i;

	for (i = 0; i < r->nrs; i++) {
		rs = &r->rs[i];
		if (rs->s != NULL)
			smtp_close(rs->s);
		tls_cache_free(rs->tls);
		password_forget(rs);
	}
	free(r->rs);
	r->rs = NULL;
	r->nrs = 0;
}

/*
 * The route of env: the one stored in its envelope, else (first sight,
 * or a route since removed from the configuration) chosen now and saved.
 */
static struct route_sess *
env_route(struct runner *r, struct env *env)
{
	const struct cfg_smarthost *sh = NULL;
	struct err e;

	if (env->route != NULL && (sh = route_find(r->c, env->route)) != NULL)
		return route_sess(r, sh);
	sh = route_select(r->c, env->sender, env->uid);
	if (env->route != NULL)
		log_warnx("%s: route %s is no longer configured, now %s",
		    env->id, env->route, sh->name);
	if (env_set_route(env, sh->name) == -1 || env_save(r->sp.fd[SP_QUEUE],
	    r->sp.fd[SP_TMP], env, &e) != RQ_OK)
		log_warnx("%s: cannot save its route %s", env->id, sh->name);
	else
		log_info("%s: route=%s", env->id, sh->name);
	return route_sess(r, sh);
}

static void
report(struct runner *r, const struct env *env, const char *what,
    const char *why)
{
	if (r->o->report)
		fprintf(stderr, "relayq: %s: %s%s%s\n", env->id, what,
		    why ? ": " : "", why ? why : "");
}

/* Fold one transaction's results for rcpts map[0..n) into env. */
static void
fold(struct route_sess *rs, struct env *env, const size_t *map,
    const struct smtp_rcpt_result *res, size_t n, enum rq_status st,
    const struct logline_times *t)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct env_rcpt *er = &env->rcpts[map[i]];

		env_set_reason(&er->reason, res[i].text);
		if (res[i].status == RQ_OK)
			er->state = RCPT_DONE;
		else if (res[i].status == RQ_PERM)
			er->state = RCPT_FAILED;
		else if (st == RQ_OK)
			env_set_reason(&env->reason, res[i].text);
		logline_log_outcome(env->id, er->addr, rs->s != NULL ?
		    smtp_peer(rs->s) : rs->sh->host, er->state == RCPT_DONE ?
		    "sent" : er->state == RCPT_FAILED ? "bounced" : "deferred",
		    res[i].text, t);
	}
}

/*
 * A server that takes fewer recipients per transaction than we send
 * answers the excess "452 too many recipients" (RFC 5321 4.5.3.1.10).
 * When it took some of this transaction's, those it refused so go once
 * more at the end of the list (rc and map have room for n more; *n grows)
 * and the number it took is returned: the batch size from then on. 0
 * otherwise.
 */
static size_t
retry_too_many(const char **rc, size_t *map,
    const struct smtp_rcpt_result *res, size_t start, size_t k, size_t *n,
    size_t cap)
{
	size_t i, took = 0, again = 0;

	for (i = 0; i < k; i++) {
		took += res[i].status == RQ_OK;
		again += res[i].status == RQ_TEMP && res[i].code == 452;
	}
	if (took == 0 || again == 0)
		return 0;
	for (i = 0; i < k && *n < cap; i++)
		if (res[i].status == RQ_TEMP && res[i].code == 452) {
			rc[*n] = rc[start + i];
			map[(*n)++] = map[start + i];
		}
	return took;
}

/* Every pending recipient fails for good with why. */
static void
fail_pending(struct env *env, const char *why)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == RCPT_PENDING) {
			env->rcpts[i].state = RCPT_FAILED;
			env_set_reason(&env->rcpts[i].reason, why);
		}
}

/*
 * The message as it goes out through rs: the envelope sender and, when
 * the route rewrites From, the new header block in head. -1 when it
 * cannot go out now (env's reason set; RQ_PERM: its recipients failed).
 */
static int
outgoing(struct route_sess *rs, struct env *env, int fd, struct buf *head,
    struct smtp_msg *m)
{
	struct err e;
	off_t skip;
	enum rq_status st;

	memset(m, 0, sizeof(*m));
	if ((st = rewrite_head(rs->sh, fd, env->msg_off, env->msg_len, head,
	    &skip, &e)) != RQ_OK) {
		env_set_reason(&env->reason, e.msg);
		if (st == RQ_PERM)
			fail_pending(env, e.msg);
		return -1;
	}
	m->sender = rewrite_sender(rs->sh, env->sender);
	m->fd = fd;
	m->offset = env->msg_off + skip;
	m->size = env->msg_len - skip + (off_t)head->len;
	m->head = head->len > 0 ? head->data : NULL;
	m->head_len = head->len;
	if (m->head != NULL || strcmp(m->sender, env->sender) != 0)
		log_info("%s: route %s: sent as <%s>%s", env->id, rs->sh->name,
		    m->sender, m->head != NULL ? ", From rewritten" : "");
	return 0;
}

/*
 * Whether the sending limits of the route that carries env let it go now
 * (rate.h): 0, or -1 when it is held back (its reason and next attempt
 * set). Asked once the session is up: a route down takes no slot.
 */
static int
rate_ok(struct runner *r, struct route_sess *rs, struct env *env)
{
	char why[ERR_MSG_MAX];
	time_t next;

	if (rate_take(r->sp.fd[SP_STATE], rs->sh, time(NULL), &next, why,
	    sizeof(why)))
		return 0;
	env_set_reason(&env->reason, why);
	env->next = next;
	return -1;
}

/*
 * The route that carries env: rs when its session is up; else, when its
 * smarthost cannot be reached or the route is paused (not after it
 * refused something), the first route down its fallback chain that
 * admits the sender and can be reached. NULL with e set (the last
 * route's reason).
 */
static struct route_sess *
carrier(struct runner *r, const struct env *env, struct route_sess *rs,
    struct err *e)
{
	const struct cfg_smarthost *next;
	const struct route_sess *first = rs;
	size_t hops = 0;

	while (hops++ <= r->nrs) {
		if (session_get(r, rs, e) == RQ_OK) {
			if (rs != first)
				log_info("%s: route %s %s, carried by its "
				    "fallback %s", env->id, env->route,
				    first->paused ? "is paused" :
				    "cannot be reached", rs->sh->name);
			return rs;
		}
		if (!rs->unreachable)
			return NULL;
		next = rs->sh;
		do {
			next = next->fallback != NULL ?
			    route_find(r->c, next->fallback) : NULL;
		} while (next != NULL && !route_admits(next, env->sender) &&
		    hops++ <= r->nrs);
		if (next == NULL)
			return NULL;
		rs = route_sess(r, next);
	}
	return NULL;
}

/* The outcome lines of recipients no transaction reached (why: env's
 * reason; those it failed for good: bounced). */
static void
log_unsent(const struct env *env, struct logline_times *lt)
{
	lt->xfer = lt->end = logline_now();
	logline_log_state(env, RCPT_PENDING, NULL, "deferred", env->reason,
	    lt);
	logline_log_state(env, RCPT_FAILED, NULL, "bounced", env->reason, lt);
}

/* env's pending recipients (rc, map: room for each twice, see
 * retry_too_many()) and the results of one transaction. */
struct rcpt_list {
	const char **rc;
	size_t *map;
	struct smtp_rcpt_result *res;
	size_t n, cap;
};

static void
rcpts_free(struct rcpt_list *rl)
{
	free(rl->rc);
	free(rl->map);
	free(rl->res);
}

/* -1 when out of memory (rl still to be freed). */
static int
rcpts_collect(const struct env *env, struct rcpt_list *rl)
{
	size_t i, n = 0;

	memset(rl, 0, sizeof(*rl));
	for (i = 0; i < env->nrcpt; i++)
		n += env->rcpts[i].state == RCPT_PENDING;
	rl->rc = calloc(n > 0 ? 2 * n : 1, sizeof(*rl->rc));
	rl->map = calloc(n > 0 ? 2 * n : 1, sizeof(*rl->map));
	rl->res = calloc(n < RCPT_BATCH ? (n > 0 ? n : 1) : RCPT_BATCH,
	    sizeof(*rl->res));
	if (rl->rc == NULL || rl->map == NULL || rl->res == NULL)
		return -1;
	rl->cap = 2 * n;
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == RCPT_PENDING) {
			rl->map[rl->n] = i;
			rl->rc[rl->n++] = env->rcpts[i].addr;
		}
	return 0;
}

/*
 * Send the recipients of rl, at most RCPT_BATCH per transaction (RFC
 * 5321 lets a server refuse more than 100; memory stays bounded by the
 * batch), fewer once the server said how many it takes (a 452 after some
 * were accepted); fold the outcome into env. Between batches the state is
 * saved, so that a crash re-sends only the batch in flight.
 */
static void
transactions(struct runner *r, struct route_sess *rs, struct env *env,
    struct smtp_msg *m, struct rcpt_list *rl, struct logline_times *lt)
{
	size_t start, k, lim, batch = RCPT_BATCH;
	enum rq_status st;
	struct err e;

	for (start = 0; start < rl->n; start += k) {
		k = rl->n - start < batch ? rl->n - start : batch;
		m->rcpts = rl->rc + start;
		m->nrcpt = k;
		memset(rl->res, 0, k * sizeof(*rl->res));
		lt->xfer = logline_now();
		if ((st = smtp_send(rs->s, m, rl->res, &e)) != RQ_OK) {
			smtp_close(rs->s);
			rs->s = NULL;
			env_set_reason(&env->reason, e.msg);
		}
		lt->end = logline_now();
		fold(rs, env, rl->map + start, rl->res, k, st, lt);
		lt->conn = 0;	/* charged to the first transaction */
		if (st != RQ_OK)
			break;	/* the rest stay pending */
		if ((lim = retry_too_many(rl->rc, rl->map, rl->res, start, k,
		    &rl->n, rl->cap)) > 0 && lim < batch)
			batch = lim;
		if (start + k < rl->n && env_save(r->sp.fd[SP_QUEUE],
		    r->sp.fd[SP_TMP], env, &e) != RQ_OK)
			log_warnx("%s: cannot save state: %s", env->id, e.msg);
	}
}

/* Returns -1 when the message was held back by a rate limit. */
static int
attempt(struct runner *r, struct env *env, int fd)
{
	struct route_sess *rs = env_route(r, env);
	struct rcpt_list rl;
	struct buf head;
	struct smtp_msg m;
	struct err e;
	struct logline_times lt;
	int held = 0;

	logline_times_start(&lt, env->arrival, env->attempts);
	buf_init(&head, 2 * MSGHEAD_MAX);
	if (rcpts_collect(env, &rl) == -1) {
		env_set_reason(&env->reason, "out of memory");
		goto out;
	}
	if ((rs = carrier(r, env, rs, &e)) == NULL) {
		env_set_reason(&env->reason, e.msg);
		lt.conn = logline_now() - lt.taken;	/* the tries */
		log_unsent(env, &lt);
		goto out;
	}
	lt.conn = rs->conn_fresh ? rs->conn_secs : 0;
	rs->conn_fresh = 0;
	if ((held = rate_ok(r, rs, env)) == -1)
		goto out;
	if (outgoing(rs, env, fd, &head, &m) == -1) {
		log_unsent(env, &lt);
		goto out;
	}
	m.body_8bit = (env->flags & MSG_F_8BIT) != 0;
	m.smtputf8 = (env->flags & MSG_F_SMTPUTF8) != 0;
	m.dsn = &env->dsn;
	transactions(r, rs, env, &m, &rl, &lt);
out:
	buf_free(&head);
	rcpts_free(&rl);
	return held;
}

/* "5 days", "90 minutes": the largest unit that divides t. */
static const char *
human_duration(time_t t, char *out, size_t len)
{
	static const struct { long long secs; const char *unit; } units[] = {
		{ 604800, "week" }, { 86400, "day" }, { 3600, "hour" },
		{ 60, "minute" }, { 1, "second" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (t % units[i].secs == 0)
			break;
	snprintf(out, len, "%lld %s%s", (long long)t / units[i].secs,
	    units[i].unit, t / units[i].secs == 1 ? "" : "s");
	return out;
}

/* Lifetime over: every pending recipient fails with the last reason. */
static int
expire(struct runner *r, struct env *env, time_t now)
{
	char why[ERR_MSG_MAX], span[64];
	struct logline_times lt;

	/* Never before a real attempt: mail held back by a rate limit
	 * must not expire unsent. */
	if (now - env->arrival <= r->c->lifetime || env->attempts == 0)
		return 0;
	snprintf(why, sizeof(why), "delivery time expired (queued for more "
	    "than %s); last reason: %s", human_duration(r->c->lifetime, span,
	    sizeof(span)), env->reason ? env->reason : "none");
	logline_times_start(&lt, env->arrival, env->attempts);
	logline_log_state(env, RCPT_PENDING, NULL, "bounced", why, &lt);
	fail_pending(env, why);
	return 1;
}

static int
any_state(const struct env *env, char state)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == state)
			return 1;
	return 0;
}

static int
any_failed(const struct env *env)
{
	return any_state(env, RCPT_FAILED);
}

static int
any_reported(const struct env *env)
{
	return any_state(env, RCPT_REPORTED);
}

/*
 * Tell the sender about recipients that failed for good, at once (not
 * when the others are done), and remember that it was done. -1 when the
 * DSN could not be queued: the recipients stay "failed" for a retry.
 */
static int
notify_failed(struct runner *r, struct env *env, int fd)
{
	char bid[SPOOL_ID_LEN + 1];
	struct err e;
	size_t i;

	if (!any_failed(env))
		return 0;
	if (bounce_queue(r->c, &r->sp, env, fd, bid, &e) != RQ_OK) {
		log_warnx("%s: cannot queue the bounce, will retry: %s",
		    env->id, e.msg);
		return -1;
	}
	if (bid[0] != '\0') {
		log_agent("bounce", "%s: sender non-delivery notification: "
		    "%s", env->id, bid);
		r->stats->bounced++;
		(void)idlist_add_id(&r->bounces, bid);
	}
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == RCPT_FAILED)
			env->rcpts[i].state = RCPT_REPORTED;
	report(r, env, "failed", bid[0] != '\0' ? "returned to sender" :
	    "no notification (null sender, a bounce, or NOTIFY)");
	return 0;
}

/* Remember the earliest time a message left waiting is due. */
static void
note_due(struct runner *r, time_t when)
{
	if (r->stats->next_due == 0 || when < r->stats->next_due)
		r->stats->next_due = when;
}

/* Commit the pass's group of states (log why it failed). */
static void
group_commit(struct runner *r)
{
	struct err e;

	if (qgroup_commit(&r->g, &e) != RQ_OK)
		log_warnx("%s", e.msg);
}

/*
 * Hand env's new state (what: QG_ENV) or its removal (QG_REMOVE) to the
 * group commit, with its lock fd.
 */
static void
group_add(struct runner *r, const struct env *env, int fd, unsigned what)
{
	struct qgroup_item it = { .fd = fd, .mfd = -1, .efd = -1, .cfd = -1,
	    .what = what };
	struct err e;

	if (qgroup_full(&r->g))
		group_commit(r);
	strlcpy(it.id, env->id, sizeof(it.id));
	if ((what & QG_ENV) && qgroup_stage(&r->g, &it, env, &e) != RQ_OK) {
		log_warnx("%s: cannot save state: %s", env->id, e.msg);
		it.what = 0;
	}
	qgroup_add(&r->g, &it);
}

/*
 * Save the outcome: remove the entry when done, else schedule a retry.
 * The lock fd goes with the state into the group commit.
 */
static void
settle(struct runner *r, struct env *env, int fd, time_t now)
{
	int kept = notify_failed(r, env, fd) == -1;

	if (kept || queue_pending(env) > 0) {
		if (queue_pending(env) > 0) {
			env->attempts++;
			env->next = queue_next_attempt(r->c, env->attempts,
			    now);
			note_due(r, env->next);
			r->stats->deferred++;
			report(r, env, "deferred", env->reason);
		}
		group_add(r, env, fd, QG_ENV);
		return;
	}
	if (!any_reported(env))
		report(r, env, "delivered", NULL);
	group_add(r, env, fd, QG_REMOVE);	/* logs "removed" when durable */
	r->stats->delivered++;
}

/*
 * The first look at a message new to the queue (no route yet): 0 when it
 * goes on to delivery (its route set, for the caller to save), -1 when
 * it was dropped, quarantined or cannot be looked at now.
 */
static int
first_look(struct runner *r, struct env *env, int fd)
{
	enum policy_verdict v;
	char why[ERR_MSG_MAX];
	struct err e;

	if (policy_first_look(r->c, &r->sp, env, fd, &v, why, sizeof(why),
	    &e) != RQ_OK) {
		log_warnx("%s: %s", env->id, e.msg);
		r->stats->skipped++;
		return -1;
	}
	if (v == POLICY_SUPPRESS) {
		log_info("%s: %s", env->id, why);
		if (queue_remove(&r->sp, SP_QUEUE, env->id, &e) != RQ_OK)
			log_warnx("%s: %s", env->id, e.msg);
		return -1;
	}
	if (v == POLICY_REFUSE) {
		log_warnx("%s: %s", env->id, why);
		queue_quarantine(&r->sp, SP_QUEUE, env->id, why);
		return -1;
	}
	log_info("%s: route=%s", env->id, env->route);
	return 0;
}

/* Held back by a rate limit: no attempt counted, the state saved. */
static void
hold(struct runner *r, struct env *env, int fd)
{
	r->stats->deferred++;
	report(r, env, "held back", env->reason);
	log_info("%s: held back: %s", env->id, env->reason);
	group_add(r, env, fd, QG_ENV);
}

static void
deliver_one(struct runner *r, const char *id)
{
	struct env env;
	struct err e;
	time_t now = time(NULL);
	enum rq_status st;
	int fd;

	if ((st = queue_lock(&r->sp, SP_QUEUE, id, &fd, &e)) != RQ_OK) {
		r->stats->skipped++;
		/* Asked for by name, or busy: say so (gone in a full pass
		 * means another runner finished it: nothing to say). */
		if (r->o->report && (r->o->only_id != NULL || st == RQ_TEMP))
			fprintf(stderr, "relayq: %s\n", e.msg);
		return;
	}
	st = env_load(r->sp.fd[SP_QUEUE], id, &env, &e);
	if (st == RQ_NOINPUT) {
		close(fd);	/* an orphan: complete it, then go on */
		if (pickup_orphan(&r->sp, r->al, id, &e) != RQ_OK ||
		    queue_lock(&r->sp, SP_QUEUE, id, &fd, &e) != RQ_OK)
			return;
		st = env_load(r->sp.fd[SP_QUEUE], id, &env, &e);
	}
	if (st == RQ_DATAERR)
		queue_quarantine(&r->sp, SP_QUEUE, id, e.msg);
	if (st != RQ_OK) {
		close(fd);
		return;
	}
	if (!deliver_filter_match(r->o->filter, id, &env)) {
		/* not selected (-qR, -qS): left exactly as it was */
	} else if (!r->o->flush && env.next > now) {
		r->stats->skipped++;
		note_due(r, env.next);
	} else if (env.route != NULL || first_look(r, &env, fd) == 0) {
		logline_log_active(env.id, env.sender, (long long)env.msg_len,
		    env.nrcpt);
		if (!expire(r, &env, now) && attempt(r, &env, fd) == -1)
			hold(r, &env, fd);
		else
			settle(r, &env, fd, now);
		fd = -1;	/* held by the group commit */
	}
	env_free(&env);
	if (fd != -1)
		close(fd);
}

static int
any_substr(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasestr(s, v[i]) != NULL)
			return 1;
	return 0;
}

/* The domain of addr ends with one of v[] (a leading '@' ignored). */
static int
any_domain(const char *const *v, size_t n, const char *addr)
{
	const char *at = strrchr(addr, '@'), *d, *want;
	size_t i, dl, wl;

	d = at != NULL ? at + 1 : addr;
	dl = strlen(d);
	for (i = 0; i < n; i++) {
		want = v[i][0] == '@' ? v[i] + 1 : v[i];
		wl = strlen(want);
		if (wl <= dl && strcasecmp(d + dl - wl, want) == 0)
			return 1;
	}
	return 0;
}

int
deliver_filter_match(const struct deliver_filter *f, const char *id,
    const struct env *env)
{
	size_t i;
	int hit = 0;

	if (f == NULL)
		return 1;
	if (f->nids > 0 && !any_substr(f->ids, f->nids, id))
		return 0;
	if (env == NULL)
		return 1;
	if (f->nsenders > 0 && !any_substr(f->senders, f->nsenders,
	    env->sender))
		return 0;
	if (f->ndomains == 0)
		return 1;
	for (i = 0; i < env->nrcpt && !hit; i++)
		hit = env->rcpts[i].state == RCPT_PENDING &&
		    any_domain(f->domains, f->ndomains, env->rcpts[i].addr);
	return hit;
}

/* What the pass goes by of env (struct queue_peek). */
static void
peek_set(struct runner *r, const struct env *env, struct queue_peek *pk)
{
	const struct cfg_smarthost *sh;

	pk->ok = 1;
	pk->fresh = env->route == NULL;
	pk->uid = env->uid;
	pk->prio = env->priority;
	pk->next = env->next;
	pk->route = env->route != NULL && (sh = route_find(r->c,
	    env->route)) != NULL ? route_sess(r, sh) - r->rs : -1;
}

/*
 * One look at each envelope of l, without the locks (queue.h, struct
 * queue_peek): the first looks, the order and the sharing out go by it
 * instead of each reading every envelope again. NULL without memory
 * (then each reads for itself).
 */
static struct queue_peek *
peek_all(struct runner *r, const struct idlist *l)
{
	struct queue_peek *pk;
	struct env env;
	struct err e;
	size_t i;

	if ((pk = calloc(l->n > 0 ? l->n : 1, sizeof(*pk))) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (env_load(r->sp.fd[SP_QUEUE], l->ids[i], &env, &e) ==
		    RQ_OK) {
			peek_set(r, &env, &pk[i]);
			env_free(&env);
		}
	return pk;
}

/*
 * The first look at the new messages of l (those without a route yet)
 * before the pass is ordered: it sets their route and priority
 * (policy.h), which queue_order() then goes by. A message the peek saw
 * with a route is not looked at again.
 */
static void
first_looks(struct runner *r, const struct idlist *l)
{
	struct env env;
	struct err e;
	size_t i;
	int fd;

	for (i = 0; i < l->n; i++) {
		if ((r->pk != NULL && r->pk[i].ok && !r->pk[i].fresh) ||
		    !deliver_filter_match(r->o->filter, l->ids[i], NULL) ||
		    queue_lock(&r->sp, SP_QUEUE, l->ids[i], &fd, &e) != RQ_OK)
			continue;
		if (env_load(r->sp.fd[SP_QUEUE], l->ids[i], &env, &e) ==
		    RQ_OK) {
			if (env.route == NULL && deliver_filter_match(
			    r->o->filter, l->ids[i], &env) &&
			    first_look(r, &env, fd) == 0) {
				group_add(r, &env, fd, QG_ENV);
				fd = -1;
			}
			if (r->pk != NULL)
				peek_set(r, &env, &r->pk[i]);
			env_free(&env);
		}
		if (fd != -1)
			close(fd);
	}
	group_commit(r);	/* queue_order() reads what was set */
}

/* The queue ids to work on: one message, or all of them. */
static enum rq_status
work_list(struct runner *r, struct idlist *l, struct err *e)
{
	char picked[SPOOL_ID_LEN + 1] = "";
	const char *only = r->o->only_id;

	if (only == NULL) {
		if (!usage_pickup_blocked(r->c, &r->sp) &&
		    pickup_run(&r->sp, r->al, NULL, NULL, e) != RQ_OK)
			log_warnx("pickup: %s", e->msg);
		if (queue_scan(&r->sp, SP_QUEUE, l, e) != RQ_OK)
			return e->status;
		r->pk = peek_all(r, l);
		first_looks(r, l);
		if (queue_order(&r->sp, l, r->pk, e) != RQ_OK)
			log_warnx("%s (arrival order instead)", e->msg);
		return RQ_OK;
	}
	memset(l, 0, sizeof(*l));
	if (!spool_id_valid(only))
		return err_set(e, RQ_USAGE, "%s: not a queue id", only);
	if (pickup_run(&r->sp, r->al, only, picked, e) != RQ_OK)
		log_warnx("pickup %s: %s", only, e->msg);
	if (idlist_add_id(l, picked[0] != '\0' ? picked : only) == -1)
		return err_sys(e, RQ_INTERNAL, "malloc");
	return RQ_OK;
}

/* DSNs queued in this pass go out in this pass too. */
static void
deliver_bounces(struct runner *r)
{
	struct idlist l;
	char picked[SPOOL_ID_LEN + 1];
	struct err e;
	size_t i, round;

	for (round = 0; round < BOUNCE_ROUNDS && r->bounces.n > 0; round++) {
		l = r->bounces;
		memset(&r->bounces, 0, sizeof(r->bounces));
		for (i = 0; i < l.n; i++) {
			picked[0] = '\0';
			if (pickup_run(&r->sp, r->al, l.ids[i], picked, &e) ==
			    RQ_OK && picked[0] != '\0')
				deliver_one(r, picked);
		}
		idlist_free(&l);
	}
}

/* The messages of l that worker w takes (who NULL: all). */
static void
share_run(struct runner *r, const struct idlist *l, const unsigned char *who,
    unsigned w)
{
	size_t i;

	for (i = 0; i < l->n && !STOPPED(r->o); i++)
		if ((who == NULL || who[i] == w) &&
		    deliver_filter_match(r->o->filter, l->ids[i], NULL))
			deliver_one(r, l->ids[i]);
}

unsigned
deliver_sessions(size_t due, unsigned connections)
{
	size_t n = due / SHARE_MIN;

	if (n < 1)
		return 1;
	return n > connections ? connections : (unsigned)n;
}

/*
 * The index in r->rs of the route of l's entry i when it is due in this
 * pass, else -1 (not due, not selected, unreadable: worker 0 sees to it).
 * Read without the lock: a guess that only decides who tries first.
 */
static long
due_route(struct runner *r, const struct idlist *l, size_t i, time_t now)
{
	const struct cfg_smarthost *sh;
	const struct queue_peek *pk = r->pk != NULL ? &r->pk[i] : NULL;
	const char *id = l->ids[i];
	struct env env;
	struct err e;
	long ri = -1;

	/* The peek says it all unless -qR/-qS select by the envelope. */
	if (pk != NULL && r->o->filter == NULL)
		return pk->ok && !pk->fresh && (r->o->flush ||
		    pk->next <= now) ? pk->route : -1;
	if (env_load(r->sp.fd[SP_QUEUE], id, &env, &e) != RQ_OK)
		return -1;
	if (deliver_filter_match(r->o->filter, id, &env) &&
	    (r->o->flush || env.next <= now) && env.route != NULL &&
	    (sh = route_find(r->c, env.route)) != NULL)
		ri = route_sess(r, sh) - r->rs;
	env_free(&env);
	return ri;
}

/*
 * Share the due messages of each route out over its sessions
 * (deliver_sessions()): the k-th of a route goes to worker k mod n, so
 * every share keeps the pass's order. who[i]: the worker of l's entry i.
 * Returns the number of workers (1: no sharing). A route is shared only
 * once this process has its session up.
 */
static unsigned
share_plan(struct runner *r, const struct idlist *l, unsigned char *who)
{
	size_t *due = calloc(r->nrs, sizeof(*due));
	size_t *rank = calloc(r->nrs, sizeof(*rank));
	long *ri = calloc(l->n, sizeof(*ri));
	unsigned nw = 1, n;
	time_t now = time(NULL);
	struct err e;
	size_t i;

	for (i = 0; due != NULL && rank != NULL && ri != NULL && i < l->n;
	    i++)
		if ((ri[i] = due_route(r, l, i, now)) >= 0)
			due[ri[i]]++;
	for (i = 0; due != NULL && i < r->nrs; i++) {
		due[i] = deliver_sessions(due[i], r->rs[i].sh->connections);
		/* The first session is opened here, before any other: a
		 * smarthost down or a password refused costs one try, not
		 * one per session, and the password is read once. */
		if (due[i] > 1 && session_get(r, &r->rs[i], &e) != RQ_OK)
			due[i] = 1;
	}
	for (i = 0; due != NULL && rank != NULL && ri != NULL && i < l->n;
	    i++) {
		if (ri[i] < 0)
			continue;
		n = (unsigned)due[ri[i]];
		who[i] = (unsigned char)(rank[ri[i]]++ % n);
		if (n > nw)
			nw = n;
	}
	free(due);
	free(rank);
	free(ri);
	return nw;
}

/* A child process delivering one share of the pass. */
struct worker {
	pid_t pid;
	int fd;		/* its struct deliver_stats comes back here */
};

/* In the child: deliver share w, report the figures on fd, exit. */
static void __attribute__((noreturn))
worker_main(struct runner *r, const struct idlist *l,
    const unsigned char *who, unsigned w, int fd)
{
	size_t i;

	/* The parent's sessions (the daemon's lent one among them) are
	 * not ours: forgotten, never closed (a QUIT would go down the
	 * parent's connection). Each worker opens its own. */
	for (i = 0; i < r->nrs; i++)
		r->rs[i].s = NULL;
	conn_forked();
	memset(&r->bounces, 0, sizeof(r->bounces));
	memset(r->stats, 0, sizeof(*r->stats));
	share_run(r, l, who, w);
	if (!STOPPED(r->o))
		deliver_bounces(r);
	group_commit(r);
	sessions_close(r);
	if (write(fd, r->stats, sizeof(*r->stats)) != sizeof(*r->stats))
		log_warn("queue run: session %u: report", w + 1);
	(void)fflush(NULL);
	_exit(0);
}

static int
worker_start(struct runner *r, const struct idlist *l,
    const unsigned char *who, unsigned w, struct worker *wk)
{
	int p[2];

	if (pipe(p) == -1)
		return -1;
	(void)fflush(NULL);	/* nothing buffered is written twice */
	if ((wk->pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (wk->pid == 0) {
		close(p[0]);
		worker_main(r, l, who, w, p[1]);
	}
	close(p[1]);
	wk->fd = p[0];
	return 0;
}

/*
 * Wait for a worker and add its figures. One that died without them
 * (killed, crashed) lost nothing: what it had not committed is still
 * queued, and the lock died with it.
 */
static void
worker_wait(struct runner *r, struct worker *wk)
{
	struct deliver_stats s;
	ssize_t n;
	int status = 0;

	if (STOPPED(r->o))
		(void)kill(wk->pid, SIGTERM);	/* finishes its message */
	while ((n = read(wk->fd, &s, sizeof(s))) == -1 && errno == EINTR)
		;
	close(wk->fd);
	while (waitpid(wk->pid, &status, 0) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(s)) {
		log_warnx("queue run: a session process ended early (%s %d); "
		    "its messages stay queued", WIFSIGNALED(status) ?
		    "signal" : "status", WIFSIGNALED(status) ?
		    WTERMSIG(status) : WEXITSTATUS(status));
		return;
	}
	r->stats->delivered += s.delivered;
	r->stats->deferred += s.deferred;
	r->stats->bounced += s.bounced;
	r->stats->skipped += s.skipped;
	if (s.next_due != 0)
		note_due(r, s.next_due);
}

/*
 * Deliver the messages of l: in this process, and, when a route has a
 * long queue and `connections` > 1, over more sessions in child
 * processes (share_plan()), each with its own SMTP session and group
 * commit. The message locks keep them from ever sending one message
 * twice; rate.h's slots are taken under a lock, so limits hold across
 * them.
 */
static void
pass_run(struct runner *r, const struct idlist *l)
{
	struct worker wk[CFG_CONNECTIONS_MAX];
	unsigned char *who = NULL;
	unsigned w, nw = 1, started = 0;
	size_t i;

	if (r->o->only_id == NULL && l->n > SHARE_MIN &&
	    (who = calloc(l->n, 1)) != NULL)
		nw = share_plan(r, l, who);
	for (w = 1; w < nw; w++) {
		if (worker_start(r, l, who, w, &wk[started]) == 0) {
			started++;
			continue;
		}
		log_warn("queue run: cannot start session %u", w + 1);
		for (i = 0; i < l->n; i++)	/* this process takes them */
			if (who[i] == w)
				who[i] = 0;
	}
	share_run(r, l, who, 0);
	for (i = 0; i < started; i++)
		worker_wait(r, &wk[i]);
	free(who);
}

enum rq_status
deliver_run(struct cfg *c, const struct deliver_opts *o,
    struct deliver_stats *stats, struct err *e)
{
	struct runner r;
	struct idlist l;
	enum rq_status st;

	memset(&r, 0, sizeof(r));
	memset(stats, 0, sizeof(*stats));
	r.c = c;
	r.o = o;
	r.stats = stats;
	if ((r.rs = calloc(route_count(c), sizeof(*r.rs))) == NULL)
		return err_sys(e, RQ_INTERNAL, "calloc");
	for (r.nrs = 0; r.nrs < route_count(c); r.nrs++)
		r.rs[r.nrs].sh = route_at(c, r.nrs);
	if ((st = spool_open(&r.sp, c->queue_dir, (1u << SP_NSUB) - 1, 1, e)) !=
	    RQ_OK) {
		sessions_close(&r);
		return st;
	}
	tmpsweep_run(&r.sp);	/* what killed runners left in tmp/ */
	r.al = pickup_aliases(c, &r.aliases);
	r.rs[0].s = o->session != NULL ? *o->session : NULL;
	if (qgroup_init(&r.g, &r.sp, DELIVER_GROUP) == -1) {
		st = err_sys(e, RQ_INTERNAL, "malloc");
		goto out;
	}
	if ((st = work_list(&r, &l, e)) == RQ_OK) {
		pass_run(&r, &l);
		idlist_free(&l);
		free(r.pk);
		r.pk = NULL;
		if (!STOPPED(o))
			deliver_bounces(&r);
		group_commit(&r);
		/* What each user has queued now, for the submitters' limits
		 * (a run for one message leaves that to the next full pass). */
		if (o->only_id == NULL)
			usage_publish(c, &r.sp);
	}
	qgroup_free(&r.g);
out:
	/* The default route's session goes back to the lender. */
	if (o->session != NULL) {
		*o->session = r.rs[0].s;
		r.rs[0].s = NULL;
	}
	sessions_close(&r);
	idlist_free(&r.bounces);
	aliases_free(&r.aliases);
	spool_close(&r.sp);
	return st;
}
