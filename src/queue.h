/*
 * queue.h - queue policy and operations on queue entries.
 *
 * An entry is queue/ID (the immutable message file, also the lock) plus
 * queue/ID.env (its state). The lock is flock(LOCK_EX) on the message
 * file, held for as long as an entry is being changed or delivered, so
 * two runners never send the same message. Whoever holds the lock must
 * re-read the envelope after taking it (it may have been removed).
 */
#ifndef RELAYQ_QUEUE_H
#define RELAYQ_QUEUE_H

#include <stddef.h>
#include <time.h>
#include "cfg.h"
#include "err.h"
#include "spool.h"

struct idlist {
	char (*ids)[SPOOL_ID_LEN + 1];
	size_t n;
	size_t cap;
};

/* The valid ids in directory sub (message files only), sorted. */
enum rq_status queue_scan(const struct spool *sp, enum spool_sub sub,
    struct idlist *out, struct err *e);
/* Append id; -1 on ENOMEM. */
int idlist_add_id(struct idlist *l, const char *id);
void idlist_free(struct idlist *l);

/*
 * Order the ids of queue/ for a pass: higher priority first, then the
 * users in turn (the k-th message of every submitting uid before the
 * (k+1)-th of any), then arrival (ids begin with the arrival second;
 * within one second, the message file written first goes first). So
 * one user's thousand messages do not hold back another's one. An entry whose envelope cannot be read is left in as a
 * user of its own (the pass deals with it).
 */
enum rq_status queue_order(const struct spool *sp, struct idlist *l,
    struct err *e);

/*
 * Lock sub/ID. Returns RQ_OK with *fd set, RQ_TEMP when another process
 * holds it (busy), RQ_NOINPUT when the entry is gone.
 */
enum rq_status queue_lock(const struct spool *sp, enum spool_sub sub,
    const char *id, int *fd, struct err *e);
/* Non-zero when someone holds the lock on sub/ID (delivery under way). */
int queue_is_locked(const struct spool *sp, enum spool_sub sub,
    const char *id);

/* When the next attempt after `attempts` failures is due. */
time_t queue_next_attempt(const struct cfg *c, unsigned attempts, time_t now);
/* Number of recipients still pending. */
size_t queue_pending(const struct env *env);

/* Remove an entry (envelope first, then message; fsync the directory). */
enum rq_status queue_remove(const struct spool *sp, enum spool_sub sub,
    const char *id, struct err *e);
/* Move an entry between queue/ and hold/ (caller holds the lock). */
enum rq_status queue_move(const struct spool *sp, enum spool_sub from,
    enum spool_sub to, const char *id, struct err *e);
/* Move whatever exists of sub/ID (message, envelope) to corrupt/. */
void queue_quarantine(const struct spool *sp, enum spool_sub sub,
    const char *id, const char *why);

#endif
