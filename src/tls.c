/*
 * tls.c - TLS client sessions with OpenSSL (policy in tls.h).
 *
 * Invariants: one SSL_CTX per session, or one per struct tls_cache that
 * the caller owns and hands to the sessions of one route, nothing global;
 * a session enters that cache only after every check of its handshake
 * passed (a TLS 1.2 session is held back until then); the socket is
 * reached through a small BIO of our own that uses send(MSG_NOSIGNAL), so
 * a peer that goes away can never kill us with SIGPIPE; the host name
 * check is OpenSSL's (SSL_set1_host / X509_VERIFY_PARAM_set1_ip_asc),
 * never ours. Error policy: every failure is RQ_TEMP with a "TLS: "
 * reason naming the host; the OpenSSL error queue is cleared after use.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <time.h>

#include "compat.h"
#include "tls.h"

struct tls_cache {
	int refs;		/* the owner's and each session's */
	SSL_CTX *ctx;		/* NULL until the first session */
	SSL_SESSION *sess;	/* the newest resumable session, or NULL */
	X509_LOOKUP_METHOD *bundle;	/* ctx's store uses it: freed after */
};

struct tls {
	SSL_CTX *ctx;
	SSL *ssl;
	struct tls_cache *cache;	/* NULL: none; a reference */
	SSL_SESSION *held;	/* offered before the checks ended */
	int checked;		/* the handshake passed every check */
	BIO_METHOD *meth;
	X509_LOOKUP_METHOD *bundle;	/* the system store's file, lazily */
	int fd;
	int verify;
	int pinned;
	int connected;		/* handshake completed */
	int failed;		/* fatal error: no close_notify */
	unsigned char pin[TLS_FP_LEN];
	X509 *leaf;		/* the server's certificate, once seen */
	long vfail;		/* the first verification error, or 0 */
	char *host;
	char info[160];
};

/* --- the socket BIO: recv/send with MSG_NOSIGNAL -------------------------- */

static int
tls_bio_write(BIO *b, const char *p, int n)
{
	int *fd = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	r = send(*fd, p, (size_t)n, MSG_NOSIGNAL);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_write(b);
	return (int)r;
}

static int
tls_bio_read(BIO *b, char *p, int n)
{
	int *fd = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	r = recv(*fd, p, (size_t)n, 0);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_read(b);
	return (int)r;
}

