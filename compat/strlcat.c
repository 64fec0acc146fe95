/*
 * strlcat - bounded string append for systems without libbsd.
 * Returns the length of the string it tried to create: a result >= size
 * means truncation.
 */
#include "config.h"
#include <string.h>
#include "compat.h"

size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t dlen = strnlen(dst, size);

	if (dlen == size)
		return size + strlen(src);
	return dlen + strlcpy(dst + dlen, src, size - dlen);
}
