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
#include "env.h"
#include "err.h"
#include "spool.h"

struct idlist {
	char (*ids)[SPOOL_ID_LEN + 1];
	size_t n;
	size_t cap;
};

/*
 * Call each(arg, id, inode) for every valid id in directory sub (message
 * files only), in directory order, until it returns -1 (ENOMEM: then
 * RQ_INTERNAL). RQ_TEMP when the directory cannot be read.
 */
enum rq_status queue_each(const struct spool *sp, enum spool_sub sub,
    int (*each)(void *, const char *, unsigned long long), void *arg,
    struct err *e);
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
/*
 * What a pass knows of a message from one look at its envelope, read
 * without the lock (a guess that only orders and shares out the pass;
 * each message is read again under its lock before anything is done).
 */
struct queue_peek {
	int ok;			/* the envelope was read */
	int fresh;		/* no route chosen yet: a first look is due */
	uid_t uid;
	int prio;
	time_t next;		/* env.h: the next attempt */
	long route;		/* the runner's index of its route, or -1 */
};

/*
 * pk NULL: queue_order() reads each envelope for its uid and priority.
 * Else pk[i] holds them for l->ids[i] (ok 0: unknown), and is put in the
 * new order along with the ids.
 */
enum rq_status queue_order(const struct spool *sp, struct idlist *l,
    struct queue_peek *pk, struct err *e);

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
/*
 * A group commit: changes to many queue entries made durable together,
 * with one sync of the file system and one fsync per directory instead
 * of two fsyncs per change. Each item holds its entry's lock (fd) until
 * the commit, so no other runner sees a change half made. At commit,
 * in this order: staged envelopes and copied message files are made
 * durable (one spool_sync(), or an fsync each when there are few), then
 * the envelopes are renamed into place, entries removed, the maildrop
 * entries of the group unlinked (only now that their queue copies are
 * durable), and queue/ and maildrop/ fsynced once.
 *
 * What a crash leaves, at any point: a maildrop entry that is also in
 * the queue (pickup drops the maildrop copy once the queue's is
 * durable), a message without envelope (pickup_orphan completes it), an
 * older envelope (a state change lost: a message delivered is sent once
 * more, one deferred is tried early), a removed entry back. Never an
 * envelope without its data, never a message gone from both maildrop/
 * and queue/.
 *
 * A state replacing an envelope is staged with qgroup_stage() in the
 * group's slot for the item (tmp/spare.K.PID, K its place in the group)
 * and exchanged with the envelope it replaces, which stays in the slot;
 * once the exchange is durable (queue/ fsynced), the next group writes
 * its K-th state over that old envelope instead of a new file. So a pass
 * that defers ten thousand messages frees and allocates no inode or
 * block per message (with discard, each freed block waits for the
 * device). The slots are removed by qgroup_free() (by the tmp/ sweep
 * after a crash). A reader that opened an envelope just before its
 * exchange may read the next state written into that inode: env_load()
 * reads again by name when the id it read is not the one it asked for.
 */
#define QG_ENV		0x1	/* install the envelope staged on efd */
#define QG_REMOVE	0x2	/* remove the entry */
#define QG_DROP		0x4	/* unlink maildrop/mid (its copy is queue/id) */
#define QG_SLOT		0x8	/* ... staged in the group's slot (qgroup_stage) */

struct qgroup_item {
	char id[SPOOL_ID_LEN + 1];
	char mid[SPOOL_ID_LEN + 1];
	unsigned what;
	int fd;		/* the entry's lock, closed at commit */
	int mfd;	/* the maildrop entry (locked), or -1 */
	int efd;	/* the staged envelope (env_stage()), or -1 */
	int cfd;	/* the copied message file, to sync, or -1 */
};

struct qgroup {
	const struct spool *sp;
	struct qgroup_item *v;
	size_t n;
	size_t nsync;	/* staged envelopes and copies to make durable */
	size_t max;	/* items before a commit is due (descriptors) */
	unsigned char *spare;	/* per slot: holds a replaced envelope,
				   durably out of queue/: write over it */
	size_t slots;	/* slots used so far (removed by qgroup_free) */
};

/*
 * -1 on ENOMEM. max is bounded by the descriptor limit: the items hold at
 * most a quarter of RLIMIT_NOFILE (two each).
 */
int qgroup_init(struct qgroup *g, const struct spool *sp, size_t max);
/* Non-zero when the group must be committed before the next add. */
int qgroup_full(const struct qgroup *g);
/*
 * Add a change (the item's descriptors are owned by the group from now
 * on; unused ones -1). The caller commits first when qgroup_full().
 */
void qgroup_add(struct qgroup *g, const struct qgroup_item *it);
/*
 * Commit the group (see above) and empty it. RQ_TEMP when the sync
 * failed: nothing of the group is installed, removed or dropped then
 * (staged envelopes removed, entries to remove kept: delivered once
 * more, maildrop entries kept: picked up again). Each removal is logged
 * only now that its fate is known: "ID: removed" (relayq/qmgr) once it
 * is durable, else a warning that the entry was kept (or that its
 * removal may not survive a crash, when only the final fsync failed).
 */
enum rq_status qgroup_commit(struct qgroup *g, struct err *e);
/*
 * Stage env's new state for it, the item qgroup_add() adds next (the
 * group not full), in the group's slot for it: it->efd and QG_ENV |
 * QG_SLOT set. For envelopes that exist (a runner's state change); a new
 * one is staged with env_stage().
 */
enum rq_status qgroup_stage(struct qgroup *g, struct qgroup_item *it,
    const struct env *env, struct err *e);
/* Commit what is left, remove the slots, then free. */
void qgroup_free(struct qgroup *g);

/* Move whatever exists of sub/ID (message, envelope) to corrupt/. */
void queue_quarantine(const struct spool *sp, enum spool_sub sub,
    const char *id, const char *why);

/* What relayq queue delete, hold, release and requeue do to a message. */
enum queue_op { Q_DELETE, Q_HOLD, Q_RELEASE, Q_REQUEUE };
/*
 * Do op to message id under its lock: delete it (queued or held), hold it
 * (queue/ to hold/), release it (hold/ to queue/, due now) or requeue it
 * (due now, attempts reset). RQ_NOINPUT when it is not there, naming
 * where it is instead when that is the other side ("already held",
 * "not held").
 */
enum rq_status queue_apply(const struct spool *sp, enum queue_op op,
    const char *id, struct err *e);

#endif
