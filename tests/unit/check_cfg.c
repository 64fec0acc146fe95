/*
 * check_cfg.c - the configuration parser: every accepted form gives the
 * right value, every mistake gives "FILE:LINE: KEY: why" and RQ_CONFIG.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "route.h"

#include "ck_run.h"

static char path[256];

static void
write_conf(const char *text)
{
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/check_cfg.%ld.conf", (long)getpid());
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Broken files and the error text expected for each (after the path). */
static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "[smarthost]\nhost = x\nport = abc\n", ":3: port: not a number" },
	{ "[smarthost]\nport = 0\n", ":2: port: not a number" },
	{ "[smarthost]\nport = 70000\n", ":2: port: not a number" },
	{ "[smarthost]\ntls = bogus\n", ":2: tls: expected starttls" },
	{ "[smarthost]\ntls_verify = maybe\n", ":2: tls_verify: expected yes" },
	{ "[smarthost]\nauth = kerberos\n", ":2: auth: expected auto" },
	{ "[smarthost]\nconnections = 0\n", ":2: connections: expected 1 to "
	    "20" },
	{ "[smarthost a]\nhost = h\nconnections = 21\n", ":3: connections: "
	    "expected 1 to 20" },
	{ "[smarthost]\nhots = x\n", ":2: hots: unknown key in [smarthost]" },
	{ "[queue]\nretry = 1m 0s\n", ":2: retry: expected a list" },
	{ "[queue]\nretry = soon\n", ":2: retry: expected a list" },
	{ "[queue]\nretry = , ,\n", ":2: retry: expected a list" },
	{ "[queue]\nretry = 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 11m 12m 13m 14m "
	    "15m 16m 17m 18m 19m 20m 21m 22m 23m 24m 25m 26m 27m 28m 29m 30m "
	    "31m 32m 33m\n", ":2: retry: expected a list" },
	{ "[queue]\nretry = 1m 00000000000000000000000000000000000001m\n",
	    ":2: retry: expected a list" },
	{ "[queue]\nlifetime = 5x\n", ":2: lifetime: not a duration" },
	{ "[queue]\nmax_size = big\n", ":2: max_size: not a size" },
	{ "[local]\nlog = relayq.log\n", ":2: log: expected syslog, stderr "
	    "or an absolute file path" },
	{ "[local]\nlog = journal\n", ":2: log: expected syslog" },
	{ "[bogus]\nx = 1\n", ":1: [bogus]: unknown section" },
	{ "\n\n[smarthost backup]\nport = 25\n", ":3: [smarthost backup] "
	    "host: missing" },
	{ "[smarthost bad!name]\n", ":1: [smarthost bad!name]: a route NAME" },
	{ "[smarthost default]\nhost = x\n", ":1: [smarthost default]: a "
	    "route NAME" },
	{ "[smarthost a]\nhost = x\n[smarthost a]\nhost = y\n",
	    ":3: [smarthost a]: section given twice" },
	{ "[smarthost]\nhost = x\n[queue]\n[smarthost]\nport = 25\n",
	    ":4: [smarthost]: section given twice" },
	{ "[queue]\n[user no-such-user-relayq]\n", ":2: [user "
	    "no-such-user-relayq]: no such user" },
	{ "[user root]\nroute = gmail\n", ":2: route: no [smarthost gmail] "
	    "section" },
	{ "[user root]\nroute = a/b\n", ":2: route: expected the NAME" },
	{ "[user root]\nbogus = 1\n", ":2: bogus: unknown key in [user root]" },
	{ "[user root]\nroute = a\nroute = b\n", ":3: route: given twice" },
	{ "[smarthost]\nsenders = *@example.com\n", ":2: senders: only in a "
	    "[smarthost NAME] section" },
	{ "[smarthost a]\nhost = h\nsenders = *@@x\n", ":3: senders: *@@x: "
	    "not a sender pattern" },
	{ "[smarthost a]\nhost = h\nsenders = *@exa*mple.com\n", ":3: "
	    "senders: *@exa*mple.com: not a sender pattern" },
	{ "[smarthost a]\nhost = h\nsenders = ,;\n", ":3: senders: expected "
	    "patterns" },
	{ "[smarthost a]\nhost = h\nsenders = *@example.com *@*.example.com\n"
	    "[smarthost b]\nhost = i\nsenders = bob@example.com, "
	    "*@mail.example.com\n", ":6: senders: every pattern is already "
	    "taken by an earlier route (bob@example.com by [smarthost a], line "
	    "1)" },
	{ "[smarthost a]\nhost = h\nsenders = bob@example.com\n"
	    "[smarthost b]\nhost = i\nsenders = bob+news@example.com\n",
	    ":6: senders: every pattern is already taken" },
	{ "[smarthost]\nhost = x\n[smarthost a]\nhost = h\nplaintext_auth = "
	    "yes\n", ":3: [smarthost a] plaintext_auth: only allowed" },
	{ "[smarthost a]\nhost = h\nhost = i\n", ":3: host: given twice" },
	{ "[smarthost]\nhost = h\nrewrite_from = always\n", ":1: [smarthost] "
	    "rewrite_from: needs from" },
	{ "[smarthost]\nhost = h\nfrom_name = Shop\n", "from_name: needs from" },
	{ "[smarthost]\nfrom = Bob <bob>\n", ":2: from: not an address" },
	{ "[smarthost]\nfrom = b ob@x.example\n", ":2: from: not an address" },
	{ "[smarthost]\nfrom = Bob <bob@x.example\n", ":2: from: expected" },
	{ "[smarthost]\nfrom = B\"o\"b <bob@x.example>\n", ":2: from: expected" },
	{ "[smarthost]\nfrom = Bob <b@x.example>\nfrom_name = X\n",
	    ":3: from_name: the from key already gives" },
	{ "[smarthost]\nrewrite_from = sometimes\n", ":2: rewrite_from: "
	    "expected always, foreign or no" },
	{ "[user root]\nallowed_senders = bad@@x.example\n", ":2: "
	    "allowed_senders: bad@@x.example: not an address or domain" },
	{ "[smarthost]\nallowed_senders = a.example *.*.b.example\n", ":2: "
	    "allowed_senders: *.*.b.example: not an address or domain" },
	{ "[smarthost]\nallowed_senders = ,\n", ":2: allowed_senders: "
	    "expected addresses and domains" },
	{ "[user root]\npriority = 6\n", ":2: priority: expected 1 to 5" },
	{ "[user root]\npriority = 0\n", ":2: priority: expected 1 to 5" },
	{ "[user root]\npriority = high\n", ":2: priority: expected 1 to 5" },
	{ "[smarthost]\npriority = 5\n", ":2: priority: unknown key in "
	    "[smarthost]" },
	{ "[queue]\n[user no-such-user-xq]\n", ":2: [user no-such-user-xq]: "
	    "no such user" },
	{ "[user ]\nmax_queued = 1\n", ":1: [user ]: missing the user name" },
	{ "[queue]\nmin_free = lots\n", ":2: min_free: expected a size" },
	{ "[local]\nmailq_users =\n", ":2: mailq_users: expected anyone, or "
	    "user names and @groups" },
	{ "[local]\nmailq_users = root, @\n", ":2: mailq_users: @: not a user "
	    "name or @group" },
	{ "[local]\nmailq_users = ro/ot\n", ":2: mailq_users: ro/ot: not a "
	    "user name or @group" },
	{ "[local]\nmailq_users = anyone @adm\n", ":2: mailq_users: anyone "
	    "stands alone" },
	{ "[queue]\nmin_free = 101%\n", ":2: min_free: expected a size" },
	{ "[queue]\nmin_free = %\n", ":2: min_free: expected a size" },
	{ "[queue]\nmin_free = -5%\n", ":2: min_free: expected a size" },
	{ "[queue]\nuser_max_queued = many\n", ":2: user_max_queued: not a "
	    "number from 0" },
	{ "[queue]\nuser_max_queued = -1\n", ":2: user_max_queued: not a "
	    "number from 0" },
	{ "[queue]\nuser_max_bytes = 1T\n", ":2: user_max_bytes: not a size" },
	{ "[user root]\nmax_queued = 1\nmax_queued = 2\n", ":3: max_queued: "
	    "given twice" },
	{ "[user root]\nmax_queued = 1\n[user root]\nmax_bytes = 1\n",
	    ":3: [user root]: section given twice" },
	{ "[user root]\nmax_bytes = x\n", ":2: max_bytes: not a size" },
	{ "[user root]\nuser_max_queued = 5\n", ":2: user_max_queued: unknown "
	    "key in [user root]" },
	{ "[smarthost]\nhost = a\nhost = b\n", ":3: host: given twice" },
	{ "[smarthost]\nhost = x\n  port = 25\n", ":3: host: given twice" },
	{ "[smarthost]\n# xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", ":2: line longer than 198" },
	{ "[queue]\nlifetime = 0\n", "lifetime: must be more than 0" },
	{ "[smarthost]\nrate = 10/week\n", ":2: rate: expected limits like" },
	{ "[smarthost]\nrate = 10/day 20/day\n", ":2: rate: expected limits" },
	{ "[smarthost]\nfallback = x\n", ":2: fallback: no [smarthost x] "
	    "section" },
	{ "[smarthost]\nfallback = a/b\n", ":2: fallback: expected the NAME" },
	{ "[smarthost]\nhost = h\nfallback = b\n[smarthost b]\nhost = i\n"
	    "fallback = c\n[smarthost c]\nhost = j\nfallback = default\n",
	    ":3: fallback: a cycle (default -> b -> c -> default)" },
	{ "[smarthost b]\nhost = i\nfallback = b\n", ":3: fallback: a cycle "
	    "(b -> b)" },
	{ "[smarthost]\npassword_command = get 'pw\n", ":2: password_command: "
	    "unbalanced quotes" },
	{ "[smarthost]\nhost = h\nuser = u\npassword_file = /p\n"
	    "password_command = get-pw\n", "password, password_file and "
	    "password_command: choose one" },
	{ "[smarthost]\nhost = h\nauth = oauthbearer\npassword_command = t\n",
	    "auth = oauthbearer: needs user" },
	{ "[smarthost]\nauth = oauth\n", ":2: auth: expected auto, plain, "
	    "login, cram-md5, xoauth2, oauthbearer or none" },
	{ "[local]\naliases = etc/aliases\n", "[local] aliases: must be an "
	    "absolute path" },
	{ "no section line\n", ":1: syntax error" },
	{ "[queue]\ndir = relative/path\n", ": [queue] dir: must be an "
	    "absolute path" },
	{ "[smarthost]\nuser = me\n", ": [smarthost] user/password given but "
	    "no host" },
	{ "[smarthost]\nhost = mail.example.com\nplaintext_auth = yes\n",
	    "plaintext_auth: only allowed for a loopback host" },
	{ "[smarthost]\nhost = h\ncert_file = /c\n", "cert_file and key_file" },
};

