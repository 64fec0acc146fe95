/*
 * help.c - the usage and help texts (see help.h).
 *
 * One row per topic. Each text starts with its "usage:" line(s), says in
 * a few lines what the command does, and ends by pointing at the manual
 * page that has the whole story: the texts are a reminder, relayq(8) and
 * relayq.conf(5) are the reference. The golden files of
 * tests/e2e/help.sh hold every text as printed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "help.h"

struct help_row {
	const char *topic;
	const char *text;
};

#define SEE_CMDS	"See relayq(8), COMMANDS.\n"

static const struct help_row help_rows[] = {
	{ "relayq",
	    "usage: relayq [-C config] [-v] command [arguments]\n"
	    "       relayq help [command]    relayq command --help\n"
	    "\n"
	    "Commands:\n"
	    "  run                       deliver every due message once\n"
	    "  daemon                    deliver new mail at once and retry on\n"
	    "                            schedule, until SIGTERM\n"
	    "  queue list [--json]       list the queue (as mailq)\n"
	    "  queue show [--raw] ID     envelope, state and message\n"
	    "  queue flush [ID ...]      deliver now, ignoring retry times\n"
	    "  queue requeue ID...|ALL   reset the retry schedule\n"
	    "  queue hold ID...|ALL      keep from delivery\n"
	    "  queue release ID...|ALL   deliver again\n"
	    "  queue delete ID...|ALL    remove for good\n"
	    "  test [ROUTE|--all] ...    check a smarthost step by step\n"
	    "  probe ADDRESS ...         find working smarthost settings\n"
	    "  setup [ADDRESS] ...       probe, write the configuration, test\n"
	    "  version                   print the version\n"
	    "  help [command]            print this, or a command's usage\n"
	    "\n"
	    "Options:\n"
	    "  -C config   use this configuration file, not the system one\n"
	    "  -v          verbose: the SMTP dialogue and each step on "
	    "stderr\n"
	    "  -h, --help  print this\n"
	    "\n"
	    "See relayq(8) and relayq.conf(5).\n" },
	{ "run",
	    "usage: relayq [-C config] [-v] run\n"
	    "Pick up new mail and deliver every message that is due, once;\n"
	    "for a systemd timer or cron. Prints nothing unless -v.\n"
	    SEE_CMDS },
	{ "daemon",
	    "usage: relayq [-C config] [-v] daemon\n"
	    "Deliver new mail as soon as it is submitted and retry on\n"
	    "schedule, until SIGTERM; one daemon per spool.\n"
	    SEE_CMDS },
	{ "queue",
	    "usage: relayq queue list [--json]\n"
	    "       relayq queue show [--raw] ID\n"
	    "       relayq queue flush [ID ...]\n"
	    "       relayq queue requeue|hold|release|delete ID ...|ALL\n"
	    "Look at and manage the queue (ids as mailq shows them); as root\n"
	    "or the spool owner. relayq queue COMMAND --help for each.\n"
	    SEE_CMDS },
	{ "queue list",
	    "usage: relayq queue list [--json]\n"
	    "List the queue as mailq does, or with --json one JSON object\n"
	    "per message and line (as postqueue -j).\n"
	    SEE_CMDS },
	{ "queue show",
	    "usage: relayq queue show [--raw] ID\n"
	    "Print a queued or held message: its envelope, each recipient's\n"
	    "state, then the message (control bytes escaped unless --raw).\n"
	    SEE_CMDS },
	{ "queue flush",
	    "usage: relayq queue flush [ID ...]\n"
	    "Deliver the named messages, or every queued one, now, ignoring\n"
	    "retry times; one line per message tried says what happened.\n"
	    SEE_CMDS },
	{ "queue requeue",
	    "usage: relayq queue requeue ID ...|ALL\n"
	    "Reset the retry schedule: the next run tries the messages.\n"
	    SEE_CMDS },
	{ "queue hold",
	    "usage: relayq queue hold ID ...|ALL\n"
	    "Keep messages from delivery until released.\n"
	    SEE_CMDS },
	{ "queue release",
	    "usage: relayq queue release ID ...|ALL\n"
	    "Put held messages back in the queue, their retry schedule reset.\n"
	    SEE_CMDS },
	{ "queue delete",
	    "usage: relayq queue delete ID ...|ALL\n"
	    "Remove messages for good, without telling the sender; ALL is\n"
	    "every queued and held message.\n"
	    SEE_CMDS },
	{ "test",
	    "usage: relayq test [ROUTE | --all] [--send ADDRESS "
	    "[--from ADDRESS]] [--json]\n"
	    "Check a route's smarthost settings (default: the [smarthost]\n"
	    "section) step by step: name, connection, greeting, EHLO, TLS,\n"
	    "certificate, AUTH; with advice on failure. --send also sends a\n"
	    "test message to ADDRESS; --json prints one object per step.\n"
	    SEE_CMDS },
	{ "probe",
	    "usage: relayq probe ADDRESS [--password-file FILE | "
	    "--no-password]\n"
	    "                    [--ca-file FILE] [--timeout SECONDS]\n"
	    "Find the smarthost settings for a mail address (SRV and MX\n"
	    "records, the usual names and ports, TLS, AUTH) and print a\n"
	    "[smarthost] section; writes nothing.\n"
	    SEE_CMDS },
	{ "setup",
	    "usage: relayq setup [ADDRESS] [--password-file FILE | "
	    "--no-password]\n"
	    "                    [--name DISPLAY-NAME] [--ca-file FILE] "
	    "[--timeout SECONDS]\n"
	    "Probe as relayq probe does, write the configuration and the\n"
	    "password file, and send a test message to ADDRESS; asks on a\n"
	    "terminal for what the arguments do not give.\n"
	    SEE_CMDS },
	{ "version",
	    "usage: relayq version\n"
	    "Print the version.\n" },
	{ "help",
	    "usage: relayq help [command]\n"
	    "Print the list of commands, or a command's usage.\n"
	    SEE_CMDS },
	{ "sendmail",
	    "usage: sendmail [-t] [-i] [-f sender] [-F name] [-C config] "
	    "[-odb|-odq|-odi]\n"
	    "                [-v] [--] [recipient ...]\n"
	    "       sendmail -bp | -bi | -bs | -bv address ... | -q\n"
	    "       sendmail -qI<id> | -qR<domain> | -qS<sender>\n"
	    "       DSN: -N never|success,failure,delay -R full|hdrs "
	    "-V envid\n"
	    "Queue the message on standard input for the recipients (with\n"
	    "-t: those of its header). See relayq(8), OPTIONS.\n" },
	{ "mailq",
	    "usage: mailq [-C config] [-v]\n"
	    "List the messages waiting in the queue (sendmail -bp).\n"
	    "See relayq(8), mailq.\n" },
	{ "newaliases",
	    "usage: newaliases [-C config] [-v]\n"
	    "Check the aliases file of [local] aliases (sendmail -bi); it is\n"
	    "read as it is, there is no database to rebuild.\n"
	    "See relayq(8), newaliases.\n" },
};

#define HELP_NROWS	(sizeof(help_rows) / sizeof(help_rows[0]))

const char *
help_text(const char *topic)
{
	size_t i;

	for (i = 0; i < HELP_NROWS; i++)
		if (strcmp(help_rows[i].topic, topic) == 0)
			return help_rows[i].text;
	return NULL;
}

/* The rows that are not relayq's commands but whole programs. */
static int
help_is_program(const char *topic)
{
	return strcmp(topic, "relayq") == 0 || strcmp(topic, "sendmail") ==
	    0 || strcmp(topic, "mailq") == 0 || strcmp(topic, "newaliases") == 0;
}

const char *
help_topic(int argc, char **argv, int *used)
{
	char two[64];
	size_t i;

	if (argc < 1 || argv[0][0] == '-' || help_is_program(argv[0]))
		return NULL;
	if (used != NULL)
		*used = 1;
	if (strcmp(argv[0], "queue") != 0 || argc < 2 || argv[1][0] == '-')
		return help_text(argv[0]) != NULL ? argv[0] : NULL;
	if (snprintf(two, sizeof(two), "queue %s", argv[1]) >=
	    (int)sizeof(two))
		return NULL;
	for (i = 0; i < HELP_NROWS; i++)
		if (strcmp(help_rows[i].topic, two) == 0) {
			if (used != NULL)
				*used = 2;
			return help_rows[i].topic;
		}
	return NULL;
}

int
help_print(FILE *fp, const char *topic)
{
	const char *t = help_text(topic);

	if (t == NULL)
		return -1;
	fputs(t, fp);
	return 0;
}

void
help_vmisuse(const char *prog, const char *topic, const char *fmt,
    va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	(void)help_print(stderr, topic);
}

void
help_misuse(const char *prog, const char *topic, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	help_vmisuse(prog, topic, fmt, ap);
	va_end(ap);
}

int
help_asked(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}
