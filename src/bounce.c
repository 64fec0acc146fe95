/*
 * bounce.c - build and queue a DSN. The report carries the original
 * header only (text/rfc822-headers), so a bounce stays small whatever the
 * size of the message, whatever RET= asked for (RET=FULL is not
 * honoured). NOTIFY= is: a recipient whose NOTIFY was given without
 * FAILURE (NEVER, or only SUCCESS/DELAY) is left out, and no DSN is sent
 * when that leaves nobody. Failure to queue a bounce is RQ_TEMP: the
 * caller keeps the original message and tries again later. Every field
 * it writes is folded (header_fold), every text line within 998 octets.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "bounce.h"
#include "buf.h"
#include "header.h"

#define ORIG_HEADER_MAX	(64 * 1024)

void
bounce_status_code(const char *reply, const char *dflt, char out[16])
{
	const char *p = reply;
	size_t n;

	strlcpy(out, dflt, 16);
	while (isdigit((unsigned char)*p))
		p++;
	if (p - reply != 3 || (*p != ' ' && *p != '-'))
		return;
	p++;
	n = strspn(p, "0123456789.");
	if (n >= 5 && n < 16 && (p[0] == '4' || p[0] == '5') && p[1] == '.' &&
	    (p[n] == ' ' || p[n] == '\0')) {
		memcpy(out, p, n);
		out[n] = '\0';
		out[0] = '5';	/* a final failure is reported as 5.x.x */
	}
}

/*
 * Append the original header section (bounded), LF line ends. Only what
 * is appended is searched for its end: b already holds the DSN's own
 * header and parts, which have blank lines of their own.
 */
static void
orig_headers(int fd, const struct env *env, struct buf *b)
{
	char chunk[4096], *end;
	off_t off = env->msg_off, stop = env->msg_off + env->msg_len;
	size_t start = b->len;
	ssize_t n;

	while (off < stop && b->len - start < ORIG_HEADER_MAX) {
		size_t want = sizeof(chunk);

		if ((off_t)want > stop - off)
			want = (size_t)(stop - off);
		if ((n = pread(fd, chunk, want, off)) <= 0)
			break;
		if (buf_append(b, chunk, (size_t)n) == -1)
			break;
		off += n;
		if ((end = strstr(buf_cstr(b) + start, "\n\n")) != NULL) {
			b->len = (size_t)(end - b->data) + 1;
			b->data[b->len] = '\0';
			return;
		}
	}
	if (b->len > start && b->data[b->len - 1] != '\n')
		buf_putc(b, '\n');
}

/* Recipient i goes into the DSN: it failed and NOTIFY allows it. */
static int
reported(const struct env *env, size_t i)
{
	return env->rcpts[i].state == RCPT_FAILED &&
	    dsn_wants_failure(&env->dsn);
}

static void
dsn_text(struct buf *b, const struct cfg *c, const struct env *env)
{
	size_t i;

	buf_printf(b, "This is the mail system at host %s.\n\n"
	    "I'm sorry to have to inform you that your message could not\n"
	    "be delivered to one or more recipients. The smarthost's\n"
	    "answer, or the reason, is below.\n\n", cfg_hostname(c));
	for (i = 0; i < env->nrcpt; i++) {
		const char *r = env->rcpts[i].reason;

		if (!reported(env, i))
			continue;
		if (r == NULL)
			r = "delivery failed";
		/* A text line stays within 998 octets: the reason (at most
		 * SPOOL_REASON_MAX) goes on its own line when it must. */
		buf_printf(b, "<%s>:%s%s\n", env->rcpts[i].addr,
		    strlen(env->rcpts[i].addr) + strlen(r) + 3 >
		    HEADER_LINE_MAX ? "\n    " : " ", r);
	}
}

