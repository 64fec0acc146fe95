/*
 * alert.h - telling the postmaster that a sender was refused.
 *
 * The submitter refuses a sender that allowed_senders does not admit
 * (route.h) before anything is queued. It cannot keep state of its own
 * (it runs as the caller, with at most the maildrop group), so it queues
 * an alert request: an ordinary message from the null sender to [local]
 * alert with an "X-Relayq-Alert: <sender>" field. The runner, when it
 * first sees a message, recognises a request (null sender, the alert
 * address as its only recipient, that field) and sends at most one per
 * submitting uid and refused sender per hour, remembered in state/alerts
 * of the runner-private spool. A forged request can only reach the
 * postmaster, at that rate.
 */
#ifndef RELAYQ_ALERT_H
#define RELAYQ_ALERT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "cfg.h"

#define ALERT_FIELD	"X-Relayq-Alert"
#define ALERT_PERIOD	3600	/* one alert per uid and sender in this */

/* [local] alert (default postmaster), qualified; NULL when out of memory. */
char *alert_address(const struct cfg *c);

/* The text of an alert request (header and body, LF line ends). */
int alert_text(struct buf *b, const char *sender, const char *who,
    const char *why, const char *host);

/*
 * Non-zero when the message (null sender, recipients rcpts[0..n), header
 * block head[0..hlen)) is an alert request to alert; its refused sender
 * goes into key.
 */
int alert_is_request(const char *alert, const char *sender,
    const char *const *rcpts, size_t n, const char *head, size_t hlen,
    struct buf *key);

/*
 * Whether an alert about (uid, sender) may go out at now: 1 yes (and it
 * is remembered), 0 when one went out in the last ALERT_PERIOD. statefd
 * is the state directory; when the memory cannot be used the alert goes
 * out (1), better twice than never.
 */
int alert_admit(int statefd, uid_t uid, const char *sender, time_t now);

#endif
