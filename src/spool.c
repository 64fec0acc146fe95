/*
 * spool.c - the spool directories and the message file format, written
 * durably (the envelope: env.c).
 *
 * Commit discipline ("an accepted message is never lost":
 * doc/ARCHITECTURE.md, "The promises and the tests that prove them"):
 * data, trailer and end record are written, the mode is set, the file is
 * fsync()ed, then its directory; only then is RQ_OK returned. Any failure
 * removes what was written. Readers treat every file as hostile: bounded
 * sizes, strict records, the end record and length must agree, addresses
 * are checked as on submission.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "buf.h"
#include "log.h"
#include "pattern.h"
#include "spool.h"
#include "spoolrec.h"

#define HEAD_MAX	SPOOL_HEAD_MAX
#define TRAILER_MAX	SPOOL_TRAILER_MAX
#define END_LEN		23		/* "Z " 20 digits "\n" */

/* What the writer may write, the reader reads (see spool.h). */
_Static_assert(3 * (DSN_REC_MAX + 3) + 2 * 32 <= 4096,
    "D and X records fit the slack of SPOOL_TRAILER_MAX");
_Static_assert(HEAD_MAX >= 8 + 2 * 32 + SPOOL_ADDR_MAX + 8,
    "the longest head fits SPOOL_HEAD_MAX");
_Static_assert(SPOOL_TRAILER_MAX < (64u << 20),
    "a trailer is read into memory at once");

static const char *const sub_names[SP_NSUB] = {
	"maildrop", "queue", "hold", "corrupt", "tmp", "state",
};

const char *
spool_sub_name(enum spool_sub s)
{
	return sub_names[s];
}

int
spool_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < SPOOL_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[SPOOL_ID_LEN] == '\0';
}

void
spool_id_new(char out[SPOOL_ID_LEN + 1], time_t now)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u ^ (uint32_t)clock();
	snprintf(out, SPOOL_ID_LEN + 1, "%08" PRIX32 "%08" PRIX32,
	    (uint32_t)now, r);
}

int
spool_fsync_dir(int dirfd)
{
	if (fsync(dirfd) == -1 && errno != EINVAL && errno != EROFS)
		return -1;
	return 0;
}

int
spool_tmp_lock(const struct spool *sp)
{
	while (flock(sp->fd[SP_TMP], LOCK_EX) == -1)
		if (errno != EINTR) {
			log_warn("%s/tmp: lock", sp->dir);
			return -1;
		}
	return 0;
}

void
spool_tmp_unlock(const struct spool *sp)
{
	(void)flock(sp->fd[SP_TMP], LOCK_UN);
}

/*
 * at/name opened as a directory (flags added); when it does not exist
 * and create, made first with mode (*made set). Opening comes first:
 * the spool nearly always exists, and a submission saves the mkdir
 * calls. -1 with errno.
 */
static int
dir_open(int at, const char *name, int flags, int create, mode_t mode,
    int *made)
{
	int fd;

	*made = 0;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	if (fd != -1 || errno != ENOENT || !create)
		return fd;
	if (mkdirat(at, name, mode) == 0)
		*made = 1;
	else if (errno != EEXIST)
		return -1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
}

enum rq_status
spool_open(struct spool *sp, const char *dir, unsigned mask, int create,
    struct err *e)
{
	int i, root, saved, made;
	mode_t mode;

	for (i = 0; i < SP_NSUB; i++)
		sp->fd[i] = -1;
	if ((sp->dir = strdup(dir)) == NULL)
		return err_sys(e, RQ_INTERNAL, "strdup");
	/* A private spool (-C) may be new: make its top directory too. */
	if ((root = dir_open(AT_FDCWD, dir, 0, create, 0700, &made)) == -1) {
		saved = errno;
		err_sys(e, RQ_TEMP, "queue directory %s", dir);
		spool_close(sp);
		errno = saved;
		return RQ_TEMP;
	}
	if (made)
		log_info("created queue directory %s", dir);
	for (i = 0; i < SP_NSUB; i++) {
		if (!(mask & (1u << i)))
			continue;
		mode = i == SP_MAILDROP ? 01770 : 0700;
		sp->fd[i] = dir_open(root, sub_names[i], O_NOFOLLOW, create,
		    mode, &made);
		if (sp->fd[i] == -1) {
			saved = errno;
			err_sys(e, RQ_TEMP, "queue directory %s/%s", dir,
			    sub_names[i]);
			close(root);
			spool_close(sp);
			errno = saved;	/* callers look at ENOENT, EACCES */
			return RQ_TEMP;
		}
		/* mkdirat honours the umask: set the mode explicitly. */
		if (made && fchmodat(root, sub_names[i], mode, 0) == -1) {
			err_sys(e, RQ_TEMP, "chmod %s/%s", dir, sub_names[i]);
			close(root);
			spool_close(sp);
			return RQ_TEMP;
		}
	}
	close(root);
	return RQ_OK;
}

