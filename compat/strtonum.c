/*
 * strtonum - parse a decimal integer within [minval, maxval]. On error
 * returns 0 and sets *errstr to "invalid", "too small" or "too large".
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include "compat.h"

long long
strtonum(const char *s, long long minval, long long maxval, const char **errstr)
{
	long long v = 0;
	char *end;
	int saved = errno;

	*errstr = NULL;
	if (minval > maxval) {
		*errstr = "invalid";
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0')
		*errstr = "invalid";
	else if ((v == LLONG_MIN && errno == ERANGE) || v < minval)
		*errstr = "too small";
	else if ((v == LLONG_MAX && errno == ERANGE) || v > maxval)
		*errstr = "too large";
	errno = saved;
	return *errstr ? 0 : v;
}