START_TEST(rejects)
{
	struct cfg c;
	struct err e;

	write_conf(bad[_i].text);
	ck_assert_int_eq(cfg_load(&c, path, 1, &e), RQ_CONFIG);
	ck_assert_msg(strncmp(e.msg, path, strlen(path)) == 0,
	    "error does not name the file: %s", e.msg);
	ck_assert_msg(strstr(e.msg, bad[_i].error) != NULL,
	    "case %d: got \"%s\", want \"%s\"", _i, e.msg, bad[_i].error);
	cfg_free(&c);
	unlink(path);
}
END_TEST

START_TEST(accepts)
{
	struct cfg c;
	struct err e;

	write_conf("# comment\n[queue]\ndir = /tmp/spool ; inline comment\n"
	    "retry = 30s,2m\t 1h ,\nlifetime = 2d\nmax_size = 10M\n"
	    "[local]\nhostname = mail.example.com\ndomain = example.com\n"
	    "log = /var/log/relayq/relayq.log\n"
	    "[smarthost]\nhost = smtp.example.com\ntls = smtps\n"
	    "tls_verify = no\nauth = cram-md5\nuser = me@example.com\n"
	    "password = s3cret\nca_file =\ntimeout = 20s\n"
	    "from = \"Shop, Inc.\" <shop@example.com>\nrewrite_from = foreign\n");
	ck_assert_int_eq(cfg_load(&c, path, 1, &e), RQ_OK);
	ck_assert_str_eq(c.queue_dir, "/tmp/spool");
	ck_assert_uint_eq(c.nretry, 3);
	ck_assert_int_eq(c.retry[0], 30);
	ck_assert_int_eq(c.retry[1], 120);
	ck_assert_int_eq(c.retry[2], 3600);
	ck_assert_int_eq(c.lifetime, 2 * 86400);
	ck_assert_int_eq(c.max_size, 10 * 1048576);
	ck_assert_str_eq(c.hostname, "mail.example.com");
	ck_assert_str_eq(cfg_domain(&c), "example.com");
	ck_assert_str_eq(c.log, "/var/log/relayq/relayq.log");
	ck_assert_str_eq(c.smarthost.host, "smtp.example.com");
	ck_assert_str_eq(c.smarthost.from, "shop@example.com");
	ck_assert_str_eq(c.smarthost.from_name, "Shop, Inc.");
	ck_assert_int_eq(c.smarthost.rewrite_from, REWRITE_FOREIGN);
	ck_assert_str_eq(c.smarthost.port, "465");	/* smtps default */
	ck_assert_int_eq(c.smarthost.tls, TLS_MODE_SMTPS);
	ck_assert_int_eq(c.smarthost.tls_verify, 0);
	ck_assert_int_eq(c.smarthost.auth, AUTH_CRAM_MD5);
	ck_assert_ptr_null(c.smarthost.ca_file);	/* empty = unset */
	ck_assert_int_eq(c.smarthost.timeout, 20);
	cfg_free(&c);
	unlink(path);
}
END_TEST