static void
dsn_status(struct buf *b, const struct cfg *c, const struct env *env)
{
	char date[64], code[16];
	const char *r;
	size_t i, start = b->len;

	header_date(date, sizeof(date), env->arrival);
	if (env->dsn.envid[0] != '\0')
		buf_printf(b, "Original-Envelope-Id: %s\n", env->dsn.envid);
	buf_printf(b, "Reporting-MTA: dns; %s\nX-Relayq-Queue-ID: %s\n"
	    "Arrival-Date: %s\n", cfg_hostname(c), env->id, date);
	for (i = 0; i < env->nrcpt; i++) {
		if (!reported(env, i))
			continue;
		r = env->rcpts[i].reason ? env->rcpts[i].reason : "";
		bounce_status_code(r, "5.0.0", code);
		buf_printf(b, "\nFinal-Recipient: rfc822; %s\nAction: failed\n"
		    "Status: %s\n", env->rcpts[i].addr, code);
		if (isdigit((unsigned char)r[0]))
			buf_printf(b, "Diagnostic-Code: smtp; %s\n", r);
		else if (*r != '\0')
			buf_printf(b, "Diagnostic-Code: X-relayq; %s\n", r);
	}
	header_fold_since(b, start);	/* header syntax (RFC 3464 2) */
}

static void
dsn_build(struct buf *b, const struct cfg *c, const struct env *env, int msgfd,
    const char *id)
{
	char boundary[71];	/* RFC 2046 5.1.1: at most 70 characters */
	time_t now = time(NULL);
	size_t start = b->len;

	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", id,
	    (long long)now, cfg_hostname(c));
	header_add_date(b, now);
	buf_printf(b, "From: MAILER-DAEMON@%s (Mail Delivery System)\n"
	    "To: <%s>\nSubject: Undelivered Mail Returned to Sender\n",
	    cfg_hostname(c), env->sender);
	header_add_message_id(b, id, cfg_hostname(c), now);
	buf_printf(b, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n", boundary);
	header_fold_since(b, start);
	buf_printf(b, "\nThis is a MIME-encapsulated message.\n\n"
	    "--%s\nContent-Description: Notification\n"
	    "Content-Type: text/plain; charset=utf-8\n\n", boundary);
	dsn_text(b, c, env);
	buf_printf(b, "\n--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n", boundary);
	dsn_status(b, c, env);
	buf_printf(b, "\n--%s\nContent-Description: Undelivered Message "
	    "Headers\nContent-Type: text/rfc822-headers\n\n", boundary);
	orig_headers(msgfd, env, b);
	buf_printf(b, "\n--%s--\n", boundary);
}

enum rq_status
bounce_queue(const struct cfg *c, const struct spool *sp, const struct env *env,
    int msgfd, char id[SPOOL_ID_LEN + 1], struct err *e)
{
	struct spool_writer *w;
	const char *rcpt[1] = { env->sender };
	enum rq_status st;
	struct buf b;
	size_t i, n = 0;

	id[0] = '\0';
	for (i = 0; i < env->nrcpt; i++)
		n += reported(env, i) ? 1 : 0;
	if (n == 0 || env->sender[0] == '\0' || (env->flags & MSG_F_BOUNCE))
		return RQ_OK;	/* NOTIFY=NEVER, or never bounce a bounce */
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	st = spool_writer_open(w, sp->fd[SP_MAILDROP], NULL, "", time(NULL),
	    geteuid(), 0, e);
	if (st != RQ_OK) {
		free(w);
		return st;
	}
	buf_init(&b, 4 * ORIG_HEADER_MAX + (size_t)env->nrcpt * 2048);
	dsn_build(&b, c, env, msgfd, w->id);
	spool_writer_put(w, buf_cstr(&b), b.len);
	buf_free(&b);
	st = spool_writer_commit(w, rcpt, 1, MSG_F_BOUNCE |
	    (addr_is_utf8(env->sender) ? MSG_F_SMTPUTF8 : 0), SPOOL_MODE_COMPLETE,
	    e);
	if (st == RQ_OK)
		strlcpy(id, w->id, SPOOL_ID_LEN + 1);
	free(w);
	return st;
}
