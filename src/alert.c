/*
 * alert.c - alert requests and their hourly memory (see alert.h).
 *
 * state/alerts holds one line per alert sent in the last hour,
 * "UID EPOCH SENDER"; it is read and rewritten under flock(LOCK_EX), so
 * parallel runners agree. Lines that do not parse, or are older than an
 * hour (or in the future: a clock set back), are dropped on rewrite.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "alert.h"
#include "log.h"
#include "msghead.h"

#define ALERT_STATE	"alerts"
#define ALERT_STATE_MAX	(1 << 20)

char *
alert_address(const struct cfg *c)
{
	return addr_qualify(c->alert != NULL ? c->alert : "postmaster",
	    cfg_domain(c));
}

int
alert_text(struct buf *b, const char *sender, const char *who,
    const char *why, const char *host)
{
	return buf_printf(b, "Subject: relayq: sender <%s> refused for user "
	    "%s\n" ALERT_FIELD ": %s\n\n"
	    "relayq on %s refused a message before queueing it:\n\n  %s\n\n"
	    "Nothing was queued; the program that sent it was told (exit "
	    "status 77,\nor 550 5.7.1 in an SMTP session). This alert is "
	    "sent at most once an\nhour for this user and sender. To allow "
	    "the sender, add it to the\nallowed_senders named above "
	    "(relayq.conf(5)).\n", sender, who, sender, host, why);
}

int
alert_is_request(const char *alert, const char *sender,
    const char *const *rcpts, size_t n, const char *head, size_t hlen,
    struct buf *key)
{
	if (*sender != '\0' || n != 1 || strcasecmp(rcpts[0], alert) != 0)
		return 0;
	return msghead_value(head, hlen, ALERT_FIELD, key) == 0 &&
	    key->len > 0;
}

/* Copy the still-valid lines of old into out; 1 when (uid, sender) is
 * among them. */
static int
alert_prune(const char *old, size_t len, uid_t uid, const char *sender,
    time_t now, struct buf *out)
{
	char *copy, *line, *save = NULL, s[1024];
	unsigned long u;
	long long t;
	int found = 0;

	if ((copy = strndup(old, len)) == NULL)
		return 0;
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%lu %lld %1023s", &u, &t, s) != 3 ||
		    t > now || now - t >= ALERT_PERIOD)
			continue;
		if (u == (unsigned long)uid && strcmp(s, sender) == 0)
			found = 1;
		(void)buf_printf(out, "%s\n", line);
	}
	free(copy);
	return found;
}

int
alert_admit(int statefd, uid_t uid, const char *sender, time_t now)
{
	struct buf old, out;
	char chunk[4096];
	ssize_t n;
	int fd, found;

	fd = openat(statefd, ALERT_STATE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX) == -1) {
		if (fd != -1)
			close(fd);
		return 1;
	}
	buf_init(&old, ALERT_STATE_MAX);
	buf_init(&out, ALERT_STATE_MAX + 2048);
	while ((n = pread(fd, chunk, sizeof(chunk), (off_t)old.len)) > 0 &&
	    buf_append(&old, chunk, (size_t)n) == 0)
		;
	found = alert_prune(buf_cstr(&old), old.len, uid, sender, now, &out);
	if (!found)
		(void)buf_printf(&out, "%lu %lld %s\n", (unsigned long)uid,
		    (long long)now, sender);
	if (pwrite(fd, buf_cstr(&out), out.len, 0) != (ssize_t)out.len ||
	    ftruncate(fd, (off_t)out.len) == -1 || fsync(fd) == -1)
		log_warn("state/%s: cannot remember an alert", ALERT_STATE);
	close(fd);
	buf_free(&old);
	buf_free(&out);
	return !found;
}
