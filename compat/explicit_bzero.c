/*
 * explicit_bzero - zero memory in a way the compiler may not optimise out
 * (used to wipe passwords and keys).
 */
#include "config.h"
#include <string.h>
#include "compat.h"

static void *(*volatile memset_v)(void *, int, size_t) = memset;

void
explicit_bzero(void *p, size_t n)
{
	memset_v(p, 0, n);
}
