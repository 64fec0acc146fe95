/*
 * spool.h - the spool directories, the message file format and the
 * durable write discipline (the envelope format: env.h).
 *
 * Directory layout under [queue] dir:
 *   maildrop/ID   written by the submitter (mode 0600 while writing,
 *                 0704 when complete), hostile input for the runner
 *   queue/ID      the message file (same format), runner-owned, immutable;
 *                 also the per-message lock (flock)
 *   queue/ID.env  the envelope and delivery state, rewritten atomically
 *   hold/         held messages (both files); corrupt/ bad entries;
 *   tmp/          runner scratch for atomic rewrites
 *   state/        runner memory across passes (alert.h)
 *
 * Envelope records (queue/ID.env): env.h.
 *
 * Message file: "RELAYQ1\n", "A <arrival>\n", "U <uid>\n", "S <sender>\n",
 * "M\n", the message (LF line ends), then the trailer "R <rcpt>\n"...,
 * optional DSN records "D NOTIFY <list>\n", "D RET <FULL|HDRS>\n",
 * "D ENVID <decoded id>\n" (files without them are valid: no request),
 * "X <flags>\n" and the end record "Z <20-digit message length>\n". A file
 * is complete only with its end record and length consistent (and, in the
 * maildrop, mode 0704). Ids are 16 upper-case hex digits, validated before
 * they touch a path.
 */
#ifndef RELAYQ_SPOOL_H
#define RELAYQ_SPOOL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "addr.h"
#include "dsn.h"
#include "err.h"

/*
 * The limits of a message file: one set, for the writer and the reader.
 * spool_writer_commit() refuses (RQ_DATAERR, naming the limit and the
 * value) whatever spool_msg_read() would refuse, so a message that a
 * submission was told is queued can always be read by pickup. The
 * trailer bound follows from the others (checked at compile time in
 * spool.c); the envelope bound leaves room for a last reply per
 * recipient.
 */
#define SPOOL_RCPT_MAX		100000	/* recipients of one message */
#define SPOOL_ADDR_MAX		ADDR_MAX	/* octets of one address */
#define SPOOL_HEAD_MAX		4096	/* version, A, U, S, M records */
#define SPOOL_REASON_MAX	900	/* a stored reply or reason */
/* R records of SPOOL_RCPT_MAX longest addresses, D, X and slack. */
#define SPOOL_TRAILER_MAX	\
	((size_t)SPOOL_RCPT_MAX * (SPOOL_ADDR_MAX + 3) + 4096)
/* Envelope: each recipient with its state and last reply. */
#define SPOOL_ENV_MAX		\
	((size_t)SPOOL_RCPT_MAX * (SPOOL_ADDR_MAX + SPOOL_REASON_MAX + 8) + \
	65536)

/*
 * RQ_OK when rcpts[0..n) fit a message file: at most SPOOL_RCPT_MAX, each
 * a non-empty address of at most SPOOL_ADDR_MAX octets that addr_check()
 * accepts. Else RQ_DATAERR, e.g. "too many recipients: 140000 (limit
 * 100000)".
 */
enum rq_status spool_check_rcpts(const char *const *rcpts, size_t n,
    struct err *e);

#define SPOOL_ID_LEN	16
#define SPOOL_MODE_WRITING	0600
#define SPOOL_MODE_COMPLETE	0704
/*
 * An envelope (ID.env) is readable by the group of its directory: in an
 * installed spool tmp/, queue/, hold/ and corrupt/ are set-group-ID
 * relayq-drop, so the set-group-ID mailq lists the queue for every user
 * while message files (0600) stay the owner's (doc/ARCHITECTURE.md).
 */
#define SPOOL_MODE_ENV		0640

/* Message flags (X record). */
#define MSG_F_8BIT	0x1	/* 8-bit content: BODY=8BITMIME */
#define MSG_F_SMTPUTF8	0x2	/* UTF-8 addresses */
#define MSG_F_BOUNCE	0x4	/* a DSN of ours: never bounce it */

enum spool_sub { SP_MAILDROP, SP_QUEUE, SP_HOLD, SP_CORRUPT, SP_TMP, SP_STATE,
	SP_NSUB };

struct spool {
	char *dir;
	int fd[SP_NSUB];	/* O_DIRECTORY fds, -1 when not opened */
};

int spool_id_valid(const char *s);
void spool_id_new(char out[SPOOL_ID_LEN + 1], time_t now);
const char *spool_sub_name(enum spool_sub s);

/*
 * Open the subdirectories in mask (1 << SP_x). With create, a missing dir
 * (one level) and missing subdirectories are made (mode 0700, maildrop
 * 01770); that works only where the caller may write.
 */
