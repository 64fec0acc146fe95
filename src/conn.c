/*
 * conn.c - TCP/TLS client connection with deadlines (see conn.h).
 *
 * Invariants: the socket is non-blocking and close-on-exec; every wait is
 * a poll() bounded by c->deadline (CLOCK_MONOTONIC, milliseconds); the
 * input buffer never holds more than CONN_RBUF bytes and a line is
 * rejected before it could exceed CONN_LINE_MAX; queued output bytes
 * are wiped once sent (they may be AUTH secrets); message data is sent
 * from the caller's buffer (conn_write_now), never queued. Error policy: RQ_TEMP with a
 * short reason for every network or protocol failure, RQ_INTERNAL for
 * memory; after a failure c->broken is set and all I/O fails at once.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "conn.h"

#define CONN_RBUF	(2 * CONN_LINE_MAX + 2)
#define CONN_WBUF_MAX	(256 * 1024)	/* queued output, hard limit */
#define CONN_WBUF_FLUSH	(128 * 1024)	/* flush before going past */

struct conn {
	int fd;
	struct tls *tls;
	int64_t deadline;	/* ms, CLOCK_MONOTONIC */
	int timeout;		/* seconds, for messages */
	int broken;
	int timed_out;		/* the last failure was the deadline */
	char rbuf[CONN_RBUF];
	size_t rlen;
	char line[CONN_LINE_MAX + 1];
	struct buf wbuf;
	char peer[512];
};

int64_t
conn_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
conn_set_timeout(struct conn *c, int seconds)
{
	c->timeout = seconds;
	c->deadline = conn_clock_ms() + (int64_t)seconds * 1000;
}

static enum rq_status
conn_fail(struct conn *c, struct err *e, enum rq_status st)
{
	c->broken = 1;
	return st;
}

/* Wait until fd is ready for events or the deadline passes. */
static enum rq_status
conn_wait(struct conn *c, short events, struct err *e)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		if ((left = c->deadline - conn_clock_ms()) <= 0) {
			c->timed_out = 1;
			return conn_fail(c, e, err_set(e, RQ_TEMP,
			    "timed out after %ds", c->timeout));
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return RQ_OK;	/* errors show in the next I/O */
		if (r == -1 && errno != EINTR)
			return conn_fail(c, e, err_sys(e, RQ_TEMP, "poll"));
	}
}

/* --- connecting ----------------------------------------------------------- */

/* The numeric form of an address. */
static void
conn_addr_str(const struct addrinfo *ai, char *dst, size_t size)
{
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, dst, size, NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(dst, "?", size);
}

static void
conn_set_peer(struct conn *c, const char *host, const char *port,
    const struct addrinfo *ai)
{
	char addr[80];		/* numeric IPv6 with a scope fits */

	conn_addr_str(ai, addr, sizeof(addr));
	snprintf(c->peer, sizeof(c->peer), "%s[%s]:%s", host, addr, port);
}

/* One address: 0 connected, else the errno of the failure. */
static int
conn_try(struct conn *c, const struct addrinfo *ai)
{
	socklen_t len = sizeof(int);
	int fd, soerr = 0, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return errno;
	c->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR)
			soerr = errno;
		else if (conn_wait(c, POLLOUT, NULL) != RQ_OK)
			soerr = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len) == -1)
			soerr = errno;
	}
	if (soerr != 0) {
		close(fd);
		c->fd = -1;
		c->broken = 0;
		c->timed_out = 0;
		return soerr;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Set in a forked child (conn_forked()): no getaddrinfo_a(). */
static int conn_no_async;

void
conn_forked(void)
{
	conn_no_async = 1;
}

#ifdef HAVE_GETADDRINFO_A
/* One lookup handed to getaddrinfo_a(): everything its thread reads. */
struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char *host, *port;
};

static void
lookup_free(struct lookup *q)
{
	free(q->host);
	free(q->port);
	free(q);
}

