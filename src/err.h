/*
 * err.h - how relayq classifies failures.
 *
 * Library modules never exit: they return an rq_status and fill a
 * caller-owned struct err with one human-readable line that says what went
 * wrong and where. Only main files turn a status into an exit code, through
 * err_exitcode() (the one sysexits mapping).
 *
 * Classes: RQ_TEMP (retry later, keep the mail), RQ_PERM (the smarthost or
 * the input said no for good), RQ_INTERNAL (our bug or our resources: keep
 * the mail, log loudly), and the caller mistakes RQ_USAGE, RQ_DATAERR,
 * RQ_NOPERM, RQ_CONFIG.
 */
#ifndef RELAYQ_ERR_H
#define RELAYQ_ERR_H

#include <stdarg.h>

enum rq_status {
	RQ_OK = 0,
	RQ_TEMP,	/* transient: network, 4xx, TLS, resources */
	RQ_PERM,	/* permanent: 5xx for this message or recipient */
	RQ_INTERNAL,	/* software or OS error: keep the mail */
	RQ_USAGE,	/* bad command line */
	RQ_DATAERR,	/* bad input data */
	RQ_NOPERM,	/* refused by policy */
	RQ_CONFIG,	/* bad configuration */
	RQ_NOINPUT,	/* named file or queue entry does not exist */
};

#define ERR_MSG_MAX 1024

struct err {
	enum rq_status status;
	char msg[ERR_MSG_MAX];
};

#define RQ_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Fill e (if not NULL) and return status. */
enum rq_status err_set(struct err *e, enum rq_status status,
    const char *fmt, ...) RQ_PRINTF(3, 4);
/* As err_set, with ": strerror(errno)" appended (errno of the call time). */
enum rq_status err_sys(struct err *e, enum rq_status status,
    const char *fmt, ...) RQ_PRINTF(3, 4);
void err_clear(struct err *e);
/* The sysexits.h code for a status: the one mapping main files use. */
int err_exitcode(enum rq_status status);
const char *err_status_name(enum rq_status status);

#endif
