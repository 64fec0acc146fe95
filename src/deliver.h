/*
 * deliver.h - one delivery pass: pick up new mail, then send every due
 * message (or one message) to the smarthost over one reused session per
 * route, or, for a route with a long queue, over up to its `connections`
 * sessions in child processes (each message still sent by one of them).
 *
 * Per recipient: 2xx delivered, 4xx/network/TLS deferred with the reason
 * and a next attempt from [queue] retry, 5xx failed. When no recipient is
 * pending any more the entry is removed, after queueing a DSN to the
 * sender for the failed ones. A message whose [queue] lifetime has run
 * out fails its pending recipients. State is saved after every message
 * and made durable in groups (queue.h, struct qgroup) while the messages
 * stay locked, so a crash can only repeat messages whose final dot was
 * answered and whose group was not committed yet.
 */
#ifndef RELAYQ_DELIVER_H
#define RELAYQ_DELIVER_H

#include <signal.h>
#include <stddef.h>
#include <time.h>
#include "cfg.h"
#include "err.h"

/*
 * Selective runs (sendmail -qI, -qR, -qS): a message is worked on when,
 * for each kind given, one of its strings matches (case-insensitive):
 * -qI a substring of the queue id, -qR the end of the domain of a pending
 * recipient ("@" before it optional), -qS a substring of the sender.
 */
#define DELIVER_FILTER_MAX	16

struct deliver_filter {
	const char *ids[DELIVER_FILTER_MAX];
	size_t nids;
	const char *domains[DELIVER_FILTER_MAX];
	size_t ndomains;
	const char *senders[DELIVER_FILTER_MAX];
	size_t nsenders;
};

struct env;

/* Non-zero when f (NULL: no filter) selects the id (env: NULL = not yet
 * loaded, only the id is looked at). */
int deliver_filter_match(const struct deliver_filter *f, const char *id,
    const struct env *env);

struct deliver_opts {
	const char *only_id;	/* deliver just this message (NULL: all) */
	const struct deliver_filter *filter;	/* NULL: every message */
	int flush;		/* ignore next-attempt times */
	int verbose;		/* SMTP dialogue on stderr */
	int report;		/* one outcome line per message on stderr */
	/*
	 * NULL: the pass opens its own sessions and closes them. Else
	 * *session (NULL or an open session to the default route that the
	 * caller checked with smtp_reset()) is used first for that route,
	 * and whatever session to it is open at the end is left there for
	 * the caller (relayq daemon keeps it); other routes' sessions last
	 * one pass.
	 */
	struct smtp_session **session;
	/* Not NULL: once *stop is set, no further message is started (the
	 * one in flight is finished and saved). */
	volatile sig_atomic_t *stop;
};

struct deliver_stats {
	size_t delivered;	/* messages fully done */
	size_t deferred;	/* messages kept for a later attempt */
	size_t bounced;		/* DSNs queued */
	size_t skipped;		/* not due, or locked by another runner */
	time_t next_due;	/* earliest next attempt of a message left
				   waiting (0: none) */
};

/*
 * The sessions a pass uses for a route with `due` messages due and
 * `connections` configured: one per SHARE_MIN (deliver.c) messages, at
 * least 1, at most connections.
 */
unsigned deliver_sessions(size_t due, unsigned connections);
/* RQ_OK unless the spool itself cannot be used (e holds why). */
enum rq_status deliver_run(struct cfg *c, const struct deliver_opts *o,
    struct deliver_stats *stats, struct err *e);

#endif
