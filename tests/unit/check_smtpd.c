/*
 * check_smtpd.c - the `sendmail -bs` server: scripted sessions (the whole
 * client side written at once, as a pipelining client or one that died
 * would) run through smtpd_session() over a pipe; the transcript (queue
 * ids replaced by "ID") must equal the expected one, the spool must hold
 * exactly the messages that got a 250, and their bodies are checked for
 * dot-unstuffing and line ends. Also the state name table.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "smtpd.h"
#include "spool.h"
#include "submit.h"

#include "ck_run.h"

#define GREET	"220 test.example ESMTP relayq\r\n"
#define EHLO_REPLY "250-test.example\r\n250-PIPELINING\r\n250-SIZE 0\r\n" \
	"250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"
#define QUEUED	"250 2.0.0 Ok: queued as ID\r\n"

struct scase {
	const char *name;
	const char *script;	/* what the client sends, then EOF */
	const char *want;	/* the server's transcript */
	int nqueued;		/* entries left in the spool */
	off_t max_size;
	size_t max_rcpt;
	const char *body;	/* a queued message must contain this */
	int broken_dir;		/* the maildrop directory is gone: 451 */
};

static const struct scase cases[] = {
	{ "symfony_two_messages_no_rset",
	  "HELO client\r\nMAIL FROM:<a@example.test>\r\n"
	  "RCPT TO:<b@example.test>\r\nDATA\r\nSubject: 1\r\n\r\none\r\n.\r\n"
	  "MAIL FROM:<a@example.test>\r\nRCPT TO:<c@example.test>\r\n"
	  "DATA\r\nSubject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED
	  "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED "221 2.0.0 Bye\r\n",
	  2, 0, 0, "\n\ntwo\n", 0 },
	{ "ehlo_pipelined_params_null_sender",
	  "EHLO client\r\nMAIL FROM:<> SIZE=10 BODY=8BITMIME SMTPUTF8\r\n"
	  "RCPT TO:<root>\r\nRCPT TO:<x@example.test>\r\nDATA\r\n"
	  "x\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n",
	  GREET EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED
	  "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
	  1, 0, 0, "R root@example.test\n", 0 },
	{ "dot_unstuffing_lf_lines",
	  "HELO c\nMAIL FROM:<a@example.test>\nRCPT TO:<b@example.test>\n"
	  "DATA\nSubject: dots\n\n..\n...x\n.y\nz.\n.\nQUIT\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED "221 2.0.0 Bye\r\n",
	  1, 0, 0, "\n\n.\n..x\ny\nz.\nR ", 0 },
	{ "bad_sequence",
	  "RCPT TO:<b@example.test>\r\nDATA\r\nHELO c\r\n"
	  "MAIL FROM:<a@example.test>\r\nDATA\r\nMAIL FROM:<a@example.test>\r\n"
	  "RSET\r\nRCPT TO:<b@example.test>\r\nQUIT\r\n",
	  GREET "503 5.5.1 Error: need MAIL command\r\n"
	  "503 5.5.1 Error: need MAIL command\r\n250 test.example\r\n"
	  "250 2.1.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n"
	  "503 5.5.1 Error: nested MAIL command\r\n250 2.0.0 Ok\r\n"
	  "503 5.5.1 Error: need MAIL command\r\n221 2.0.0 Bye\r\n",
	  0, 0, 0, NULL, 0 },
	{ "syntax_errors",
	  "HELO\r\nMAIL TO:<a@x>\r\nMAIL FROM:<a@x\r\nMAIL FROM:<a\001@x>\r\n"
	  "MAIL FROM:<a@x> BODY=BINARYMIME\r\nMAIL FROM:<a@x> SIZE=z\r\n"
	  "MAIL FROM:<a@x> X=1\r\nMAIL FROM:<a@x>\r\nRCPT TO:<>\r\n"
	  "RCPT TO:<b@x> NOTIFY=NEVER\r\nRCPT TO:<b@x>\r\nDATA now\r\n"
	  "VRFY\r\nQUIT now\r\nQUIT\r\n",
	  GREET "501 5.5.4 Syntax: HELO hostname\r\n"
	  "501 5.5.4 Syntax: FROM:<address>\r\n"
	  "501 5.1.7 Missing '>' in the address\r\n"
	  "501 5.1.3 Bad address syntax\r\n"
	  "501 5.5.4 Unsupported BODY type\r\n"
	  "501 5.5.4 Bad SIZE parameter\r\n"
	  "555 5.5.4 Unsupported parameter\r\n250 2.1.0 Ok\r\n"
	  "501 5.1.3 Empty recipient address\r\n"
	  "555 5.5.4 Unsupported parameter\r\n250 2.1.5 Ok\r\n"
	  "501 5.5.4 Syntax: DATA\r\n501 5.5.4 Syntax: VRFY address\r\n"
	  "501 5.5.4 Syntax: QUIT\r\n221 2.0.0 Bye\r\n",
	  0, 0, 0, NULL, 0 },
	{ "unknown_unimplemented_long_vrfy_help",
	  "FOO bar\r\nEXPN list\r\nSTARTTLS\r\nVRFY root\r\nHELP\r\n"
	  "NOOP %01000d\r\nnoop\r\nquit\r\n",
	  GREET "500 5.5.2 Error: command not recognized\r\n"
	  "502 5.5.1 Error: command not implemented\r\n"
	  "502 5.5.1 Error: command not implemented\r\n"
	  "252 2.0.0 Cannot VRFY user, but will accept message and attempt "
	  "delivery\r\n214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP "
	  "VRFY HELP QUIT\r\n500 5.5.2 Error: line too long\r\n"
	  "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n",
	  0, 0, 0, NULL, 0 },
	{ "too_many_recipients",
	  "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\n"
	  "RCPT TO:<3@x>\r\nDATA\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients (limit 2)\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED "221 2.0.0 Bye\r\n",
	  1, 0, 2, "R 1@x\nR 2@x\nX", 0 },
	{ "rcpt_too_long_once_qualified",
	  "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<%0505d>\r\n"
	  "RCPT TO:<%0490d>\r\nQUIT\r\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n"
	  "501 5.1.3 Address too long once qualified\r\n250 2.1.5 Ok\r\n"
	  "221 2.0.0 Bye\r\n",
	  0, 0, 0, NULL, 0 },
	{ "too_big_then_next_message",
	  "HELO c\r\nMAIL FROM:<a@x> SIZE=5000\r\nMAIL FROM:<a@x>\r\n"
	  "RCPT TO:<b@x>\r\nDATA\r\nSubject: big\r\n\r\n%0500d\r\n.\r\n"
	  "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nsmall\r\n.\r\n"
	  "QUIT\r\n",
	  GREET "250 test.example\r\n"
	  "552 5.3.4 Message size exceeds the fixed limit\r\n250 2.1.0 Ok\r\n"
	  "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
	  "552 5.3.4 Message size exceeds the fixed limit\r\n250 2.1.0 Ok\r\n"
	  "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED
	  "221 2.0.0 Bye\r\n",
	  1, 400, 0, "\n\nsmall\n", 0 },
	{ "eof_mid_data_queues_nothing",
	  "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"
	  "Subject: cut\r\n\r\nhalf a mess",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n",
	  0, 0, 0, NULL, 0 },
	{ "eof_without_quit_keeps_committed",
	  "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nkept\r\n"
	  ".\r\nMAIL FROM:<a@x>\r\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED "250 2.1.0 Ok\r\n",
	  1, 0, 0, "kept\n", 0 },
	{ "queue_write_failure_451",
	  "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nRSET\r\n"
	  "QUIT\r\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "451 4.3.0 Error: queue file write error\r\n250 2.0.0 Ok\r\n"
	  "221 2.0.0 Bye\r\n",
	  0, 0, 0, NULL, 1 },
	{ "long_data_line_streamed",
	  "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n%0200000d\r\n"
	  ".\r\nQUIT\r\n",
	  GREET "250 test.example\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	  "354 End data with <CR><LF>.<CR><LF>\r\n" QUEUED "221 2.0.0 Bye\r\n",
	  1, 0, 0, "\n0000", 0 },
};

