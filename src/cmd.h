/*
 * cmd.h - the command front ends. main() picks one by argv[0]; each
 * parses its options, wires the modules together and alone decides the
 * exit code (sysexits, via err_exitcode()).
 */
#ifndef RELAYQ_CMD_H
#define RELAYQ_CMD_H

#include "cfg.h"
#include "err.h"

enum cmd_persona { PERSONA_SENDMAIL, PERSONA_MAILQ, PERSONA_NEWALIASES };

int cmd_sendmail(int argc, char **argv, enum cmd_persona persona);
int cmd_relayq(int argc, char **argv);
/* newaliases / sendmail -bi: check [local] aliases (cmd_newaliases.c). */
int cmd_newaliases(const struct cfg *c, const char *prog);

/*
 * cmd_common.c, linked into relayq and the sendmail program: choose
 * and load the configuration. path_opt is -C (or NULL); RELAYQ_CONFIG is
 * consulted next. Anyone but root who picks a
 * file loses every privilege first. *custom tells whether a file other
 * than the system one was chosen.
 */
enum rq_status cmd_load_config(const char *path_opt, struct cfg *c,
    int *custom, struct err *e);
/*
 * The same for submission and listings, which need only [queue] and
 * [local]: an error only in route or user sections is RQ_OK with the
 * problem in *problem (cfg_load_core()); problem->status RQ_OK: none.
 */
enum rq_status cmd_load_config_core(const char *path_opt, struct cfg *c,
    int *custom, struct err *problem, struct err *e);
/*
 * cmd_queue.c, relayq only (the sendmail program executes relayq for
 * these). A queue runner's command (relayq run, flush, daemon; sendmail -q):
 * become the runner and send the log where [local] log says. The file
 * is written only when this process owns the spool; SIGHUP reopens it.
 * stream_ok: see log_runner().
 */
void cmd_log_runner(const struct cfg *c, int stream_ok);
/*
 * mailq, sendmail -bp, relayq queue list [--json] (json): the listing for
 * whoever [local] mailq_users admits (qaccess.h), else EX_NOPERM. Root
 * lists as the queue owner; another user of the set-group-ID binary
 * keeps its group while listing, which reads envelope files and nothing
 * else of the queue (doc/ARCHITECTURE.md), and loses it for good after.
 */
int cmd_list_queue(const struct cfg *c, const char *prog, int json);
/*
 * One delivery pass; prints nothing unless verbose or report. Anyone but
 * root and the spool's owner: EX_NOPERM with one line.
 */
int cmd_run_queue(struct cfg *c, const char *only_id, int flush,
    int verbose, int report);
struct deliver_filter;
/* sendmail -qI/-qR/-qS: one pass over the selected messages, now. */
int cmd_run_selected(struct cfg *c, const struct deliver_filter *f,
    int verbose);
/* relayq probe ADDRESS [options] (cmd_setup.c); argv[0] is "probe". */
int cmd_probe(const struct cfg *c, int argc, char **argv);
/* relayq setup [ADDRESS] [options] (cmd_setup.c): probe, write the
 * configuration and password file, test; argv[0] is "setup". */
int cmd_setup(struct cfg *c, int verbose, int argc, char **argv);
/* cmd_common.c: print "prog: msg" and return the exit code for e. */
int cmd_fail(const char *prog, const struct err *e);
/* cmd_fail() for a configuration that could not be loaded; a broken
 * file (RQ_CONFIG) is also logged at LOG_ERR. */
int cmd_config_fail(const char *prog, const struct err *e);

#endif
