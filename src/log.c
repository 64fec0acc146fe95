/*
 * log.c - diagnostics to syslog (mail facility) and/or stderr.
 * The destination is chosen once by main; library code only calls the
 * log_* functions. Lines are one per event, without secrets.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "relayq";
static int log_where = LOG_TO_STDERR;
static int log_verbosity;

void
log_init(const char *ident, int where, int verbose)
{
	/* No syslog socket (a container): do not retry a connect per line. */
	if ((where & LOG_TO_SYSLOG) && access("/dev/log", W_OK) == -1)
		where &= ~LOG_TO_SYSLOG;
	log_ident = ident;
	log_where = where;
	log_verbosity = verbose;
	if (where & LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_verbosity;
}

static void
log_emit(int pri, const char *prefix, const char *fmt, va_list ap,
    const char *suffix)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_where & LOG_TO_SYSLOG)
		syslog(pri, "%s%s%s", prefix, line, suffix ? suffix : "");
	/* Routine events reach stderr only when the user asked (-v). */
	if ((log_where & LOG_TO_STDERR) &&
	    (pri <= LOG_WARNING || log_verbosity))
		fprintf(stderr, "%s: %s%s%s\n", log_ident, prefix, line,
		    suffix ? suffix : "");
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbosity)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap, suffix);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap, NULL);
	va_end(ap);
}
