/*
 * submit.h - turn a message on standard input into a maildrop entry.
 *
 * submit_message() streams the input into the spool (memory does not grow
 * with the message size: only one header field and the recipient list are
 * held), normalises line ends (CRLF and LF in, LF stored), applies the
 * sendmail rules (-t, -i, Bcc removal, missing Date/Message-ID/From, a
 * Received field) and commits durably. RQ_OK means the message is safely
 * queued under *id. Before that point every failure leaves nothing a
 * runner would pick up: RQ_TEMP for resources, RQ_DATAERR for bad input,
 * RQ_USAGE when there is no recipient.
 */
#ifndef RELAYQ_SUBMIT_H
#define RELAYQ_SUBMIT_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"
#include "spool.h"

struct submit_opts {
	const char *sender;		/* envelope sender; "" for <> */
	const char *from_addr;		/* for an added From: field */
	const char *fullname;		/* -F or GECOS; NULL for none */
	int extract;			/* -t: recipients from headers */
	int ignore_dots;		/* -i: a lone "." is data */
	const char *const *rcpts;	/* command-line recipients */
	size_t nrcpt;
	uid_t uid;
	const char *hostname;		/* Received, Message-ID */
	const char *domain;		/* qualifies bare names */
	off_t max_size;			/* 0: no limit */
	int drop_privileges;		/* priv_drop() once the file exists */
};

enum rq_status submit_message(int dirfd, const struct submit_opts *o,
    int infd, char id[SPOOL_ID_LEN + 1], struct err *e);

/*
 * Split, qualify and check command-line recipient arguments (each may be
 * an address list "a@x, b@y"): *out is a new deduplicated array the
 * caller frees. RQ_DATAERR names the bad argument.
 */
enum rq_status submit_parse_rcpts(char *const *args, size_t nargs,
    const char *domain, char ***out, size_t *nout, struct err *e);

#endif
