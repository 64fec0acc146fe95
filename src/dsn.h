/*
 * dsn.h - delivery status notification requests (RFC 3461): what
 * `sendmail -N notify -R ret -V envid` asked for, kept with the message
 * and handed to the smarthost when it offers DSN, and the xtext encoding
 * these parameters use on the wire.
 *
 * Pure functions without I/O. Parsers return 0, or -1 for a value that is
 * not valid (the caller reports it; nothing is half-set).
 */
#ifndef RELAYQ_DSN_H
#define RELAYQ_DSN_H

#include <stddef.h>

/* NOTIFY keywords (bits); 0 means "not given" (the server's default). */
#define DSN_NOTIFY_NEVER	0x1
#define DSN_NOTIFY_SUCCESS	0x2
#define DSN_NOTIFY_FAILURE	0x4
#define DSN_NOTIFY_DELAY	0x8

enum dsn_ret { DSN_RET_UNSET, DSN_RET_FULL, DSN_RET_HDRS };

#define DSN_ENVID_MAX	100	/* xtext-encoded length limit (RFC 3461) */

struct dsn_req {
	unsigned notify;		/* DSN_NOTIFY_* bits, 0: not given */
	enum dsn_ret ret;
	char envid[DSN_ENVID_MAX + 1];	/* decoded; "" when not given */
};

/*
 * "never" or a comma list of success, failure, delay (any case). NEVER
 * cannot be combined with the others; repeats are fine.
 */
int dsn_notify_parse(const char *s, unsigned *out);
/* Canonical text ("NEVER", "SUCCESS,FAILURE,DELAY"...) into out. */
void dsn_notify_str(unsigned notify, char *out, size_t size);
/* "full" or "hdrs" (any case). */
int dsn_ret_parse(const char *s, enum dsn_ret *out);
/* "FULL", "HDRS", or "" when unset. */
const char *dsn_ret_name(enum dsn_ret ret);
/*
 * The -V argument: taken as xtext when it is valid xtext (sendmail's
 * reading: "+XX" hex escapes are decoded), else literally. The result
 * must be printable ASCII (space allowed) and fit DSN_ENVID_MAX once
 * encoded.
 */
int dsn_envid_parse(const char *s, char out[DSN_ENVID_MAX + 1]);
/* A stored (decoded) envid is acceptable: the same checks. */
int dsn_envid_valid(const char *s);
/*
 * xtext (RFC 3461 4): bytes 0x21..0x7e except '+' and '=' as they are,
 * others as "+XX" (upper-case hex). Returns the length of the encoding;
 * out gets it NUL-terminated when it fits size (like snprintf).
 */
size_t dsn_xtext(const char *s, char *out, size_t size);
/* The message asked for anything at all. */
int dsn_req_any(const struct dsn_req *d);
/* Should a failure of this recipient be reported to the sender? */
int dsn_wants_failure(const struct dsn_req *d);

#endif
