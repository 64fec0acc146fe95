/*
 * reencode.h - re-encode the body of an uncommitted message in its own
 * queue file, so that no line is longer than SMTP allows: as
 * quoted-printable, or as base64 when quoted-printable would more than
 * double the body.
 *
 * Used by submission for single-part text with a line over 998 octets.
 * The choice bounds what is stored: quoted-printable is about the body's
 * size for mostly ASCII text but up to three times it for 8-bit bytes;
 * base64 of such a body is 4/3 of it. Either way the new body is at most
 * about 2.1 times the old one (see reencode.c), whatever its bytes.
 */
#ifndef RELAYQ_REENCODE_H
#define RELAYQ_REENCODE_H

#include <sys/types.h>
#include "err.h"

/*
 * The message is [start, start + len) of fd (LF line ends), its body
 * from start + body on. The new header (without the old
 * Content-Transfer-Encoding field, with "MIME-Version: 1.0" when
 * add_mime, and the new Content-Transfer-Encoding) and the encoded body
 * are written after the message, then moved down over it and the file
 * truncated: memory stays at a few 64 KiB buffers, no second file is
 * made, the file keeps its mode (the entry stays uncommitted).
 *
 * The file never grows past start + limit octets (old and new message
 * together; limit 0: no bound): RQ_DATAERR, naming the limit, when it
 * would. Read or write failures: RQ_TEMP. On RQ_OK *newlen is the new
 * message length and the file offset is at its end.
 */
enum rq_status reencode_body(int fd, off_t start, off_t len, off_t body,
    int add_mime, off_t limit, off_t *newlen, struct err *e);

#endif
