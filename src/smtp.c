/*
 * smtp.c - the SMTP client state machine (API and policy in smtp.h).
 *
 * Each state has a name and a timeout in parallel tables; smtp_enter()
 * sends the command of a state and smtp_handle() acts on its reply, so a
 * pipelined transaction is the same code with a wider window. Invariants:
 * no MAIL and no credential before the configured TLS is up; AUTH only
 * inside TLS unless plaintext_auth; every server text that reaches a
 * reason or stderr is sanitized and bounded; secrets are masked in
 * verbose output and wiped after use. Error policy: session failures are
 * RQ_TEMP and leave the session BROKEN (no further command, not even
 * QUIT); replies to a transaction are classified per recipient.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "auth.h"
#include "buf.h"
#include "conn.h"
#include "log.h"
#include "reply.h"
#include "smtp.h"

enum smtp_state {
	SMTP_CONNECT,
	SMTP_TLS,		/* implicit TLS (smtps) handshake */
	SMTP_GREETING,
	SMTP_EHLO,
	SMTP_HELO,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_AUTH_NEXT,		/* an answer to a 334 challenge */
	SMTP_READY,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_BODY,
	SMTP_EOD,		/* the final "." */
	SMTP_RSET,
	SMTP_QUIT,
	SMTP_BROKEN,
	SMTP_NSTATES
};

static const char *const smtp_names[SMTP_NSTATES] = {
	[SMTP_CONNECT] = "connect",
	[SMTP_TLS] = "TLS handshake",
	[SMTP_GREETING] = "greeting",
	[SMTP_EHLO] = "EHLO",
	[SMTP_HELO] = "HELO",
	[SMTP_STARTTLS] = "STARTTLS",
	[SMTP_AUTH] = "AUTH",
	[SMTP_AUTH_NEXT] = "AUTH",
	[SMTP_READY] = "ready",
	[SMTP_MAIL] = "MAIL FROM",
	[SMTP_RCPT] = "RCPT TO",
	[SMTP_DATA] = "DATA",
	[SMTP_BODY] = "message body",
	[SMTP_EOD] = "end of data",
	[SMTP_RSET] = "RSET",
	[SMTP_QUIT] = "QUIT",
	[SMTP_BROKEN] = "broken",
};

/* The step an observer is told about, per state (-1: none). */
static const int smtp_steps[SMTP_NSTATES] = {
	[SMTP_CONNECT] = SMTP_STEP_CONNECT,
	[SMTP_TLS] = SMTP_STEP_TLS,
	[SMTP_GREETING] = SMTP_STEP_GREETING,
	[SMTP_EHLO] = SMTP_STEP_EHLO,
	[SMTP_HELO] = SMTP_STEP_EHLO,
	[SMTP_STARTTLS] = SMTP_STEP_STARTTLS,
	[SMTP_AUTH] = SMTP_STEP_AUTH,
	[SMTP_AUTH_NEXT] = SMTP_STEP_AUTH,
	[SMTP_READY] = -1,
	[SMTP_MAIL] = SMTP_STEP_MAIL,
	[SMTP_RCPT] = SMTP_STEP_RCPT,
	[SMTP_DATA] = SMTP_STEP_DATA,
	[SMTP_BODY] = SMTP_STEP_EOD,
	[SMTP_EOD] = SMTP_STEP_EOD,
	[SMTP_RSET] = -1,
	[SMTP_QUIT] = -1,
	[SMTP_BROKEN] = -1,
};

static const char *const smtp_step_names[SMTP_STEP_N] = {
	[SMTP_STEP_RESOLVE] = "resolve",
	[SMTP_STEP_CONNECT] = "connect",
	[SMTP_STEP_TLS] = "TLS",
	[SMTP_STEP_GREETING] = "greeting",
	[SMTP_STEP_EHLO] = "EHLO",
	[SMTP_STEP_STARTTLS] = "STARTTLS",
	[SMTP_STEP_AUTH_CHOICE] = "AUTH mechanism",
	[SMTP_STEP_AUTH] = "AUTH",
	[SMTP_STEP_MAIL] = "MAIL FROM",
	[SMTP_STEP_RCPT] = "RCPT TO",
	[SMTP_STEP_DATA] = "DATA",
	[SMTP_STEP_EOD] = "message",
};

/* Seconds per state (Postfix's defaults); BODY applies to each write. */
static const int smtp_timeouts[SMTP_NSTATES] = {
	[SMTP_CONNECT] = 30,
	[SMTP_TLS] = 120,
	[SMTP_GREETING] = 300,
	[SMTP_EHLO] = 300,
	[SMTP_HELO] = 300,
	[SMTP_STARTTLS] = 120,
	[SMTP_AUTH] = 120,
	[SMTP_AUTH_NEXT] = 120,
	[SMTP_READY] = 300,
	[SMTP_MAIL] = 300,
	[SMTP_RCPT] = 300,
	[SMTP_DATA] = 120,
	[SMTP_BODY] = 180,
	[SMTP_EOD] = 600,
	[SMTP_RSET] = 30,
	[SMTP_QUIT] = 30,
	[SMTP_BROKEN] = 30,
};

#define SMTP_WINDOW	64		/* pipelined commands in flight */
/*
 * Message bytes per read. The pass's memory does not grow with the
 * message: one chunk in, its encoding out, sent from there.
 */
#define SMTP_CHUNK	16384
#define SMTP_CMD_MAX	(AUTH_LINE_MAX + 16)
#define SMTP_SUMMARY	600

/* Where a recipient stands in the transaction (not spool.h's RCPT_*
 * record states: those are what the queue file says). */
enum txn_rcpt { TXN_RCPT_PENDING, TXN_RCPT_ACCEPTED, TXN_RCPT_FINAL };

/* One mail transaction. */
struct smtp_txn {
	const struct smtp_msg *m;
	struct smtp_rcpt_result *res;
	unsigned char *rstate;	/* enum txn_rcpt per recipient */
	size_t *order;		/* recipients we send RCPT for */
	size_t nvalid;
	size_t rcpt_sent;	/* RCPT commands queued */
	size_t rcpt_done;	/* RCPT replies handled */
	size_t naccepted;
	int mail_done, mail_ok;
	int data_ok;		/* 354 seen */
};