START_TEST(accepts_routes)
{
	const struct cfg_smarthost *sh;
	struct cfg c;
	struct err e;

	write_conf("[smarthost]\nhost = default.example\n"
	    "[smarthost shop]\nhost = smtp.shop.example\ntls = smtps\n"
	    "user = shop\npassword = x\nrate = 100/day, 20/minute\n"
	    "fallback = default\n"
	    "senders = *@shop.example, *@*.shop.example;sales@b.example\n"
	    "[user root]\nroute = news\n"
	    "allowed_senders = b.example, *.b.example;sales@a.example\n"
	    "priority = 4\n"
	    "[smarthost news]\nhost = news.example\nport = 2525\n"
	    "senders = *@news.example\nconnections = 5\n");
	ck_assert_int_eq(cfg_load(&c, path, 1, &e), RQ_OK);
	ck_assert_uint_eq(route_count(&c), 3);
	ck_assert_str_eq(route_at(&c, 0)->name, "default");
	ck_assert_str_eq(route_at(&c, 1)->name, "shop");
	ck_assert_str_eq(route_at(&c, 2)->name, "news");
	ck_assert_ptr_null(route_at(&c, 3));
	sh = route_find(&c, "shop");
	ck_assert_ptr_nonnull(sh);
	ck_assert_int_eq(sh->line, 3);
	ck_assert_uint_eq(sh->nrate, 2);
	ck_assert_str_eq(sh->fallback, "default");
	ck_assert_uint_eq(sh->connections, CFG_CONNECTIONS_DEFAULT);
	ck_assert_uint_eq(route_find(&c, "news")->connections, 5);
	ck_assert_uint_eq(sh->rate[1].limit, 20);
	ck_assert_int_eq(sh->rate[1].window, 60);
	ck_assert_str_eq(sh->port, "465");
	ck_assert_uint_eq(sh->senders.n, 3);
	ck_assert_str_eq(sh->senders.v[2], "sales@b.example");
	ck_assert_int_eq(sh->senders.line, 10);
	ck_assert_ptr_null(route_find(&c, "nope"));
	ck_assert_ptr_eq(route_find(&c, "default"), &c.smarthost);
	ck_assert_uint_eq(c.nusers, 1);
	ck_assert_int_eq(c.users[0].uid, 0);
	ck_assert_str_eq(c.users[0].route, "news");
	ck_assert_uint_eq(c.users[0].allowed.n, 3);
	ck_assert_int_eq(c.users[0].priority, 4);
	ck_assert_str_eq(c.users[0].allowed.v[0], "*@b.example");
	ck_assert_str_eq(c.users[0].allowed.v[1], "*@*.b.example");
	ck_assert_str_eq(c.users[0].allowed.v[2], "sales@a.example");
	ck_assert_int_eq(route_sender_allowed(&c, "x@b.example", 0, "root", &e),
	    RQ_OK);
	ck_assert_int_eq(route_sender_allowed(&c, "sales+1@a.example", 0, "root",
	    &e), RQ_OK);
	ck_assert_int_eq(route_sender_allowed(&c, "x@a.example", 0, "root", &e),
	    RQ_NOPERM);
	ck_assert_ptr_nonnull(strstr(e.msg, "sender <x@a.example> not allowed "
	    "for user root: not in [user root] allowed_senders ("));
	ck_assert_int_eq(route_sender_allowed(&c, "x@a.example", 1000, "u", &e),
	    RQ_OK);		/* no section, no route list: everyone */
	/* the first route in file order whose senders match */
	ck_assert_str_eq(route_select(&c, "sales+news@B.example", 1000)->name,
	    "shop");
	ck_assert_str_eq(route_select(&c, "Sales@b.example", 1000)->name,
	    "default");	/* local parts compare exactly */
	ck_assert_str_eq(route_select(&c, "x@NEWS.example", 1000)->name,
	    "news");
	ck_assert_str_eq(route_select(&c, "a@x.shop.example", 1000)->name,
	    "shop");
	ck_assert_str_eq(route_select(&c, "a@other.example", 1000)->name,
	    "default");
	/* else the route of the submitting user */
	ck_assert_str_eq(route_select(&c, "a@other.example", 0)->name, "news");
	ck_assert_str_eq(route_select(&c, "", 0)->name, "news");
	ck_assert_int_eq(c.users[0].max_queued, -1);	/* as [queue] says */
	ck_assert_int_eq(c.users[0].max_bytes, -1);
	cfg_free(&c);
	unlink(path);
}
END_TEST

