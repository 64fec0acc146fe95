/*
 * rate.h - per-route sending limits (`rate = 100/day, 20/minute`).
 *
 * Every message sent through a route with limits takes a slot: the time
 * it went is recorded in state/rate.ROUTE (one epoch second a line,
 * oldest first), and a message is held back while any limit's window
 * already holds its count. The file is read and rewritten under
 * flock(LOCK_EX), so parallel runners share the count and it survives
 * restarts. Windows slide: a slot frees up exactly one window after the
 * send that filled it. When the state cannot be used the message is held
 * (the account's limit is what the limit protects), with the reason.
 */
#ifndef RELAYQ_RATE_H
#define RELAYQ_RATE_H

#include <stddef.h>
#include <time.h>
#include "cfg.h"

/*
 * The pure decision: sends times[0..n) (ascending) against the limits
 * rates[0..nrate) at now. Returns -1 when a slot is free, else the index
 * of the limit that holds the message back, with *next the time its next
 * slot frees up.
 */
int rate_check(const time_t *times, size_t n, const struct cfg_rate *rates,
    size_t nrate, time_t now, time_t *next);

/* "100/day, 20/minute" into rates (at most CFG_RATE_MAX); -1 if bad. */
int rate_parse(const char *s, struct cfg_rate *rates, size_t *nrate);

/* "100/day" */
const char *rate_name(const struct cfg_rate *r, char *buf, size_t len);

/*
 * Take a slot of route sh (no limits: always). 1 when taken (recorded);
 * 0 when held back, with *next and why ("rate limit 100/day of route
 * gmail, next slot 14:05"). statefd is the spool's state directory.
 */
int rate_take(int statefd, const struct cfg_smarthost *sh, time_t now,
    time_t *next, char *why, size_t whylen);

#endif