struct smtp_session {
	enum smtp_state state;
	struct conn *conn;
	const struct smtp_params *p;	/* valid during smtp_open() only */
	struct reply reply;
	struct reply_caps caps;
	struct buf cmd;		/* the command line being sent */
	struct buf authbuf;	/* the next AUTH line: a secret */
	struct auth auth;
	struct smtp_txn *txn;	/* during smtp_send() */
	int timeout;		/* replaces every table value when > 0 */
	int greeting_timeout;	/* > 0: the greeting's limit */
	smtp_observe_fn *observe;
	void *observe_arg;
	int64_t t0;		/* ms: when the observed step began */
	int verbose;
	int need_auth;
	enum tls_mode tls;
	char *io;		/* SMTP_CHUNK in + SMTP_DATA_OUT() out */
};

const char *
smtp_state_name(int state)
{
	if (state < 0 || state >= SMTP_NSTATES)
		return NULL;
	return smtp_names[state];
}

const char *
smtp_step_name(enum smtp_step st)
{
	return (unsigned)st < SMTP_STEP_N ? smtp_step_names[st] : "?";
}

static int
smtp_timeout(const struct smtp_session *s, enum smtp_state st)
{
	int t = s->timeout > 0 ? s->timeout : smtp_timeouts[st];

	if (st == SMTP_GREETING && s->greeting_timeout > 0 &&
	    s->greeting_timeout < t)
		return s->greeting_timeout;
	return t;
}

/* --- the observer --------------------------------------------------------- */

/* An event with the common fields set; the caller adds the rest. */
static void
smtp_event_init(const struct smtp_session *s, struct smtp_event *ev,
    enum smtp_step step, int ok, const char *detail)
{
	memset(ev, 0, sizeof(*ev));
	ev->step = step;
	ev->ok = ok;
	ev->ms = (long)(conn_clock_ms() - s->t0);
	ev->detail = detail != NULL ? detail : "";
	ev->auth_chosen = AUTH_NONE;
	ev->timed_out = !ok && conn_timed_out(s->conn);
}

static void
smtp_tell(const struct smtp_session *s, const struct smtp_event *ev)
{
	if (s->observe != NULL)
		s->observe(s->observe_arg, ev);
}

/* A step of state st ended: with the reply in s->reply when code > 0. */
static void
smtp_note(struct smtp_session *s, enum smtp_state st, int ok,
    const char *detail)
{
	struct smtp_event ev;
	char sum[SMTP_SUMMARY];

	if (s->observe == NULL || smtp_steps[st] < 0)
		return;
	if (detail == NULL)
		detail = reply_summary(&s->reply, sum, sizeof(sum));
	smtp_event_init(s, &ev, (enum smtp_step)smtp_steps[st], ok, detail);
	if (detail == sum)
		ev.code = s->reply.code;
	if (st == SMTP_EHLO && ok)
		ev.caps = &s->caps;
	smtp_tell(s, &ev);
}

/* The TLS handshake ended: what the server's certificate says. */
static void
smtp_note_tls(struct smtp_session *s, int ok, const char *detail)
{
	struct smtp_event ev;
	struct tls_peer peer;

	if (s->observe == NULL)
		return;
	conn_tls_peer(s->conn, &peer);
	smtp_event_init(s, &ev, SMTP_STEP_TLS, ok, detail);
	ev.peer = &peer;
	smtp_tell(s, &ev);
}

/* conn.c's name lookup and connection attempts, passed on. */
static void
smtp_conn_event(void *arg, enum conn_event cev, const char *text,
    int errnum, long ms)
{
	struct smtp_session *s = arg;
	struct smtp_event ev;

	smtp_event_init(s, &ev, cev == CONN_EV_RESOLVED ? SMTP_STEP_RESOLVE :
	    SMTP_STEP_CONNECT, errnum == 0, text);
	ev.ms = ms;
	ev.errnum = errnum;
	ev.timed_out = errnum == ETIMEDOUT;
	smtp_tell(s, &ev);
	s->t0 = conn_clock_ms();
}

/* --- verbose dialogue ----------------------------------------------------- */

static void
smtp_show(const struct smtp_session *s, const char *dir, const char *p,
    size_t n)
{
	unsigned char c;
	size_t i;

	if (!s->verbose)
		return;
	fputs(dir, stderr);
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		fputc(c >= 0x20 && c < 0x7f ? c : '?', stderr);
	}
	fputc('\n', stderr);
}

/* --- failures ------------------------------------------------------------- */

/*
 * An I/O or protocol failure in state st: e holds the short reason from
 * conn.c; add the peer and the step. The session is dead.
 */
static enum rq_status
smtp_io_fail(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	char why[ERR_MSG_MAX];

	strlcpy(why, e->msg, sizeof(why));
	s->state = SMTP_BROKEN;
	if (strncmp(why, "TLS: ", 5) == 0 &&
	    (st == SMTP_TLS || st == SMTP_STARTTLS))
		return err_set(e, RQ_TEMP, "%s", why);
	if (strncmp(why, "TLS: ", 5) == 0)
		return err_set(e, RQ_TEMP, "%s (during %s)", why,
		    smtp_names[st]);
	return err_set(e, RQ_TEMP, "%s: %s (during %s)", conn_peer(s->conn),
	    why, smtp_names[st]);
}

/* snprintf that is meant to cut: reasons are bounded on purpose. */
static void RQ_PRINTF(3, 4)
smtp_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

/* "peer said after STEP: 550 5.1.1 text" into dst. */
static void
smtp_reason(const struct smtp_session *s, enum smtp_state st,
    const char *arg, char *dst, size_t size)
{
	char sum[SMTP_SUMMARY];

	reply_summary(&s->reply, sum, sizeof(sum));
	if (st == SMTP_GREETING)
		smtp_fmt(dst, size, "%s said in greeting: %s",
		    conn_peer(s->conn), sum);
	else
		smtp_fmt(dst, size, "%s said after %s%s: %s",
		    conn_peer(s->conn), smtp_names[st], arg != NULL ? arg : "",
		    sum);
}

/* A reply that ends the session setup: RQ_TEMP, whatever the code. */
static enum rq_status
smtp_reply_fail(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	char why[ERR_MSG_MAX];

	if (s->reply.code == 421)	/* the server is closing: no QUIT */
		s->state = SMTP_BROKEN;
	smtp_reason(s, st, NULL, why, sizeof(why));
	return err_set(e, RQ_TEMP, "%s", why);
}

static enum rq_status
smtp_class(int code)
{
	if (code / 100 == 2)
		return RQ_OK;
	return code / 100 == 5 ? RQ_PERM : RQ_TEMP;
}

