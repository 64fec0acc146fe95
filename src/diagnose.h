/*
 * diagnose.h - `relayq test`: watch the one SMTP client (smtp.c, through
 * its observer) resolve, connect, greet, start TLS and authenticate, and
 * with a recipient send one real message; report one line per step with
 * its time, the server's certificate (subject, names, issuer, expiry,
 * verification), warnings, and for a failure the plain-words advice of
 * advice.c. Text as it happens, or one JSON object at the end.
 *
 * Nothing is queued: the test message goes over the test's own session.
 * Error policy: the status and e are the SMTP client's (RQ_TEMP for a
 * session that could not be set up, the class of the refusal for the
 * message); the report is printed whatever the outcome.
 */
#ifndef RELAYQ_DIAGNOSE_H
#define RELAYQ_DIAGNOSE_H

#include <stdio.h>
#include <time.h>
#include "err.h"
#include "smtp.h"

#define DIAG_GREETING_TIMEOUT	10	/* s: a TLS port never greets */
#define DIAG_EXPIRY_WARN	(14 * 86400)	/* s before the end */

struct diag_opts {
	const char *route;	/* the route's name, for the report */
	const char *send_to;	/* NULL: stop after AUTH */
	const char *sender;	/* the envelope sender of the message */
	const char *sender_name;	/* NULL, or a display name for From:
				   (printable, no '"' or '\\') */
	int json;		/* one JSON object instead of text */
	time_t now;		/* to judge the certificate's expiry */
};

/*
 * Run the test with p (its observer and greeting limit are set here) and
 * print the report to out. RQ_OK only when everything up to AUTH, and the
 * message when asked, worked.
 */
enum rq_status diag_test(struct smtp_params *p, const struct diag_opts *o,
    FILE *out, struct err *e);

#endif