START_TEST(limits)
{
	const struct cfg_user *u;
	struct cfg c;
	struct err e;

	write_conf("[queue]\nmin_free = 100M\nuser_max_queued = 1000\n"
	    "user_max_bytes = 2G\n[user root]\nmax_queued = 5\n"
	    "priority = 4\nmax_bytes = 0\n");
	ck_assert_int_eq(cfg_load(&c, path, 1, &e), RQ_OK);
	ck_assert_int_eq(c.min_free, 100 * 1048576);
	ck_assert_int_eq(c.min_free_pct, -1);
	ck_assert_int_eq(c.user_max_queued, 1000);
	ck_assert_int_eq(c.user_max_bytes, 2LL * 1073741824);
	ck_assert_uint_eq(c.nusers, 1);
	ck_assert_ptr_nonnull(u = cfg_user_find(&c, 0));
	ck_assert_str_eq(u->name, "root");
	ck_assert_int_eq(u->max_queued, 5);
	ck_assert_int_eq(u->priority, 4);
	ck_assert_int_eq(u->max_bytes, 0);
	ck_assert_ptr_null(cfg_user_find(&c, 12345));
	cfg_free(&c);
	write_conf("[queue]\nmin_free = 7%\n[user root]\nmax_bytes = 1k\n");
	ck_assert_int_eq(cfg_load(&c, path, 1, &e), RQ_OK);
	ck_assert_int_eq(c.min_free_pct, 7);
	ck_assert_ptr_nonnull(u = cfg_user_find(&c, 0));
	ck_assert_int_eq(u->max_queued, -1);	/* as [queue] says */
	ck_assert_int_eq(u->max_bytes, 1024);
	cfg_free(&c);
	unlink(path);
}
END_TEST

