/*
 * fuzz_cfg.c - libFuzzer target for the configuration file reader.
 *
 * The input is written to one scratch file (in /dev/shm when it exists)
 * and read with cfg_load(). A configuration that loads must satisfy what
 * cfg_finish() promises: an absolute queue dir, a port, 1..CFG_RETRY_MAX
 * non-zero retry steps, a positive lifetime, valid enums.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[PATH_MAX];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(path, sizeof(path), "%s/fuzz_cfg.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	atexit(cleanup);
	return 0;
}

static void
check_loaded(const struct cfg *c)
{
	size_t i;

	if (c->queue_dir == NULL || c->queue_dir[0] != '/' ||
	    c->smarthost.port == NULL || c->nretry == 0 ||
	    c->nretry > CFG_RETRY_MAX || c->lifetime <= 0 ||
	    c->max_size < 0 || c->smarthost.tls > TLS_MODE_NONE ||
	    c->smarthost.auth > AUTH_NONE)
		abort();
	for (i = 0; i < c->nretry; i++)
		if (c->retry[i] <= 0)
			abort();
	(void)cfg_tls_name(c->smarthost.tls);
	(void)cfg_auth_name(c->smarthost.auth);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	struct err e;
	FILE *fp;

	memset(&e, 0, sizeof(e));
	if ((fp = fopen(path, "we")) == NULL)
		abort();
	if (size > 0 && fwrite(data, size, 1, fp) != 1)
		abort();
	if (fclose(fp) != 0)
		abort();
	if (cfg_load(&c, path, 1, &e) == RQ_OK)
		check_loaded(&c);
	else if (e.msg[0] == '\0')
		abort();	/* every error says what is wrong */
	cfg_free(&c);
	return 0;
}
