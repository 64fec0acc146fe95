/*
 * check_smtp.c - the SMTP client's state machine (smtp.c) against a
 * scripted server: one table of sessions, each a script the server
 * follows on 127.0.0.1 (a kernel-chosen port, a forked child) and what
 * smtp_open(), smtp_send() and smtp_close() must make of it: the status,
 * the failure's words, whether the server counts as unreachable (another
 * route may try), an expired token, each recipient's outcome, and the
 * lines the client must and must not have sent (no QUIT into a broken
 * session, no MAIL where STARTTLS was required but not offered, no DATA
 * when every recipient was refused). Covers the greeting (220, multiline,
 * 421, 554, garbage, an over-long line, a closed connection), EHLO
 * refused and HELO instead, STARTTLS not offered, AUTH 535 and 454 and
 * an expired XOAUTH2 token, MAIL/RCPT/DATA and end-of-data replies per
 * recipient, the connection closed at each step, and PIPELINING (the
 * server answers only once the whole envelope has come). TLS handshakes
 * are the e2e tests' (tls_matrix.sh).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "smtp.h"

#include "ck_run.h"

/*
 * A server script: steps separated by '|'.
 *   <TEXT   send TEXT and CRLF (TEXT may hold "\r\n": several lines)
 *   >PFX    read one line; it must start with PFX
 *   .       read the message up to its final "."
 *   #       close the connection at once
 *   L       send a reply line longer than any line allowed (5000 bytes)
 * After the last step the server reads what else comes until the client
 * closes. Every line read is in the transcript as "C: LINE".
 */
#define GREET	"<220 mx.test ESMTP"
#define READY	GREET "|>EHLO|<250-mx.test\r\n250 8BITMIME"
#define PIPE	GREET "|>EHLO|<250-mx.test\r\n250 PIPELINING"
#define AUTHED	GREET "|>EHLO|<250-mx.test\r\n250 AUTH PLAIN LOGIN"
#define BYE	"|>QUIT|<221 bye"
#define ENV1	"|>MAIL|<250 ok|>RCPT|<250 ok"
#define SENT1	"|>DATA|<354 go|.|<250 queued"

struct scase {
	const char *name;
	const char *script;
	enum tls_mode tls;
	enum auth_mech auth;		/* AUTH_NONE: no user */
	enum rq_status open_rc;
	int unreachable;		/* after a failed open */
	int token_refused;
	const char *why;		/* in the failure's message */
	const char *results;		/* per recipient: O(k) T(emp) P(erm) */
	enum rq_status send_rc;
	const char *sent;		/* transcript lines, '|' between */
	const char *not_sent;		/* line starts never sent, '|' */
};