static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *
tls_bio_method(void)
{
	BIO_METHOD *m;
	int idx;

	if ((idx = BIO_get_new_index()) == -1)
		return NULL;
	if ((m = BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK,
	    "relayq socket")) == NULL)
		return NULL;
	if (!BIO_meth_set_write(m, tls_bio_write) ||
	    !BIO_meth_set_read(m, tls_bio_read) ||
	    !BIO_meth_set_ctrl(m, tls_bio_ctrl) ||
	    !BIO_meth_set_create(m, tls_bio_create)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* --- errors --------------------------------------------------------------- */

/* The newest queued OpenSSL reason, or fallback; the queue is cleared. */
static const char *
tls_ossl_reason(const char *fallback)
{
	unsigned long code = ERR_peek_last_error();
	const char *r = code != 0 ? ERR_reason_error_string(code) : NULL;

	ERR_clear_error();
	return r != NULL ? r : fallback;
}

/* Fill e for a failed SSL_* call (sslerr from SSL_get_error). */
static void
tls_fail(struct tls *t, int sslerr, int saved_errno, const char *what,
    struct err *e)
{
	long vr;

	t->failed = 1;
	if (t->verify && (vr = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		ERR_clear_error();
		err_set(e, RQ_TEMP, "TLS: certificate verify failed: %s "
		    "(host %s)", X509_verify_cert_error_string(vr), t->host);
	} else if (ERR_peek_last_error() != 0) {
		err_set(e, RQ_TEMP, "TLS: %s failed: %s (host %s)", what,
		    tls_ossl_reason("unknown error"), t->host);
	} else if (sslerr == SSL_ERROR_SYSCALL && saved_errno != 0) {
		err_set(e, RQ_TEMP, "TLS: %s failed: %s (host %s)", what,
		    strerror(saved_errno), t->host);
	} else {
		err_set(e, RQ_TEMP, "TLS: %s failed: connection closed by "
		    "peer (host %s)", what, t->host);
	}
}

/* --- set-up --------------------------------------------------------------- */

static int
tls_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tls_parse_fingerprint(const char *s, unsigned char md[TLS_FP_LEN])
{
	size_t n;
	int hi, lo;

	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	for (n = 0; n < TLS_FP_LEN; n++) {
		if (n > 0 && *s == ':')
			s++;
		if ((hi = tls_hexval(s[0])) == -1 ||
		    (lo = tls_hexval(s[1])) == -1)
			return -1;
		md[n] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return *s == '\0' ? 0 : -1;
}

static int
tls_is_ip_literal(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
}

/*
 * OpenSSL's verdict stands (ok is returned unchanged); we only keep the
 * leaf certificate and the first error, so that a failed handshake can
 * still say what the server presented.
 */
static int
tls_verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(x);

	if (t == NULL)
		return ok;
	if (t->leaf == NULL && leaf != NULL && X509_up_ref(leaf) == 1)
		t->leaf = leaf;
	if (!ok && t->vfail == 0)
		t->vfail = X509_STORE_CTX_get_error(x);
	return ok;
}

/*
 * A lookup of the store that reads OpenSSL's default CA file (SSL_CERT_FILE
 * or the bundle in OPENSSLDIR), whole and once, the first time the lookups
 * before it have no certificate for a subject; then answers from what it
 * added to the store. It owns no reference in ret (the store keeps one,
 * its caller takes its own).
 */
static int
tls_bundle_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type,
    const X509_NAME *name, X509_OBJECT *ret)
{
	X509_STORE *st = X509_LOOKUP_get_store(lu);
	X509_OBJECT *o;
	X509 *x;
	int found = 0;

	if (type != X509_LU_X509 || X509_LOOKUP_get_method_data(lu) != NULL)
		return 0;
	(void)X509_LOOKUP_set_method_data(lu, lu);
	if (X509_LOOKUP_ctrl(lu, X509_L_FILE_LOAD, NULL,
	    X509_FILETYPE_DEFAULT, NULL) != 1 || !X509_STORE_lock(st))
		return 0;
	o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(st),
	    type, (X509_NAME *)name);
	if (o != NULL && (x = X509_OBJECT_get0_X509(o)) != NULL &&
	    X509_OBJECT_set1_X509(ret, x) == 1) {
		X509_free(x);
		found = 1;
	}
	X509_STORE_unlock(st);
	return found;
}

/*
 * The system store, read as a chain needs it: OpenSSL's default
 * directory (SSL_CERT_DIR or OPENSSLDIR/certs, hashed names) gives the
 * one CA file a chain asks for; only when it has none for an issuer is
 * the default bundle read (tls_bundle_by_subject). The same trust as
 * SSL_CTX_set_default_verify_paths(), which would parse the whole bundle
 * (some 150 CAs, 800 KB of memory) before every handshake.
 */
static enum rq_status
tls_ctx_system_store(struct tls *t, struct err *e)
{
	X509_STORE *st = SSL_CTX_get_cert_store(t->ctx);
	X509_LOOKUP *lu;

	if ((t->bundle = X509_LOOKUP_meth_new("relayq system CA bundle")) ==
	    NULL || X509_LOOKUP_meth_set_ctrl(t->bundle,
	    X509_LOOKUP_meth_get_ctrl(X509_LOOKUP_file())) != 1 ||
	    X509_LOOKUP_meth_set_get_by_subject(t->bundle,
	    tls_bundle_by_subject) != 1)
		goto fail;
	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_hash_dir())) == NULL ||
	    X509_LOOKUP_add_dir(lu, NULL, X509_FILETYPE_DEFAULT) != 1)
		goto fail;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	/* SSL_CERT_URI, as OpenSSL's default paths have it */
	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_store())) == NULL ||
	    X509_LOOKUP_add_store(lu, NULL) != 1)
		goto fail;
#endif
	if (X509_STORE_add_lookup(st, t->bundle) == NULL)
		goto fail;
	ERR_clear_error();
	return RQ_OK;
fail:
	return err_set(e, RQ_TEMP, "TLS: cannot set up the system CA store: "
	    "%s", tls_ossl_reason("error"));
}

