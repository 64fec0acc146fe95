/*
 * check_queue.c - queue policy: the order of a pass (priority, then the
 * submitting users in turn, then arrival), the envelope's priority
 * record, which that order reads, and the group commit (struct qgroup):
 * nothing of a group is visible before its commit, everything after it,
 * the entries stay locked until then, and a maildrop entry goes only
 * with the commit that made its queue copy durable; "removed" is logged
 * only by a commit that made the removal durable. States that replace
 * envelopes (qgroup_stage) are written over the envelopes the group
 * before replaced: after many rounds every envelope reads its last
 * state, at most one group's worth of inodes is new, and tmp/ is left
 * empty.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "spool.h"

#include "ck_run.h"

/* One queued message: id (arrival order), submitting uid, priority. */
struct qmsg {
	const char *id;
	unsigned uid;
	int prio;
};

#define NMAX 8
static const struct {
	const char *what;
	struct qmsg in[NMAX];
	const char *want;	/* last two hex digits of the ids, in order */
} orders[] = {
	{ "one user: arrival order",
	    { { "0000000100000001", 33, 0 }, { "0000000100000002", 33, 0 },
	    { "0000000200000003", 33, 0 } }, "01 02 03" },
	{ "a late user's one message goes second, not last",
	    { { "0000000100000001", 33, 0 }, { "0000000100000002", 33, 0 },
	    { "0000000100000003", 33, 0 }, { "0000000100000004", 33, 0 },
	    { "0000000100000005", 33, 0 }, { "0000000200000006", 1000, 0 } },
	    "01 06 02 03 04 05" },
	{ "three users in turn",
	    { { "0000000100000001", 5, 0 }, { "0000000100000002", 5, 0 },
	    { "0000000100000003", 6, 0 }, { "0000000100000004", 6, 0 },
	    { "0000000100000005", 7, 0 }, { "0000000100000006", 5, 0 } },
	    "01 03 05 02 04 06" },
	{ "priority first, then users in turn",
	    { { "0000000100000001", 5, ENV_PRIORITY_NORMAL },
	    { "0000000100000002", 5, 1 },
	    { "0000000100000003", 6, 4 },
	    { "0000000100000004", 5, 4 },
	    { "0000000100000005", 6, ENV_PRIORITY_NORMAL } },
	    "03 04 01 05 02" },
	{ "five levels, the most urgent first; 0 (none given) is normal",
	    { { "0000000100000001", 5, 2 }, { "0000000100000002", 5, 0 },
	    { "0000000100000003", 5, 5 }, { "0000000100000004", 5, 1 },
	    { "0000000100000005", 5, 4 } },
	    "03 05 02 01 04" },
};

static char dir[64];

