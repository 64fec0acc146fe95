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
 * RQ_USAGE when there is no recipient. Lines over 998 octets are kept:
 * folded, or the body re-encoded as quoted-printable or base64 (see
 * submit.c).
 *
 * Sizes: max_size counts the message as the caller sent it (line ends as
 * one octet each); a larger one is refused with RQ_DATAERR ("message too
 * large: N octets (limit [queue] max_size = M)"). The queue file of one
 * submission, the temporary copy of the re-encoding included, never
 * grows past SUBMIT_STORED_MAX(max_size) octets of message: the added
 * header fields and the re-encoding (at most about twice the body, see
 * reencode.h) fit in it, so a message within max_size is never refused
 * for them; past it, RQ_DATAERR too.
 */
#ifndef RELAYQ_SUBMIT_H
#define RELAYQ_SUBMIT_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"
#include "spool.h"

#define SUBMIT_STORED_SLACK	(256 << 10)	/* fields relayq adds */
#define SUBMIT_STORED_MAX(max)	\
	((max) > 0 ? 4 * (off_t)(max) + SUBMIT_STORED_SLACK : (off_t)0)

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
	const struct dsn_req *dsn;	/* -N -R -V, or NULL */
	/*
	 * NULL, or how to get a new maildrop entry when this process may
	 * no longer create one (sendmail -bs, set-gid): an fd open for
	 * reading and writing and its id, or -1 with errno.
	 */
	int (*create)(void *arg, char id[SPOOL_ID_LEN + 1]);
	/* With create: commit fd as id (link it, or check its name is
	 * still fd): 1 yes, 0 no with errno (spool_writer.named). */
	int (*named)(void *arg, const char *id, int fd);
	void *create_arg;
};

enum rq_status submit_message(int dirfd, const struct submit_opts *o,
    int infd, char id[SPOOL_ID_LEN + 1], struct err *e);

/*
 * The same, fed by the caller (sendmail -bs): submit_begin() creates the
 * entry (and drops privileges as o says; o must outlive the submission),
 * submit_feed() takes one line or a piece of one (p[0..len) without its
 * line end; nl set when the line ended there) and returns 1 once a lone
 * "." ended the message (never with o->ignore_dots), submit_end() commits
 * (RQ_OK: queued under *id) or removes the entry, and frees m either way;
 * submit_cancel() removes the entry and frees m (NULL is fine).
 */
struct submit;
enum rq_status submit_begin(int dirfd, const struct submit_opts *o,
    struct submit **m, struct err *e);
int submit_feed(struct submit *m, const char *p, size_t len, int nl);
enum rq_status submit_end(struct submit *m, char id[SPOOL_ID_LEN + 1],
    struct err *e);
void submit_cancel(struct submit *m);

/*
 * Split, qualify and check command-line recipient arguments (each may be
 * an address list "a@x, b@y"): *out is a new deduplicated array the
 * caller frees. RQ_DATAERR names the bad argument.
 */
enum rq_status submit_parse_rcpts(char *const *args, size_t nargs,
    const char *domain, char ***out, size_t *nout, struct err *e);

#endif
