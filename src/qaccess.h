/*
 * qaccess.h - who may list the queue: `[local] mailq_users`.
 *
 * mailq (and `relayq queue list`) shows envelope data only: id, size,
 * arrival, sender, recipients, state and reasons; message bodies stay
 * readable by the queue owner alone (relayq(8), the privilege model).
 * By default every user may list, as with Postfix. A list of user names
 * and @groups restricts it; root and the owner of the spool may always.
 * The restriction is relayq's decision, checked before it reads the
 * queue with the set-group-ID group; see doc/ARCHITECTURE.md.
 */
#ifndef RELAYQ_QACCESS_H
#define RELAYQ_QACCESS_H

#include <stddef.h>
#include <sys/types.h>
#include "cfg.h"
#include "err.h"

/*
 * Non-zero when list (mailq_users) admits the user uid whose groups are
 * gids[0..ngids): an empty list or "anyone" admits everyone, a name the
 * user with that name's uid, "@name" the members of that group. Names
 * unknown on this host admit nobody.
 */
int qaccess_allows(const struct cfg_list *list, uid_t uid, const gid_t *gids,
    size_t ngids);

/*
 * May the calling process's real user (with its real and supplementary
 * groups) list the queue of c? RQ_OK for root, the spool's owner and
 * whoever mailq_users admits; else RQ_NOPERM with one line that names the
 * key, where it was set and the user.
 */
enum rq_status qaccess_check(const struct cfg *c, struct err *e);

#endif