static void
put(const struct spool *sp, const struct qmsg *m)
{
	struct env_rcpt r = { (char *)"rcpt@example.org", RCPT_PENDING, NULL };
	struct env env;
	struct err e;
	int fd;

	memset(&env, 0, sizeof(env));
	strcpy(env.id, m->id);
	env.uid = (uid_t)m->uid;
	env.priority = m->prio;
	env.sender = (char *)"sender@example.org";
	env.rcpts = &r;
	env.nrcpt = 1;
	fd = openat(sp->fd[SP_QUEUE], m->id, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(env_save(sp->fd[SP_QUEUE], sp->fd[SP_TMP], &env, &e),
	    RQ_OK);
}

START_TEST(pass_order)
{
	struct spool sp;
	struct idlist l;
	struct err e;
	char got[64] = "", cmd[128];
	size_t i;

	strcpy(dir, "/tmp/check_queue.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(spool_open(&sp, dir, (1u << SP_NSUB) - 1, 1, &e),
	    RQ_OK);
	for (i = 0; i < NMAX && orders[_i].in[i].id != NULL; i++)
		put(&sp, &orders[_i].in[i]);
	ck_assert_int_eq(queue_scan(&sp, SP_QUEUE, &l, &e), RQ_OK);
	ck_assert_int_eq(queue_order(&sp, &l, NULL, &e), RQ_OK);
	for (i = 0; i < l.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i ? " " : "", l.ids[i] + SPOOL_ID_LEN - 2);
	ck_assert_msg(strcmp(got, orders[_i].want) == 0, "%s: got %s, want %s",
	    orders[_i].what, got, orders[_i].want);
	idlist_free(&l);
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static const struct {
	const char *rec;	/* the P record, or "" for none */
	int prio;		/* -2: refused */
} prios[] = {
	{ "", ENV_PRIORITY_NORMAL }, { "P 5\n", 5 }, { "P 1\n", 1 },
	{ "P 4\n", 4 }, { "P high\n", -2 }, { "P low\n", -2 },
	{ "P 0\n", -2 }, { "P 6\n", -2 }, { "P \n", -2 },
};

/* The P record reads back, round-trips, and nothing else is taken. */
START_TEST(priority_record)
{
	char text[512], *out;
	struct env env;
	struct err e;
	size_t len;
	int n;

	n = snprintf(text, sizeof(text), "RELAYQENV1\nI 0000000100000001\n"
	    "A 1\nU 33\nS a@example.org\nO 10 20\nX 0\nN 0\nT 0\n%s"
	    "R P b@example.org\nZ\n", prios[_i].rec);
	if (prios[_i].prio == -2) {
		ck_assert_int_eq(env_parse(&env, text, (size_t)n, &e),
		    RQ_DATAERR);
		return;
	}
	ck_assert_int_eq(env_parse(&env, text, (size_t)n, &e), RQ_OK);
	ck_assert_int_eq(env.priority, prios[_i].prio);
	ck_assert_int_eq(env_format(&env, &out, &len), 0);
	ck_assert_uint_eq(len, (size_t)n);
	ck_assert_int_eq(memcmp(out, text, len), 0);
	free(out);
	env_free(&env);
}
END_TEST

static const struct {
	const char *rec;	/* the value of the O record */
	long long off, len;	/* -1: refused */
} offsets[] = {
	{ "10 20", 10, 20 }, { "0 0", 0, 0 },
	{ "9223372036854775807 1", INT64_MAX, 1 },
	{ "-1 5", -1, -1 }, { "5 -1", -1, -1 }, { "5", -1, -1 },
	{ "a 5", -1, -1 }, { "5 5x", -1, -1 }, { "", -1, -1 },
	{ "99999999999999999999 1", -1, -1 },
};

/* The O record: where the message is in its file, two numbers >= 0. */
START_TEST(offsets_record)
{
	char text[512];
	struct env env;
	struct err e;
	int n;

	n = snprintf(text, sizeof(text), "RELAYQENV1\nI 0000000100000001\n"
	    "A 1\nU 33\nS a@example.org\nO %s\nX 0\nN 0\nT 0\n"
	    "R P b@example.org\nZ\n", offsets[_i].rec);
	if (offsets[_i].off == -1) {
		ck_assert_int_eq(env_parse(&env, text, (size_t)n, &e),
		    RQ_DATAERR);
		return;
	}
	ck_assert_int_eq(env_parse(&env, text, (size_t)n, &e), RQ_OK);
	ck_assert_int_eq((long long)env.msg_off, offsets[_i].off);
	ck_assert_int_eq((long long)env.msg_len, offsets[_i].len);
	env_free(&env);
}
END_TEST

/* A group of n items, each doing what; max items before it is full. */
static const struct {
	const char *what;
	size_t n;
	unsigned flags;
	size_t max;
} groups[] = {
	{ "one envelope (an fsync)", 1, QG_ENV, 8 },
	{ "a few envelopes (an fsync each)", 4, QG_ENV, 8 },
	{ "many envelopes (one syncfs)", 7, QG_ENV, 8 },
	{ "envelopes of picked-up copies", 6, QG_ENV | QG_DROP, 6 },
	{ "removals", 5, QG_REMOVE, 8 },
	{ "a maildrop copy already queued", 2, QG_DROP, 2 },
};

static int
exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Item i of a group: queue/ID locked, maildrop/ID, a staged envelope. */
static void
group_item(const struct spool *sp, size_t i, unsigned flags,
    struct qgroup_item *it)
{
	struct qmsg m = { NULL, 33, 0 };
	struct env_rcpt r = { (char *)"rcpt@example.org", RCPT_PENDING, NULL };
	struct env env;
	struct err e;
	int fd;

	memset(it, 0, sizeof(*it));
	it->fd = it->mfd = it->efd = it->cfd = -1;
	it->what = flags;
	snprintf(it->id, sizeof(it->id), "00000001000000%02X", (unsigned)(i & 0xff));
	strcpy(it->mid, it->id);
	m.id = it->id;
	if (flags & QG_REMOVE)
		put(sp, &m);	/* an entry with its envelope */
	fd = openat(sp->fd[SP_QUEUE], it->id, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	close(fd);
	fd = openat(sp->fd[SP_MAILDROP], it->mid, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(queue_lock(sp, SP_QUEUE, it->id, &it->fd, &e), RQ_OK);
	if (flags & QG_ENV) {
		memset(&env, 0, sizeof(env));
		strcpy(env.id, it->id);
		env.sender = (char *)"sender@example.org";
		env.rcpts = &r;
		env.nrcpt = 1;
		ck_assert_int_eq(env_stage(sp->fd[SP_TMP], &env, &it->efd, &e),
		    RQ_OK);
	}
}

/* What a group holds is invisible (and locked) until its commit. */
START_TEST(group_commit)
{
	struct qgroup_item it;
	struct spool sp;
	struct qgroup g;
	struct err e;
	char cmd[128], env[SPOOL_ID_LEN + 8];
	size_t i, n = groups[_i].n;
	unsigned f = groups[_i].flags;
	int fd;

	strcpy(dir, "/tmp/check_queue.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(spool_open(&sp, dir, (1u << SP_NSUB) - 1, 1, &e),
	    RQ_OK);
	ck_assert_int_eq(qgroup_init(&g, &sp, groups[_i].max), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(qgroup_full(&g), 0);
		group_item(&sp, i, f, &it);
		qgroup_add(&g, &it);
	}
	ck_assert_int_eq(qgroup_full(&g), n == groups[_i].max);
	for (i = 0; i < n; i++) {
		snprintf(env, sizeof(env), "%s.env", g.v[i].id);
		ck_assert_msg(exists(sp.fd[SP_QUEUE], env) == ((f & QG_REMOVE) !=
		    0), "%s: %s before the commit", groups[_i].what, env);
		ck_assert_int_eq(exists(sp.fd[SP_MAILDROP], g.v[i].mid), 1);
		ck_assert_int_eq(queue_lock(&sp, SP_QUEUE, g.v[i].id, &fd, &e),
		    RQ_TEMP);	/* still locked by the group */
	}
	ck_assert_int_eq(qgroup_commit(&g, &e), RQ_OK);
	ck_assert_uint_eq(g.n, 0);
	for (i = 0; i < n; i++) {
		snprintf(env, sizeof(env), "00000001000000%02X.env",
		    (unsigned)(i & 0xff));
		ck_assert_int_eq(exists(sp.fd[SP_QUEUE], env), (f & QG_ENV) != 0);
		env[SPOOL_ID_LEN] = '\0';
		ck_assert_int_eq(exists(sp.fd[SP_QUEUE], env),
		    (f & QG_REMOVE) == 0);
		ck_assert_int_eq(exists(sp.fd[SP_MAILDROP], env),
		    (f & QG_DROP) == 0);
		if ((f & QG_REMOVE) == 0) {
			ck_assert_int_eq(queue_lock(&sp, SP_QUEUE, env, &fd,
			    &e), RQ_OK);	/* the lock went with it */
			close(fd);
		}
	}
	ck_assert_int_eq(qgroup_commit(&g, &e), RQ_OK);	/* empty: nothing */
	qgroup_free(&g);
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/*
 * "ID: removed" is logged by the commit that made the removal durable,
 * never before it, and never when the commit fails (the entry is kept
 * then). The failing commit is a real one: a descriptor to sync that
 * cannot be synced (a pipe: fsync() fails with EINVAL).
 */
static const struct {
	const char *what;
	int fail;
} removals[] = {
	{ "a commit that works: removed, then logged", 0 },
	{ "a commit that fails: kept, and no \"removed\"", 1 },
};

/* The log file's text (at most len - 1 bytes). */
static void
slurp(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(out, 1, len - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

START_TEST(removal_logged_when_durable)
{
	struct qgroup_item it;
	struct spool sp;
	struct qgroup g;
	struct err e;
	char cmd[128], log[128], text[4096], want[64];
	int p[2], fail = removals[_i].fail;

	strcpy(dir, "/tmp/check_queue.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	log_init("check_queue", 0, 0);
	log_runner(log, 0);
	ck_assert_int_eq(spool_open(&sp, dir, (1u << SP_NSUB) - 1, 1, &e),
	    RQ_OK);
	ck_assert_int_eq(qgroup_init(&g, &sp, 8), 0);
	group_item(&sp, 1, QG_REMOVE, &it);
	if (fail) {
		ck_assert_int_eq(pipe(p), 0);
		close(p[1]);
		it.efd = p[0];	/* a "file to sync" that fsync() refuses */
	}
	qgroup_add(&g, &it);
	slurp(log, text, sizeof(text));
	ck_assert_msg(strstr(text, "removed") == NULL, "%s: logged before "
	    "the commit: %s", removals[_i].what, text);
	ck_assert_int_eq(qgroup_commit(&g, &e), fail ? RQ_TEMP : RQ_OK);
	slurp(log, text, sizeof(text));
	snprintf(want, sizeof(want), "%s: removed\n", it.id);
	ck_assert_msg((strstr(text, want) != NULL) == !fail, "%s: %s",
	    removals[_i].what, text);
	ck_assert_int_eq(exists(sp.fd[SP_QUEUE], it.id), fail);
	if (fail)
		ck_assert_msg(strstr(text, "not removed, kept in the queue") !=
		    NULL, "%s: %s", removals[_i].what, text);
	qgroup_free(&g);
	spool_close(&sp);
	log_runner(NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static const struct {
	const char *what;
	size_t max;	/* items per group */
	size_t n;	/* messages */
	unsigned rounds;
} reuses[] = {
	{ "one item per group", 1, 5, 3 },
	{ "a group of 3 over 10 messages", 3, 10, 4 },
	{ "a group bigger than the queue", 16, 6, 3 },
	{ "groups that do not divide the queue", 4, 11, 5 },
};

#define REUSE_MAX	16

/* A file's identity: its inode number and generation (a number reused
 * for a new file gets a new generation); gen 0 where unsupported. */
struct ident {
	ino_t ino;
	unsigned long gen;
};

static struct ident
ident_at(int dfd, const char *name)
{
	struct ident id = { 0, 0 };
	struct stat st;
	int fd, gen = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	id.ino = st.st_ino;
	if (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0)
		id.gen = (unsigned)gen;
	close(fd);
	return id;
}

/* Entries of tmp/ (. and .. not counted), their identities into v. */
static size_t
tmp_entries(const struct spool *sp, struct ident *v, size_t max)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dp;
	int fd = dup(sp->fd[SP_TMP]);

	ck_assert_ptr_nonnull(dp = fdopendir(fd));
	rewinddir(dp);
	while ((d = readdir(dp)) != NULL)
		if (d->d_name[0] != '.') {
			if (n < max)
				v[n] = ident_at(sp->fd[SP_TMP], d->d_name);
			n++;
		}
	closedir(dp);
	return n;
}

static struct ident
env_ident(const struct spool *sp, const char *id)
{
	char name[300];

	ck_assert_int_lt(snprintf(name, sizeof(name), "%s.env", id),
	    (int)sizeof(name));
	return ident_at(sp->fd[SP_QUEUE], name);
}

static int
ident_in(struct ident x, const struct ident *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].ino == x.ino && v[i].gen == x.gen)
			return 1;
	return 0;
}

START_TEST(states_overwrite_replaced)
{
	struct env_rcpt r = { (char *)"rcpt@example.org", RCPT_PENDING, NULL };
	char ids[REUSE_MAX][SPOOL_ID_LEN + 1], cmd[128];
	struct ident before[2 * REUSE_MAX];
	size_t i, n = reuses[_i].n, nb, ntmp;
	struct qgroup_item it;
	struct spool sp;
	struct qgroup g;
	struct env env;
	struct err e;
	unsigned round;

	strcpy(dir, "/tmp/check_queue.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(spool_open(&sp, dir, (1u << SP_NSUB) - 1, 1, &e),
	    RQ_OK);
	for (i = 0; i < n; i++) {
		struct qmsg m = { ids[i], 33, 0 };

		snprintf(ids[i], sizeof(ids[i]), "00000002000000%02X",
		    (unsigned)i);
		put(&sp, &m);
	}
	ck_assert_int_eq(qgroup_init(&g, &sp, reuses[_i].max), 0);
	for (round = 1; round <= reuses[_i].rounds; round++) {
		/* The files there are: envelopes and the slots' spares. */
		nb = tmp_entries(&sp, before, REUSE_MAX);
		for (i = 0; i < n; i++)
			before[nb++] = env_ident(&sp, ids[i]);
		for (i = 0; i < n; i++) {
			if (qgroup_full(&g))
				ck_assert_int_eq(qgroup_commit(&g, &e), RQ_OK);
			memset(&it, 0, sizeof(it));
			it.mfd = it.efd = it.cfd = -1;
			strcpy(it.id, ids[i]);
			ck_assert_int_eq(queue_lock(&sp, SP_QUEUE, it.id,
			    &it.fd, &e), RQ_OK);
			memset(&env, 0, sizeof(env));
			strcpy(env.id, ids[i]);
			env.sender = (char *)"sender@example.org";
			env.rcpts = &r;
			env.nrcpt = 1;
			env.attempts = round;
			/* a longer reason every other round: the file grows
			 * and shrinks */
			env.reason = (char *)(round % 2 ? "refused" :
			    "connect to 127.0.0.1[127.0.0.1]:25: refused");
			ck_assert_int_eq(qgroup_stage(&g, &it, &env, &e),
			    RQ_OK);
			ck_assert_uint_eq(it.what, QG_ENV | QG_SLOT);
			qgroup_add(&g, &it);
		}
		ck_assert_int_eq(qgroup_commit(&g, &e), RQ_OK);
		for (i = 0; i < n; i++) {
			ck_assert_int_eq(env_load(sp.fd[SP_QUEUE], ids[i],
			    &env, &e), RQ_OK);
			ck_assert_msg(env.attempts == round, "%s: round %u: "
			    "%s has attempts %u", reuses[_i].what, round,
			    ids[i], env.attempts);
			env_free(&env);
			/*
			 * From the second round on, every state went into a
			 * file that was there before the round: no inode
			 * freed, none allocated.
			 */
			ck_assert_msg(round == 1 || ident_in(env_ident(&sp,
			    ids[i]), before, nb), "%s: round %u: %s is a new "
			    "file", reuses[_i].what, round, ids[i]);
		}
		ntmp = tmp_entries(&sp, before, 0);
		ck_assert_msg(ntmp == (n < reuses[_i].max ? n :
		    reuses[_i].max), "%s: %zu spares in tmp/",
		    reuses[_i].what, ntmp);
	}
	qgroup_free(&g);
	ck_assert_msg(tmp_entries(&sp, before, 0) == 0,
	    "%s: tmp/ not left empty", reuses[_i].what);
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, pass_order, 0,
	    sizeof(orders) / sizeof(orders[0]));
	tcase_add_loop_test(tc, priority_record, 0,
	    sizeof(prios) / sizeof(prios[0]));
	tcase_add_loop_test(tc, offsets_record, 0,
	    sizeof(offsets) / sizeof(offsets[0]));
	tcase_add_loop_test(tc, group_commit, 0,
	    sizeof(groups) / sizeof(groups[0]));
	tcase_add_loop_test(tc, removal_logged_when_durable, 0,
	    sizeof(removals) / sizeof(removals[0]));
	tcase_add_loop_test(tc, states_overwrite_replaced, 0,
	    sizeof(reuses) / sizeof(reuses[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
