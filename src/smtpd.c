/*
 * smtpd.c - the `sendmail -bs` SMTP server (API and policy in smtpd.h).
 *
 * A state machine like the client's: an enum of states with a name table;
 * smtpd_command() dispatches one command line through a verb table whose
 * entries name the states they are allowed in, and the DATA state feeds
 * content lines to the submit module. Input comes through linereader.h's
 * reader (64 KiB blocks): a command line is at most SMTPD_LINE_MAX octets
 * (longer ones are refused and skipped), a DATA line may be any length
 * and is passed on in pieces, so memory does not grow with the input.
 * Replies are buffered and written before every read that would block
 * (PIPELINING). Nothing here writes to stderr: failures are replies, and
 * log lines go to syslog.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "buf.h"
#include "linereader.h"
#include "log.h"
#include "smtpd.h"

enum smtpd_state {
	SMTPD_INIT,		/* before HELO/EHLO */
	SMTPD_READY,		/* no transaction */
	SMTPD_MAIL,		/* MAIL accepted, no recipient yet */
	SMTPD_RCPT,		/* at least one recipient */
	SMTPD_DATA,		/* reading the content */
	SMTPD_QUIT,
	SMTPD_NSTATES
};

static const char *const smtpd_names[SMTPD_NSTATES] = {
	[SMTPD_INIT] = "init",
	[SMTPD_READY] = "ready",
	[SMTPD_MAIL] = "MAIL FROM",
	[SMTPD_RCPT] = "RCPT TO",
	[SMTPD_DATA] = "DATA",
	[SMTPD_QUIT] = "QUIT",
};

struct smtpd {
	const struct smtpd_params *p;
	enum smtpd_state state;
	int outfd;
	int werr;
	struct linereader in;
	size_t olen;
	char out[4096];
	/* the transaction */
	char *sender;
	char **rcpts;
	size_t nrcpt;
	struct submit_opts so;
	struct submit *msg;	/* DATA in progress, or NULL */
	off_t size;		/* DATA octets so far */
	int too_big;
};

const char *
smtpd_state_name(int state)
{
	if (state < 0 || state >= SMTPD_NSTATES)
		return "unknown";
	return smtpd_names[state];
}

/* ---- output ------------------------------------------------------------ */