static enum rq_status
tls_ctx_trust(struct tls *t, const struct tls_params *p, struct err *e)
{
	if (!p->verify) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
		return RQ_OK;
	}
	if (p->ca_file != NULL && *p->ca_file != '\0') {
		if (access(p->ca_file, R_OK) == -1)
			return err_sys(e, RQ_TEMP, "TLS: cannot read CA "
			    "file %s", p->ca_file);
		if (SSL_CTX_load_verify_locations(t->ctx, p->ca_file,
		    NULL) != 1)
			return err_set(e, RQ_TEMP, "TLS: cannot load CA file "
			    "%s: %s", p->ca_file, tls_ossl_reason("error"));
	} else if (tls_ctx_system_store(t, e) != RQ_OK)
		return RQ_TEMP;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, tls_verify_cb);
	return RQ_OK;
}

static enum rq_status
tls_ctx_client_cert(struct tls *t, const struct tls_params *p,
    struct err *e)
{
	const char *key;

	if (p->cert_file == NULL || *p->cert_file == '\0')
		return RQ_OK;
	key = (p->key_file != NULL && *p->key_file != '\0') ? p->key_file :
	    p->cert_file;
	if (access(p->cert_file, R_OK) == -1 || access(key, R_OK) == -1)
		return err_sys(e, RQ_TEMP, "TLS: cannot read client "
		    "certificate %s or key %s", p->cert_file, key);
	if (SSL_CTX_use_certificate_chain_file(t->ctx, p->cert_file) != 1)
		return err_set(e, RQ_TEMP, "TLS: cannot load client "
		    "certificate %s: %s", p->cert_file,
		    tls_ossl_reason("error"));
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1)
		return err_set(e, RQ_TEMP, "TLS: cannot load client key %s: "
		    "%s", key, tls_ossl_reason("error"));
	if (SSL_CTX_check_private_key(t->ctx) != 1)
		return err_set(e, RQ_TEMP, "TLS: client key %s does not match "
		    "certificate %s", key, p->cert_file);
	return RQ_OK;
}

static enum rq_status
tls_ctx_new(struct tls *t, const struct tls_params *p, struct err *e)
{
	enum rq_status st;
	long opts = SSL_OP_NO_COMPRESSION;

#ifdef SSL_OP_NO_RENEGOTIATION
	opts |= SSL_OP_NO_RENEGOTIATION;
#endif
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return err_set(e, RQ_TEMP, "TLS: cannot create context: %s",
		    tls_ossl_reason("error"));
	if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1)
		return err_set(e, RQ_TEMP, "TLS: cannot require TLS 1.2");
	SSL_CTX_set_options(t->ctx, opts);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A record in one recv(), not its header and then its body: half
	   the reads for every reply. */
	SSL_CTX_set_read_ahead(t->ctx, 1);
	if ((st = tls_ctx_trust(t, p, e)) != RQ_OK)
		return st;
	return tls_ctx_client_cert(t, p, e);
}

/* --- the cache ------------------------------------------------------------ */

struct tls_cache *
tls_cache_new(void)
{
	struct tls_cache *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->refs = 1;
	return c;
}

void
tls_cache_free(struct tls_cache *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	SSL_SESSION_free(c->sess);
	SSL_CTX_free(c->ctx);
	X509_LOOKUP_meth_free(c->bundle);	/* after the store using it */
	free(c);
}

static void
tls_cache_put(struct tls_cache *c, SSL_SESSION *sess)
{
	SSL_SESSION_free(c->sess);
	c->sess = sess;
}

/*
 * OpenSSL offers every new session here (TLS 1.3: each ticket, after the
 * handshake). We own sess when we return 1.
 */
static int
tls_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct tls *t = SSL_get_app_data(ssl);

	if (t == NULL || t->cache == NULL || t->failed ||
	    !SSL_SESSION_is_resumable(sess))
		return 0;
	if (t->checked)
		tls_cache_put(t->cache, sess);
	else {
		SSL_SESSION_free(t->held);
		t->held = sess;
	}
	return 1;
}