/* --- command and reply I/O ------------------------------------------------ */

/* Queue s->cmd plus CRLF; shown (or the command) is what verbose prints. */
static enum rq_status
smtp_write_cmd(struct smtp_session *s, enum smtp_state st,
    const struct buf *cmd, const char *shown, struct err *e)
{
	const char *p = buf_cstr(cmd);

	if (shown != NULL)
		smtp_show(s, ">>> ", shown, strlen(shown));
	else
		smtp_show(s, ">>> ", p, cmd->len);
	if (conn_write(s->conn, p, cmd->len, e) != RQ_OK ||
	    conn_write(s->conn, "\r\n", 2, e) != RQ_OK)
		return smtp_io_fail(s, st, e);
	return RQ_OK;
}

static enum rq_status
smtp_flush(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	conn_set_timeout(s->conn, smtp_timeout(s, st));
	if (conn_flush(s->conn, e) != RQ_OK)
		return smtp_io_fail(s, st, e);
	return RQ_OK;
}

/* Read one complete reply for state st into s->reply, within its time. */
static enum rq_status
smtp_read_reply(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	const char *line;
	size_t len;
	enum reply_state rs;

	reply_reset(&s->reply);
	conn_set_timeout(s->conn, smtp_timeout(s, st));
	do {
		if (conn_read_line(s->conn, &line, &len, e) != RQ_OK)
			return smtp_io_fail(s, st, e);
		smtp_show(s, "<<< ", line, len);
		rs = reply_feed(&s->reply, line, len);
	} while (rs == REPLY_MORE);
	if (rs == REPLY_BAD) {
		err_set(e, RQ_TEMP, "protocol error: %s", s->reply.why);
		return smtp_io_fail(s, st, e);
	}
	return RQ_OK;
}

/* --- entering a state: its command ---------------------------------------- */

/* DSN parameters go out only when offered and the message asked. */
static int
smtp_dsn(const struct smtp_session *s, const struct smtp_msg *m)
{
	return s->caps.dsn && m->dsn != NULL && dsn_req_any(m->dsn);
}

static enum rq_status
smtp_cmd_mail(struct smtp_session *s, struct err *e)
{
	const struct smtp_msg *m = s->txn->m;
	int rc;

	rc = buf_printf(&s->cmd, "MAIL FROM:<%s>", m->sender);
	if (rc == 0 && s->caps.size)
		rc = buf_printf(&s->cmd, " SIZE=%lld", (long long)m->size);
	if (rc == 0 && m->body_8bit && s->caps.eightbitmime)
		rc = buf_puts(&s->cmd, " BODY=8BITMIME");
	if (rc == 0 && m->smtputf8 && s->caps.smtputf8)
		rc = buf_puts(&s->cmd, " SMTPUTF8");
	if (rc == 0 && smtp_dsn(s, m) && m->dsn->ret != DSN_RET_UNSET)
		rc = buf_printf(&s->cmd, " RET=%s", dsn_ret_name(m->dsn->ret));
	if (rc == 0 && smtp_dsn(s, m) && m->dsn->envid[0] != '\0') {
		char x[DSN_ENVID_MAX + 1];

		if (dsn_xtext(m->dsn->envid, x, sizeof(x)) < sizeof(x))
			rc = buf_printf(&s->cmd, " ENVID=%s", x);
	}
	if (rc == -1)
		return err_sys(e, RQ_TEMP, "MAIL FROM");
	return RQ_OK;
}

/* RCPT TO with NOTIFY= and ORCPT= (RFC 3461) when DSN applies. */
static enum rq_status
smtp_cmd_rcpt(struct smtp_session *s, struct err *e)
{
	struct smtp_txn *t = s->txn;
	const char *a = t->m->rcpts[t->order[t->rcpt_sent++]];
	char list[64], *x;
	size_t n;
	int rc;

	rc = buf_printf(&s->cmd, "RCPT TO:<%s>", a);
	if (rc == 0 && smtp_dsn(s, t->m) && t->m->dsn->notify != 0) {
		dsn_notify_str(t->m->dsn->notify, list, sizeof(list));
		rc = buf_printf(&s->cmd, " NOTIFY=%s", list);
	}
	/* ORCPT's rfc822 type is ASCII; a UTF-8 address goes without. */
	if (rc == 0 && smtp_dsn(s, t->m) && !addr_is_utf8(a)) {
		n = dsn_xtext(a, NULL, 0) + 1;
		if ((x = malloc(n)) == NULL)
			return err_sys(e, RQ_TEMP, "RCPT TO");
		dsn_xtext(a, x, n);
		rc = buf_printf(&s->cmd, " ORCPT=rfc822;%s", x);
		free(x);
	}
	if (rc == -1)
		return err_sys(e, RQ_TEMP, "RCPT TO");
	return RQ_OK;
}

static enum rq_status
smtp_cmd_line(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	int rc = 0;

	buf_reset(&s->cmd);
	switch (st) {
	case SMTP_EHLO:
	case SMTP_HELO:
		rc = buf_printf(&s->cmd, "%s %s", smtp_names[st], s->p->helo);
		break;
	case SMTP_STARTTLS:
	case SMTP_DATA:
	case SMTP_RSET:
	case SMTP_QUIT:
		rc = buf_puts(&s->cmd, smtp_names[st]);
		break;
	case SMTP_MAIL:
		return smtp_cmd_mail(s, e);
	case SMTP_RCPT:
		return smtp_cmd_rcpt(s, e);
	default:
		return err_set(e, RQ_INTERNAL, "no command for state %s",
		    smtp_names[st]);
	}
	if (rc == -1)
		return err_sys(e, RQ_TEMP, "%s", smtp_names[st]);
	return RQ_OK;
}

/* "AUTH PLAIN <secret>": the line with its payload masked. */
static void
smtp_auth_shown(const struct smtp_session *s, enum smtp_state st,
    char *dst, size_t size)
{
	const char *name = auth_mech_name(s->auth.mech);
	int payload = s->auth.mech == AUTH_PLAIN ||
	    s->auth.mech == AUTH_XOAUTH2 || s->auth.mech == AUTH_OAUTHBEARER;

	if (st == SMTP_AUTH_NEXT)
		strlcpy(dst, "<secret>", size);
	else
		snprintf(dst, size, "AUTH %s%s", name != NULL ? name : "?",
		    payload ? " <secret>" : "");
}