static void
out_flush(struct smtpd *d)
{
	size_t done = 0;
	ssize_t n;

	while (done < d->olen && !d->werr) {
		n = write(d->outfd, d->out + done, d->olen - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			d->werr = 1;	/* the client is gone */
		else
			done += (size_t)n;
	}
	d->olen = 0;
}

static void say(struct smtpd *d, const char *fmt, ...) RQ_PRINTF(2, 3);

/* One reply line; CRLF is added. */
static void
say(struct smtpd *d, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	memcpy(line + n, "\r\n", 2);
	if (d->olen + (size_t)n + 2 > sizeof(d->out))
		out_flush(d);
	memcpy(d->out + d->olen, line, (size_t)n + 2);
	d->olen += (size_t)n + 2;
}

/* ---- input ------------------------------------------------------------- */

/* The reader's hook: replies go out before it waits for more input. */
static void
flush_before_read(void *arg)
{
	out_flush(arg);
}

/* ---- the transaction --------------------------------------------------- */

static void
txn_reset(struct smtpd *d)
{
	size_t i;

	submit_cancel(d->msg);
	d->msg = NULL;
	for (i = 0; i < d->nrcpt; i++)
		free(d->rcpts[i]);
	free(d->rcpts);
	free(d->sender);
	d->rcpts = NULL;
	d->nrcpt = 0;
	d->sender = NULL;
	d->size = 0;
	d->too_big = 0;
	if (d->state != SMTPD_INIT && d->state != SMTPD_QUIT)
		d->state = SMTPD_READY;
}

/*
 * "FROM:<path> params" after the verb: *path (allocated, qualified,
 * checked; "" for <>) and *params. 0, or -1 after a reply.
 */
static int
parse_path(struct smtpd *d, const char *arg, const char *kw, char **path,
    const char **params)
{
	size_t kwlen = strlen(kw), n;
	const char *a, *end;
	char *raw;
	struct err e;

	if (strncasecmp(arg, kw, kwlen) != 0) {
		say(d, "501 5.5.4 Syntax: %s<address>", kw);
		return -1;
	}
	for (a = arg + kwlen; *a == ' '; a++)
		;
	if (*a == '<') {
		if ((end = strchr(++a, '>')) == NULL) {
			say(d, "501 5.1.7 Missing '>' in the address");
			return -1;
		}
		/* A source route "@a,@b:" is ignored (RFC 5321 C). */
		if (*a == '@' && memchr(a, ':', (size_t)(end - a)) != NULL)
			a = (const char *)memchr(a, ':', (size_t)(end - a)) + 1;
		n = (size_t)(end - a);
		end++;
	} else {
		n = strcspn(a, " ");
		end = a + n;
	}
	if (*end != '\0' && *end != ' ') {
		say(d, "501 5.1.7 Bad address syntax");
		return -1;
	}
	for (*params = end; **params == ' '; (*params)++)
		;
	if ((raw = strndup(a, n)) == NULL) {
		say(d, "451 4.3.0 Out of memory");
		return -1;
	}
	if (n > 0 && addr_check(raw, "address", &e) != RQ_OK) {
		free(raw);
		say(d, "501 5.1.3 Bad address syntax");
		return -1;
	}
	*path = n == 0 ? raw : addr_qualify(raw, d->p->tmpl->domain);
	if (n > 0)
		free(raw);
	if (*path == NULL) {
		say(d, "451 4.3.0 Out of memory");
		return -1;
	}
	/* Qualified, it may have grown past what the spool takes. */
	if (n > 0 && addr_check(*path, "address", &e) != RQ_OK) {
		free(*path);
		say(d, "501 5.1.3 Address too long once qualified");
		return -1;
	}
	return 0;
}

/* MAIL parameters: SIZE=, BODY=, SMTPUTF8. 0, or -1 after a reply. */
static int
mail_params(struct smtpd *d, const char *s)
{
	char word[128];
	size_t n;
	const char *errstr = NULL;
	long long size;

	for (; *s != '\0'; s += n) {
		while (*s == ' ')
			s++;
		if ((n = strcspn(s, " ")) == 0)
			break;
		if (n >= sizeof(word)) {
			say(d, "501 5.5.4 Parameter too long");
			return -1;
		}
		memcpy(word, s, n);
		word[n] = '\0';
		if (strncasecmp(word, "SIZE=", 5) == 0) {
			size = strtonum(word + 5, 0, LLONG_MAX, &errstr);
			if (errstr != NULL) {
				say(d, "501 5.5.4 Bad SIZE parameter");
				return -1;
			}
			if (d->p->tmpl->max_size > 0 &&
			    size > (long long)d->p->tmpl->max_size) {
				say(d, "552 5.3.4 Message size exceeds the "
				    "fixed limit");
				return -1;
			}
		} else if (strcasecmp(word, "BODY=7BIT") == 0 ||
		    strcasecmp(word, "BODY=8BITMIME") == 0 ||
		    strcasecmp(word, "SMTPUTF8") == 0)
			continue;
		else if (strncasecmp(word, "BODY=", 5) == 0) {
			say(d, "501 5.5.4 Unsupported BODY type");
			return -1;
		} else {
			say(d, "555 5.5.4 Unsupported parameter");
			return -1;
		}
	}
	return 0;
}

/* ---- commands ---------------------------------------------------------- */

static void
v_hello(struct smtpd *d, const char *arg, int ehlo)
{
	if (*arg == '\0') {
		say(d, "501 5.5.4 Syntax: %s hostname", ehlo ? "EHLO" :
		    "HELO");
		return;
	}
	d->state = SMTPD_READY;
	txn_reset(d);
	if (!ehlo) {
		say(d, "250 %s", d->p->hostname);
		return;
	}
	say(d, "250-%s", d->p->hostname);
	say(d, "250-PIPELINING");
	say(d, "250-SIZE %lld", (long long)d->p->tmpl->max_size);
	say(d, "250-8BITMIME");
	say(d, "250-SMTPUTF8");
	say(d, "250 ENHANCEDSTATUSCODES");
}

/* The sender policy said no to path: 1 after the 550 reply. */
static int
sender_refused(struct smtpd *d, const char *path)
{
	struct err e;

	if (d->p->sender_ok == NULL || d->p->sender_ok(d->p->sender_arg,
	    d->p->dirfd, d->p->tmpl, path, &e) == RQ_OK)
		return 0;
	if (e.status == RQ_NOPERM)
		say(d, "550 5.7.1 %s", e.msg);
	else
		say(d, "451 4.3.0 %s", e.msg);
	return 1;
}

static void
v_mail(struct smtpd *d, const char *arg)
{
	const char *params;
	char *path;

	if (d->state == SMTPD_MAIL || d->state == SMTPD_RCPT) {
		say(d, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (parse_path(d, arg, "FROM:", &path, &params) == -1)
		return;
	if (mail_params(d, params) == -1 || sender_refused(d, path)) {
		free(path);
		return;
	}
	txn_reset(d);
	d->sender = path;
	d->state = SMTPD_MAIL;
	say(d, "250 2.1.0 Ok");
}

static void
v_rcpt(struct smtpd *d, const char *arg)
{
	size_t max = d->p->max_rcpt ? d->p->max_rcpt : SMTPD_RCPT_MAX;
	const char *params;
	char *path, **v;

	if (d->state != SMTPD_MAIL && d->state != SMTPD_RCPT) {
		say(d, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (parse_path(d, arg, "TO:", &path, &params) == -1)
		return;
	if (*path == '\0' || *params != '\0') {
		say(d, *path == '\0' ? "501 5.1.3 Empty recipient address" :
		    "555 5.5.4 Unsupported parameter");
		free(path);
		return;
	}
	/* Never more than a queue file takes (spool.h): refused here,
	 * the recipients so far stay (RFC 5321 4.5.3.1.10). */
	if (max > SPOOL_RCPT_MAX)
		max = SPOOL_RCPT_MAX;
	if (d->nrcpt >= max) {
		say(d, "452 4.5.3 Error: too many recipients (limit %zu)",
		    max);
		free(path);
		return;
	}
	if ((v = array_grow(d->rcpts, d->nrcpt, sizeof(*v))) == NULL) {
		say(d, "451 4.3.0 Out of memory");
		free(path);
		return;
	}
	d->rcpts = v;
	d->rcpts[d->nrcpt++] = path;
	d->state = SMTPD_RCPT;
	say(d, "250 2.1.5 Ok");
}

static void
v_data(struct smtpd *d, const char *arg)
{
	struct err e;

	if (d->state != SMTPD_RCPT) {
		say(d, d->state == SMTPD_MAIL ? "503 5.5.1 Error: need RCPT "
		    "command" : "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (*arg != '\0') {
		say(d, "501 5.5.4 Syntax: DATA");
		return;
	}
	d->so = *d->p->tmpl;
	d->so.sender = d->sender;
	if (*d->sender != '\0')
		d->so.from_addr = d->sender;
	d->so.rcpts = (const char *const *)d->rcpts;
	d->so.nrcpt = d->nrcpt;
	d->so.extract = 0;
	d->so.ignore_dots = 1;		/* the "." is ours to find */
	d->so.drop_privileges = 0;	/* dropped before the session */
	if (submit_begin(d->p->dirfd, &d->so, &d->msg, &e) != RQ_OK) {
		log_warnx("smtp session: %s", e.msg);
		say(d, "451 4.3.0 Error: queue file write error");
		return;
	}
	d->state = SMTPD_DATA;
	say(d, "354 End data with <CR><LF>.<CR><LF>");
}

/* The "." came: commit, and say so only once it is durable. */
static void
data_end(struct smtpd *d)
{
	char id[SPOOL_ID_LEN + 1];
	struct submit *m = d->msg;
	enum rq_status st;
	struct err e;

	d->msg = NULL;
	if (d->too_big) {
		say(d, "552 5.3.4 Message size exceeds the fixed limit");
		txn_reset(d);
		return;
	}
	st = submit_end(m, id, &e);
	if (st == RQ_OK) {
		log_info("%s: uid=%lu from=<%s> (queued, smtp)", id,
		    (unsigned long)d->p->tmpl->uid, d->sender);
		if (d->p->queued != NULL)
			d->p->queued(d->p->arg, id);
		say(d, "250 2.0.0 Ok: queued as %s", id);
	} else if (st == RQ_DATAERR) {
		log_warnx("smtp session: %s", e.msg);
		say(d, strstr(e.msg, "too large") != NULL ? "552 5.3.4 "
		    "Message size exceeds the fixed limit" : "554 5.6.0 "
		    "Message refused: malformed content");
	} else {
		log_warnx("smtp session: %s", e.msg);
		say(d, "451 4.3.0 Error: queue file write error");
	}
	txn_reset(d);
}

/* One content line or piece; returns when the lone "." ends DATA. */
static void
data_line(struct smtpd *d, const char *p, size_t len, int nl, int cont)
{
	off_t max = d->p->tmpl->max_size;

	if (!cont && nl && len == 1 && p[0] == '.') {
		data_end(d);
		return;
	}
	if (!cont && len > 0 && p[0] == '.') {
		p++;		/* dot-stuffing (RFC 5321 4.5.2) */
		len--;
	}
	d->size += (off_t)len + (nl ? 1 : 0);
	if (max > 0 && d->size > max && !d->too_big) {
		d->too_big = 1;		/* stop storing; read to the "." */
		submit_cancel(d->msg);
		d->msg = NULL;
	}
	if (!d->too_big)
		(void)submit_feed(d->msg, p, len, nl);
}

struct verb {
	const char *name;
	int arg;		/* takes an argument */
	void (*fn)(struct smtpd *, const char *);
};

static void v_helo(struct smtpd *d, const char *a) { v_hello(d, a, 0); }
static void v_ehlo(struct smtpd *d, const char *a) { v_hello(d, a, 1); }

static void
v_rset(struct smtpd *d, const char *a)
{
	(void)a;
	txn_reset(d);
	say(d, "250 2.0.0 Ok");
}

static void
v_noop(struct smtpd *d, const char *a)
{
	(void)a;
	say(d, "250 2.0.0 Ok");
}

static void
v_vrfy(struct smtpd *d, const char *a)
{
	if (*a == '\0')
		say(d, "501 5.5.4 Syntax: VRFY address");
	else
		say(d, "252 2.0.0 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
}

static void
v_help(struct smtpd *d, const char *a)
{
	(void)a;
	say(d, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP "
	    "VRFY HELP QUIT");
}

static void
v_quit(struct smtpd *d, const char *a)
{
	(void)a;
	say(d, "221 2.0.0 Bye");
	txn_reset(d);
	d->state = SMTPD_QUIT;
}

static const struct verb verbs[] = {
	{ "HELO", 1, v_helo }, { "EHLO", 1, v_ehlo },
	{ "MAIL", 1, v_mail }, { "RCPT", 1, v_rcpt },
	{ "DATA", 1, v_data }, { "RSET", 0, v_rset },
	{ "NOOP", 1, v_noop }, { "VRFY", 1, v_vrfy },
	{ "HELP", 1, v_help }, { "QUIT", 0, v_quit },
};

/* Known verbs relayq does not implement: 502, not 500. */
static const char *const unimplemented[] = {
	"EXPN", "TURN", "ETRN", "STARTTLS", "AUTH", "BDAT", "ATRN", "SEND",
	"SOML", "SAML",
};

static void
smtpd_command(struct smtpd *d, char *line)
{
	size_t n = strcspn(line, " "), i;
	const char *arg = line + n;

	while (*arg == ' ')
		arg++;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (n != 4 || strncasecmp(line, verbs[i].name, 4) != 0)
			continue;
		if (!verbs[i].arg && *arg != '\0')
			say(d, "501 5.5.4 Syntax: %s", verbs[i].name);
		else
			verbs[i].fn(d, arg);
		return;
	}
	for (i = 0; i < sizeof(unimplemented) / sizeof(unimplemented[0]); i++)
		if (strlen(unimplemented[i]) == n &&
		    strncasecmp(line, unimplemented[i], n) == 0) {
			say(d, "502 5.5.1 Error: command not implemented");
			return;
		}
	say(d, "500 5.5.2 Error: command not recognized");
}

/* A command line: bounded, no NUL, trailing spaces ignored. */
static void
command_line(struct smtpd *d, const char *p, size_t len, int *skip, int nl)
{
	char line[SMTPD_LINE_MAX + 1];

	if (*skip || !nl || len > SMTPD_LINE_MAX - 2) {
		*skip = !nl;	/* the rest of an overlong line */
		if (nl)
			say(d, "500 5.5.2 Error: line too long");
		return;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (memchr(p, '\0', len) != NULL) {
		say(d, "500 5.5.2 Error: NUL in command");
		return;
	}
	memcpy(line, p, len);
	line[len] = '\0';
	smtpd_command(d, line);
}

enum rq_status
smtpd_session(int infd, int outfd, const struct smtpd_params *p,
    struct err *e)
{
	struct smtpd *d;
	const char *s;
	size_t len;
	int nl, cont = 0, skip = 0;
	enum rq_status st = RQ_OK;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	d->p = p;
	lr_init(&d->in, infd, flush_before_read, d);
	d->outfd = outfd;
	d->state = SMTPD_INIT;
	say(d, "220 %s ESMTP relayq", p->hostname);
	while (d->state != SMTPD_QUIT && !d->werr &&
	    lr_next(&d->in, &s, &len, &nl) == 1) {
		if (d->state == SMTPD_DATA)
			data_line(d, s, len, nl, cont);
		else
			command_line(d, s, len, &skip, nl);
		cont = !nl;
	}
	out_flush(d);
	if (d->state == SMTPD_DATA)
		log_warnx("smtp session: input ended inside DATA: message "
		    "discarded");
	if (d->werr)
		st = err_set(e, RQ_TEMP, "smtp session: cannot write replies");
	txn_reset(d);
	free(d);
	return st;
}
