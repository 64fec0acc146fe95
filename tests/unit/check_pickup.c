/*
 * check_pickup.c - the reaper's reading of the kernel's lock table
 * (/proc/locks lines, as Linux prints them): a lock on the entry's file,
 * held or waited for, of any kind, is seen; one on another device or
 * inode, or a line that does not parse, is not.
 */
#include "config.h"

#include <check.h>

#include "pickup.h"

#include "ck_run.h"

static const struct {
	const char *line;
	unsigned maj, min;
	unsigned long long ino;
	int held;
} locks[] = {
	{ "1: FLOCK  ADVISORY  WRITE 2307 fe:00:404740 0 EOF\n", 0xfe, 0,
	    404740, 1 },
	{ "1: FLOCK  ADVISORY  WRITE 2307 fe:00:404740 0 EOF\n", 0xfe, 0,
	    404741, 0 },
	{ "1: FLOCK  ADVISORY  WRITE 2307 fe:00:404740 0 EOF\n", 0xfe, 1,
	    404740, 0 },
	{ "1: FLOCK  ADVISORY  WRITE 2307 fe:00:404740 0 EOF\n", 0xfd, 0,
	    404740, 0 },
	/* a waiter: someone holds it */
	{ "2: -> FLOCK  ADVISORY  WRITE 99 fe:00:404740 0 EOF\n", 0xfe, 0,
	    404740, 1 },
	{ "3: POSIX  ADVISORY  READ 5 08:01:12 0 EOF\n", 8, 1, 12, 1 },
	{ "3: POSIX  ADVISORY  READ 5 08:01:12 0 EOF\n", 8, 1, 1, 0 },
	{ "4: OFDLCK ADVISORY  WRITE -1 00:2d:77 0 EOF\n", 0, 0x2d, 77, 1 },
	{ "5: LEASE  ACTIVE    READ 12 103:02:9 0 EOF\n", 0x103, 2, 9, 1 },
	/* the inode is not a prefix match */
	{ "6: FLOCK  ADVISORY  WRITE 1 fe:00:4047401 0 EOF\n", 0xfe, 0,
	    404740, 0 },
	{ "", 0, 0, 0, 0 },
	{ "garbage\n", 0, 0, 0, 0 },
	{ "7: FLOCK  ADVISORY  WRITE 1 fe:00:404740", 0xfe, 0, 404740, 0 },
	{ "8: FLOCK  ADVISORY  WRITE 1 zz:00:404740 0 EOF\n", 0, 0, 404740,
	    0 },
};

START_TEST(lock_line)
{
	ck_assert_int_eq(pickup_lock_line(locks[_i].line, locks[_i].maj,
	    locks[_i].min, locks[_i].ino), locks[_i].held);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pickup");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, lock_line, 0, sizeof(locks) / sizeof(locks[0]));
	suite_add_tcase(s, tc);
	return ck_run(s);
}
