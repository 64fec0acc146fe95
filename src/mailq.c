/*
 * mailq.c - the Postfix-compatible queue listing.
 *
 * Format (Postfix showq): a header line; per message "ID" padded to 10,
 * a status character ('*' being delivered, '!' held, ' ' waiting), the
 * size in 8 columns, the arrival time as asctime's first 20 characters
 * and the sender; then each distinct deferral reason in parentheses,
 * right-aligned to 78 columns, followed by the recipients it applies to,
 * indented by 41 spaces; a blank line between messages. Then sendmail's
 * "\t\tTotal requests: N" and, last, "-- N Kbytes in N Requests.".
 * mailq_print_json() gives the same entries as Postfix's `postqueue -j`.
 * What the administrator must know but no queue entry says (a pickup
 * problem the runner recorded, entries in corrupt/, routes paused for
 * refused credentials: authpause.h) goes to stderr first,
 * where Postfix puts its warnings too: parsers of either listing on
 * stdout never see it.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "authpause.h"
#include "buf.h"
#include "mailq.h"
#include "pickup.h"
#include "queue.h"
#include "spool.h"

#define RCPT_INDENT	"%41s"
#define RCPT_COL	41
/*
 * A message file up to this size is read in one read(2) into the stack
 * (spool_msg_read_buf()); a larger one as the runner reads it.
 */
#define MSG_SMALL	16384

struct listing;
static void list_maildrop(struct listing *, const struct spool *,
    enum spool_sub, const char *);
static void json_maildrop(FILE *, const struct spool *, enum spool_sub,
    const char *);
static void json_queue(FILE *, const struct spool *, enum spool_sub,
    const char *, int);

static int
ull_cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

struct listing {
	FILE *out;
	size_t count;
	unsigned long long bytes;
	time_t when_t;		/* the arrival time in when */
	char when[32];
};

static void
print_title(FILE *out)
{
	fprintf(out, "%-10s %8s %-20s %s\n", "-Queue ID-", "--Size--",
	    "----Arrival Time----", "-Sender/Recipient-------");
}

static void
print_head(struct listing *l, const char *id, char status, off_t size,
    time_t arrival, const char *sender)
{
	struct tm tm;

	if (l->count++ == 0)
		print_title(l->out);
	else
		fputc('\n', l->out);
	/* Messages of one second come together: format each second once. */
	if (l->count == 1 || arrival != l->when_t) {
		l->when_t = arrival;
		if (localtime_r(&arrival, &tm) == NULL ||
		    strftime(l->when, sizeof(l->when), "%a %b %e %H:%M:%S",
		    &tm) == 0)
			strlcpy(l->when, "??", sizeof(l->when));
	}
	fprintf(l->out, "%-10s%c%8lld %-20.20s %s\n", id, status,
	    (long long)size, l->when, *sender ? sender : "MAILER-DAEMON");
	l->bytes += (unsigned long long)size;
}

static void
print_reason(struct listing *l, const char *reason)
{
	int pad = 76 - (int)strlen(reason);

	fprintf(l->out, "%*s(%s)\n", pad > 0 ? pad : 0, "", reason);
}

/*
 * "(route NAME, priority N)" under the sender, each part only when it is
 * not the default: a plain queue lists exactly as Postfix's does.
 */
static void
print_route(struct listing *l, const struct env *env)
{
	int route = env->route != NULL && strcmp(env->route, "default") != 0;
	int prio = env->priority >= 1 && env->priority <= 5 &&
	    env->priority != ENV_PRIORITY_NORMAL;

	if (!route && !prio)
		return;
	fprintf(l->out, "%*s(", RCPT_COL, "");
	if (route)
		fprintf(l->out, "route %s%s", env->route, prio ? ", " : "");
	if (prio)
		fprintf(l->out, "priority %d", env->priority);
	fputs(")\n", l->out);
}

