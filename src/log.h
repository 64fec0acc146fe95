/*
 * log.h - diagnostics. Messages go to syslog (facility mail) and/or stderr,
 * as main chose at start-up. log_warn appends strerror(errno); log_warnx
 * does not. Nothing here exits: fatal decisions belong to main files.
 * Callers never pass secrets: the SMTP dialogue is masked before logging.
 */
#ifndef RELAYQ_LOG_H
#define RELAYQ_LOG_H

#include "err.h"

#define LOG_TO_STDERR	0x1
#define LOG_TO_SYSLOG	0x2

void log_init(const char *ident, int where, int verbose);
int log_verbose(void);
void log_info(const char *fmt, ...) RQ_PRINTF(1, 2);
void log_debug(const char *fmt, ...) RQ_PRINTF(1, 2);
void log_warn(const char *fmt, ...) RQ_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) RQ_PRINTF(1, 2);

#endif
