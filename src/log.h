/*
 * log.h - diagnostics. Messages go to syslog (facility mail), a log file
 * and/or stderr, as the command chose at start-up. log_warn appends
 * strerror(errno); log_warnx does not. Nothing here exits: fatal
 * decisions belong to main files. Callers never pass secrets: the SMTP
 * dialogue is masked before logging.
 *
 * stderr is used in one of two ways. As a diagnostic channel (every
 * command): warnings always, routine lines only with -v, as
 * "IDENT: text". As the log itself (a queue runner with `log = stderr`,
 * or with no syslog socket): every line, in the shape a log file has.
 * Lines on a log file or on stderr as the log start like syslog's:
 * "Mon DD HH:MM:SS HOST IDENT[PID]: " (local time).
 */
#ifndef RELAYQ_LOG_H
#define RELAYQ_LOG_H

#include <stddef.h>
#include <time.h>
#include "err.h"

#define LOG_TO_STDERR	0x1
#define LOG_TO_SYSLOG	0x2

/*
 * The syslog socket looked for; RELAYQ_TEST_SYSLOG_SOCKET replaces it
 * (a test hook: a path that does not exist means "no syslog").
 */
#define LOG_SOCKET_PATH		"/dev/log"
#define LOG_SOCKET_ENV		"RELAYQ_TEST_SYSLOG_SOCKET"

/*
 * where: the destinations allowed (LOG_TO_*). Syslog is dropped when its
 * socket is missing. Without LOG_TO_STDERR (sendmail -bs: stderr belongs
 * to the protocol's caller) nothing is ever written to stderr.
 */
void log_init(const char *ident, int where, int verbose);
int log_verbose(void);

/*
 * The queue runner's log, from [local] log (NULL: syslog): syslog; the
 * file at an absolute path (created 0640, appended to), falling back,
 * with one line saying why, to what "syslog" gives; or "stderr". Syslog
 * without a socket means stderr as the log when stream_ok (relayq run
 * and daemon; not sendmail -q, which cron jobs expect to be silent) and
 * stderr is allowed. Called again (relayq daemon's reload), it closes
 * and reopens. Only the spool owner's runner calls it: submission never
 * writes the file.
 */
void log_runner(const char *setting, int stream_ok);
/* Async-signal-safe: the log file is reopened before its next line
 * (SIGHUP, after logrotate renamed it). */
void log_reopen_request(void);

/*
 * The syslog-like prefix of a log file line at t: "Dec  6 23:05:01 host
 * ident[pid]: " into out (always terminated). The month is in English
 * whatever the locale, as syslog writes it.
 */
void log_prefix(char *out, size_t len, time_t t, const char *host,
    const char *ident, long pid);

void log_info(const char *fmt, ...) RQ_PRINTF(1, 2);
void log_debug(const char *fmt, ...) RQ_PRINTF(1, 2);
void log_warn(const char *fmt, ...) RQ_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) RQ_PRINTF(1, 2);
/*
 * A routine line under the program name "relayq/AGENT" (qmgr, smtp,
 * pickup, bounce: Postfix's names, so that pflogsumm --syslog-name=relayq
 * reads them; see relayq(8) LOGGING).
 */
void log_agent(const char *agent, const char *fmt, ...) RQ_PRINTF(2, 3);

#endif
