/*
 * linereader.h - lines of unbounded length from a file descriptor in one
 * fixed buffer: the input of submission (submit.c, standard input) and of
 * the `sendmail -bs` server (smtpd.c).
 *
 * Contract: lr_next() hands out the next line, or the next piece of a
 * line longer than the buffer, as a pointer into the reader's buffer that
 * is valid until the next call. A line ends at LF; the LF and every CR
 * just before it are not part of it, and *nl says that it ended. A piece
 * (*nl == 0) is followed by more of the same line; a CR at the end of a
 * piece is kept back, since its LF may come next. At the end of the input
 * an unterminated last line comes as a piece. Memory does not grow with
 * the input. Failures: -1 with the read(2) errno in rerrno; the reader
 * is then done. No allocation, no other side effect than read(2) and the
 * caller's before_read hook.
 */
#ifndef RELAYQ_LINEREADER_H
#define RELAYQ_LINEREADER_H

#include <stddef.h>

/* The buffer: a longer line comes in pieces. 16 KB: a submission's peak
 * memory is mostly its buffers, and more only saves read(2) calls. */
#define LR_BUF	16384

struct linereader {
	int fd;
	size_t start, end;	/* unread bytes: buf[start..end) */
	int eof;
	int rerrno;		/* errno of the failed read(), after -1 */
	/* NULL, or called before each read(2) that may wait: smtpd.c
	 * writes its pending replies there (PIPELINING). */
	void (*before_read)(void *arg);
	void *arg;
	char buf[LR_BUF];
};

void lr_init(struct linereader *r, int fd, void (*before_read)(void *),
    void *arg);
/*
 * The next line or piece: *p and *len (without the LF and the CRs before
 * it), *nl when the line ended. 1 = got one, 0 = end of input, -1 = read
 * error (rerrno).
 */
int lr_next(struct linereader *r, const char **p, size_t *len, int *nl);

#endif
