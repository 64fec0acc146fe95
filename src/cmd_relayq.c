/*
 * cmd_relayq.c - `relayq [-C file] [-v] COMMAND`: run, daemon, queue
 * management and smarthost tests. Commands that change the queue take each entry's
 * lock, so they are safe while a runner is working.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "aliases.h"
#include "cmd.h"
#include "daemon.h"
#include "deliver.h"
#include "diagnose.h"
#include "log.h"
#include "mailq.h"
#include "pickup.h"
#include "priv.h"
#include "queue.h"
#include "route.h"
#include "smtp.h"
#include "spool.h"
#include "vis.h"

struct rq_ctx {
	struct cfg c;
	int verbose;
	int custom;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: relayq [-C config] [-v] command [arguments]\n"
	    "  run                       deliver every due message once\n"
	    "  daemon                    deliver new mail at once and retry "
	    "on\n"
	    "                            schedule, until SIGTERM\n"
	    "  queue list [--json]       list the queue (as mailq, or one "
	    "JSON\n"
	    "                            object per message as postqueue -j)\n"
	    "  queue show [--raw] ID     envelope, state and message (control\n"
	    "                            bytes escaped unless --raw)\n"
	    "  queue flush [ID ...]      deliver now, ignoring retry times\n"
	    "  queue requeue ID...|ALL   reset the retry schedule\n"
	    "  queue hold ID...|ALL      keep from delivery\n"
	    "  queue release ID...|ALL   deliver again\n"
	    "  queue delete ID...|ALL    remove for good\n"
	    "  test [ROUTE|--all] [--send ADDRESS [--from ADDRESS]] [--json]\n"
	    "                            resolve, connect, TLS and AUTH, step\n"
	    "                            by step, with advice on failure;\n"
	    "                            --send: also send a test message\n"
	    "  probe ADDRESS [--password-file FILE] [--ca-file FILE]\n"
	    "        [--timeout SECONDS] find working smarthost settings\n"
	    "  setup [ADDRESS] [--password-file FILE] [--name NAME]\n"
	    "                            probe, write the configuration and\n"
	    "                            the password file, send a test\n"
	    "  version                   print the version\n");
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
			fprintf(stderr, "relayq: %s: not a queue id\n", argv[i]);
			return EX_USAGE;
		}
		if (idlist_add_id(l, argv[i]) == -1) {
			idlist_free(l);
			err_sys(e, RQ_TEMP, "malloc");
			return cmd_fail("relayq", e);
		}
	}
	if (l->n == 0) {
		fprintf(stderr, "relayq: name at least one queue id, or ALL\n");
		return EX_USAGE;
	}
	return 0;
}

enum qop { Q_DELETE, Q_HOLD, Q_RELEASE, Q_REQUEUE };

static enum rq_status
requeue(const struct spool *sp, enum spool_sub sub, const char *id,
    struct err *e)
{
	struct env env;
	enum rq_status st;

	if ((st = env_load(sp->fd[sub], id, &env, e)) != RQ_OK)
		return st;
	env.attempts = 0;
	env.next = 0;
	st = env_save(sp->fd[sub], sp->fd[SP_TMP], &env, e);
	env_free(&env);
	return st;
}

static enum rq_status
apply(const struct spool *sp, enum qop op, const char *id, struct err *e)
{
	enum spool_sub sub = op == Q_RELEASE ? SP_HOLD : SP_QUEUE;
	enum rq_status st;
	int fd;

	if (op == Q_DELETE && faccessat(sp->fd[SP_QUEUE], id, F_OK,
	    AT_SYMLINK_NOFOLLOW) == -1)
		sub = SP_HOLD;
	if ((st = queue_lock(sp, sub, id, &fd, e)) != RQ_OK)
		return st;
	switch (op) {
	case Q_DELETE:
		st = queue_remove(sp, sub, id, e);
		break;
	case Q_HOLD:
		st = queue_move(sp, SP_QUEUE, SP_HOLD, id, e);
		break;
	case Q_RELEASE:
		if ((st = requeue(sp, SP_HOLD, id, e)) == RQ_OK)
			st = queue_move(sp, SP_HOLD, SP_QUEUE, id, e);
		break;
	case Q_REQUEUE:
		st = requeue(sp, SP_QUEUE, id, e);
		break;
	}
	close(fd);
	return st;
}

static int
cmd_queue_op(struct rq_ctx *x, enum qop op, int argc, char **argv)
{
	static const char *const done[] = { "deleted", "held", "released",
	    "requeued" };
	struct spool sp;
	struct idlist l;
	struct err e;
	size_t i;
	int r, failed = 0;

	if ((r = open_queue(x, &sp, &e)) != 0)
		return r;
	if ((r = id_args(&sp, op == Q_RELEASE ? SP_HOLD : SP_QUEUE,
	    op == Q_DELETE, argc, argv, &l, &e)) != 0) {
		spool_close(&sp);
		return r;
	}
	for (i = 0; i < l.n; i++) {
		if (apply(&sp, op, l.ids[i], &e) != RQ_OK) {
			fprintf(stderr, "relayq: %s: %s\n", l.ids[i], e.msg);
			failed = err_exitcode(e.status);
		} else {
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

static int
cmd_show(struct rq_ctx *x, int argc, char **argv)
{
	enum spool_sub sub = SP_QUEUE;
	struct spool sp;
	struct env env;
	struct err e;
	int r, fd, raw = 0;

	if (argc == 2 && strcmp(argv[0], "--raw") == 0) {
		raw = 1;
		argc--;
		argv++;
	}
	if (argc != 1 || !spool_id_valid(argv[0])) {
		fprintf(stderr, "relayq: queue show: name one queue id "
		    "(queue show [--raw] ID)\n");
		return EX_USAGE;
	}
	if ((r = open_queue(x, &sp, &e)) != 0)
		return r;
	r = env_load(sp.fd[sub], argv[0], &env, &e);
	if (r == RQ_NOINPUT)
		r = env_load(sp.fd[sub = SP_HOLD], argv[0], &env, &e);
	if (r != RQ_OK) {
		spool_close(&sp);
		return cmd_fail("relayq", &e);
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

static int
cmd_flush(struct rq_ctx *x, int argc, char **argv)
{
	int i, r;

	if (argc == 0)
		return cmd_run_queue(&x->c, NULL, 1, x->verbose, x->verbose);
	for (i = 0; i < argc; i++) {
		if (!spool_id_valid(argv[i])) {
			fprintf(stderr, "relayq: %s: not a queue id\n", argv[i]);
			return EX_USAGE;
		}
		if ((r = cmd_run_queue(&x->c, argv[i], 1, x->verbose, 1)) != 0)
			return r;
	}
	return EX_OK;
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
test_usage(const char *why)
{
	fprintf(stderr, "relayq: test: %s\nusage: relayq test [ROUTE | --all] "
	    "[--send ADDRESS [--from ADDRESS]] [--json]\n", why);
	return EX_USAGE;
}

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
		} else if (argv[i][0] != '-' && a->route == NULL)
			a->route = argv[i];
		else
			return test_usage("unexpected argument");
	}
	if (a->all && a->route != NULL)
		return test_usage("name a route or --all, not both");
	if (a->from != NULL && a->send_to == NULL)
		return test_usage("--from needs --send");
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
test_sender(struct cfg *c, const struct cfg_smarthost *sh,
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
	if (deliver_secrets(&x->c, sh, &password, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	deliver_smtp_params(&x->c, sh, password, x->verbose, &p);
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

	if (priv_become_runner(x->c.queue_dir, &e) != RQ_OK ||
	    daemon_run(&x->c, x->custom, x->verbose, &e) != RQ_OK)
		return cmd_fail("relayq", &e);
	return EX_OK;
}

static int
dispatch(struct rq_ctx *x, int argc, char **argv)
{
	struct err e;
	const char *sub;

	if (strcmp(argv[0], "run") == 0 && argc == 1)
		return cmd_run_queue(&x->c, NULL, 0, x->verbose, x->verbose);
	if (strcmp(argv[0], "daemon") == 0 && argc == 1)
		return cmd_daemon(x);
	if (strcmp(argv[0], "test") == 0)
		return cmd_test(x, argc, argv);
	if (strcmp(argv[0], "probe") == 0)
		return cmd_probe(&x->c, argc, argv);
	if (strcmp(argv[0], "setup") == 0)
		return cmd_setup(&x->c, x->verbose, argc, argv);
	if (strcmp(argv[0], "queue") != 0 || argc < 2) {
		usage();
		return EX_USAGE;
	}
	sub = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(sub, "list") == 0 && (argc == 0 || (argc == 1 &&
	    strcmp(argv[0], "--json") == 0))) {
		if (priv_become_runner(x->c.queue_dir, &e) != RQ_OK ||
		    (argc == 0 ? mailq_print(&x->c, stdout, &e) :
		    mailq_print_json(&x->c, stdout, &e)) != RQ_OK)
			return cmd_fail("relayq", &e);
		return EX_OK;
	}
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
	if (strcmp(sub, "requeue") == 0)
		return cmd_queue_op(x, Q_REQUEUE, argc, argv);
	usage();
	return EX_USAGE;
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
	int ch, r;

	memset(&x, 0, sizeof(x));
	while ((ch = getopt(argc, argv, "+C:vh")) != -1) {
		switch (ch) {
		case 'C':
			config = optarg;
			break;
		case 'v':
			x.verbose = 1;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && strcmp(argv[0], "version") == 0) {
		printf("relayq %s\n", PACKAGE_VERSION);
		return EX_OK;
	}
	if (argc < 1) {
		usage();
		return EX_USAGE;
	}
	if (priv_is_setid() && priv_drop() == -1) {
		fprintf(stderr, "relayq: cannot drop privileges\n");
		return EX_OSERR;
	}
	log_init("relayq", LOG_TO_SYSLOG | LOG_TO_STDERR, x.verbose);
	if (load_config(config, &x, argc, argv, &e) != RQ_OK) {
		cfg_free(&x.c);
		return cmd_config_fail("relayq", &e);
	}
	r = dispatch(&x, argc, argv);
	cfg_free(&x.c);
	return r;
}