/* getaddrinfo() in glibc's lookup thread, waited for until end (ms). */
static int
lookup_async(const char *host, const char *port,
    const struct addrinfo *hints, int64_t end, struct addrinfo **res,
    int *timed_out)
{
	struct lookup *q;
	struct gaicb *list[1];
	struct timespec ts;
	int64_t left;
	int r;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->host = strdup(host)) == NULL ||
	    (q->port = strdup(port)) == NULL) {
		if (q != NULL)
			lookup_free(q);
		return EAI_MEMORY;
	}
	q->hints = *hints;
	q->cb.ar_name = q->host;
	q->cb.ar_service = q->port;
	q->cb.ar_request = &q->hints;
	list[0] = &q->cb;
	if ((r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		lookup_free(q);
		return r;
	}
	while ((r = gai_error(&q->cb)) == EAI_INPROGRESS &&
	    (left = end - conn_clock_ms()) > 0) {
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		(void)gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (r == EAI_INPROGRESS) {
		*timed_out = 1;
		if (gai_cancel(&q->cb) == EAI_CANCELED)
			lookup_free(q);
		return EAI_AGAIN;	/* else q stays with the thread */
	}
	*res = q->cb.ar_result;
	lookup_free(q);
	return r;
}
#endif

/*
 * getaddrinfo() within timeout seconds: the resolver's own limits (the
 * timeout x attempts x servers of resolv.conf) can add up to minutes, a
 * hang of the whole queue run. With glibc's getaddrinfo_a the lookup runs
 * in its thread and is abandoned at the deadline (*timed_out set): what
 * that thread still uses is left allocated, never freed under it.
 * Without getaddrinfo_a, the resolver's limits apply. An address literal
 * (with a numeric port) asks no resolver and cannot block, so it is
 * parsed here: no lookup thread, whose stack and exit (glibc then loads
 * libgcc_s to unwind it) would cost the pass memory for nothing.
 */
static int
conn_resolve(const char *host, const char *port, int timeout,
    struct addrinfo **res, int *timed_out)
{
	struct addrinfo hints;
	int r;

	*timed_out = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, res)) != EAI_NONAME)
		return r;
	hints.ai_flags = 0;
#ifdef HAVE_GETADDRINFO_A
	if (!conn_no_async)
		return lookup_async(host, port, &hints,
		    conn_clock_ms() + (int64_t)timeout * 1000, res, timed_out);
	(void)timeout;
	return getaddrinfo(host, port, &hints, res);
#else
	(void)timeout;
	return getaddrinfo(host, port, &hints, res);
#endif
}

static void
conn_tell(const struct conn_watch *w, enum conn_event ev, const char *text,
    int errnum, int64_t t0)
{
	if (w != NULL && w->fn != NULL)
		w->fn(w->arg, ev, text, errnum, (long)(conn_clock_ms() - t0));
}

/* Every address of res, ", "-separated, for the watcher. */
static void
conn_tell_addrs(const struct conn_watch *w, const struct addrinfo *res,
    int64_t t0)
{
	char all[1024], one[80];
	const struct addrinfo *ai;

	if (w == NULL)
		return;
	all[0] = '\0';
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		conn_addr_str(ai, one, sizeof(one));
		if (all[0] != '\0')
			strlcat(all, ", ", sizeof(all));
		strlcat(all, one, sizeof(all));
	}
	conn_tell(w, CONN_EV_RESOLVED, all, 0, t0);
}

static enum rq_status
conn_connect(struct conn *c, const char *host, const char *port,
    int timeout, const struct conn_watch *w, struct err *e)
{
	struct addrinfo *res, *ai;
	char addr[80];
	int r, soerr = 0, timed_out;
	int64_t t0 = conn_clock_ms();

	if ((r = conn_resolve(host, port, timeout, &res, &timed_out)) != 0) {
		if (timed_out)
			err_set(e, RQ_TEMP, "connect to %s:%s: name lookup "
			    "timed out after %d s", host, port, timeout);
		else
			err_set(e, RQ_TEMP, "connect to %s:%s: %s", host, port,
			    r == EAI_SYSTEM ? strerror(errno) :
			    gai_strerror(r));
		conn_tell(w, CONN_EV_RESOLVED, e->msg, timed_out ?
		    ETIMEDOUT : EHOSTUNREACH, t0);
		return RQ_TEMP;
	}
	conn_tell_addrs(w, res, t0);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		conn_set_peer(c, host, port, ai);
		conn_set_timeout(c, timeout);
		t0 = conn_clock_ms();
		soerr = conn_try(c, ai);
		conn_addr_str(ai, addr, sizeof(addr));
		conn_tell(w, CONN_EV_CONNECT, addr, soerr, t0);
		if (soerr == 0)
			break;
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		errno = soerr != 0 ? soerr : EADDRNOTAVAIL;
		return err_sys(e, RQ_TEMP, "connect to %s", c->peer);
	}
	return RQ_OK;
}

