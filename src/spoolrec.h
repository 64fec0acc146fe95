/*
 * spoolrec.h - what the two on-disk formats share, for spool.c (message
 * files) and env.c (envelopes) alone: the "T value\n" record syntax, the
 * DSN records both carry, and whole reads and writes. No other module
 * includes it.
 */
#ifndef RELAYQ_SPOOLREC_H
#define RELAYQ_SPOOLREC_H

#include <stddef.h>
#include <sys/types.h>
#include "dsn.h"
#include "spool.h"

#define ENV_MAX		SPOOL_ENV_MAX
#define REASON_MAX	SPOOL_REASON_MAX
#define DSN_REC_MAX	(DSN_ENVID_MAX + 16)

/* The values of the D records for d ("NOTIFY FAILURE"...); how many. */
size_t dsn_values(const struct dsn_req *d, char v[3][DSN_REC_MAX]);
/* One D record's value into d; -1 when malformed or repeated. */
int dsn_value(struct dsn_req *d, const char *v);
/* All n bytes of p to fd; -1 with errno. */
int write_all(int fd, const char *p, size_t n);
/* All n bytes at off of fd into p; -1 with errno (EIO: shorter). */
int pread_all(int fd, char *p, size_t n, off_t off);
/* Next "T value\n" record in [*p, end): type and NUL-terminated value. */
int next_rec(char **p, char *end, char *type, char **value);
/* s as a number in 0..max into *out; -1 when it is none. */
int parse_ll(const char *s, long long max, long long *out);

#endif
