/*
 * help.h - every usage and help text of relayq's command lines, in one
 * table: the relayq command and each of its subcommands, and the
 * sendmail, mailq and newaliases programs. Command files call these and
 * keep no usage text of their own, so that `--help`, `relayq help X` and
 * the text printed after a usage error never drift apart.
 *
 * A topic is a command as typed after "relayq" ("run", "queue show"),
 * "relayq" itself, or a program name ("sendmail", "mailq",
 * "newaliases"). Plain strings only: no configuration, no OpenSSL, no
 * I/O but the FILE given, so any program may link this and print help
 * before it has read a configuration file.
 *
 * Exit codes stay with the callers: on --help they print to stdout and
 * exit 0; after a usage error they print to stderr and exit 64.
 */
#ifndef RELAYQ_HELP_H
#define RELAYQ_HELP_H

#include <stdarg.h>
#include <stdio.h>
#include "err.h"

/* The text for topic (ends in a newline), or NULL: no such topic. */
const char *help_text(const char *topic);

/*
 * The topic named by the words argv[0..argc): "queue" and its
 * subcommand make one topic ("queue show"); other commands are one word.
 * Only relayq's commands: not "relayq", "sendmail", "mailq" or
 * "newaliases" (help_text() has those too).
 * NULL when the words name no command; *used (if not NULL) is how many
 * words the topic took (1 or 2).
 */
const char *help_topic(int argc, char **argv, int *used);

/* Print topic's text to fp; -1 when there is no such topic. */
int help_print(FILE *fp, const char *topic);

/*
 * A usage error: "PROG: MESSAGE" then topic's text, to stderr. The
 * caller returns EX_USAGE.
 */
void help_misuse(const char *prog, const char *topic, const char *fmt, ...)
    RQ_PRINTF(3, 4);
/* The same with a va_list, for callers with their own variadic front. */
void help_vmisuse(const char *prog, const char *topic, const char *fmt,
    va_list ap) RQ_PRINTF(3, 0);

/* Non-zero when argv[0..argc) holds "--help" (before any "--"). */
int help_asked(int argc, char **argv);

#endif