enum rq_status
conn_open(struct conn **out, const char *host, const char *port,
    int timeout, const struct conn_watch *w, struct err *e)
{
	struct conn *c;
	enum rq_status st;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_sys(e, RQ_INTERNAL, "connect to %s:%s", host, port);
	c->fd = -1;
	buf_init(&c->wbuf, CONN_WBUF_MAX);
	snprintf(c->peer, sizeof(c->peer), "%s[?]:%s", host, port);
	if ((st = conn_connect(c, host, port, timeout, w, e)) != RQ_OK) {
		conn_close(c);
		return st;
	}
	*out = c;
	return RQ_OK;
}

/* --- reading -------------------------------------------------------------- */

/* Read what is available into rbuf, waiting for it if need be. */
static enum rq_status
conn_fill(struct conn *c, struct err *e)
{
	size_t room = sizeof(c->rbuf) - c->rlen;
	long n;

	for (;;) {
		if (c->tls != NULL)
			n = tls_read(c->tls, c->rbuf + c->rlen, room, e);
		else if ((n = recv(c->fd, c->rbuf + c->rlen, room, 0)) == -1)
			n = (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR) ? TLS_WANT_READ : -1;
		if (n > 0) {
			c->rlen += (size_t)n;
			return RQ_OK;
		}
		if (n == 0)
			return conn_fail(c, e, err_set(e, RQ_TEMP,
			    "connection closed by peer"));
		if (n == -1)
			return conn_fail(c, e, c->tls != NULL ? RQ_TEMP :
			    err_sys(e, RQ_TEMP, "read"));
		if (conn_wait(c, n == TLS_WANT_WRITE ? POLLOUT : POLLIN,
		    e) != RQ_OK)
			return RQ_TEMP;
	}
}

/*
 * Is there a complete line at the start of rbuf? *found says, *len is its
 * length without CRLF. A bare LF or an overlong line is an error.
 */
static enum rq_status
conn_find_line(struct conn *c, size_t *len, int *found, struct err *e)
{
	char *nl = memchr(c->rbuf, '\n', c->rlen);

	*found = 0;
	if (nl == NULL) {
		if (c->rlen > CONN_LINE_MAX + 1)
			return conn_fail(c, e, err_set(e, RQ_TEMP, "line "
			    "longer than %d bytes", CONN_LINE_MAX));
		return RQ_OK;
	}
	if (nl == c->rbuf || nl[-1] != '\r')
		return conn_fail(c, e, err_set(e, RQ_TEMP, "bare LF in "
		    "input (lines must end in CRLF)"));
	*len = (size_t)(nl - c->rbuf) - 1;
	if (*len > CONN_LINE_MAX)
		return conn_fail(c, e, err_set(e, RQ_TEMP, "line longer than "
		    "%d bytes", CONN_LINE_MAX));
	*found = 1;
	return RQ_OK;
}

enum rq_status
conn_read_line(struct conn *c, const char **line, size_t *len,
    struct err *e)
{
	int found;

	if (c->broken)
		return err_set(e, RQ_TEMP, "connection already failed");
	for (;;) {
		if (conn_find_line(c, len, &found, e) != RQ_OK)
			return RQ_TEMP;
		if (found)
			break;
		if (conn_fill(c, e) != RQ_OK)
			return RQ_TEMP;
	}
	memcpy(c->line, c->rbuf, *len);
	c->line[*len] = '\0';
	c->rlen -= *len + 2;
	memmove(c->rbuf, c->rbuf + *len + 2, c->rlen);
	*line = c->line;
	return RQ_OK;
}

size_t
conn_pending(const struct conn *c)
{
	return c->rlen;
}

/* --- writing -------------------------------------------------------------- */

