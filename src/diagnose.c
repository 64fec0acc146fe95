/*
 * diagnose.c - the step report of `relayq test` (see diagnose.h).
 *
 * The SMTP client tells diag_observe() about every step; each becomes a
 * struct diag_line (kept for JSON) and, in text mode, a printed line at
 * once, so a slow step shows where the time goes. The last failed step
 * and what surrounds it become the advice facts. Server text arrives
 * sanitized from smtp.c and tls.c; JSON strings are escaped.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "advice.h"
#include "auth.h"
#include "buf.h"
#include "diagnose.h"
#include "header.h"
#include "mailq.h"
#include "reply.h"
#include "tls.h"

#define DIAG_TEXT	700
#define DIAG_WARN_MAX	4

struct diag_line {
	enum smtp_step step;
	int ok;
	long ms;
	int code;
	char text[DIAG_TEXT];
};

struct diag {
	const struct diag_opts *o;
	const struct smtp_params *p;
	FILE *out;
	struct diag_line *lines;
	size_t n;
	int nomem;
	struct tls_peer peer;
	int have_peer;
	struct diag_line fail;	/* the last failed step */
	int have_fail, fail_timed_out, fail_errnum;
	int nconnect_timeout;
	unsigned auth_offered;	/* from the last EHLO */
	char warn[DIAG_WARN_MAX][ADVICE_MAX];
	size_t nwarn;
	char advice[ADVICE_MAX];
};

static void
diag_warn(struct diag *d, const char *msg)
{
	if (d->nwarn < DIAG_WARN_MAX)
		strlcpy(d->warn[d->nwarn++], msg, ADVICE_MAX);
	if (!d->o->json)
		fprintf(d->out, "  warning: %s\n", msg);
}

/* --- one line per step ---------------------------------------------------- */

/* The words of a line: the event's detail, with what it lacks added. */
static void
diag_text(const struct diag *d, const struct smtp_event *ev, char *dst,
    size_t size)
{
	char list[128];

	switch (ev->step) {
	case SMTP_STEP_RESOLVE:
		if (ev->ok)
			snprintf(dst, size, "%s: %s", d->p->host, ev->detail);
		else
			strlcpy(dst, ev->detail, size);
		break;
	case SMTP_STEP_CONNECT:
		snprintf(dst, size, "%s port %s%s%s", ev->detail, d->p->port,
		    ev->ok ? "" : ": ", ev->ok ? "" : strerror(ev->errnum));
		break;
	case SMTP_STEP_AUTH_CHOICE:
		auth_mech_list(ev->auth_offered, list, sizeof(list));
		if (list[0] == '\0')
			strlcpy(list, "none", sizeof(list));
		snprintf(dst, size, "offered: %s; %s%s", list, ev->ok ?
		    "chosen: " : "", ev->detail);
		break;
	case SMTP_STEP_AUTH:
		snprintf(dst, size, "%s (as %s)", ev->detail,
		    d->p->user != NULL ? d->p->user : "");
		break;
	default:
		strlcpy(dst, ev->detail, size);
	}
}

static void
diag_time_str(time_t t, char *dst, size_t size)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		strlcpy(dst, "unknown", size);
}

/* The certificate, below the TLS line; a warning when it ends soon. */
static void
diag_cert(struct diag *d, const struct tls_peer *pe)
{
	char when[64], msg[ADVICE_MAX];
	long left = (long)(pe->not_after - d->o->now);

	if (!pe->have_cert)
		return;
	diag_time_str(pe->not_after, when, sizeof(when));
	if (!d->o->json)
		fprintf(d->out, "          certificate subject: %s\n"
		    "          names: %s\n          issuer: %s\n"
		    "          expires: %s\n          verification: %s\n"
		    "          sha256 fingerprint: %s\n", pe->subject,
		    pe->names[0] != '\0' ? pe->names : "(none)", pe->issuer,
		    when, pe->verify, pe->fingerprint);
	if (pe->not_after != 0 && left > 0 && left < DIAG_EXPIRY_WARN) {
		snprintf(msg, sizeof(msg), "the server's certificate expires "
		    "in less than 14 days (%s): tell the provider", when);
		diag_warn(d, msg);
	}
}

static void
diag_keep(struct diag *d, const struct diag_line *l)
{
	struct diag_line *v;

	if (d->nomem)
		return;
	if ((v = array_grow(d->lines, d->n, sizeof(*v))) == NULL) {
		d->nomem = 1;	/* the text report goes on regardless */
		return;
	}
	d->lines = v;
	d->lines[d->n++] = *l;
}

