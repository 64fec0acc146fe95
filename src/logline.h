/*
 * logline.h - the log lines of a delivery, in Postfix's shapes, so that
 * the tools written for Postfix logs (pflogsumm, fail2ban-style filters)
 * read relayq's:
 *
 *   relayq/qmgr[PID]: ID: from=<s>, size=N, nrcpt=N (queue active)
 *   relayq/smtp[PID]: ID: to=<r>, relay=HOST[ADDR]:PORT, delay=D,
 *       delays=a/b/c/d, dsn=X.Y.Z, status=sent|deferred|bounced (REPLY)
 *
 * delay is the time from submission to the outcome; delays splits it:
 * a before the runner first took the message (known on the first attempt
 * only; later it is part of b), b waiting in the queue and in the pass,
 * c connection setup with TLS and AUTH (0 on a reused session), d the
 * mail transaction. Numbers have Postfix's precision (two significant
 * digits below 10 s, whole seconds above). The formatting is pure, for
 * tests; logline_log_*() send the lines to the log.
 */
#ifndef RELAYQ_LOGLINE_H
#define RELAYQ_LOGLINE_H

#include <stddef.h>
#include <time.h>

struct logline_rcpt {
	const char *id;
	const char *rcpt;
	const char *relay;	/* "host[addr]:port", or NULL: "none" */
	const char *status;	/* "sent", "deferred", "bounced" */
	const char *reply;	/* the server's reply, or our reason */
	double delay;		/* seconds, the sum of the four below */
	double a, b, c, d;
};

/*
 * When the things that make up a delivery attempt happened (seconds since
 * the epoch, sub-second). conn: how long the session's setup took when it
 * was opened for this message (0: an open one was reused).
 */
struct logline_times {
	time_t arrival;
	int first;		/* the message's first attempt */
	double taken;		/* the runner took the message */
	double conn;
	double xfer;		/* the mail transaction began */
	double end;		/* the outcome was known */
};

/* Wall-clock seconds now, with the fraction. */
double logline_now(void);
/* t for an attempt starting now on a message that arrived at arrival and
 * was tried attempts times before (every later time: now too). */
void logline_times_start(struct logline_times *t, time_t arrival,
    unsigned attempts);
/* Fill l's delay and a/b/c/d from t (never negative). */
void logline_delays(struct logline_rcpt *l, const struct logline_times *t);
/* "2.0.0": the enhanced status code in reply, else the class's X.0.0
 * from status. */
const char *logline_dsn(const char *reply, const char *status, char *out,
    size_t len);
/* A delay as Postfix writes it: "0.52", "5.2", "115", "0". */
const char *logline_secs(double v, char *out, size_t len);
/* The smtp line of l (no prefix, no newline) into out; its length. */
size_t logline_rcpt_fmt(char *out, size_t len, const struct logline_rcpt *l);
void logline_log_rcpt(const struct logline_rcpt *l);
/* The smtp line of one recipient's outcome at t (relay NULL: none). */
void logline_log_outcome(const char *id, const char *rcpt,
    const char *relay, const char *status, const char *reply,
    const struct logline_times *t);
struct env;
/* The smtp line, with why, of each recipient of env in state (spool.h's
 * RCPT_*): those a failure before any transaction touched. */
void logline_log_state(const struct env *env, char state,
    const char *relay, const char *status, const char *why,
    const struct logline_times *t);
/* The qmgr line when a message goes to delivery. */
void logline_log_active(const char *id, const char *sender, long long size,
    size_t nrcpt);

#endif
