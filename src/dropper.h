/*
 * dropper.h - a set-gid helper that creates maildrop entries for a
 * `sendmail -bs` session.
 *
 * The submitter must drop its set-id group before it reads input, but a
 * session may queue many messages and each needs a new entry in the
 * group-writable maildrop. dropper_start() forks, before the drop, a
 * child that keeps the group and does one thing: on request it creates
 * a new entry (O_EXCL, O_NOFOLLOW, mode 0600, a fresh id) and passes the
 * descriptor back over a socketpair; it also answers whether an entry it
 * made still has its name, and when the session ends (or dies) removes the
 * entries left unfinished. It reads nothing but request bytes and ids, so
 * the session's input never reaches privileged code. A plain set-gid
 * submission uses it too, for one entry.
 */
#ifndef RELAYQ_DROPPER_H
#define RELAYQ_DROPPER_H

#include <sys/types.h>
#include "err.h"
#include "spool.h"

struct dropper {
	pid_t pid;
	int sock;
	/*
	 * NULL, or asked by the helper about each entry it has just made,
	 * before handing it out: 0, or the errno to refuse it with (the
	 * entry is removed). Set before dropper_start().
	 */
	int (*admit)(void *arg, int dirfd, const char *id);
	void *admit_arg;
};

/* Fork the helper for dirfd. RQ_TEMP on failure. */
enum rq_status dropper_start(struct dropper *d, int dirfd, struct err *e);
/*
 * A new entry (arg is the struct dropper): its fd and id, or -1 with
 * errno. Matches submit_opts.create.
 */
int dropper_create(void *arg, char id[SPOOL_ID_LEN + 1]);
/*
 * 1 when maildrop/ID is still the entry the helper made under that id,
 * else 0. Matches submit_opts.named.
 */
int dropper_named(void *arg, const char *id);
/*
 * Close the channel and reap the helper, which first removes the entries
 * it made that were never committed (still mode 0600).
 */
void dropper_stop(struct dropper *d);

#endif
