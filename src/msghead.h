/*
 * msghead.h - the header block of a stored message, for the runner's
 * decisions about it (From rewrite, alert requests, priority).
 *
 * The message file holds LF line ends; the header block is everything up
 * to the first empty line (all of it when there is none). Reading is
 * bounded by MSGHEAD_MAX: a longer header block is RQ_PERM ("cannot be
 * inspected"), a short read RQ_TEMP.
 */
#ifndef RELAYQ_MSGHEAD_H
#define RELAYQ_MSGHEAD_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "err.h"

#define MSGHEAD_MAX	(1 << 20)

/*
 * Read the header block of the message at fd [off, off + len) into raw
 * (which may hold a little more); *hlen is its length with its last LF.
 */
enum rq_status msghead_read(int fd, off_t off, off_t len, struct buf *raw,
    size_t *hlen, struct err *e);

/* The end of the field starting at p of text[0..len): after its last
 * line's LF (continuation lines included). */
size_t msghead_field_end(const char *text, size_t len, size_t p);

/*
 * The value of the first field called name (unfolded, white space around
 * it trimmed) into out (reset first). 0, or -1 when there is none.
 */
int msghead_value(const char *text, size_t len, const char *name,
    struct buf *out);

#endif
