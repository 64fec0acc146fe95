/*
 * advice.h - the usual smarthost mistakes, named in plain words with
 * their fix: a pure, table-driven mapping from what `relayq test` saw (a
 * struct advice_facts) to one paragraph of advice.
 *
 * No I/O, no clock, no OpenSSL: the facts are filled by diagnose.c from
 * the SMTP client's observer events, and the unit test fills them by
 * hand. The first row of the table whose predicate holds gives the
 * advice; rows go from the most specific symptom to the most general.
 */
#ifndef RELAYQ_ADVICE_H
#define RELAYQ_ADVICE_H

#include <stddef.h>
#include "cfg.h"
#include "smtp.h"
#include "tls.h"

#define ADVICE_MAX	1024	/* one paragraph, NUL included */

struct advice_facts {
	const char *host;
	const char *port;
	enum tls_mode tls;
	const char *user;	/* NULL: no AUTH configured */
	const char *sender;	/* the envelope sender tried, or NULL */
	enum smtp_step failed;	/* the step that failed, SMTP_STEP_N: none */
	int code;		/* its reply code, 0: none */
	int timed_out;		/* it ran out of time */
	int errnum;		/* CONNECT/RESOLVE: the errno */
	int timeout;		/* the step's limit in seconds, for words */
	const char *detail;	/* the failure's text */
	unsigned auth_offered;	/* bits (1u << enum auth_mech) */
	const struct tls_peer *peer;	/* NULL: no certificate seen */
};

/*
 * The advice for f into out (size bytes, at most ADVICE_MAX used): 1 when
 * a known mistake matched, 0 (out "") when none did.
 */
int advice_for(const struct advice_facts *f, char *out, size_t size);

/* Non-zero when host looks like Gmail's/Google's or Microsoft's servers
 * (they want an app password or OAuth2, not the account password). */
int advice_big_provider(const char *host);

#endif