static void
print_env(struct listing *l, const struct env *env, char status)
{
	const char *last = NULL, *why;
	size_t i;

	print_head(l, env->id, status, env->msg_len, env->arrival,
	    env->sender);
	print_route(l, env);
	for (i = 0; i < env->nrcpt; i++) {
		const struct env_rcpt *r = &env->rcpts[i];

		if (r->state != RCPT_PENDING)
			continue;
		why = env->attempts > 0 || env->reason != NULL ? (r->reason ?
		    r->reason : env->reason) : NULL;
		if (why != NULL && (last == NULL || strcmp(why, last) != 0))
			print_reason(l, why);
		last = why;
		fprintf(l->out, RCPT_INDENT "%s\n", "", r->addr);
	}
}

static void
list_queue(struct listing *l, const struct spool *sp, enum spool_sub sub,
    const char *id, int busy)
{
	struct env env;
	char status = ' ';
	enum rq_status st;

	if ((st = env_load(sp->fd[sub], id, &env, NULL)) == RQ_NOINPUT)
		list_maildrop(l, sp, sub, id);	/* being picked up */
	if (st != RQ_OK)
		return;
	if (sub == SP_HOLD)
		status = '!';
	else if (busy)
		status = '*';
	if (queue_pending(&env) > 0)
		print_env(l, &env, status);
	env_free(&env);
}

/*
 * A message known only by its message file: a complete maildrop entry not
 * picked up yet, or a queue entry whose envelope pickup is still writing.
 */
static void
list_maildrop(struct listing *l, const struct spool *sp, enum spool_sub sub,
    const char *id)
{
	char buf[MSG_SMALL];
	struct spool_msg m;
	size_t i;
	int fd;

	fd = openat(sp->fd[sub], id, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return;
	if (spool_msg_read_buf(fd, buf, sizeof(buf), &m, NULL) == RQ_OK) {
		print_head(l, id, ' ', m.msg_len, m.arrival, m.sender);
		for (i = 0; i < m.nrcpt; i++)
			fprintf(l->out, RCPT_INDENT "%s\n", "", m.rcpts[i]);
		spool_msg_free(&m);
	}
	close(fd);
}

/*
 * Open what exists of the spool: a directory never created (nothing was
 * ever queued there) is empty; one we may not read is RQ_NOPERM.
 */
static enum rq_status
open_spool(const struct cfg *c, struct spool *sp, struct err *e)
{
	static const enum spool_sub subs[] = { SP_MAILDROP, SP_QUEUE,
	    SP_HOLD };
	struct spool one;
	size_t i;

	for (i = 0; i < SP_NSUB; i++)
		sp->fd[i] = -1;
	if ((sp->dir = strdup(c->queue_dir)) == NULL)
		return err_sys(e, RQ_TEMP, "strdup");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (spool_open(&one, c->queue_dir, 1u << subs[i], 0, e) ==
		    RQ_OK) {
			sp->fd[subs[i]] = one.fd[subs[i]];
			one.fd[subs[i]] = -1;
			spool_close(&one);
		} else if (errno == EACCES) {
			spool_close(sp);
			return err_set(e, RQ_NOPERM, "cannot read the queue in "
			    "%s: Permission denied (the modes of the spool or "
			    "of the relayq binary are not those of relayq(8): "
			    "make install-root, or reinstalling the package, "
			    "sets them)", c->queue_dir);
		} else if (errno != ENOENT) {
			spool_close(sp);
			return RQ_TEMP;
		}
	}
	return RQ_OK;
}

/* ---- notes for the administrator ------------------------------------- */

void
mailq_notes(FILE *out, size_t ncorrupt, const char *pickup)
{
	if (pickup != NULL && *pickup != '\0')
		fprintf(out, "-- warning: the queue run cannot pick up mail: %s "
		    "(see relayq(8))\n", pickup);
	if (ncorrupt > 0)
		fprintf(out, "-- %zu message%s in corrupt/ (see relayq(8))\n",
		    ncorrupt, ncorrupt == 1 ? "" : "s");
}

