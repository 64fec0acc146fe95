/*
 * vis.h - show untrusted bytes on a terminal without letting them act.
 *
 * A queued message is written by whoever called sendmail, and a smarthost's
 * reply text by whoever runs it; `relayq queue show` prints both to root's
 * terminal. An escape sequence in either could retitle the window, move the
 * cursor, hide lines or (on some terminals) feed input back. The escaper
 * passes printable ASCII, TAB, LF, CR LF and well-formed UTF-8 through and
 * writes every other byte as \xHH (a lone CR as \r): C0 controls, DEL, the
 * C1 controls in either their 8-bit or their UTF-8 form (U+0080..U+009F),
 * and bytes that are not valid UTF-8 (overlong forms, surrogates, values
 * above U+10FFFF, truncated sequences). It streams: a sequence split across
 * two writes is judged whole; vis_flush ends the stream.
 */
#ifndef RELAYQ_VIS_H
#define RELAYQ_VIS_H

#include <stddef.h>
#include <stdio.h>

struct vis {
	unsigned char seq[4];	/* a UTF-8 sequence being collected */
	size_t have;		/* bytes in seq */
	size_t need;		/* its full length (0: none pending) */
	int cr;			/* a CR waits to see whether LF follows */
};

void vis_init(struct vis *v);
/* Write n bytes of p to fp, escaped; state carries to the next call. */
void vis_write(struct vis *v, FILE *fp, const void *p, size_t n);
/* Write out what is pending (a truncated sequence is escaped). */
void vis_flush(struct vis *v, FILE *fp);
/* A whole NUL-terminated string, escaped, with no state kept. */
void vis_puts(FILE *fp, const char *s);

/*
 * The short form for one-line messages (errors, verify output), where
 * only control characters matter: a C0 control or DEL (vis_is_ctl) is
 * refused where it could inject (vis_has_ctl) or shown as '?' (vis_ctl:
 * s into dst, cut to size - 1 bytes; returns dst).
 */
int vis_is_ctl(unsigned char c);
int vis_has_ctl(const char *s);
const char *vis_ctl(char *dst, size_t size, const char *s);

#endif
