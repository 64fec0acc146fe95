/*
 * prompt.c - terminal questions (see prompt.h).
 *
 * Echo is switched off with termios for secrets and always switched back
 * on, before any error return. Lines are read with getline (no fixed
 * buffer); a secret's memory is wiped before it is freed on every path.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "compat.h"
#include "prompt.h"

int
prompt_tty(void)
{
	return isatty(STDIN_FILENO);
}

static void
prompt_wipe_free(char *s, size_t cap)
{
	if (s != NULL)
		explicit_bzero(s, cap);
	free(s);
}

enum rq_status
prompt_line(const char *question, const char *dflt, int secret, char **out,
    struct err *e)
{
	struct termios old, quiet;
	int echo_off = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	*out = NULL;
	/* Echo goes off before the question shows, so an answer typed (or
	   pasted) as soon as it appears is never echoed; input typed ahead
	   of a password question is discarded, as getpass() does. */
	if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	fprintf(stderr, "%s%s%s%s: ", question, dflt != NULL ? " [" : "",
	    dflt != NULL ? dflt : "", dflt != NULL ? "]" : "");
	fflush(stderr);
	n = getline(&line, &cap, stdin);
	if (echo_off) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	if (n == -1) {
		prompt_wipe_free(line, cap);
		return err_set(e, RQ_USAGE, "%s: no answer (end of input)",
		    question);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 && dflt != NULL) {
		prompt_wipe_free(line, cap);
		if ((line = strdup(dflt)) == NULL)
			return err_sys(e, RQ_INTERNAL, "strdup");
	}
	*out = line;
	return RQ_OK;
}
