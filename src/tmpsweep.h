/*
 * tmpsweep.h - what killed processes left in the spool's tmp/.
 *
 * Everything in tmp/ is written by a runner-side process of the spool
 * (never by a submission: it writes into maildrop/ only) under a name
 * that ends in ".PID", the writer's process id: staged envelopes
 * ID.env.PID, message copies ID.pickup.PID, summaries NAME.PID, and
 * maildrop entries being reaped MID.reap.PID. A writer that was killed
 * leaves its file behind for good.
 *
 * Liveness is decided by the PID, not by age: a staged envelope waits in
 * tmp/ for its group commit (queue.h), which may take as long as the
 * deliveries of the group, so no age is safe for a live runner's file.
 * A file is stale when its writer's PID names no process (kill(pid, 0)
 * fails with ESRCH) and it is not this process's. That holds when every
 * process of the spool runs in one PID namespace (one host, or one
 * container), as relayq's units, timer and cron jobs do; a spool shared
 * between PID namespaces is not supported.
 */
#ifndef RELAYQ_TMPSWEEP_H
#define RELAYQ_TMPSWEEP_H

#include "spool.h"

/*
 * Under the lock of tmp/ (which serializes the runners' writes there):
 * remove every regular file in tmp/ whose writer is gone, except a
 * maildrop entry being reaped, which is put back into maildrop/ (where
 * its reaper found it; pickup decides on it again), with one log line
 * per file. Files without a PID in their name, of a live process or of
 * another type are left alone. Problems are logged; it never fails.
 */
void tmpsweep_run(const struct spool *sp);

/*
 * The PID at the end of a tmp/ name ("...NAME.PID": digits only, no
 * leading zero, within pid_t), else -1; *stem gets the length of the
 * part before ".PID". Pure.
 */
long tmpsweep_pid(const char *name, size_t *stem);

#endif
