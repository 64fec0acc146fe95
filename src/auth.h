/*
 * auth.h - SMTP AUTH (RFC 4954) client mechanisms: PLAIN, LOGIN, CRAM-MD5,
 * XOAUTH2 and OAUTHBEARER (RFC 7628), as pure functions that turn
 * credentials and server challenges into command lines. No I/O: smtp.c
 * sends the lines (masked in every log and in verbose output) and reads
 * the replies.
 *
 * Secrets: every buffer these functions fill may hold a credential or a
 * value derived from it; the caller wipes it with buf_wipe(). Scratch
 * memory inside is wiped before it is freed. Failures are RQ_TEMP (a
 * broken challenge, a dialogue longer than the mechanism allows) or
 * RQ_INTERNAL (out of memory, crypto library failure).
 */
#ifndef RELAYQ_AUTH_H
#define RELAYQ_AUTH_H

#include <stddef.h>
#include "b64.h"
#include "buf.h"
#include "err.h"
#include "proto.h"

#define AUTH_LINE_MAX	B64_TEXT_MAX	/* longest AUTH line we build */

struct auth {
	enum auth_mech mech;
	const char *user;
	const char *pass;	/* the password, or the OAuth2 token */
	int step;		/* challenges answered so far */
};

/* The SMTP name ("PLAIN", "CRAM-MD5", ...); NULL for AUTH_AUTO/NONE. */
const char *auth_mech_name(enum auth_mech m);
/*
 * The mechanisms in bits (1u << mech), space-separated ("PLAIN LOGIN"),
 * into dst; "" when none.
 */
void auth_mech_list(unsigned bits, char *dst, size_t size);
/* The mechanism named by s[0..len) (case-insensitive), else AUTH_NONE. */
enum auth_mech auth_mech_lookup(const char *s, size_t len);
/*
 * The mechanism to use, given the configured one and the bits
 * (1u << mech) the server offers: AUTH_AUTO picks the best of CRAM-MD5,
 * PLAIN and LOGIN (never XOAUTH2 or OAUTHBEARER, which need a token, not
 * a password); an explicit mechanism is used only when offered. AUTH_NONE when none.
 */
enum auth_mech auth_choose(enum auth_mech want, unsigned offered);

/* Start a dialogue; user and pass must outlive it. */
void auth_init(struct auth *a, enum auth_mech mech, const char *user,
    const char *pass);
/*
 * The AUTH command (no CRLF) into out (reset first), with an initial
 * response for PLAIN, XOAUTH2 and OAUTHBEARER.
 */
enum rq_status auth_begin(struct auth *a, struct buf *out, struct err *e);
/*
 * The answer to a 334 challenge (its text after "334 ", base64) into out
 * (reset first). RQ_TEMP when the mechanism expects no (further)
 * challenge or the challenge is not valid base64.
 */
enum rq_status auth_next(struct auth *a, const char *chal, size_t len,
    struct buf *out, struct err *e);

/* The bytes of base64 text in[0..n) appended to out; -1 if invalid. */
int auth_b64_decode(const char *in, size_t n, struct buf *out);

#endif
