/*
 * pickup.h - move submitted mail from maildrop/ into the queue.
 *
 * Every maildrop entry is hostile input: it must be a regular file with
 * one link, mode 0704 (complete), and parse cleanly; anything else is
 * moved to corrupt/ with one log line while good mail keeps flowing.
 * Entries still being written (0600) are left alone while their writer
 * holds its lock; one unchanged for 5 minutes that no process holds a
 * lock on was abandoned (its writer died) and is removed with a log line.
 * (Set-gid submissions never leave one: their entries have no name until
 * they are complete, see dropper.h.) A file owned by the runner
 * itself is renamed into the queue; one owned by a user is copied, so the
 * user can no longer change it.
 */
#ifndef RELAYQ_PICKUP_H
#define RELAYQ_PICKUP_H

#include "cfg.h"
#include "err.h"
#include "spool.h"

struct aliases;

/*
 * In the spool's top directory: why the last full pickup pass left mail
 * in maildrop/ (one line, mode 0644, no message content), written by that
 * pass and removed by the next one that picks up everything. mailq shows
 * it; the log has each entry's line.
 */
#define PICKUP_WARNING	"pickup.warning"

/*
 * The aliases pickup applies: NULL when [local] aliases is not set, else
 * al loaded from it (problems logged; when the file cannot be read,
 * al->broken is set and pickup leaves mail where it is). The caller frees
 * al with aliases_free() in every case.
 */
const struct aliases *pickup_aliases(const struct cfg *c, struct aliases *al);

/*
 * Pick up every complete entry (or only_id when not NULL), expanding
 * the recipients through al (NULL: no aliases). *picked, if not NULL,
 * receives the queue id of only_id's message. Per-entry problems are
 * logged, not returned: RQ_OK unless the spool fails, or RQ_TEMP when
 * al is broken (nothing is picked up then). A full pass (only_id NULL)
 * records its problems in PICKUP_WARNING, or removes that file.
 */
enum rq_status pickup_run(const struct spool *sp, const struct aliases *al,
    const char *only_id, char *picked, struct err *e);
/* The kernel's lock table: one line per lock, naming its file. */
#define PROC_LOCKS	"/proc/locks"

/*
 * 1 when line, from PROC_LOCKS, is a lock on a file of device maj:min
 * (held, or waited for: then another line has its holder), its inode in
 * *ino; else 0 (also for a line it cannot parse).
 */
int pickup_lock_ino(const char *line, unsigned maj, unsigned min,
    unsigned long long *ino);
/*
 * 1 when line, from /proc/locks, is a lock on the file with device
 * maj:min and inode ino; else 0 (also for a line it cannot parse).
 */
int pickup_lock_line(const char *line, unsigned maj, unsigned min,
    unsigned long long ino);

/* Give queue/ID (a message without envelope) its envelope. */
enum rq_status pickup_orphan(const struct spool *sp,
    const struct aliases *al, const char *id, struct err *e);

#endif