/* Send the command of state st (nothing for the greeting). */
static enum rq_status
smtp_enter(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	char shown[64];

	s->state = st;
	if (st == SMTP_GREETING)
		return RQ_OK;
	if (st == SMTP_AUTH || st == SMTP_AUTH_NEXT) {
		if (st == SMTP_AUTH &&
		    auth_begin(&s->auth, &s->authbuf, e) != RQ_OK)
			return RQ_TEMP;
		smtp_auth_shown(s, st, shown, sizeof(shown));
		return smtp_write_cmd(s, st, &s->authbuf, shown, e);
	}
	if (smtp_cmd_line(s, st, e) != RQ_OK)
		return RQ_TEMP;
	return smtp_write_cmd(s, st, &s->cmd, NULL, e);
}

/* --- session set-up: handling replies ------------------------------------- */

static struct tls_params
smtp_tls_params(const struct smtp_params *p)
{
	struct tls_params tp;

	tp.host = p->host;
	tp.verify = p->tls_verify;
	tp.ca_file = p->ca_file;
	tp.fingerprint = p->fingerprint;
	tp.cert_file = p->cert_file;
	tp.key_file = p->key_file;
	tp.cache = p->tls_cache;
	return tp;
}

/* The handshake (implicit TLS or after STARTTLS) in state st. */
static enum rq_status
smtp_tls_start(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	struct tls_params tp = smtp_tls_params(s->p);

	s->state = st;
	s->t0 = conn_clock_ms();
	conn_set_timeout(s->conn, smtp_timeout(s, st));
	if (conn_starttls(s->conn, &tp, e) != RQ_OK) {
		smtp_note_tls(s, 0, e->msg);
		return smtp_io_fail(s, st, e);
	}
	smtp_note_tls(s, 1, conn_tls_info(s->conn));
	if (s->verbose)
		fprintf(stderr, "--- TLS: %s\n", conn_tls_info(s->conn));
	log_debug("%s: TLS: %s", conn_peer(s->conn), conn_tls_info(s->conn));
	memset(&s->caps, 0, sizeof(s->caps));	/* learnt in clear: void */
	return RQ_OK;
}

/* What was offered and chosen (m: AUTH_NONE and why in detail). */
static void
smtp_note_auth_choice(struct smtp_session *s, enum auth_mech m,
    const char *detail)
{
	struct smtp_event ev;

	if (s->observe == NULL)
		return;
	s->t0 = conn_clock_ms();
	smtp_event_init(s, &ev, SMTP_STEP_AUTH_CHOICE, m != AUTH_NONE,
	    detail);
	ev.auth_offered = s->caps.auth;
	ev.auth_chosen = m;
	smtp_tell(s, &ev);
}

static enum smtp_state
smtp_choose_auth_fail(struct smtp_session *s, struct err *e)
{
	smtp_note_auth_choice(s, AUTH_NONE, e->msg);
	return SMTP_BROKEN;
}

/* The mechanism to use: SMTP_AUTH next, or SMTP_BROKEN and why in e. */
static enum smtp_state
smtp_choose_auth(struct smtp_session *s, struct err *e)
{
	const struct smtp_params *p = s->p;
	enum auth_mech m;

	if (!conn_tls_active(s->conn) && !p->plaintext_auth) {
		err_set(e, RQ_TEMP, "refusing to send credentials to %s "
		    "without TLS", conn_peer(s->conn));
		return smtp_choose_auth_fail(s, e);
	}
	if (p->password == NULL) {
		err_set(e, RQ_TEMP, "no password configured for AUTH as %s",
		    p->user);
		return smtp_choose_auth_fail(s, e);
	}
	if ((m = auth_choose(p->auth, s->caps.auth)) == AUTH_NONE) {
		if (p->auth != AUTH_AUTO)
			err_set(e, RQ_TEMP, "AUTH %s not offered by %s",
			    auth_mech_name(p->auth), conn_peer(s->conn));
		else
			err_set(e, RQ_TEMP, "no usable AUTH mechanism offered "
			    "by %s", conn_peer(s->conn));
		return smtp_choose_auth_fail(s, e);
	}
	smtp_note_auth_choice(s, m, auth_mech_name(m));
	auth_init(&s->auth, m, p->user, p->password);
	return SMTP_AUTH;
}

/*
 * The set-up handlers act on the reply to state st and return the next
 * set-up state (SMTP_READY: done), or SMTP_BROKEN when the set-up failed,
 * with the reason in e. s->state keeps its one meaning: where the session
 * is; it becomes SMTP_BROKEN only when nothing more may be sent, not even
 * QUIT.
 */
static enum smtp_state
smtp_setup_fail(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	(void)smtp_reply_fail(s, st, e);
	return SMTP_BROKEN;
}

/* After a good EHLO/HELO: STARTTLS, AUTH or ready. */
static enum smtp_state
smtp_after_ehlo(struct smtp_session *s, struct err *e)
{
	if (s->tls == TLS_MODE_STARTTLS && !conn_tls_active(s->conn)) {
		if (s->caps.starttls)
			return SMTP_STARTTLS;
		s->state = SMTP_BROKEN;	/* send nothing more */
		err_set(e, RQ_TEMP, "STARTTLS not offered by %s",
		    conn_peer(s->conn));
		s->t0 = conn_clock_ms();
		smtp_note(s, SMTP_STARTTLS, 0, e->msg);
		return SMTP_BROKEN;
	}
	if (s->need_auth)
		return smtp_choose_auth(s, e);
	return SMTP_READY;
}

static enum smtp_state
smtp_handle_ehlo(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	int code = s->reply.code;

	if (code == 250) {
		if (st == SMTP_EHLO)
			reply_parse_caps(&s->reply, &s->caps);
		else
			memset(&s->caps, 0, sizeof(s->caps));
		return smtp_after_ehlo(s, e);
	}
	/* HELO only where EHLO features are not needed at all. */
	if (st == SMTP_EHLO && code / 100 == 5 && s->tls == TLS_MODE_NONE &&
	    !s->need_auth)
		return SMTP_HELO;
	return smtp_setup_fail(s, st, e);
}

static enum smtp_state
smtp_handle_starttls(struct smtp_session *s, struct err *e)
{
	if (s->reply.code != 220)
		return smtp_setup_fail(s, SMTP_STARTTLS, e);
	/* Bytes after the 220 came in clear and would be read as if
	   protected: a man in the middle's injected reply. */
	if (conn_pending(s->conn) > 0) {
		s->state = SMTP_BROKEN;
		err_set(e, RQ_TEMP, "%s sent data after its reply to "
		    "STARTTLS (possible injection); not continuing",
		    conn_peer(s->conn));
		return SMTP_BROKEN;
	}
	if (smtp_tls_start(s, SMTP_STARTTLS, e) != RQ_OK)
		return SMTP_BROKEN;
	return SMTP_EHLO;
}

