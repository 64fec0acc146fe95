/*
 * smtpd.h - `sendmail -bs`: an SMTP server on a pair of descriptors.
 *
 * smtpd_session() speaks SMTP (RFC 5321: HELO/EHLO, MAIL, RCPT, DATA,
 * RSET, NOOP, VRFY, HELP, QUIT; PIPELINING, 8BITMIME, SMTPUTF8, SIZE,
 * ENHANCEDSTATUSCODES) until QUIT or end of input. Each message goes
 * through the submit module with the envelope of MAIL and RCPT and is on
 * stable storage before its 250 reply names the queue id. The client's
 * mistakes are answered with 5xx replies and never end the session; a
 * queue write failure is a 451 for that message. A message whose DATA
 * did not end with "." is removed, never queued.
 *
 * Error policy: the session itself returns RQ_OK after QUIT or end of
 * input, and RQ_TEMP only when the replies cannot be written (the client
 * went away); it never writes to stderr.
 */
#ifndef RELAYQ_SMTPD_H
#define RELAYQ_SMTPD_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"
#include "spool.h"
#include "submit.h"

#define SMTPD_LINE_MAX	1000	/* a command line, CRLF included */
#define SMTPD_RCPT_MAX	1000	/* recipients per message (default) */

struct smtpd_params {
	const char *hostname;		/* greeting and EHLO reply */
	int dirfd;			/* the maildrop directory */
	/*
	 * Template for each message: uid, hostname, domain, fullname,
	 * from_addr (used when MAIL FROM is <>), max_size. The session
	 * sets sender, rcpts and ignore_dots itself.
	 */
	const struct submit_opts *tmpl;
	/* 0: SMTPD_RCPT_MAX; never more than SPOOL_RCPT_MAX (the RCPT
	 * past it is answered 452) */
	size_t max_rcpt;
	/* Called with the id of each committed message, or NULL. */
	void (*queued)(void *arg, const char *id);
	void *arg;
	/*
	 * NULL, or the sender policy for MAIL FROM (the path as given, ""
	 * for <>): anything but RQ_OK is answered 550 5.7.1 with e's text.
	 * It may queue through dirfd with tmpl (an alert).
	 */
	enum rq_status (*sender_ok)(void *arg, int dirfd,
	    const struct submit_opts *tmpl, const char *sender, struct err *e);
	void *sender_arg;
};

enum rq_status smtpd_session(int infd, int outfd,
    const struct smtpd_params *p, struct err *e);

/* The name of a session state (for logs and tests). */
const char *smtpd_state_name(int state);

#endif
