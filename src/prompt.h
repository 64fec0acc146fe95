/*
 * prompt.h - questions on the terminal, for relayq probe and setup: one
 * line of answer, with echo off for a password.
 *
 * Only when standard input is a terminal (prompt_tty()); the question
 * goes to standard error. The answer has no line end; the caller frees
 * it (and wipes a secret with explicit_bzero first). Echo is restored
 * before returning, whatever happened. Failures: RQ_USAGE at end of
 * input, RQ_TEMP for a terminal error.
 */
#ifndef RELAYQ_PROMPT_H
#define RELAYQ_PROMPT_H

#include "err.h"

/* Non-zero when standard input is a terminal. */
int prompt_tty(void);
/* Ask question; *out is the answer, or dflt (copied) when it is empty
 * and dflt is not NULL. */
enum rq_status prompt_line(const char *question, const char *dflt,
    int secret, char **out, struct err *e);

#endif
