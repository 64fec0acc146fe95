/*
 * deliver.c - the queue runner's pass (see deliver.h).
 *
 * One SMTP session serves every message of the pass (relayq daemon lends
 * one it keeps open between passes). If opening it fails,
 * the remaining messages are deferred with the same reason rather than
 * hammering the smarthost; if it breaks mid-pass it is reopened a bounded
 * number of times. The smarthost password is read once per pass, only
 * when a session is actually opened, and wiped afterwards.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "aliases.h"
#include "bounce.h"
#include "deliver.h"
#include "log.h"
#include "pickup.h"
#include "queue.h"
#include "smtp.h"
#include "spool.h"
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

struct runner {
	struct cfg *c;
	const struct deliver_opts *o;
	struct deliver_stats *stats;
	struct spool sp;
	struct smtp_session *s;
	int opens;		/* sessions opened in this pass */
	int down;		/* the smarthost cannot be reached now */
	char down_reason[ERR_MSG_MAX];
	char *password;
	int password_read;
	struct idlist bounces;	/* DSNs queued during this pass */
	struct aliases aliases;
	const struct aliases *al;	/* NULL: none configured */
};

void
deliver_smtp_params(struct cfg *c, const char *password, int verbose,
    struct smtp_params *p)
{
	const struct cfg_smarthost *sh = &c->smarthost;

	memset(p, 0, sizeof(*p));
	p->host = sh->host;
	p->port = sh->port;
	p->tls = sh->tls;
	p->tls_verify = sh->tls_verify;
	p->ca_file = sh->ca_file;
	p->fingerprint = sh->fingerprint;
	p->cert_file = sh->cert_file;
	p->key_file = sh->key_file;
	p->auth = sh->auth;
	p->user = sh->user;
	p->password = password;
	p->plaintext_auth = sh->plaintext_auth;
	p->helo = cfg_hostname(c);
	p->timeout = (int)sh->timeout;
	p->verbose = verbose;
}

enum rq_status
deliver_secrets(struct cfg *c, char **password, struct err *e)
{
	const struct cfg_smarthost *sh = &c->smarthost;

	*password = NULL;
	if (sh->host == NULL)
		return err_set(e, RQ_TEMP, "no smarthost configured "
		    "([smarthost] host in %s)", c->path);
	if (sh->key_file != NULL && cfg_secret_ok(sh->key_file, e) != RQ_OK)
		return RQ_TEMP;
	if (sh->user != NULL)
		return cfg_password(c, password, e);
	return RQ_OK;
}

static enum rq_status
session_open(struct runner *r, struct err *e)
{
	struct smtp_params p;

	if (!r->password_read) {
		if (deliver_secrets(r->c, &r->password, e) != RQ_OK)
			return RQ_TEMP;
		r->password_read = 1;
	}
	deliver_smtp_params(r->c, r->password, r->o->verbose, &p);
	r->opens++;
	return smtp_open(&r->s, &p, e);
}