void
spool_close(struct spool *sp)
{
	int i;

	for (i = 0; i < SP_NSUB; i++) {
		if (sp->fd[i] != -1)
			close(sp->fd[i]);
		sp->fd[i] = -1;
	}
	free(sp->dir);
	sp->dir = NULL;
}

/* ---- limits ------------------------------------------------------------ */

enum rq_status
spool_check_rcpts(const char *const *rcpts, size_t n, struct err *e)
{
	size_t i;

	if (n > SPOOL_RCPT_MAX)
		return err_set(e, RQ_DATAERR, "too many recipients: %zu "
		    "(limit %d)", n, SPOOL_RCPT_MAX);
	for (i = 0; i < n; i++) {
		if (strlen(rcpts[i]) > SPOOL_ADDR_MAX)
			return err_set(e, RQ_DATAERR, "recipient address too "
			    "long: %zu octets (limit %d)", strlen(rcpts[i]),
			    SPOOL_ADDR_MAX);
		if (rcpts[i][0] == '\0' ||
		    addr_check(rcpts[i], "recipient", NULL) != RQ_OK)
			return err_set(e, RQ_DATAERR, "invalid recipient "
			    "address (malformed)");
	}
	return RQ_OK;
}

/* ---- DSN records ("D KEY value", both formats) -------------------------- */

size_t
dsn_values(const struct dsn_req *d, char v[3][DSN_REC_MAX])
{
	char list[64];
	size_t n = 0;

	if (d->notify != 0) {
		dsn_notify_str(d->notify, list, sizeof(list));
		snprintf(v[n++], DSN_REC_MAX, "NOTIFY %s", list);
	}
	if (d->ret != DSN_RET_UNSET)
		snprintf(v[n++], DSN_REC_MAX, "RET %s", dsn_ret_name(d->ret));
	if (d->envid[0] != '\0')
		snprintf(v[n++], DSN_REC_MAX, "ENVID %s", d->envid);
	return n;
}

int
dsn_value(struct dsn_req *d, const char *v)
{
	if (strncmp(v, "NOTIFY ", 7) == 0 && d->notify == 0)
		return dsn_notify_parse(v + 7, &d->notify);
	if (strncmp(v, "RET ", 4) == 0 && d->ret == DSN_RET_UNSET)
		return dsn_ret_parse(v + 4, &d->ret);
	if (strncmp(v, "ENVID ", 6) == 0 && d->envid[0] == '\0' &&
	    dsn_envid_valid(v + 6))
		return strlcpy(d->envid, v + 6, sizeof(d->envid)) <
		    sizeof(d->envid) ? 0 : -1;
	return -1;
}

/* ---- writer ------------------------------------------------------------ */

int
write_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
writer_flush(struct spool_writer *w)
{
	if (w->wlen > 0 && w->werrno == 0 &&
	    write_all(w->fd, w->wbuf, w->wlen) == -1)
		w->werrno = errno ? errno : EIO;
	w->wlen = 0;
}

static void
writer_raw(struct spool_writer *w, const void *p, size_t n)
{
	const char *s = p;
	size_t room;

	while (n > 0 && w->werrno == 0) {
		room = sizeof(w->wbuf) - w->wlen;
		if (room > n)
			room = n;
		memcpy(w->wbuf + w->wlen, s, room);
		w->wlen += room;
		s += room;
		n -= room;
		if (w->wlen == sizeof(w->wbuf))
			writer_flush(w);
	}
}

