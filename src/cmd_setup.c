/*
 * cmd_setup.c - `relayq probe ADDRESS` and `relayq setup [ADDRESS]`: the
 * options and the wiring of probe.c, setup.c and diagnose.c; exit codes
 * through sysexits only here.
 */
#include "config.h"

#include <sys/stat.h>

#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "buf.h"
#include "cmd.h"
#include "diagnose.h"
#include "help.h"
#include "log.h"
#include "probe.h"
#include "prompt.h"
#include "setup.h"

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
	help_misuse("relayq", "probe", "probe: %s", why);
	return EX_USAGE;
}

/* One option of probe_args at argv[*i]: 1 taken, 0 not ours, -1 no
 * value, -2 a bad --timeout. */
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
		return -2;
	return 1;
}

/* The usage error of argv[i] for topic ("probe", "setup"): k is what
 * probe_opt() said, 0 when it was not an option of probe_args. */
static int
probe_opt_misuse(const char *topic, char **argv, int i, int k)
{
	if (k == -1)
		help_misuse("relayq", topic, "%s: %s: missing value", topic,
		    argv[i]);
	else if (k == -2)
		help_misuse("relayq", topic, "%s: --timeout %s: expected 1 to "
		    "600 seconds", topic, argv[i]);
	else
		help_misuse("relayq", topic, "%s: %s: %s", topic, argv[i],
		    argv[i][0] == '-' ? "unknown option" :
		    "unexpected argument");
	return EX_USAGE;
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
cmd_probe(const struct cfg *c, int argc, char **argv)
{
	struct probe_args a;
	struct probe_opts o;
	struct probe_report *r;
	struct err e;
	char *pw = NULL;
	int i, k, rc;

	memset(&a, 0, sizeof(a));
	for (i = 1; i < argc; i++)
		if ((k = probe_opt(argc, argv, &i, &a)) < 0)
			return probe_opt_misuse("probe", argv, i, k);
		else if (k == 0 && argv[i][0] != '-' && a.address == NULL)
			a.address = argv[i];
		else if (k == 0)
			return probe_opt_misuse("probe", argv, i, k);
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

/* --- relayq setup --------------------------------------------------------- */

struct setup_args {
	struct probe_args pa;
	const char *display;	/* --name */
};

static int
setup_usage(const char *why)
{
	help_misuse("relayq", "setup", "setup: %s", why);
	return EX_USAGE;
}

/* A display name goes into a quoted header field: printable only. */
static int
setup_name_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return 0;
	return strlen(s) <= 200;
}

static int
setup_parse(int argc, char **argv, struct setup_args *a)
{
	int i, k;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if ((k = probe_opt(argc, argv, &i, &a->pa)) < 0)
			return probe_opt_misuse("setup", argv, i, k);
		if (k == 1)
			continue;
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			a->display = argv[++i];
		else if (strcmp(argv[i], "--name") == 0)
			return probe_opt_misuse("setup", argv, i, -1);
		else if (argv[i][0] != '-' && a->pa.address == NULL)
			a->pa.address = argv[i];
		else
			return probe_opt_misuse("setup", argv, i, 0);
	}
	if (a->display != NULL && !setup_name_ok(a->display))
		return setup_usage("the display name may not hold quotes, "
		    "backslashes or control characters");
	return 0;
}

/* Ask on a terminal for what the arguments did not give. */
static enum rq_status
setup_ask(struct setup_args *a, char **addr, char **name, struct err *e)
{
	*addr = *name = NULL;
	if (a->pa.address == NULL) {
		if (!prompt_tty())
			return err_set(e, RQ_USAGE, "setup: name the mail "
			    "address (or run it on a terminal)");
		if (prompt_line("Mail address", NULL, 0, addr, e) != RQ_OK)
			return e->status;
		a->pa.address = *addr;
	}
	if (a->display == NULL && prompt_tty()) {
		if (prompt_line("Display name (optional)", "", 0, name,
		    e) != RQ_OK)
			return e->status;
		if (!setup_name_ok(*name))
			return err_set(e, RQ_USAGE, "setup: the display name "
			    "may not hold quotes, backslashes or control "
			    "characters");
		a->display = *name;
	}
	return RQ_OK;
}

