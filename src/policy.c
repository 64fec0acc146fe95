/*
 * policy.c - the runner's first look at a message (see policy.h).
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "alert.h"
#include "msghead.h"
#include "policy.h"
#include "route.h"

/* The name of uid for messages: its login, else "uid N". */
static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name[0] != '\0')
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/* Is env an alert request? key gets its refused sender. -1: error. */
static int
is_alert(struct cfg *c, const struct env *env, int fd, struct buf *key,
    struct err *e)
{
	struct buf head;
	const char **rc;
	char *alert;
	size_t hl, i;
	int yes = 0;

	if (*env->sender != '\0' || env->nrcpt != 1)
		return 0;
	if ((alert = alert_address(c)) == NULL ||
	    (rc = calloc(env->nrcpt, sizeof(*rc))) == NULL) {
		free(alert);
		err_sys(e, RQ_INTERNAL, "malloc");
		return -1;
	}
	for (i = 0; i < env->nrcpt; i++)
		rc[i] = env->rcpts[i].addr;
	buf_init(&head, 2 * MSGHEAD_MAX);
	if (msghead_read(fd, env->msg_off, env->msg_len, &head, &hl, e) ==
	    RQ_OK)
		yes = alert_is_request(alert, env->sender, rc, env->nrcpt,
		    buf_cstr(&head), hl, key);
	else
		yes = e->status == RQ_TEMP ? -1 : 0;
	buf_free(&head);
	free(rc);
	free(alert);
	return yes;
}

enum rq_status
policy_first_look(struct cfg *c, const struct spool *sp, struct env *env,
    int fd, enum policy_verdict *v, char *why, size_t whylen, struct err *e)
{
	const struct cfg_smarthost *sh;
	struct buf key;
	char who[64];
	int alert;

	*v = POLICY_SEND;
	buf_init(&key, 1024);
	if ((alert = is_alert(c, env, fd, &key, e)) == -1) {
		buf_free(&key);
		return e->status;
	}
	if (alert && !alert_admit(sp->fd[SP_STATE], env->uid, buf_cstr(&key),
	    time(NULL))) {
		*v = POLICY_SUPPRESS;
		snprintf(why, whylen, "alert about <%s> for %s suppressed: one "
		    "was sent within the hour", buf_cstr(&key),
		    user_name(env->uid, who, sizeof(who)));
	} else if (!alert && !((env->flags & MSG_F_BOUNCE) &&
	    env->uid == geteuid()) && route_sender_allowed(c, env->sender,
	    env->uid, user_name(env->uid, who, sizeof(who)), e) != RQ_OK) {
		*v = POLICY_REFUSE;
		snprintf(why, whylen, "refused at pickup: %s", e->msg);
	}
	buf_free(&key);
	if (*v != POLICY_SEND)
		return RQ_OK;
	sh = route_select(c, env->sender, env->uid);
	if (env_set_route(env, sh->name) == -1)
		return err_sys(e, RQ_INTERNAL, "malloc");
	return RQ_OK;
}