START_TEST(defaults_without_file)
{
	struct cfg c;
	struct err e;

	ck_assert_int_eq(cfg_load(&c, "/nonexistent/relayq.conf", 0, &e),
	    RQ_OK);
	ck_assert_int_eq(c.smarthost.tls, TLS_MODE_STARTTLS);
	ck_assert_str_eq(c.smarthost.port, "587");
	ck_assert_int_eq(c.smarthost.tls_verify, 1);
	ck_assert_uint_eq(c.smarthost.connections, 2);
	ck_assert_uint_eq(c.nretry, 7);
	ck_assert_int_eq(c.lifetime, 5 * 86400);
	ck_assert_int_eq(c.min_free_pct, 2);
	ck_assert_int_eq(c.user_max_queued, 0);
	ck_assert_int_eq(c.user_max_bytes, 0);
	ck_assert_uint_eq(c.nusers, 0);
	cfg_free(&c);
	ck_assert_int_eq(cfg_load(&c, "/nonexistent/relayq.conf", 1, &e),
	    RQ_CONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/relayq.conf"));
	cfg_free(&c);
}
END_TEST

START_TEST(password_file_modes)
{
	char pw[256], fix[300];
	char *secret;
	struct cfg c;
	struct err e;
	FILE *fp;

	snprintf(pw, sizeof(pw), "/tmp/check_cfg.%ld.pw", (long)getpid());
	fp = fopen(pw, "w");
	fputs("hunter2\n", fp);
	fclose(fp);
	cfg_defaults(&c);
	c.smarthost.password_file = strdup(pw);
	chmod(pw, 0600);
	ck_assert_int_eq(cfg_password(&c.smarthost, &secret, &e), RQ_OK);
	ck_assert_str_eq(secret, "hunter2");
	free(secret);
	chmod(pw, 0644);
	ck_assert_int_eq(cfg_password(&c.smarthost, &secret, &e), RQ_TEMP);
	ck_assert_ptr_nonnull(strstr(e.msg, "world-accessible"));
	/* The fix for whoever reads it: the caller's own file stays its
	 * own; root's is shared with the runner's group. */
	snprintf(fix, sizeof(fix), geteuid() != 0 ? "fix: chmod 0600 %s" :
	    "&& chmod 0640 %s", pw);
	ck_assert_ptr_nonnull(strstr(e.msg, fix));
	if (geteuid() == 0)
		ck_assert_ptr_nonnull(strstr(e.msg, "fix: chown root:"));
	chmod(pw, 0620);
	ck_assert_int_eq(cfg_password(&c.smarthost, &secret, &e), RQ_TEMP);
	unlink(pw);
	cfg_free(&c);
}
END_TEST

/* A config or a secret that is not a regular file is refused at once: a
 * directory, a FIFO with no writer (no wait), a device. */
START_TEST(not_regular_files)
{
	const char *paths[] = { "/", "/dev/null", NULL /* the FIFO */ };
	char fifo[256];
	char *secret;
	struct cfg c;
	struct err e;
	size_t i;

	snprintf(fifo, sizeof(fifo), "/tmp/check_cfg.%ld.fifo",
	    (long)getpid());
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	paths[2] = fifo;
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(cfg_load(&c, paths[i], 0, &e), RQ_CONFIG);
		ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
		ck_assert_ptr_nonnull(strstr(e.msg, paths[i]));
		cfg_free(&c);
	}
	cfg_defaults(&c);
	c.smarthost.password_file = strdup(fifo);
	ck_assert_int_eq(cfg_password(&c.smarthost, &secret, &e), RQ_TEMP);
	ck_assert_ptr_nonnull(strstr(e.msg, "password_file"));
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	cfg_free(&c);
	unlink(fifo);
}
END_TEST

