/*
 * check_submit.c - submission (submit_message()) against golden files:
 * golden/submit/NAME.in is fed to submit_message() with the options of
 * the table below; the queued message (queue id, generated dates and
 * time stamps normalised) and its envelope must equal NAME.out.
 * GOLDEN_UPDATE=1 rewrites the .out files (review the diff!).
 * Also: a refused submission leaves no file. The header builders it
 * uses are tested on their own in check_header.c.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "header.h"
#include "spool.h"
#include "submit.h"

#include "ck_run.h"

static const char *const php_rcpts[] = { "cc-arg@example.test" };

static const struct gcase {
	const char *name;
	int extract, ignore_dots;
	const char *sender, *fullname;
	const char *const *rcpts;
	size_t nrcpt;
} cases[] = {
	{ "php_mail", 1, 1, "www-data@example.test", NULL, NULL, 0 },
	{ "bcc_strip", 1, 1, "shop@example.test", NULL, php_rcpts, 1 },
	{ "dots_end", 0, 0, "u@example.test", NULL, php_rcpts, 1 },
	{ "dots_i", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	{ "resent", 1, 1, "u@example.test", NULL, NULL, 0 },
	{ "no_headers", 0, 1, "u@example.test", "Cron Daemon", php_rcpts, 1 },
	{ "mbox_from", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	{ "fullname", 0, 1, "jane@example.test", "Jane \"JD\" Doe", php_rcpts,
	    1 },
	{ "mixed_eol", 0, 1, "", "Zoë Ünicode", php_rcpts, 1 },
	{ "eightbit", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	/* lines over 998 octets: QP for single-part text, else folded */
	{ "long_qp", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	{ "long_qp_plain", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	/* mostly 8-bit: QP would more than double it, base64 instead */
	{ "long_b64", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	{ "long_multipart", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	{ "long_base64", 0, 1, "u@example.test", NULL, php_rcpts, 1 },
	{ "long_header", 1, 1, "u@example.test", NULL, php_rcpts, 1 },
};

/* Replace every occurrence of from with to in b. */
static void
replace_all(struct buf *b, const char *from, const char *to)
{
	struct buf out;
	const char *p = buf_cstr(b), *hit;

	buf_init(&out, b->max);
	while ((hit = strstr(p, from)) != NULL) {
		buf_append(&out, p, (size_t)(hit - p));
		buf_puts(&out, to);
		p = hit + strlen(from);
	}
	buf_puts(&out, p);
	buf_free(b);
	*b = out;
}

/*
 * The dates relayq generated while submitting (any second from t0 to t1,
 * whole: no match at day precision that a run across midnight breaks)
 * and the Message-ID stamp: they differ on every run.
 */
static void
normalise(struct buf *b, const char *id, time_t t0, time_t t1)
{
	char date[64], stamp[32], *p;
	time_t t;

	replace_all(b, id, "QUEUEID");
	for (t = t0; t <= t1; t++) {
		header_date(date, sizeof(date), t);
		while ((p = strstr(b->data, date)) != NULL)
			memset(p, 'D', strlen(date));
	}
	while ((p = strstr(b->data, ".QUEUEID@")) != NULL && p - b->data >= 14) {
		snprintf(stamp, sizeof(stamp), "STAMP_________");
		memcpy(p - 14, stamp, 14);
		p[0] = '_';
	}
}

static void
read_file(const char *path, struct buf *b)
{
	char chunk[4096];
	size_t n;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(b, chunk, n);
	fclose(fp);
}

static void
queued(int dirfd, const char *id, struct buf *b)
{
	struct spool_msg m;
	struct err e;
	char *data;
	size_t i;
	int fd = openat(dirfd, id, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(spool_msg_read(fd, &m, &e), RQ_OK);
	data = malloc((size_t)m.msg_len);
	ck_assert_int_eq(pread(fd, data, (size_t)m.msg_len, m.msg_off),
	    m.msg_len);
	buf_append(b, data, (size_t)m.msg_len);
	free(data);
	buf_printf(b, "\n--- envelope\nS <%s>\n", m.sender);
	for (i = 0; i < m.nrcpt; i++)
		buf_printf(b, "R <%s>\n", m.rcpts[i]);
	buf_printf(b, "X %u\n", m.flags);
	spool_msg_free(&m);
	close(fd);
}

START_TEST(golden_submit)
{
	const struct gcase *c = &cases[_i];
	char dir[] = "/tmp/check_submit.XXXXXX", path[512];
	char id[SPOOL_ID_LEN + 1];
	struct submit_opts o;
	struct buf got, want;
	struct err e;
	time_t t0, t1;
	int dirfd, in;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/submit/%s.in", GOLDEN_DIR, c->name);
	in = open(path, O_RDONLY);
	ck_assert_int_ge(in, 0);
	memset(&o, 0, sizeof(o));
	o.sender = c->sender;
	o.from_addr = *c->sender ? c->sender : "nobody@example.test";
	o.fullname = c->fullname;
	o.extract = c->extract;
	o.ignore_dots = c->ignore_dots;
	o.rcpts = c->rcpts;
	o.nrcpt = c->nrcpt;
	o.uid = 1000;
	o.hostname = "host.example.test";
	o.domain = "example.test";
	t0 = time(NULL);
	ck_assert_msg(submit_message(dirfd, &o, in, id, &e) == RQ_OK, "%s: %s",
	    c->name, e.msg);
	t1 = time(NULL);
	buf_init(&got, 1 << 20);
	buf_init(&want, 1 << 20);
	queued(dirfd, id, &got);
	normalise(&got, id, t0, t1);
	ck_lines_within(c->name, got.data, got.len, 998);
	snprintf(path, sizeof(path), "%s/submit/%s.out", GOLDEN_DIR, c->name);
	if (getenv("GOLDEN_UPDATE") != NULL) {
		FILE *fp = fopen(path, "w");

		fwrite(got.data, 1, got.len, fp);
		fclose(fp);
	}
	read_file(path, &want);
	ck_assert_msg(got.len == want.len && memcmp(got.data, want.data,
	    got.len) == 0, "%s: queued message differs from %s:\n%s", c->name,
	    path, buf_cstr(&got));
	buf_free(&got);
	buf_free(&want);
	close(in);
	unlinkat(dirfd, id, 0);
	close(dirfd);
	rmdir(dir);
}
END_TEST

/* Submit text from a pipe; return status, leave the directory clean. */
static enum rq_status
submit_text(const char *text, int extract, off_t max, struct err *e,
    int *files_left)
{
	char dir[] = "/tmp/check_submit.XXXXXX", id[SPOOL_ID_LEN + 1];
	const char *rc[] = { "x@example.test" };
	struct submit_opts o;
	enum rq_status st;
	int p[2], dirfd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(pipe(p), 0);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], text, strlen(text));
		_exit(0);
	}
	close(p[1]);
	memset(&o, 0, sizeof(o));
	o.sender = o.from_addr = "u@example.test";
	o.extract = extract;
	o.rcpts = extract ? NULL : rc;
	o.nrcpt = extract ? 0 : 1;
	o.hostname = o.domain = "example.test";
	o.max_size = max;
	st = submit_message(dirfd, &o, p[0], id, e);
	close(p[0]);
	*files_left = rmdir(dir) == -1;	/* not empty */
	if (*files_left && st == RQ_OK) {
		unlinkat(dirfd, id, 0);
		rmdir(dir);
	}
	close(dirfd);
	return st;
}

START_TEST(refusals_leave_nothing)
{
	struct err e;
	int left;

	ck_assert_int_eq(submit_text("Subject: no rcpt\n\nx\n", 1, 0, &e,
	    &left), RQ_USAGE);
	ck_assert_int_eq(left, 0);
	ck_assert_int_eq(submit_text("Subject: big\n\n0123456789012345\n", 0,
	    16, &e, &left), RQ_DATAERR);
	ck_assert_ptr_nonnull(strstr(e.msg, "max_size"));
	ck_assert_int_eq(left, 0);
	ck_assert_int_eq(submit_text("To: <broken@x\n\nx\n", 1, 0, &e,
	    &left), RQ_DATAERR);
	ck_assert_int_eq(left, 0);
	ck_assert_int_eq(submit_text("Subject: ok\n\nx\n", 0, 0, &e, &left),
	    RQ_OK);
	ck_assert_int_eq(left, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("submit");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, golden_submit, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, refusals_leave_nothing);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
