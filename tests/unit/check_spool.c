/*
 * check_spool.c - the spool formats: a written message reads back the
 * same; every truncation or corruption of a file is refused (never read
 * as a different message); the envelope format round-trips exactly
 * (golden/env.txt). spool_msg_read_buf(), the listing's one-read reader,
 * agrees with spool_msg_read() on every one of these files, read whole or
 * (larger than its buffer) the other way.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "queue.h"
#include "env.h"
#include "spool.h"

#include "ck_run.h"

static char dir[64];
static int dirfd = -1;

static void
setup(void)
{
	strcpy(dir, "/tmp/check_spool.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
}

static void
teardown(void)
{
	char cmd[128];

	close(dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char body[] = "Subject: t\n\nline\n.\nR fake@record\nZ 1\n";

/* spool_msg_read_buf() of fd from its start, with a buffer of cap bytes. */
static enum rq_status
read_buf(int fd, size_t cap, struct spool_msg *m, struct err *e)
{
	static char buf[65536];

	ck_assert_uint_le(cap, sizeof(buf));
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return spool_msg_read_buf(fd, buf, cap, m, e);
}

static void
write_msg(const char *id)
{
	static const char *const rc[] = { "a@example.test",
	    "\"b c\"@example.test" };
	struct spool_writer *w = calloc(1, sizeof(*w));
	struct err e;

	ck_assert_int_eq(spool_writer_open(w, dirfd, id, "s@example.test",
	    1700000000, 33, 0, &e), RQ_OK);
	spool_writer_put(w, body, sizeof(body) - 1);
	ck_assert_int_eq(spool_writer_commit(w, rc, 2, MSG_F_8BIT,
	    SPOOL_MODE_COMPLETE, &e), RQ_OK);
	free(w);
}

START_TEST(round_trip)
{
	struct spool_msg m;
	struct stat st;
	struct err e;
	char data[sizeof(body)];
	size_t cap;
	off_t off;
	int fd;

	write_msg("0000000000000001");
	ck_assert_int_eq(fstatat(dirfd, "0000000000000001", &st, 0), 0);
	ck_assert_int_eq(st.st_mode & 07777, SPOOL_MODE_COMPLETE);
	fd = openat(dirfd, "0000000000000001", O_RDONLY);
	ck_assert_int_eq(spool_msg_read(fd, &m, &e), RQ_OK);
	ck_assert_int_eq(m.arrival, 1700000000);
	ck_assert_int_eq(m.uid, 33);
	ck_assert_str_eq(m.sender, "s@example.test");
	ck_assert_uint_eq(m.nrcpt, 2);
	ck_assert_str_eq(m.rcpts[1], "\"b c\"@example.test");
	ck_assert_uint_eq(m.flags, MSG_F_8BIT);
	ck_assert_int_eq(m.msg_len, sizeof(body) - 1);
	ck_assert_int_eq(pread(fd, data, sizeof(body) - 1, m.msg_off),
	    sizeof(body) - 1);
	ck_assert_int_eq(memcmp(data, body, sizeof(body) - 1), 0);
	off = m.msg_off;
	spool_msg_free(&m);
	/* One read whole, and a buffer too small: the same message. */
	for (cap = 16; cap <= 65536; cap *= 4096) {
		ck_assert_int_eq(read_buf(fd, cap, &m, &e), RQ_OK);
		ck_assert_int_eq(m.arrival, 1700000000);
		ck_assert_int_eq(m.uid, 33);
		ck_assert_str_eq(m.sender, "s@example.test");
		ck_assert_uint_eq(m.nrcpt, 2);
		ck_assert_str_eq(m.rcpts[0], "a@example.test");
		ck_assert_str_eq(m.rcpts[1], "\"b c\"@example.test");
		ck_assert_uint_eq(m.flags, MSG_F_8BIT);
		ck_assert_int_eq(m.msg_off, off);
		ck_assert_int_eq(m.msg_len, sizeof(body) - 1);
		spool_msg_free(&m);
	}
	close(fd);
}
END_TEST

