/*
 * check_rewrite.c - the From rewrite of a route: which messages it
 * touches, the new header block byte for byte (From, Reply-To, the fields
 * dropped and the ones kept), and the envelope sender.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "buf.h"
#include "rewrite.h"

#include "ck_run.h"

static char *shop_senders[] = { "*@shop.example", "*@*.shop.example" };

/* The route: from = Shop <orders@shop.example>, senders as above. */
static void
route(struct cfg_smarthost *sh, enum rewrite_mode mode, const char *name)
{
	memset(sh, 0, sizeof(*sh));
	sh->name = "shop";
	sh->from = "orders@shop.example";
	sh->from_name = (char *)name;
	sh->rewrite_from = mode;
	sh->senders.v = shop_senders;
	sh->senders.n = 2;
}

static const struct {
	enum rewrite_mode mode;
	const char *name;
	const char *in;
	const char *out;	/* "" when unchanged */
} cases[] = {
	{ REWRITE_ALWAYS, NULL,
	    "From: Bob Smith <bob@home.example>\nTo: x@y.example\n",
	    "From: Bob Smith <orders@shop.example>\nTo: x@y.example\n"
	    "Reply-To: Bob Smith <bob@home.example>\n" },
	/* the route's display name wins; an existing Reply-To is kept */
	{ REWRITE_ALWAYS, "Shop Team",
	    "Reply-To: help@home.example\nFrom: bob@home.example\n",
	    "Reply-To: help@home.example\n"
	    "From: \"Shop Team\" <orders@shop.example>\n" },
	/* folded From: unfolded name, original value folded as it was */
	{ REWRITE_ALWAYS, NULL,
	    "From: \"Smith, Bob\"\n <bob@home.example>\nSubject: s\n",
	    "From: \"Smith, Bob\" <orders@shop.example>\nSubject: s\n"
	    "Reply-To: \"Smith, Bob\"\n <bob@home.example>\n" },
	/* Sender, Return-Path and a second From go; DKIM stays */
	{ REWRITE_ALWAYS, NULL,
	    "DKIM-Signature: v=1; d=home.example;\n\tb=abc\n"
	    "Return-Path: <bob@home.example>\nFrom: bob@home.example\n"
	    "Sender: bob@home.example\nFrom: eve@home.example\n",
	    "DKIM-Signature: v=1; d=home.example;\n\tb=abc\n"
	    "From: orders@shop.example\nReply-To: bob@home.example\n" },
	/* no From at all: one is added, no Reply-To */
	{ REWRITE_ALWAYS, NULL, "Subject: s\n",
	    "Subject: s\nFrom: orders@shop.example\n" },
	/* already the route's address */
	{ REWRITE_ALWAYS, NULL, "From: Orders <ORDERS@shop.example>\n", "" },
	{ REWRITE_NO, NULL, "From: bob@home.example\n", "" },
	/* foreign: only senders outside the route's domains */
	{ REWRITE_FOREIGN, NULL, "From: anna@eu.shop.example\n", "" },
	{ REWRITE_FOREIGN, NULL, "From: anna@shop.example\n", "" },
	{ REWRITE_FOREIGN, NULL, "From: anna@other.example\n",
	    "From: orders@shop.example\nReply-To: anna@other.example\n" },
	/* long fields written are folded (at most 78 octets a line) */
	{ REWRITE_ALWAYS, NULL,
	    "From: Bob Smith of the Department of Very Long Names and Titles "
	    "<bob@home.example>\n",
	    "From: Bob Smith of the Department of Very Long Names and Titles\n"
	    " <orders@shop.example>\n"
	    "Reply-To: Bob Smith of the Department of Very Long Names and "
	    "Titles\n <bob@home.example>\n" },
	/* a last line without LF (no body) gets one */
	{ REWRITE_ALWAYS, NULL, "From: a@b.example",
	    "From: orders@shop.example\nReply-To: a@b.example\n" },
};

START_TEST(rewrite)
{
	struct cfg_smarthost sh;
	struct buf head;
	struct err e;

	route(&sh, cases[_i].mode, cases[_i].name);
	buf_init(&head, 1 << 20);
	ck_assert_int_eq(rewrite_block(&sh, cases[_i].in, strlen(cases[_i].in),
	    &head, &e), RQ_OK);
	ck_assert_str_eq(buf_cstr(&head), cases[_i].out);
	buf_free(&head);
}
END_TEST

START_TEST(sender)
{
	struct cfg_smarthost sh;

	route(&sh, REWRITE_ALWAYS, NULL);
	ck_assert_str_eq(rewrite_sender(&sh, "bob@home.example"),
	    "orders@shop.example");
	ck_assert_str_eq(rewrite_sender(&sh, ""), "");	/* bounces stay <> */
	route(&sh, REWRITE_NO, NULL);
	ck_assert_str_eq(rewrite_sender(&sh, "bob@home.example"),
	    "orders@shop.example");
	route(&sh, REWRITE_FOREIGN, NULL);
	ck_assert_str_eq(rewrite_sender(&sh, "anna@shop.example"),
	    "anna@shop.example");
	ck_assert_str_eq(rewrite_sender(&sh, "bob@home.example"),
	    "orders@shop.example");
	sh.from = NULL;
	ck_assert_str_eq(rewrite_sender(&sh, "bob@home.example"),
	    "bob@home.example");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rewrite");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, rewrite, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, sender);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
