/*
 * daemon.h - `relayq daemon`: one long-running queue runner, and the
 * submitter's side of its wake-up.
 *
 * The daemon runs as the spool owner. It holds an exclusive lock on
 * SPOOL/daemon.lock (its pid inside) for its whole life, so a second
 * daemon on the same spool stops at once. It waits on the FIFO
 * SPOOL/wakeup (relayq:relayq-drop 0620: only the set-group-ID submitter
 * may write it): each byte means "mail was committed to the maildrop".
 * It then picks the new mail up and delivers it at once; it also runs a
 * full pass (retries) when the earliest deferred message is due, and at
 * least every DAEMON_SCAN_SECONDS, so a lost wake-up only delays. The
 * smarthost session stays open DAEMON_KEEP_SECONDS after the last use and
 * is checked with RSET before reuse. SIGHUP reloads the configuration (a
 * broken file keeps the one in use) and runs a full pass; SIGTERM and
 * SIGINT finish the message in flight, save its state and return.
 *
 * Error policy: problems with one message or the smarthost are logged
 * and retried later, never returned; daemon_run() returns only on a
 * signal (RQ_OK) or when the spool cannot be used at start (RQ_TEMP, or
 * RQ_TEMP with "already running").
 */
#ifndef RELAYQ_DAEMON_H
#define RELAYQ_DAEMON_H

#include "cfg.h"
#include "err.h"

#define DAEMON_LOCK_NAME	"daemon.lock"
#define DAEMON_FIFO_NAME	"wakeup"
#define DAEMON_KEEP_SECONDS	5
#define DAEMON_SCAN_SECONDS	60

/*
 * Run until SIGTERM/SIGINT. c is the loaded configuration (replaced on
 * SIGHUP from c->path; must_exist as for cfg_load()); the caller has
 * already become the spool owner. verbose: SMTP dialogue on stderr.
 */
enum rq_status daemon_run(struct cfg *c, int must_exist, int verbose,
    struct err *e);

/*
 * Submitter: open the daemon's FIFO for writing, without blocking, while
 * the set-group-ID privilege is still held. -1 when there is none or no
 * daemon reads it (then nothing waits for this submission).
 */
int daemon_wake_open(const char *spool_dir);
/*
 * After the commit: tell the daemon (one byte, never blocking) and close
 * fd. 0 when a daemon will see it; -1 when there is none (fd -1) or it
 * went away, so the caller delivers by other means.
 */
int daemon_wake(int fd);

#endif
