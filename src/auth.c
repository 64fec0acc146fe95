/*
 * auth.c - SMTP AUTH mechanisms as pure line builders (see auth.h).
 *
 * Invariants: a credential only ever lands in a caller's buffer (which the
 * caller wipes) or in scratch memory wiped here before it is freed; no
 * function logs. Base64 decoding and HMAC-MD5 come from OpenSSL; the
 * encoder is in b64.c. Errors: a
 * dialogue the mechanism does not allow or a bad challenge is RQ_TEMP;
 * memory or crypto failures are RQ_INTERNAL.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#include <openssl/hmac.h>
#endif

#include "compat.h"
#include "auth.h"

static const struct {
	enum auth_mech mech;
	const char *name;
} auth_names[] = {
	{ AUTH_PLAIN, "PLAIN" },
	{ AUTH_LOGIN, "LOGIN" },
	{ AUTH_CRAM_MD5, "CRAM-MD5" },
	{ AUTH_XOAUTH2, "XOAUTH2" },
	{ AUTH_OAUTHBEARER, "OAUTHBEARER" },
};

#define NAUTH_NAMES (sizeof(auth_names) / sizeof(auth_names[0]))

const char *
auth_mech_name(enum auth_mech m)
{
	size_t i;

	for (i = 0; i < NAUTH_NAMES; i++)
		if (auth_names[i].mech == m)
			return auth_names[i].name;
	return NULL;
}

void
auth_mech_list(unsigned bits, char *dst, size_t size)
{
	const char *n;
	int m;

	dst[0] = '\0';
	for (m = AUTH_PLAIN; m < AUTH_NONE; m++)
		if ((bits & (1u << m)) != 0 &&
		    (n = auth_mech_name((enum auth_mech)m)) != NULL) {
			if (dst[0] != '\0')
				strlcat(dst, " ", size);
			strlcat(dst, n, size);
		}
}

enum auth_mech
auth_mech_lookup(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < NAUTH_NAMES; i++)
		if (strlen(auth_names[i].name) == len &&
		    strncasecmp(auth_names[i].name, s, len) == 0)
			return auth_names[i].mech;
	return AUTH_NONE;
}

enum auth_mech
auth_choose(enum auth_mech want, unsigned offered)
{
	static const enum auth_mech best[] = {
		AUTH_CRAM_MD5, AUTH_PLAIN, AUTH_LOGIN
	};
	size_t i;

	if (want == AUTH_NONE)
		return AUTH_NONE;
	if (want != AUTH_AUTO)
		return (offered & (1u << want)) ? want : AUTH_NONE;
	for (i = 0; i < sizeof(best) / sizeof(best[0]); i++)
		if (offered & (1u << best[i]))
			return best[i];
	return AUTH_NONE;
}

/* Strict RFC 4648 shape: length a multiple of 4, '=' only as padding. */
static int
auth_b64_valid(const char *in, size_t n, size_t *pad)
{
	size_t i;
	unsigned char c;

	*pad = 0;
	if (n % 4 != 0)
		return 0;
	while (*pad < 2 && *pad < n && in[n - 1 - *pad] == '=')
		(*pad)++;
	for (i = 0; i < n - *pad; i++) {
		c = (unsigned char)in[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

int
auth_b64_decode(const char *in, size_t n, struct buf *out)
{
	unsigned char *tmp;
	size_t pad;
	int len;

	if (!auth_b64_valid(in, n, &pad) || n > AUTH_LINE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (n == 0)
		return 0;
	if ((tmp = malloc(n)) == NULL)
		return -1;
	len = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
	if (len < 0 || (size_t)len < pad ||
	    buf_append(out, tmp, (size_t)len - pad) == -1) {
		explicit_bzero(tmp, n);
		free(tmp);
		errno = EINVAL;
		return -1;
	}
	explicit_bzero(tmp, n);
	free(tmp);
	return 0;
}

void
auth_init(struct auth *a, enum auth_mech mech, const char *user,
    const char *pass)
{
	a->mech = mech;
	a->user = user;
	a->pass = pass;
	a->step = 0;
}

/*
 * Base64 of the concatenation of parts (each parts[i] of lens[i] bytes)
 * appended to out; the plain concatenation lives only in wiped scratch.
 */
static enum rq_status
auth_b64_parts(const char *const *parts, const size_t *lens, size_t nparts,
    struct buf *out, struct err *e)
{
	struct buf tmp;
	size_t i;
	int rc = 0;

	buf_init(&tmp, AUTH_LINE_MAX);
	for (i = 0; i < nparts && rc == 0; i++)
		rc = buf_append(&tmp, parts[i], lens[i]);
	if (rc == 0)
		rc = b64_encode(tmp.data != NULL ? tmp.data : "", tmp.len,
		    out);
	buf_wipe(&tmp);
	if (rc == -1)
		return err_sys(e, RQ_INTERNAL, "AUTH: cannot build response");
	return RQ_OK;
}

static enum rq_status
auth_plain(const struct auth *a, struct buf *out, struct err *e)
{
	const char *parts[] = { "", a->user, "", a->pass };
	size_t lens[] = { 1, strlen(a->user), 1, strlen(a->pass) };

	return auth_b64_parts(parts, lens, 4, out, e);
}

static enum rq_status
auth_xoauth2(const struct auth *a, struct buf *out, struct err *e)
{
	const char *parts[] = { "user=", a->user, "\001auth=Bearer ",
	    a->pass, "\001\001" };
	size_t lens[] = { 5, strlen(a->user), 13, strlen(a->pass), 2 };

	return auth_b64_parts(parts, lens, 5, out, e);
}

/* RFC 7628: the GS2 header with the user, then the bearer token. */
static enum rq_status
auth_oauthbearer(const struct auth *a, struct buf *out, struct err *e)
{
	const char *parts[] = { "n,a=", a->user, ",\001auth=Bearer ",
	    a->pass, "\001\001" };
	size_t lens[] = { 4, strlen(a->user), 14, strlen(a->pass), 2 };

	return auth_b64_parts(parts, lens, 5, out, e);
}

enum rq_status
auth_begin(struct auth *a, struct buf *out, struct err *e)
{
	const char *name = auth_mech_name(a->mech);

	buf_reset(out);
	a->step = 0;
	if (name == NULL || a->user == NULL || a->pass == NULL)
		return err_set(e, RQ_INTERNAL, "AUTH: no mechanism or "
		    "credentials");
	if (buf_printf(out, "AUTH %s", name) == -1)
		return err_sys(e, RQ_INTERNAL, "AUTH");
	switch (a->mech) {
	case AUTH_PLAIN:
		if (buf_putc(out, ' ') == -1)
			return err_sys(e, RQ_INTERNAL, "AUTH");
		return auth_plain(a, out, e);
	case AUTH_XOAUTH2:
		if (buf_putc(out, ' ') == -1)
			return err_sys(e, RQ_INTERNAL, "AUTH");
		return auth_xoauth2(a, out, e);
	case AUTH_OAUTHBEARER:
		if (buf_putc(out, ' ') == -1)
			return err_sys(e, RQ_INTERNAL, "AUTH");
		return auth_oauthbearer(a, out, e);
	default:
		return RQ_OK;
	}
}

/* HMAC-MD5(pass, challenge) as 32 lowercase hex digits into hex[33]. */
static enum rq_status
auth_hmac_md5_hex(const char *pass, const void *chal, size_t clen,
    char hex[33], struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0, i;
	int ok;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	ok = EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, pass, strlen(pass),
	    chal, clen, md, sizeof(md), &mdlen) != NULL;
#else
	unsigned int ulen = 0;

	ok = HMAC(EVP_md5(), pass, (int)strlen(pass), chal, clen, md,
	    &ulen) != NULL;
	mdlen = ulen;
#endif
	if (!ok || mdlen != 16) {
		explicit_bzero(md, sizeof(md));
		return err_set(e, RQ_INTERNAL, "AUTH CRAM-MD5: HMAC-MD5 "
		    "is not available");
	}
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(md, sizeof(md));
	return RQ_OK;
}

static enum rq_status
auth_cram_md5(const struct auth *a, const char *chal, size_t len,
    struct buf *out, struct err *e)
{
	struct buf raw;
	char hex[33];
	const char *parts[3];
	size_t lens[3];
	enum rq_status st;

	buf_init(&raw, AUTH_LINE_MAX);
	if (auth_b64_decode(chal, len, &raw) == -1 || raw.len == 0) {
		buf_free(&raw);
		return err_set(e, RQ_TEMP, "AUTH CRAM-MD5: the server's "
		    "challenge is not valid base64");
	}
	st = auth_hmac_md5_hex(a->pass, raw.data, raw.len, hex, e);
	buf_free(&raw);
	if (st != RQ_OK)
		return st;
	parts[0] = a->user;
	lens[0] = strlen(a->user);
	parts[1] = " ";
	lens[1] = 1;
	parts[2] = hex;
	lens[2] = 32;
	st = auth_b64_parts(parts, lens, 3, out, e);
	explicit_bzero(hex, sizeof(hex));
	return st;
}

enum rq_status
auth_next(struct auth *a, const char *chal, size_t len, struct buf *out,
    struct err *e)
{
	const char *name = auth_mech_name(a->mech);
	int step = ++a->step;

	buf_reset(out);
	if (a->mech == AUTH_LOGIN && step == 1)
		return auth_b64_parts(&a->user, (size_t[]){ strlen(a->user) },
		    1, out, e);
	if (a->mech == AUTH_LOGIN && step == 2)
		return auth_b64_parts(&a->pass, (size_t[]){ strlen(a->pass) },
		    1, out, e);
	if (a->mech == AUTH_CRAM_MD5 && step == 1)
		return auth_cram_md5(a, chal, len, out, e);
	/* XOAUTH2 failure: the server sends an error as a challenge and
	   expects an empty line before its final reply. */
	if (a->mech == AUTH_XOAUTH2 && step == 1)
		return RQ_OK;
	/* OAUTHBEARER (RFC 7628 3.2.3): the same, answered with ^A. */
	if (a->mech == AUTH_OAUTHBEARER && step == 1)
		return b64_encode("\001", 1, out) == -1 ?
		    err_sys(e, RQ_INTERNAL, "AUTH") : RQ_OK;
	return err_set(e, RQ_TEMP, "AUTH %s: unexpected challenge from the "
	    "server", name != NULL ? name : "?");
}
