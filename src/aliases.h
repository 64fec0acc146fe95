/*
 * aliases.h - the aliases file (sendmail/Postfix format), read as text.
 *
 * There is no database: the runner reads the file at each pickup pass and
 * newaliases (sendmail -bi) only checks it. A file is a list of entries
 * "name: target, target"; a line starting with white space continues the
 * previous entry; blank lines and lines whose first non-blank character
 * is '#' are ignored (they do not end an entry). Names are local parts,
 * compared case-insensitively, optionally quoted. Targets are addresses
 * (an RFC 5322 list) or local names, which are looked up again.
 *
 * A null client cannot run commands ("|cmd"), write files ("/path") nor
 * read other files (":include:"): such targets are problems for
 * newaliases and are skipped, with a note, at expansion. Nothing in this
 * module ever executes, opens or writes a target.
 *
 * Error policy: a broken entry is a problem (line + text) and is left out;
 * the good entries still apply. A file that cannot be read at all is
 * RQ_TEMP: the runner must then leave mail alone rather than send it
 * unaliased. Everything is bounded (ALIASES_* below).
 */
#ifndef RELAYQ_ALIASES_H
#define RELAYQ_ALIASES_H

#include <stddef.h>
#include <stdio.h>
#include "err.h"

#define ALIASES_LINE_MAX	4096	/* bytes in one physical line */
#define ALIASES_ENTRY_MAX	65536	/* bytes in one entry (joined) */
#define ALIASES_MAX		100000	/* entries in a file */
#define ALIASES_DEPTH_MAX	10	/* nested look-ups */
#define ALIASES_EXPAND_MAX	1000	/* addresses from one recipient */

struct alias_target {
	char *text;		/* an address or local name, or the raw text
				 * of an unsupported target */
	int supported;		/* 0: |command, /file, :include: */
};

struct alias {
	char *name;		/* unquoted, as written */
	struct alias_target *t;	/* in order, duplicates removed */
	size_t nt;
	size_t vlen;		/* length of the value as written */
	int line;
};

struct alias_problem {
	int line;
	size_t seq;		/* order found, for a stable sort */
	char *msg;
};

struct aliases {
	char *path;		/* for messages */
	char *domain;		/* the local domain */
	struct alias *v;	/* sorted by name (case-insensitive) */
	size_t n;
	size_t longest;		/* sendmail's summary: longest value+1 */
	size_t total;		/* sum of name + 1 + value + 1 */
	struct alias_problem *p;	/* sorted by line */
	size_t np;
	char broken[ERR_MSG_MAX];	/* set by aliases_load when the
					 * file cannot be used: why (pickup
					 * then leaves mail alone) */
};

/*
 * Read path into al for the local domain. RQ_OK even when entries had
 * problems (al->p); RQ_NOINPUT when the file does not exist, RQ_TEMP
 * when it cannot be read, is not a regular file or is group- or
 * world-writable (anyone could redirect mail), RQ_INTERNAL when memory
 * runs out: then al->broken holds e->msg. al is always safe to free.
 */
enum rq_status aliases_load(struct aliases *al, const char *path,
    const char *domain, struct err *e);
/* The same from an open stream; name is used in messages. */
enum rq_status aliases_read(struct aliases *al, FILE *fp, const char *name,
    const char *domain, struct err *e);
void aliases_free(struct aliases *al);

/*
 * newaliases: add to al->p what only shows when entries are followed
 * (loops through other names, nesting deeper than ALIASES_DEPTH_MAX,
 * expansions over ALIASES_EXPAND_MAX). A name listing itself is not a
 * loop: sendmail's idiom for "deliver here too". RQ_INTERNAL on ENOMEM.
 */
enum rq_status aliases_check(struct aliases *al, struct err *e);

/* The result of expanding an envelope's recipients. */
struct aliases_exp {
	char **addr;		/* in order, deduplicated (any case) */
	size_t n;
	char **notes;		/* what was skipped or cut, for the log */
	size_t nnotes;
	int changed;		/* some recipient was an alias */
};

/*
 * Expand rcpts[0..n). A recipient whose domain is al->domain (or that
 * has none) has its local part looked up; results without a domain are
 * qualified with al->domain. A name met again on its own path (a loop, or
 * a self-reference) is delivered as is, qualified; a recipient whose
 * alias yields nothing deliverable is kept as it was (never dropped).
 * Each recipient yields at most ALIASES_EXPAND_MAX addresses (the rest
 * are dropped, with a note). RQ_INTERNAL on ENOMEM.
 */
enum rq_status aliases_expand(const struct aliases *al,
    const char *const *rcpts, size_t n, struct aliases_exp *x,
    struct err *e);
void aliases_exp_free(struct aliases_exp *x);

#endif