static void
diag_facts_note(struct diag *d, const struct smtp_event *ev,
    const struct diag_line *l)
{
	if (ev->step == SMTP_STEP_CONNECT)
		d->nconnect_timeout += ev->timed_out;
	if (ev->step == SMTP_STEP_EHLO && ev->caps != NULL)
		d->auth_offered = ev->caps->auth;
	if (ev->step == SMTP_STEP_TLS && ev->peer != NULL) {
		d->peer = *ev->peer;
		d->have_peer = 1;
	}
	/* The cause is the first failure, but an address that did not
	   answer is only a failure when no other one did. */
	if (!ev->ok && (!d->have_fail || d->fail.step == SMTP_STEP_CONNECT)) {
		d->fail = *l;
		d->have_fail = 1;
		/* Some address timed out, none answered: a firewall's
		   drop looks like this (the others may refuse). */
		d->fail_timed_out = ev->step == SMTP_STEP_CONNECT ?
		    d->nconnect_timeout > 0 : ev->timed_out;
		d->fail_errnum = ev->errnum;
	}
}

static void
diag_observe(void *arg, const struct smtp_event *ev)
{
	struct diag *d = arg;
	struct diag_line l;

	memset(&l, 0, sizeof(l));
	l.step = ev->step;
	l.ok = ev->ok;
	l.ms = ev->ms;
	l.code = ev->code;
	diag_text(d, ev, l.text, sizeof(l.text));
	diag_keep(d, &l);
	diag_facts_note(d, ev, &l);
	if (!d->o->json)
		fprintf(d->out, "  %-4s %-14s %6ld ms  %s\n", l.ok ? "ok" :
		    "FAIL", smtp_step_name(l.step), l.ms, l.text);
	if (ev->step == SMTP_STEP_TLS && ev->peer != NULL)
		diag_cert(d, ev->peer);
	fflush(d->out);
}

/* --- the outcome ---------------------------------------------------------- */

static int
diag_step_timeout(const struct smtp_params *p, enum smtp_step st)
{
	if (st == SMTP_STEP_GREETING && p->greeting_timeout > 0 &&
	    (p->timeout <= 0 || p->greeting_timeout < p->timeout))
		return p->greeting_timeout;
	return p->timeout > 0 ? p->timeout : 30;
}

static void
diag_advise(struct diag *d)
{
	struct advice_facts f;

	memset(&f, 0, sizeof(f));
	f.host = d->p->host;
	f.port = d->p->port;
	f.tls = d->p->tls;
	f.user = d->p->user;
	f.sender = d->o->sender;
	f.failed = d->have_fail ? d->fail.step : SMTP_STEP_N;
	f.code = d->fail.code;
	f.timed_out = d->fail_timed_out;
	f.errnum = d->fail_errnum;
	f.timeout = diag_step_timeout(d->p, f.failed);
	f.detail = d->fail.text;
	f.auth_offered = d->auth_offered;
	f.peer = d->have_peer ? &d->peer : NULL;
	advice_for(&f, d->advice, sizeof(d->advice));
}

/* Warnings about a setup that works but is fragile. */
static void
diag_warn_setup(struct diag *d)
{
	if (d->p->tls == TLS_MODE_NONE)
		diag_warn(d, "tls = none: mail (and a password) would cross "
		    "the network unencrypted");
	if (d->p->user == NULL && d->auth_offered != 0)
		diag_warn(d, "the server offers AUTH but no user is "
		    "configured: it may refuse mail (530) until user = and "
		    "password_file = are set");
}

static void
diag_json_str(FILE *out, const char *key, const char *v, int comma)
{
	fprintf(out, "%s\"%s\": ", comma ? ", " : "", key);
	if (v != NULL)
		mailq_json_string(out, v);
	else
		fputs("null", out);
}

static void
diag_json_cert(const struct diag *d)
{
	const struct tls_peer *pe = &d->peer;
	FILE *out = d->out;

	if (!d->have_peer || !pe->have_cert) {
		fputs(", \"certificate\": null", out);
		return;
	}
	fputs(", \"certificate\": {", out);
	diag_json_str(out, "subject", pe->subject, 0);
	diag_json_str(out, "names", pe->names, 1);
	diag_json_str(out, "issuer", pe->issuer, 1);
	fprintf(out, ", \"not_after\": %lld", (long long)pe->not_after);
	diag_json_str(out, "verification", pe->verify, 1);
	diag_json_str(out, "sha256", pe->fingerprint, 1);
	fprintf(out, ", \"verified\": %s}", pe->verdict == TLS_VERDICT_OK ?
	    "true" : "false");
}