/* A token answered with an error challenge, then refused: expired or
 * revoked (smtp_params.token_refused). */
static void
smtp_note_token_refused(struct smtp_session *s)
{
	if ((s->auth.mech == AUTH_XOAUTH2 ||
	    s->auth.mech == AUTH_OAUTHBEARER) && s->auth.step == 1 &&
	    (s->reply.code == 535 || s->reply.code == 454) &&
	    s->p->token_refused != NULL)
		*s->p->token_refused = 1;
	/* A refused password (535, or 5.7.8): the route's auth pause. */
	if ((s->reply.code == 535 || (s->reply.code / 100 == 5 &&
	    strcmp(s->reply.esc, "5.7.8") == 0)) && s->p->auth_refused != NULL)
		*s->p->auth_refused = 1;
}

static enum smtp_state
smtp_handle_auth(struct smtp_session *s, struct err *e)
{
	char why[ERR_MSG_MAX];
	const char *chal;
	size_t len = 0;

	if (s->reply.code == 235) {
		buf_wipe(&s->authbuf);
		return SMTP_READY;
	}
	if (s->reply.code != 334) {
		buf_wipe(&s->authbuf);
		smtp_note_token_refused(s);
		return smtp_setup_fail(s, SMTP_AUTH, e);
	}
	if ((chal = reply_line(&s->reply, 0, &len)) == NULL)
		chal = "";
	if (auth_next(&s->auth, chal, len, &s->authbuf, e) != RQ_OK) {
		buf_wipe(&s->authbuf);
		strlcpy(why, e->msg, sizeof(why));
		/* The server waits for an AUTH line: do not say QUIT. */
		s->state = SMTP_BROKEN;
		err_set(e, RQ_TEMP, "%s (with %s)", why, conn_peer(s->conn));
		return SMTP_BROKEN;
	}
	return SMTP_AUTH_NEXT;
}

/* Act on the reply to set-up state st: the next state (see above). */
static enum smtp_state
smtp_handle_setup(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	switch (st) {
	case SMTP_GREETING:
		if (s->reply.code != 220)
			return smtp_setup_fail(s, st, e);
		return SMTP_EHLO;
	case SMTP_EHLO:
	case SMTP_HELO:
		return smtp_handle_ehlo(s, st, e);
	case SMTP_STARTTLS:
		return smtp_handle_starttls(s, e);
	case SMTP_AUTH:
	case SMTP_AUTH_NEXT:
		return smtp_handle_auth(s, e);
	default:
		err_set(e, RQ_INTERNAL, "%s is not a set-up state",
		    smtp_names[st]);
		return SMTP_BROKEN;
	}
}

/* --- transaction: handling replies ---------------------------------------- */

static void
smtp_rcpt_set(struct smtp_txn *t, size_t i, enum rq_status st,
    const char *text)
{
	t->res[i].status = st;
	t->res[i].code = 0;
	strlcpy(t->res[i].text, text, sizeof(t->res[i].text));
	t->rstate[i] = TXN_RCPT_FINAL;
}

/* Every recipient in state `which` gets the class of the reply. */
static void
smtp_rcpt_set_all(struct smtp_session *s, enum smtp_state st,
    enum txn_rcpt which)
{
	struct smtp_txn *t = s->txn;
	char why[sizeof(t->res[0].text)];
	enum rq_status cls = smtp_class(s->reply.code);
	size_t i;

	if (cls == RQ_OK)
		reply_summary(&s->reply, why, sizeof(why));
	else
		smtp_reason(s, st, NULL, why, sizeof(why));
	for (i = 0; i < t->m->nrcpt; i++)
		if (t->rstate[i] == which)
			smtp_rcpt_set(t, i, cls, why);
}

static void
smtp_handle_rcpt(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	size_t i = t->order[t->rcpt_done++];
	char arg[ADDR_MAX + 4], why[sizeof(t->res[0].text)];

	if (!t->mail_ok)
		return;		/* MAIL failed: already final */
	if (s->reply.code / 100 == 2) {
		t->rstate[i] = TXN_RCPT_ACCEPTED;
		t->naccepted++;
		return;
	}
	snprintf(arg, sizeof(arg), ":<%s>", t->m->rcpts[i]);
	smtp_reason(s, SMTP_RCPT, arg, why, sizeof(why));
	smtp_rcpt_set(t, i, smtp_class(s->reply.code), why);
	t->res[i].code = s->reply.code;
}

/* React to the reply for transaction state st. */
static enum rq_status
smtp_handle_txn(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	struct smtp_txn *t = s->txn;
	int code = s->reply.code;

	switch (st) {
	case SMTP_MAIL:
		t->mail_done = 1;
		if (!(t->mail_ok = code / 100 == 2))
			smtp_rcpt_set_all(s, st, TXN_RCPT_PENDING);
		break;
	case SMTP_RCPT:
		smtp_handle_rcpt(s);
		break;
	case SMTP_DATA:
		if (code == 354)
			t->data_ok = 1;
		else if (code / 100 == 2 || code / 100 == 3) {
			err_set(e, RQ_TEMP, "protocol error: %d", code);
			return smtp_io_fail(s, st, e);
		} else
			smtp_rcpt_set_all(s, st, TXN_RCPT_ACCEPTED);
		break;
	case SMTP_EOD:
		smtp_rcpt_set_all(s, st, TXN_RCPT_ACCEPTED);
		break;
	default:
		break;
	}
	if (code == 421)	/* the server is closing the session */
		return smtp_reply_fail(s, st, e);
	return RQ_OK;
}

/* Act on s->reply for a state of the ready session (transaction, RSET,
 * QUIT). */
static enum rq_status
smtp_handle(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	switch (st) {
	case SMTP_RSET:
		if (s->reply.code / 100 == 2)
			return RQ_OK;
		smtp_reply_fail(s, st, e);
		s->state = SMTP_BROKEN;
		return RQ_TEMP;
	case SMTP_QUIT:
		return RQ_OK;
	default:
		return smtp_handle_txn(s, st, e);
	}
}

