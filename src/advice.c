/*
 * advice.c - the usual smarthost mistakes and their fix (see advice.h).
 *
 * Each row is a predicate over the facts and a writer of the paragraph;
 * the first row that matches wins, so a specific diagnosis (port 465 with
 * tls = starttls) comes before a general one (no greeting in time). The
 * words name the setting to change and its value, never a code alone.
 * Pure: everything comes from struct advice_facts.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "advice.h"
#include "auth.h"

struct advice_row {
	int (*match)(const struct advice_facts *f);
	void (*write)(const struct advice_facts *f, char *out, size_t size);
};

/* snprintf that is meant to cut: advice is bounded on purpose. */
static void RQ_PRINTF(3, 4)
put(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

static int
has(const char *s, const char *needle)
{
	return s != NULL && strcasestr(s, needle) != NULL;
}

static int
port_is(const struct advice_facts *f, const char *p)
{
	return f->port != NULL && strcmp(f->port, p) == 0;
}

static int
failed(const struct advice_facts *f, enum smtp_step st)
{
	return f->failed == st;
}

int
advice_big_provider(const char *host)
{
	static const char *const names[] = { "gmail.com", "google.com",
	    "googlemail.com", "office365.com", "outlook.com", "hotmail.com",
	    "live.com", "microsoft.com" };
	size_t i, n, h;

	if (host == NULL)
		return 0;
	h = strlen(host);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (h >= n && strcasecmp(host + h - n, names[i]) == 0 &&
		    (h == n || host[h - n - 1] == '.'))
			return 1;
	}
	return 0;
}

/* --- connection ----------------------------------------------------------- */

static int
m_resolve(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_RESOLVE);
}

static void
w_resolve(const struct advice_facts *f, char *out, size_t size)
{
	if (f->timed_out)
		put(out, size, "the name lookup of %s did not finish in time: "
		    "check the name servers in /etc/resolv.conf and the "
		    "network", f->host);
	else
		put(out, size, "%s has no address: check the spelling of "
		    "host =; for bob@example.com it is usually "
		    "smtp.example.com or mail.example.com (`relayq probe "
		    "bob@example.com` tries them)", f->host);
}

static int
m_port25_blocked(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_CONNECT) && f->timed_out &&
	    port_is(f, "25");
}

static void
w_port25_blocked(const struct advice_facts *f, char *out, size_t size)
{
	(void)f;
	put(out, size, "connections to port 25 time out: many ISPs and "
	    "cloud providers block outgoing port 25; use port = 587 with "
	    "tls = starttls, or port = 465 with tls = smtps");
}

static int
m_connect_timeout(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_CONNECT) && f->timed_out;
}

static void
w_connect_timeout(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "connections to %s port %s time out: a firewall "
	    "drops them, or host = or port = is wrong (submission ports: "
	    "587 with tls = starttls, 465 with tls = smtps)", f->host,
	    f->port);
}

static int
m_refused(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_CONNECT) && f->errnum == ECONNREFUSED;
}

static void
w_refused(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "nothing listens on port %s of %s: check port = "
	    "(587 with tls = starttls, 465 with tls = smtps, sometimes 2525)",
	    f->port, f->host);
}

/* --- TLS mode and port ---------------------------------------------------- */

/* Our TLS hello was answered in plain text (an SMTP greeting). */
static int
m_smtps_on_plain(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_TLS) && f->tls == TLS_MODE_SMTPS &&
	    (has(f->detail, "wrong version number") ||
	    has(f->detail, "packet length too long") ||
	    has(f->detail, "record layer failure") ||
	    has(f->detail, "unknown protocol"));
}

static void
w_smtps_on_plain(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "port %s speaks plain SMTP first and expects "
	    "STARTTLS, not TLS at once: use tls = starttls (or port = 465 "
	    "if you want tls = smtps)", f->port);
}

/* No greeting: the server waits for a TLS hello (implicit TLS port). */
static int
m_starttls_on_465(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_GREETING) && f->tls != TLS_MODE_SMTPS &&
	    port_is(f, "465");
}

static void
w_starttls_on_465(const struct advice_facts *f, char *out, size_t size)
{
	(void)f;
	put(out, size, "this port speaks TLS at once: use tls = smtps "
	    "(port 465 is implicit TLS, \"SSL\"; tls = starttls belongs to "
	    "port 587)");
}

static int
m_no_greeting(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_GREETING) && f->tls != TLS_MODE_SMTPS &&
	    f->timed_out;
}

static void
w_no_greeting(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "the server sent no greeting within %d s: if port %s "
	    "speaks TLS at once (as 465 does), use tls = smtps; otherwise "
	    "the server is overloaded or something between holds the "
	    "connection", f->timeout, f->port);
}

static int
m_no_starttls(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_STARTTLS) && f->code == 0 &&
	    has(f->detail, "not offered");
}

static void
w_no_starttls(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "the server does not offer STARTTLS on port %s, so "
	    "nothing would be encrypted: use port = 587 with tls = starttls "
	    "or port = 465 with tls = smtps (never tls = none across the "
	    "Internet)", f->port);
}

/* --- certificates --------------------------------------------------------- */

static int
m_cert(const struct advice_facts *f, enum tls_verdict v)
{
	return failed(f, SMTP_STEP_TLS) && f->peer != NULL &&
	    f->peer->verdict == v;
}

static int
m_cert_name(const struct advice_facts *f)
{
	return m_cert(f, TLS_VERDICT_NAME);
}

static void
w_cert_name(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "the certificate is for another name: it has %s, not "
	    "%s. If one of those is your provider's server, set host = to "
	    "it (providers' FAQs name the host their certificate is for)",
	    f->peer->names[0] != '\0' ? f->peer->names : f->peer->subject,
	    f->host);
}

