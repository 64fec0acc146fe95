/*
 * cmd_relayq.c - `relayq [-C file] [-v] COMMAND`: run, daemon, queue
 * management and smarthost tests: it parses and prints, the modules do
 * the work (queue changes: queue_apply(), under each entry's lock, so
 * they are safe while a runner is working).
 * The command line is checked, and help printed, before the configuration
 * is read; the usage texts are help.c's. Errors about a queue entry name
 * its id once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "aliases.h"
#include "authpause.h"
#include "cmd.h"
#include "daemon.h"
#include "deliver.h"
#include "diagnose.h"
#include "help.h"
#include "log.h"
#include "mailq.h"
#include "pickup.h"
#include "priv.h"
#include "queue.h"
#include "route.h"
#include "smarthost.h"
#include "smtp.h"
#include "spool.h"
#include "vis.h"

struct rq_ctx {
	struct cfg c;
	int verbose;
	int custom;
};

/* "relayq: MESSAGE" and the usage of topic, to stderr; EX_USAGE. */
static int misuse(const char *topic, const char *fmt, ...) RQ_PRINTF(2, 3);

static int
misuse(const char *topic, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	help_vmisuse("relayq", topic, fmt, ap);
	va_end(ap);
	return EX_USAGE;
}

/* A malformed id: say what an id looks like (mailq's first column). */
static int
bad_id(const char *id)
{
	fprintf(stderr, "relayq: %s: not a queue id (an id is %d characters "
	    "0-9 and A-F, as mailq shows it, without a trailing * or !)\n",
	    id, SPOOL_ID_LEN);
	return EX_USAGE;
}

/* "relayq: ID: what went wrong", naming the id once: the messages of
 * the queue functions mostly begin with it already. */
static int
id_fail(const char *id, const struct err *e)
{
	size_t n = strlen(id);

	if (strncmp(e->msg, id, n) == 0 && e->msg[n] == ':')
		fprintf(stderr, "relayq: %s\n", e->msg);
	else
		fprintf(stderr, "relayq: %s: %s\n", id, e->msg);
	return err_exitcode(e->status);
}

/*
 * Only root and the spool's owner may run or change the queue: say so
 * before anything fails with a bare "Permission denied". 0 when the
 * caller may, else the exit code (EX_NOPERM, as mailq's).
 */
static int
need_owner(const struct rq_ctx *x, char **argv)
{
	const struct passwd *pw;
	struct stat st;
	const char *q = strcmp(argv[0], "queue") == 0 ? " " : "";

	if (geteuid() == 0 || stat(x->c.queue_dir, &st) == -1 ||
	    st.st_uid == geteuid())
		return 0;
	pw = getpwuid(st.st_uid);
	fprintf(stderr, "relayq: %s%s%s: the queue in %s belongs to %s%s: run "
	    "this as root (sudo)%s%s\n", argv[0], q, *q ? argv[1] : "",
	    x->c.queue_dir, st.st_uid == 0 ? "root" : "user ",
	    st.st_uid == 0 ? "" : pw != NULL ? pw->pw_name : "(no name)",
	    st.st_uid == 0 || pw == NULL ? "" : " or as ",
	    st.st_uid == 0 || pw == NULL ? "" : pw->pw_name);
	return EX_NOPERM;
}

/* Open the spool as its owner; mail still in the maildrop is picked up
 * first, so that every id mailq shows can be acted on. */
static int
open_queue(struct rq_ctx *x, struct spool *sp, struct err *e)
{
	struct aliases al;

	if (priv_become_runner(x->c.queue_dir, e) != RQ_OK ||
	    spool_open(sp, x->c.queue_dir, (1u << SP_NSUB) - 1, 1, e) != RQ_OK)
		return cmd_fail("relayq", e);
	if (pickup_run(sp, pickup_aliases(&x->c, &al), NULL, NULL, e) != RQ_OK)
		log_warnx("pickup: %s", e->msg);
	aliases_free(&al);
	return 0;
}

