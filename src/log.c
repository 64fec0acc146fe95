/*
 * log.c - diagnostics to syslog (mail facility), a log file and/or
 * stderr (see log.h).
 *
 * The destinations are chosen by the command files only (log_init,
 * log_runner); library code only calls the log_* functions. Lines are
 * one per event, without secrets. A log file line is written with one
 * write(2) on an O_APPEND descriptor, so parallel runners do not mix
 * their lines. A file that cannot be (re)opened never stops delivery:
 * the lines go where syslog would put them, with a warning saying why.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"

#define LOG_LINE_MAX	2048

static const char *log_ident = "relayq";
static int log_allowed = LOG_TO_STDERR;	/* what log_init permitted */
static int log_where = LOG_TO_STDERR;	/* what is used now */
static int log_stream;		/* stderr is the log (prefixed lines) */
static int log_verbosity;
static int log_fd = -1;		/* [local] log = FILE */
static char *log_path;
static char log_host[256];
static volatile sig_atomic_t log_hup;
static int log_stream_ok;	/* stderr may become the log */

static int
log_socket_present(void)
{
	const char *p = getenv(LOG_SOCKET_ENV);

	return access(p != NULL && *p != '\0' ? p : LOG_SOCKET_PATH, W_OK) ==
	    0;
}

void
log_init(const char *ident, int where, int verbose)
{
	char *dot;

	/* No syslog socket (a container): do not retry a connect per line. */
	log_allowed = where;
	if ((where & LOG_TO_SYSLOG) && !log_socket_present())
		where &= ~LOG_TO_SYSLOG;
	log_ident = ident;
	log_where = where;
	log_verbosity = verbose;
	/* syslog's HOSTNAME field: the name without its domain. */
	if (gethostname(log_host, sizeof(log_host)) == -1 || log_host[0] ==
	    '\0')
		strlcpy(log_host, "localhost", sizeof(log_host));
	log_host[sizeof(log_host) - 1] = '\0';
	if ((dot = strchr(log_host, '.')) != NULL && dot != log_host)
		*dot = '\0';
	if (where & LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_verbosity;
}

void
log_prefix(char *out, size_t len, time_t t, const char *host,
    const char *ident, long pid)
{
	static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, len, "%s %2d %02d:%02d:%02d %s %s[%ld]: ",
	    mon[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    host, ident, pid);
}

/* The file at log_path, appended to; made 0640 when new. -1 on error. */
static int
log_file_open(const char *path)
{
	struct stat st;
	int fd, made = 1, flags = O_WRONLY | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY;

	if ((fd = open(path, flags | O_CREAT | O_EXCL, 0640)) == -1) {
		made = 0;
		if (errno != EEXIST || (fd = open(path, flags)) == -1)
			return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;		/* not a regular file */
		return -1;
	}
	if (made)	/* whatever the umask: readable by the group (adm) */
		(void)fchmod(fd, 0640);
	return fd;
}

/* SIGHUP seen: the file again (logrotate renamed it). Kept on failure. */
static void
log_file_reopen(void)
{
	int fd, saved;

	log_hup = 0;
	if (log_fd == -1 || log_path == NULL)
		return;
	if ((fd = log_file_open(log_path)) == -1) {
		saved = errno;
		log_warnx("log file %s: cannot reopen (%s); still writing to "
		    "the old one", log_path, strerror(saved));
		return;
	}
	close(log_fd);
	log_fd = fd;
}

void
log_reopen_request(void)
{
	log_hup = 1;
}

/* Syslog, or stderr as the log when there is no syslog socket. */
static void
log_to_syslog(void)
{
	log_where = log_allowed;
	if ((log_where & LOG_TO_SYSLOG) && !log_socket_present())
		log_where &= ~LOG_TO_SYSLOG;
	if (log_where & LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	else
		log_stream = log_stream_ok && (log_where & LOG_TO_STDERR);
}

void
log_runner(const char *setting, int stream_ok)
{
	int saved;

	log_stream_ok = stream_ok;
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
	log_stream = 0;
	closelog();
	if (setting != NULL && strcmp(setting, "stderr") == 0) {
		log_where = log_allowed & LOG_TO_STDERR;
		log_stream = log_where != 0;
		return;
	}
	if (setting != NULL && setting[0] == '/') {
		if ((log_fd = log_file_open(setting)) != -1 &&
		    (log_path = strdup(setting)) != NULL) {
			log_where = log_allowed & LOG_TO_STDERR;
			return;
		}
		saved = errno;
		if (log_fd != -1)
			close(log_fd);
		log_fd = -1;
		log_to_syslog();
		log_warnx("log file %s: cannot open (%s); logging to %s "
		    "instead", setting, strerror(saved),
		    (log_where & LOG_TO_SYSLOG) ? "syslog" : "stderr");
		return;
	}
	log_to_syslog();
}

/* Control characters would split or forge a line of the file. */
static void
log_flatten(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* One prefixed line to fd, in one write. */
static void
log_write_line(int fd, const char *ident, const char *prefix,
    const char *line, const char *suffix)
{
	char out[LOG_LINE_MAX + 512], head[384];
	int n;

	log_prefix(head, sizeof(head), time(NULL), log_host, ident,
	    (long)getpid());
	n = snprintf(out, sizeof(out), "%s%s%s%s\n", head, prefix, line,
	    suffix);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	/* Nowhere to report a failed log write: the line is lost. */
	if (write(fd, out, (size_t)n) != n)
		return;
}

static void
log_emit(int pri, const char *agent, const char *prefix, const char *fmt,
    va_list ap, const char *suffix)
{
	static char tag[64];
	char line[LOG_LINE_MAX];
	const char *ident = log_ident;

	vsnprintf(line, sizeof(line), fmt, ap);
	suffix = suffix != NULL ? suffix : "";
	if (agent != NULL) {
		snprintf(tag, sizeof(tag), "relayq/%s", agent);
		ident = tag;
	}
	if (log_where & LOG_TO_SYSLOG) {
		if (agent != NULL)	/* syslog's tag is the program name */
			openlog(tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
		syslog(pri, "%s%s%s", prefix, line, suffix);
		if (agent != NULL)
			openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
	log_flatten(line);
	if (log_hup)
		log_file_reopen();
	if (log_fd != -1)
		log_write_line(log_fd, ident, prefix, line, suffix);
	if (!(log_where & LOG_TO_STDERR))
		return;
	if (log_stream)
		log_write_line(STDERR_FILENO, ident, prefix, line, suffix);
	/* Routine events reach stderr only when the user asked (-v). */
	else if (pri <= LOG_WARNING || log_verbosity)
		fprintf(stderr, "%s: %s%s%s\n", log_ident, prefix, line,
		    suffix);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, NULL, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_agent(const char *agent, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, agent, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbosity)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, NULL, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_WARNING, NULL, "warning: ", fmt, ap, suffix);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, NULL, "warning: ", fmt, ap, NULL);
	va_end(ap);
}