static const struct scase cases[] = {
	/* the greeting */
	{ "greeting_220_multiline", "<220-mx.test hello\r\n220 more|>EHLO|"
	  "<250 mx.test" ENV1 SENT1 BYE, TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0,
	  0, NULL, "O", RQ_OK, "EHLO client.test|QUIT", NULL },
	{ "greeting_421", "<421 4.3.2 busy", TLS_MODE_NONE, AUTH_NONE,
	  RQ_TEMP, 1, 0, "said in greeting: 421", NULL, RQ_OK, NULL,
	  "EHLO|QUIT" },
	{ "greeting_554", "<554 5.7.1 go away" BYE, TLS_MODE_NONE, AUTH_NONE,
	  RQ_TEMP, 1, 0, "said in greeting: 554", NULL, RQ_OK, "QUIT",
	  "EHLO" },
	{ "greeting_garbage", "<hello there", TLS_MODE_NONE, AUTH_NONE,
	  RQ_TEMP, 1, 0, "protocol error", NULL, RQ_OK, NULL, "EHLO|QUIT" },
	{ "greeting_too_long", "L", TLS_MODE_NONE, AUTH_NONE, RQ_TEMP, 1, 0,
	  "longer than", NULL, RQ_OK, NULL, "EHLO|QUIT" },
	{ "greeting_closed", "#", TLS_MODE_NONE, AUTH_NONE, RQ_TEMP, 1, 0,
	  "during greeting", NULL, RQ_OK, NULL, NULL },
	/* EHLO */
	{ "ehlo_refused_helo", GREET "|>EHLO|<502 5.5.1 no|>HELO|<250 mx"
	  ENV1 SENT1 BYE, TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "O",
	  RQ_OK, "HELO client.test|MAIL FROM:<s@x.test>", NULL },
	{ "ehlo_refused_starttls_required", GREET "|>EHLO|<502 5.5.1 no"
	  BYE, TLS_MODE_STARTTLS, AUTH_NONE, RQ_TEMP, 0, 0,
	  "said after EHLO: 502", NULL, RQ_OK, "QUIT", "HELO|MAIL" },
	{ "ehlo_refused_auth_wanted", GREET "|>EHLO|<500 no" BYE,
	  TLS_MODE_NONE, AUTH_PLAIN, RQ_TEMP, 0, 0, "said after EHLO: 500",
	  NULL, RQ_OK, "QUIT", "HELO|AUTH" },
	{ "ehlo_closed", GREET "|>EHLO|#", TLS_MODE_NONE, AUTH_NONE, RQ_TEMP,
	  0, 0, "during EHLO", NULL, RQ_OK, NULL, "QUIT" },
	{ "ehlo_too_long", GREET "|>EHLO|L", TLS_MODE_NONE, AUTH_NONE,
	  RQ_TEMP, 0, 0, "longer than", NULL, RQ_OK, NULL, "QUIT" },
	{ "starttls_not_offered", READY, TLS_MODE_STARTTLS, AUTH_NONE,
	  RQ_TEMP, 0, 0, "STARTTLS not offered", NULL, RQ_OK, NULL,
	  "STARTTLS|MAIL|AUTH|QUIT" },
	{ "starttls_refused", GREET "|>EHLO|<250-mx.test\r\n250 STARTTLS|"
	  ">STARTTLS|<454 4.7.0 not now" BYE, TLS_MODE_STARTTLS, AUTH_NONE,
	  RQ_TEMP, 0, 0, "said after STARTTLS: 454", NULL, RQ_OK,
	  "STARTTLS", "MAIL" },
	/* AUTH (plaintext_auth: no TLS here) */
	{ "auth_ok", AUTHED "|>AUTH PLAIN|<235 2.7.0 ok" ENV1 SENT1 BYE,
	  TLS_MODE_NONE, AUTH_PLAIN, RQ_OK, 0, 0, NULL, "O", RQ_OK,
	  "AUTH PLAIN AHUAcHc=", NULL },
	{ "auth_535", AUTHED "|>AUTH PLAIN|<535 5.7.8 bad credentials" BYE,
	  TLS_MODE_NONE, AUTH_PLAIN, RQ_TEMP, 0, 0, "said after AUTH: 535",
	  NULL, RQ_OK, "QUIT", "MAIL" },
	{ "auth_454", AUTHED "|>AUTH PLAIN|<454 4.7.0 try later" BYE,
	  TLS_MODE_NONE, AUTH_PLAIN, RQ_TEMP, 0, 0, "said after AUTH: 454",
	  NULL, RQ_OK, "QUIT", "MAIL" },
	{ "auth_not_offered", READY BYE, TLS_MODE_NONE, AUTH_PLAIN, RQ_TEMP,
	  0, 0, "AUTH PLAIN not offered", NULL, RQ_OK, "QUIT",
	  "AUTH|MAIL" },
	{ "auth_token_expired", GREET "|>EHLO|<250-mx.test\r\n"
	  "250 AUTH XOAUTH2|>AUTH XOAUTH2|<334 eyJzdGF0dXMiOiI0MDEifQ==|>|"
	  "<535 5.7.8 expired" BYE, TLS_MODE_NONE, AUTH_XOAUTH2, RQ_TEMP, 0,
	  1, "535", NULL, RQ_OK, "QUIT", "MAIL" },
	{ "auth_token_refused_at_once", GREET "|>EHLO|<250-mx.test\r\n"
	  "250 AUTH XOAUTH2|>AUTH XOAUTH2|<454 4.7.0 later" BYE,
	  TLS_MODE_NONE, AUTH_XOAUTH2, RQ_TEMP, 0, 0, "454", NULL, RQ_OK,
	  "QUIT", "MAIL" },
	/* the transaction, one command at a time */
	{ "rcpt_mixed", READY "|>MAIL|<250 ok|>RCPT|<250 ok|>RCPT|"
	  "<550 5.1.1 no such user|>RCPT|<451 4.3.0 later" SENT1 BYE,
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "OPT", RQ_OK,
	  "RCPT TO:<r1@x.test>|QUIT", NULL },
	{ "rcpt_all_refused", READY "|>MAIL|<250 ok|>RCPT|<550 5.1.1 no|"
	  ">RCPT|<550 5.1.1 no|>RSET|<250 ok" BYE, TLS_MODE_NONE, AUTH_NONE,
	  RQ_OK, 0, 0, NULL, "PP", RQ_OK, "RSET|QUIT", "DATA" },
	{ "mail_refused", READY "|>MAIL|<550 5.7.1 sender refused|>RSET|"
	  "<250 ok" BYE, TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "PP",
	  RQ_OK, "RSET", "RCPT|DATA" },
	{ "mail_deferred", READY "|>MAIL|<451 4.3.0 later|>RSET|<250 ok" BYE,
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "T", RQ_OK, "RSET",
	  "RCPT" },
	{ "data_552", READY ENV1 "|>DATA|<552 5.3.4 too big|>RSET|<250 ok"
	  BYE, TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "P", RQ_OK,
	  "RSET", NULL },
	{ "eod_250", READY ENV1 SENT1 BYE, TLS_MODE_NONE, AUTH_NONE, RQ_OK,
	  0, 0, NULL, "O", RQ_OK, "Subject: t|body|.|QUIT", "RSET" },
	{ "eod_451", READY ENV1 "|>DATA|<354 go|.|<451 4.3.0 later" BYE,
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "T", RQ_OK, "QUIT",
	  NULL },
	{ "eod_554", READY ENV1 "|>DATA|<354 go|.|<554 5.6.0 bad" BYE,
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "P", RQ_OK, "QUIT",
	  NULL },
	{ "eod_421", READY ENV1 "|>DATA|<354 go|.|<421 4.3.2 closing",
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "T", RQ_TEMP, NULL,
	  "QUIT" },
	/* the connection closed at each step of the transaction */
	{ "closed_after_mail", READY "|>MAIL|#", TLS_MODE_NONE, AUTH_NONE,
	  RQ_OK, 0, 0, NULL, "T", RQ_TEMP, NULL, "RCPT|QUIT" },
	{ "closed_after_rcpt", READY "|>MAIL|<250 ok|>RCPT|#", TLS_MODE_NONE,
	  AUTH_NONE, RQ_OK, 0, 0, NULL, "T", RQ_TEMP, NULL, "DATA|QUIT" },
	{ "closed_after_data", READY ENV1 "|>DATA|#", TLS_MODE_NONE,
	  AUTH_NONE, RQ_OK, 0, 0, NULL, "T", RQ_TEMP, NULL, "QUIT" },
	{ "closed_at_eod_finals_kept", READY "|>MAIL|<250 ok|>RCPT|"
	  "<550 5.1.1 no|>RCPT|<250 ok|>DATA|<354 go|.|#", TLS_MODE_NONE,
	  AUTH_NONE, RQ_OK, 0, 0, NULL, "PT", RQ_TEMP, NULL, "QUIT" },
	{ "eod_reply_too_long", READY ENV1 "|>DATA|<354 go|.|L",
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "T", RQ_TEMP, NULL,
	  "QUIT" },
	/* PIPELINING: no reply until the whole envelope is in */
	{ "pipelined", PIPE "|>MAIL|>RCPT|>RCPT|>DATA|<250 ok\r\n250 ok\r\n"
	  "550 5.1.1 no\r\n354 go|.|<250 queued" BYE, TLS_MODE_NONE,
	  AUTH_NONE, RQ_OK, 0, 0, NULL, "OP", RQ_OK, "QUIT", "RSET" },
	{ "pipelined_all_refused_354", PIPE "|>MAIL|>RCPT|>DATA|<250 ok\r\n"
	  "550 5.1.1 no\r\n354 go|.|<554 5.5.1 no recipients|>RSET|<250 ok"
	  BYE, TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "P", RQ_OK,
	  "RSET", NULL },
	{ "pipelined_all_refused_554", PIPE "|>MAIL|>RCPT|>DATA|<250 ok\r\n"
	  "550 5.1.1 no\r\n554 5.5.1 no valid recipients|>RSET|<250 ok" BYE,
	  TLS_MODE_NONE, AUTH_NONE, RQ_OK, 0, 0, NULL, "P", RQ_OK, "RSET",
	  NULL },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* The server side: one connection, the script, then drain. */
static int
serve_step(int fd, FILE *in, FILE *log, const char *step)
{
	char line[8192], big[5000];
	size_t n;

	switch (step[0]) {
	case '<':
		dprintf(fd, "%s\r\n", step + 1);
		return 0;
	case 'L':
		memset(big, 'x', sizeof(big));
		memcpy(big, "250 ", 4);
		dprintf(fd, "%.*s\r\n", (int)sizeof(big), big);
		return 0;
	case '#':
		return 1;
	}
	do {
		if (fgets(line, sizeof(line), in) == NULL) {
			fprintf(log, "SCRIPT: connection closed before %s\n",
			    step);
			return 2;
		}
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		fprintf(log, "C: %s\n", line);
	} while (step[0] == '.' && strcmp(line, ".") != 0);
	if (step[0] == '>' && strncmp(line, step + 1, strlen(step + 1)) != 0) {
		fprintf(log, "SCRIPT: expected %s\n", step + 1);
		return 2;
	}
	return 0;
}

static int
serve(int lfd, const char *script, FILE *log)
{
	struct timeval tv = { 10, 0 };
	char *copy, *step, *save = NULL, line[8192];
	int fd, rc = 0;
	FILE *in;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return 3;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	in = fdopen(dup(fd), "r");
	copy = strdup(script);
	for (step = strtok_r(copy, "|", &save); step != NULL && rc == 0;
	    step = strtok_r(NULL, "|", &save))
		rc = serve_step(fd, in, log, step);
	if (rc == 1)
		rc = 0;		/* '#': closed on purpose */
	else
		while (rc == 0 && fgets(line, sizeof(line), in) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			fprintf(log, "C: %s\n", line);
		}
	free(copy);
	fclose(in);
	close(fd);
	fflush(log);
	return rc;
}

/* A listening socket on 127.0.0.1, its port (kernel-chosen) in port. */
static int
listener(char *port, size_t size)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, size, "%u", ntohs(sa.sin_port));
	return fd;
}

