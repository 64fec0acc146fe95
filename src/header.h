/*
 * header.h - message header fields: recognising them in the input and
 * building the ones relayq adds (Received, Date, Message-ID, From).
 *
 * Everything here works on one field at a time and writes into a struct
 * buf; values from the caller (full names, addresses) are checked or
 * encoded so that they can never add a header line of their own.
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

/* "Tue, 24 Nov 2026 18:12:11 +0000" in local time. */
void header_date(char *out, size_t outlen, time_t t);

/* Append "From: NAME <addr>\n" (name quoted or RFC 2047 encoded). */
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
