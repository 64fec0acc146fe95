/*
 * dns.h - SRV (RFC 2782, for RFC 6186/8314 submission services) and MX
 * lookups with libresolv, each bounded by a timeout, for relayq probe.
 *
 * Names in answers are expanded by dn_expand() and checked: only letters,
 * digits, '-', '.' and '_' are kept, anything else drops the record (the
 * answer is untrusted). A name that does not exist or has no record of
 * the type gives zero records and RQ_OK; a lookup that failed or ran out
 * of time is RQ_TEMP with the reason in e.
 */
#ifndef RELAYQ_DNS_H
#define RELAYQ_DNS_H

#include <stddef.h>
#include "err.h"

#define DNS_NAME_MAX	256
#define DNS_RR_MAX	16	/* records kept per answer */

struct dns_rr {
	unsigned pref;		/* MX preference, SRV priority */
	unsigned weight;	/* SRV only */
	unsigned port;		/* SRV only */
	char name[DNS_NAME_MAX];	/* exchange or target, no final '.' */
};

/*
 * The SRV or MX records of name (type "SRV" or "MX") into out, sorted by
 * pref (SRV: then by weight, heaviest first); *n says how many. Each query
 * may take timeout seconds per name server.
 */
enum rq_status dns_lookup(const char *name, const char *type, int timeout,
    struct dns_rr out[DNS_RR_MAX], size_t *n, struct err *e);

#endif