/* Every '|'-separated item of list passes pred against the transcript. */
static void
check_lines(const char *name, const char *list, const char *log, int want)
{
	char *copy, *item, *save = NULL, pat[256];
	const char *p;
	int found;

	if (list == NULL)
		return;
	copy = strdup(list);
	for (item = strtok_r(copy, "|", &save); item != NULL;
	    item = strtok_r(NULL, "|", &save)) {
		/* sent: a whole line; not sent: a line's start */
		snprintf(pat, sizeof(pat), "C: %s%s", item, want ? "\n" : "");
		found = 0;
		for (p = log; (p = strstr(p, pat)) != NULL; p++)
			if (p == log || p[-1] == '\n')
				found = 1;
		ck_assert_msg(found == want, "%s: the client %s \"%s\":\n%s",
		    name, want ? "did not send" : "sent", item, log);
	}
	free(copy);
}

static const char *const rcpts[] = { "r0@x.test", "r1@x.test",
	"r2@x.test" };
static const char body[] = "Subject: t\n\nbody\n";

/* smtp_send() of a small message to the first n of rcpts[]. */
static void
send_one(const struct scase *c, struct smtp_session *s)
{
	struct smtp_rcpt_result res[3];
	struct smtp_msg m;
	struct err e;
	size_t i, n = strlen(c->results);
	FILE *f = tmpfile();
	static const char cls[] = { [RQ_OK] = 'O', [RQ_TEMP] = 'T',
		[RQ_PERM] = 'P' };

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(body, 1, sizeof(body) - 1, f),
	    sizeof(body) - 1);
	fflush(f);
	memset(&m, 0, sizeof(m));
	m.sender = "s@x.test";
	m.rcpts = rcpts;
	m.nrcpt = n;
	m.fd = fileno(f);
	m.size = sizeof(body) - 1;
	memset(res, 0, sizeof(res));
	ck_assert_msg(smtp_send(s, &m, res, &e) == c->send_rc,
	    "%s: smtp_send: %s", c->name, e.msg);
	for (i = 0; i < n; i++) {
		ck_assert_msg(res[i].status <= RQ_PERM &&
		    cls[res[i].status] == c->results[i],
		    "%s: recipient %zu: status %d (%s), want %c", c->name, i,
		    res[i].status, res[i].text, c->results[i]);
		ck_assert_msg(res[i].status == RQ_OK || res[i].text[0] != '\0',
		    "%s: recipient %zu without a reason", c->name, i);
	}
	fclose(f);
}

