/*
 * route.c - route selection by sender and the sender policy (see
 * route.h); the patterns themselves are pattern.c's.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "route.h"

static int list_admits(const struct cfg_list *, const char *);

/* Non-zero when one of sh's sender patterns matches sender. */
static int
senders_match(const struct cfg_smarthost *sh, const char *sender)
{
	size_t i;

	for (i = 0; i < sh->senders.n; i++)
		if (route_pattern_match(sh->senders.v[i], sender))
			return 1;
	return 0;
}

const struct cfg_smarthost *
route_select(const struct cfg *c, const char *sender, uid_t uid)
{
	const struct cfg_smarthost *sh;
	const struct cfg_user *u;
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		if (senders_match(&c->routes[i], sender))
			return &c->routes[i];
	if ((u = cfg_user_find(c, uid)) != NULL && u->route != NULL &&
	    (sh = route_find(c, u->route)) != NULL)
		return sh;
	return &c->smarthost;
}

int
route_admits(const struct cfg_smarthost *sh, const char *sender)
{
	return (sh->senders.n == 0 || senders_match(sh, sender)) &&
	    list_admits(&sh->allowed, sender);
}

/* Non-zero when list l is empty or one of its patterns matches sender. */
static int
list_admits(const struct cfg_list *l, const char *sender)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (route_pattern_match(l->v[i], sender))
			return 1;
	return l->n == 0;
}

enum rq_status
route_sender_allowed(const struct cfg *c, const char *sender, uid_t uid,
    const char *who, struct err *e)
{
	const struct cfg_user *u = cfg_user_find(c, uid);
	const struct cfg_smarthost *sh = route_select(c, sender, uid);

	if (u != NULL && !list_admits(&u->allowed, sender))
		return err_set(e, RQ_NOPERM, "sender <%s> not allowed for user "
		    "%s: not in [user %s] allowed_senders (%s:%d)", sender, who,
		    u->name, c->path, u->allowed.line);
	if (!list_admits(&sh->allowed, sender))
		return err_set(e, RQ_NOPERM, "sender <%s> not allowed for user "
		    "%s: not in [smarthost%s%s] allowed_senders (%s:%d)", sender,
		    who, sh == &c->smarthost ? "" : " ",
		    sh == &c->smarthost ? "" : sh->name, c->path,
		    sh->allowed.line);
	return RQ_OK;
}
