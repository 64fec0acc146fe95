/*
 * refuse.c - refuse a sender at submission and ask for an alert (see
 * refuse.h). The alert request is an ordinary submission fed from a pipe:
 * it is small, so the whole text fits in the pipe before it is read.
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "alert.h"
#include "buf.h"
#include "log.h"
#include "refuse.h"
#include "route.h"

#define ALERT_TEXT_MAX	4096	/* below any pipe's capacity */

/* Queue the alert request about sender; problems are only logged. */
static void
queue_alert(const struct cfg *c, const char *sender, const char *who,
    const char *why, int dirfd, const struct submit_opts *base)
{
	char id[SPOOL_ID_LEN + 1], *to = alert_address(c), *daemon = NULL;
	const char *rcpts[1];
	struct submit_opts so = *base;
	struct buf text;
	struct err e;
	int p[2] = { -1, -1 };

	buf_init(&text, ALERT_TEXT_MAX);
	daemon = addr_qualify("MAILER-DAEMON", cfg_domain(c));
	if (to == NULL || daemon == NULL || alert_text(&text, sender, who,
	    why, cfg_hostname(c)) == -1 || pipe(p) == -1 ||
	    write(p[1], text.data, text.len) != (ssize_t)text.len) {
		log_warnx("no alert queued about sender <%s>", sender);
		goto out;
	}
	close(p[1]);
	p[1] = -1;
	rcpts[0] = to;
	so.sender = "";
	so.from_addr = daemon;
	so.fullname = "relayq";
	so.extract = 0;
	so.ignore_dots = 1;
	so.rcpts = rcpts;
	so.nrcpt = 1;
	so.dsn = NULL;
	if (submit_message(dirfd, &so, p[0], id, &e) != RQ_OK)
		log_warnx("no alert queued about sender <%s>: %s", sender,
		    e.msg);
	else
		log_info("%s: alert request to <%s> about sender <%s>", id, to,
		    sender);
out:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	buf_free(&text);
	free(to);
	free(daemon);
}

enum rq_status
refuse_check(const struct cfg *c, const char *sender, int dirfd,
    const struct submit_opts *base, struct err *e)
{
	struct passwd *pw;
	char who[64];

	/* The login only names the user in a refusal: looked up then, so
	 * that an admitted submission reads the user database once. */
	if (route_sender_allowed(c, sender, base->uid, "", e) == RQ_OK)
		return RQ_OK;
	if ((pw = getpwuid(base->uid)) != NULL && pw->pw_name[0] != '\0')
		snprintf(who, sizeof(who), "%s", pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %lu", (unsigned long)base->uid);
	(void)route_sender_allowed(c, sender, base->uid, who, e);
	log_info("refused: %s", e->msg);	/* the caller prints it */
	queue_alert(c, sender, who, e->msg, dirfd, base);
	return RQ_NOPERM;
}