/* The script with "%0Nd" expanded to N zeros (long lines). */
static void
expand(const char *script, struct buf *b)
{
	const char *p;
	char *end;
	long n;

	for (p = script; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == '0') {
			n = strtol(p + 2, &end, 10);
			if (*end == 'd') {
				while (n-- > 0)
					buf_putc(b, '0');
				p = end;
				continue;
			}
		}
		buf_putc(b, *p);
	}
}

/* Replace each "queued as <16 hex>" id by "ID". */
static void
mask_ids(char *s)
{
	char *p;

	while ((p = strstr(s, "queued as ")) != NULL &&
	    strlen(p + 10) >= SPOOL_ID_LEN && p[10] != 'I') {
		memmove(p + 12, p + 10 + SPOOL_ID_LEN,
		    strlen(p + 10 + SPOOL_ID_LEN) + 1);
		memcpy(p + 10, "ID", 2);
		s = p + 12;
	}
}

static void
slurp(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)n);
}

/* Count the entries in dir; each must be complete, one contain body. */
static int
check_spool(const char *dir, const char *body, const char *name)
{
	char path[600];
	struct buf b;
	struct dirent *de;
	DIR *dp = opendir(dir);
	int n = 0, fd, found = 0;

	if (dp == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
		buf_init(&b, 1 << 20);
		slurp(fd, &b);
		close(fd);
		ck_assert_msg(strstr(buf_cstr(&b), "\nZ ") != NULL,
		    "%s: entry %s is not complete", name, de->d_name);
		if (body != NULL && strstr(buf_cstr(&b), body) != NULL)
			found = 1;
		buf_free(&b);
		unlink(path);
		n++;
	}
	closedir(dp);
	ck_assert_msg(body == NULL || found, "%s: no entry contains \"%s\"",
	    name, body);
	return n;
}

