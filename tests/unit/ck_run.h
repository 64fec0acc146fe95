/*
 * ck_run.h - the one way every unit test program runs its Check suite:
 * normal output (Automake keeps it in the test's .log; .ci/run reads the
 * "Checks: N, Failures: N, Errors: N" line), exit 1 on any failure.
 */
#ifndef RELAYQ_CK_RUN_H
#define RELAYQ_CK_RUN_H

#include <check.h>

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

#endif
