/*
 * policy.c - the runner's first look at a message (see policy.h).
 */
#include "config.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/*
 * The sender policy (route_sender_allowed). The user's login names the
 * user in a refusal only: looked up then, so that a pass over admitted
 * mail never loads the name service for it.
 */
static int
sender_allowed(const struct cfg *c, const struct env *env, struct err *e)
{
	char who[64];

	if (route_sender_allowed(c, env->sender, env->uid, "", e) == RQ_OK)
		return 1;
	(void)route_sender_allowed(c, env->sender, env->uid,
	    user_name(env->uid, who, sizeof(who)), e);
	return 0;
}

/* The priority one field asks for, or 0: X-Priority 1 (highest) is 5. */
static int
field_priority(const char *head, size_t hlen, const char *name,
    struct buf *v)
{
	const char *s;

	if (msghead_value(head, hlen, name, v) == -1 || v->len == 0)
		return 0;
	s = buf_cstr(v);
	if (strcasecmp(name, "X-Priority") == 0)
		return *s >= '1' && *s <= '5' && (s[1] == '\0' ||
		    !isdigit((unsigned char)s[1])) ? 6 - (*s - '0') : 0;
	if (strcasecmp(name, "Priority") == 0)
		return strcasecmp(s, "urgent") == 0 ? 5 :
		    strcasecmp(s, "non-urgent") == 0 ? 1 :
		    strcasecmp(s, "normal") == 0 ? 3 : 0;
	return strcasecmp(s, "high") == 0 ? 5 : strcasecmp(s, "low") == 0 ?
	    1 : strcasecmp(s, "normal") == 0 ? 3 : 0;	/* Importance */
}

int
policy_message_priority(const char *head, size_t hlen)
{
	static const char *const fields[] = { "X-Priority", "Priority",
	    "Importance" };
	struct buf v;
	size_t i;
	int p, best = 0;

	buf_init(&v, MSGHEAD_MAX);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((p = field_priority(head, hlen, fields[i], &v)) > best)
			best = p;
	buf_free(&v);
	return best > 0 ? best : ENV_PRIORITY_NORMAL;
}

/* Is env an alert request? key gets its refused sender. -1: error. */
static int
is_alert(const struct cfg *c, const struct env *env, const char *head,
    size_t hlen, struct buf *key, struct err *e)
{
	const char *rc[1];
	char *alert;
	int yes;

	if (*env->sender != '\0' || env->nrcpt != 1)
		return 0;
	if ((alert = alert_address(c)) == NULL) {
		err_sys(e, RQ_INTERNAL, "malloc");
		return -1;
	}
	rc[0] = env->rcpts[0].addr;
	yes = alert_is_request(alert, env->sender, rc, 1, head, hlen, key);
	free(alert);
	return yes;
}

/* The decision, once the header block head[0..hlen) is read. */
static enum rq_status
decide(const struct cfg *c, const struct spool *sp, struct env *env,
    const char *head, size_t hlen, enum policy_verdict *v, char *why,
    size_t whylen, struct err *e)
{
	const struct cfg_user *u = cfg_user_find(c, env->uid);
	struct buf key;
	char who[64];
	int alert, p;

	buf_init(&key, 1024);
	if ((alert = is_alert(c, env, head, hlen, &key, e)) == -1) {
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
	    env->uid == geteuid()) && !sender_allowed(c, env, e)) {
		*v = POLICY_REFUSE;
		snprintf(why, whylen, "refused at pickup: %s", e->msg);
	}
	buf_free(&key);
	if (*v != POLICY_SEND)
		return RQ_OK;
	p = policy_message_priority(head, hlen);
	env->priority = u != NULL && u->priority > p ? u->priority : p;
	if (env_set_route(env, route_select(c, env->sender, env->uid)->name) ==
	    -1)
		return err_sys(e, RQ_INTERNAL, "malloc");
	return RQ_OK;
}

enum rq_status
policy_first_look(const struct cfg *c, const struct spool *sp, struct env *env,
    int fd, enum policy_verdict *v, char *why, size_t whylen, struct err *e)
{
	struct buf head;
	size_t hl = 0;
	enum rq_status st;

	*v = POLICY_SEND;
	buf_init(&head, 2 * MSGHEAD_MAX);
	st = msghead_read(fd, env->msg_off, env->msg_len, &head, &hl, e);
	if (st == RQ_TEMP || st == RQ_INTERNAL) {
		buf_free(&head);
		return st;
	}
	if (st != RQ_OK)	/* a header too long to look at: none */
		hl = 0;
	st = decide(c, sp, env, buf_cstr(&head), hl, v, why, whylen, e);
	buf_free(&head);
	return st;
}
