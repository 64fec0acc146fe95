/*
 * cmd_sendmail.c - the sendmail, mailq and newaliases command lines.
 *
 * Options are parsed by hand, like sendmail does: options end at "--" or
 * at the first argument that does not start with '-', so a recipient is
 * never taken for an option nor the reverse; letters cluster ("-ti");
 * arguments may be attached or separate. Letters of sendmail's set that
 * relayq has no use for are accepted without effect and never open a
 * file or become a recipient. Everything that can be checked is checked
 * before standard input is read.
 *
 * Compiled twice: into relayq (every mode), and with RELAYQ_SUBMIT_ONLY
 * into the sendmail program, which queues (stdin, -t, -bs) itself and
 * executes relayq for everything that needs the runner (runexec.h), so
 * that a submission never loads OpenSSL.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "addr.h"
#include "buf.h"
#include "cmd.h"
#include "daemon.h"
#include "deliver.h"
#include "dropper.h"
#include "dsn.h"
#include "header.h"
#include "help.h"
#include "log.h"
#include "mailq.h"
#include "priv.h"
#include "queue.h"
#include "qaccess.h"
#include "refuse.h"
#include "runexec.h"
#include "smtpd.h"
#include "spool.h"
#include "submit.h"
#include "usage.h"
#include "vis.h"

enum mode { M_SUBMIT, M_MAILQ, M_NEWALIASES, M_RUNQ, M_VERIFY, M_SMTP };
enum delivery { D_BACKGROUND, D_QUEUE, D_INTERACTIVE };

struct sm_opts {
	enum mode mode;
	enum delivery delivery;
	int extract, ignore_dots, verbose;
	const char *sender;	/* -f / -r as given */
	const char *fullname;	/* -F */
	const char *config;	/* -C */
	struct deliver_filter qsel;	/* -qI -qR -qS */
	int qselect;		/* any of them given */
	struct dsn_req dsn;	/* -N -R -V */
	const char *log_tag;	/* -L */
	int help;		/* --help: print the usage, nothing else */
	char **rcpts;
	size_t nrcpt;
};

/* Letters that take an argument (attached or as the next word). */
static const char arg_letters[] = "ABbCDdeFfhLMNOoprQRVX";
/* Letters without an argument. */
static const char flag_letters[] = "cEGIimnsTtUv";

/* The name called by (sendmail, mailq, newaliases): its usage text
 * (help.h) is the one printed after a usage error. */
static const char *sm_prog = "sendmail";

static int bad_usage(const char *fmt, ...) RQ_PRINTF(1, 2);

static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	help_vmisuse(sm_prog, sm_prog, fmt, ap);
	va_end(ap);
	return EX_USAGE;
}

/* -b<mode> */
static int
opt_b(struct sm_opts *o, const char *v)
{
	if (strcmp(v, "m") == 0)
		o->mode = M_SUBMIT;
	else if (strcmp(v, "p") == 0)
		o->mode = M_MAILQ;
	else if (strcmp(v, "i") == 0)
		o->mode = M_NEWALIASES;
	else if (strcmp(v, "v") == 0)
		o->mode = M_VERIFY;
	else if (strcmp(v, "s") == 0)
		o->mode = M_SMTP;
	else
		return bad_usage("-b%s: relayq is not a mail server "
		    "(no daemon, test or host-status modes)", v);
	return 0;
}

/* -o<option>: -oi and -od<mode> matter; -oe<x> and the rest do not. */
static int
opt_o(struct sm_opts *o, const char *v)
{
	if (strcmp(v, "i") == 0)
		o->ignore_dots = 1;
	else if (v[0] == 'd' && (v[1] == 'b' || v[1] == '\0'))
		o->delivery = D_BACKGROUND;
	else if (v[0] == 'd' && (v[1] == 'q' || v[1] == 'd'))
		o->delivery = D_QUEUE;
	else if (v[0] == 'd' && v[1] == 'i')
		o->delivery = D_INTERACTIVE;
	else if (v[0] == 'd')
		return bad_usage("-o%s: unknown delivery mode", v);
	/* -oe (error mode), -oQ (queue dir: ignored), -oX...: no effect. */
	return 0;
}