/* Did the reply to state st say yes (for the observer)? */
static int
smtp_reply_ok(enum smtp_state st, int code)
{
	switch (st) {
	case SMTP_GREETING:
	case SMTP_STARTTLS:
		return code == 220;
	case SMTP_EHLO:
	case SMTP_HELO:
		return code == 250;
	case SMTP_AUTH:
	case SMTP_AUTH_NEXT:
		return code == 235;
	case SMTP_DATA:
		return code == 354;
	default:
		return code / 100 == 2;
	}
}

/* Tell the observer about the reply just read (an AUTH challenge is
 * not an outcome: the step goes on). */
static void
smtp_note_reply(struct smtp_session *s, enum smtp_state st)
{
	if ((st == SMTP_AUTH || st == SMTP_AUTH_NEXT) && s->reply.code == 334)
		return;
	if (s->observe == NULL)
		return;
	if (st == SMTP_EHLO && s->reply.code == 250)
		reply_parse_caps(&s->reply, &s->caps);	/* for ev.caps */
	smtp_note(s, st, smtp_reply_ok(st, s->reply.code), NULL);
}

/* One command and its reply, not yet acted on: the unit of the
 * non-pipelined dialogue. */
static enum rq_status
smtp_exchange(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	if (st != SMTP_AUTH_NEXT)
		s->t0 = conn_clock_ms();
	if (smtp_enter(s, st, e) != RQ_OK ||
	    smtp_flush(s, st, e) != RQ_OK ||
	    smtp_read_reply(s, st, e) != RQ_OK) {
		smtp_note(s, st, 0, e->msg);
		return RQ_TEMP;
	}
	smtp_note_reply(s, st);
	return RQ_OK;
}

/* RSET or QUIT in a ready session. */
static enum rq_status
smtp_step(struct smtp_session *s, enum smtp_state st, struct err *e)
{
	if (smtp_exchange(s, st, e) != RQ_OK)
		return RQ_TEMP;
	return smtp_handle(s, st, e);
}

/* --- smtp_open ------------------------------------------------------------ */

static int
smtp_text_ok(const char *a, size_t max)
{
	const unsigned char *p;

	if (a == NULL || strlen(a) > max)
		return 0;
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

static enum rq_status
smtp_check_params(const struct smtp_params *p, struct err *e)
{
	if (p->host == NULL || *p->host == '\0')
		return err_set(e, RQ_TEMP, "no smarthost configured");
	if (p->port == NULL || *p->port == '\0')
		return err_set(e, RQ_TEMP, "no port configured for %s",
		    p->host);
	if (p->helo == NULL || *p->helo == '\0' ||
	    !smtp_text_ok(p->helo, 255) || strchr(p->helo, ' ') != NULL)
		return err_set(e, RQ_TEMP, "bad EHLO name");
	if (p->tls == TLS_MODE_NONE && p->fingerprint != NULL &&
	    *p->fingerprint != '\0')
		return err_set(e, RQ_TEMP, "a certificate fingerprint is "
		    "configured for %s but tls = none", p->host);
	return RQ_OK;
}

static struct smtp_session *
smtp_new(const struct smtp_params *p)
{
	struct smtp_session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->io = malloc(SMTP_CHUNK + SMTP_DATA_OUT(SMTP_CHUNK) +
	    SMTP_DATA_TAIL)) == NULL) {
		free(s);
		return NULL;
	}
	s->state = SMTP_CONNECT;
	s->p = p;
	s->timeout = p->timeout > 0 ? p->timeout : 0;
	s->greeting_timeout = p->greeting_timeout;
	s->observe = p->observe;
	s->observe_arg = p->observe_arg;
	s->verbose = p->verbose;
	s->tls = p->tls;
	s->need_auth = p->user != NULL && *p->user != '\0' &&
	    p->auth != AUTH_NONE;
	reply_init(&s->reply);
	buf_init(&s->cmd, SMTP_CMD_MAX);
	buf_init(&s->authbuf, SMTP_CMD_MAX);
	return s;
}

/*
 * Session set-up failed in state st: could the server not be reached
 * (see smtp_params.unreachable)? A STARTTLS whose handshake failed
 * leaves the session in SMTP_STARTTLS with the 220 as its last reply.
 */
static void
smtp_set_unreachable(struct smtp_session *s, enum smtp_state st)
{
	if (s->p->unreachable == NULL)
		return;
	*s->p->unreachable = st == SMTP_CONNECT || st == SMTP_TLS ||
	    st == SMTP_GREETING || s->reply.code == 421 ||
	    (st == SMTP_STARTTLS && s->reply.code == 220);
}

/* Connect (and for smtps shake hands), then run the set-up states from
 * the greeting until the session is ready. */
static enum rq_status
smtp_setup(struct smtp_session *s, struct err *e)
{
	const struct smtp_params *p = s->p;
	struct conn_watch w = { smtp_conn_event, s };
	enum smtp_state st, next;

	s->t0 = conn_clock_ms();
	if (conn_open(&s->conn, p->host, p->port,
	    smtp_timeout(s, SMTP_CONNECT), s->observe != NULL ? &w : NULL,
	    e) != RQ_OK) {
		s->state = SMTP_BROKEN;
		smtp_set_unreachable(s, SMTP_CONNECT);
		return RQ_TEMP;
	}
	if (s->verbose)
		fprintf(stderr, "--- connected to %s\n", conn_peer(s->conn));
	if (p->tls == TLS_MODE_SMTPS &&
	    smtp_tls_start(s, SMTP_TLS, e) != RQ_OK) {
		smtp_set_unreachable(s, SMTP_TLS);
		return RQ_TEMP;
	}
	for (st = SMTP_GREETING; st != SMTP_READY; st = next) {
		if (smtp_exchange(s, st, e) != RQ_OK ||
		    (next = smtp_handle_setup(s, st, e)) == SMTP_BROKEN) {
			smtp_set_unreachable(s, st);
			return RQ_TEMP;
		}
	}
	s->state = SMTP_READY;
	return RQ_OK;
}

enum rq_status
smtp_open(struct smtp_session **out, const struct smtp_params *p,
    struct err *e)
{
	struct smtp_session *s;
	struct err local;

	if (e == NULL)
		e = &local;
	*out = NULL;
	if (smtp_check_params(p, e) != RQ_OK)
		return RQ_TEMP;
	if ((s = smtp_new(p)) == NULL)
		return err_sys(e, RQ_TEMP, "SMTP session");
	if (smtp_setup(s, e) != RQ_OK) {
		e->status = RQ_TEMP;
		s->p = NULL;
		smtp_close(s);
		return RQ_TEMP;
	}
	s->p = NULL;
	*out = s;
	return RQ_OK;
}

