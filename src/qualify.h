/*
 * qualify.h - bare local parts in the address fields of a submitted
 * message get "@domain", as Postfix does for local submissions, so that
 * replies to `From: root (Cron Daemon)` or `To: bob` reach someone.
 *
 * The fields are From, Sender, Reply-To, To, Cc, Bcc and their Resent-
 * forms. The value is read with RFC 5322's grammar (obsolete forms
 * included): comments, display names, quoted strings, groups, route-addrs
 * and folding stay byte for byte; only "@domain" goes in after each local
 * part that has no domain. An empty "<>" never changes. A value that does
 * not parse as an address list is left exactly as it was: qualification
 * never makes a header worse than the caller wrote it. Aliases are not
 * applied here: they are for envelopes.
 */
#ifndef RELAYQ_QUALIFY_H
#define RELAYQ_QUALIFY_H

#include <stddef.h>
#include "buf.h"

/* Non-zero when f[0..len) starts one of the address fields above. */
int qualify_is_address_field(const char *f, size_t len);

/*
 * f[0..len) is one whole field ("Name: value", continuation lines joined
 * by LF, no final LF). When it is an address field with a bare local
 * part and parses, 1 with the qualified field in out, which must be
 * empty (same shape, not refolded: the caller folds, header_fold()). 0
 * when there is nothing to change (another field, nothing bare, an empty
 * domain, or a value that does not parse): write f as it was. -1 when out
 * could not grow (ENOMEM, its maximum): write f as it was too. On 0 and
 * -1, out is left empty.
 */
int qualify_field(const char *f, size_t len, const char *domain,
    struct buf *out);

#endif