/* /etc/mailname forms: the first word of the first line, or nothing. */
static const struct {
	const char *text;	/* NULL: no file */
	const char *want;	/* NULL: -1 */
} mailnames[] = {
	{ "mail.example.com\n", "mail.example.com" },
	{ "mail.example.com", "mail.example.com" },
	{ "mail.example.com extra words\r\n", "mail.example.com" },
	{ "\n", NULL },
	{ "", NULL },
	{ " mail.example.com\n", NULL },
	{ NULL, NULL },
};

START_TEST(read_mailname)
{
	char mn[256], out[64];
	FILE *fp;

	snprintf(mn, sizeof(mn), "/tmp/check_cfg.%ld.mailname", (long)getpid());
	unlink(mn);
	if (mailnames[_i].text != NULL) {
		fp = fopen(mn, "w");
		ck_assert_ptr_nonnull(fp);
		fputs(mailnames[_i].text, fp);
		fclose(fp);
	}
	if (mailnames[_i].want == NULL)
		ck_assert_int_eq(cfg_read_mailname(mn, out, sizeof(out)), -1);
	else {
		ck_assert_int_eq(cfg_read_mailname(mn, out, sizeof(out)), 0);
		ck_assert_str_eq(out, mailnames[_i].want);
	}
	/* A name that does not fit is refused, not cut. */
	if (mailnames[_i].want != NULL)
		ck_assert_int_eq(cfg_read_mailname(mn, out, 4), -1);
	unlink(mn);
}
END_TEST

