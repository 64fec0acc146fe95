/*
 * ck_run.h - the one way every unit test program runs its Check suite:
 * normal output (Automake keeps it in the test's .log; .ci/run reads the
 * "Checks: N, Failures: N, Errors: N" line), exit 1 on any failure;
 * and the assertions more than one suite makes.
 */
#ifndef RELAYQ_CK_RUN_H
#define RELAYQ_CK_RUN_H

#include <check.h>
#include <string.h>

static inline int
ck_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* Every line of the len bytes at p is at most max octets (name: for
 * the failure message). */
static inline void
ck_lines_within(const char *name, const char *p, size_t len, long max)
{
	const char *end = p + len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ck_assert_msg(nl - p <= max, "%s: a %ld-octet line", name,
		    (long)(nl - p));
	}
}

#endif
