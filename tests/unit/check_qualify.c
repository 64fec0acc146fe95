/*
 * check_qualify.c - header qualification (qualify.h): which fields, what
 * gets "@domain", what stays byte for byte, what is left alone because it
 * does not parse, and long results refolded within 998 octets.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "header.h"
#include "qualify.h"

#include "ck_run.h"

#define DOM "example.net"

/* in: one field as submit holds it (folding as "\n "); out: NULL = same. */
static const struct {
	const char *in;
	const char *out;
} cases[] = {
	/* cron, mailx and friends */
	{ "From: root (Cron Daemon)", "From: root@" DOM " (Cron Daemon)" },
	{ "To: root", "To: root@" DOM },
	{ "To: bob, carol@example.org", "To: bob@" DOM ", carol@example.org" },
	{ "Cc: dave", "Cc: dave@" DOM },
	{ "Bcc: eve", "Bcc: eve@" DOM },
	{ "Sender: daemon", "Sender: daemon@" DOM },
	{ "Reply-To: support", "Reply-To: support@" DOM },
	{ "Resent-From: admin", "Resent-From: admin@" DOM },
	{ "Resent-Sender: admin", "Resent-Sender: admin@" DOM },
	{ "Resent-To: ops", "Resent-To: ops@" DOM },
	{ "Resent-Cc: ops", "Resent-Cc: ops@" DOM },
	{ "Resent-Bcc: ops", "Resent-Bcc: ops@" DOM },
	{ "Resent-Reply-To: ops", "Resent-Reply-To: ops@" DOM },
	{ "tO  :  bob", "tO  :  bob@" DOM },
	/* not an address field, or nothing bare */
	{ "Subject: root", NULL },
	{ "X-To: bob", NULL },
	{ "To: bob@example.org", NULL },
	{ "To:", NULL },
	{ "To:   ", NULL },
	{ "From: <>", NULL },
	{ "From: Mailer <>", NULL },
	/* display names, route-addrs, comments */
	{ "From: Bob Smith <bob>", "From: Bob Smith <bob@" DOM ">" },
	{ "From: \"Smith, Bob\" <bob>", "From: \"Smith, Bob\" <bob@" DOM ">" },
	{ "To: <bob> (desk, room (2))",
	  "To: <bob@" DOM "> (desk, room (2))" },
	{ "To: bob (a, b), (c) carol",
	  "To: bob@" DOM " (a, b), (c) carol@" DOM },
	{ "To: < bob (x) >", "To: < bob@" DOM " (x) >" },
	{ "To: (a\\) b) bob", "To: (a\\) b) bob@" DOM },
	{ "From: John Q. Public <jqp>",
	  "From: John Q. Public <jqp@" DOM ">" },
	/* quoted local parts, also with @ and commas inside */
	{ "To: \"john doe\"", "To: \"john doe\"@" DOM },
	{ "To: \"a@b\"", "To: \"a@b\"@" DOM },
	{ "To: \"x, y\" <\"a@b\">", "To: \"x, y\" <\"a@b\"@" DOM ">" },
	{ "To: \"a\\\"b\"@example.org, c", "To: \"a\\\"b\"@example.org, c@" DOM },
	{ "To: first.last", "To: first.last@" DOM },
	{ "To: first . last", "To: first . last@" DOM },
	/* encoded words in display names */
	{ "From: =?UTF-8?B?w5xsaQ==?= <uli>",
	  "From: =?UTF-8?B?w5xsaQ==?= <uli@" DOM ">" },
	{ "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>", NULL },
	/* groups */
	{ "To: undisclosed-recipients:;", NULL },
	{ "To: Undisclosed recipients: ;", NULL },
	{ "To: team: bob, carol@example.org;, dave",
	  "To: team: bob@" DOM ", carol@example.org;, dave@" DOM },
	{ "Cc: a: b;", "Cc: a: b@" DOM ";" },
	/* obsolete syntax: routes, empty list elements */
	{ "To: <@relay.example:bob>", "To: <@relay.example:bob@" DOM ">" },
	{ "To: <@a.example,@b.example:bob@example.org>", NULL },
	{ "To: Bob <@a.example, @b.example:bob>",
	  "To: Bob <@a.example, @b.example:bob@" DOM ">" },
	{ "To: bob,, carol,", "To: bob@" DOM ",, carol@" DOM "," },
	{ "To: bob@[192.0.2.1], carol", "To: bob@[192.0.2.1], carol@" DOM },
	/* folding stays where it was */
	{ "To: bob,\n carol,\n\tdave",
	  "To: bob@" DOM ",\n carol@" DOM ",\n\tdave@" DOM },
	{ "From: root\n (Cron\n Daemon)",
	  "From: root@" DOM "\n (Cron\n Daemon)" },
	/* does not parse: left exactly as it was */
	{ "To: John Smith", NULL },
	{ "To: bob, John Smith", NULL },
	{ "To: \"unterminated", NULL },
	{ "To: bob (unclosed", NULL },
	{ "To: <bob", NULL },
	{ "To: bob>", NULL },
	{ "To: <<bob>>", NULL },
	{ "To: <bob> carol", NULL },
	{ "To: bob.", NULL },
	{ "To: .bob", NULL },
	{ "To: team: bob", NULL },
	{ "To: bob;", NULL },
	{ "To: a: b: c;;", NULL },
	{ "To: bob@", NULL },
	{ "To: =?UTF-8?Q?bob?=", NULL },
	{ "To: [bob]", NULL },
	{ "To: bob\\x", NULL },
	{ "To: bob\x01", NULL },
	{ "To: @example.org", NULL },
};

