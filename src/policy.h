/*
 * policy.h - the runner's first look at a queued message: the sender
 * policy again, alert requests, and the choice of route.
 *
 * The submitter already refused senders that allowed_senders does not
 * admit; the runner checks again, because a maildrop entry can be written
 * by hand past sendmail (its owner's uid is still the kernel's). An alert
 * request (alert.h) is admitted at most once an hour per user and sender;
 * the runner's own bounces are exempt from the sender policy. It also
 * sets the message's route and priority.
 */
#ifndef RELAYQ_POLICY_H
#define RELAYQ_POLICY_H

#include <stddef.h>
#include "cfg.h"
#include "env.h"
#include "err.h"
#include "spool.h"

enum policy_verdict {
	POLICY_SEND,		/* env->route set: save and send */
	POLICY_SUPPRESS,	/* an alert already sent this hour: remove */
	POLICY_REFUSE,		/* the sender is not allowed: quarantine */
};

/*
 * Decide for env (whose message is open on fd). why gets the reason of
 * SUPPRESS and REFUSE. RQ_TEMP (e set) when the message cannot be read
 * now; RQ_INTERNAL when out of memory.
 */
enum rq_status policy_first_look(const struct cfg *c, const struct spool *sp,
    struct env *env, int fd, enum policy_verdict *v, char *why,
    size_t whylen, struct err *e);

/*
 * The priority a header block asks for, 1..5 (5 most urgent): X-Priority
 * 1..5 (1 highest) as 5..1, Priority urgent/normal/non-urgent as 5/3/1,
 * Importance high/normal/low as 5/3/1; the highest of them, else 3.
 * policy_first_look() sets env->priority to the higher of this and the
 * [user NAME] priority of the submitter.
 */
int policy_message_priority(const char *head, size_t hlen);

#endif
