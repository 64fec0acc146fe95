/*
 * probe.h - `relayq probe ADDRESS`: find working smarthost settings for
 * a mail address.
 *
 * Candidates: the RFC 6186/8314 SRV records (_submissions._tcp: implicit
 * TLS, _submission._tcp: STARTTLS), then the rule of thumb (smtp.DOMAIN
 * and mail.DOMAIN on ports 465 with implicit TLS, 587, 25, 2525 and 26
 * with STARTTLS) and the provider's server when the domain's MX is at
 * Google or Microsoft. Every candidate is tried at once, each in a child
 * process running the one SMTP client with verification on and no
 * credentials; at the deadline the children still working are killed, so
 * the probe ends in time even when some candidates black-hole. Only a
 * candidate whose TLS came up with a verified certificate is recommended
 * (never plaintext); implicit TLS ranks before STARTTLS (RFC 8314), SRV
 * before guesses. With a password, AUTH is then tried on the recommended
 * servers, as the full address and then as its local part, and never on
 * a server whose certificate did not verify.
 *
 * Error policy: RQ_USAGE for an address without a usable domain; every
 * network failure is a candidate's result, not an error.
 */
#ifndef RELAYQ_PROBE_H
#define RELAYQ_PROBE_H

#include <stdio.h>
#include <sys/types.h>
#include "cfg.h"
#include "dns.h"
#include "err.h"
#include "smtp.h"
#include "tls.h"

#define PROBE_MAX		24	/* candidates */
#define PROBE_DEADLINE		20	/* s, default for the discovery */
#define PROBE_AUTH_TIMEOUT	10	/* s per AUTH attempt */

enum probe_source { PROBE_SRV, PROBE_GUESS, PROBE_PROVIDER };

/* What one candidate's child found (plain data: it crosses a pipe). */
struct probe_result {
	int answered;		/* the child reported in time */
	int ok;			/* TLS up, certificate verified, EHLO ok */
	int failed;		/* enum smtp_step that failed, or SMTP_STEP_N */
	enum tls_verdict verdict;
	unsigned auth;		/* AUTH mechanisms offered inside TLS */
	long ms;
	char tls[32];		/* "TLSv1.3" */
	char names[256];	/* the certificate's names */
	char why[300];		/* what failed */
};

struct probe_cand {
	char host[DNS_NAME_MAX];
	char port[12];
	enum tls_mode tls;	/* TLS_MODE_SMTPS or TLS_MODE_STARTTLS */
	enum probe_source source;
	unsigned order;		/* SRV priority; else the port's rank */
	pid_t pid;
	int fd;
	struct probe_result r;
};

struct probe_opts {
	const char *address;	/* local@domain */
	const char *password;	/* NULL: no AUTH attempts */
	const char *ca_file;	/* NULL: the system store */
	const char *helo;	/* our EHLO name */
	int deadline;		/* s for the discovery; 0: PROBE_DEADLINE */
};

struct probe_report {
	char domain[DNS_NAME_MAX];
	char local[256];
	struct probe_cand cand[PROBE_MAX];
	size_t n;
	size_t rank[PROBE_MAX];	/* indexes of ok candidates, best first */
	size_t nok;
	int auth_tried;		/* AUTH was attempted */
	int auth_ok;		/* and worked: at cand[auth_cand] as user */
	size_t auth_cand;
	char user[320];
	char auth_why[400];	/* the last refusal */
};

/*
 * Probe o->address; progress and the candidates' results go to out (NULL:
 * silent). r is filled; RQ_OK even when nothing was found (r->nok == 0).
 */
enum rq_status probe_run(const struct probe_opts *o, struct probe_report *r,
    FILE *out, struct err *e);

/*
 * The best settings as a [smarthost] section (name NULL) or a
 * [smarthost NAME] route, user and password_file (when given) included,
 * into out. -1 when no candidate worked.
 */
int probe_section(const struct probe_report *r, const char *name,
    const char *password_file, FILE *out);

/* The user name to configure: the one AUTH took, else the address. */
const char *probe_user(const struct probe_report *r, const char *address);

#endif