/* The line pickup left in PICKUP_WARNING, made printable; or NULL. */
static char *
pickup_warning(const char *dir)
{
	char path[PATH_MAX], buf[1024], *out = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    PICKUP_WARNING) >= sizeof(path) || (fd = open(path, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
	    read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (env_set_reason(&out, buf) == -1)
		return NULL;
	return out;
}

/* Entries in corrupt/ (0 when it cannot be read). */
static size_t
corrupt_count(const struct cfg *c)
{
	struct spool sp;
	struct idlist ids;
	struct err e;
	size_t n = 0;

	if (spool_open(&sp, c->queue_dir, 1u << SP_CORRUPT, 0, &e) != RQ_OK)
		return 0;
	if (queue_scan(&sp, SP_CORRUPT, &ids, &e) == RQ_OK) {
		n = ids.n;
		idlist_free(&ids);
	}
	spool_close(&sp);
	return n;
}

static void
print_notes(const struct cfg *c)
{
	char *w = pickup_warning(c->queue_dir);

	mailq_notes(stderr, corrupt_count(c), w);
	free(w);
	authpause_notes(c, time(NULL), stderr);
}

/* Both listings, one entry at a time. */
struct visit {
	struct listing *text;	/* the Postfix listing, or NULL: JSON */
	FILE *json;
};

static void
visit_entry(const struct visit *v, const struct spool *sp,
    enum spool_sub sub, const char *id, int busy)
{
	if (v->text != NULL && sub == SP_MAILDROP)
		list_maildrop(v->text, sp, sub, id);
	else if (v->text != NULL)
		list_queue(v->text, sp, sub, id, busy);
	else if (sub == SP_MAILDROP)
		json_maildrop(v->json, sp, sub, id);
	else
		json_queue(v->json, sp, sub, id, busy);
}

/*
 * The inodes locked on the queue's file system, from the kernel's lock
 * table: one read of it instead of a lock probe (open, flock, close)
 * per message. Sorted, for bsearch; NULL with n 0 and -1 when the table
 * cannot be read (then each message is probed).
 */
static int
locked_inodes(const struct spool *sp, unsigned long long **out, size_t *n)
{
	unsigned long long ino, *v = NULL, *nv;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f;

	*out = NULL;
	*n = 0;
	if (fstat(sp->fd[SP_QUEUE], &st) == -1 ||
	    (f = fopen(PROC_LOCKS, "re")) == NULL)
		return -1;
	while (getline(&line, &cap, f) != -1)
		if (pickup_lock_ino(line, major(st.st_dev), minor(st.st_dev),
		    &ino) && (nv = array_grow(v, *n, sizeof(*v))) != NULL) {
			v = nv;
			v[(*n)++] = ino;
		}
	free(line);
	fclose(f);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), ull_cmp);
	*out = v;
	return 0;
}

/*
 * A message file of a directory, in 16 bytes: its id as a number (ids are
 * 16 upper-case hex digits, so numeric order is id order) and its inode
 * (for the lock table). The listing is in id order, which is arrival
 * order: this array is the one structure the size of a directory that
 * the walk holds, sorted with qsort (n log n), freed after the directory.
 */
struct dent {
	uint64_t key;
	unsigned long long ino;
};

static int
dent_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct dent *)a)->key;
	uint64_t y = ((const struct dent *)b)->key;

	return (x > y) - (x < y);
}

/* A valid id (spool_id_valid()) as its number, and back. */
static uint64_t
id_key(const char *id)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < SPOOL_ID_LEN; i++)
		k = k << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' :
		    id[i] - 'A' + 10);
	return k;
}

static void
key_id(uint64_t k, char id[SPOOL_ID_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = SPOOL_ID_LEN; i > 0; i--, k >>= 4)
		id[i - 1] = hex[k & 0xf];
	id[SPOOL_ID_LEN] = '\0';
}

struct dents {
	struct dent *v;
	size_t n;
};

static int
dent_add(void *arg, const char *id, unsigned long long ino)
{
	struct dents *d = arg;
	struct dent *nv;

	if ((nv = array_grow(d->v, d->n, sizeof(*nv))) == NULL)
		return -1;
	d->v = nv;
	d->v[d->n].key = id_key(id);
	d->v[d->n++].ino = ino;
	return 0;
}

