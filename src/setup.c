/*
 * setup.c - configuration editing and atomic writes for relayq setup
 * (see setup.h).
 *
 * The merge works on lines: a section runs from its header line to the
 * line before the next header ('[' as the first non-blank character), so
 * everything outside the replaced section keeps its bytes. Files are
 * written to "PATH.tmp.PID" first (O_EXCL, the final mode from the start,
 * so a secret is never readable by others), then fsync, fchown, rename,
 * fsync of the directory.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "setup.h"

/* Is line [p, end) a header line equal to header (outer blanks aside)? */
static int
setup_is_header(const char *p, const char *end, const char *header)
{
	size_t n = strlen(header);

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		end--;
	return (size_t)(end - p) == n && memcmp(p, header, n) == 0;
}

static int
setup_starts_section(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && *p == '[';
}

static const char *
setup_line_end(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl != NULL ? nl + 1 : p + strlen(p);
}

/* Where the section of header starts and ends in old (NULL: absent). */
static const char *
setup_find(const char *old, const char *header, const char **stop)
{
	const char *p, *q, *start = NULL;

	for (p = old; *p != '\0'; p = q) {
		q = setup_line_end(p);
		if (start == NULL && setup_is_header(p, q, header))
			start = p;
		else if (start != NULL && setup_starts_section(p, q)) {
			*stop = p;
			return start;
		}
	}
	*stop = p;
	return start;
}

int
setup_merge(const char *old, const char *header, const char *section,
    struct buf *out)
{
	const char *start, *stop;
	size_t slen = strlen(section);
	int rc;

	buf_reset(out);
	if (old == NULL)
		old = "";
	if ((start = setup_find(old, header, &stop)) == NULL) {
		rc = buf_puts(out, old);
		if (rc == 0 && out->len > 0 && out->data[out->len - 1] != '\n')
			rc = buf_putc(out, '\n');
		if (rc == 0 && out->len > 0)
			rc = buf_putc(out, '\n');
		return rc == 0 ? buf_puts(out, section) : -1;
	}
	rc = buf_append(out, old, (size_t)(start - old));
	if (rc == 0)
		rc = buf_puts(out, section);
	/* the next section stays apart from ours by one blank line */
	if (rc == 0 && *stop != '\0' && slen > 0 && section[slen - 1] == '\n')
		rc = buf_putc(out, '\n');
	return rc == 0 ? buf_puts(out, stop) : -1;
}

void
setup_route_name(const char *domain, char *out, size_t size)
{
	size_t k = 0;
	char c;

	for (; *domain != '\0' && k + 1 < size; domain++) {
		c = *domain;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '-';
		out[k++] = c;
	}
	out[k] = '\0';
}

enum rq_status
setup_read_file(const char *path, size_t max, struct buf *out,
    struct err *e)
{
	char chunk[4096];
	size_t n;
	FILE *fp;

	buf_init(out, max);
	if ((fp = fopen(path, "re")) == NULL)
		return err_sys(e, errno == ENOENT ? RQ_NOINPUT : RQ_TEMP,
		    "%s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(out, chunk, n) == -1) {
			fclose(fp);
			return err_sys(e, RQ_TEMP, "%s", path);
		}
	if (ferror(fp)) {
		fclose(fp);
		return err_sys(e, RQ_TEMP, "%s", path);
	}
	fclose(fp);
	return RQ_OK;
}

static enum rq_status
setup_sync_dir(const char *path, struct err *e)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return err_sys(e, RQ_TEMP, "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd == -1 || fsync(fd) == -1) {
		if (fd != -1)
			close(fd);
		return err_sys(e, RQ_TEMP, "%s: directory", path);
	}
	close(fd);
	return RQ_OK;
}

static int
setup_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum rq_status
setup_write_file(const char *path, const char *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, struct err *e)
{
	char tmp[4096];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return err_set(e, RQ_TEMP, "%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return err_sys(e, RQ_TEMP, "%s", tmp);
	if (fchmod(fd, mode) == -1 ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) ||
	    setup_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		err_sys(e, RQ_TEMP, "%s", tmp);
		close(fd);
		unlink(tmp);
		return RQ_TEMP;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		err_sys(e, RQ_TEMP, "%s", path);
		unlink(tmp);
		return RQ_TEMP;
	}
	return setup_sync_dir(path, e);
}