static void
writer_rec(struct spool_writer *w, char type, const char *value)
{
	char t[2] = { type, ' ' };

	writer_raw(w, t, value != NULL ? 2 : 1);
	if (value != NULL)
		writer_raw(w, value, strlen(value));
	writer_raw(w, "\n", 1);
}

static void
writer_head(struct spool_writer *w, const char *sender, time_t arrival,
    uid_t uid)
{
	char num[32];

	writer_raw(w, "RELAYQ1\n", 8);
	snprintf(num, sizeof(num), "%lld", (long long)arrival);
	writer_rec(w, 'A', num);
	snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
	writer_rec(w, 'U', num);
	writer_rec(w, 'S', sender);
	writer_rec(w, 'M', NULL);
}

enum rq_status
spool_writer_open(struct spool_writer *w, int dirfd, const char *id,
    const char *sender, time_t arrival, uid_t uid, off_t max, struct err *e)
{
	int tries;

	if (*sender != '\0' && addr_check(sender, "sender", NULL) != RQ_OK)
		return err_set(e, RQ_DATAERR, "invalid sender address (too "
		    "long or malformed)");
	w->dirfd = dirfd;
	w->msglen = 0;
	w->max = max;
	w->werrno = 0;
	w->wlen = 0;
	memset(&w->dsn, 0, sizeof(w->dsn));
	w->named = NULL;
	w->named_arg = NULL;
	for (tries = 0; tries < 64; tries++) {
		if (id != NULL)
			strlcpy(w->id, id, sizeof(w->id));
		else
			spool_id_new(w->id, arrival);
		w->fd = openat(dirfd, w->id, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, SPOOL_MODE_WRITING);
		if (w->fd != -1 || errno != EEXIST || id != NULL)
			break;
	}
	if (w->fd == -1)
		return err_sys(e, RQ_TEMP, "cannot create queue file");
	/* Held until the entry is committed and closed: pickup skips a
	 * locked entry, so it never takes one whose writer has not yet
	 * checked that its name is still there (spool_writer_commit). */
	if (flock(w->fd, LOCK_EX | LOCK_NB) == -1) {
		int saved = errno;

		spool_writer_abort(w);
		errno = saved;
		return err_sys(e, RQ_TEMP, "cannot lock queue file");
	}
	writer_head(w, sender, arrival, uid);
	return RQ_OK;
}

void
spool_writer_adopt(struct spool_writer *w, int dirfd, int fd, const char *id,
    const char *sender, time_t arrival, uid_t uid, off_t max)
{
	w->dirfd = dirfd;
	w->fd = fd;
	/* As in spool_writer_open(); the entry is fresh and still 0600, so
	 * without the lock only that pickup check is lost. */
	(void)flock(fd, LOCK_EX | LOCK_NB);
	strlcpy(w->id, id, sizeof(w->id));
	w->msglen = 0;
	w->max = max;
	w->werrno = 0;
	w->wlen = 0;
	memset(&w->dsn, 0, sizeof(w->dsn));
	w->named = NULL;
	w->named_arg = NULL;
	writer_head(w, sender, arrival, uid);
}

void
spool_writer_put(struct spool_writer *w, const void *p, size_t n)
{
	w->msglen += (off_t)n;
	if (w->max > 0 && w->msglen > w->max)
		return;		/* reported at commit */
	writer_raw(w, p, n);
}

int
spool_writer_flush(struct spool_writer *w)
{
	writer_flush(w);
	if (w->werrno != 0) {
		errno = w->werrno;
		return -1;
	}
	return 0;
}

void
spool_writer_abort(struct spool_writer *w)
{
	int saved = errno;

	if (w->fd == -1)
		return;
	/* Without the set-id group this unlink fails (EACCES): it must not
	 * turn a full disk into "Permission denied" for the caller. */
	(void)unlinkat(w->dirfd, w->id, 0);
	close(w->fd);
	w->fd = -1;
	errno = saved;
}

static enum rq_status
writer_fail(struct spool_writer *w, struct err *e, enum rq_status st,
    const char *what, int errnum)
{
	spool_writer_abort(w);
	if (errnum != 0) {
		errno = errnum;
		return err_sys(e, st, "queue file %s: %s", w->id, what);
	}
	return err_set(e, st, "queue file %s: %s", w->id, what);
}