/* The message files of sub (valid ids only), sorted by id. */
static enum rq_status
scan(const struct spool *sp, enum spool_sub sub, struct dent **out,
    size_t *n, struct err *e)
{
	struct dents d = { NULL, 0 };

	*out = NULL;
	*n = 0;
	if (queue_each(sp, sub, dent_add, &d, e) != RQ_OK) {
		free(d.v);
		return RQ_TEMP;
	}
	if (d.n > 0)
		qsort(d.v, d.n, sizeof(*d.v), dent_cmp);
	*out = d.v;
	*n = d.n;
	return RQ_OK;
}

/*
 * Listing one directory. A message file costs three system calls (open,
 * read, close) whose time is the kernel's, so a long directory is listed
 * in chunks of CHUNK entries by up to MAX_THREADS threads, the caller's
 * among them: each chunk goes into a buffer of its own and the caller
 * writes the finished chunks in order, so the output is the one a single
 * thread gives. At most RING chunks are taken and not yet written: the
 * memory held stays flat whatever the length of the queue.
 */
#define CHUNK		256
#define MAX_THREADS	4
#define RING		(2 * MAX_THREADS)

struct chunk {
	char *text;		/* its listing; NULL: the writer lists it */
	size_t len;
	size_t count;		/* messages in text */
	unsigned long long bytes;
	int done;
};

struct dir_list {
	const struct spool *sp;
	enum spool_sub sub;
	const struct dent *ents;
	size_t n;
	const unsigned long long *locked;	/* see locked_inodes() */
	size_t nlocked;
	int table;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a chunk done, or one written */
	size_t nchunks;
	size_t next;		/* the first chunk nobody took */
	size_t written;		/* chunks written, in order */
	const struct visit *out;	/* the caller's listing */
	struct chunk ring[RING];
};

/* Entries [first, first + n) of d, listed by v. */
static void
list_range(const struct dir_list *d, size_t first, size_t n,
    const struct visit *v)
{
	char id[SPOOL_ID_LEN + 1];
	size_t i;
	int busy;

	for (i = first; i < first + n && i < d->n; i++) {
		key_id(d->ents[i].key, id);
		busy = d->sub != SP_QUEUE ? 0 : !d->table ?
		    queue_is_locked(d->sp, d->sub, id) :
		    d->nlocked > 0 && bsearch(&d->ents[i].ino, d->locked,
		    d->nlocked, sizeof(*d->locked), ull_cmp) != NULL;
		visit_entry(v, d->sp, d->sub, id, busy);
	}
}

/*
 * Chunk c into its buffer. Its entries follow others: each begins with
 * the blank line between messages (the writer drops the first one when
 * they come first of all). Without memory, the writer lists it itself.
 */
static void
run_chunk(struct dir_list *d, size_t c)
{
	struct chunk *k = &d->ring[c % RING];
	struct listing l = { NULL, 1, 0, 0, "" };
	struct visit v = { NULL, NULL };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	k->text = NULL;
	if ((f = open_memstream(&text, &len)) == NULL)
		return;
	l.out = f;
	if (d->out->text != NULL)
		v.text = &l;
	else
		v.json = f;
	list_range(d, c * CHUNK, CHUNK, &v);
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	k->text = text;
	k->len = len;
	k->count = l.count - 1;
	k->bytes = l.bytes;
}

/* Chunk c, done, to the caller's output. */
static void
write_chunk(struct dir_list *d, size_t c)
{
	const struct visit *v = d->out;
	struct chunk *k = &d->ring[c % RING];
	const char *t = k->text;
	size_t len = k->len;

	if (t == NULL) {
		list_range(d, c * CHUNK, CHUNK, v);
		return;
	}
	if (v->text != NULL && k->count > 0) {
		if (v->text->count == 0) {
			print_title(v->text->out);
			t++;		/* the blank line before the first */
			len--;
		}
		v->text->count += k->count;
		v->text->bytes += k->bytes;
	}
	fwrite(t, 1, len, v->text != NULL ? v->text->out : v->json);
	free(k->text);
	k->text = NULL;
}

/* Take the next chunk, when there is one and the ring has room. */
static int
take(struct dir_list *d, size_t *c)
{
	if (d->next >= d->nchunks || d->next >= d->written + RING)
		return 0;
	*c = d->next++;
	return 1;
}