START_TEST(session)
{
	const struct scase *c = &cases[_i];
	char dir[] = "/tmp/check_smtpd.XXXXXX", outpath[64];
	struct submit_opts tmpl;
	struct smtpd_params p;
	struct buf in, out;
	struct err e;
	int pin[2], outfd, dirfd;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dirfd, 0);
	if (c->broken_dir)
		ck_assert_int_eq(rmdir(dir), 0);
	buf_init(&in, 1 << 20);
	expand(c->script, &in);
	ck_assert_int_eq(pipe(pin), 0);
	if ((pid = fork()) == 0) {	/* the client, then EOF */
		close(pin[0]);
		(void)!write(pin[1], in.data, in.len);
		_exit(0);
	}
	close(pin[1]);
	snprintf(outpath, sizeof(outpath), "%s.out", dir);
	outfd = open(outpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(outfd, 0);
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.from_addr = "user@example.test";
	tmpl.uid = 1000;
	tmpl.hostname = "test.example";
	tmpl.domain = "example.test";
	tmpl.max_size = c->max_size;
	memset(&p, 0, sizeof(p));
	p.hostname = "test.example";
	p.dirfd = dirfd;
	p.tmpl = &tmpl;
	p.max_rcpt = c->max_rcpt;
	ck_assert_int_eq(smtpd_session(pin[0], outfd, &p, &e), RQ_OK);
	close(pin[0]);
	buf_init(&out, 1 << 20);
	lseek(outfd, 0, SEEK_SET);
	slurp(outfd, &out);
	close(outfd);
	unlink(outpath);
	mask_ids(out.data != NULL ? out.data : (char *)"");
	ck_assert_msg(strcmp(buf_cstr(&out), c->want) == 0,
	    "%s: transcript differs:\n%s\n--- want:\n%s", c->name,
	    buf_cstr(&out), c->want);
	if (!c->broken_dir) {
		ck_assert_int_eq(check_spool(dir, c->body, c->name),
		    c->nqueued);
		rmdir(dir);
	}
	close(dirfd);
	buf_free(&in);
	buf_free(&out);
}
END_TEST

