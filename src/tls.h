/*
 * tls.h - the only interface to OpenSSL's TLS: a client session over an
 * already connected non-blocking socket.
 *
 * Policy: TLS 1.2 or newer; with verify, the chain must lead to a trusted
 * CA (ca_file, else the system store) and the certificate must match the
 * host name (or IP literal), checked by OpenSSL; with a fingerprint, the
 * server certificate's SHA-256 must equal it (with verify off the pin
 * alone decides, with both on both must hold). SNI is sent for names,
 * never for IP literals. Nothing here polls or sleeps: every call that
 * would block returns TLS_WANT_READ/TLS_WANT_WRITE and the caller (conn.c)
 * waits for the socket under its deadline. Writes never raise SIGPIPE.
 * Every failure is RQ_TEMP with a reason that starts with "TLS: ".
 */
#ifndef RELAYQ_TLS_H
#define RELAYQ_TLS_H

#include <stddef.h>
#include <time.h>
#include "err.h"

#define TLS_WANT_READ	(-2)
#define TLS_WANT_WRITE	(-3)
#define TLS_FP_LEN	32	/* bytes of a SHA-256 fingerprint */

struct tls_params {
	const char *host;	/* the name to verify and send as SNI */
	int verify;		/* CA chain + host name */
	const char *ca_file;	/* NULL: the system default store */
	const char *fingerprint; /* NULL: no pin */
	const char *cert_file;	/* client certificate, or NULL */
	const char *key_file;	/* NULL: the key is in cert_file */
	struct tls_cache *cache; /* NULL: nothing shared (tls_cache_new) */
};

struct tls;

/*
 * What the sessions to one server share, so that the second and later
 * cost less than the first: the SSL_CTX (the CA store and the client
 * certificate are loaded once) and the newest TLS session the server
 * offered for resumption (an abbreviated handshake, without the server's
 * certificate chain and its signature). Use one cache only for sessions
 * with identical tls_params (one route): a resumed session keeps the
 * verification result and the certificate of the full handshake that
 * made it, which checked the same CA, host name and pin, and tls.c checks
 * them again for it. A session enters the cache only once its handshake
 * passed every check. A cache may be inherited over fork(): each
 * process then has its own copy, and the sessions of all of them offer
 * the same ticket (to one server, which sees the same login on each,
 * that links nothing new). Not for concurrent use by threads.
 */
struct tls_cache;

/* A new, empty cache; NULL when out of memory (then use none). */
struct tls_cache *tls_cache_new(void);
/* Drop the owner's reference: the sessions made with the cache keep it
   until tls_free(). NULL is fine. */
void tls_cache_free(struct tls_cache *c);
/* Whether the last handshake of t resumed a cached session. */
int tls_resumed(const struct tls *t);

/*
 * Prepare a session on fd (a connected socket, owned by the caller, not
 * closed by tls_free). Loads CA, client certificate and pin; RQ_TEMP on
 * any configuration problem.
 */
enum rq_status tls_new(struct tls **out, int fd, const struct tls_params *p,
    struct err *e);
/*
 * Drive the handshake: 0 when done and verified (including the pin),
 * TLS_WANT_READ/TLS_WANT_WRITE to be called again when the socket is
 * ready, -1 on failure (e says why, e.g. "TLS: certificate verify failed:
 * unable to get local issuer certificate (host localhost)").
 */
int tls_handshake(struct tls *t, struct err *e);
/* Up to n bytes: > 0 bytes read, 0 end of stream, TLS_WANT_*, -1 error. */
long tls_read(struct tls *t, void *buf, size_t n, struct err *e);
/* Up to n bytes: > 0 bytes written, TLS_WANT_*, -1 error. */
long tls_write(struct tls *t, const void *buf, size_t n, struct err *e);
/*
 * "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256 bits)", for logs, with
 * ", session resumed" after it when the handshake resumed a cached one.
 */
const char *tls_info(const struct tls *t);
/*
 * What the verification said, in classes a person can act on (relayq
 * test and probe give advice by class, without seeing OpenSSL's codes).
 */
enum tls_verdict {
	TLS_VERDICT_UNCHECKED,	/* tls_verify = no, or no handshake yet */
	TLS_VERDICT_OK,
	TLS_VERDICT_NAME,	/* valid chain, certificate for other names */
	TLS_VERDICT_UNTRUSTED,	/* no chain to a trusted CA (self-signed,
				   private CA, missing intermediate) */
	TLS_VERDICT_EXPIRED,	/* expired or not yet valid */
	TLS_VERDICT_OTHER,
};

/*
 * The server's certificate and the verification result as plain strings,
 * for `relayq test` and `relayq probe`. Available once the server sent
 * its certificate, also when the handshake then failed verification (the
 * certificate is kept by the verify callback), so a failure can show the
 * names the certificate does have. Every string is printable ASCII:
 * control bytes the server put into a name become '?'.
 */
struct tls_peer {
	int have_cert;
	char version[32];	/* "TLSv1.3"; "" before the handshake ended */
	char cipher[96];
	int bits;
	char subject[256];	/* RFC 2253: "CN=smtp.example.com" */
	char names[512];	/* subjectAltName DNS names and IPs, ", " */
	char issuer[256];
	time_t not_after;	/* 0: unknown */
	enum tls_verdict verdict;
	char verify[160];	/* "ok", or OpenSSL's reason */
	char fingerprint[3 * TLS_FP_LEN];	/* SHA-256, "AB:CD:..." */
};

/* Fill p from t (p cleared first; t NULL: nothing known). */
void tls_peer_get(const struct tls *t, struct tls_peer *p);

/*
 * Free everything. With notify (a healthy session), first send
 * close_notify if the socket takes it at once.
 */
void tls_free(struct tls *t, int notify);

/*
 * Parse a SHA-256 pin: 64 hex digits, optionally with ':' between the
 * bytes, optionally after "sha256:" (any case). 0, or -1 if malformed.
 */
int tls_parse_fingerprint(const char *s, unsigned char md[TLS_FP_LEN]);

#endif