/* Append the held entries to l (for "delete ALL"). */
static int
add_held(const struct spool *sp, struct idlist *l, struct err *e)
{
	struct idlist held;
	size_t i;

	if (queue_scan(sp, SP_HOLD, &held, e) != RQ_OK) {
		idlist_free(l);
		return cmd_fail("relayq", e);
	}
	for (i = 0; i < held.n; i++)
		if (idlist_add_id(l, held.ids[i]) == -1) {
			idlist_free(&held);
			idlist_free(l);
			err_sys(e, RQ_TEMP, "malloc");
			return cmd_fail("relayq", e);
		}
	idlist_free(&held);
	return 0;
}

/*
 * Expand the ID arguments: "ALL" is every entry of sub (and, with
 * also_held, of hold/ too).
 */
static int
id_args(const struct spool *sp, enum spool_sub sub, int also_held,
    int argc, char **argv, struct idlist *l, struct err *e)
{
	int i;

	memset(l, 0, sizeof(*l));
	if (argc == 1 && strcmp(argv[0], "ALL") == 0) {
		if (queue_scan(sp, sub, l, e) != RQ_OK)
			return cmd_fail("relayq", e);
		if (also_held)
			return add_held(sp, l, e);
		return 0;
	}
	for (i = 0; i < argc; i++) {
		if (!spool_id_valid(argv[i])) {
			idlist_free(l);
			return bad_id(argv[i]);
		}
		if (idlist_add_id(l, argv[i]) == -1) {
			idlist_free(l);
			err_sys(e, RQ_TEMP, "malloc");
			return cmd_fail("relayq", e);
		}
	}
	return 0;
}

static int
cmd_queue_op(struct rq_ctx *x, enum queue_op op, int argc, char **argv)
{
	static const char *const done[] = { "deleted", "held", "released",
	    "requeued" };
	static const char *const topic[] = { "queue delete", "queue hold",
	    "queue release", "queue requeue" };
	struct spool sp;
	struct idlist l;
	struct err e;
	size_t i;
	int r, failed = 0;

	if (argc == 0)
		return misuse(topic[op], "%s: name at least one queue id "
		    "(mailq lists them), or ALL", topic[op]);
	if ((r = open_queue(x, &sp, &e)) != 0)
		return r;
	if ((r = id_args(&sp, op == Q_RELEASE ? SP_HOLD : SP_QUEUE,
	    op == Q_DELETE, argc, argv, &l, &e)) != 0) {
		spool_close(&sp);
		return r;
	}
	for (i = 0; i < l.n; i++) {
		if (queue_apply(&sp, op, l.ids[i], &e) != RQ_OK)
			failed = id_fail(l.ids[i], &e);
		else {
			log_info("%s: %s by uid %lu", l.ids[i], done[op],
			    (unsigned long)getuid());
			printf("%s: %s\n", l.ids[i], done[op]);
		}
	}
	idlist_free(&l);
	spool_close(&sp);
	return failed;
}

/* One "name: value" line; the value came from a user or a smarthost. */
static void
show_field(const char *name, const char *value, int raw)
{
	printf("%s: ", name);
	if (raw)
		fputs(value, stdout);
	else
		vis_puts(stdout, value);
	putchar('\n');
}

static void
show_rcpt(const struct env_rcpt *r, int raw)
{
	printf("recipient: <");
	raw ? (void)fputs(r->addr, stdout) : vis_puts(stdout, r->addr);
	printf("> %s", r->state == RCPT_DONE ? "delivered" :
	    r->state == RCPT_FAILED ? "failed" :
	    r->state == RCPT_REPORTED ? "failed, sender notified" : "pending");
	if (r->reason != NULL) {
		printf(": ");
		raw ? (void)fputs(r->reason, stdout) :
		    vis_puts(stdout, r->reason);
	}
	putchar('\n');
}

static void
show_env(const struct env *env, const char *where, int raw)
{
	char when[64];
	size_t i;

	printf("id: %s (%s)\n", env->id, where);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z",
	    localtime(&env->arrival));
	printf("arrival: %s\nsubmitted by uid: %lu\n", when,
	    (unsigned long)env->uid);
	show_field("sender", env->sender, raw);
	printf("route: %s\npriority: %d\n", env->route != NULL ? env->route :
	    "(chosen when the runner first sees it)", env->priority);
	printf("size: %lld\nattempts: %u\n", (long long)env->msg_len,
	    env->attempts);
	if (env->next > 0) {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z",
		    localtime(&env->next));
		printf("next attempt: %s\n", when);
	}
	if (env->reason != NULL)
		show_field("last reason", env->reason, raw);
	for (i = 0; i < env->nrcpt; i++)
		show_rcpt(&env->rcpts[i], raw);
}

