/*
 * mailq.h - list the queue the way Postfix's mailq does, so that tools
 * that parse Postfix (and sendmail's "Total requests" line) read it.
 * Read-only: it never changes or locks an entry for long.
 */
#ifndef RELAYQ_MAILQ_H
#define RELAYQ_MAILQ_H

#include <stdio.h>
#include "cfg.h"
#include "err.h"

/* RQ_NOPERM when the caller may not read the queue. */
enum rq_status mailq_print(const struct cfg *c, FILE *out, struct err *e);

#endif