/* What setup writes where. */
struct setup_plan {
	struct cfg *c;
	const struct probe_report *r;
	const struct probe_cand *best;
	const char *user;
	const char *ca_file;
	char route[DNS_NAME_MAX];	/* "": the default route */
	char header[DNS_NAME_MAX + 16];
	char pwpath[PATH_MAX + DNS_NAME_MAX + 16];
	int have_pw;
};

/* The default route, unless one to another server is configured: then
 * a route of its own for the address's domain. */
static void
setup_plan_make(struct cfg *c, const struct probe_report *r,
    const char *address, struct setup_plan *pl)
{
	const struct cfg_smarthost *sh = &c->smarthost;
	char *copy = strdup(c->path), dir[PATH_MAX];

	pl->c = c;
	pl->r = r;
	pl->best = &r->cand[r->auth_ok ? r->auth_cand : r->rank[0]];
	pl->user = probe_user(r, address);
	if (copy == NULL || realpath(dirname(copy), dir) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	free(copy);
	if (sh->host == NULL || (strcasecmp(sh->host, pl->best->host) == 0 &&
	    (sh->user == NULL || strcmp(sh->user, pl->user) == 0))) {
		pl->route[0] = '\0';
		strlcpy(pl->header, "[smarthost]", sizeof(pl->header));
		snprintf(pl->pwpath, sizeof(pl->pwpath), "%s/password", dir);
	} else {
		setup_route_name(r->domain, pl->route, sizeof(pl->route));
		snprintf(pl->header, sizeof(pl->header), "[smarthost %s]",
		    pl->route);
		snprintf(pl->pwpath, sizeof(pl->pwpath), "%s/password.%s",
		    dir, pl->route);
	}
}

/* The section text (the caller frees it), or NULL. */
static char *
setup_section(const struct setup_plan *pl)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	probe_section(pl->r, pl->route[0] != '\0' ? pl->route : NULL,
	    pl->have_pw ? pl->pwpath : NULL, f);
	if (pl->ca_file != NULL)
		fprintf(f, "ca_file = %s\n", pl->ca_file);
	if (pl->route[0] != '\0')
		fprintf(f, "senders = *@%s\n", pl->r->domain);
	if (fclose(f) == EOF) {
		free(text);
		return NULL;
	}
	return text;
}

/* Does text load as a configuration? Written aside, loaded, removed. */
static enum rq_status
setup_check(const char *conf, const struct buf *text, struct err *e)
{
	char path[PATH_MAX + 32];
	struct cfg tmp;
	enum rq_status st;

	snprintf(path, sizeof(path), "%s.check.%ld", conf, (long)getpid());
	if (setup_write_file(path, buf_cstr(text), text->len, 0600,
	    (uid_t)-1, (gid_t)-1, e) != RQ_OK)
		return RQ_TEMP;
	st = cfg_load(&tmp, path, 1, e);
	cfg_free(&tmp);
	unlink(path);
	if (st != RQ_OK)
		return err_set(e, RQ_CONFIG, "the new configuration would not "
		    "load (%s); %s is unchanged", e->msg, conf);
	return RQ_OK;
}

/* The merged configuration in out, checked; *had: a file existed. */
static enum rq_status
setup_merged(const struct setup_plan *pl, const char *section,
    struct buf *out, struct buf *old, int *had, struct err *e)
{
	enum rq_status st;

	st = setup_read_file(pl->c->path, SETUP_CONF_MAX, old, e);
	if (st != RQ_OK && st != RQ_NOINPUT)
		return st;
	*had = st == RQ_OK;
	buf_init(out, SETUP_CONF_MAX);
	if (setup_merge(*had ? buf_cstr(old) : NULL, pl->header, section,
	    out) == -1)
		return err_sys(e, RQ_TEMP, "%s", pl->c->path);
	return setup_check(pl->c->path, out, e);
}

