/*
 * cmd_newaliases.c - newaliases, sendmail -bi, sendmail -I.
 *
 * relayq builds no database: the runner reads the aliases file itself at
 * every queue run, so newaliases only checks the file. Problems go to
 * stderr, one "FILE:LINE: problem" line each (exit 65, EX_DATAERR); the
 * summary sendmail prints goes to stdout. With no [local] aliases set it
 * succeeds: package scripts run newaliases and expect exit 0.
 */
#include "config.h"

#include <stdio.h>
#include <sysexits.h>

#include "aliases.h"
#include "cmd.h"
#include "priv.h"

int
cmd_newaliases(const struct cfg *c, const char *prog)
{
	struct aliases al;
	struct err e;
	size_t i;
	int r = EX_OK;

	/* The aliases file is readable by all; no group is needed. */
	if (priv_is_setid() && priv_drop_or_fail(&e) != RQ_OK)
		return cmd_fail(prog, &e);
	if (c->aliases == NULL) {
		printf("%s: no aliases file configured ([local] aliases in "
		    "%s); nothing to check\n", prog, c->path);
		return EX_OK;
	}
	if (aliases_load(&al, c->aliases, cfg_domain(c), &e) != RQ_OK ||
	    aliases_check(&al, &e) != RQ_OK) {
		aliases_free(&al);
		return cmd_fail(prog, &e);
	}
	for (i = 0; i < al.np; i++)
		fprintf(stderr, "%s:%d: %s\n", al.path, al.p[i].line,
		    al.p[i].msg);
	if (al.np > 0)
		r = EX_DATAERR;
	printf("%s: %zu aliases, longest %zu bytes, %zu bytes total\n",
	    al.path, al.n, al.longest, al.total);
	aliases_free(&al);
	return r;
}