/* The trailer (R, D, X records) and the end record, flushed; errors are
 * left in w->werrno. */
static void
writer_trailer(struct spool_writer *w, const char *const *rcpts,
    size_t nrcpt, unsigned flags)
{
	char num[32], dv[3][DSN_REC_MAX];
	size_t i, ndv;

	for (i = 0; i < nrcpt; i++)
		writer_rec(w, 'R', rcpts[i]);
	ndv = dsn_values(&w->dsn, dv);
	for (i = 0; i < ndv; i++)
		writer_rec(w, 'D', dv[i]);
	snprintf(num, sizeof(num), "%u", flags);
	writer_rec(w, 'X', num);
	snprintf(num, sizeof(num), "%020lld", (long long)w->msglen);
	writer_rec(w, 'Z', num);
	writer_flush(w);
}

enum rq_status
spool_writer_commit(struct spool_writer *w, const char *const *rcpts,
    size_t nrcpt, unsigned flags, mode_t mode, struct err *e)
{
	struct stat st, named;
	struct err le;

	if (w->max > 0 && w->msglen > w->max)
		return writer_fail(w, e, RQ_DATAERR, "message larger than "
		    "the maximum size ([queue] max_size)", 0);
	/* Never commit what spool_msg_read() refuses (it would be moved
	 * to corrupt/ after the caller was told the mail is queued). */
	if (spool_check_rcpts(rcpts, nrcpt, &le) != RQ_OK)
		return writer_fail(w, e, RQ_DATAERR, le.msg, 0);
	writer_trailer(w, rcpts, nrcpt, flags);
	if (w->werrno != 0)
		return writer_fail(w, e, RQ_TEMP, "write", w->werrno);
	if (fchmod(w->fd, mode) == -1)
		return writer_fail(w, e, RQ_TEMP, "fchmod", errno);
	if (fsync(w->fd) == -1)
		return writer_fail(w, e, RQ_TEMP, "fsync", errno);
	if (spool_fsync_dir(w->dirfd) == -1)
		return writer_fail(w, e, RQ_TEMP, "fsync directory", errno);
	/* Reaped while we were stopped? Then nothing was committed. The
	 * runner's reaper first renames an entry away, then looks at its
	 * mode (pickup.c): our name is checked after the mode was set, so
	 * either this check fails or the reaper sees 0704 and puts the
	 * entry back. (nlink alone would miss the rename.) On failure the
	 * mode goes back to 0600 before the lock is released: an entry the
	 * reaper put back is then never picked up (we exit non-zero). */
	errno = ENOENT;
	if (w->named != NULL ? w->named(w->named_arg, w->id, w->fd) != 1 :
	    (fstat(w->fd, &st) == -1 || st.st_nlink == 0 ||
	    fstatat(w->dirfd, w->id, &named, AT_SYMLINK_NOFOLLOW) == -1 ||
	    named.st_dev != st.st_dev || named.st_ino != st.st_ino)) {
		int saved = errno;

		(void)fchmod(w->fd, SPOOL_MODE_WRITING);
		close(w->fd);	/* not ours to unlink any more */
		w->fd = -1;
		if (saved != ENOENT) {
			errno = saved;
			return err_sys(e, RQ_TEMP, "queue file %s: commit",
			    w->id);
		}
		return err_set(e, RQ_TEMP, "queue file %s: removed before "
		    "commit", w->id);
	}
	if (close(w->fd) == -1) {
		w->fd = -1;
		(void)unlinkat(w->dirfd, w->id, 0);
		return err_sys(e, RQ_TEMP, "queue file %s: close", w->id);
	}
	w->fd = -1;
	return RQ_OK;
}

/* ---- reader ------------------------------------------------------------ */

static enum rq_status
bad_file(struct err *e, const char *why)
{
	return err_set(e, RQ_DATAERR, "malformed queue file: %s", why);
}

