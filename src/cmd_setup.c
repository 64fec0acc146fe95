/*
 * cmd_setup.c - `relayq probe ADDRESS` and `relayq setup [ADDRESS]`: the
 * options and the wiring of probe.c, setup.c and diagnose.c; exit codes
 * through sysexits only here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "compat.h"
#include "cmd.h"
#include "probe.h"
#include "prompt.h"

/* Options shared by probe and setup. */
struct probe_args {
	const char *address;
	const char *password_file;
	const char *ca_file;
	int deadline;
	int no_password;	/* --no-password: do not ask */
};

static int
probe_usage(const char *why)
{
	fprintf(stderr, "relayq: probe: %s\nusage: relayq probe ADDRESS "
	    "[--password-file FILE | --no-password] [--ca-file FILE] "
	    "[--timeout SECONDS]\n", why);
	return EX_USAGE;
}

/* One option of probe_args at argv[*i]: 1 taken, 0 not ours, -1 bad. */
static int
probe_opt(int argc, char **argv, int *i, struct probe_args *a)
{
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	const char *errstr = NULL;

	if (strcmp(argv[*i], "--no-password") == 0) {
		a->no_password = 1;
		return 1;
	}
	if (strcmp(argv[*i], "--password-file") != 0 &&
	    strcmp(argv[*i], "--ca-file") != 0 &&
	    strcmp(argv[*i], "--timeout") != 0)
		return 0;
	if (v == NULL)
		return -1;
	(*i)++;
	if (strcmp(argv[*i - 1], "--password-file") == 0)
		a->password_file = v;
	else if (strcmp(argv[*i - 1], "--ca-file") == 0)
		a->ca_file = v;
	else if ((a->deadline = (int)strtonum(v, 1, 600, &errstr)),
	    errstr != NULL)
		return -1;
	return 1;
}

/* The password: the file's first line, a question on a terminal, or
 * none. RQ_OK with *pw NULL when there is none. */
static enum rq_status
probe_password(const struct probe_args *a, char **pw, struct err *e)
{
	char q[400];

	*pw = NULL;
	if (a->password_file != NULL)
		return cfg_read_secret(a->password_file, pw, e);
	if (a->no_password || !prompt_tty())
		return RQ_OK;
	snprintf(q, sizeof(q), "Password of %s (empty: do not try AUTH)",
	    a->address);
	if (prompt_line(q, NULL, 1, pw, e) != RQ_OK)
		return e->status;
	if (**pw == '\0') {
		free(*pw);
		*pw = NULL;
	}
	return RQ_OK;
}

static void
wipe(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Probe, print the findings and the section; the exit code. */
static int
probe_report_exit(const struct probe_report *r, const char *pw,
    const char *pwfile)
{
	if (r->nok == 0) {
		printf("relayq probe: no server with a verified certificate "
		    "found for %s@%s\n", r->local, r->domain);
		return EX_UNAVAILABLE;
	}
	if (pw != NULL && !r->auth_ok)
		printf("relayq probe: AUTH was refused as %s@%s and as %s: "
		    "%s\n", r->local, r->domain, r->local, r->auth_why);
	else if (r->auth_ok)
		printf("relayq probe: AUTH works with user name %s\n",
		    r->user);
	printf("\nSettings for relayq.conf:\n\n");
	probe_section(r, NULL, pwfile != NULL ? pwfile :
	    "/etc/relayq/password", stdout);
	return pw != NULL && !r->auth_ok ? EX_NOPERM : EX_OK;
}

int
cmd_probe(struct cfg *c, int argc, char **argv)
{
	struct probe_args a;
	struct probe_opts o;
	struct probe_report *r;
	struct err e;
	char *pw = NULL;
	int i, k, rc;

	memset(&a, 0, sizeof(a));
	for (i = 1; i < argc; i++)
		if ((k = probe_opt(argc, argv, &i, &a)) == -1)
			return probe_usage("bad option value");
		else if (k == 0 && argv[i][0] != '-' && a.address == NULL)
			a.address = argv[i];
		else if (k == 0)
			return probe_usage("unexpected argument");
	if (a.address == NULL)
		return probe_usage("name the mail address");
	if (probe_password(&a, &pw, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	memset(&o, 0, sizeof(o));
	o.address = a.address;
	o.password = pw;
	o.ca_file = a.ca_file;
	o.helo = cfg_hostname(c);
	o.deadline = a.deadline;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    probe_run(&o, r, stdout, &e) != RQ_OK) {
		wipe(pw);
		free(r);
		if (r == NULL)
			err_sys(&e, RQ_INTERNAL, "probe");
		return cmd_fail("relayq", &e);
	}
	rc = probe_report_exit(r, pw, a.password_file);
	wipe(pw);
	free(r);
	return rc;
}
