/*
 * addr.h - mail addresses: RFC 5322 address lists, envelope checks,
 * qualification of bare names.
 *
 * addr_parse_list() extracts the addr-specs of an address list (To, Cc,
 * Bcc, a command-line argument): display names, comments and group names
 * are dropped, quoted local parts stay quoted. It never allocates per
 * character and never recurses on input, so hostile input costs linear
 * time and bounded stack.
 */
#ifndef RELAYQ_ADDR_H
#define RELAYQ_ADDR_H

#include <stddef.h>
#include "err.h"

#define ADDR_MAX 512	/* longest envelope address accepted */

/* Called once per address found; a non-zero return stops parsing. */
typedef int (*addr_cb)(void *arg, const char *addr);

/*
 * Parse the address list s (len bytes; folding CRLF/LF count as white
 * space). RQ_DATAERR for unbalanced quotes, comments or angle brackets
 * and for addresses longer than ADDR_MAX. When cb fails it may fill e
 * (that status is returned), else RQ_INTERNAL. e must not be NULL.
 */
enum rq_status addr_parse_list(const char *s, size_t len, addr_cb cb,
    void *arg, struct err *e);

/*
 * An envelope address is safe to queue and to put in an SMTP command:
 * no control characters (CR, LF, NUL, ...), no unquoted white space or
 * angle brackets, at most ADDR_MAX bytes. what names it in the error.
 */
enum rq_status addr_check(const char *addr, const char *what, struct err *e);

/* "name" -> "name@domain"; addresses with '@' are copied. NULL: ENOMEM. */
char *addr_qualify(const char *addr, const char *domain);

/* Non-zero when addr has bytes >= 0x80 (needs SMTPUTF8). */
int addr_is_utf8(const char *addr);

#endif
