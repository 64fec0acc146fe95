/*
 * usage.h - admission limits: free space in the spool, and what each user
 * has queued ([queue] min_free, user_max_queued, user_max_bytes and the
 * [user NAME] overrides; see relayq.conf(5)).
 *
 * Free space is statvfs's f_bavail (what an unprivileged process may use)
 * of the spool's file system.
 *
 * Per-user usage: a set-gid submitter cannot read queue/ or hold/, so the
 * runner publishes a summary, SPOOL/usage (mode 0644: per uid a count and
 * bytes, no addresses), replaced atomically at the end of every pass and
 * added to at every pickup, before the maildrop entry is removed. It
 * carries the time its scan began; the submitter counts, live, the
 * maildrop entries of its own uid that changed since then (less a second,
 * for file systems' coarse clocks), in progress or complete. So every
 * message is counted at least once, never zero times, however fast a
 * user submits: a message that left the maildrop is in the summary read
 * after the listing. A count may be too high (a message delivered since
 * the last pass, or counted both ways) until the next pass: the error
 * is always on the refusing side. The summary exists only while a
 * per-user limit is configured; pickups add to it only when it exists.
 *
 * Error policy: checks return RQ_TEMP with a sentence for the user; the
 * runner's publishing is best effort (logged), since a missing or stale
 * summary only changes the counts a submitter sees.
 */
#ifndef RELAYQ_USAGE_H
#define RELAYQ_USAGE_H

#include <sys/types.h>
#include <time.h>
#include "cfg.h"
#include "err.h"
#include "spool.h"

/*
 * The limits for uid (0: none): its [user NAME] section, else the
 * [queue] ones; root has only those of a [user root] section.
 */
void usage_limits(const struct cfg *c, uid_t uid, long long *max_queued,
    off_t *max_bytes);

/* RQ_TEMP when the file system of dirfd has less than min_free free. */
enum rq_status usage_space_check(const struct cfg *c, int dirfd,
    struct err *e);

/*
 * The submitter's check, before it creates its entry (mdfd: maildrop/,
 * listable: the set-gid group or the spool owner): RQ_TEMP ("user NAME
 * has N queued messages (limit L)") when uid is at or over a limit.
 * skip_id (or NULL) is the caller's own new entry, not counted.
 */
enum rq_status usage_user_check(const struct cfg *c, int mdfd, uid_t uid,
    const char *skip_id, struct err *e);

/*
 * For the set-gid entry helper (dropper.h, admit): after it created
 * maildrop/ID, run both checks again (arg: struct usage_admit). Returns 0
 * or the errno to refuse with (ENOSPC, EDQUOT). Checking after creating
 * closes the race between parallel submissions: of two, the later one
 * to create sees the other's entry.
 */
struct usage_admit {
	const struct cfg *c;
	uid_t uid;
};
int usage_admit(void *arg, int mdfd, const char *id);

/*
 * Runner: count maildrop/, queue/ and hold/ and publish the summary; with
 * no per-user limit configured, remove it instead (nobody reads it, and
 * a pass need not load every envelope twice).
 */
void usage_publish(const struct cfg *c, const struct spool *sp);

/*
 * Runner, at pickup: an entry of uid (bytes, its st_ctim) is now queued;
 * call before its maildrop entry is removed.
 */
void usage_picked(const struct spool *sp, uid_t uid, off_t bytes,
    const struct timespec *ctime);

/*
 * Non-zero when pickup should wait: queue/ is on another file system
 * than maildrop/ and that one is below min_free (on one file system a
 * pickup takes no net space). The reason is logged.
 */
int usage_pickup_blocked(const struct cfg *c, const struct spool *sp);

#endif
