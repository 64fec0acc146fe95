/*
 * cmd_common.c - what every command front end shares: the failure line
 * and its exit code, and choosing and loading the configuration.
 *
 * Linked into relayq and into the sendmail program alike, so it uses the
 * configuration and privilege modules only, never the runner's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "cmd.h"
#include "priv.h"

int
cmd_fail(const char *prog, const struct err *e)
{
	fprintf(stderr, "%s: %s\n", prog, e->msg);
	return err_exitcode(e->status);
}

int
cmd_config_fail(const char *prog, const struct err *e)
{
	/* An error, not a warning: nothing is queued or delivered until
	 * the file is fixed; each run says so again. stderr gets it once,
	 * from cmd_fail(), hence syslog() and not log_warnx(). */
	if (e->status == RQ_CONFIG)
		syslog(LOG_MAIL | LOG_ERR, "%s", e->msg);
	return cmd_fail(prog, e);
}

/* cmd_load_config(), or cfg_load_core() when problem is not NULL. */
static enum rq_status
load_config(const char *path_opt, struct cfg *c, int *custom,
    struct err *problem, struct err *e)
{
	const char *env = getenv("RELAYQ_CONFIG");

	if (path_opt == NULL && env != NULL && *env != '\0')
		path_opt = env;
	*custom = path_opt != NULL;
	/* Another file means another spool and smarthost: no privilege. */
	if (*custom && getuid() != 0 && priv_drop_or_fail(e) != RQ_OK) {
		cfg_defaults(c);
		return e->status;
	}
	if (problem != NULL)
		return cfg_load_core(c, *custom ? path_opt : RELAYQ_CONFIG_PATH,
		    *custom, problem, e);
	return cfg_load(c, *custom ? path_opt : RELAYQ_CONFIG_PATH, *custom, e);
}

enum rq_status
cmd_load_config(const char *path_opt, struct cfg *c, int *custom,
    struct err *e)
{
	return load_config(path_opt, c, custom, NULL, e);
}

enum rq_status
cmd_load_config_core(const char *path_opt, struct cfg *c, int *custom,
    struct err *problem, struct err *e)
{
	return load_config(path_opt, c, custom, problem, e);
}