/* --- smtp_send ------------------------------------------------------------ */

static void
smtp_res_fill(struct smtp_rcpt_result *res, size_t n, enum rq_status st,
    const char *text)
{
	size_t i;

	for (i = 0; i < n; i++) {
		res[i].status = st;
		strlcpy(res[i].text, text, sizeof(res[i].text));
	}
}

static void
smtp_txn_free(struct smtp_txn *t)
{
	free(t->rstate);
	free(t->order);
}

static enum rq_status
smtp_txn_init(struct smtp_txn *t, const struct smtp_msg *m,
    struct smtp_rcpt_result *res, struct err *e)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->m = m;
	t->res = res;
	t->rstate = calloc(m->nrcpt, 1);
	t->order = calloc(m->nrcpt, sizeof(*t->order));
	if (t->rstate == NULL || t->order == NULL) {
		smtp_txn_free(t);
		return err_sys(e, RQ_TEMP, "SMTP transaction");
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (smtp_text_ok(m->rcpts[i], ADDR_MAX))
			t->order[t->nvalid++] = i;
		else
			smtp_rcpt_set(t, i, RQ_PERM, "invalid recipient "
			    "address (control characters, '<' or '>', or "
			    "too long)");
	}
	return RQ_OK;
}

/*
 * Whatever makes the message undeliverable on this server, decided before
 * anything is sent: 1 when every recipient got its (RQ_PERM) result.
 */
static int
smtp_txn_refuse(struct smtp_session *s, struct smtp_txn *t)
{
	const struct smtp_msg *m = t->m;
	char why[sizeof(t->res[0].text)];

	if (!smtp_text_ok(m->sender, ADDR_MAX))
		strlcpy(why, "invalid sender address (control characters, "
		    "'<' or '>', or too long)", sizeof(why));
	else if (m->smtputf8 && !s->caps.smtputf8)
		snprintf(why, sizeof(why), "the message needs SMTPUTF8 "
		    "(international addresses), which %s does not offer",
		    conn_peer(s->conn));
	else if (s->caps.size_max > 0 && m->size > s->caps.size_max)
		snprintf(why, sizeof(why), "message size %lld exceeds the "
		    "limit of %lld bytes of %s", (long long)m->size,
		    (long long)s->caps.size_max, conn_peer(s->conn));
	else
		return t->nvalid == 0;
	smtp_res_fill(t->res, m->nrcpt, RQ_PERM, why);
	return 1;
}

static enum smtp_state
smtp_txn_cmd(const struct smtp_txn *t, size_t k)
{
	if (k == 0)
		return SMTP_MAIL;
	return k <= t->nvalid ? SMTP_RCPT : SMTP_DATA;
}

/* May command k be sent now? Not after a failed MAIL; no DATA when no
   recipient was accepted (as far as we know yet). */
static int
smtp_txn_may_send(const struct smtp_txn *t, size_t k)
{
	if (k == 0)
		return 1;
	if (t->mail_done && !t->mail_ok)
		return 0;
	if (smtp_txn_cmd(t, k) == SMTP_DATA && t->rcpt_done == t->nvalid &&
	    t->naccepted == 0)
		return 0;
	return 1;
}

/* MAIL, RCPT..., DATA: up to SMTP_WINDOW in flight with PIPELINING. */
static enum rq_status
smtp_txn_envelope(struct smtp_session *s, struct smtp_txn *t,
    struct err *e)
{
	size_t total = t->nvalid + 2, sent = 0, done = 0;
	size_t window = s->caps.pipelining ? SMTP_WINDOW : 1;
	enum smtp_state st;

	while (done < total) {
		while (sent < total && sent - done < window &&
		    smtp_txn_may_send(t, sent))
			if (smtp_enter(s, smtp_txn_cmd(t, sent++), e) != RQ_OK)
				return RQ_TEMP;
		if (sent == done)
			break;
		s->t0 = conn_clock_ms();
		if (smtp_flush(s, smtp_txn_cmd(t, sent - 1), e) != RQ_OK)
			return RQ_TEMP;
		st = smtp_txn_cmd(t, done++);
		s->state = st;
		if (smtp_read_reply(s, st, e) != RQ_OK) {
			smtp_note(s, st, 0, e->msg);
			return RQ_TEMP;
		}
		smtp_note_reply(s, st);
		if (smtp_handle(s, st, e) != RQ_OK)
			return RQ_TEMP;
	}
	return RQ_OK;
}

/*
 * Message bytes, sent with what is queued before them while that stays
 * within SMTP_CHUNK, and all at once with last (the final dot): a small
 * message leaves in one write, over TLS one record. A larger piece goes
 * out from the caller's buffer after what was queued (conn_write_now()),
 * so the output buffer never holds more than SMTP_CHUNK.
 */
static enum rq_status
smtp_put(struct smtp_session *s, enum smtp_state st, const char *p,
    size_t n, int last, struct err *e)
{
	size_t queued = conn_queued(s->conn);

	conn_set_timeout(s->conn, smtp_timeout(s, st));
	if (queued + n <= SMTP_CHUNK ? conn_write(s->conn, p, n, e) != RQ_OK ||
	    (last && conn_flush(s->conn, e) != RQ_OK) :
	    conn_write_now(s->conn, p, n, e) != RQ_OK)
		return smtp_io_fail(s, st, e);
	return RQ_OK;
}

/* The message, encoded, then the final dot; memory does not grow. */
static enum rq_status
smtp_txn_body(struct smtp_session *s, const struct smtp_msg *m,
    struct err *e)
{
	struct smtp_data_enc d;
	char *in = s->io, *out = s->io + SMTP_CHUNK;
	off_t off = m->offset, left = m->size - (off_t)m->head_len;
	size_t h, n;
	ssize_t r;

