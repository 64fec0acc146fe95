/*
 * dropper.h - maildrop entries for a set-gid submission (sendmail, and
 * each message of `sendmail -bs`), without a second process.
 *
 * The maildrop is writable by the set-id group only, and a submission
 * must neither read its input with the group effective nor lose the
 * means to name, check or remove its entry at the end. dropper_start()
 * therefore sets the effective group to the real one and keeps the set-id
 * group as the saved set-group-ID only; the group is effective again
 * just inside these calls, for a few system calls on the maildrop, and
 * dropper_stop() gives it up for good:
 *  - dropper_create(): an anonymous file (O_TMPFILE in maildrop/, mode
 *    0600, locked) that gets an id but no name: whatever ends the
 *    submission (killed, bad input, a full disk) before the commit, the
 *    entry has no name and vanishes with the process's descriptor.
 *  - dropper_named(), at the commit: the file must be one made here,
 *    complete (mode 0704, not linked yet); the admission check runs again
 *    under an exclusive lock on the directory, then the file is linked as
 *    maildrop/ID and the directory fsynced. Only then is the message
 *    accepted.
 * Where the file system has no O_TMPFILE, entries are named files (O_EXCL,
 * mode 0600): the commit only confirms the name is still the file,
 * dropper_stop() removes unfinished ones, and the queue runner's reaper
 * removes a killed submission's unlocked leftover after minutes
 * (pickup.h).
 * Why the saved group is enough (doc/ARCHITECTURE.md): a set-gid process
 * is not dumpable (the user cannot ptrace it or read its memory), and
 * the group grants nothing but making maildrop entries under one's own
 * uid, which the user may do through sendmail anyway.
 */
#ifndef RELAYQ_DROPPER_H
#define RELAYQ_DROPPER_H

#include <sys/types.h>
#include "err.h"

struct made;
#include "spool.h"

struct dropper {
	int active;	/* started and not stopped */
	int dirfd;	/* the maildrop directory */
	gid_t gid;	/* the set-id group (the saved set-group-ID) */
	struct made *made;	/* the entries made, for the commit check */
	int nmade;
	/*
	 * NULL, or asked about each entry just made, before it is handed
	 * out, and again (under a lock on the directory) before an
	 * anonymous entry is linked: 0, or the errno to refuse it with
	 * (the entry is removed). Set before dropper_start().
	 */
	int (*admit)(void *arg, int dirfd, const char *id);
	void *admit_arg;
};

#define DROPPER_INIT	{ 0, -1, 0, NULL, 0, NULL, NULL }

/* Start with the set-id group effective: it becomes the saved one only.
 * RQ_TEMP when that fails. */
enum rq_status dropper_start(struct dropper *d, int dirfd, struct err *e);
/*
 * A new entry (arg is the struct dropper): its fd, locked (flock), and
 * id, or -1 with errno (e.g. ENOSPC, EDQUOT). Matches submit_opts.create.
 */
int dropper_create(void *arg, char id[SPOOL_ID_LEN + 1]);
/*
 * Commit the entry fd made under id (mode 0704, fsynced): linked as
 * maildrop/ID and the directory fsynced, or, for a named entry, ID still
 * names fd. 1 on success, else 0 with errno. Matches submit_opts.named.
 */
int dropper_named(void *arg, const char *id, int fd);
/*
 * Remove the named entries made that were never committed (still mode
 * 0600) and give up the set-id group for good.
 */
void dropper_stop(struct dropper *d);

#endif
