/*
 * err.c - failure classification and the one sysexits mapping.
 * A struct err carries one line of text; the status says what kind of
 * failure it was, so callers decide between retry, bounce and refuse.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static enum rq_status
err_vset(struct err *e, enum rq_status status, int with_errno,
    const char *fmt, va_list ap)
{
	int saved = errno;
	size_t len;

	if (e == NULL)
		return status;
	e->status = status;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (with_errno) {
		len = strlen(e->msg);
		snprintf(e->msg + len, sizeof(e->msg) - len, ": %s",
		    strerror(saved));
	}
	errno = saved;
	return status;
}

enum rq_status
err_set(struct err *e, enum rq_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, status, 0, fmt, ap);
	va_end(ap);
	return status;
}

enum rq_status
err_sys(struct err *e, enum rq_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, status, 1, fmt, ap);
	va_end(ap);
	return status;
}

void
err_clear(struct err *e)
{
	e->status = RQ_OK;
	e->msg[0] = '\0';
}

int
err_exitcode(enum rq_status status)
{
	switch (status) {
	case RQ_OK:
		return EX_OK;
	case RQ_TEMP:
		return EX_TEMPFAIL;
	case RQ_PERM:
		return EX_UNAVAILABLE;
	case RQ_INTERNAL:
		return EX_TEMPFAIL;	/* keep the caller retrying */
	case RQ_USAGE:
		return EX_USAGE;
	case RQ_DATAERR:
		return EX_DATAERR;
	case RQ_NOPERM:
		return EX_NOPERM;
	case RQ_CONFIG:
		return EX_CONFIG;
	case RQ_NOINPUT:
		return EX_NOINPUT;
	}
	return EX_SOFTWARE;
}

const char *
err_status_name(enum rq_status status)
{
	static const char *const names[] = {
		[RQ_OK] = "ok", [RQ_TEMP] = "temporary",
		[RQ_PERM] = "permanent", [RQ_INTERNAL] = "internal",
		[RQ_USAGE] = "usage", [RQ_DATAERR] = "data",
		[RQ_NOPERM] = "policy", [RQ_CONFIG] = "config",
		[RQ_NOINPUT] = "no input",
	};

	if ((size_t)status < sizeof(names) / sizeof(names[0]) &&
	    names[status] != NULL)
		return names[status];
	return "unknown";
}
