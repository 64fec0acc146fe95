/*
 * fuzz_spool.c - libFuzzer target for the two spool readers: the message
 * file (spool_msg_read, run on a memfd holding the input) and the
 * envelope (env_parse on the same bytes).
 *
 * Invariants: a message file that reads has its message inside the file,
 * a recipient, and addresses that pass addr_check(); an envelope that
 * parses formats to text that parses again to the same text (the format
 * is canonical after one round).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "env.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_msg(const uint8_t *data, size_t size)
{
	struct spool_msg m;
	struct err e;
	size_t i;
	int fd;

	if ((fd = memfd_create("fuzz_spool", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (spool_msg_read(fd, &m, &e) == RQ_OK) {
		if (m.msg_off < 0 || m.msg_len < 0 ||
		    (size_t)(m.msg_off + m.msg_len) > size || m.nrcpt == 0 ||
		    m.sender == NULL)
			abort();
		if (*m.sender != '\0' && addr_check(m.sender, "s", &e) != RQ_OK)
			abort();
		for (i = 0; i < m.nrcpt; i++)
			if (addr_check(m.rcpts[i], "r", &e) != RQ_OK)
				abort();
		spool_msg_free(&m);
	}
	close(fd);
}

static void
fuzz_env(const uint8_t *data, size_t size)
{
	struct env env, again;
	struct err e;
	char *t1, *t2;
	size_t l1, l2;

	if (env_parse(&env, (const char *)data, size, &e) != RQ_OK)
		return;
	if (env_format(&env, &t1, &l1) == -1)
		abort();
	if (env_parse(&again, t1, l1, &e) != RQ_OK)
		abort();	/* what we write we must read */
	if (env_format(&again, &t2, &l2) == -1)
		abort();
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)
		abort();
	free(t1);
	free(t2);
	env_free(&env);
	env_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_msg(data, size);
	fuzz_env(data, size);
	return 0;
}