/*
 * The session never takes more recipients than a queue file holds, even
 * when its own limit is higher: RCPT number SPOOL_RCPT_MAX + 1 gets 452,
 * the message goes out with SPOOL_RCPT_MAX, and the spool reader takes
 * the entry as it was committed.
 */
START_TEST(spool_rcpt_limit)
{
	char dir[] = "/tmp/check_smtpd.XXXXXX", path[600];
	struct submit_opts tmpl;
	struct smtpd_params p;
	struct spool_msg m;
	struct buf in, out;
	struct dirent *de;
	struct err e;
	int pin[2], outfd, dirfd, fd, i, n250 = 0;
	const char *q;
	DIR *dp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_ge(dirfd = open(dir, O_RDONLY | O_DIRECTORY), 0);
	buf_init(&in, 16 << 20);
	buf_puts(&in, "HELO c\r\nMAIL FROM:<a@x>\r\n");
	for (i = 0; i <= SPOOL_RCPT_MAX; i++)
		buf_printf(&in, "RCPT TO:<r%06d@example.test>\r\n", i);
	buf_puts(&in, "DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n");
	ck_assert_int_eq(pipe(pin), 0);
	if (fork() == 0) {
		close(pin[0]);
		(void)!write(pin[1], in.data, in.len);
		_exit(0);
	}
	close(pin[1]);
	snprintf(path, sizeof(path), "%s.out", dir);
	ck_assert_int_ge(outfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600),
	    0);
	unlink(path);
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.from_addr = "user@example.test";
	tmpl.hostname = tmpl.domain = "example.test";
	memset(&p, 0, sizeof(p));
	p.hostname = "test.example";
	p.dirfd = dirfd;
	p.tmpl = &tmpl;
	p.max_rcpt = 2 * SPOOL_RCPT_MAX;
	ck_assert_int_eq(smtpd_session(pin[0], outfd, &p, &e), RQ_OK);
	close(pin[0]);
	buf_init(&out, 16 << 20);
	lseek(outfd, 0, SEEK_SET);
	slurp(outfd, &out);
	close(outfd);
	for (q = buf_cstr(&out); (q = strstr(q, "250 2.1.5 Ok")) != NULL; q++)
		n250++;
	ck_assert_int_eq(n250, SPOOL_RCPT_MAX);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "250 2.1.5 Ok\r\n452 4.5.3 "
	    "Error: too many recipients (limit 100000)\r\n354 "));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "queued as "));
	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL && de->d_name[0] == '.')
		;
	ck_assert_ptr_nonnull(de);
	ck_assert_int_ge(fd = openat(dirfd, de->d_name, O_RDONLY), 0);
	ck_assert_int_eq(spool_msg_read(fd, &m, &e), RQ_OK);
	ck_assert_uint_eq(m.nrcpt, SPOOL_RCPT_MAX);
	spool_msg_free(&m);
	close(fd);
	unlinkat(dirfd, de->d_name, 0);
	closedir(dp);
	close(dirfd);
	rmdir(dir);
	buf_free(&in);
	buf_free(&out);
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(smtpd_state_name(0), "init");
	ck_assert_str_eq(smtpd_state_name(4), "DATA");
	ck_assert_str_eq(smtpd_state_name(99), "unknown");
	ck_assert_str_eq(smtpd_state_name(-1), "unknown");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtpd");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, session, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, spool_rcpt_limit);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
