/*
 * conn.h - a client connection: TCP (every address of the host in turn),
 * optionally TLS, buffered CRLF lines in, buffered bytes out.
 *
 * Timeouts are absolute deadlines set by the caller per protocol step
 * (conn_set_timeout): every read and write until the next call shares
 * that one deadline, so a peer that trickles a byte at a time still runs
 * out of time. Reads and writes go through TLS once conn_starttls() has
 * succeeded; the caller never sees OpenSSL. No signals: sockets are
 * non-blocking, waits use poll(), writes use MSG_NOSIGNAL.
 *
 * Every failure is RQ_TEMP (RQ_INTERNAL for memory) with a short reason
 * in e ("timed out after 300s", "connection closed by peer", "bare LF in
 * input"); the caller adds the peer and the protocol step. Once an I/O
 * call failed the connection is unusable: only conn_close() remains.
 */
#ifndef RELAYQ_CONN_H
#define RELAYQ_CONN_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "tls.h"

#define CONN_LINE_MAX	4096	/* longest input line, without CRLF */

struct conn;

/*
 * Who wants to see each address (relayq test, probe): called after the
 * name lookup (CONN_EV_RESOLVED: text is every address, ", "-separated,
 * or the lookup's failure; errnum 0 on success, else ETIMEDOUT for a
 * lookup that ran out of time, EHOSTUNREACH for any other failure) and
 * after each connection attempt (CONN_EV_CONNECT: text is the address,
 * errnum 0 or the attempt's errno). ms is the time the step took.
 */
enum conn_event { CONN_EV_RESOLVED, CONN_EV_CONNECT };

struct conn_watch {
	void (*fn)(void *arg, enum conn_event ev, const char *text,
	    int errnum, long ms);
	void *arg;
};

/*
 * Connect to host:port, trying each address getaddrinfo() returns until
 * one accepts; each attempt may take timeout seconds. On failure the
 * reason names the last address tried: "connect to
 * localhost[127.0.0.1]:2525: Connection refused". w may be NULL.
 */
enum rq_status conn_open(struct conn **out, const char *host,
    const char *port, int timeout, const struct conn_watch *w,
    struct err *e);
/* The monotonic clock in milliseconds that every deadline uses. */
int64_t conn_clock_ms(void);
/*
 * Call in a child after fork(): glibc's getaddrinfo_a() keeps state
 * about lookup threads that only the parent has, so the child's lookups
 * would wait for a thread that is not there. From now on this process
 * resolves with getaddrinfo() (the resolver's own limits apply).
 */
void conn_forked(void);
/* From now on, reads and writes must finish within seconds. */
void conn_set_timeout(struct conn *c, int seconds);
/*
 * The next line, without its CRLF, in *line (len bytes, NUL-terminated,
 * valid until the next read). A line must end in CRLF: a bare LF, a line
 * longer than CONN_LINE_MAX or the end of the stream is an error.
 */
enum rq_status conn_read_line(struct conn *c, const char **line,
    size_t *len, struct err *e);
/* Queue bytes for sending (flushing first when the buffer is full). */
enum rq_status conn_write(struct conn *c, const void *p, size_t n,
    struct err *e);
/* Bytes queued by conn_write() and not yet sent. */
size_t conn_queued(const struct conn *c);
/* Send everything queued. The sent bytes are wiped from memory. */
enum rq_status conn_flush(struct conn *c, struct err *e);
/*
 * Send what is queued, then the n bytes at p, without copying them into
 * the output buffer: for message data, which may come in large pieces
 * (the memory of a pass must not grow with them) and is not a secret
 * (the caller's bytes are not wiped).
 */
enum rq_status conn_write_now(struct conn *c, const void *p, size_t n,
    struct err *e);
/*
 * Bytes received but not yet returned as lines. After the reply to
 * STARTTLS it must be 0: anything else was sent before the handshake and
 * could be injected plaintext.
 */
size_t conn_pending(const struct conn *c);
/*
 * TLS handshake on the connection within the current deadline; refused
 * when plaintext input is still buffered. Errors come from tls.c ("TLS:
 * ..."), unchanged.
 */
enum rq_status conn_starttls(struct conn *c, const struct tls_params *tp,
    struct err *e);
int conn_tls_active(const struct conn *c);
/* TLS protocol and cipher, or "" without TLS. */
const char *conn_tls_info(const struct conn *c);
/* The server's certificate and verification so far (see tls.h): also
 * after a failed handshake, until conn_close(). */
void conn_tls_peer(const struct conn *c, struct tls_peer *p);
/* Non-zero when the last failure was a deadline that passed. */
int conn_timed_out(const struct conn *c);
/* "host[address]:port" */
const char *conn_peer(const struct conn *c);
/* Close (TLS close_notify without waiting) and free; NULL is fine. */
void conn_close(struct conn *c);

#endif