int
pread_all(int fd, char *p, size_t n, off_t off)
{
	ssize_t r;

	while (n > 0) {
		if ((r = pread(fd, p, n, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;	/* shorter than fstat said */
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int
next_rec(char **p, char *end, char *type, char **value)
{
	char *nl;

	if (*p >= end || (nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return -1;
	if (nl == *p)
		return -1;	/* empty line: (*p)[1] would be past it */
	*nl = '\0';
	*type = **p;
	if (nl - *p == 1)
		*value = nl;
	else if ((*p)[1] == ' ')
		*value = *p + 2;
	else
		return -1;
	if (memchr(*p, '\0', (size_t)(nl - *p)) != NULL)
		return -1;	/* embedded NUL */
	*p = nl + 1;
	return 0;
}

int
parse_ll(const char *s, long long max, long long *out)
{
	const char *errstr;

	*out = strtonum(s, 0, max, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* The head records of head[0..n) (parsed in place); sets msg_off. */
static enum rq_status
parse_head(char *head, size_t n, struct spool_msg *m, struct err *e)
{
	char *p, *end, type, *v;
	long long ll;
	static const char order[] = "AUSM";
	int i;

	if (n > HEAD_MAX)
		n = HEAD_MAX;
	if (n < 8 || memcmp(head, "RELAYQ1\n", 8) != 0)
		return bad_file(e, "bad magic");
	p = head + 8;
	end = head + n;
	for (i = 0; order[i] != '\0'; i++) {
		if (next_rec(&p, end, &type, &v) == -1 || type != order[i])
			return bad_file(e, "bad head record");
		if (type == 'A' && parse_ll(v, INT64_MAX, &ll) == 0)
			m->arrival = (time_t)ll;
		else if (type == 'U' && parse_ll(v, UINT32_MAX, &ll) == 0)
			m->uid = (uid_t)ll;
		else if (type == 'S') {
			if (*v != '\0' && addr_check(v, "sender", e) != RQ_OK)
				return bad_file(e, "bad sender");
			if ((m->sender = strdup(v)) == NULL)
				return err_sys(e, RQ_INTERNAL, "strdup");
		} else if (type != 'M' || *v != '\0')
			return bad_file(e, "bad head value");
	}
	m->msg_off = p - head;
	return RQ_OK;
}

static enum rq_status
add_rcpt(struct spool_msg *m, const char *v, struct err *e)
{
	char **r;

	if (addr_check(v, "recipient", e) != RQ_OK || *v == '\0')
		return bad_file(e, "bad recipient");
	if (m->nrcpt == SPOOL_RCPT_MAX)
		return bad_file(e, "too many recipients");
	if ((r = array_grow(m->rcpts, m->nrcpt, sizeof(*r))) == NULL)
		return err_sys(e, RQ_INTERNAL, "reallocarray");
	m->rcpts = r;
	if ((r[m->nrcpt] = strdup(v)) == NULL)
		return err_sys(e, RQ_INTERNAL, "strdup");
	m->nrcpt++;
	return RQ_OK;
}

/* The trailer records of t[0..len) (parsed in place). */
static enum rq_status
parse_trailer(char *t, size_t len, struct spool_msg *m, struct err *e)
{
	char *p, type, *v;
	long long ll;
	int have_x = 0;
	enum rq_status st = RQ_OK;

	for (p = t; p < t + len && st == RQ_OK;) {
		if (next_rec(&p, t + len, &type, &v) == -1 || have_x)
			st = bad_file(e, "bad trailer record");
		else if (type == 'R' && m->dsn.notify == 0 &&
		    m->dsn.ret == DSN_RET_UNSET && m->dsn.envid[0] == '\0')
			st = add_rcpt(m, v, e);
		else if (type == 'D' && m->nrcpt > 0) {
			if (dsn_value(&m->dsn, v) == -1)
				st = bad_file(e, "bad DSN record");
		} else if (type == 'X' && parse_ll(v, UINT32_MAX, &ll) == 0) {
			m->flags = (unsigned)ll;
			have_x = 1;
		} else
			st = bad_file(e, "bad trailer record");
	}
	if (st == RQ_OK && (!have_x || m->nrcpt == 0))
		st = bad_file(e, "no recipients or flags");
	return st;
}

/*
 * The end record, the last END_LEN bytes of a file of size bytes (copied:
 * the record is parsed in a buffer of our own); sets msg_len. The length
 * of the trailer that lies between message and end record in *tlen.
 */
static enum rq_status
parse_end(const char *last, off_t size, struct spool_msg *m, off_t *tlen,
    struct err *e)
{
	char end[END_LEN + 1], *p, type, *v;
	long long len;

	if (size < m->msg_off + END_LEN)
		return bad_file(e, "truncated (no end record)");
	memcpy(end, last, END_LEN);
	end[END_LEN] = '\0';
	p = end;
	if (next_rec(&p, end + END_LEN, &type, &v) == -1 || type != 'Z' ||
	    strlen(v) != 20 || parse_ll(v, INT64_MAX, &len) == -1)
		return bad_file(e, "no end record");
	if (len > size - m->msg_off - END_LEN)
		return bad_file(e, "message length beyond end of file");
	m->msg_len = (off_t)len;
	*tlen = size - END_LEN - m->msg_off - m->msg_len;
	if (*tlen > (off_t)TRAILER_MAX)
		return bad_file(e, "trailer too large");
	return RQ_OK;
}

static enum rq_status
msg_read(int fd, struct spool_msg *m, struct err *e)
{
	char head[HEAD_MAX], end[END_LEN], *t;
	size_t n;
	struct stat st;
	off_t tlen;
	enum rq_status rs;

	memset(m, 0, sizeof(*m));
	if (fstat(fd, &st) == -1)
		return err_sys(e, RQ_TEMP, "fstat queue file");
	if (!S_ISREG(st.st_mode))
		return bad_file(e, "not a regular file");
	n = st.st_size < HEAD_MAX ? (size_t)st.st_size : HEAD_MAX;
	if (pread_all(fd, head, n, 0) == -1)
		return err_sys(e, RQ_TEMP, "read queue file");
	if ((rs = parse_head(head, n, m, e)) != RQ_OK)
		return rs;
	if (st.st_size >= m->msg_off + END_LEN && pread_all(fd, end, END_LEN,
	    st.st_size - END_LEN) == -1)
		return err_sys(e, RQ_TEMP, "read queue file");
	if ((rs = parse_end(end, st.st_size, m, &tlen, e)) != RQ_OK)
		return rs;
	if ((t = malloc((size_t)tlen + 1)) == NULL)
		return err_sys(e, RQ_INTERNAL, "malloc");
	if (pread_all(fd, t, (size_t)tlen, m->msg_off + m->msg_len) == -1) {
		free(t);
		return err_sys(e, RQ_TEMP, "read queue file");
	}
	rs = parse_trailer(t, (size_t)tlen, m, e);
	free(t);
	return rs;
}

/* A whole message file in buf[0..n), parsed in place. */
static enum rq_status
msg_parse(char *buf, size_t n, struct spool_msg *m, struct err *e)
{
	off_t tlen;
	enum rq_status rs;

	memset(m, 0, sizeof(*m));
	if ((rs = parse_head(buf, n, m, e)) != RQ_OK)
		return rs;
	if ((rs = parse_end(buf + n - (n >= END_LEN ? END_LEN : n), (off_t)n,
	    m, &tlen, e)) != RQ_OK)
		return rs;
	return parse_trailer(buf + m->msg_off + m->msg_len, (size_t)tlen, m,
	    e);
}

enum rq_status
spool_msg_read(int fd, struct spool_msg *m, struct err *e)
{
	enum rq_status rs;

	/* Callers free only what read: a failure keeps nothing (fuzz_spool
	 * found the sender and recipients leaked on a bad end record). */
	if ((rs = msg_read(fd, m, e)) != RQ_OK)
		spool_msg_free(m);
	return rs;
}

enum rq_status
spool_msg_read_buf(int fd, char *buf, size_t cap, struct spool_msg *m,
    struct err *e)
{
	ssize_t n;
	enum rq_status rs;

	while ((n = read(fd, buf, cap)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return err_sys(e, RQ_TEMP, "read queue file");
	if ((size_t)n == cap) {
		/* Larger than buf: the reads of spool_msg_read(). */
		return spool_msg_read(fd, m, e);
	}
	if ((rs = msg_parse(buf, (size_t)n, m, e)) != RQ_OK)
		spool_msg_free(m);
	return rs;
}

void
spool_msg_free(struct spool_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->sender);
	memset(m, 0, sizeof(*m));
}

int
spool_sync(int fd)
{
	return syncfs(fd);
}