static const struct {
	const char *in;
	long long secs;
} durations[] = {
	{ "30", 30 }, { "30s", 30 }, { "5m", 300 }, { "2h", 7200 },
	{ "5d", 432000 }, { "1w", 604800 }, { "", -1 }, { "m", -1 },
	{ "-5m", -1 }, { "5 m", -1 }, { "99999999999d", -1 }, { "1y", -1 },
};

START_TEST(parse_durations)
{
	time_t t;
	int r = cfg_parse_duration(durations[_i].in, &t);

	if (durations[_i].secs < 0)
		ck_assert_int_eq(r, -1);
	else {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(t, durations[_i].secs);
	}
}
END_TEST

/* [local] hostname values: is the advice given? */
static const struct {
	const char *name;
	int advised;
} hostnames[] = {
	{ "nodot", 1 },
	{ "host.", 1 },
	{ ".example", 1 },
	{ "mail.example.com", 0 },
	{ "a.b", 0 },
};

START_TEST(hostname_advice)
{
	char text[200], msg[768], want[300];
	struct cfg c;
	struct err e;

	snprintf(text, sizeof(text), "[local]\nhostname = %s\n",
	    hostnames[_i].name);
	write_conf(text);
	ck_assert_int_eq(cfg_load(&c, path, 1, &e), RQ_OK);
	ck_assert_int_eq(cfg_hostname_advice(&c, msg, sizeof(msg)),
	    hostnames[_i].advised);
	if (hostnames[_i].advised) {
		snprintf(want, sizeof(want), "\"%s\"", hostnames[_i].name);
		ck_assert_ptr_nonnull(strstr(msg, want));
		snprintf(want, sizeof(want), "under [local] in %s", path);
		ck_assert_ptr_nonnull(strstr(msg, want));
	} else
		ck_assert_str_eq(msg, "");
	cfg_free(&c);
	unlink(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, rejects, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, accepts);
	tcase_add_test(tc, accepts_routes);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, defaults_without_file);
	tcase_add_test(tc, password_file_modes);
	tcase_add_test(tc, not_regular_files);
	tcase_add_loop_test(tc, hostname_advice, 0,
	    sizeof(hostnames) / sizeof(hostnames[0]));

	tcase_add_loop_test(tc, read_mailname, 0,
	    sizeof(mailnames) / sizeof(mailnames[0]));
	tcase_add_loop_test(tc, parse_durations, 0,
	    sizeof(durations) / sizeof(durations[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
