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
 * Sender patterns: "*@example.com" (every address of that domain),
 * "*@*.example.com" (of every subdomain, not the domain itself) and
 * "local@example.com" (that address; it also matches "local+tag@...").
 * Domains compare case-insensitively, local parts exactly.
 *
 * Everything here is pure: no I/O, no allocation unless said.
 */
#ifndef RELAYQ_ROUTE_H
#define RELAYQ_ROUTE_H

#include <stddef.h>
#include <sys/types.h>
#include "cfg.h"
#include "err.h"

#define ROUTE_DEFAULT	"default"

/* Non-zero when s may name a [smarthost NAME] section (or "default"
 * when it names a route elsewhere: route_name_valid accepts it, the
 * section check refuses it there). */
int route_name_valid(const char *s);
/* Non-zero when s is a sender pattern (see above). */
int route_pattern_valid(const char *s);
/* Non-zero when sender matches pattern. The null sender matches none. */
int route_pattern_match(const char *pattern, const char *sender);
/* Non-zero when every sender that b matches is also matched by a. */
int route_pattern_covers(const char *a, const char *b);

/* The route called name ("default" included), or NULL. */
const struct cfg_smarthost *route_find(const struct cfg *c,
    const char *name);
/* Routes by index: 0 is the default, 1..route_count()-1 the named ones
 * in file order (for `relayq test --all` and listings). */
size_t route_count(const struct cfg *c);
const struct cfg_smarthost *route_at(const struct cfg *c, size_t i);

/*
 * allowed_senders words: "user@example.com" (that address, and its
 * +tag forms), "example.com" (every address of that domain, not its
 * subdomains), "*.example.com" (of its subdomains); "*@..." forms are
 * taken too. route_allowed_pattern() gives the sender pattern of a valid
 * word (malloc'd; NULL when out of memory).
 */
int route_allowed_valid(const char *word);
char *route_allowed_pattern(const char *word);

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

/*
 * The checks across sections, for cfg_load(): every route named exists
 * (route, fallback), fallbacks form no cycle, and no route's senders are
 * all taken by an earlier route (it could never be chosen by them). RQ_CONFIG with "FILE:LINE: KEY: why".
 */
enum rq_status route_check(const struct cfg *c, struct err *e);

#endif
