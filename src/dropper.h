/*
 * dropper.h - a set-gid helper that creates maildrop entries for a
 * `sendmail -bs` session.
 *
 * The submitter must drop its set-id group before it reads input, but a
 * session may queue many messages and each needs a new entry in the
 * group-writable maildrop. dropper_start() forks, before the drop, a
 * child that keeps the group and does one thing: on request it creates
 * a new entry (O_EXCL, O_NOFOLLOW, mode 0600, a fresh id) and passes the
 * descriptor back over a socketpair. It reads nothing but one request
 * byte, so the session's input never reaches privileged code.
 */
#ifndef RELAYQ_DROPPER_H
#define RELAYQ_DROPPER_H

#include <sys/types.h>
#include "err.h"
#include "spool.h"

struct dropper {
	pid_t pid;
	int sock;
};

/* Fork the helper for dirfd. RQ_TEMP on failure. */
enum rq_status dropper_start(struct dropper *d, int dirfd, struct err *e);
/*
 * A new entry (arg is the struct dropper): its fd and id, or -1 with
 * errno. Matches submit_opts.create.
 */
int dropper_create(void *arg, char id[SPOOL_ID_LEN + 1]);
/* Close the channel and reap the helper. */
void dropper_stop(struct dropper *d);

#endif
