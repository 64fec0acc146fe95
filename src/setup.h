/*
 * setup.h - the file work of `relayq setup`: merging a [smarthost]
 * section (or a [smarthost NAME] route) into an existing configuration
 * text without touching anything else, and writing the configuration and
 * the password file atomically with the right owner and mode.
 *
 * setup_merge() is pure (tested alone). The writers use a temporary file
 * in the same directory, fsync, rename and fsync of the directory, so a
 * crash leaves the old file or the new one, never a mix. Failures are
 * RQ_TEMP (I/O) or RQ_NOPERM (ownership), with the path in e.
 */
#ifndef RELAYQ_SETUP_H
#define RELAYQ_SETUP_H

#include <sys/types.h>
#include "buf.h"
#include "err.h"

#define SETUP_CONF_MAX	(1024 * 1024)	/* a config file we edit */

/*
 * old (NULL or "": no file yet) with the section whose header line is
 * header ("[smarthost]", "[smarthost NAME]") replaced by section (which
 * starts with that header), or, when there is no such section, with
 * section appended after a blank line. Comments, other sections and
 * routes are kept byte for byte. 0, or -1 (out of memory / too big).
 */
int setup_merge(const char *old, const char *header, const char *section,
    struct buf *out);

/* A route name from a domain: lower-case letters, digits and '-'. */
void setup_route_name(const char *domain, char *out, size_t size);

/* The whole file into out (at most max bytes); RQ_NOINPUT if missing. */
enum rq_status setup_read_file(const char *path, size_t max,
    struct buf *out, struct err *e);

/*
 * Replace path with data[0..len): mode, and owner uid:gid unless uid is
 * (uid_t)-1 (then the caller's).
 */
enum rq_status setup_write_file(const char *path, const char *data,
    size_t len, mode_t mode, uid_t uid, gid_t gid, struct err *e);

#endif