/* root:relayq 0640 where relayq is installed, else the caller's 0600. */
static enum rq_status
setup_password_file(const struct setup_plan *pl, const char *pw,
    struct err *e)
{
	const struct group *g = geteuid() == 0 ? getgrnam("relayq") : NULL;
	char *line;
	size_t n = strlen(pw) + 1;
	enum rq_status st;

	if ((line = malloc(n + 1)) == NULL)
		return err_sys(e, RQ_TEMP, "%s", pl->pwpath);
	snprintf(line, n + 1, "%s\n", pw);
	st = setup_write_file(pl->pwpath, line, n, g != NULL ? 0640 : 0600,
	    g != NULL ? 0 : (uid_t)-1, g != NULL ? g->gr_gid : (gid_t)-1, e);
	explicit_bzero(line, n);
	free(line);
	if (st == RQ_OK)
		printf("relayq setup: wrote the password to %s (%s)\n",
		    pl->pwpath, g != NULL ? "root:relayq 0640" : "mode 0600");
	return st;
}

/* A backup of the old file, then the new one with the old owner and
 * mode (a new file: 0644, as relayq.conf holds no secret). */
static enum rq_status
setup_config_file(const struct setup_plan *pl, const struct buf *text,
    const struct buf *old, int had, struct err *e)
{
	char bak[PATH_MAX + 8];
	struct stat st;
	const char *conf = pl->c->path;

	if (had) {
		if (stat(conf, &st) == -1)
			return err_sys(e, RQ_TEMP, "%s", conf);
		snprintf(bak, sizeof(bak), "%s.bak", conf);
		if (setup_write_file(bak, buf_cstr(old), old->len,
		    st.st_mode & 0777, st.st_uid, st.st_gid, e) != RQ_OK)
			return RQ_TEMP;
		printf("relayq setup: kept the previous configuration as "
		    "%s\n", bak);
	} else
		st.st_mode = 0644;
	if (setup_write_file(conf, buf_cstr(text), text->len,
	    st.st_mode & 0777, had ? st.st_uid : (uid_t)-1,
	    had ? st.st_gid : (gid_t)-1, e) != RQ_OK)
		return RQ_TEMP;
	printf("relayq setup: wrote %s to %s\n", pl->header, conf);
	return RQ_OK;
}

/* relayq test --send ADDRESS with the settings just written. */
static enum rq_status
setup_test(const struct setup_plan *pl, const char *pw,
    const char *address, const char *display, int verbose, struct err *e)
{
	struct smtp_params p;
	struct diag_opts o;

	memset(&p, 0, sizeof(p));
	p.host = pl->best->host;
	p.port = pl->best->port;
	p.tls = pl->best->tls;
	p.tls_verify = 1;
	p.ca_file = pl->ca_file;
	p.auth = AUTH_AUTO;
	p.user = pw != NULL && pl->best->r.auth != 0 ? pl->user : NULL;
	p.password = pw;
	p.helo = cfg_hostname(pl->c);
	p.verbose = verbose;
	memset(&o, 0, sizeof(o));
	o.route = pl->route[0] != '\0' ? pl->route : "default";
	o.send_to = address;
	o.sender = address;
	o.sender_name = display;
	o.now = time(NULL);
	printf("\n");
	return diag_test(&p, &o, stdout, e);
}

static void
setup_next(const struct setup_plan *pl, const char *address)
{
	printf("\nrelayq setup: done: mail goes through %s port %s; a test "
	    "message went to %s.\nNext: something must run the queue, for "
	    "retries and for mail from users other than root:\n"
	    "  the systemd timer (relayq-run.timer), or cron (etc/relayq.cron: "
	    "`relayq run` every minute), or the relayq daemon where it is "
	    "installed (see relayq(8)).\n", pl->best->host, pl->best->port,
	    address);
	if (pl->route[0] != '\0')
		printf("Mail from *@%s takes the new route \"%s\"; the default "
		    "[smarthost] stays as it was.\n", pl->r->domain, pl->route);
}