/* The cache's context for this session, made on first use. */
static enum rq_status
tls_ctx_cached(struct tls *t, const struct tls_params *p, struct err *e)
{
	struct tls_cache *c = t->cache;
	enum rq_status st;

	if (c->ctx == NULL) {
		if ((st = tls_ctx_new(t, p, e)) != RQ_OK)
			return st;
		SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(t->ctx, tls_new_session_cb);
		c->ctx = t->ctx;
		/* The context outlives this session: so must its lookup. */
		c->bundle = t->bundle;
		t->bundle = NULL;
	}
	if (SSL_CTX_up_ref(c->ctx) != 1)
		return err_set(e, RQ_TEMP, "TLS: cannot share the context");
	t->ctx = c->ctx;
	return RQ_OK;
}

/* SNI and the name OpenSSL must find in the certificate. */
static enum rq_status
tls_ssl_names(struct tls *t, struct err *e)
{
	int ok = 1;

	if (tls_is_ip_literal(t->host)) {
		if (t->verify)
			ok = X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(t->ssl), t->host) == 1;
	} else {
		ok = SSL_set_tlsext_host_name(t->ssl, t->host) == 1;
		if (ok && t->verify) {
			SSL_set_hostflags(t->ssl,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = SSL_set1_host(t->ssl, t->host) == 1;
		}
	}
	if (!ok)
		return err_set(e, RQ_TEMP, "TLS: cannot set host name %s: %s",
		    t->host, tls_ossl_reason("error"));
	return RQ_OK;
}

static enum rq_status
tls_ssl_new(struct tls *t, struct err *e)
{
	BIO *bio;

	if ((t->meth = tls_bio_method()) == NULL ||
	    (t->ssl = SSL_new(t->ctx)) == NULL ||
	    (bio = BIO_new(t->meth)) == NULL)
		return err_set(e, RQ_TEMP, "TLS: cannot create session: %s",
		    tls_ossl_reason("out of memory"));
	BIO_set_data(bio, &t->fd);
	SSL_set_bio(t->ssl, bio, bio);
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	if (t->cache != NULL && t->cache->sess != NULL &&
	    SSL_set_session(t->ssl, t->cache->sess) != 1)
		ERR_clear_error();	/* a full handshake then */
	return tls_ssl_names(t, e);
}

enum rq_status
tls_new(struct tls **out, int fd, const struct tls_params *p, struct err *e)
{
	struct tls *t;
	enum rq_status st;

	*out = NULL;
	if (p->host == NULL || *p->host == '\0')
		return err_set(e, RQ_TEMP, "TLS: no host name to verify");
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->host = strdup(p->host)) == NULL) {
		free(t);
		return err_sys(e, RQ_TEMP, "TLS");
	}
	t->fd = fd;
	t->verify = p->verify;
	if ((t->cache = p->cache) != NULL)
		t->cache->refs++;
	ERR_clear_error();
	if (p->fingerprint != NULL && *p->fingerprint != '\0') {
		if (tls_parse_fingerprint(p->fingerprint, t->pin) == -1) {
			tls_free(t, 0);
			return err_set(e, RQ_TEMP, "TLS: fingerprint is not a "
			    "SHA-256 digest in hex: %s", p->fingerprint);
		}
		t->pinned = 1;
	}
	if ((st = t->cache != NULL ? tls_ctx_cached(t, p, e) :
	    tls_ctx_new(t, p, e)) != RQ_OK ||
	    (st = tls_ssl_new(t, e)) != RQ_OK) {
		tls_free(t, 0);
		return st;
	}
	*out = t;
	return RQ_OK;
}

/* --- after the handshake -------------------------------------------------- */

static void
tls_hex(const unsigned char *md, size_t n, char *dst, size_t size)
{
	size_t i, len = 0;

	dst[0] = '\0';
	for (i = 0; i < n && len + 4 <= size; i++)
		len += (size_t)snprintf(dst + len, size - len, "%s%02X",
		    i > 0 ? ":" : "", md[i]);
}