/* Add one -qI/-qR/-qS string to its list. */
static int
opt_qsel(struct sm_opts *o, char kind, const char *s)
{
	struct deliver_filter *f = &o->qsel;
	const char **v = kind == 'I' ? f->ids : kind == 'R' ? f->domains :
	    f->senders;
	size_t *n = kind == 'I' ? &f->nids : kind == 'R' ? &f->ndomains :
	    &f->nsenders;

	if (*s == '\0' || (kind == 'R' && strcmp(s, "@") == 0))
		return bad_usage("-q%c: missing the string to match", kind);
	if (vis_has_ctl(s))
		return bad_usage("-q%c: control character", kind);
	if (kind == 'I' && strspn(s, "0123456789ABCDEFabcdef") != strlen(s))
		return bad_usage("-qI%s: queue ids are hexadecimal", s);
	if (*n == DELIVER_FILTER_MAX)
		return bad_usage("-q%c: more than %d given", kind,
		    DELIVER_FILTER_MAX);
	v[(*n)++] = s;
	o->qselect = 1;
	return 0;
}

/* -q, -qf, -qI<id>, -qR<domain>, -qS<sender>; periodic runs refused. */
static int
opt_q(struct sm_opts *o, const char *v)
{
	o->mode = M_RUNQ;
	if (*v == '\0' || strcmp(v, "f") == 0)
		return 0;
	if (v[0] == 'I' || v[0] == 'R' || v[0] == 'S')
		return opt_qsel(o, v[0], v + 1);
	if (v[0] == 'G' || v[0] == 'Q' || v[0] == 'L' || v[0] == '!')
		return bad_usage("-q%s: selective queue runs are not supported "
		    "by this version of relayq", v);
	return bad_usage("-q%s: periodic queue runs are the job of \"relayq "
	    "daemon\" (or of \"sendmail -q\" from cron or relayq-run.timer)",
	    v);
}

/* -N notify, -R ret, -V envid (RFC 3461, sendmail's syntax); -L tag. */
static int
opt_dsn_tag(struct sm_opts *o, char c, const char *v)
{
	switch (c) {
	case 'N':
		if (dsn_notify_parse(v, &o->dsn.notify) == -1)
			return bad_usage("-N%s: expected never, or a comma "
			    "list of success, failure, delay", v);
		return 0;
	case 'R':
		if (dsn_ret_parse(v, &o->dsn.ret) == -1)
			return bad_usage("-R%s: expected full or hdrs", v);
		return 0;
	case 'V':
		if (dsn_envid_parse(v, o->dsn.envid) == -1)
			return bad_usage("-V: the envelope id must be printable "
			    "ASCII, at most %d characters as xtext",
			    DSN_ENVID_MAX);
		return 0;
	}
	if (*v == '\0' || vis_has_ctl(v) || strlen(v) > 64)
		return bad_usage("-L: the syslog tag must be 1 to 64 printable "
		    "characters");
	o->log_tag = v;
	return 0;
}

static int
opt_letter(struct sm_opts *o, char c, const char *v)
{
	switch (c) {
	case 't': o->extract = 1; return 0;
	case 'i': o->ignore_dots = 1; return 0;
	case 'v': o->verbose = 1; return 0;
	case 'I': o->mode = M_NEWALIASES; return 0;
	case 'f': case 'r': o->sender = v; return 0;
	case 'F': o->fullname = v; return 0;
	case 'C': o->config = v; return 0;
	case 'b': return opt_b(o, v);
	case 'o': return opt_o(o, v);
	case 'q': return opt_q(o, v);
	case 'B':
		if (strcasecmp(v, "7BIT") != 0 && strcasecmp(v, "8BITMIME") != 0)
			return bad_usage("-B%s: expected 7BIT or 8BITMIME", v);
		return 0;	/* relayq looks at the bytes itself */
	case 'N': case 'R': case 'V': case 'L':
		return opt_dsn_tag(o, c, v);
	}
	/* c E G m n s T U A D d e h M O p Q X: no effect here. */
	return 0;
}

/*
 * One "-xyz" word (argv[*i]). Letters with an argument take the rest of
 * the word or the next word; -q takes only an attached argument.
 */