static void
diag_json(const struct diag *d, int ok, const struct err *e)
{
	FILE *out = d->out;
	size_t i;

	fputc('{', out);
	diag_json_str(out, "route", d->o->route, 0);
	fprintf(out, ", \"ok\": %s", ok ? "true" : "false");
	diag_json_str(out, "host", d->p->host, 1);
	diag_json_str(out, "port", d->p->port, 1);
	diag_json_str(out, "tls", cfg_tls_name(d->p->tls), 1);
	fputs(", \"steps\": [", out);
	for (i = 0; i < d->n; i++) {
		fprintf(out, "%s{\"step\": \"%s\", \"ok\": %s, \"ms\": %ld, "
		    "\"code\": %d", i > 0 ? ", " : "",
		    smtp_step_name(d->lines[i].step), d->lines[i].ok ?
		    "true" : "false", d->lines[i].ms, d->lines[i].code);
		diag_json_str(out, "detail", d->lines[i].text, 1);
		fputc('}', out);
	}
	fputc(']', out);
	diag_json_cert(d);
	fputs(", \"warnings\": [", out);
	for (i = 0; i < d->nwarn; i++) {
		fputs(i > 0 ? ", " : "", out);
		mailq_json_string(out, d->warn[i]);
	}
	fputc(']', out);
	diag_json_str(out, "error", ok ? NULL : e->msg, 1);
	diag_json_str(out, "advice", d->advice[0] != '\0' ? d->advice :
	    NULL, 1);
	fputs("}\n", out);
}

static void
diag_finish(struct diag *d, int ok, const struct err *e)
{
	if (!ok)
		diag_advise(d);
	if (d->o->json) {
		diag_json(d, ok, e);
		return;
	}
	if (ok) {
		fprintf(d->out, "relayq test: ok: route %s works (%s port %s, "
		    "tls = %s)%s\n", d->o->route, d->p->host, d->p->port,
		    cfg_tls_name(d->p->tls), d->o->send_to != NULL ?
		    "; the test message was accepted" : "");
		return;
	}
	fprintf(d->out, "relayq test: FAILED: %s\n", e->msg);
	if (d->advice[0] != '\0')
		fprintf(d->out, "  advice: %s\n", d->advice);
}

/* --- the test message ----------------------------------------------------- */

/* A short message in an unlinked temporary file; the fd, or -1. */
static int
diag_message(const struct smtp_params *p, const struct diag_opts *o,
    off_t *size, struct err *e)
{
	char date[64];
	FILE *f;
	int fd;
	long n;

	if ((f = tmpfile()) == NULL) {
		err_sys(e, RQ_TEMP, "test message: temporary file");
		return -1;
	}
	header_date(date, sizeof(date), o->now);
	fprintf(f, "Date: %s\nFrom: ", date);
	if (o->sender_name != NULL && *o->sender_name != '\0')
		fprintf(f, "\"%s\" ", o->sender_name);
	fprintf(f, "<%s>\nTo: <%s>\nSubject: relayq test "
	    "message from %s\nMessage-ID: <relayq-test.%lld.%ld@%s>\n"
	    "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
	    "\nThis message was sent by `relayq test --send` on %s through\n"
	    "%s port %s (route %s). If you can read it, relayq can deliver "
	    "mail.\n", o->sender, o->send_to, p->helo,
	    (long long)o->now, (long)getpid(), p->helo, p->helo, p->host,
	    p->port, o->route);
	if (fflush(f) == EOF || (n = ftell(f)) < 0 ||
	    (fd = dup(fileno(f))) == -1) {
		err_sys(e, RQ_TEMP, "test message: temporary file");
		fclose(f);
		return -1;
	}
	fclose(f);
	*size = (off_t)n;
	return fd;
}

static enum rq_status
diag_send(struct smtp_session *s, const struct smtp_params *p,
    const struct diag_opts *o, struct err *e)
{
	const char *rcpts[1] = { o->send_to };
	struct smtp_rcpt_result res;
	struct smtp_msg m;
	enum rq_status st;

	memset(&m, 0, sizeof(m));
	if ((m.fd = diag_message(p, o, &m.size, e)) == -1)
		return e->status;
	m.sender = o->sender;
	m.rcpts = rcpts;
	m.nrcpt = 1;
	memset(&res, 0, sizeof(res));
	st = smtp_send(s, &m, &res, e);
	close(m.fd);
	if (st == RQ_OK && res.status != RQ_OK)
		st = err_set(e, res.status, "%s", res.text);
	return st;
}

enum rq_status
diag_test(struct smtp_params *p, const struct diag_opts *o, FILE *out,
    struct err *e)
{
	struct smtp_session *s;
	struct diag d;
	enum rq_status st;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.p = p;
	d.out = out;
	p->observe = diag_observe;
	p->observe_arg = &d;
	p->greeting_timeout = DIAG_GREETING_TIMEOUT;
	if (!o->json)
		fprintf(out, "relayq test: route %s: %s port %s, tls = %s%s%s\n",
		    o->route, p->host, p->port, cfg_tls_name(p->tls),
		    p->user != NULL ? ", user " : "", p->user != NULL ?
		    p->user : "");
	if ((st = smtp_open(&s, p, e)) == RQ_OK) {
		diag_warn_setup(&d);
		if (o->send_to != NULL)
			st = diag_send(s, p, o, e);
		smtp_close(s);
	}
	diag_finish(&d, st == RQ_OK, e);
	free(d.lines);
	return st;
}