static enum rq_status
tls_check_pin(struct tls *t, X509 *cert, struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[3 * TLS_FP_LEN + 1];

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1 ||
	    len != TLS_FP_LEN)
		return err_set(e, RQ_TEMP, "TLS: cannot compute the "
		    "certificate fingerprint (host %s)", t->host);
	if (CRYPTO_memcmp(md, t->pin, TLS_FP_LEN) != 0) {
		tls_hex(md, len, hex, sizeof(hex));
		return err_set(e, RQ_TEMP, "TLS: certificate fingerprint "
		    "mismatch (host %s): server has sha256:%s", t->host, hex);
	}
	return RQ_OK;
}

/* The peer's certificate with a reference the caller frees, or NULL. */
static X509 *
tls_get1_peer(SSL *ssl)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return SSL_get1_peer_certificate(ssl);
#else
	return SSL_get_peer_certificate(ssl);
#endif
}

static enum rq_status
tls_check_peer(struct tls *t, struct err *e)
{
	X509 *cert;
	long vr;
	enum rq_status st = RQ_OK;

	cert = tls_get1_peer(t->ssl);
	if (cert == NULL) {
		if (t->verify || t->pinned)
			st = err_set(e, RQ_TEMP, "TLS: no certificate from "
			    "host %s", t->host);
	} else if (t->verify &&
	    (vr = SSL_get_verify_result(t->ssl)) != X509_V_OK)
		st = err_set(e, RQ_TEMP, "TLS: certificate verify failed: %s "
		    "(host %s)", X509_verify_cert_error_string(vr), t->host);
	else if (t->pinned)
		st = tls_check_pin(t, cert, e);
	X509_free(cert);
	if (st != RQ_OK)
		return st;
	snprintf(t->info, sizeof(t->info), "%s with cipher %s (%d bits)%s",
	    SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl),
	    SSL_get_cipher_bits(t->ssl, NULL), tls_resumed(t) ?
	    ", session resumed" : "");
	t->checked = 1;
	if (t->held != NULL && t->cache != NULL) {
		tls_cache_put(t->cache, t->held);	/* TLS 1.2 */
		t->held = NULL;
	}
	return RQ_OK;
}

/* --- I/O ------------------------------------------------------------------ */

int
tls_handshake(struct tls *t, struct err *e)
{
	int r, sslerr, saved;

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(t->ssl);
	saved = errno;
	if (r == 1) {
		t->connected = 1;
		if (tls_check_peer(t, e) != RQ_OK) {
			t->failed = 1;
			return -1;
		}
		return 0;
	}
	sslerr = SSL_get_error(t->ssl, r);
	if (sslerr == SSL_ERROR_WANT_READ)
		return TLS_WANT_READ;
	if (sslerr == SSL_ERROR_WANT_WRITE)
		return TLS_WANT_WRITE;
	tls_fail(t, sslerr, saved, "handshake", e);
	return -1;
}

/* Map the outcome of SSL_read/SSL_write to our convention. */
static long
tls_io_result(struct tls *t, int r, int saved, const char *what,
    struct err *e)
{
	int sslerr;

	if (r > 0)
		return r;
	sslerr = SSL_get_error(t->ssl, r);
	if (sslerr == SSL_ERROR_WANT_READ)
		return TLS_WANT_READ;
	if (sslerr == SSL_ERROR_WANT_WRITE)
		return TLS_WANT_WRITE;
	if (sslerr == SSL_ERROR_ZERO_RETURN) {
		t->failed = 1;	/* the peer closed: no close_notify */
		return 0;
	}
	tls_fail(t, sslerr, saved, what, e);
	return -1;
}

long
tls_read(struct tls *t, void *buf, size_t n, struct err *e)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_read(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	return tls_io_result(t, r, errno, "read", e);
}

long
tls_write(struct tls *t, const void *buf, size_t n, struct err *e)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_write(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	return tls_io_result(t, r, errno, "write", e);
}

/* --- the peer, for diagnostics ------------------------------------------- */

/* Control and non-ASCII bytes of server-chosen text become '?'. */
static void
tls_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void
tls_name_str(const X509_NAME *n, char *dst, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	dst[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_read(b, dst, (int)size - 1)) > 0)
		dst[len] = '\0';
	BIO_free(b);
	tls_sanitize(dst);
}