static int
parse_word(struct sm_opts *o, int argc, char **argv, int *i)
{
	const char *w = argv[*i] + 1, *v;
	int r;

	if (*w == '-')	/* a long option: only --help is one */
		return bad_usage("%s: unknown option", argv[*i]);
	for (; *w != '\0'; w++) {
		if (*w == 'q')
			return opt_q(o, w + 1);
		if (strchr(arg_letters, *w) != NULL) {
			if (w[1] != '\0')
				v = w + 1;
			else if (*i + 1 < argc)
				v = argv[++*i];
			else
				return bad_usage("-%c: missing argument", *w);
			return opt_letter(o, *w, v);
		}
		if (strchr(flag_letters, *w) == NULL)
			return bad_usage("-%c: unknown option", *w);
		if ((r = opt_letter(o, *w, NULL)) != 0)
			return r;
	}
	return 0;
}

static int
parse_args(struct sm_opts *o, int argc, char **argv)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0) {
			o->help = 1;
			return 0;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if ((r = parse_word(o, argc, argv, &i)) != 0)
			return r;
	}
	o->rcpts = argv + i;
	o->nrcpt = (size_t)(argc - i);
	return 0;
}

static int
first_addr(void *arg, const char *a)
{
	char **out = arg;

	if (*out == NULL && (*out = strdup(a)) == NULL)
		return -1;
	return 0;
}

/* -f value: "<>", "addr" or "Name <addr>" -> qualified address. */
static enum rq_status
sender_address(const char *v, const char *domain, char **out, struct err *e)
{
	char *a = NULL;

	*out = NULL;
	if (vis_has_ctl(v))
		return err_set(e, RQ_DATAERR, "-f: control character in the "
		    "sender address");
	if (addr_parse_list(v, strlen(v), first_addr, &a, e) != RQ_OK)
		return err_set(e, RQ_DATAERR, "-f: malformed sender address");
	if (a == NULL)
		return (*out = strdup("")) != NULL ? RQ_OK :
		    err_sys(e, RQ_TEMP, "strdup");
	if (addr_check(a, "-f", e) != RQ_OK) {
		free(a);
		return RQ_DATAERR;
	}
	*out = addr_qualify(a, domain);
	free(a);
	return *out != NULL ? RQ_OK : err_sys(e, RQ_TEMP, "strdup");
}

/* The GECOS full name ("&" = capitalised login), or NULL. */
static char *
gecos_name(const struct passwd *pw)
{
	char *name, *amp;
	size_t n;

	if (pw == NULL || pw->pw_gecos == NULL || pw->pw_gecos[0] == '\0' ||
	    pw->pw_name == NULL || pw->pw_name[0] == '\0')
		return NULL;
	n = strcspn(pw->pw_gecos, ",");
	if ((name = strndup(pw->pw_gecos, n)) == NULL || vis_has_ctl(name) ||
	    n == 0) {
		free(name);
		return NULL;
	}
	if ((amp = strchr(name, '&')) != NULL) {
		char *full;

		*amp = '\0';
		if (asprintf(&full, "%s%c%s%s", name,
		    (pw->pw_name[0] >= 'a' && pw->pw_name[0] <= 'z') ?
		    pw->pw_name[0] - 32 : pw->pw_name[0], pw->pw_name + 1,
		    amp + 1) == -1)
			full = NULL;
		free(name);
		name = full;
	}
	return name;
}

struct submission {
	char *sender, *from_addr, *fullname;
	char **rcpts;
	size_t nrcpt;
};

static void
submission_free(struct submission *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	free(s->sender);
	free(s->from_addr);
	free(s->fullname);
}

/* Everything about the envelope that can be checked before input. */
static enum rq_status
prepare(const struct sm_opts *o, const struct cfg *c, struct submission *s,
    struct err *e)
{
	const char *domain = cfg_domain(c);
	struct passwd *pw = getpwuid(getuid());
	char login[64];
	enum rq_status st;

