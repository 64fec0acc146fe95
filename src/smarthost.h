/*
 * smarthost.h - the step before talking to a smarthost, one for the queue
 * runner (deliver.c) and `relayq test`: check and read the secrets a
 * route needs, and turn the route's settings into the SMTP client's
 * parameters (smtp.h), which then opens the session.
 */
#ifndef RELAYQ_SMARTHOST_H
#define RELAYQ_SMARTHOST_H

#include "cfg.h"
#include "err.h"
#include "smtp.h"

/*
 * Check and read what a session through route sh needs: a host, a safe
 * client key, the password (*password: NULL when no user; the caller
 * wipes and frees).
 */
enum rq_status smarthost_secrets(const struct cfg *c, const struct cfg_smarthost *sh,
    char **password, struct err *e);
/* The settings of route sh (of c) as SMTP client parameters. */
void smarthost_params(const struct cfg *c, const struct cfg_smarthost *sh,
    const char *password, int verbose, struct smtp_params *p);

#endif