/* Copy the message text to stdout, escaped unless raw. */
static void
show_message(int fd, off_t off, off_t end, int raw)
{
	char buf[65536];
	struct vis v;
	ssize_t n;

	vis_init(&v);
	for (; off < end; off += n) {
		size_t want = end - off < (off_t)sizeof(buf) ?
		    (size_t)(end - off) : sizeof(buf);

		if ((n = pread(fd, buf, want, off)) <= 0)
			break;
		if (raw)
			fwrite(buf, 1, (size_t)n, stdout);
		else
			vis_write(&v, stdout, buf, (size_t)n);
		if (ferror(stdout))
			break;
	}
	if (!raw)
		vis_flush(&v, stdout);
}

/* Neither queue/ nor hold/ has a trace of id: gone, or never was. */
static int
id_gone(const struct spool *sp, const char *id)
{
	char name[SPOOL_ID_LEN + 8];

	snprintf(name, sizeof(name), "%s.env", id);
	return faccessat(sp->fd[SP_QUEUE], id, F_OK, AT_SYMLINK_NOFOLLOW) ==
	    -1 && faccessat(sp->fd[SP_HOLD], id, F_OK, AT_SYMLINK_NOFOLLOW) ==
	    -1 && faccessat(sp->fd[SP_QUEUE], name, F_OK,
	    AT_SYMLINK_NOFOLLOW) == -1 && faccessat(sp->fd[SP_HOLD], name,
	    F_OK, AT_SYMLINK_NOFOLLOW) == -1;
}

/* Load id's envelope from queue/, else hold/ (*sub says which). */
static int
show_load(const struct spool *sp, const char *id, enum spool_sub *sub,
    struct env *env, struct err *e)
{
	enum rq_status r;

	r = env_load(sp->fd[*sub = SP_QUEUE], id, env, e);
	if (r == RQ_NOINPUT)
		r = env_load(sp->fd[*sub = SP_HOLD], id, env, e);
	if (r == RQ_NOINPUT && id_gone(sp, id)) {
		fprintf(stderr, "relayq: %s: no such message (not queued "
		    "nor held; mailq lists the queue)\n", id);
		return EX_NOINPUT;
	}
	return r == RQ_OK ? 0 : id_fail(id, e);
}

