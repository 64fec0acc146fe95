/*
 * b64.h - base64 (RFC 4648, padded, no line breaks) for whoever builds
 * text: the header and body encoders of submission and the SMTP client's
 * AUTH. A base module: it uses buf alone and no OpenSSL, so the
 * submission program links it (Makefile.am).
 */
#ifndef RELAYQ_B64_H
#define RELAYQ_B64_H

#include <stddef.h>
#include "buf.h"

/* The longest base64 text b64_encode() builds in one call. */
#define B64_TEXT_MAX	65536

/* Base64 of in[0..n) appended to out; 0, or -1 with errno (EMSGSIZE when
 * the text would exceed B64_TEXT_MAX). */
int b64_encode(const void *in, size_t n, struct buf *out);

#endif
