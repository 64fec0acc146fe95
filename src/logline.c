/*
 * logline.c - delivery log lines in Postfix's shapes (see logline.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "env.h"
#include "log.h"
#include "logline.h"
#include "spool.h"

double
logline_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (double)time(NULL);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
logline_times_start(struct logline_times *t, time_t arrival,
    unsigned attempts)
{
	t->arrival = arrival;
	t->first = attempts == 0;
	t->taken = t->xfer = t->end = logline_now();
	t->conn = 0;
}

static double
nonneg(double v)
{
	return v > 0 ? v : 0;
}

void
logline_delays(struct logline_rcpt *l, const struct logline_times *t)
{
	double start = t->xfer - t->conn;

	/* Clocks step: each part is clamped, the total is their sum. */
	l->a = t->first ? nonneg(t->taken - (double)t->arrival) : 0;
	l->b = nonneg(start - (double)t->arrival - l->a);
	l->c = nonneg(t->conn);
	l->d = nonneg(t->end - t->xfer);
	l->delay = l->a + l->b + l->c + l->d;
}

const char *
logline_secs(double v, char *out, size_t len)
{
	char *p;

	if (v < 0.01)
		snprintf(out, len, "0");
	else if (v < 1)
		snprintf(out, len, "%.2f", v);
	else if (v < 10)
		snprintf(out, len, "%.1f", v);
	else
		snprintf(out, len, "%.0f", v);
	if (strchr(out, '.') != NULL) {
		p = out + strlen(out) - 1;
		while (*p == '0')
			*p-- = '\0';
		if (*p == '.')
			*p = '\0';
	}
	return out;
}

/* The length of an enhanced status code "C.S.D" at s (RFC 3463), or 0. */
static size_t
dsn_at(const char *s)
{
	size_t i = 0, n, part;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	for (part = 0; part < 3; part++) {
		if (part > 0 && s[i++] != '.')
			return 0;
		for (n = 0; isdigit((unsigned char)s[i]) && n < 3; n++)
			i++;
		if (n == 0 || (part == 0 && n != 1))
			return 0;
	}
	return isdigit((unsigned char)s[i]) ? 0 : i;
}

const char *
logline_dsn(const char *reply, const char *status, char *out, size_t len)
{
	const char *p;
	size_t n;

	for (p = reply != NULL ? reply : ""; *p != '\0'; p++)
		if ((p == reply || p[-1] == ' ') && (n = dsn_at(p)) > 0) {
			snprintf(out, len, "%.*s", (int)n, p);
			return out;
		}
	snprintf(out, len, "%c.0.0", strcmp(status, "sent") == 0 ? '2' :
	    strcmp(status, "bounced") == 0 ? '5' : '4');
	return out;
}

size_t
logline_rcpt_fmt(char *out, size_t len, const struct logline_rcpt *l)
{
	char dl[32], a[32], b[32], c[32], d[32], dsn[16];
	int n;

	n = snprintf(out, len, "%s: to=<%s>, relay=%s, delay=%s, "
	    "delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)", l->id, l->rcpt,
	    l->relay != NULL && l->relay[0] != '\0' ? l->relay : "none",
	    logline_secs(l->delay, dl, sizeof(dl)),
	    logline_secs(l->a, a, sizeof(a)), logline_secs(l->b, b, sizeof(b)),
	    logline_secs(l->c, c, sizeof(c)), logline_secs(l->d, d, sizeof(d)),
	    logline_dsn(l->reply, l->status, dsn, sizeof(dsn)), l->status,
	    l->reply != NULL ? l->reply : "");
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

void
logline_log_rcpt(const struct logline_rcpt *l)
{
	char line[2048];

	logline_rcpt_fmt(line, sizeof(line), l);
	log_agent("smtp", "%s", line);
}

void
logline_log_outcome(const char *id, const char *rcpt, const char *relay,
    const char *status, const char *reply, const struct logline_times *t)
{
	struct logline_rcpt l;

	memset(&l, 0, sizeof(l));
	l.id = id;
	l.rcpt = rcpt;
	l.relay = relay;
	l.status = status;
	l.reply = reply;
	logline_delays(&l, t);
	logline_log_rcpt(&l);
}

void
logline_log_state(const struct env *env, char state, const char *relay,
    const char *status, const char *why, const struct logline_times *t)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpts[i].state == state)
			logline_log_outcome(env->id, env->rcpts[i].addr, relay,
			    status, why, t);
}

void
logline_log_active(const char *id, const char *sender, long long size,
    size_t nrcpt)
{
	log_agent("qmgr", "%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)",
	    id, sender, size, nrcpt);
}