/* Every proper prefix of a message file must be refused. */
START_TEST(truncations_refused)
{
	struct spool_msg m;
	struct stat st;
	struct err e;
	char *all;
	off_t len;
	int fd, tfd;

	write_msg("0000000000000002");
	fd = openat(dirfd, "0000000000000002", O_RDONLY);
	fstat(fd, &st);
	all = malloc((size_t)st.st_size);
	ck_assert_int_eq(pread(fd, all, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	for (len = 0; len < st.st_size; len++) {
		tfd = openat(dirfd, "trunc", O_RDWR | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_eq(write(tfd, all, (size_t)len), len);
		ck_assert_msg(spool_msg_read(tfd, &m, &e) != RQ_OK,
		    "a %lld-byte prefix was accepted", (long long)len);
		spool_msg_free(&m);
		ck_assert_msg(read_buf(tfd, 65536, &m, &e) != RQ_OK,
		    "a %lld-byte prefix was accepted in one read",
		    (long long)len);
		close(tfd);
	}
	free(all);
}
END_TEST

/* Corruptions of single bytes in the records: refused or harmless. */
static const struct {
	const char *find, *replace;
	int in_trailer;		/* search the last bytes, not the body */
} corrupt[] = {
	{ "RELAYQ1", "RELAYQ2", 0 },
	{ "A 1700000000", "A 17x0000000", 0 },
	{ "U 33", "U -3", 0 },
	{ "S s@example.test", "S s@exa\rple.test", 0 },
	{ "\nM\n", "\nN\n", 0 },
	{ "R a@example.test", "R a@exa\x01ple.test", 1 },
	{ "R a@example.test", "Q a@example.test", 1 },
	{ "X 1", "X y", 1 },
	{ "Z 000", "Z 999", 1 },
	{ "Z 000", "Y 000", 1 },
};

START_TEST(corruptions_refused)
{
	struct spool_msg m;
	struct stat st;
	struct err e;
	char *all, *hit;
	int fd;

	write_msg("0000000000000003");
	fd = openat(dirfd, "0000000000000003", O_RDWR);
	fstat(fd, &st);
	all = calloc(1, (size_t)st.st_size + 1);
	ck_assert_int_eq(pread(fd, all, (size_t)st.st_size, 0), st.st_size);
	/* Search from the end for trailer records, not the body's fakes. */
	hit = corrupt[_i].in_trailer ? all + st.st_size - 80 : all;
	hit = strstr(hit, corrupt[_i].find);
	ck_assert_ptr_nonnull(hit);
	memcpy(hit, corrupt[_i].replace, strlen(corrupt[_i].replace));
	ck_assert_int_eq(pwrite(fd, all, (size_t)st.st_size, 0), st.st_size);
	ck_assert_msg(spool_msg_read(fd, &m, &e) == RQ_DATAERR,
	    "corruption %d accepted", _i);
	spool_msg_free(&m);
	ck_assert_msg(read_buf(fd, 65536, &m, &e) == RQ_DATAERR,
	    "corruption %d accepted in one read", _i);
	free(all);
	close(fd);
}
END_TEST

START_TEST(env_golden_round_trip)
{
	struct buf text;
	struct env env;
	struct err e;
	char *out, chunk[4096];
	size_t len, n;
	FILE *fp = fopen(GOLDEN_DIR "/env.txt", "r");

	ck_assert_ptr_nonnull(fp);
	buf_init(&text, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&text, chunk, n);
	fclose(fp);
	ck_assert_int_eq(env_parse(&env, text.data, text.len, &e), RQ_OK);
	ck_assert_uint_eq(env.nrcpt, 3);
	ck_assert_int_eq(env.rcpts[1].state, RCPT_PENDING);
	ck_assert_str_eq(env.rcpts[2].reason, "550 5.1.1 no such user");
	ck_assert_uint_eq(env.dsn.notify, DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
	ck_assert_int_eq(env.dsn.ret, DSN_RET_HDRS);
	ck_assert_str_eq(env.dsn.envid, "QQ314159+x=y");
	ck_assert_int_eq(env_format(&env, &out, &len), 0);
	ck_assert_uint_eq(len, text.len);
	ck_assert_int_eq(memcmp(out, text.data, len), 0);
	free(out);
	/* Without its end record it is refused. */
	env_free(&env);
	ck_assert_int_eq(env_parse(&env, text.data, text.len - 2, &e),
	    RQ_DATAERR);
	buf_free(&text);
}
END_TEST

/* DSN requests survive the message file and reach the envelope. */
START_TEST(dsn_records_round_trip)
{
	static const char *const rc[] = { "a@example.test" };
	struct spool_writer *w = calloc(1, sizeof(*w));
	struct spool_msg m;
	struct env env;
	struct err e;
	int fd;

	ck_assert_int_eq(spool_writer_open(w, dirfd, "0000000000000004",
	    "s@example.test", 1700000000, 33, 0, &e), RQ_OK);
	w->dsn.notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
	w->dsn.ret = DSN_RET_FULL;
	strcpy(w->dsn.envid, "id 42+=");
	spool_writer_put(w, body, sizeof(body) - 1);
	ck_assert_int_eq(spool_writer_commit(w, rc, 1, 0, SPOOL_MODE_COMPLETE,
	    &e), RQ_OK);
	free(w);
	fd = openat(dirfd, "0000000000000004", O_RDONLY);
	ck_assert_int_eq(spool_msg_read(fd, &m, &e), RQ_OK);
	ck_assert_uint_eq(m.dsn.notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
	ck_assert_int_eq(m.dsn.ret, DSN_RET_FULL);
	ck_assert_str_eq(m.dsn.envid, "id 42+=");
	ck_assert_int_eq(m.msg_len, sizeof(body) - 1);
	ck_assert_int_eq(env_from_msg(&env, "0000000000000004", &m, &e), RQ_OK);
	ck_assert_uint_eq(env.dsn.notify, m.dsn.notify);
	ck_assert_int_eq(env.dsn.ret, DSN_RET_FULL);
	ck_assert_str_eq(env.dsn.envid, "id 42+=");
	env_free(&env);
	spool_msg_free(&m);
	close(fd);
}
END_TEST

/* A file from before the D records (the version-1 layout) still reads:
   no request. Bad or misplaced D records are refused. */
static const struct {
	const char *trailer;
	int ok;
} dsn_trailers[] = {
	{ "R a@example.test\nX 0\n", 1 },
	{ "R a@example.test\nD NOTIFY NEVER\nX 0\n", 1 },
	{ "R a@example.test\nR b@example.test\nD RET HDRS\nX 0\n", 1 },
	{ "D RET HDRS\nR a@example.test\nX 0\n", 0 },
	{ "R a@example.test\nD RET HDRS\nR b@example.test\nX 0\n", 0 },
	{ "R a@example.test\nD RET SOME\nX 0\n", 0 },
	{ "R a@example.test\nD RET FULL\nD RET HDRS\nX 0\n", 0 },
	{ "R a@example.test\nD NOTIFY NEVER,DELAY\nX 0\n", 0 },
	{ "R a@example.test\nD ENVID a\001b\nX 0\n", 0 },
	{ "R a@example.test\nD COLOUR blue\nX 0\n", 0 },
	{ "R a@example.test\nX 0\nD RET HDRS\n", 0 },
};

START_TEST(dsn_trailer_forms)
{
	static const char head[] = "RELAYQ1\nA 1700000000\nU 0\nS s@x.test\n"
	    "M\nbody\n";
	char file[512];
	struct spool_msg m;
	struct err e;
	int fd, n;

	n = snprintf(file, sizeof(file), "%s%sZ %020d\n", head,
	    dsn_trailers[_i].trailer, 5);
	fd = openat(dirfd, "t", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(write(fd, file, (size_t)n), n);
	ck_assert_msg((spool_msg_read(fd, &m, &e) == RQ_OK) ==
	    dsn_trailers[_i].ok, "trailer %d: expected %s", _i,
	    dsn_trailers[_i].ok ? "accepted" : "refused");
	if (_i == 0)
		ck_assert_int_eq(m.dsn.notify | m.dsn.ret | m.dsn.envid[0], 0);
	if (_i == 1)
		ck_assert_uint_eq(m.dsn.notify, DSN_NOTIFY_NEVER);
	spool_msg_free(&m);
	close(fd);
}
END_TEST

START_TEST(ids)
{
	char id[SPOOL_ID_LEN + 1];

	spool_id_new(id, 1700000000);
	ck_assert_int_eq(spool_id_valid(id), 1);
	ck_assert_int_eq(strncmp(id, "6553F100", 8), 0);
	ck_assert_int_eq(spool_id_valid("0123456789ABCDEF"), 1);
	ck_assert_int_eq(spool_id_valid("0123456789abcdef"), 0);
	ck_assert_int_eq(spool_id_valid("../../etc/passwd"), 0);
	ck_assert_int_eq(spool_id_valid("0123456789ABCDE"), 0);
	ck_assert_int_eq(spool_id_valid("0123456789ABCDEF0"), 0);
}
END_TEST

/* fuzz_header: a recipient that grew past ADDR_MAX when qualified was
 * committed, then refused by the reader. The writer now refuses it. */
START_TEST(writer_refuses_unreadable)
{
	char big[ADDR_MAX + 20];
	const char *rc[] = { "a@example.test", big };
	struct spool_writer *w = calloc(1, sizeof(*w));
	struct stat st;
	struct err e;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + sizeof(big) - 14, "@example.test", 13);
	ck_assert_int_eq(spool_writer_open(w, dirfd, "0000000000000009",
	    "s@example.test", 1700000000, 33, 0, &e), RQ_OK);
	spool_writer_put(w, body, sizeof(body) - 1);
	ck_assert_int_eq(spool_writer_commit(w, rc, 2, 0,
	    SPOOL_MODE_COMPLETE, &e), RQ_DATAERR);
	ck_assert_int_eq(fstatat(dirfd, "0000000000000009", &st, 0), -1);
	ck_assert_int_eq(spool_writer_open(w, dirfd, "000000000000000A",
	    big, 1700000000, 33, 0, &e), RQ_DATAERR);
	ck_assert_int_eq(fstatat(dirfd, "000000000000000A", &st, 0), -1);
	free(w);
}
END_TEST

/*
 * One set of limits for the writer and the reader: a message with the
 * most recipients of the longest length is committed and read back; one
 * more recipient, one octet more of an address, one octet more than max:
 * refused at commit, naming the limit, with nothing left behind.
 */
static const struct {
	const char *name;
	size_t nrcpt, addrlen;	/* recipients, octets of each */
	off_t max, put;		/* writer bound, message octets */
	enum rq_status want;
	const char *msg;
} limit_cases[] = {
	{ "at the limits", SPOOL_RCPT_MAX, SPOOL_ADDR_MAX, 64, 64, RQ_OK,
	    NULL },
	{ "one recipient too many", SPOOL_RCPT_MAX + 1, 20, 0, 64, RQ_DATAERR,
	    "too many recipients: 100001 (limit 100000)" },
	{ "address one octet too long", 3, SPOOL_ADDR_MAX + 1, 0, 64,
	    RQ_DATAERR, "recipient address too long: 513 octets (limit 512)" },
	{ "one octet over max", 1, 20, 64, 65, RQ_DATAERR, "maximum size" },
};

/* n distinct addresses of len octets each ("000001xxx@example.test"). */
static char **
make_rcpts(size_t n, size_t len)
{
	char **v = calloc(n, sizeof(*v)), num[32];
	size_t i;

	for (i = 0; i < n; i++) {
		v[i] = malloc(len + 1);
		memset(v[i], 'x', len);
		memcpy(v[i], num, (size_t)snprintf(num, sizeof(num), "%zu",
		    i));
		memcpy(v[i] + len - 13, "@example.test", 14);
	}
	return v;
}

START_TEST(commit_limits)
{
	char **rc = make_rcpts(limit_cases[_i].nrcpt, limit_cases[_i].addrlen);
	struct spool_writer *w = calloc(1, sizeof(*w));
	char *msg = calloc(1, (size_t)limit_cases[_i].put);
	struct spool_msg m;
	struct stat st;
	struct err e;
	size_t i;
	int fd;

	memset(msg, 'm', (size_t)limit_cases[_i].put);
	ck_assert_int_eq(spool_writer_open(w, dirfd, "0000000000000010",
	    "s@example.test", 1700000000, 33, limit_cases[_i].max, &e), RQ_OK);
	spool_writer_put(w, msg, (size_t)limit_cases[_i].put);
	ck_assert_int_eq(spool_writer_commit(w, (const char *const *)rc,
	    limit_cases[_i].nrcpt, 0, SPOOL_MODE_COMPLETE, &e),
	    limit_cases[_i].want);
	if (limit_cases[_i].want == RQ_OK) {
		fd = openat(dirfd, "0000000000000010", O_RDONLY);
		ck_assert_int_eq(spool_msg_read(fd, &m, &e), RQ_OK);
		ck_assert_uint_eq(m.nrcpt, limit_cases[_i].nrcpt);
		spool_msg_free(&m);
		close(fd);
	} else {
		ck_assert_msg(strstr(e.msg, limit_cases[_i].msg) != NULL,
		    "%s: \"%s\"", limit_cases[_i].name, e.msg);
		ck_assert_int_eq(fstatat(dirfd, "0000000000000010", &st, 0),
		    -1);
	}
	for (i = 0; i < limit_cases[_i].nrcpt; i++)
		free(rc[i]);
	free(rc);
	free(msg);
	free(w);
}
END_TEST

/* The reader holds the same line: a file with one recipient too many
 * (made by hand, the writer would not) is malformed. */
START_TEST(reader_rcpt_limit)
{
	struct spool_msg m;
	struct err e;
	FILE *fp;
	size_t i;
	int fd;

	fd = openat(dirfd, "0000000000000011", O_RDWR | O_CREAT, 0600);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w+"));
	fprintf(fp, "RELAYQ1\nA 1\nU 2\nS s@x\nM\nx\n");
	for (i = 0; i <= SPOOL_RCPT_MAX; i++)
		fprintf(fp, "R r%zu@x\n", i);
	fprintf(fp, "X 0\nZ %020d\n", 2);
	fflush(fp);
	ck_assert_int_eq(spool_msg_read(fd, &m, &e), RQ_DATAERR);
	ck_assert_ptr_nonnull(strstr(e.msg, "too many recipients"));
	fclose(fp);
}
END_TEST

/* queue_lock: a held lock is "being delivered" (after a few short
 * waits); a free one is taken, and queue_is_locked sees it. */
START_TEST(lock_busy_then_free)
{
	struct spool sp;
	struct err e;
	int fd, other, i;

	for (i = 0; i < SP_NSUB; i++)
		sp.fd[i] = -1;
	sp.dir = dir;
	sp.fd[SP_QUEUE] = dirfd;
	other = openat(dirfd, "0000000000000042", O_RDWR | O_CREAT, 0600);
	ck_assert_int_ne(other, -1);
	ck_assert_int_eq(flock(other, LOCK_SH), 0);	/* a mailq probe */
	ck_assert_int_eq(queue_lock(&sp, SP_QUEUE, "0000000000000042", &fd,
	    &e), RQ_TEMP);
	ck_assert_ptr_nonnull(strstr(e.msg, "being delivered"));
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(flock(other, LOCK_UN), 0);
	ck_assert_int_eq(queue_lock(&sp, SP_QUEUE, "0000000000000042", &fd,
	    &e), RQ_OK);
	ck_assert_int_eq(queue_is_locked(&sp, SP_QUEUE, "0000000000000042"), 1);
	close(fd);
	ck_assert_int_eq(queue_is_locked(&sp, SP_QUEUE, "0000000000000042"), 0);
	ck_assert_int_eq(queue_lock(&sp, SP_QUEUE, "../etc/passwd", &fd, &e),
	    RQ_NOINPUT);
	close(other);
}
END_TEST

/* fuzz_spool: an empty record line was read one byte past the text. */
START_TEST(env_empty_record)
{
	static const char *const texts[] = { "RELAYQENV1\n\n",
	    "RELAYQENV1\nI 65A1B2C3D4E5F607\n\n" };
	struct env env;
	struct err e;
	size_t i, n;
	char *t;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		n = strlen(texts[i]);
		t = malloc(n);		/* exact size: ASan sees an over-read */
		memcpy(t, texts[i], n);
		ck_assert_int_eq(env_parse(&env, t, n, &e), RQ_DATAERR);
		free(t);
	}
}
END_TEST

START_TEST(reason_sanitised)
{
	char *r = NULL;

	ck_assert_int_eq(env_set_reason(&r, "a\r\nb\tc"), 0);
	ck_assert_str_eq(r, "a  b c");
	free(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, truncations_refused);
	tcase_add_loop_test(tc, corruptions_refused, 0,
	    sizeof(corrupt) / sizeof(corrupt[0]));
	tcase_add_test(tc, env_golden_round_trip);
	tcase_add_test(tc, dsn_records_round_trip);
	tcase_add_loop_test(tc, dsn_trailer_forms, 0,
	    sizeof(dsn_trailers) / sizeof(dsn_trailers[0]));
	tcase_add_test(tc, ids);
	tcase_add_test(tc, writer_refuses_unreadable);
	tcase_add_loop_test(tc, commit_limits, 0,
	    sizeof(limit_cases) / sizeof(limit_cases[0]));
	tcase_add_test(tc, reader_rcpt_limit);
	tcase_add_test(tc, env_empty_record);
	tcase_add_test(tc, lock_busy_then_free);
	tcase_add_test(tc, reason_sanitised);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
