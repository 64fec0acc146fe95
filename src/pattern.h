/*
 * pattern.h - the words relayq.conf(5) uses to name routes and senders:
 * route names, sender patterns and allowed_senders words; their syntax
 * and matching. A base module: strings in, answers out, no configuration.
 *
 * Sender patterns: "*@example.com" (every address of that domain),
 * "*@*.example.com" (of every subdomain, not the domain itself) and
 * "local@example.com" (that address; it also matches "local+tag@...").
 * Domains compare case-insensitively, local parts exactly.
 *
 * Everything here is pure: no I/O, no allocation unless said.
 */
#ifndef RELAYQ_PATTERN_H
#define RELAYQ_PATTERN_H

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

/*
 * allowed_senders words: "user@example.com" (that address, and its
 * +tag forms), "example.com" (every address of that domain, not its
 * subdomains), "*.example.com" (of its subdomains); "*@..." forms are
 * taken too. route_allowed_pattern() gives the sender pattern of a valid
 * word (malloc'd; NULL when out of memory).
 */
int route_allowed_valid(const char *word);
char *route_allowed_pattern(const char *word);

#endif
