/*
 * authpause.c - pausing a route whose credentials are refused (see
 * authpause.h). The state file is small text, replaced atomically
 * (write a temporary file, rename); parallel runners may lose one
 * count to each other, which only delays a pause by one refusal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "authpause.h"
#include "buf.h"
#include "log.h"
#include "route.h"
#include "spool.h"

#define AUTHPAUSE_STATE_MAX	4096

time_t
authpause_interval(unsigned fails)
{
	time_t t = AUTHPAUSE_FIRST;
	unsigned i;

	if (fails < AUTHPAUSE_AFTER)
		return 0;
	for (i = AUTHPAUSE_AFTER; i < fails && t < AUTHPAUSE_MAX; i++)
		t *= 2;
	return t < AUTHPAUSE_MAX ? t : AUTHPAUSE_MAX;
}

void
authpause_refused(struct authpause *p, time_t now, const char *user,
    const char *reply)
{
	time_t pause;

	if (p->fails < 1000)
		p->fails++;
	pause = authpause_interval(p->fails);
	p->until = pause > 0 ? now + pause : 0;
	strlcpy(p->user, user != NULL ? user : "", sizeof(p->user));
	strlcpy(p->reply, reply != NULL ? reply : "", sizeof(p->reply));
}

void
authpause_stamp(const struct cfg *c, const struct cfg_smarthost *sh,
    char *out, size_t len)
{
	const char *file = sh->password_file != NULL ? sh->password_file :
	    sh->password != NULL ? c->path : NULL;
	struct stat st;

	if (file == NULL || stat(file, &st) == -1)
		memset(&st, 0, sizeof(st));
	snprintf(out, len, "%s:%lld.%09ld", sh->user != NULL ? sh->user : "",
	    (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

static void
state_name(const struct cfg_smarthost *sh, char *out, size_t len)
{
	snprintf(out, len, "authpause.%s", sh->name);
}

/* "key value" lines into p; 0, or -1 when absent or unreadable. */
static int
state_read(int statefd, const char *name, struct authpause *p)
{
	char text[AUTHPAUSE_STATE_MAX], *line, *save = NULL, *v;
	ssize_t n;
	int fd;

	memset(p, 0, sizeof(*p));
	if ((fd = openat(statefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "fails") == 0)
			p->fails = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(line, "until") == 0)
			p->until = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(line, "stamp") == 0)
			strlcpy(p->stamp, v, sizeof(p->stamp));
		else if (strcmp(line, "user") == 0)
			strlcpy(p->user, v, sizeof(p->user));
		else if (strcmp(line, "reply") == 0)
			strlcpy(p->reply, v, sizeof(p->reply));
	}
	return 0;
}