static int
cmd_show(struct rq_ctx *x, int argc, char **argv)
{
	enum spool_sub sub;
	struct spool sp;
	struct env env;
	struct err e;
	int r, fd, raw = 0;

	if (argc >= 1 && strcmp(argv[0], "--raw") == 0) {
		raw = 1;
		argc--;
		argv++;
	}
	if (argc != 1)
		return misuse("queue show", "queue show: name one queue id");
	if (!spool_id_valid(argv[0]))
		return bad_id(argv[0]);
	if ((r = open_queue(x, &sp, &e)) != 0)
		return r;
	if ((r = show_load(&sp, argv[0], &sub, &env, &e)) != 0) {
		spool_close(&sp);
		return r;
	}
	if ((fd = openat(sp.fd[sub], argv[0], O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		env_free(&env);
		spool_close(&sp);
		err_sys(&e, RQ_NOINPUT, "%s", argv[0]);
		return cmd_fail("relayq", &e);
	}
	show_env(&env, spool_sub_name(sub), raw);
	printf("\n");
	show_message(fd, env.msg_off, env.msg_off + env.msg_len, raw);
	close(fd);
	env_free(&env);
	spool_close(&sp);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "relayq: queue show: standard output: %s\n",
		    strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}

/* Named ids, or all: one outcome line per message tried, on stderr. */
static int
cmd_flush(struct rq_ctx *x, int argc, char **argv)
{
	int i, r;

	for (i = 0; i < argc; i++)
		if (!spool_id_valid(argv[i]))
			return bad_id(argv[i]);
	cmd_log_runner(&x->c, 1);
	/* Asked for now: a route paused for refused credentials is tried
	 * again (the password was fixed, presumably). */
	authpause_clear_all(&x->c);
	if (argc == 0)
		return cmd_run_queue(&x->c, NULL, 1, x->verbose, 1);
	for (i = 0; i < argc; i++)
		if ((r = cmd_run_queue(&x->c, argv[i], 1, x->verbose, 1)) != 0)
			return r;
	return EX_OK;
}

/*
 * A host name without a dot, once per command: a warning for test,
 * setup and the daemon's start; for `relayq run`, which cron may start
 * every few minutes and mail its stderr each time, an informational
 * line (syslog; stderr only with -v).
 */
static void
hostname_note(struct rq_ctx *x, int warn)
{
	char msg[768];

	if (!cfg_hostname_advice(&x->c, msg, sizeof(msg)))
		return;
	if (warn)
		log_warnx("%s", msg);
	else
		log_info("note: %s", msg);
}

/* relayq test's arguments. */
struct test_args {
	const char *route;	/* NULL with all */
	int all;
	int json;
	const char *send_to;
	const char *from;
};

static int
test_parse(int argc, char **argv, struct test_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			a->all = 1;
		else if (strcmp(argv[i], "--json") == 0)
			a->json = 1;
		else if ((strcmp(argv[i], "--send") == 0 ||
		    strcmp(argv[i], "--from") == 0) && i + 1 < argc) {
			if (argv[i][2] == 's')
				a->send_to = argv[++i];
			else
				a->from = argv[++i];
		} else if (strcmp(argv[i], "--send") == 0 ||
		    strcmp(argv[i], "--from") == 0)
			return misuse("test", "test: %s: name the address",
			    argv[i]);
		else if (argv[i][0] == '-')
			return misuse("test", "test: %s: unknown option",
			    argv[i]);
		else if (a->route == NULL)
			a->route = argv[i];
		else
			return misuse("test", "test: %s: one route at a time "
			    "(or --all)", argv[i]);
	}
	if (a->all && a->route != NULL)
		return misuse("test", "test: name a route or --all, not both");
	if (a->from != NULL && a->send_to == NULL)
		return misuse("test", "test: --from needs --send");
	if (a->route == NULL && !a->all)
		a->route = "default";
	return 0;
}

/* "relayq: test: no route named NAME" with the names there are. */
static int
test_no_route(const struct cfg *c, const char *name)
{
	size_t i;

	fprintf(stderr, "relayq: test: no route named \"%s\" in %s "
	    "(routes:", name, c->path);
	for (i = 0; i < route_count(c); i++)
		fprintf(stderr, " %s", route_at(c, i)->name);
	fprintf(stderr, ")\n");
	return EX_USAGE;
}

/* The envelope sender of the test message: --from, else the route's
 * from address, else its account when it is an address, else the
 * caller at [local] domain. */
static const char *
test_sender(const struct cfg *c, const struct cfg_smarthost *sh,
    const struct test_args *a, char *buf, size_t size)
{
	const struct passwd *pw = getpwuid(getuid());

	if (a->from != NULL)
		return a->from;
	if (sh->from != NULL)
		return sh->from;
	if (sh->user != NULL && strchr(sh->user, '@'))
		return sh->user;
	snprintf(buf, size, "%s@%s", pw != NULL ? pw->pw_name : "root",
	    cfg_domain(c));
	return buf;
}

/* One route: resolve, connect, TLS, AUTH (and the message). */
static int
test_one(struct rq_ctx *x, const struct test_args *a, const char *name)
{
	const struct cfg_smarthost *sh;
	struct diag_opts o;
	struct smtp_params p;
	char *password = NULL, sender[512];
	struct err e;
	enum rq_status st;

	if ((sh = route_find(&x->c, name)) == NULL)
		return test_no_route(&x->c, name);
	if (smarthost_secrets(&x->c, sh, &password, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	smarthost_params(&x->c, sh, password, x->verbose, &p);
	memset(&o, 0, sizeof(o));
	o.route = name;
	o.send_to = a->send_to;
	o.sender = test_sender(&x->c, sh, a, sender, sizeof(sender));
	o.json = a->json;
	o.now = time(NULL);
	st = diag_test(&p, &o, stdout, &e);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	fflush(stdout);
	return st == RQ_OK ? EX_OK : err_exitcode(st);
}

/*
 * Is the smarthost configured right? Every step with its time, the usual
 * mistakes named with their fix; exit 0 only when all of it worked.
 */
static int
cmd_test(struct rq_ctx *x, int argc, char **argv)
{
	struct test_args a;
	struct err e;
	size_t i;
	int r, worst = EX_OK;

	if ((r = test_parse(argc, argv, &a)) != 0)
		return r;
	if (priv_become_runner(x->c.queue_dir, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	hostname_note(x, 1);
	if (!a.all)
		return test_one(x, &a, a.route);
	for (i = 0; i < route_count(&x->c); i++)
		if ((r = test_one(x, &a, route_at(&x->c, i)->name)) != EX_OK)
			worst = r;
	return worst;
}

/* The long-running runner (daemon.c) as the spool owner. */
static int
cmd_daemon(struct rq_ctx *x)
{
	struct err e;

	cmd_log_runner(&x->c, 1);
	hostname_note(x, 1);
	if (priv_become_runner(x->c.queue_dir, &e) != RQ_OK ||
	    daemon_run(&x->c, x->custom, x->verbose, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	return EX_OK;
}

/* relayq queue list [--json] */
static int
cmd_list(struct rq_ctx *x, int argc, char **argv)
{
	int json = argc == 1 && strcmp(argv[0], "--json") == 0;

	if (argc > 0 && !json)
		return misuse("queue list", "queue list: %s: %s", argv[0],
		    argv[0][0] == '-' ? "unknown option" :
		    "unexpected argument");
	return cmd_list_queue(&x->c, "relayq", json);
}

/* relayq queue SUBCOMMAND ... (the words after "queue"). */
static int
dispatch_queue(struct rq_ctx *x, int argc, char **argv)
{
	const char *sub = argv[0];

	argc--;
	argv++;
	if (strcmp(sub, "list") == 0)
		return cmd_list(x, argc, argv);
	if (strcmp(sub, "show") == 0)
		return cmd_show(x, argc, argv);
	if (strcmp(sub, "flush") == 0)
		return cmd_flush(x, argc, argv);
	if (strcmp(sub, "delete") == 0)
		return cmd_queue_op(x, Q_DELETE, argc, argv);
	if (strcmp(sub, "hold") == 0)
		return cmd_queue_op(x, Q_HOLD, argc, argv);
	if (strcmp(sub, "release") == 0)
		return cmd_queue_op(x, Q_RELEASE, argc, argv);
	return cmd_queue_op(x, Q_REQUEUE, argc, argv);
}

/* The command line was checked by precheck(): argv names a command. */
static int
dispatch(struct rq_ctx *x, int argc, char **argv)
{
	int r;

	/* queue list is mailq's: it has its own message. */
	if ((strcmp(argv[0], "queue") != 0 || strcmp(argv[1], "list") != 0) &&
	    strcmp(argv[0], "probe") != 0 && strcmp(argv[0], "setup") != 0 &&
	    (r = need_owner(x, argv)) != 0)
		return r;
	if (strcmp(argv[0], "run") == 0) {
		cmd_log_runner(&x->c, 1);
		hostname_note(x, 0);
		return cmd_run_queue(&x->c, NULL, 0, x->verbose, x->verbose);
	}
	if (strcmp(argv[0], "daemon") == 0)
		return cmd_daemon(x);
	if (strcmp(argv[0], "test") == 0)
		return cmd_test(x, argc, argv);
	if (strcmp(argv[0], "probe") == 0)
		return cmd_probe(&x->c, argc, argv);
	if (strcmp(argv[0], "setup") == 0)
		return cmd_setup(&x->c, x->verbose, argc, argv);
	return dispatch_queue(x, argc - 1, argv + 1);
}

/* relayq help [COMMAND ...]: stdout, or stderr and 64 when unknown. */
static int
cmd_help(int argc, char **argv)
{
	const char *topic;
	int used = 0;

	if (argc == 0)
		topic = "relayq";
	else if (argc == 1 && help_text(argv[0]) != NULL)
		topic = argv[0];	/* also sendmail, mailq, newaliases */
	else if ((topic = help_topic(argc, argv, &used)) == NULL ||
	    used != argc)
		return misuse("relayq", "help: %s%s%s: no such command",
		    argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	help_print(stdout, topic);
	return EX_OK;
}

/*
 * Everything that needs no configuration: help, version, and the check
 * that argv names a command with the right number of words. An exit
 * code, or -1 to go on.
 */
static int
precheck(int argc, char **argv)
{
	const char *topic;
	int used;

	if (argc < 1)
		return misuse("relayq", "name a command");
	if (strcmp(argv[0], "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if ((topic = help_topic(argc, argv, &used)) == NULL) {
		if (strcmp(argv[0], "queue") == 0 && argc >= 2)
			return misuse("queue", "queue %s: unknown command",
			    argv[1]);
		return misuse("relayq", "%s: unknown %s", argv[0],
		    argv[0][0] == '-' ? "option" : "command");
	}
	if (help_asked(argc - used, argv + used)) {
		help_print(stdout, topic);
		return EX_OK;
	}
	if (strcmp(topic, "queue") == 0)
		return misuse("queue", "queue: name what to do");
	if (strcmp(topic, "version") == 0 || strcmp(topic, "run") == 0 ||
	    strcmp(topic, "daemon") == 0) {
		if (argc > 1)
			return misuse(topic, "%s: %s: unexpected argument",
			    topic, argv[1]);
		if (strcmp(topic, "version") == 0) {
			printf("relayq %s\n", PACKAGE_VERSION);
			return EX_OK;
		}
	}
	return -1;
}

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The options before the command; -1 to go on, else an exit code. */
static int
parse_opts(int argc, char **argv, struct rq_ctx *x, const char **config)
{
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:C:vh", long_opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'C':
			*config = optarg;
			break;
		case 'v':
			x->verbose = 1;
			break;
		case 'h':
			help_print(stdout, "relayq");
			return EX_OK;
		case ':':
			return misuse("relayq", "-%c: missing argument",
			    optopt);
		default:
			if (optopt != 0)
				return misuse("relayq", "-%c: unknown option",
				    optopt);
			return misuse("relayq", "%s: unknown option",
			    argv[optind - 1]);
		}
	}
	return -1;
}

/*
 * The configuration: a listing (queue list) needs only [queue] and
 * [local] and shows the queue of a file broken elsewhere, the problem
 * first on stderr; every other command needs all of it.
 */
static enum rq_status
load_config(const char *config, struct rq_ctx *x, int argc, char **argv,
    struct err *e)
{
	struct err problem;

	if (argc < 2 || strcmp(argv[0], "queue") != 0 ||
	    strcmp(argv[1], "list") != 0)
		return cmd_load_config(config, &x->c, &x->custom, e);
	if (cmd_load_config_core(config, &x->c, &x->custom, &problem, e) !=
	    RQ_OK)
		return e->status;
	if (problem.status != RQ_OK)
		fprintf(stderr, "relayq: %s (the queue is not delivered until "
		    "this is fixed)\n", problem.msg);
	return RQ_OK;
}

int
cmd_relayq(int argc, char **argv)
{
	const char *config = NULL;
	struct rq_ctx x;
	struct err e;
	int r;

	memset(&x, 0, sizeof(x));
	if ((r = parse_opts(argc, argv, &x, &config)) != -1)
		return r;
	argc -= optind;
	argv += optind;
	if ((r = precheck(argc, argv)) != -1)
		return r;
	/* Only the listing keeps the set-group-ID group (cmd_list_queue). */
	if (priv_is_setid() && !(argc >= 2 && strcmp(argv[0], "queue") == 0 &&
	    strcmp(argv[1], "list") == 0) && priv_drop_or_fail(&e) != RQ_OK)
		return cmd_fail("relayq", &e);
	log_init("relayq", LOG_TO_SYSLOG | LOG_TO_STDERR, x.verbose);
	if (load_config(config, &x, argc, argv, &e) != RQ_OK) {
		cfg_free(&x.c);
		return cmd_config_fail("relayq", &e);
	}
	if (priv_is_setid())	/* still set-id: listing the system queue */
		priv_clean_env();
	r = dispatch(&x, argc, argv);
	cfg_free(&x.c);
	return r;
}