START_TEST(table)
{
	const char *in = cases[_i].in, *want = cases[_i].out;
	struct buf out;
	int r;

	buf_init(&out, 1 << 20);
	r = qualify_field(in, strlen(in), DOM, &out);
	if (want == NULL) {
		ck_assert_msg(r == 0, "%s: changed to \"%s\"", in,
		    buf_cstr(&out));
		ck_assert_uint_eq(out.len, 0);
	} else {
		ck_assert_msg(r == 1, "%s: not changed (%d)", in, r);
		ck_assert_msg(strcmp(buf_cstr(&out), want) == 0,
		    "%s: got \"%s\", want \"%s\"", in, buf_cstr(&out), want);
	}
	buf_free(&out);
}
END_TEST

START_TEST(no_domain)
{
	struct buf out;

	buf_init(&out, 1024);
	ck_assert_int_eq(qualify_field("To: bob", 7, "", &out), 0);
	ck_assert_int_eq(qualify_field("To: bob", 7, NULL, &out), 0);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

START_TEST(out_full)
{
	struct buf out;

	/* out cannot hold the result: -1, out empty, the caller keeps f. */
	buf_init(&out, 8);
	ck_assert_int_eq(qualify_field("To: bob, carol", 14, DOM, &out), -1);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

START_TEST(fields)
{
	ck_assert(qualify_is_address_field("Resent-Reply-To: a", 18));
	ck_assert(qualify_is_address_field("reply-to: a", 11));
	ck_assert(!qualify_is_address_field("Return-Path: <a>", 16));
	ck_assert(!qualify_is_address_field("Message-ID: <a>", 15));
}
END_TEST

static size_t
longest_line(const char *s)
{
	size_t best = 0, n;

	while (*s != '\0') {
		n = strcspn(s, "\n");
		if (n > best)
			best = n;
		s += n + (s[n] == '\n');
	}
	return best;
}

/* A To: of one 990-octet line of bare names grows past 998: the result,
 * folded as submit folds it, has every line within the limit and every
 * name qualified. */
START_TEST(long_line_refolded)
{
	struct buf in, out, folded;
	size_t i, names = 0;
	const char *p;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_init(&folded, 1 << 20);
	buf_puts(&in, "To: u0");
	for (i = 1; in.len < 990; i++)
		buf_printf(&in, ", u%zu", i);
	ck_assert_uint_le(in.len, HEADER_LINE_MAX);
	ck_assert_int_eq(qualify_field(buf_cstr(&in), in.len, DOM, &out), 1);
	ck_assert_uint_gt(out.len, HEADER_LINE_MAX);
	ck_assert_int_eq(header_fold_buf(&folded, buf_cstr(&out), out.len,
	    HEADER_LINE_MAX), 0);
	ck_assert_uint_le(longest_line(buf_cstr(&folded)), HEADER_LINE_MAX);
	for (p = buf_cstr(&folded); (p = strstr(p, "@" DOM)) != NULL; p++)
		names++;
	ck_assert_uint_eq(names, i);
	buf_free(&in);
	buf_free(&out);
	buf_free(&folded);
}
END_TEST

/* One bare name of 2000 octets: still qualified, still one word (split
 * only by the folder's last resort, as any over-long word). */
START_TEST(long_name)
{
	struct buf in, out;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_puts(&in, "To: ");
	while (in.len < 2004)
		buf_putc(&in, 'x');
	ck_assert_int_eq(qualify_field(buf_cstr(&in), in.len, DOM, &out), 1);
	ck_assert_uint_eq(out.len, in.len + strlen("@" DOM));
	buf_free(&in);
	buf_free(&out);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("qualify");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, no_domain);
	tcase_add_test(tc, out_full);
	tcase_add_test(tc, fields);
	tcase_add_test(tc, long_line_refolded);
	tcase_add_test(tc, long_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ck_run(suite());
}