static void *
helper(void *arg)
{
	struct dir_list *d = arg;
	size_t c;

	pthread_mutex_lock(&d->mu);
	while (d->next < d->nchunks) {
		if (!take(d, &c)) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
		run_chunk(d, c);
		pthread_mutex_lock(&d->mu);
		d->ring[c % RING].done = 1;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* The CPUs this process may run on (1 when unknown). */
static size_t
cpus(void)
{
#ifdef CPU_COUNT
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
#endif
	return 1;
}

/* The chunks of d by the caller and its helpers, written in order. */
static void
list_parallel(struct dir_list *d, size_t nthreads)
{
	pthread_t tid[MAX_THREADS - 1];
	struct chunk *k;
	size_t i, started = 0, c;

	d->nchunks = (d->n + CHUNK - 1) / CHUNK;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	for (i = 0; i + 1 < nthreads; i++)
		if (pthread_create(&tid[started], NULL, helper, d) == 0)
			started++;
	pthread_mutex_lock(&d->mu);
	while (d->written < d->nchunks) {
		k = &d->ring[d->written % RING];
		if (k->done) {
			pthread_mutex_unlock(&d->mu);
			write_chunk(d, d->written);
			pthread_mutex_lock(&d->mu);
			k->done = 0;
			d->written++;
			pthread_cond_broadcast(&d->cv);
		} else if (take(d, &c)) {
			pthread_mutex_unlock(&d->mu);
			run_chunk(d, c);
			pthread_mutex_lock(&d->mu);
			d->ring[c % RING].done = 1;
		} else {
			pthread_cond_wait(&d->cv, &d->mu);
		}
	}
	pthread_mutex_unlock(&d->mu);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

/*
 * The one walk over maildrop/, queue/ and hold/ behind both listings:
 * each directory read once (ids and inode numbers), in id order, and the
 * lock table once.
 */
static enum rq_status
walk(const struct spool *sp, const struct visit *v, struct err *e)
{
	static const enum spool_sub subs[] = { SP_MAILDROP, SP_QUEUE,
	    SP_HOLD };
	unsigned long long *locked;
	struct dir_list d;
	struct dent *ents = NULL;
	size_t s, n, nlocked, ncpu = cpus();
	int table;

	table = locked_inodes(sp, &locked, &nlocked) == 0;
	for (s = 0; s < sizeof(subs) / sizeof(subs[0]); s++) {
		if (sp->fd[subs[s]] == -1)
			continue;
		if (scan(sp, subs[s], &ents, &n, e) != RQ_OK) {
			free(locked);
			return RQ_TEMP;
		}
		memset(&d, 0, sizeof(d));
		d.sp = sp;
		d.sub = subs[s];
		d.ents = ents;
		d.n = n;
		d.locked = locked;
		d.nlocked = nlocked;
		d.table = table;
		d.out = v;
		if (ncpu > 1 && n > CHUNK)
			list_parallel(&d, ncpu < MAX_THREADS ? ncpu :
			    MAX_THREADS);
		else
			list_range(&d, 0, n, v);
		free(ents);
		ents = NULL;
	}
	free(locked);
	return RQ_OK;
}

enum rq_status
mailq_print(const struct cfg *c, FILE *out, struct err *e)
{
	struct listing l = { out, 0, 0, 0, "" };
	struct visit v = { &l, NULL };
	struct spool sp;
	enum rq_status st;

	if ((st = open_spool(c, &sp, e)) != RQ_OK)
		return st;
	print_notes(c);
	st = walk(&sp, &v, e);
	spool_close(&sp);
	if (st != RQ_OK)
		return st;
	if (l.count == 0)
		fprintf(out, "Mail queue is empty\n");
	else
		fprintf(out, "\n\t\tTotal requests: %zu\n-- %llu Kbytes in %zu "
		    "Request%s.\n", l.count, l.bytes / 1024, l.count,
		    l.count == 1 ? "" : "s");
	return fflush(out) == 0 ? RQ_OK : err_sys(e, RQ_TEMP, "write");
}

/* ---- JSON (postqueue -j) ------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, beyond Unicode, surrogate */
	return n;
}

void
mailq_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', out);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fputc('\\', out);
			fputc(*p++, out);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p++);
		} else if ((n = utf8_len(p)) == 0) {
			fputs("\\ufffd", out);
			p++;
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
	fputc('"', out);
}