/* The client's half of a case; the server runs in child. */
static void
client(const struct scase *c, const char *port)
{
	struct smtp_params p;
	struct smtp_session *s = NULL;
	struct err e;
	int unreachable = -1, token_refused = 0;

	memset(&p, 0, sizeof(p));
	p.host = "127.0.0.1";
	p.port = port;
	p.tls = c->tls;
	p.auth = c->auth;
	p.user = c->auth != AUTH_NONE ? "u" : NULL;
	p.password = "pw";
	p.plaintext_auth = 1;
	p.helo = "client.test";
	p.timeout = 5;
	p.unreachable = &unreachable;
	p.token_refused = &token_refused;
	memset(&e, 0, sizeof(e));
	ck_assert_msg(smtp_open(&s, &p, &e) == c->open_rc,
	    "%s: smtp_open: %s", c->name, e.msg);
	ck_assert_int_eq(token_refused, c->token_refused);
	if (c->open_rc != RQ_OK) {
		ck_assert_ptr_null(s);
		ck_assert_msg(unreachable == c->unreachable,
		    "%s: unreachable %d", c->name, unreachable);
		ck_assert_msg(c->why == NULL || strstr(e.msg, c->why) != NULL,
		    "%s: \"%s\" lacks \"%s\"", c->name, e.msg, c->why);
		return;
	}
	send_one(c, s);
	smtp_close(s);
}

START_TEST(scripted_session)
{
	const struct scase *c = &cases[_i];
	char port[16], *log;
	long len;
	int lfd, status;
	pid_t pid;
	FILE *f = tmpfile();

	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(f);
	lfd = listener(port, sizeof(port));
	if ((pid = fork()) == 0)
		_exit(serve(lfd, c->script, f));
	ck_assert_int_gt(pid, 0);
	close(lfd);
	client(c, port);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	len = ftell(f);
	log = calloc(1, (size_t)len + 1);
	rewind(f);
	ck_assert_uint_eq(fread(log, 1, (size_t)len, f), (size_t)len);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s: the server's script failed:\n%s", c->name, log);
	check_lines(c->name, c->sent, log, 1);
	check_lines(c->name, c->not_sent, log, 0);
	free(log);
	fclose(f);
}
END_TEST

/* The name tables that logs and the observer use. */
START_TEST(names)
{
	ck_assert_str_eq(smtp_state_name(0), "connect");
	ck_assert_ptr_null(smtp_state_name(-1));
	ck_assert_str_eq(smtp_step_name(SMTP_STEP_EOD), "message");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("scripted");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, scripted_session, 0, (int)NCASES);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
