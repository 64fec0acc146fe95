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

/*
 * RQ_NOPERM when the caller may not read the queue. Before the listing,
 * mailq_notes() on stderr (both listings).
 */
enum rq_status mailq_print(const struct cfg *c, FILE *out, struct err *e);

/*
 * The same queue as JSON, one object per message and line, in the shape
 * of Postfix's `postqueue -j`: queue_name (maildrop, incoming, active,
 * deferred, hold), queue_id, arrival_time, message_size, forced_expire,
 * sender, recipients [{address, delay_reason?}] (pending ones only).
 */
enum rq_status mailq_print_json(const struct cfg *c, FILE *out,
    struct err *e);

/*
 * s as a JSON string with its quotes: '"' and '\\' escaped, control
 * characters and DEL as \u00XX, valid UTF-8 passed through, every byte
 * of an invalid sequence replaced by \ufffd.
 */
void mailq_json_string(FILE *out, const char *s);

/*
 * The administrator's notes, one line each, every line starting "-- ":
 * the problem pickup recorded (pickup, NULL or "" when none) and the
 * number of entries in corrupt/ (none when 0).
 */
void mailq_notes(FILE *out, size_t ncorrupt, const char *pickup);

#endif
