/*
 * qaccess.c - [local] mailq_users: the check mailq makes before it
 * lists. Only the real ids count (the set-group-ID group is relayq's,
 * not the caller's). Unknown names and groups match nobody, so a list
 * written for another host never opens the queue to more users.
 */
#include "config.h"

#include <sys/stat.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qaccess.h"

static int
has_gid(gid_t g, const gid_t *gids, size_t ngids)
{
	size_t i;

	for (i = 0; i < ngids; i++)
		if (gids[i] == g)
			return 1;
	return 0;
}

int
qaccess_allows(const struct cfg_list *list, uid_t uid, const gid_t *gids,
    size_t ngids)
{
	const struct passwd *pw;
	const struct group *gr;
	size_t i;

	if (list->n == 0 || (list->n == 1 && strcmp(list->v[0], "anyone") ==
	    0))
		return 1;
	for (i = 0; i < list->n; i++) {
		const char *w = list->v[i];

		if (*w == '@') {
			if ((gr = getgrnam(w + 1)) != NULL &&
			    has_gid(gr->gr_gid, gids, ngids))
				return 1;
		} else if ((pw = getpwnam(w)) != NULL && pw->pw_uid == uid)
			return 1;
	}
	return 0;
}

/* The real gid and the supplementary groups, in a new array; NULL. */
static gid_t *
caller_groups(size_t *n)
{
	gid_t *v;
	int k = getgroups(0, NULL);

	if (k < 0 || (v = calloc((size_t)k + 1, sizeof(*v))) == NULL)
		return NULL;
	v[0] = getgid();
	if (k > 0 && (k = getgroups(k, v + 1)) < 0)
		k = 0;
	*n = (size_t)k + 1;
	return v;
}

enum rq_status
qaccess_check(const struct cfg *c, struct err *e)
{
	const struct passwd *pw;
	struct stat st;
	uid_t uid = getuid();
	gid_t *gids;
	size_t n = 0;
	char who[64];
	int ok;

	if (uid == 0 || (stat(c->queue_dir, &st) == 0 && st.st_uid == uid))
		return RQ_OK;
	if ((gids = caller_groups(&n)) == NULL)
		return err_sys(e, RQ_TEMP, "groups of the caller");
	ok = qaccess_allows(&c->mailq_users, uid, gids, n);
	free(gids);
	if (ok)
		return RQ_OK;
	if ((pw = getpwuid(uid)) != NULL)
		snprintf(who, sizeof(who), "user %s", pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %lu", (unsigned long)uid);
	return err_set(e, RQ_NOPERM, "the queue is listed only for root and "
	    "[local] mailq_users (%s:%d), which does not admit %s",
	    c->path != NULL ? c->path : "relayq.conf", c->mailq_users.line,
	    who);
}