static void
json_head(FILE *out, const char *queue, const char *id, time_t arrival,
    off_t size, const char *sender)
{
	fprintf(out, "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", "
	    "\"arrival_time\": %lld, \"message_size\": %lld, "
	    "\"forced_expire\": false, \"sender\": ", queue, id,
	    (long long)arrival, (long long)size);
	mailq_json_string(out, sender);
	fputs(", ", out);
}

static void
json_rcpt(FILE *out, int first, const char *addr, const char *why)
{
	fputs(first ? "{\"address\": " : ", {\"address\": ", out);
	mailq_json_string(out, addr);
	if (why != NULL) {
		fputs(", \"delay_reason\": ", out);
		mailq_json_string(out, why);
	}
	fputc('}', out);
}

static void
json_queue(FILE *out, const struct spool *sp, enum spool_sub sub,
    const char *id, int busy)
{
	const char *queue, *why;
	struct env env;
	size_t i;
	int first = 1;
	enum rq_status st;

	if ((st = env_load(sp->fd[sub], id, &env, NULL)) == RQ_NOINPUT)
		json_maildrop(out, sp, sub, id);	/* being picked up */
	if (st != RQ_OK)
		return;
	if (queue_pending(&env) == 0) {
		env_free(&env);
		return;
	}
	if (sub == SP_HOLD)
		queue = "hold";
	else if (busy)
		queue = "active";
	else
		queue = env.attempts > 0 ? "deferred" : "incoming";
	json_head(out, queue, env.id, env.arrival, env.msg_len, env.sender);
	if (env.route != NULL) {
		fputs("\"route\": ", out);
		mailq_json_string(out, env.route);
		fputs(", ", out);
	}
	fprintf(out, "\"priority\": %d, ", env.priority >= 1 &&
	    env.priority <= 5 ? env.priority : ENV_PRIORITY_NORMAL);
	fputs("\"recipients\": [", out);
	for (i = 0; i < env.nrcpt; i++) {
		if (env.rcpts[i].state != RCPT_PENDING)
			continue;
		why = env.attempts > 0 || env.reason != NULL ?
		    (env.rcpts[i].reason ? env.rcpts[i].reason : env.reason) :
		    NULL;
		json_rcpt(out, first, env.rcpts[i].addr, why);
		first = 0;
	}
	fputs("]}\n", out);
	env_free(&env);
}

/* As list_maildrop(), for the JSON listing. */
static void
json_maildrop(FILE *out, const struct spool *sp, enum spool_sub sub,
    const char *id)
{
	char buf[MSG_SMALL];
	struct spool_msg m;
	size_t i;
	int fd;

	fd = openat(sp->fd[sub], id, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return;
	if (spool_msg_read_buf(fd, buf, sizeof(buf), &m, NULL) == RQ_OK) {
		json_head(out, sub == SP_MAILDROP ? "maildrop" : "incoming", id,
		    m.arrival, m.msg_len, m.sender);
		fputs("\"recipients\": [", out);
		for (i = 0; i < m.nrcpt; i++)
			json_rcpt(out, i == 0, m.rcpts[i], NULL);
		fputs("]}\n", out);
		spool_msg_free(&m);
	}
	close(fd);
}

enum rq_status
mailq_print_json(const struct cfg *c, FILE *out, struct err *e)
{
	struct visit v = { NULL, out };
	struct spool sp;
	enum rq_status st;

	if ((st = open_spool(c, &sp, e)) != RQ_OK)
		return st;
	print_notes(c);
	st = walk(&sp, &v, e);
	spool_close(&sp);
	if (st != RQ_OK)
		return st;
	return fflush(out) == 0 ? RQ_OK : err_sys(e, RQ_TEMP, "write");
}
