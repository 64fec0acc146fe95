/*
 * bounce.h - delivery status notifications (RFC 3464) to the sender.
 *
 * When recipients of a message have failed for good (5xx, or the queue
 * lifetime ran out), bounce_queue() writes a multipart/report DSN with the
 * null sender into the maildrop, where pickup queues it like any other
 * message. A message with the null sender, or one that is itself a
 * bounce, is never bounced (no loops).
 */
#ifndef RELAYQ_BOUNCE_H
#define RELAYQ_BOUNCE_H

#include "cfg.h"
#include "env.h"
#include "err.h"
#include "spool.h"

/*
 * Queue a DSN for the recipients of env in state RCPT_FAILED; the headers
 * of the original are read from msgfd. *id receives the DSN's id ("" when
 * none was needed).
 */
enum rq_status bounce_queue(const struct cfg *c, const struct spool *sp,
    const struct env *env, int msgfd, char id[SPOOL_ID_LEN + 1],
    struct err *e);

/* "5.1.1" from a reply text like "550 5.1.1 no such user", else dflt. */
void bounce_status_code(const char *reply, const char *dflt, char out[16]);

#endif