static int
m_cert_untrusted(const struct advice_facts *f)
{
	return m_cert(f, TLS_VERDICT_UNTRUSTED);
}

static void
w_cert_untrusted(const struct advice_facts *f, char *out, size_t size)
{
	const struct tls_peer *p = f->peer;

	if (strcmp(p->subject, p->issuer) == 0)
		put(out, size, "the server's certificate is self-signed (%s): "
		    "save that certificate and set ca_file = to its file, or "
		    "pin it with fingerprint = sha256:%s", p->subject,
		    p->fingerprint);
	else
		put(out, size, "the certificate's issuer (%s) is not a CA this "
		    "system trusts: if it is your provider's or company's "
		    "own CA, save that CA's certificate and set ca_file = to "
		    "its file; for a public CA, install ca-certificates; or "
		    "pin the server with fingerprint = sha256:%s", p->issuer,
		    p->fingerprint);
}

static int
m_cert_expired(const struct advice_facts *f)
{
	return m_cert(f, TLS_VERDICT_EXPIRED);
}

static void
w_cert_expired(const struct advice_facts *f, char *out, size_t size)
{
	(void)f;
	put(out, size, "the server's certificate is expired or not yet "
	    "valid: check this machine's clock, then tell the provider");
}

/* --- AUTH ----------------------------------------------------------------- */

static int
m_auth_bad(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_AUTH) && (f->code == 535 ||
	    f->code == 534);
}

static void
w_auth_bad(const struct advice_facts *f, char *out, size_t size)
{
	const char *user = f->user != NULL ? f->user : "";
	const char *at = strchr(user, '@');
	char try[300];

	if (at != NULL)
		put(try, sizeof(try), "; some servers want the part before "
		    "the @ as user name: try user = %.*s", (int)(at - user),
		    user);
	else
		put(try, sizeof(try), "; most servers want the full address "
		    "as user name (user = %s@your-domain)", user);
	put(out, size, "the server refused the user name or the password "
	    "(%d)%s%s", f->code, advice_big_provider(f->host) ? ". Gmail "
	    "and Microsoft 365 refuse the account password: create an app "
	    "password (with 2-step verification on) or use OAuth2 "
	    "(auth = xoauth2)" : ": check password_file", try);
}

static int
m_auth_clear(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_AUTH_CHOICE) && has(f->detail,
	    "without TLS");
}

static void
w_auth_clear(const struct advice_facts *f, char *out, size_t size)
{
	(void)f;
	put(out, size, "relayq does not send a password over an unencrypted "
	    "connection: use tls = starttls (port 587) or tls = smtps "
	    "(port 465)");
}

static int
m_auth_none(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_AUTH_CHOICE) && (has(f->detail,
	    "no usable AUTH") || has(f->detail, "not offered"));
}

static void
w_auth_none(const struct advice_facts *f, char *out, size_t size)
{
	char list[128];

	auth_mech_list(f->auth_offered, list, sizeof(list));
	if (list[0] == '\0')
		put(out, size, "the server offers no AUTH here: many offer it "
		    "only on the submission ports (587, 465) or only to "
		    "clients inside their network; check port = and tls =");
	else
		put(out, size, "the server offers AUTH %s only: set auth = "
		    "auto, or one of those (XOAUTH2 needs a token as "
		    "password)", list);
}

/* --- the transaction (relayq test --send) --------------------------------- */

static int
m_must_auth(const struct advice_facts *f)
{
	return (failed(f, SMTP_STEP_MAIL) || failed(f, SMTP_STEP_RCPT)) &&
	    f->code == 530;
}

static void
w_must_auth(const struct advice_facts *f, char *out, size_t size)
{
	(void)f;
	put(out, size, "the server wants you to log in first (530): set "
	    "user = and password_file = in the [smarthost] section");
}

static int
m_sender_refused(const struct advice_facts *f)
{
	return failed(f, SMTP_STEP_MAIL) && (f->code == 550 ||
	    f->code == 553 || f->code == 554);
}

static void
w_sender_refused(const struct advice_facts *f, char *out, size_t size)
{
	put(out, size, "the server refuses the sender <%s> (%d): the account "
	    "%s does not own that address. Send as the account's own address "
	    "(relayq test --send ADDRESS --from %s), or have the provider "
	    "allow the other one", f->sender != NULL ? f->sender : "",
	    f->code, f->user != NULL ? f->user : "(none)",
	    f->user != NULL ? f->user : "ACCOUNT");
}

static const struct advice_row rows[] = {
	{ m_resolve, w_resolve },
	{ m_port25_blocked, w_port25_blocked },
	{ m_connect_timeout, w_connect_timeout },
	{ m_refused, w_refused },
	{ m_smtps_on_plain, w_smtps_on_plain },
	{ m_starttls_on_465, w_starttls_on_465 },
	{ m_no_greeting, w_no_greeting },
	{ m_no_starttls, w_no_starttls },
	{ m_cert_name, w_cert_name },
	{ m_cert_untrusted, w_cert_untrusted },
	{ m_cert_expired, w_cert_expired },
	{ m_auth_bad, w_auth_bad },
	{ m_auth_clear, w_auth_clear },
	{ m_auth_none, w_auth_none },
	{ m_must_auth, w_must_auth },
	{ m_sender_refused, w_sender_refused },
};

int
advice_for(const struct advice_facts *f, char *out, size_t size)
{
	size_t i;

	if (size > ADVICE_MAX)
		size = ADVICE_MAX;
	out[0] = '\0';
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].match(f)) {
			rows[i].write(f, out, size);
			return 1;
		}
	return 0;
}
