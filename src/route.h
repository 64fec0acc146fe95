/*
 * route.h - routes (SMTP accounts) and the sender policy that picks them.
 *
 * A route is the default [smarthost] (named "default") or a
 * [smarthost NAME] section of relayq.conf(5). A message takes the first
 * named route, in file order, whose `senders` patterns match its envelope
 * sender; else the route of its submitter's [user NAME] section; else the
 * default. The choice is made once, when the runner first sees the
 * message, and stored in its envelope.
 *
 * Sender patterns and route names: pattern.h. Routes by name and index:
 * cfg.h (route_find, route_at), whose loader checks them across sections.
 *
 * Everything here is pure: no I/O, no allocation.
 */
#ifndef RELAYQ_ROUTE_H
#define RELAYQ_ROUTE_H

#include <stddef.h>
#include <sys/types.h>
#include "cfg.h"
#include "err.h"
#include "pattern.h"

/*
 * The sender policy: RQ_OK when uid may send as sender, which must be
 * admitted by the allowed_senders of uid's [user NAME] section and of the
 * route sender takes (an empty or absent list admits everyone). Else
 * RQ_NOPERM with e naming the sender, who (the caller's name for uid) and
 * the rule with its FILE:LINE.
 */
enum rq_status route_sender_allowed(const struct cfg *c, const char *sender,
    uid_t uid, const char *who, struct err *e);

/* Non-zero when route sh may carry mail from sender as a fallback: its
 * senders (if any) match, and its allowed_senders admit it. */
int route_admits(const struct cfg_smarthost *sh, const char *sender);

/* The route of a message from sender submitted by uid (never NULL). */
const struct cfg_smarthost *route_select(const struct cfg *c,
    const char *sender, uid_t uid);

#endif