/* A usable session, or RQ_TEMP with the reason the smarthost is down. */
static enum rq_status
session_get(struct runner *r, struct err *e)
{
	if (r->s != NULL)
		return RQ_OK;
	if (!r->down && r->opens > MAX_REOPEN) {
		r->down = 1;
		strlcpy(r->down_reason, "too many broken sessions in one pass",
		    sizeof(r->down_reason));
	}
	if (r->down)
		return err_set(e, RQ_TEMP, "%s", r->down_reason);
	if (session_open(r, e) != RQ_OK) {
		r->s = NULL;
		r->down = 1;
		strlcpy(r->down_reason, e->msg, sizeof(r->down_reason));
		/* A deferral is routine: syslog, and stderr only with -v,
		 * so that `sendmail -q` from cron stays quiet. */
		log_info("smarthost unavailable, mail deferred: %s", e->msg);
		return RQ_TEMP;
	}
	return RQ_OK;
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
fold(struct runner *r, struct env *env, const size_t *map,
    const struct smtp_rcpt_result *res, size_t n, enum rq_status st)
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
		log_info("%s: to=<%s>, relay=%s, status=%s (%s)", env->id,
		    er->addr, r->s ? smtp_peer(r->s) : r->c->smarthost.host,
		    er->state == RCPT_DONE ? "sent" : er->state == RCPT_FAILED ?
		    "bounced" : "deferred", res[i].text);
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

/*
 * Send env's pending recipients, at most RCPT_BATCH per transaction (RFC
 * 5321 lets a server refuse more than 100; memory stays bounded by the
 * batch), fewer once the server said how many it takes (a 452 after some
 * were accepted); fold the outcome into env. Between batches the state is
 * saved, so that a crash re-sends only the batch in flight.
 */
static void
attempt(struct runner *r, struct env *env, int fd)
{
	struct smtp_rcpt_result *res;
	struct smtp_msg m;
	const char **rc;
	size_t *map, i, n = 0, start, k, cap, lim, batch = RCPT_BATCH;
	struct err e;
	enum rq_status st;

	for (i = 0; i < env->nrcpt; i++)
		n += env->rcpts[i].state == RCPT_PENDING;
	/* Room for each recipient twice: once more after a 452 (below). */
	rc = calloc(n > 0 ? 2 * n : 1, sizeof(*rc));
	map = calloc(n > 0 ? 2 * n : 1, sizeof(*map));
	res = calloc(n < RCPT_BATCH ? (n > 0 ? n : 1) : RCPT_BATCH,
	    sizeof(*res));
	if (rc == NULL || map == NULL || res == NULL) {
		env_set_reason(&env->reason, "out of memory");
		goto out;
	}
	cap = 2 * n;
	for (i = 0, n = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == RCPT_PENDING) {
			map[n] = i;
			rc[n++] = env->rcpts[i].addr;
		}
	if (session_get(r, &e) != RQ_OK) {
		env_set_reason(&env->reason, e.msg);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.sender = env->sender;
	m.fd = fd;
	m.offset = env->msg_off;
	m.size = env->msg_len;
	m.body_8bit = (env->flags & MSG_F_8BIT) != 0;
	m.smtputf8 = (env->flags & MSG_F_SMTPUTF8) != 0;
	m.dsn = &env->dsn;
	for (start = 0; start < n; start += k) {
		k = n - start < batch ? n - start : batch;
		m.rcpts = rc + start;
		m.nrcpt = k;
		memset(res, 0, k * sizeof(*res));
		if ((st = smtp_send(r->s, &m, res, &e)) != RQ_OK) {
			smtp_close(r->s);
			r->s = NULL;
			env_set_reason(&env->reason, e.msg);
		}
		fold(r, env, map + start, res, k, st);
		if (st != RQ_OK)
			break;	/* the rest stay pending */
		if ((lim = retry_too_many(rc, map, res, start, k, &n, cap)) > 0 &&
		    lim < batch)
			batch = lim;
		if (start + k < n && env_save(r->sp.fd[SP_QUEUE],
		    r->sp.fd[SP_TMP], env, &e) != RQ_OK)
			log_warnx("%s: cannot save state: %s", env->id, e.msg);
	}
out:
	free(rc);
	free(map);
	free(res);
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
	size_t i;

	if (now - env->arrival <= r->c->lifetime)
		return 0;
	snprintf(why, sizeof(why), "delivery time expired (queued for more "
	    "than %s); last reason: %s", human_duration(r->c->lifetime, span,
	    sizeof(span)), env->reason ? env->reason : "none");
	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == RCPT_PENDING) {
			env->rcpts[i].state = RCPT_FAILED;
			env_set_reason(&env->rcpts[i].reason, why);
		}
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
		log_info("%s: sender non-delivery notification: %s", env->id,
		    bid);
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

/* Save the outcome: remove the entry when done, else schedule a retry. */
static void
settle(struct runner *r, struct env *env, int fd, time_t now)
{
	struct err e;
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
		if (env_save(r->sp.fd[SP_QUEUE], r->sp.fd[SP_TMP], env, &e) !=
		    RQ_OK)
			log_warnx("%s: cannot save state: %s", env->id, e.msg);
		return;
	}
	if (!any_reported(env))
		report(r, env, "delivered", NULL);
	if (queue_remove(&r->sp, SP_QUEUE, env->id, &e) != RQ_OK)
		log_warnx("%s: %s", env->id, e.msg);
	else
		log_info("%s: removed", env->id);
	r->stats->delivered++;
}

static void
deliver_one(struct runner *r, const char *id)
{
	struct env env;
	struct err e;
	time_t now = time(NULL);
	enum rq_status st;
	int fd;

	if (queue_lock(&r->sp, SP_QUEUE, id, &fd, &e) != RQ_OK) {
		r->stats->skipped++;
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
	} else {
		if (!expire(r, &env, now))
			attempt(r, &env, fd);
		settle(r, &env, fd, now);
	}
	env_free(&env);
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
		if (queue_order(&r->sp, l, e) != RQ_OK)
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

enum rq_status
deliver_run(struct cfg *c, const struct deliver_opts *o,
    struct deliver_stats *stats, struct err *e)
{
	struct runner r;
	struct idlist l;
	enum rq_status st;
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(stats, 0, sizeof(*stats));
	r.c = c;
	r.o = o;
	r.stats = stats;
	if ((st = spool_open(&r.sp, c->queue_dir, (1u << SP_NSUB) - 1, 1, e)) !=
	    RQ_OK)
		return st;
	r.al = pickup_aliases(c, &r.aliases);
	r.s = o->session != NULL ? *o->session : NULL;
	if ((st = work_list(&r, &l, e)) == RQ_OK) {
		for (i = 0; i < l.n && !STOPPED(o); i++)
			if (deliver_filter_match(o->filter, l.ids[i], NULL))
				deliver_one(&r, l.ids[i]);
		idlist_free(&l);
		if (!STOPPED(o))
			deliver_bounces(&r);
		/* What each user has queued now, for the submitters' limits
		 * (a run for one message leaves that to the next full pass). */
		if (o->only_id == NULL)
			usage_publish(c, &r.sp);
	}
	if (o->session != NULL)
		*o->session = r.s;
	else if (r.s != NULL)
		smtp_close(r.s);
	if (r.password != NULL) {
		explicit_bzero(r.password, strlen(r.password));
		free(r.password);
	}
	idlist_free(&r.bounces);
	aliases_free(&r.aliases);
	spool_close(&r.sp);
	return st;
}
