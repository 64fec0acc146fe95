/*
 * compat.h - the BSD functions relayq relies on. With libbsd they come from
 * <bsd/...>; without it, from the fallbacks in compat/ (AC_REPLACE_FUNCS).
 */
#ifndef RELAYQ_COMPAT_H
#define RELAYQ_COMPAT_H

#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#ifdef HAVE_LIBBSD
#include <bsd/string.h>
#include <bsd/stdlib.h>
#endif

#ifndef HAVE_STRLCPY
size_t strlcpy(char *, const char *, size_t);
#endif
#ifndef HAVE_STRLCAT
size_t strlcat(char *, const char *, size_t);
#endif
#ifndef HAVE_REALLOCARRAY
void *reallocarray(void *, size_t, size_t);
#endif
#ifndef HAVE_EXPLICIT_BZERO
void explicit_bzero(void *, size_t);
#endif
#ifndef HAVE_STRTONUM
long long strtonum(const char *, long long, long long, const char **);
#endif

#endif
