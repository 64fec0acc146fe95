/*
 * main.c - one program, several names: sendmail, mailq and newaliases
 * behave like their sendmail counterparts, anything else is `relayq`.
 * Before anything else: fds 0-2 are made safe, the umask tight and
 * SIGXFSZ ignored. Built with RELAYQ_SUBMIT_ONLY it is the sendmail
 * program (cmd_sendmail.c), which is sendmail under any other name.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "priv.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RQ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RQ_ASAN 1
#endif

#ifndef RELAYQ_SUBMIT_ONLY
/*
 * relayq ends with its output flushed and without the libraries'
 * destructors: they free nothing the kernel does not take back, but
 * running them maps code pages of libssl and libcrypto that a plain
 * queue run never touched (about 50 KB of its peak memory). A sanitizer
 * build ends with exit(), so that LeakSanitizer still looks for leaks.
 */
static int
relayq_exit(int rc)
{
#ifndef RQ_ASAN
	(void)fflush(NULL);
	_exit(rc);
#endif
	return rc;
}
#endif

int
main(int argc, char **argv)
{
	const char *name, *slash;

	if (priv_sanitize_fds() == -1)
		return EX_OSERR;
	umask(077);
	/* A file size limit must be an error (EFBIG: exit 75, the partial
	 * file removed), not a death that leaves the file behind. */
	(void)signal(SIGXFSZ, SIG_IGN);
	if (argc < 1 || argv[0] == NULL) {
		fprintf(stderr, "relayq: no program name\n");
		return EX_USAGE;
	}
	name = (slash = strrchr(argv[0], '/')) != NULL ? slash + 1 : argv[0];
	if (strcmp(name, "mailq") == 0)
		return cmd_sendmail(argc, argv, PERSONA_MAILQ);
	if (strcmp(name, "newaliases") == 0)
		return cmd_sendmail(argc, argv, PERSONA_NEWALIASES);
	if (strncmp(name, "sendmail", 8) == 0 || strcmp(name, "send-mail") == 0)
		return cmd_sendmail(argc, argv, PERSONA_SENDMAIL);
#ifdef RELAYQ_SUBMIT_ONLY
	return cmd_sendmail(argc, argv, PERSONA_SENDMAIL);
#else
	return relayq_exit(cmd_relayq(argc, argv));
#endif
}