enum rq_status spool_open(struct spool *sp, const char *dir, unsigned mask,
    int create, struct err *e);
void spool_close(struct spool *sp);

/* The writer's buffer (16 KB: the same trade as linereader.h's LR_BUF). */
#define SPOOL_WBUF	16384

struct spool_writer {
	int fd;
	int dirfd;
	char id[SPOOL_ID_LEN + 1];
	off_t msglen;
	off_t max;		/* refuse messages longer than this (0: none) */
	int werrno;		/* first write error */
	struct dsn_req dsn;	/* zeroed by open; set before commit */
	/*
	 * NULL (open/adopt), or how commit makes dirfd/id name this file
	 * (fd) when the writer cannot itself (set-gid, without the group):
	 * links an anonymous entry, or checks the name of a named one.
	 * 1 yes, 0 no with errno (ENOENT: the name is gone).
	 */
	int (*named)(void *arg, const char *id, int fd);
	void *named_arg;
	size_t wlen;
	char wbuf[SPOOL_WBUF];
};

/*
 * Create dirfd/ID (O_EXCL, mode 0600; id NULL: a new one) and write the
 * head. Failure: RQ_TEMP (nothing left behind).
 */
enum rq_status spool_writer_open(struct spool_writer *w, int dirfd,
    const char *id, const char *sender, time_t arrival, uid_t uid,
    off_t max, struct err *e);
/*
 * The same for an entry someone else created (fd open for reading and
 * writing on dirfd/id, mode 0600): sendmail -bs gets it from a set-gid
 * helper. Write errors surface at commit.
 */
void spool_writer_adopt(struct spool_writer *w, int dirfd, int fd,
    const char *id, const char *sender, time_t arrival, uid_t uid,
    off_t max);
/* Append message bytes (buffered). Errors surface at commit. */
void spool_writer_put(struct spool_writer *w, const void *p, size_t n);
/*
 * Check the limits (max and spool_check_rcpts(), before anything else is
 * written), write the trailer, set mode, fsync the file, fsync the
 * directory, and check the file is still linked under its name (or have
 * w->named link it). RQ_OK means the message is on stable storage. On
 * failure the file is removed: RQ_TEMP, or RQ_DATAERR when the message
 * exceeded max or the recipients do not fit the limits above (the error
 * names the limit and the value).
 */
enum rq_status spool_writer_commit(struct spool_writer *w,
    const char *const *rcpts, size_t nrcpt, unsigned flags, mode_t mode,
    struct err *e);
/*
 * Write out the buffer (the file offset is then the end of what was put;
 * the descriptor is open for reading too). -1 with errno on failure.
 */
int spool_writer_flush(struct spool_writer *w);
/* Remove what was written (errno is kept, for the caller's message). */
void spool_writer_abort(struct spool_writer *w);

/* A parsed message file. */
struct spool_msg {
	time_t arrival;
	uid_t uid;
	char *sender;
	char **rcpts;
	size_t nrcpt;
	unsigned flags;
	struct dsn_req dsn;	/* -N, -R, -V (D records) */
	off_t msg_off;
	off_t msg_len;
};

/* Parse and validate fd (any offset). Malformed: RQ_DATAERR with why.
 * On any failure m holds nothing to free. */
enum rq_status spool_msg_read(int fd, struct spool_msg *m, struct err *e);
/*
 * The same in one read(2) of fd (at its offset, 0 when just opened) into
 * buf, the caller's (a stack buffer: no allocation for the file): a file
 * that fills buf is read by spool_msg_read() instead. For the listing,
 * which reads every entry: there is no fstat(2), so a non-regular file
 * is refused only as read(2) does (a directory fails; a FIFO opened
 * O_NONBLOCK reads as empty: malformed). buf is overwritten.
 */
enum rq_status spool_msg_read_buf(int fd, char *buf, size_t cap,
    struct spool_msg *m, struct err *e);
void spool_msg_free(struct spool_msg *m);

/*
 * Make everything written to the file system of fd durable (syncfs(2):
 * data and metadata of every file, one journal commit); -1 with errno
 * (since Linux 5.8 also a write-back error of any file there). Cheaper
 * than an fsync per file when a group of files was written.
 */
int spool_sync(int fd);
/* fsync a directory fd; -1 with errno. */
int spool_fsync_dir(int dirfd);
/*
 * The lock of tmp/ (flock on its directory), which serializes the
 * runner-side writers that replace files through it; waits for it. -1
 * (logged, naming the spool) when it cannot be taken.
 */
int spool_tmp_lock(const struct spool *sp);
void spool_tmp_unlock(const struct spool *sp);

#endif
