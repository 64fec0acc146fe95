/*
 * check_advice.c - every named smarthost mistake: the facts `relayq test`
 * sees for it give advice that names the fix; and facts of a success or
 * of an unknown failure give none.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include "advice.h"

#include "ck_run.h"

static struct tls_peer peer_name = {
	.have_cert = 1, .subject = "CN=mx.provider.test",
	.names = "mx.provider.test, smtp.provider.test",
	.issuer = "CN=Public CA", .verdict = TLS_VERDICT_NAME,
	.verify = "hostname mismatch", .fingerprint = "AB:CD",
};
static struct tls_peer peer_ca = {
	.have_cert = 1, .subject = "CN=smtp.corp.test",
	.names = "smtp.corp.test", .issuer = "CN=Corp Internal CA",
	.verdict = TLS_VERDICT_UNTRUSTED,
	.verify = "unable to get local issuer certificate",
	.fingerprint = "12:34",
};
static struct tls_peer peer_self = {
	.have_cert = 1, .subject = "CN=box", .names = "box",
	.issuer = "CN=box", .verdict = TLS_VERDICT_UNTRUSTED,
	.verify = "self-signed certificate", .fingerprint = "56:78",
};
static struct tls_peer peer_old = {
	.have_cert = 1, .subject = "CN=smtp.example.com",
	.issuer = "CN=Public CA", .verdict = TLS_VERDICT_EXPIRED,
	.verify = "certificate has expired",
};

/* The facts of a case: only what differs from a STARTTLS submission on
 * port 587 as bob@example.com to smtp.example.com with no step failed. */
struct tfacts {
	const char *host, *port;	/* NULL: the defaults */
	enum tls_mode tls;
	const char *user;		/* NULL: bob@example.com; "": none */
	const char *sender;
	int step;			/* the failed step + 1; 0: none */
	int code, timed_out, errnum;
	const char *detail;
	unsigned auth_offered;
	const struct tls_peer *peer;
};

#define F(...) { __VA_ARGS__ }
#define STEP(s) .step = (s) + 1

static const struct {
	const char *what;
	struct tfacts f;
	const char *want;	/* a substring of the advice; NULL: none */
	const char *also;	/* a second one, or NULL */
} cases[] = {
	{ "all well", F(.code = 0), NULL, NULL },
	{ "unknown host", F(STEP(SMTP_STEP_RESOLVE),
	    .detail = "Name or service not known"), "has no address",
	    "smtp.example.com or mail.example.com" },
	{ "lookup timeout", F(STEP(SMTP_STEP_RESOLVE), .timed_out = 1),
	    "did not finish in time", "resolv.conf" },
	{ "port 25 blocked", F(.port = "25", STEP(SMTP_STEP_CONNECT),
	    .timed_out = 1, .errnum = ETIMEDOUT), "block outgoing port 25",
	    "port = 587" },
	{ "587 times out", F(STEP(SMTP_STEP_CONNECT), .timed_out = 1,
	    .errnum = ETIMEDOUT), "time out: a firewall", NULL },
	{ "refused", F(STEP(SMTP_STEP_CONNECT), .errnum = ECONNREFUSED),
	    "nothing listens on port 587", NULL },
	{ "starttls on 465", F(.port = "465", STEP(SMTP_STEP_GREETING),
	    .timed_out = 1), "this port speaks TLS at once: use tls = smtps",
	    NULL },
	{ "no greeting elsewhere", F(.port = "2525",
	    STEP(SMTP_STEP_GREETING), .timed_out = 1),
	    "no greeting within 10 s", "use tls = smtps" },
	{ "smtps on 587", F(.tls = TLS_MODE_SMTPS, STEP(SMTP_STEP_TLS),
	    .detail = "TLS: handshake failed: wrong version number"),
	    "port 587 speaks plain SMTP first", "use tls = starttls" },
	{ "smtps on 25, new OpenSSL", F(.port = "25", .tls = TLS_MODE_SMTPS,
	    STEP(SMTP_STEP_TLS), .detail = "TLS: handshake failed: "
	    "packet length too long"), "use tls = starttls", NULL },
	{ "no STARTTLS", F(STEP(SMTP_STEP_STARTTLS),
	    .detail = "STARTTLS not offered by x"), "does not offer STARTTLS",
	    "tls = smtps" },
	{ "STARTTLS refused by a reply", F(STEP(SMTP_STEP_STARTTLS),
	    .code = 454, .detail = "454 TLS not available"), NULL, NULL },
	{ "other name", F(STEP(SMTP_STEP_TLS), .peer = &peer_name),
	    "certificate is for another name", "mx.provider.test, "
	    "smtp.provider.test" },
	{ "private CA", F(STEP(SMTP_STEP_TLS), .peer = &peer_ca),
	    "Corp Internal CA", "ca_file =" },
	{ "self-signed", F(STEP(SMTP_STEP_TLS), .peer = &peer_self),
	    "self-signed", "fingerprint = sha256:56:78" },
	{ "expired", F(STEP(SMTP_STEP_TLS), .peer = &peer_old),
	    "expired", "clock" },
	{ "535", F(STEP(SMTP_STEP_AUTH), .code = 535),
	    "refused the user name or the password", "try user = bob" },
	{ "535 at Gmail", F(.host = "smtp.gmail.com",
	    STEP(SMTP_STEP_AUTH), .code = 535), "app password",
	    "OAuth2" },
	{ "535 at Microsoft", F(.host = "smtp.office365.com",
	    STEP(SMTP_STEP_AUTH), .code = 535), "app password", NULL },
	{ "535 without @", F(.user = "bob", STEP(SMTP_STEP_AUTH),
	    .code = 535), "full address", NULL },
	{ "AUTH in clear", F(.tls = TLS_MODE_NONE,
	    STEP(SMTP_STEP_AUTH_CHOICE),
	    .detail = "refusing to send credentials to x without TLS"),
	    "unencrypted", "tls = starttls" },
	{ "no AUTH offered", F(STEP(SMTP_STEP_AUTH_CHOICE),
	    .detail = "no usable AUTH mechanism offered by x"),
	    "offers no AUTH", NULL },
	{ "only XOAUTH2", F(STEP(SMTP_STEP_AUTH_CHOICE),
	    .auth_offered = 1u << AUTH_XOAUTH2,
	    .detail = "no usable AUTH mechanism offered by x"),
	    "offers AUTH XOAUTH2 only", NULL },
	{ "530", F(.user = "", STEP(SMTP_STEP_MAIL), .code = 530),
	    "log in first", "password_file" },
	{ "550 on MAIL", F(.sender = "root@host.test",
	    STEP(SMTP_STEP_MAIL), .code = 550), "refuses the sender "
	    "<root@host.test>", "does not own that address" },
	{ "554 on MAIL", F(.sender = "x@y.test", STEP(SMTP_STEP_MAIL),
	    .code = 554), "--from bob@example.com", NULL },
	{ "550 on RCPT is not the sender", F(STEP(SMTP_STEP_RCPT),
	    .code = 550), NULL, NULL },
};