static long
conn_send(struct conn *c, const char *p, size_t n, struct err *e)
{
	ssize_t r;

	if (c->tls != NULL)
		return tls_write(c->tls, p, n, e);
	if ((r = send(c->fd, p, n, MSG_NOSIGNAL)) >= 0)
		return (long)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TLS_WANT_WRITE;
	err_sys(e, RQ_TEMP, "write");
	return -1;
}

size_t
conn_queued(const struct conn *c)
{
	return c->wbuf.len;
}

/* All n bytes at p onto the wire, waiting for the socket as need be. */
static enum rq_status
conn_send_all(struct conn *c, const char *p, size_t n, struct err *e)
{
	size_t off = 0;
	long r;

	while (off < n) {
		r = conn_send(c, p + off, n - off, e);
		if (r > 0)
			off += (size_t)r;
		else if (r == 0)
			return conn_fail(c, e, err_set(e, RQ_TEMP, "write: "
			    "nothing written"));
		else if (r == -1)
			return conn_fail(c, e, RQ_TEMP);
		else if (conn_wait(c, r == TLS_WANT_READ ? POLLIN : POLLOUT,
		    e) != RQ_OK)
			return RQ_TEMP;
	}
	return RQ_OK;
}

enum rq_status
conn_flush(struct conn *c, struct err *e)
{
	if (c->broken)
		return err_set(e, RQ_TEMP, "connection already failed");
	if (conn_send_all(c, c->wbuf.data, c->wbuf.len, e) != RQ_OK)
		return RQ_TEMP;
	if (c->wbuf.data != NULL)
		explicit_bzero(c->wbuf.data, c->wbuf.len);
	buf_reset(&c->wbuf);
	return RQ_OK;
}

enum rq_status
conn_write_now(struct conn *c, const void *p, size_t n, struct err *e)
{
	if (conn_flush(c, e) != RQ_OK)
		return RQ_TEMP;
	return conn_send_all(c, p, n, e);
}

enum rq_status
conn_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	if (c->broken)
		return err_set(e, RQ_TEMP, "connection already failed");
	if (c->wbuf.len > 0 && c->wbuf.len + n > CONN_WBUF_FLUSH &&
	    conn_flush(c, e) != RQ_OK)
		return RQ_TEMP;
	if (buf_append(&c->wbuf, p, n) == -1)
		return conn_fail(c, e, err_sys(e, RQ_INTERNAL, "output "
		    "buffer"));
	return RQ_OK;
}

/* --- TLS ------------------------------------------------------------------ */

enum rq_status
conn_starttls(struct conn *c, const struct tls_params *tp, struct err *e)
{
	int r;

	if (c->broken)
		return err_set(e, RQ_TEMP, "connection already failed");
	if (c->tls != NULL)
		return conn_fail(c, e, err_set(e, RQ_TEMP, "TLS: already "
		    "active"));
	if (c->rlen > 0 || c->wbuf.len > 0)
		return conn_fail(c, e, err_set(e, RQ_TEMP, "TLS: plaintext "
		    "still buffered before the handshake (host %s)",
		    tp->host));
	if (tls_new(&c->tls, c->fd, tp, e) != RQ_OK)
		return conn_fail(c, e, RQ_TEMP);
	while ((r = tls_handshake(c->tls, e)) != 0) {
		if (r == -1)
			return conn_fail(c, e, RQ_TEMP);
		if (conn_wait(c, r == TLS_WANT_WRITE ? POLLOUT : POLLIN,
		    e) != RQ_OK)
			return RQ_TEMP;
	}
	return RQ_OK;
}

int
conn_tls_active(const struct conn *c)
{
	return c->tls != NULL;
}

const char *
conn_tls_info(const struct conn *c)
{
	return c->tls != NULL ? tls_info(c->tls) : "";
}

void
conn_tls_peer(const struct conn *c, struct tls_peer *p)
{
	tls_peer_get(c != NULL ? c->tls : NULL, p);
}

int
conn_timed_out(const struct conn *c)
{
	return c != NULL && c->timed_out;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	tls_free(c->tls, !c->broken);
	if (c->fd != -1)
		close(c->fd);
	buf_wipe(&c->wbuf);
	explicit_bzero(c->rbuf, sizeof(c->rbuf));
	free(c);
}
