/*
 * priv.h - process hygiene and privilege changes.
 *
 * The submitter may run set-group-id (group relayq-drop): it opens its
 * maildrop entry with that group and then drops it for good before it
 * reads a byte of input. mailq keeps the group while it reads the
 * queue's envelopes, which the group may read, and drops it after
 * (cmd_list_queue). The runner, started as root, becomes the owner
 * of the spool directory (user relayq) with no supplementary groups.
 */
#ifndef RELAYQ_PRIV_H
#define RELAYQ_PRIV_H

#include "err.h"

/* Make sure fds 0, 1 and 2 are open (on /dev/null); -1 if impossible. */
int priv_sanitize_fds(void);
/* Non-zero when running set-user-id or set-group-id. */
int priv_is_setid(void);
/* Give up set-group-id (and set-user-id) for good; -1 on failure. */
int priv_drop(void);
/*
 * priv_drop() for everyone who reports the failure: RQ_TEMP "cannot drop
 * privileges" in e (the commands exit 75, EX_TEMPFAIL: relayq(8)).
 */
enum rq_status priv_drop_or_fail(struct err *e);
/* Set-id: keep only a minimal, fixed environment. */
void priv_clean_env(void);
/*
 * When root: become the owner of spool_dir (if that is not root) with its
 * primary group only. RQ_TEMP when that fails; RQ_OK otherwise.
 */
enum rq_status priv_become_runner(const char *spool_dir, struct err *e);

#endif
