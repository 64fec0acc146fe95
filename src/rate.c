/*
 * rate.c - per-route sending limits with a sliding window on disk (see
 * rate.h).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "log.h"
#include "rate.h"

#define RATE_LIMIT_MAX	100000
#define RATE_STATE_MAX	((size_t)RATE_LIMIT_MAX * 24)

static const struct {
	const char *name;
	time_t secs;
} periods[] = {
	{ "minute", 60 }, { "hour", 3600 }, { "day", 86400 },
};

int
rate_parse(const char *s, struct cfg_rate *rates, size_t *nrate)
{
	char *copy, *tok, *save = NULL, *slash;
	const char *errstr;
	size_t n = 0, i, j;
	long long v;

	if ((copy = strdup(s)) == NULL)
		return -1;
	for (tok = strtok_r(copy, " \t,;", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,;", &save)) {
		if (n == CFG_RATE_MAX || (slash = strchr(tok, '/')) == NULL)
			break;
		*slash++ = '\0';
		v = strtonum(tok, 1, RATE_LIMIT_MAX, &errstr);
		for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
			if (strcmp(slash, periods[i].name) == 0)
				break;
		if (errstr != NULL || i == sizeof(periods) / sizeof(periods[0]))
			break;
		for (j = 0; j < n && rates[j].window != periods[i].secs; j++)
			;
		if (j < n)
			break;		/* one limit per period */
		rates[n].limit = (unsigned)v;
		rates[n++].window = periods[i].secs;
	}
	free(copy);
	if (tok != NULL || n == 0)
		return -1;
	*nrate = n;
	return 0;
}

const char *
rate_name(const struct cfg_rate *r, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(periods) / sizeof(periods[0]) - 1; i++)
		if (periods[i].secs == r->window)
			break;
	snprintf(buf, len, "%u/%s", r->limit, periods[i].name);
	return buf;
}

int
rate_check(const time_t *times, size_t n, const struct cfg_rate *rates,
    size_t nrate, time_t now, time_t *next)
{
	size_t i, first, count;
	int held = -1;

	*next = now;
	for (i = 0; i < nrate; i++) {
		/* the sends within (now - window, now] */
		for (first = 0; first < n && times[first] <= now -
		    rates[i].window; first++)
			;
		count = n - first;
		if (count < rates[i].limit)
			continue;
		/* free once the send count - limit + 1 from the end leaves */
		if (times[first + count - rates[i].limit] + rates[i].window >
		    *next) {
			*next = times[first + count - rates[i].limit] +
			    rates[i].window;
			held = (int)i;
		}
	}
	return held;
}

/* The sends recorded in fd, within the longest window, ascending. */
static time_t *
rate_load(int fd, const struct cfg_smarthost *sh, time_t now, size_t *n)
{
	struct buf b;
	char chunk[4096], *line, *save = NULL;
	time_t *v = NULL, *nv, longest = 0, t;
	ssize_t r;
	size_t i;

	*n = 0;
	for (i = 0; i < sh->nrate; i++)
		if (sh->rate[i].window > longest)
			longest = sh->rate[i].window;
	buf_init(&b, RATE_STATE_MAX);
	while ((r = pread(fd, chunk, sizeof(chunk), (off_t)b.len)) > 0 &&
	    buf_append(&b, chunk, (size_t)r) == 0)
		;
	for (line = b.len > 0 ? strtok_r(b.data, "\n", &save) : NULL;
	    line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		t = (time_t)strtoll(line, NULL, 10);
		if (t <= now - longest || t > now ||
		    (*n > 0 && t < v[*n - 1]))
			continue;	/* old, future or out of order */
		if ((nv = array_grow(v, *n, sizeof(*v))) == NULL)
			break;
		v = nv;
		v[(*n)++] = t;
	}
	buf_free(&b);
	return v;
}

/* Rewrite fd with times[0..n) and now. -1 on failure. */
static int
rate_save(int fd, const time_t *times, size_t n, time_t now)
{
	struct buf b;
	size_t i;
	int r = 0;

	buf_init(&b, RATE_STATE_MAX + 32);
	for (i = 0; r == 0 && i < n; i++)
		r = buf_printf(&b, "%lld\n", (long long)times[i]);
	if (r == 0)
		r = buf_printf(&b, "%lld\n", (long long)now);
	if (r == 0 && (pwrite(fd, buf_cstr(&b), b.len, 0) != (ssize_t)b.len ||
	    ftruncate(fd, (off_t)b.len) == -1 || fsync(fd) == -1))
		r = -1;
	buf_free(&b);
	return r;
}

/* "next slot 14:05" (with the day when it is not today). */
static void
slot_time(time_t next, time_t now, char *out, size_t len)
{
	struct tm a, b;

	if (localtime_r(&next, &a) == NULL || localtime_r(&now, &b) == NULL ||
	    strftime(out, len, a.tm_yday == b.tm_yday && a.tm_year ==
	    b.tm_year ? "%H:%M" : "%a %H:%M", &a) == 0)
		snprintf(out, len, "in %lld s", (long long)(next - now));
}

int
rate_take(int statefd, const struct cfg_smarthost *sh, time_t now,
    time_t *next, char *why, size_t whylen)
{
	char name[128], when[32], lim[48];
	time_t *times;
	size_t n;
	int fd, held;

	if (sh->nrate == 0)
		return 1;
	snprintf(name, sizeof(name), "rate.%s", sh->name);
	fd = openat(statefd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || flock(fd, LOCK_EX) == -1) {
		*next = now + 60;
		snprintf(why, whylen, "rate limit of route %s: cannot use "
		    "state/%s", sh->name, name);
		log_warn("state/%s", name);
		if (fd != -1)
			close(fd);
		return 0;
	}
	times = rate_load(fd, sh, now, &n);
	if ((held = rate_check(times, n, sh->rate, sh->nrate, now, next)) ==
	    -1 && rate_save(fd, times, n, now) == -1)
		log_warn("state/%s: cannot record a send", name);
	free(times);
	close(fd);
	if (held == -1)
		return 1;
	slot_time(*next, now, when, sizeof(when));
	snprintf(why, whylen, "rate limit %s of route %s, next slot %s",
	    rate_name(&sh->rate[held], lim, sizeof(lim)), sh->name, when);
	return 0;
}
