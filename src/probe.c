/*
 * probe.c - find smarthost settings for an address (see probe.h).
 *
 * Invariants: every child is started by fork() here, reports one fixed
 * struct probe_result over its own pipe and _exit()s; the parent waits
 * for all of them with poll() until the deadline, then kills the rest by
 * their PID and reaps every child, so none outlives probe_run(). Children
 * run with verification on and no credentials; a password only goes to a
 * candidate whose certificate verified, in the parent, afterwards.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "auth.h"
#include "conn.h"
#include "probe.h"
#include "reply.h"

/* The rule of thumb's ports, in the order they are preferred. */
static const struct {
	const char *port;
	enum tls_mode tls;
} probe_ports[] = {
	{ "465", TLS_MODE_SMTPS },
	{ "587", TLS_MODE_STARTTLS },
	{ "25", TLS_MODE_STARTTLS },
	{ "2525", TLS_MODE_STARTTLS },
	{ "26", TLS_MODE_STARTTLS },
};
#define PROBE_NPORTS	(sizeof(probe_ports) / sizeof(probe_ports[0]))

/* MX hosts of the big providers and their submission servers. */
static const struct {
	const char *mx_suffix;
	const char *host;
} probe_providers[] = {
	{ "google.com", "smtp.gmail.com" },
	{ "googlemail.com", "smtp.gmail.com" },
	{ "outlook.com", "smtp.office365.com" },
};

/* Whole seconds left until end (ms), at least 1. */
static int
probe_left(int64_t end)
{
	int64_t left = (end - conn_clock_ms()) / 1000;

	return left < 1 ? 1 : left > 3600 ? 3600 : (int)left;
}

static int
probe_suffix(const char *host, const char *suffix)
{
	size_t h = strlen(host), n = strlen(suffix);

	return h >= n && strcasecmp(host + h - n, suffix) == 0 &&
	    (h == n || host[h - n - 1] == '.');
}

/* --- one candidate, in a child -------------------------------------------- */

static void
probe_observe(void *arg, const struct smtp_event *ev)
{
	struct probe_result *r = arg;

	if (ev->step == SMTP_STEP_TLS && ev->peer != NULL) {
		r->verdict = ev->peer->verdict;
		strlcpy(r->tls, ev->peer->version, sizeof(r->tls));
		strlcpy(r->names, ev->peer->names[0] != '\0' ?
		    ev->peer->names : ev->peer->subject, sizeof(r->names));
	}
	if (ev->step == SMTP_STEP_EHLO && ev->caps != NULL)
		r->auth = ev->caps->auth;
	if (!ev->ok && (r->failed == SMTP_STEP_N ||
	    r->failed == SMTP_STEP_CONNECT)) {
		r->failed = ev->step;
		if (ev->step == SMTP_STEP_CONNECT)
			snprintf(r->why, sizeof(r->why), "connect to %s: %s",
			    ev->detail, strerror(ev->errnum));
		else
			strlcpy(r->why, ev->detail, sizeof(r->why));
	}
}

static void
probe_params(const struct probe_opts *o, const struct probe_cand *c,
    int timeout, struct smtp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->host = c->host;
	p->port = c->port;
	p->tls = c->tls;
	p->tls_verify = 1;
	p->ca_file = o->ca_file;
	p->auth = AUTH_AUTO;
	p->helo = o->helo;
	p->timeout = timeout;
	p->greeting_timeout = timeout < 10 ? timeout : 10;
}

/* Connect, TLS, EHLO, no AUTH: what the candidate offers. */
static void
probe_one(const struct probe_opts *o, const struct probe_cand *c,
    int timeout, struct probe_result *r)
{
	struct smtp_session *s;
	struct smtp_params p;
	struct err e;
	int64_t t0 = conn_clock_ms();

	memset(r, 0, sizeof(*r));
	r->failed = SMTP_STEP_N;
	probe_params(o, c, timeout, &p);
	p.observe = probe_observe;
	p.observe_arg = r;
	if (smtp_open(&s, &p, &e) == RQ_OK) {
		r->ok = r->verdict == TLS_VERDICT_OK;
		smtp_close(s);
	} else if (r->why[0] == '\0')
		strlcpy(r->why, e.msg, sizeof(r->why));
	r->answered = 1;
	r->ms = (long)(conn_clock_ms() - t0);
}

