/*
 * authpause.h - a route whose smarthost keeps refusing its credentials
 * (AUTH answered 535, or any 5xx with 5.7.8) pauses, so that relayq does
 * not get the account locked by retrying a wrong password every minute.
 *
 * The first refusal only defers (a typo fixed in time costs nothing);
 * from the AUTHPAUSE_AFTER-th consecutive one the route pauses
 * AUTHPAUSE_FIRST seconds, doubling with each further refusal up to
 * AUTHPAUSE_MAX. While paused the route opens no connection; its mail
 * stays queued (deferred, never bounced). The memory is
 * state/authpause.ROUTE of the runner-private spool: "fails N", "until
 * EPOCH", "stamp S", "user U", "reply TEXT" lines. It is forgotten after
 * a successful AUTH, by `relayq queue flush`, and when the route's
 * credentials change (its user, or the modification time of its
 * password_file or, for an inline password, of the configuration file:
 * the stamp). When the state cannot be used, the route is not paused.
 */
#ifndef RELAYQ_AUTHPAUSE_H
#define RELAYQ_AUTHPAUSE_H

#include <stdio.h>
#include <time.h>
#include "cfg.h"

#define AUTHPAUSE_AFTER	2		/* consecutive refusals that pause */
#define AUTHPAUSE_FIRST	300		/* the first pause, seconds */
#define AUTHPAUSE_MAX	(6 * 3600)	/* the longest pause */

struct authpause {
	unsigned fails;		/* consecutive refusals */
	time_t until;		/* paused until then (0: never paused) */
	char stamp[160];	/* the credentials' stamp (see above) */
	char user[128];
	char reply[512];	/* the server's last refusal */
};

/* The pause after the fails-th consecutive refusal (0: none). Pure. */
time_t authpause_interval(unsigned fails);
/* One more refusal at now: fails, until, user and reply updated. Pure. */
void authpause_refused(struct authpause *p, time_t now, const char *user,
    const char *reply);
/* The credentials' stamp of route sh of c into out. */
void authpause_stamp(const struct cfg *c, const struct cfg_smarthost *sh,
    char *out, size_t len);

/*
 * The state of route sh from the state directory statefd: 1 when it is
 * paused at now (p filled), else 0. State kept for other credentials than
 * the route's current ones is removed.
 */
int authpause_paused(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, struct authpause *p);
/*
 * Record a refusal of route sh at now (reply: the server's); p gets the
 * new state (p->until > now: the route is paused from now on).
 */
void authpause_fail(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, const char *reply,
    struct authpause *p);
/*
 * The runner's two questions. Before opening a session: 1 when route sh
 * is paused at now, with why (the deferral reason) filled. After opening
 * one (ok: it opened; refused: smtp_params.auth_refused; reply: the
 * failure): a refusal is logged as an authentication failure naming the
 * route, user and reply, and counted (pausing the route at the
 * AUTHPAUSE_AFTER-th); a session that opened forgets the refusals.
 */
int authpause_check(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, char *why, size_t len);
void authpause_opened(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, int ok, int refused,
    const char *reply);
/* Forget route sh's refusals (AUTH accepted); no-op when none. */
void authpause_clear(int statefd, const struct cfg_smarthost *sh);
/* Forget every route's, in c's spool (relayq queue flush). */
void authpause_clear_all(const struct cfg *c);
/* "-- route R paused until ..." lines for mailq, for the routes of c
 * paused at now (none when the state cannot be read: not the runner). */
void authpause_notes(const struct cfg *c, time_t now, FILE *out);
/* "2026-12-06 14:05:00" (local time). */
const char *authpause_when(time_t until, char *out, size_t len);

#endif
