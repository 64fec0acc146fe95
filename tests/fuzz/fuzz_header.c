/*
 * fuzz_header.c - libFuzzer target for message submission: the header
 * parser, -t recipient extraction, Bcc removal, line-end handling.
 *
 * The first byte selects options (-t, -i, a full name, a size limit, a
 * command-line recipient with -t); the rest is the message on standard
 * input (a memfd). submit_message() writes into one scratch maildrop
 * directory (in /dev/shm when it exists) that is emptied after each run.
 * Invariants: an accepted message reads back with spool_msg_read() and
 * has recipients that pass addr_check(); a refused one leaves nothing
 * behind ("an accepted message is never lost": doc/ARCHITECTURE.md, "The
 * promises and the tests that prove them").
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "spool.h"
#include "submit.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[PATH_MAX];
static int dropfd = -1;

/* Remove every entry; returns how many there were. */
static int
empty_dir(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		unlinkat(dropfd, de->d_name, 0);
		n++;
	}
	closedir(d);
	return n;
}

static void
cleanup(void)
{
	if (dropfd != -1) {
		empty_dir();
		close(dropfd);
		rmdir(dir);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/fuzz_header.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		abort();
	if ((dropfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		abort();
	atexit(cleanup);
	return 0;
}

static void
check_queued(const char *id)
{
	struct spool_msg m;
	struct err e;
	size_t i;
	int fd;

	if ((fd = openat(dropfd, id, O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	if (spool_msg_read(fd, &m, &e) != RQ_OK) {
		fprintf(stderr, "fuzz_header: queued %s unreadable: %s\n", id,
		    e.msg);
		abort();	/* we wrote what we cannot read */
	}
	if (m.nrcpt == 0 || strcmp(m.sender, "s@example.test") != 0)
		abort();
	for (i = 0; i < m.nrcpt; i++)
		if (addr_check(m.rcpts[i], "r", &e) != RQ_OK)
			abort();
	spool_msg_free(&m);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rcpt[] = { "r@example.test" };
	struct submit_opts o;
	char id[SPOOL_ID_LEN + 1];
	struct err e;
	unsigned f;
	int fd;

	if (size == 0)
		return 0;
	f = data[0];
	memset(&o, 0, sizeof(o));
	o.sender = "s@example.test";
	o.from_addr = "s@example.test";
	o.fullname = (f & 4) ? "Fuzz \"Q\" User (x)" : NULL;
	o.extract = (f & 1) != 0;
	o.ignore_dots = (f & 2) != 0;
	o.rcpts = rcpt;
	o.nrcpt = !o.extract || (f & 8) ? 1 : 0;
	o.uid = getuid();
	o.hostname = "host.example.test";
	o.domain = (f & 32) ? "example.test" : NULL;
	o.max_size = (f & 16) ? 512 : 0;
	if ((fd = memfd_create("fuzz_header", MFD_CLOEXEC)) == -1)
		abort();
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	if (lseek(fd, 0, SEEK_SET) == -1)
		abort();
	memset(&e, 0, sizeof(e));
	if (submit_message(dropfd, &o, fd, id, &e) == RQ_OK) {
		check_queued(id);
		if (empty_dir() != 1)
			abort();
	} else if (empty_dir() != 0)
		abort();	/* a refused message left a file behind */
	close(fd);
	return 0;
}