	memset(s, 0, sizeof(*s));
	if (o->nrcpt == 0 && !o->extract)
		return err_set(e, RQ_USAGE, "no recipients given (name them "
		    "as arguments, or use -t)");
	if (pw != NULL && !vis_has_ctl(pw->pw_name) && pw->pw_name[0] != '\0')
		strlcpy(login, pw->pw_name, sizeof(login));
	else
		snprintf(login, sizeof(login), "uid%lu",
		    (unsigned long)getuid());
	if ((s->from_addr = addr_qualify(login, domain)) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	if (o->sender != NULL) {
		if ((st = sender_address(o->sender, domain, &s->sender, e)) !=
		    RQ_OK)
			return st;
		if (s->sender[0] != '\0') {
			free(s->from_addr);
			if ((s->from_addr = strdup(s->sender)) == NULL)
				return err_sys(e, RQ_TEMP, "malloc");
		}
	} else if ((s->sender = strdup(s->from_addr)) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	if (o->fullname != NULL && vis_has_ctl(o->fullname))
		return err_set(e, RQ_DATAERR, "-F: control character in the "
		    "full name");
	s->fullname = o->fullname != NULL ? strdup(o->fullname) :
	    gecos_name(pw);
	return submit_parse_rcpts(o->rcpts, o->nrcpt, domain, &s->rcpts,
	    &s->nrcpt, e);
}

#ifndef RELAYQ_SUBMIT_ONLY
/*
 * Fork a detached child for background delivery: 0 in the child (fds 0-2
 * on /dev/null: the caller must not wait on our descriptors), the pid or
 * -1 in the parent.
 */
static pid_t
background(const char *what)
{
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warn("%s: background delivery not started", what);
		return -1;
	}
	if (pid == 0)
		runexec_detach();
	return pid;
}

/* Deliver ids now: in the foreground (-odi) or in a detached child. */
static void
deliver_now(const struct sm_opts *o, struct cfg *c,
    const char (*ids)[SPOOL_ID_LEN + 1], size_t n)
{
	int bg = o->delivery == D_BACKGROUND;
	size_t i;

	if (bg && background(ids[0]) != 0)
		return;
	for (i = 0; i < n; i++)
		(void)cmd_run_queue(c, ids[i], 1, bg ? 0 : o->verbose, !bg);
	if (bg)
		_exit(0);
}
#else
/*
 * The same through relayq (runexec.h): `relayq [-C FILE] [-v] queue flush
 * ID...`, detached for background delivery, else waited for.
 */
static void
deliver_now(const struct sm_opts *o, struct cfg *c,
    const char (*ids)[SPOOL_ID_LEN + 1], size_t n)
{
	int bg = o->delivery == D_BACKGROUND;
	char relayq[] = "relayq", copt[] = "-C", vopt[] = "-v",
	    queue[] = "queue", flush[] = "flush";
	char **argv;
	size_t i, k = 0;
	struct err e;

	if ((argv = calloc(n + 7, sizeof(*argv))) == NULL) {
		log_warn("%s: delivery not started", ids[0]);
		return;
	}
	argv[k++] = relayq;
	if (strcmp(c->path, RELAYQ_CONFIG_PATH) != 0) {
		argv[k++] = copt;
		argv[k++] = c->path;
	}
	if (o->verbose && !bg)
		argv[k++] = vopt;
	argv[k++] = queue;
	argv[k++] = flush;
	for (i = 0; i < n; i++)
		argv[k++] = (char *)(uintptr_t)ids[i];
	if (runexec_spawn(argv, bg, &e) == -1)
		log_warnx("%s: delivery not started: %s", ids[0], e.msg);
	free(argv);
}
#endif

/*
 * Non-zero when relayq daemon was told about new mail and sends it now.
 * wake comes from daemon_wake_open() (made before the group was dropped)
 * and is closed here. -odq leaves the mail for a later run; -odi, when
 * the caller may deliver itself, shows the outcome in the foreground.
 */
static int
woke_daemon(const struct sm_opts *o, int may_deliver, int wake)
{
	if (o->delivery == D_QUEUE ||
	    (o->delivery == D_INTERACTIVE && may_deliver)) {
		if (wake != -1)
			close(wake);
		return 0;
	}
	return daemon_wake(wake) == 0;
}

/* After the commit: the daemon, else deliver now, in the background, or
 * leave queued. */
static void
after_commit(const struct sm_opts *o, struct cfg *c, const char *id,
    int may_deliver, int wake)
{
	char one[1][SPOOL_ID_LEN + 1];

	if (woke_daemon(o, may_deliver, wake))
		return;
	if (o->delivery == D_QUEUE || !may_deliver)
		return;		/* `sendmail -q` (cron, timer) sends it */
	strlcpy(one[0], id, sizeof(one[0]));
	deliver_now(o, c, (const char (*)[SPOOL_ID_LEN + 1])one, 1);
}

/*
 * Room in the spool, and the caller under its queue limits? Asked while
 * the maildrop can still be listed (set-gid), before anything is read;
 * a set-gid helper asks again for each entry it makes (usage.h).
 */
static enum rq_status
admission(const struct cfg *c, const struct spool *sp, struct err *e)
{
	if (usage_space_check(c, sp->fd[SP_MAILDROP], e) != RQ_OK)
		return RQ_TEMP;
	return usage_user_check(c, sp->fd[SP_MAILDROP], getuid(), NULL, e);
}

/* Check the envelope, then queue what infd holds: *id on RQ_OK. */
/* The options of submit_message() for what prepare() gathered. */
static void
submit_opts_of(const struct sm_opts *o, const struct cfg *c,
    const struct submission *s, struct submit_opts *so)
{
	memset(so, 0, sizeof(*so));
	so->sender = s->sender;
	so->from_addr = s->from_addr;
	so->fullname = s->fullname;
	so->extract = o->extract;
	so->ignore_dots = o->ignore_dots;
	so->rcpts = (const char *const *)s->rcpts;
	so->nrcpt = s->nrcpt;
	so->uid = getuid();
	so->hostname = cfg_hostname(c);
	so->domain = cfg_domain(c);
	so->max_size = c->max_size;
	so->drop_privileges = priv_is_setid();
	so->dsn = &o->dsn;
}

static enum rq_status
submit_from(const struct sm_opts *o, const struct cfg *c, int was_setid, int infd,
    char id[SPOOL_ID_LEN + 1], struct err *e)
{
	struct submission s;
	struct submit_opts so;
	struct usage_admit ua;
	struct spool sp;
	struct dropper dr = DROPPER_INIT;
	enum rq_status st;

	if ((st = prepare(o, c, &s, e)) != RQ_OK) {
		submission_free(&s);
		return st;
	}
	/* Directories are made only without the set-id group (-C dropped
	 * it): never with the group, always for a private spool. */
	if ((st = spool_open(&sp, c->queue_dir, 1u << SP_MAILDROP,
	    !(was_setid && priv_is_setid()), e)) != RQ_OK) {
		submission_free(&s);
		return st;
	}
	if ((st = admission(c, &sp, e)) != RQ_OK) {
		spool_close(&sp);
		submission_free(&s);
		return st;
	}
	ua.c = c;
	ua.uid = getuid();
	dr.admit = usage_admit;
	dr.admit_arg = &ua;
	submit_opts_of(o, c, &s, &so);
	/*
	 * Set-gid: the group must not be effective while the input is read,
	 * yet the commit and the removal of a failed submission's entry need
	 * it: it stays the saved group only, effective just inside the
	 * dropper's calls (dropper.h), and goes for good in dropper_stop().
	 */
	if (was_setid && priv_is_setid()) {
		so.drop_privileges = 0;
		if ((st = dropper_start(&dr, sp.fd[SP_MAILDROP], e)) !=
		    RQ_OK) {
			spool_close(&sp);
			submission_free(&s);
			return st;
		}
		so.create = dropper_create;
		so.named = dropper_named;
		so.create_arg = &dr;
	}
	/* The sender policy, before anything is read or queued. */
	if ((st = refuse_check(c, s.sender, sp.fd[SP_MAILDROP], &so, e)) ==
	    RQ_OK)
		st = submit_message(sp.fd[SP_MAILDROP], &so, infd, id, e);
	dropper_stop(&dr);
	spool_close(&sp);
	if (st == RQ_OK)
		log_info("%s: uid=%lu from=<%s> (queued)", id,
		    (unsigned long)getuid(), s.sender);
	submission_free(&s);
	return st;
}

#ifndef RELAYQ_SUBMIT_ONLY
struct verify {
	const char *domain, *host;
	int bad;
};

/* "addr... malformed address", control characters shown as '?'. */
static void
verify_malformed(struct verify *v, const char *a)
{
	for (; *a != '\0'; a++)
		putchar(vis_is_ctl((unsigned char)*a) ? '?' : *a);
	printf("... malformed address\n");
	v->bad = 1;
}

static int
verify_one(void *arg, const char *a)
{
	struct verify *v = arg;
	char *q;

	if (addr_check(a, "address", NULL) != RQ_OK) {
		verify_malformed(v, a);
		return 0;
	}
	if ((q = addr_qualify(a, v->domain)) == NULL)
		return -1;
	printf("%s... deliverable: mailer relay, host %s\n", q,
	    v->host != NULL ? v->host : "(none: no [smarthost] host set)");
	free(q);
	return 0;
}

/*
 * sendmail -bv: parse and qualify each argument, say where it would go;
 * nothing is queued or sent. EX_DATAERR when any address is malformed.
 */
static int
do_verify(const struct sm_opts *o, const struct cfg *c, int was_setid)
{
	struct verify v = { cfg_domain(c), c->smarthost.host, 0 };
	enum rq_status st;
	struct err e;
	size_t i;

	if (was_setid && priv_drop_or_fail(&e) != RQ_OK)
		return cmd_fail("sendmail", &e);
	if (o->nrcpt == 0)
		return bad_usage("-bv: name the addresses to verify");
	for (i = 0; i < o->nrcpt; i++) {
		st = vis_has_ctl(o->rcpts[i]) ? RQ_DATAERR : addr_parse_list(
		    o->rcpts[i], strlen(o->rcpts[i]), verify_one, &v, &e);
		if (st == RQ_DATAERR)
			verify_malformed(&v, o->rcpts[i]);
		else if (st != RQ_OK)
			return cmd_fail("sendmail", &e);
	}
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return v.bad ? EX_DATAERR : EX_OK;
}
#endif

static int
do_submit(const struct sm_opts *o, struct cfg *c, int custom, int was_setid)
{
	char id[SPOOL_ID_LEN + 1];
	struct err e;

	/* A caller that stopped reading stdout/stderr must not turn a
	 * committed message into a death by SIGPIPE. */
	int wake;

	(void)signal(SIGPIPE, SIG_IGN);
	wake = daemon_wake_open(c->queue_dir);	/* still set-gid here */
	if (submit_from(o, c, was_setid, STDIN_FILENO, id, &e) != RQ_OK) {
		if (wake != -1)
			close(wake);
		return cmd_fail("sendmail", &e);
	}
	after_commit(o, c, id, !was_setid || getuid() == 0 || custom, wake);
	return EX_OK;
}

/* An id a -bs session queued, kept for delivery after it. */
static void
bs_queued(void *arg, const char *id)
{
	/* Without memory the message stays queued for `sendmail -q`. */
	(void)idlist_add_id(arg, id);
}

/* MAIL FROM in -bs: the sender policy of refuse.h. */
static enum rq_status
bs_sender_ok(void *arg, int dirfd, const struct submit_opts *tmpl,
    const char *sender, struct err *e)
{
	struct cfg *c = arg;
	enum rq_status st;
	char *q;

	if ((q = *sender == '\0' ? strdup("") :
	    addr_qualify(sender, cfg_domain(c))) == NULL)
		return err_sys(e, RQ_TEMP, "malloc");
	st = refuse_check(c, q, dirfd, tmpl, e);
	free(q);
	return st;
}

/* -bs cannot use stderr: a failure before the session is a 421 reply. */
static int
bs_fail(const struct err *e)
{
	log_warnx("smtp session refused: %s", e->msg);
	printf("421 4.3.0 relayq: %s\r\n", e->msg);
	fflush(stdout);
	return err_exitcode(e->status);
}

/* Deliver what the session queued, as after_commit() does for one. */
static void
bs_deliver(const struct sm_opts *o, struct cfg *c, const struct idlist *ids,
    int may_deliver, int wake)
{
	if (ids->n == 0) {
		if (wake != -1)
			close(wake);
		return;
	}
	if (woke_daemon(o, may_deliver, wake))
		return;
	if (o->delivery == D_QUEUE || !may_deliver)
		return;
	deliver_now(o, c, (const char (*)[SPOOL_ID_LEN + 1])ids->ids, ids->n);
}

/* The template of every message of the session (dr: the set-id group's
 * dropper when active). */
static void
bs_template(const struct sm_opts *o, const struct cfg *c, const struct submission *s,
    struct dropper *dr, struct submit_opts *tmpl)
{
	memset(tmpl, 0, sizeof(*tmpl));
	tmpl->from_addr = s->from_addr;
	tmpl->fullname = s->fullname;
	tmpl->uid = getuid();
	tmpl->hostname = cfg_hostname(c);
	tmpl->domain = cfg_domain(c);
	tmpl->max_size = c->max_size;
	tmpl->dsn = &o->dsn;
	if (dr->active) {
		tmpl->create = dropper_create;
		tmpl->named = dropper_named;
		tmpl->create_arg = dr;
	}
}

/*
 * sendmail -bs: an SMTP session on stdin/stdout. The maildrop directory
 * is opened like for one message, then privileges go before the first
 * byte of input. Nothing goes to stderr; exit 0 whatever the client did.
 */
static int
do_smtp(const struct sm_opts *o, struct cfg *c, int custom, int was_setid)
{
	struct sm_opts po = *o;
	struct submission s;
	struct submit_opts tmpl;
	struct smtpd_params p;
	struct idlist ids = { NULL, 0, 0 };
	struct usage_admit ua;
	struct dropper dr = DROPPER_INIT;
	struct spool sp;
	struct err e;
	int wake;

	(void)signal(SIGPIPE, SIG_IGN);	/* a vanished client is no crash */
	po.extract = 1;			/* no recipients on the command line */
	po.nrcpt = 0;
	if (prepare(&po, c, &s, &e) != RQ_OK ||
	    spool_open(&sp, c->queue_dir, 1u << SP_MAILDROP,
	    !(was_setid && priv_is_setid()), &e) != RQ_OK) {
		submission_free(&s);
		return bs_fail(&e);
	}
	if (admission(c, &sp, &e) != RQ_OK) {
		spool_close(&sp);
		submission_free(&s);
		return bs_fail(&e);
	}
	wake = daemon_wake_open(c->queue_dir);	/* still set-gid here */
	ua.c = c;
	ua.uid = getuid();
	dr.admit = usage_admit;
	dr.admit_arg = &ua;
	/* Set-id: the group is effective only inside the dropper's calls. */
	if (priv_is_setid() && dropper_start(&dr, sp.fd[SP_MAILDROP], &e) !=
	    RQ_OK) {
		if (wake != -1)
			close(wake);
		spool_close(&sp);
		submission_free(&s);
		return bs_fail(&e);
	}
	bs_template(o, c, &s, &dr, &tmpl);
	memset(&p, 0, sizeof(p));
	p.hostname = cfg_hostname(c);
	p.dirfd = sp.fd[SP_MAILDROP];
	p.tmpl = &tmpl;
	p.queued = bs_queued;
	p.arg = &ids;
	p.sender_ok = bs_sender_ok;
	p.sender_arg = c;
	if (smtpd_session(STDIN_FILENO, STDOUT_FILENO, &p, &e) != RQ_OK)
		log_warnx("%s", e.msg);
	dropper_stop(&dr);
	spool_close(&sp);
	submission_free(&s);
	bs_deliver(o, c, &ids, !was_setid || getuid() == 0 || custom, wake);
	idlist_free(&ids);
	return EX_OK;
}

#ifdef RELAYQ_SUBMIT_ONLY
/*
 * What needs the runner (-q, -bp, -bi, -bv): relayq under prog's name
 * with the same arguments, in place of this process.
 */
static int
hand_to_relayq(const char *prog, int argc, char **argv)
{
	char name[16];
	char **v;
	struct err e;

	if ((v = calloc((size_t)argc + 1, sizeof(*v))) == NULL) {
		err_sys(&e, RQ_TEMP, "malloc");
		return cmd_fail(prog, &e);
	}
	memcpy(v, argv, (size_t)argc * sizeof(*v));
	strlcpy(name, prog, sizeof(name));
	v[0] = name;
	(void)runexec_replace(v, &e);
	free(v);
	return cmd_fail(prog, &e);
}
#endif

/*
 * The configuration for submission (and mailq): a problem outside
 * [queue] and [local] is told, and the message queued all the same.
 */
static enum rq_status
submit_config(const struct sm_opts *o, const char *prog, struct cfg *c,
    int *custom, struct err *e)
{
	struct err problem;
	enum rq_status st;

	if ((st = cmd_load_config_core(o->config, c, custom, &problem, e)) !=
	    RQ_OK || problem.status == RQ_OK)
		return st;
	if (o->mode == M_MAILQ)
		fprintf(stderr, "%s: %s (the queue is not delivered until "
		    "this is fixed)\n", prog, problem.msg);
	else
		log_warnx("%s (the message is queued, but not delivered "
		    "until this is fixed)", problem.msg);
	return RQ_OK;
}

/* Do what the mode asks, once the configuration is loaded. */
static int
run_mode(const struct sm_opts *o, struct cfg *c, const char *prog, int custom,
    int was_setid)
{
	switch (o->mode) {
#ifndef RELAYQ_SUBMIT_ONLY
	case M_MAILQ:
		return cmd_list_queue(c, prog, 0);
	case M_NEWALIASES:
		return cmd_newaliases(c, prog);
	case M_RUNQ:
		/* Postfix's and sendmail's -q: attempt every queued message
		 * now (after fixing the smarthost settings, say). `relayq
		 * run`, from the timer or cron, keeps the retry schedule. */
		cmd_log_runner(c, 0);
		return o->qselect ? cmd_run_selected(c, &o->qsel, o->verbose) :
		    cmd_run_queue(c, NULL, 1, o->verbose, o->verbose);
	case M_VERIFY:
		return do_verify(o, c, was_setid);
#else
	default:	/* handed to relayq above */
		return EX_SOFTWARE;
#endif
	case M_SUBMIT:
		return do_submit(o, c, custom, was_setid);
	case M_SMTP:
		return do_smtp(o, c, custom, was_setid);
	}
	return EX_SOFTWARE;
}

int
cmd_sendmail(int argc, char **argv, enum cmd_persona persona)
{
	const char *prog = persona == PERSONA_MAILQ ? "mailq" :
	    persona == PERSONA_NEWALIASES ? "newaliases" : "sendmail";
	int was_setid = priv_is_setid(), custom, r;
	enum rq_status st;
	struct sm_opts o;
	struct cfg c;
	struct err e;

	memset(&o, 0, sizeof(o));
	if (persona == PERSONA_MAILQ)
		o.mode = M_MAILQ;
	else if (persona == PERSONA_NEWALIASES)
		o.mode = M_NEWALIASES;
	sm_prog = prog;
	if ((r = parse_args(&o, argc, argv)) != 0)
		return r;
	if (o.help) {
		(void)help_print(stdout, prog);
		return EX_OK;
	}
#ifdef RELAYQ_SUBMIT_ONLY
	if (o.mode != M_SUBMIT && o.mode != M_SMTP)
		return hand_to_relayq(prog, argc, argv);
#endif
	log_init(o.log_tag != NULL ? o.log_tag : prog, LOG_TO_SYSLOG |
	    (o.mode == M_SMTP ? 0 : LOG_TO_STDERR), o.verbose);
	if (o.mode == M_SUBMIT || o.mode == M_SMTP || o.mode == M_MAILQ)
		st = submit_config(&o, prog, &c, &custom, &e);
	else
		st = cmd_load_config(o.config, &c, &custom, &e);
	if (st != RQ_OK) {
		cfg_free(&c);
		return o.mode == M_SMTP ? bs_fail(&e) :
		    cmd_config_fail(prog, &e);
	}
	if (was_setid && !custom)
		priv_clean_env();
	r = run_mode(&o, &c, prog, custom, was_setid);
	cfg_free(&c);
	return r;
}
