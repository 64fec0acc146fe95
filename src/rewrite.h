/*
 * rewrite.h - the route's own address as the sender: the envelope sender
 * and the From header of a message going out through a route with `from`
 * (relayq.conf(5)).
 *
 * The stored message file is immutable, so the rewrite happens as the
 * message is sent: rewrite_head() builds a new header block in memory
 * that replaces the first *skip bytes of the stored message; the blank
 * line and the body still come from the file, and both go through the
 * same DATA encoder (smtp.h: struct smtp_msg head).
 *
 * The new header block: the first From becomes the route's address (the
 * route's display name, else the original one), later From fields and
 * Sender and Return-Path fields are dropped (they named the old sender),
 * and the original From value goes into a Reply-To when the message has
 * none, so that replies still reach the author. Every other field is kept
 * byte for byte, DKIM-Signature included (a rewrite breaks a signature
 * over From; the manual says so).
 *
 * Errors: RQ_TEMP when the file cannot be read, RQ_PERM when the header
 * block is longer than MSGHEAD_MAX (it cannot be rewritten and must
 * not go out unrewritten), RQ_INTERNAL when out of memory.
 */
#ifndef RELAYQ_REWRITE_H
#define RELAYQ_REWRITE_H

#include <sys/types.h>
#include "buf.h"
#include "cfg.h"
#include "err.h"

/* Non-zero when addr is outside the route's domains: the domain of its
 * `from`, and the senders its `senders` patterns match. */
int rewrite_foreign(const struct cfg_smarthost *sh, const char *addr);

/* The envelope sender to use through sh for sender (never NULL). The
 * null sender stays null: a bounce must not be bounced. */
const char *rewrite_sender(const struct cfg_smarthost *sh,
    const char *sender);

/*
 * The rewritten header block of the message at fd [off, off + len) into
 * head (empty, *skip 0, when nothing changes: no `from`, rewrite_from =
 * no, a From inside the route's domains with `foreign`, or a From that
 * already is the route's address).
 */
enum rq_status rewrite_head(const struct cfg_smarthost *sh, int fd,
    off_t off, off_t len, struct buf *head, off_t *skip, struct err *e);

/* The header block of text[0..len) (LF line ends, as stored) rewritten
 * for sh into head; what rewrite_head() does once it has read it. */
enum rq_status rewrite_block(const struct cfg_smarthost *sh,
    const char *text, size_t len, struct buf *head, struct err *e);

#endif