	s->state = SMTP_BODY;
	smtp_data_init(&d);
	if (s->verbose)
		fprintf(stderr, ">>> [message: %lld bytes]\n",
		    (long long)m->size);
	for (h = 0; h < m->head_len; h += n) {
		n = m->head_len - h < SMTP_CHUNK ? m->head_len - h : SMTP_CHUNK;
		if (smtp_put(s, SMTP_BODY, out, smtp_data_encode(&d,
		    m->head + h, n, out), 0, e) != RQ_OK)
			return RQ_TEMP;
	}
	while (left > 0) {
		r = pread(m->fd, in, left < SMTP_CHUNK ? (size_t)left :
		    SMTP_CHUNK, off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {	/* cannot end the DATA: drop the session */
			s->state = SMTP_BROKEN;
			return r == 0 ? err_set(e, RQ_TEMP, "message file "
			    "shorter than recorded (%lld bytes missing)",
			    (long long)left) : err_sys(e, RQ_TEMP, "cannot "
			    "read the message file");
		}
		if (smtp_put(s, SMTP_BODY, out, smtp_data_encode(&d, in,
		    (size_t)r, out), 0, e) != RQ_OK)
			return RQ_TEMP;
		off += r;
		left -= r;
	}
	smtp_show(s, ">>> ", ".", 1);
	return smtp_put(s, SMTP_BODY, out, smtp_data_finish(&d, out), 1, e);
}

/* After the envelope: the body and the final dot, or RSET. */
static enum rq_status
smtp_txn_finish(struct smtp_session *s, struct smtp_txn *t, struct err *e)
{
	if (t->data_ok && t->naccepted > 0) {
		s->t0 = conn_clock_ms();
		if (smtp_txn_body(s, t->m, e) != RQ_OK ||
		    smtp_read_reply(s, SMTP_EOD, e) != RQ_OK) {
			smtp_note(s, SMTP_EOD, 0, e->msg);
			return RQ_TEMP;
		}
		smtp_note_reply(s, SMTP_EOD);
		if (smtp_handle(s, SMTP_EOD, e) != RQ_OK)
			return RQ_TEMP;
		s->state = SMTP_READY;
		return RQ_OK;
	}
	if (t->data_ok) {
		/* 354 with nobody accepted (pipelining): send an empty
		   message, whose reply does not matter, then RSET. */
		smtp_show(s, ">>> ", ".", 1);
		if (smtp_put(s, SMTP_EOD, ".\r\n", 3, 1, e) != RQ_OK ||
		    smtp_read_reply(s, SMTP_EOD, e) != RQ_OK)
			return RQ_TEMP;
	}
	if (smtp_step(s, SMTP_RSET, e) != RQ_OK)
		return RQ_TEMP;
	s->state = SMTP_READY;
	return RQ_OK;
}

/* The session broke: every recipient not yet final is deferred. */
static enum rq_status
smtp_txn_abort(struct smtp_session *s, struct smtp_txn *t, struct err *e)
{
	size_t i;

	for (i = 0; i < t->m->nrcpt; i++)
		if (t->rstate[i] != TXN_RCPT_FINAL)
			smtp_rcpt_set(t, i, RQ_TEMP, e->msg);
	s->state = SMTP_BROKEN;
	e->status = RQ_TEMP;
	return RQ_TEMP;
}

enum rq_status
smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_rcpt_result *res, struct err *e)
{
	struct smtp_txn t;
	struct err local;
	enum rq_status st = RQ_OK;

	if (e == NULL)
		e = &local;
	if (s->state != SMTP_READY) {
		err_set(e, RQ_TEMP, "session with %s is not usable",
		    s->conn != NULL ? conn_peer(s->conn) : "smarthost");
		smtp_res_fill(res, m->nrcpt, RQ_TEMP, e->msg);
		return RQ_TEMP;
	}
	if (m->nrcpt == 0)
		return RQ_OK;		/* nothing to do */
	if (m->size < 0 || m->offset < 0 || smtp_txn_init(&t, m, res,
	    e) != RQ_OK) {
		smtp_res_fill(res, m->nrcpt, RQ_TEMP, "cannot start the "
		    "transaction");
		return RQ_OK;
	}
	s->txn = &t;
	if (!smtp_txn_refuse(s, &t) &&
	    (smtp_txn_envelope(s, &t, e) != RQ_OK ||
	    smtp_txn_finish(s, &t, e) != RQ_OK))
		st = smtp_txn_abort(s, &t, e);
	s->txn = NULL;
	smtp_txn_free(&t);
	return st;
}

/* --- the rest ------------------------------------------------------------- */

const char *
smtp_peer(const struct smtp_session *s)
{
	return s != NULL && s->conn != NULL ? conn_peer(s->conn) : "";
}

const char *
smtp_tls_info(const struct smtp_session *s)
{
	return s != NULL && s->conn != NULL ? conn_tls_info(s->conn) : "";
}

enum rq_status
smtp_reset(struct smtp_session *s, struct err *e)
{
	if (s->state != SMTP_READY)
		return err_set(e, RQ_TEMP, "session with %s is not usable",
		    s->conn != NULL ? conn_peer(s->conn) : "smarthost");
	if (smtp_step(s, SMTP_RSET, e) != RQ_OK) {
		s->state = SMTP_BROKEN;
		return RQ_TEMP;
	}
	s->state = SMTP_READY;
	return RQ_OK;
}

void
smtp_close(struct smtp_session *s)
{
	struct err e;

	if (s == NULL)
		return;
	if (s->conn != NULL && s->state != SMTP_BROKEN &&
	    s->state != SMTP_CONNECT)
		(void)smtp_step(s, SMTP_QUIT, &e);
	conn_close(s->conn);
	reply_free(&s->reply);
	buf_wipe(&s->cmd);
	buf_wipe(&s->authbuf);
	free(s->io);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* --- the DATA encoder ----------------------------------------------------- */

void
smtp_data_init(struct smtp_data_enc *d)
{
	d->bol = 1;
	d->cr = 0;
}

size_t
smtp_data_encode(struct smtp_data_enc *d, const char *in, size_t n,
    char *out)
{
	size_t i, k = 0;
	char c;

	for (i = 0; i < n; i++) {
		c = in[i];
		if (c == '\0')
			continue;		/* never on the wire */
		if (c == '\n' && d->cr) {	/* the LF of a CRLF */
			d->cr = 0;
			continue;
		}
		if (c == '\r' || c == '\n') {
			out[k++] = '\r';
			out[k++] = '\n';
			d->bol = 1;
			d->cr = c == '\r';
			continue;
		}
		if (d->bol && c == '.')
			out[k++] = '.';
		out[k++] = c;
		d->bol = 0;
		d->cr = 0;
	}
	return k;
}

size_t
smtp_data_finish(struct smtp_data_enc *d, char *out)
{
	size_t k = 0;

	if (!d->bol) {
		out[k++] = '\r';
		out[k++] = '\n';
	}
	memcpy(out + k, ".\r\n", 3);
	smtp_data_init(d);
	return k + 3;
}
