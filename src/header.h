/*
 * header.h - message header fields: recognising them in the input,
 * folding them, and building the ones relayq adds (Received, Date,
 * Message-ID, From).
 *
 * Everything here works on one field at a time and writes into a struct
 * buf (or a sink); values from the caller (full names, addresses) are
 * checked or encoded so that they can never add a header line of their
 * own. Every field relayq writes goes through header_fold(): no line of
 * it is longer than HEADER_LINE_MAX octets (RFC 5322 2.1.1).
 */
#ifndef RELAYQ_HEADER_H
#define RELAYQ_HEADER_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"

/*
 * If line[0..len) starts a header field ("Name:" with an RFC 5322 field
 * name, optional white space before the colon), the name's length; else 0.
 */
size_t header_name_len(const char *line, size_t len);
/* Non-zero when line starts the field called name (case-insensitive). */
int header_is(const char *line, size_t len, const char *name);
/* Non-zero for a continuation line (starts with space or tab). */
int header_is_continuation(const char *line, size_t len);

#define HEADER_LINE_MAX		998	/* RFC 5322 2.1.1: MUST, no CRLF */
#define HEADER_LINE_SOFT	78	/* RFC 5322 2.1.1: SHOULD */
#define HEADER_FULLNAME_MAX	1000	/* octets of a full name kept */

/* Where folded text goes: 0, or -1 to stop (header_fold returns it). */
typedef int (*header_sink)(void *arg, const void *p, size_t n);

/*
 * Write the header text f[0..len) to out, LF after each line: one field or
 * several, a line that starts with white space continuing the one before.
 * A line longer than over octets (HEADER_LINE_SOFT for fields relayq
 * makes, HEADER_LINE_MAX to leave the caller's alone when they are legal)
 * is folded: before white space (never right after a backslash, never
 * leaving a line of white space only, not before the colon of a field's
 * first line), at the last place within HEADER_LINE_SOFT octets where
 * there is one, else the first that keeps the line within
 * HEADER_LINE_MAX; outside quoted strings (as tracked from the start of
 * each line), and inside one only when the line would not fit
 * HEADER_LINE_MAX otherwise. A run without white space too long for that
 * is split at HEADER_LINE_MAX with a space put in (at a UTF-8 character
 * boundary): the only way left to keep the line legal, so relayq's own
 * fields avoid such runs (header_add_from). -1 when out failed, else 0.
 */
int header_fold(const char *f, size_t len, size_t over, header_sink out,
    void *arg);
/* header_fold() appending to a buf. */
int header_fold_buf(struct buf *b, const char *f, size_t len, size_t over);
/*
 * Fold, with over HEADER_LINE_SOFT, the fields appended to b since offset
 * start (for fields relayq builds with buf_printf). -1 on ENOMEM or when
 * b's maximum is reached.
 */
int header_fold_since(struct buf *b, size_t start);

/* "Tue, 24 Nov 2026 18:12:11 +0000" in local time. */
void header_date(char *out, size_t outlen, time_t t);

/*
 * Append "From: NAME <addr>\n", folded. The full name (at most its first
 * HEADER_FULLNAME_MAX octets, cut at a UTF-8 character boundary) is an
 * RFC 5322 quoted string when it is printable ASCII with no word longer
 * than a folded line takes; otherwise RFC 2047 encoded-words (UTF-8,
 * base64, at most 75 characters each, never splitting a character)
 * separated by white space, so that the field folds between them.
 */
int header_add_from(struct buf *b, const char *fullname, const char *addr);
/* Append "Message-ID: <...@host>\n". */
int header_add_message_id(struct buf *b, const char *id, const char *host,
    time_t t);
/* Append "Date: ...\n". */
int header_add_date(struct buf *b, time_t t);
/* Append the Received: field for a locally submitted message. */
int header_add_received(struct buf *b, const char *host, uid_t uid,
    const char *id, time_t t);

#endif