/* Newlines would split a value: the reply is flattened first. */
static int
state_write(int statefd, const char *name, const struct authpause *p)
{
	char tmp[200], reply[sizeof(p->reply)], *q;
	struct buf b;
	int fd, r;

	strlcpy(reply, p->reply, sizeof(reply));
	for (q = reply; *q != '\0'; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	buf_init(&b, AUTHPAUSE_STATE_MAX);
	r = buf_printf(&b, "fails %u\nuntil %lld\nstamp %s\nuser %s\n"
	    "reply %s\n", p->fails, (long long)p->until, p->stamp, p->user,
	    reply);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (r == 0 && ((fd = openat(statefd, tmp, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1))
		r = -1;
	if (r == 0) {
		if (write(fd, buf_cstr(&b), b.len) != (ssize_t)b.len ||
		    fsync(fd) == -1)
			r = -1;
		if (close(fd) == -1)
			r = -1;
		if (r == 0 && renameat(statefd, tmp, statefd, name) == -1)
			r = -1;
		if (r == -1)
			(void)unlinkat(statefd, tmp, 0);
	}
	buf_free(&b);
	return r;
}

/* 1: p is route sh's state, for its current credentials; 0: none; -1:
 * state kept for other credentials. */
static int
state_load(int statefd, const struct cfg *c, const struct cfg_smarthost *sh,
    struct authpause *p)
{
	char name[160], stamp[sizeof(p->stamp)];

	state_name(sh, name, sizeof(name));
	if (state_read(statefd, name, p) == -1)
		return 0;
	authpause_stamp(c, sh, stamp, sizeof(stamp));
	return strcmp(stamp, p->stamp) == 0 ? 1 : -1;
}

int
authpause_paused(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, struct authpause *p)
{
	int st = state_load(statefd, c, sh, p);

	if (st == 0)
		return 0;
	if (st == -1) {
		/* Other credentials now: they deserve their own tries. */
		log_info("route %s: credentials changed, authentication "
		    "failures forgotten", sh->name);
		authpause_clear(statefd, sh);
		memset(p, 0, sizeof(*p));
		return 0;
	}
	return p->until > now;
}

void
authpause_fail(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, const char *reply,
    struct authpause *p)
{
	char name[160];

	state_name(sh, name, sizeof(name));
	(void)authpause_paused(statefd, c, sh, now, p);
	authpause_refused(p, now, sh->user, reply);
	authpause_stamp(c, sh, p->stamp, sizeof(p->stamp));
	if (state_write(statefd, name, p) == -1)
		log_warn("state/%s: cannot record the authentication failure",
		    name);
}

void
authpause_clear(int statefd, const struct cfg_smarthost *sh)
{
	char name[160];

	state_name(sh, name, sizeof(name));
	if (unlinkat(statefd, name, 0) == -1 && errno != ENOENT)
		log_warn("state/%s", name);
}

/* The spool's state directory (closed by spool_close()); -1: none. */
static int
state_dir(const struct cfg *c, struct spool *sp)
{
	struct err e;
	int fd;

	if (spool_open(sp, c->queue_dir, 1u << SP_STATE, 0, &e) != RQ_OK)
		return -1;
	if ((fd = sp->fd[SP_STATE]) == -1)
		spool_close(sp);
	return fd;
}

void
authpause_clear_all(const struct cfg *c)
{
	struct authpause p;
	struct spool sp;
	char name[160];
	size_t i;
	int fd;

	if ((fd = state_dir(c, &sp)) == -1)
		return;
	for (i = 0; i < route_count(c); i++) {
		state_name(route_at(c, i), name, sizeof(name));
		if (state_read(fd, name, &p) == 0) {
			authpause_clear(fd, route_at(c, i));
			log_info("route %s: authentication failures forgotten "
			    "(flush)", route_at(c, i)->name);
		}
	}
	spool_close(&sp);
}

const char *
authpause_when(time_t until, char *out, size_t len)
{
	struct tm tm;

	if (localtime_r(&until, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, len, "@%lld", (long long)until);
	return out;
}

void
authpause_notes(const struct cfg *c, time_t now, FILE *out)
{
	const struct cfg_smarthost *sh;
	struct authpause p;
	struct spool sp;
	char when[64];
	size_t i;
	int fd;

	if ((fd = state_dir(c, &sp)) == -1)
		return;
	for (i = 0; i < route_count(c); i++) {
		sh = route_at(c, i);
		if (state_load(fd, c, sh, &p) != 1 || p.until <= now)
			continue;
		fprintf(out, "-- route %s paused until %s: the smarthost "
		    "refused user %s %u times in a row (last: %s); mail stays "
		    "queued; fix the password, then relayq queue flush\n",
		    sh->name, authpause_when(p.until, when, sizeof(when)),
		    p.user, p.fails, p.reply);
	}
	spool_close(&sp);
}

int
authpause_check(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, char *why, size_t len)
{
	struct authpause p;
	char when[64];

	if (sh->user == NULL || !authpause_paused(statefd, c, sh, now, &p))
		return 0;
	snprintf(why, len, "route %s paused until %s after %u authentication "
	    "failures of user %s (last: %s)", sh->name,
	    authpause_when(p.until, when, sizeof(when)), p.fails, p.user,
	    p.reply);
	return 1;
}

void
authpause_opened(int statefd, const struct cfg *c,
    const struct cfg_smarthost *sh, time_t now, int ok, int refused,
    const char *reply)
{
	struct authpause p;
	char when[64], span[64];

	if (sh->user == NULL)
		return;
	if (ok) {
		authpause_clear(statefd, sh);
		return;
	}
	if (!refused)
		return;
	authpause_fail(statefd, c, sh, now, reply, &p);
	if (p.until > now)
		snprintf(span, sizeof(span), "route paused until %s",
		    authpause_when(p.until, when, sizeof(when)));
	else
		snprintf(span, sizeof(span), "mail deferred");
	log_warnx("route %s: authentication failed for user %s (%u in a "
	    "row), %s: %s", sh->name, sh->user, p.fails, span, reply);
}