/* Fork the candidate's child; its result comes through c->fd. */
static void
probe_start(const struct probe_opts *o, struct probe_cand *c, int64_t end)
{
	struct probe_result r;
	int p[2];

	c->pid = -1;
	c->fd = -1;
	if (pipe(p) == -1)
		return;
	fflush(NULL);
	if ((c->pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (c->pid == 0) {
		close(p[0]);
		probe_one(o, c, probe_left(end), &r);
		_exit(write(p[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ?
		    0 : 1);
	}
	close(p[1]);
	c->fd = p[0];
}

/* --- the candidates ------------------------------------------------------- */

static void
probe_add(struct probe_report *r, const struct probe_opts *o,
    const char *host, const char *port, enum tls_mode tls,
    enum probe_source src, unsigned order, int64_t end)
{
	struct probe_cand *c;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->cand[i].host, host) == 0 &&
		    strcmp(r->cand[i].port, port) == 0 &&
		    r->cand[i].tls == tls)
			return;
	if (r->n == PROBE_MAX)
		return;
	c = &r->cand[r->n++];
	memset(c, 0, sizeof(*c));
	strlcpy(c->host, host, sizeof(c->host));
	strlcpy(c->port, port, sizeof(c->port));
	c->tls = tls;
	c->source = src;
	c->order = order;
	c->r.failed = SMTP_STEP_N;
	probe_start(o, c, end);
}

static void
probe_guesses(struct probe_report *r, const struct probe_opts *o,
    int64_t end)
{
	static const char *const prefixes[] = { "smtp.", "mail." };
	char host[DNS_NAME_MAX];
	size_t i, k;

	for (i = 0; i < 2; i++) {
		snprintf(host, sizeof(host), "%s%s", prefixes[i], r->domain);
		for (k = 0; k < PROBE_NPORTS; k++)
			probe_add(r, o, host, probe_ports[k].port,
			    probe_ports[k].tls, PROBE_GUESS,
			    (unsigned)(k * 2 + i), end);
	}
}

static void
probe_srv(struct probe_report *r, const struct probe_opts *o,
    const char *service, enum tls_mode tls, int64_t end, FILE *out)
{
	struct dns_rr rr[DNS_RR_MAX];
	char name[DNS_NAME_MAX + 32], port[12];
	struct err e;
	size_t i, n;

	snprintf(name, sizeof(name), "%s._tcp.%s", service, r->domain);
	if (dns_lookup(name, "SRV", probe_left(end) / 4 + 1, rr, &n,
	    &e) != RQ_OK) {
		if (out != NULL)
			fprintf(out, "  SRV %s: %s\n", name, e.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		if (out != NULL)
			fprintf(out, "  SRV %s: %s port %u\n", name,
			    rr[i].name, rr[i].port);
		if (rr[i].port == 0 || rr[i].name[0] == '\0')
			continue;	/* "." : the service is not offered */
		snprintf(port, sizeof(port), "%u", rr[i].port & 0xffff);
		probe_add(r, o, rr[i].name, port, tls, PROBE_SRV,
		    rr[i].pref * 2 + (tls == TLS_MODE_SMTPS ? 0 : 1), end);
	}
}

/* The domain's MX at Google or Microsoft: their submission server. */
static void
probe_mx(struct probe_report *r, const struct probe_opts *o, int64_t end,
    FILE *out)
{
	struct dns_rr rr[DNS_RR_MAX];
	struct err e;
	size_t i, k, n;

	if (dns_lookup(r->domain, "MX", probe_left(end) / 4 + 1, rr, &n,
	    &e) != RQ_OK || n == 0)
		return;
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(probe_providers) /
		    sizeof(probe_providers[0]); k++)
			if (probe_suffix(rr[i].name,
			    probe_providers[k].mx_suffix)) {
				if (out != NULL)
					fprintf(out, "  MX %s: %s, so %s\n",
					    r->domain, rr[i].name,
					    probe_providers[k].host);
				probe_add(r, o, probe_providers[k].host, "465",
				    TLS_MODE_SMTPS, PROBE_PROVIDER, 0, end);
				probe_add(r, o, probe_providers[k].host, "587",
				    TLS_MODE_STARTTLS, PROBE_PROVIDER, 1, end);
			}
}

/* --- collecting ----------------------------------------------------------- */

static void
probe_read(struct probe_cand *c)
{
	struct probe_result res;

	if (read(c->fd, &res, sizeof(res)) == (ssize_t)sizeof(res)) {
		c->r = res;
		c->r.why[sizeof(c->r.why) - 1] = '\0';
		c->r.names[sizeof(c->r.names) - 1] = '\0';
		c->r.tls[sizeof(c->r.tls) - 1] = '\0';
	}
	close(c->fd);
	c->fd = -1;
}

/* One poll() round over the pending children: 0 when none is left. */
static int
probe_wait_round(struct probe_report *r, int64_t end)
{
	struct pollfd pfd[PROBE_MAX];
	size_t map[PROBE_MAX], i, n = 0;
	int64_t left = end - conn_clock_ms();

	for (i = 0; i < r->n; i++)
		if (r->cand[i].fd != -1) {
			pfd[n].fd = r->cand[i].fd;
			pfd[n].events = POLLIN;
			map[n++] = i;
		}
	if (n == 0 || left <= 0)
		return 0;
	if (poll(pfd, n, (int)left) == -1 && errno != EINTR)
		return 0;
	for (i = 0; i < n; i++)
		if (pfd[i].revents != 0)
			probe_read(&r->cand[map[i]]);
	return 1;
}

/* Whatever did not report by now is ended; every child is reaped. */
static void
probe_reap(struct probe_report *r)
{
	struct probe_cand *c;
	size_t i;

	for (i = 0; i < r->n; i++) {
		c = &r->cand[i];
		if (c->fd != -1) {
			close(c->fd);
			c->fd = -1;
		}
		if (c->pid <= 0)
			continue;
		if (!c->r.answered) {
			kill(c->pid, SIGKILL);
			strlcpy(c->r.why, "no answer before the deadline",
			    sizeof(c->r.why));
		}
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
		c->pid = -1;
	}
}

/* --- ranking -------------------------------------------------------------- */

/* Smaller is better: SRV first, then AUTH offered, then implicit TLS,
   then the source's own order. */
static long
probe_score(const struct probe_cand *c)
{
	long s = (long)c->order;

	if (c->source != PROBE_SRV)
		s += 100000;
	if (c->r.auth == 0)
		s += 10000;
	if (c->tls != TLS_MODE_SMTPS)
		s += 1000;
	if (c->source == PROBE_GUESS)
		s += 100;
	return s;
}

static void
probe_rank(struct probe_report *r)
{
	size_t i, k, t;

	r->nok = 0;
	for (i = 0; i < r->n; i++)
		if (r->cand[i].r.ok)
			r->rank[r->nok++] = i;
	for (i = 1; i < r->nok; i++)	/* insertion sort: n is tiny */
		for (k = i; k > 0 && probe_score(&r->cand[r->rank[k]]) <
		    probe_score(&r->cand[r->rank[k - 1]]); k--) {
			t = r->rank[k];
			r->rank[k] = r->rank[k - 1];
			r->rank[k - 1] = t;
		}
}

/* --- AUTH, in the parent, only where the certificate verified ------------- */

struct probe_auth {
	int code;
	char why[400];
};

static void
probe_auth_observe(void *arg, const struct smtp_event *ev)
{
	struct probe_auth *a = arg;

	if (ev->step == SMTP_STEP_AUTH || (!ev->ok && a->why[0] == '\0')) {
		a->code = ev->code;
		strlcpy(a->why, ev->detail, sizeof(a->why));
	}
}

/* 1 when user and password are accepted by candidate c. */
static int
probe_auth_try(const struct probe_opts *o, const struct probe_cand *c,
    const char *user, struct probe_report *r, FILE *out)
{
	struct smtp_session *s;
	struct smtp_params p;
	struct probe_auth a;
	struct err e;

	if (c->r.verdict != TLS_VERDICT_OK)
		return 0;	/* never a password to an unverified server */
	memset(&a, 0, sizeof(a));
	probe_params(o, c, PROBE_AUTH_TIMEOUT, &p);
	p.user = user;
	p.password = o->password;
	p.observe = probe_auth_observe;
	p.observe_arg = &a;
	r->auth_tried = 1;
	if (smtp_open(&s, &p, &e) == RQ_OK) {
		smtp_close(s);
		if (out != NULL)
			fprintf(out, "  AUTH as %s at %s port %s: ok\n", user,
			    c->host, c->port);
		return 1;
	}
	strlcpy(r->auth_why, a.why[0] != '\0' ? a.why : e.msg,
	    sizeof(r->auth_why));
	if (out != NULL)
		fprintf(out, "  AUTH as %s at %s port %s: %s\n", user, c->host,
		    c->port, r->auth_why);
	return 0;
}

static void
probe_auth(const struct probe_opts *o, struct probe_report *r, FILE *out)
{
	const char *users[2] = { o->address, r->local };
	size_t i, k;

	for (i = 0; i < r->nok; i++) {
		if (r->cand[r->rank[i]].r.auth == 0)
			continue;
		for (k = 0; k < 2; k++)
			if (probe_auth_try(o, &r->cand[r->rank[i]], users[k],
			    r, out)) {
				r->auth_ok = 1;
				r->auth_cand = r->rank[i];
				strlcpy(r->user, users[k], sizeof(r->user));
				return;
			}
		return;	/* the best server said no: do not spray others */
	}
}

/* --- the report ----------------------------------------------------------- */

static const char *
probe_source_name(enum probe_source s)
{
	return s == PROBE_SRV ? "SRV" : s == PROBE_PROVIDER ? "MX provider" :
	    "guess";
}

static void
probe_print(const struct probe_report *r, FILE *out)
{
	const struct probe_cand *c;
	char mechs[128];
	size_t i;

	for (i = 0; i < r->n; i++) {
		c = &r->cand[i];
		auth_mech_list(c->r.auth, mechs, sizeof(mechs));
		if (c->r.ok)
			fprintf(out, "  ok    %s port %s (tls = %s, %s): %s, "
			    "certificate verified, AUTH: %s\n", c->host, c->port,
			    cfg_tls_name(c->tls), probe_source_name(c->source),
			    c->r.tls, mechs[0] != '\0' ? mechs : "none");
		else
			fprintf(out, "  no    %s port %s (tls = %s, %s): %s%s%s\n",
			    c->host, c->port, cfg_tls_name(c->tls),
			    probe_source_name(c->source), c->r.why,
			    c->r.verdict > TLS_VERDICT_OK ? "; certificate "
			    "names: " : "", c->r.verdict > TLS_VERDICT_OK ?
			    c->r.names : "");
	}
}

static enum rq_status
probe_address(const char *address, struct probe_report *r, struct err *e)
{
	const char *at = strrchr(address, '@');
	const unsigned char *p;

	if (at == NULL || at == address || at[1] == '\0' ||
	    (size_t)(at - address) >= sizeof(r->local) ||
	    strlen(at + 1) >= sizeof(r->domain) - 32)
		return err_set(e, RQ_USAGE, "%s: not a mail address "
		    "(local-part@domain)", address);
	for (p = (const unsigned char *)at + 1; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return err_set(e, RQ_USAGE, "%s: the domain is not a "
			    "host name", address);
	memcpy(r->local, address, (size_t)(at - address));
	r->local[at - address] = '\0';
	strlcpy(r->domain, at + 1, sizeof(r->domain));
	return RQ_OK;
}

enum rq_status
probe_run(const struct probe_opts *o, struct probe_report *r, FILE *out,
    struct err *e)
{
	int64_t end;

	memset(r, 0, sizeof(*r));
	if (probe_address(o->address, r, e) != RQ_OK)
		return RQ_USAGE;
	end = conn_clock_ms() + (int64_t)(o->deadline > 0 ? o->deadline :
	    PROBE_DEADLINE) * 1000;
	if (out != NULL)
		fprintf(out, "relayq probe: %s (within %d s)\n", o->address,
		    o->deadline > 0 ? o->deadline : PROBE_DEADLINE);
	probe_guesses(r, o, end);
	probe_srv(r, o, "_submissions", TLS_MODE_SMTPS, end, out);
	probe_srv(r, o, "_submission", TLS_MODE_STARTTLS, end, out);
	probe_mx(r, o, end, out);
	while (probe_wait_round(r, end))
		;
	probe_reap(r);
	probe_rank(r);
	if (out != NULL)
		probe_print(r, out);
	if (o->password != NULL && r->nok > 0)
		probe_auth(o, r, out);
	return RQ_OK;
}

const char *
probe_user(const struct probe_report *r, const char *address)
{
	return r->auth_ok ? r->user : address;
}

int
probe_section(const struct probe_report *r, const char *name,
    const char *password_file, FILE *out)
{
	const struct probe_cand *c;

	if (r->nok == 0)
		return -1;
	c = &r->cand[r->auth_ok ? r->auth_cand : r->rank[0]];
	if (name != NULL)
		fprintf(out, "[smarthost %s]\n", name);
	else
		fputs("[smarthost]\n", out);
	fprintf(out, "host = %s\nport = %s\ntls = %s\n", c->host, c->port,
	    cfg_tls_name(c->tls));
	if (c->r.auth != 0) {
		if (r->auth_ok)
			fprintf(out, "user = %s\n", r->user);
		else
			fprintf(out, "user = %s@%s\n", r->local, r->domain);
		if (password_file != NULL)
			fprintf(out, "password_file = %s\n", password_file);
	}
	return 0;
}
