/*
 * strlcpy - bounded string copy for systems without libbsd.
 * Copies at most size-1 bytes, always NUL-terminates when size > 0 and
 * returns strlen(src) so that callers can detect truncation.
 */
#include "config.h"
#include <string.h>
#include "compat.h"

size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