/* The facts advice_for() gets for case t. */
static struct advice_facts
facts(const struct tfacts *t)
{
	struct advice_facts f;

	memset(&f, 0, sizeof(f));
	f.host = t->host != NULL ? t->host : "smtp.example.com";
	f.port = t->port != NULL ? t->port : "587";
	f.tls = t->tls;
	f.user = t->user == NULL ? "bob@example.com" :
	    *t->user == '\0' ? NULL : t->user;
	f.sender = t->sender;
	f.failed = t->step > 0 ? (enum smtp_step)(t->step - 1) : SMTP_STEP_N;
	f.code = t->code;
	f.timed_out = t->timed_out;
	f.errnum = t->errnum;
	f.timeout = 10;
	f.detail = t->detail != NULL ? t->detail : "";
	f.auth_offered = t->auth_offered;
	f.peer = t->peer;
	return f;
}

START_TEST(advice_table)
{
	char out[ADVICE_MAX];
	struct advice_facts f = facts(&cases[_i].f);
	int r = advice_for(&f, out, sizeof(out));

	if (cases[_i].want == NULL) {
		ck_assert_msg(r == 0 && out[0] == '\0', "%s: unexpected "
		    "advice: %s", cases[_i].what, out);
		return;
	}
	ck_assert_msg(r == 1, "%s: no advice", cases[_i].what);
	ck_assert_msg(strstr(out, cases[_i].want) != NULL, "%s: '%s' not in "
	    "'%s'", cases[_i].what, cases[_i].want, out);
	ck_assert_msg(cases[_i].also == NULL || strstr(out,
	    cases[_i].also) != NULL, "%s: '%s' not in '%s'", cases[_i].what,
	    cases[_i].also, out);
}
END_TEST

START_TEST(big_providers)
{
	ck_assert(advice_big_provider("smtp.gmail.com"));
	ck_assert(advice_big_provider("SMTP.Office365.com"));
	ck_assert(advice_big_provider("smtp-mail.outlook.com"));
	ck_assert(!advice_big_provider("notgmail.com"));
	ck_assert(!advice_big_provider("smtp.example.com"));
	ck_assert(!advice_big_provider(NULL));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("advice");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, advice_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, big_providers);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
