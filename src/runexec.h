/*
 * runexec.h - hand work to the full relayq program.
 *
 * The submission program (sendmail) is linked without the runner and
 * without OpenSSL, so that a submission does not pay for loading and
 * relocating libraries it never uses. What needs the runner (-q, -bp,
 * -bi, -bv, and delivery right after a commit) is done by executing the
 * relayq program: RELAYQ_PROGRAM_PATH (sbindir, fixed at build time).
 * A process that is not set-id may instead use the relayq beside its own
 * executable (a relocated or uninstalled tree, the tests' DESTDIR); a
 * set-id one never looks anywhere but the built-in path. Every set-id
 * privilege is dropped before the exec: relayq, itself set-group-ID
 * when installed, takes what it needs from its own mode.
 */
#ifndef RELAYQ_RUNEXEC_H
#define RELAYQ_RUNEXEC_H

#include <sys/types.h>
#include "err.h"

/*
 * Replace this process by relayq with argv (argv[0] is kept: relayq
 * picks its persona by it). Returns only on failure: RQ_TEMP with e set.
 */
enum rq_status runexec_replace(char *const argv[], struct err *e);
/*
 * Start relayq with argv in a child: fds 0-2 on /dev/null and a new
 * session when detach (it outlives the caller), else inherited and
 * waited for. The child's pid (detach), its exit code (waited), or -1
 * with e set.
 */
pid_t runexec_spawn(char *const argv[], int detach, struct err *e);
/* In a child that outlives its caller: a new session, fds 0-2 on
 * /dev/null (the caller must not wait on our descriptors). */
void runexec_detach(void);

#endif
