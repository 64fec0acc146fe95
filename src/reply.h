/*
 * reply.h - strict, bounded parsing of SMTP replies (RFC 5321 4.2) and of
 * the EHLO capability list. Pure: no I/O, so it is tested without a socket.
 *
 * A reply is fed one line at a time, without its CRLF. Anything outside
 * the grammar is REPLY_BAD, never a success: the code is exactly three
 * digits (first 2-5, second 0-5) followed by ' ', '-' or the end of the
 * line; every line of a multi-line reply repeats the same code; a line
 * holds no NUL, CR or LF; line length, line count and total size are
 * bounded. Every byte the server sends is untrusted.
 */
#ifndef RELAYQ_REPLY_H
#define RELAYQ_REPLY_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

#define REPLY_LINE_MAX	4096	/* bytes of one line, without CRLF */
#define REPLY_LINES_MAX	512	/* lines of one reply */
#define REPLY_SIZE_MAX	65536	/* text of all lines together */
#define REPLY_ESC_MAX	16	/* "5.123.456" and a NUL fit */

enum reply_state {
	REPLY_MORE,	/* a continuation line ("250-"): feed the next one */
	REPLY_DONE,	/* the last line was seen: the reply is complete */
	REPLY_BAD,	/* malformed: the session cannot be trusted */
};

struct reply {
	enum reply_state state;
	int code;		/* 200..559 once a line was accepted */
	char esc[REPLY_ESC_MAX]; /* enhanced status "4.3.0", or "" */
	size_t nlines;
	struct buf text;	/* each line's text after code and separator,
				   lines joined by '\n' */
	const char *why;	/* REPLY_BAD: a static description */
};

/* Prepare r for its first reply (reply_free() releases it). */
void reply_init(struct reply *r);
/* Forget the previous reply, keep the memory: ready for the next one. */
void reply_reset(struct reply *r);
void reply_free(struct reply *r);

/*
 * Feed one line (len bytes, no CRLF; may contain any byte). Returns the
 * new state. Once DONE or BAD, every further line is BAD until
 * reply_reset(). On BAD, r->why says what was wrong.
 */
enum reply_state reply_feed(struct reply *r, const char *line, size_t len);

/*
 * The text of line i (0-based; after the code and the separator), its
 * length in *len. NULL when i >= r->nlines. Not NUL-terminated at *len.
 */
const char *reply_line(const struct reply *r, size_t i, size_t *len);

/*
 * A one-line summary for reasons and logs: "550 5.1.1 text more text",
 * the lines' texts joined by spaces, non-printable bytes replaced by '?',
 * cut at size - 1 bytes (ending in "..." when cut). Returns dst.
 */
char *reply_summary(const struct reply *r, char *dst, size_t size);

/* What an EHLO reply advertised. */
struct reply_caps {
	int pipelining;
	int size;		/* SIZE advertised: send SIZE= with MAIL */
	off_t size_max;		/* the SIZE limit; 0: none given */
	int eightbitmime;
	int smtputf8;
	int dsn;
	int starttls;
	int enhancedstatuscodes;
	unsigned auth;		/* bits (1u << enum auth_mech) offered */
};

/*
 * Fill c from a complete EHLO reply (c is cleared first; the first line,
 * the server's greeting, is skipped). Keywords are case-insensitive;
 * unknown keywords and mechanisms are ignored; "AUTH=" (the pre-RFC form)
 * counts as AUTH. A SIZE value that is not a number counts as no limit.
 */
void reply_parse_caps(const struct reply *r, struct reply_caps *c);

#endif