/* One subjectAltName entry (DNS or IP) appended to dst. */
static void
tls_san_add(const GENERAL_NAME *g, char *dst, size_t size)
{
	char one[300];
	const unsigned char *d;
	int len;

	if (g->type == GEN_DNS) {
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		snprintf(one, sizeof(one), "%.*s", len > 255 ? 255 : len,
		    (const char *)d);
	} else if (g->type == GEN_IPADD) {
		d = ASN1_STRING_get0_data(g->d.iPAddress);
		len = ASN1_STRING_length(g->d.iPAddress);
		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET :
		    AF_INET6, d, one, sizeof(one)) == NULL)
			return;
	} else
		return;
	tls_sanitize(one);
	if (dst[0] != '\0')
		strlcat(dst, ", ", size);
	strlcat(dst, one, size);
}

static void
tls_sans(X509 *cert, char *dst, size_t size)
{
	GENERAL_NAMES *gens;
	int i;

	dst[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		tls_san_add(sk_GENERAL_NAME_value(gens, i), dst, size);
	GENERAL_NAMES_free(gens);
}

static enum tls_verdict
tls_verdict_of(long code)
{
	switch (code) {
	case X509_V_OK:
		return TLS_VERDICT_OK;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return TLS_VERDICT_NAME;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_VERDICT_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return TLS_VERDICT_UNTRUSTED;
	default:
		return TLS_VERDICT_OTHER;
	}
}

static void
tls_peer_cert(X509 *cert, struct tls_peer *p)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct tm tm;

	p->have_cert = 1;
	tls_name_str(X509_get_subject_name(cert), p->subject,
	    sizeof(p->subject));
	tls_name_str(X509_get_issuer_name(cert), p->issuer,
	    sizeof(p->issuer));
	tls_sans(cert, p->names, sizeof(p->names));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		p->not_after = timegm(&tm);
	if (X509_digest(cert, EVP_sha256(), md, &len) == 1 &&
	    len == TLS_FP_LEN)
		tls_hex(md, len, p->fingerprint, sizeof(p->fingerprint));
}

static void
tls_peer_verdict(const struct tls *t, struct tls_peer *p)
{
	long code = t->vfail;

	if (!t->verify) {
		strlcpy(p->verify, "not checked (tls_verify = no)",
		    sizeof(p->verify));
		return;
	}
	if (code == 0 && t->connected)
		code = SSL_get_verify_result(t->ssl);
	else if (code == 0) {
		strlcpy(p->verify, "not reached", sizeof(p->verify));
		return;
	}
	p->verdict = tls_verdict_of(code);
	strlcpy(p->verify, code == X509_V_OK ? "ok" :
	    X509_verify_cert_error_string(code), sizeof(p->verify));
}

void
tls_peer_get(const struct tls *t, struct tls_peer *p)
{
	X509 *cert;

	memset(p, 0, sizeof(*p));
	if (t == NULL)
		return;
	if (t->connected) {
		strlcpy(p->version, SSL_get_version(t->ssl),
		    sizeof(p->version));
		strlcpy(p->cipher, SSL_get_cipher_name(t->ssl),
		    sizeof(p->cipher));
		p->bits = SSL_get_cipher_bits(t->ssl, NULL);
	}
	if ((cert = t->leaf) != NULL)
		tls_peer_cert(cert, p);
	else if (t->connected &&
	    (cert = tls_get1_peer(t->ssl)) != NULL) {
		tls_peer_cert(cert, p);
		X509_free(cert);
	}
	tls_peer_verdict(t, p);
}

int
tls_resumed(const struct tls *t)
{
	return t != NULL && t->ssl != NULL && SSL_session_reused(t->ssl);
}

const char *
tls_info(const struct tls *t)
{
	return t != NULL ? t->info : "";
}

void
tls_free(struct tls *t, int notify)
{
	if (t == NULL)
		return;
	if (notify && t->ssl != NULL && t->connected && !t->failed)
		(void)SSL_shutdown(t->ssl);	/* best effort, no wait */
	ERR_clear_error();
	X509_free(t->leaf);
	SSL_SESSION_free(t->held);
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	X509_LOOKUP_meth_free(t->bundle);	/* after the store using it */
	tls_cache_free(t->cache);	/* may hold the context's last ref */
	BIO_meth_free(t->meth);
	free(t->host);
	explicit_bzero(t, sizeof(*t));
	free(t);
}
