/*
 * refuse.h - the sender policy at submission (sendmail, sendmail -bs).
 *
 * The caller is known by the kernel's uid (getuid(), the set-group-ID path
 * included), never by anything the caller writes; the sender checked is
 * the envelope sender after -f. A refusal is logged and an alert request
 * (alert.h) is queued through the submission's own maildrop access; the
 * refused message itself is never queued.
 */
#ifndef RELAYQ_REFUSE_H
#define RELAYQ_REFUSE_H

#include "cfg.h"
#include "err.h"
#include "submit.h"

/*
 * RQ_OK when uid base->uid may send as sender. Else RQ_NOPERM with e
 * naming the sender, the user and the rule, after the log line and the
 * alert request (into dirfd, with base's uid, names and entry creation).
 */
enum rq_status refuse_check(const struct cfg *c, const char *sender, int dirfd,
    const struct submit_opts *base, struct err *e);

#endif