/* Write what the probe found, test it, say what next: the exit code. */
static int
setup_apply(struct setup_plan *pl, const char *pw, const struct setup_args *a,
    int verbose)
{
	struct buf text, old;
	char *section;
	struct err e;
	enum rq_status st;
	int had = 0;

	pl->have_pw = pw != NULL && pl->best->r.auth != 0;
	if ((section = setup_section(pl)) == NULL) {
		err_sys(&e, RQ_TEMP, "setup");
		return cmd_fail("relayq", &e);
	}
	buf_init(&old, SETUP_CONF_MAX);
	st = setup_merged(pl, section, &text, &old, &had, &e);
	if (st == RQ_CONFIG)
		printf("relayq setup: this relayq cannot read the section it "
		    "would add:\n\n%s\n", section);
	free(section);
	if (st == RQ_OK && pl->have_pw)
		st = setup_password_file(pl, pw, &e);
	if (st == RQ_OK)
		st = setup_config_file(pl, &text, &old, had, &e);
	buf_free(&text);
	buf_free(&old);
	if (st != RQ_OK)
		return cmd_fail("relayq", &e);
	if (setup_test(pl, pw, a->pa.address, a->display, verbose,
	    &e) != RQ_OK) {
		printf("relayq setup: the settings are written, but the test "
		    "failed (see above)\n");
		return err_exitcode(e.status);
	}
	setup_next(pl, a->pa.address);
	return EX_OK;
}

/* Probe; the exit code when nothing usable was found, else 0. */
static int
setup_probe(const struct cfg *c, const struct setup_args *a, const char *pw,
    struct probe_report *r)
{
	struct probe_opts o;
	struct err e;

	memset(&o, 0, sizeof(o));
	o.address = a->pa.address;
	o.password = pw;
	o.ca_file = a->pa.ca_file;
	o.helo = cfg_hostname(c);
	o.deadline = a->pa.deadline;
	if (probe_run(&o, r, stdout, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	if (r->nok == 0) {
		printf("relayq setup: no server with a verified certificate "
		    "found for %s; nothing written\n", a->pa.address);
		return EX_UNAVAILABLE;
	}
	if (pw != NULL && !r->auth_ok) {
		printf("relayq setup: the password was refused (%s); nothing "
		    "written\n", r->auth_why);
		return EX_NOPERM;
	}
	return 0;
}

int
cmd_setup(struct cfg *c, int verbose, int argc, char **argv)
{
	struct setup_args a;
	struct setup_plan pl;
	struct probe_report *r = NULL;
	char *addr = NULL, *name = NULL, *pw = NULL, msg[768];
	struct err e;
	int rc;

	if ((rc = setup_parse(argc, argv, &a)) != 0)
		return rc;
	/* The test message at the end goes out with this EHLO name. */
	if (cfg_hostname_advice(c, msg, sizeof(msg)))
		log_warnx("%s", msg);
	if (setup_ask(&a, &addr, &name, &e) != RQ_OK ||
	    probe_password(&a.pa, &pw, &e) != RQ_OK)
		rc = cmd_fail("relayq", &e);
	else if (pw == NULL && !a.pa.no_password)
		rc = setup_usage("give the password (--password-file FILE, "
		    "or on a terminal), or --no-password for a server "
		    "without AUTH");
	else if ((r = calloc(1, sizeof(*r))) == NULL)
		rc = EX_OSERR;
	else if ((rc = setup_probe(c, &a, pw, r)) == 0) {
		memset(&pl, 0, sizeof(pl));
		pl.ca_file = a.pa.ca_file;
		setup_plan_make(c, r, a.pa.address, &pl);
		rc = setup_apply(&pl, pw, &a, verbose);
	}
	wipe(pw);
	free(r);
	free(addr);
	free(name);
	return rc;
}
