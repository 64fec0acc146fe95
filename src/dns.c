/*
 * dns.c - SRV and MX lookups (see dns.h).
 *
 * One resolver state per call (res_ninit), nothing global changed: the
 * retransmission time is the caller's timeout and there is one try per
 * server, so a silent name server costs at most timeout x servers.
 * Error policy: RQ_TEMP for a failed lookup, RQ_OK with no records for
 * NXDOMAIN and NODATA.
 */
#include "config.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "dns.h"

#define DNS_ANSWER_MAX	65536

/* Only host-name characters (and '_' of service labels). */
static int
dns_name_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_'))
			return 0;
	return 1;
}

/* One answer record into rr: 0, or -1 to skip it. */
static int
dns_rr_parse(ns_msg *msg, ns_rr *r, int type, struct dns_rr *rr)
{
	const unsigned char *d = ns_rr_rdata(*r);
	size_t fixed = type == ns_t_srv ? 6 : 2;
	size_t len;

	if ((int)ns_rr_type(*r) != type || ns_rr_rdlen(*r) <= fixed)
		return -1;
	memset(rr, 0, sizeof(*rr));
	rr->pref = (unsigned)d[0] << 8 | d[1];
	if (type == ns_t_srv) {
		rr->weight = (unsigned)d[2] << 8 | d[3];
		rr->port = (unsigned)d[4] << 8 | d[5];
	}
	if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), d + fixed,
	    rr->name, sizeof(rr->name)) < 0)
		return -1;
	len = strlen(rr->name);
	if (len > 0 && rr->name[len - 1] == '.')
		rr->name[len - 1] = '\0';
	return dns_name_ok(rr->name) ? 0 : -1;
}

static int
dns_rr_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->name, y->name);
}

static enum rq_status
dns_parse(const unsigned char *ans, int len, int type,
    struct dns_rr out[DNS_RR_MAX], size_t *n, struct err *e)
{
	ns_msg msg;
	ns_rr r;
	int i, count;

	if (ns_initparse(ans, len, &msg) == -1)
		return err_set(e, RQ_TEMP, "malformed DNS answer");
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && *n < DNS_RR_MAX; i++)
		if (ns_parserr(&msg, ns_s_an, i, &r) == 0 &&
		    dns_rr_parse(&msg, &r, type, &out[*n]) == 0)
			(*n)++;
	qsort(out, *n, sizeof(out[0]), dns_rr_cmp);
	return RQ_OK;
}

enum rq_status
dns_lookup(const char *name, const char *type, int timeout,
    struct dns_rr out[DNS_RR_MAX], size_t *n, struct err *e)
{
	struct __res_state rs;
	unsigned char *ans;
	int t = strcmp(type, "SRV") == 0 ? ns_t_srv : ns_t_mx, len, herr;
	enum rq_status st;

	*n = 0;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return err_set(e, RQ_TEMP, "%s %s: resolver setup failed",
		    type, name);
	rs.retrans = timeout > 0 ? timeout : 1;
	rs.retry = 1;
	if ((ans = malloc(DNS_ANSWER_MAX)) == NULL) {
		res_nclose(&rs);
		return err_sys(e, RQ_TEMP, "%s %s", type, name);
	}
	len = res_nquery(&rs, name, ns_c_in, t, ans, DNS_ANSWER_MAX);
	herr = rs.res_h_errno;
	if (len >= 0)
		st = dns_parse(ans, len, t, out, n, e);
	else if (herr == HOST_NOT_FOUND || herr == NO_DATA)
		st = RQ_OK;
	else
		st = err_set(e, RQ_TEMP, "%s %s: %s", type, name,
		    herr == TRY_AGAIN ? "no answer from the name servers" :
		    hstrerror(herr));
	free(ans);
	res_nclose(&rs);
	return st;
}
