/*
 * dropper.h - a set-gid helper that creates maildrop entries for a
 * set-gid submission (sendmail, and each message of `sendmail -bs`).
 *
 * The submitter must drop its set-id group before it reads input, and
 * without the group it can neither name, nor check, nor remove anything
 * in the group-writable maildrop. dropper_start() forks, before the drop,
 * a child that keeps the group and does two things on request:
 *  - 'C': create an entry and pass its descriptor back over a socketpair.
 *    The entry is an anonymous file (O_TMPFILE in maildrop/, mode 0600)
 *    that gets an id but no name: whatever ends the submission (the
 *    submitter or the helper killed, both, bad input, a full disk), an
 *    entry that was never committed has no name and vanishes with its
 *    last descriptor; nothing is left for anyone to clean up.
 *  - 'L': at the commit, the submitter sends the descriptor back; the
 *    helper checks it is a file it made, complete (mode 0704, not linked
 *    yet), links it as maildrop/ID and fsyncs the directory. Only then is
 *    the message accepted. A helper that died meanwhile means exit 75:
 *    the entry is then either gone or (killed right after the link)
 *    complete, never half-written.
 * Where the file system has no O_TMPFILE, entries are named files (O_EXCL,
 * mode 0600) as before: 'L' then only confirms the name is still the
 * file, the helper removes unfinished ones when the session ends, a
 * submitter whose helper died empties its entry, and the queue runner's
 * reaper removes an unlocked leftover after minutes (pickup.h).
 * The helper reads nothing but fixed-size requests, so the session's
 * input never reaches privileged code. Errors travel as errno values.
 */
#ifndef RELAYQ_DROPPER_H
#define RELAYQ_DROPPER_H

#include <sys/types.h>
#include "err.h"
#include "spool.h"

struct dropper {
	pid_t pid;
	int sock;
	/* The entry last handed out: anonymous (1) or named (0). */
	char last_id[SPOOL_ID_LEN + 1];
	int last_anon;
	/*
	 * NULL, or asked by the helper about each entry it has just made,
	 * before handing it out, and again (under a lock on the directory)
	 * before it links an anonymous entry: 0, or the errno to refuse it
	 * with (the entry is removed). Set before dropper_start().
	 */
	int (*admit)(void *arg, int dirfd, const char *id);
	void *admit_arg;
};

#define DROPPER_INIT	{ -1, -1, "", 0, NULL, NULL }

/* Fork the helper for dirfd. RQ_TEMP on failure. */
enum rq_status dropper_start(struct dropper *d, int dirfd, struct err *e);
/*
 * A new entry (arg is the struct dropper): its fd, locked (flock), and
 * id, or -1 with errno (the helper's, e.g. ENOSPC, or EPIPE when the
 * helper is gone). Matches submit_opts.create.
 */
int dropper_create(void *arg, char id[SPOOL_ID_LEN + 1]);
/*
 * Commit the entry fd made under id (mode 0704, fsynced): linked as
 * maildrop/ID and the directory fsynced, or, for a named entry, ID still
 * names fd. 1 on success, else 0 with errno (EPIPE: the helper is gone).
 * Matches submit_opts.named.
 */
int dropper_named(void *arg, const char *id, int fd);
/*
 * Close the channel and reap the helper, which first removes the named
 * entries it made that were never committed (still mode 0600).
 */
void dropper_stop(struct dropper *d);

#endif
