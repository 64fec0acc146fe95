/*
 * secretcmd.h - password_command: a secret (password, OAuth2 access
 * token) from a program, for password managers and token helpers.
 *
 * The command is split into words at spaces and tabs ('...' and "..."
 * group words, no other quoting) and run without a shell; a value that
 * starts with "sh -c " runs the rest through sh as one argument. It runs
 * as the calling process's user (the queue runner), with stdin
 * /dev/null and stderr inherited; its standard output (at most
 * SECRETCMD_MAX bytes) is the secret, white space around it trimmed.
 *
 * Errors are RQ_TEMP (the mail waits): the command cannot be started,
 * does not finish within the deadline (it is killed), exits non-zero or
 * prints nothing. The secret never appears in an error message.
 */
#ifndef RELAYQ_SECRETCMD_H
#define RELAYQ_SECRETCMD_H

#include "err.h"

#define SECRETCMD_MAX		65536
#define SECRETCMD_TIMEOUT	30	/* seconds, when none is given */

/* Non-zero when cmd splits into at least one word (quotes balanced). */
int secretcmd_valid(const char *cmd);

/* Run cmd within timeout seconds (0: SECRETCMD_TIMEOUT); *out is the
 * secret, which the caller wipes and frees. */
enum rq_status secretcmd_run(const char *cmd, int timeout, char **out,
    struct err *e);

#endif
