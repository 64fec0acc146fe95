/*
 * check_aliases.c - the aliases file against the golden files in
 * golden/aliases/, and its bounds.
 *
 * A golden file has sections: "== aliases" (the file, verbatim), "==
 * errors" (what newaliases reports: "LINE: problem", in order), "==
 * summary" (optional: "N aliases, longest X bytes, Y bytes total") and
 * any number of "== expand RCPT|RCPT..." (the envelope after expansion, one
 * address a line, then the notes as "! note"). Lines before the first
 * section are comments. The local domain is example.test.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"

#include "ck_run.h"

#define DOMAIN "example.test"

static const char *const golden[] = {
	"basic", "recursion", "loops", "unsupported", "syntax",
};

struct golden {
	struct buf file;
	struct buf errors;
	struct buf summary;
	int have_summary;
	char *rcpts[16];	/* the "== expand" lines */
	struct buf want[16];
	size_t nexp;
};

static void
golden_read(struct golden *g, const char *name)
{
	char path[512], *line = NULL;
	struct buf *cur = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	memset(g, 0, sizeof(*g));
	buf_init(&g->file, 1 << 20);
	buf_init(&g->errors, 1 << 20);
	buf_init(&g->summary, 4096);
	snprintf(path, sizeof(path), "%s/aliases/%s.txt", GOLDEN_DIR, name);
	ck_assert_msg((fp = fopen(path, "r")) != NULL, "%s", path);
	while ((n = getline(&line, &cap, fp)) != -1) {
		if (strcmp(line, "== aliases\n") == 0)
			cur = &g->file;
		else if (strcmp(line, "== errors\n") == 0)
			cur = &g->errors;
		else if (strcmp(line, "== summary\n") == 0) {
			cur = &g->summary;
			g->have_summary = 1;
		} else if (strncmp(line, "== expand ", 10) == 0) {
			ck_assert_uint_lt(g->nexp, 16);
			line[n - 1] = '\0';
			g->rcpts[g->nexp] = strdup(line + 10);
			buf_init(&g->want[g->nexp], 1 << 20);
			cur = &g->want[g->nexp++];
		} else if (cur != NULL)
			buf_append(cur, line, (size_t)n);
	}
	free(line);
	fclose(fp);
}

static void
golden_free(struct golden *g)
{
	size_t i;

	buf_free(&g->file);
	buf_free(&g->errors);
	buf_free(&g->summary);
	for (i = 0; i < g->nexp; i++) {
		free(g->rcpts[i]);
		buf_free(&g->want[i]);
	}
}

static void
load_text(struct aliases *al, const char *text, size_t len)
{
	struct err e;
	FILE *fp = fmemopen((void *)(uintptr_t)text, len, "r");

	ck_assert_ptr_nonnull(fp);
	ck_assert_msg(aliases_read(al, fp, "aliases", DOMAIN, &e) == RQ_OK,
	    "%s", e.msg);
	fclose(fp);
}

/* The envelope rcpts ("|" between them) after expansion, as text. */
static void
expand_text(const struct aliases *al, char *rcpts, struct buf *out)
{
	struct aliases_exp x;
	const char *v[16];
	char *tok, *save = NULL;
	struct err e;
	size_t n = 0, i;

	for (tok = strtok_r(rcpts, "|", &save); tok != NULL && n < 16;
	    tok = strtok_r(NULL, "|", &save))
		v[n++] = tok;
	ck_assert_int_eq(aliases_expand(al, v, n, &x, &e), RQ_OK);
	for (i = 0; i < x.n; i++)
		buf_printf(out, "%s\n", x.addr[i]);
	for (i = 0; i < x.nnotes; i++)
		buf_printf(out, "! %s\n", x.notes[i]);
	aliases_exp_free(&x);
}

START_TEST(golden_files)
{
	struct aliases al;
	struct golden g;
	struct buf got;
	struct err e;
	size_t i;

	golden_read(&g, golden[_i]);
	ck_assert_msg(g.file.len > 0, "%s: no \"== aliases\"", golden[_i]);
	load_text(&al, buf_cstr(&g.file), g.file.len);
	ck_assert_int_eq(aliases_check(&al, &e), RQ_OK);
	buf_init(&got, 1 << 20);
	for (i = 0; i < al.np; i++)
		buf_printf(&got, "%d: %s\n", al.p[i].line, al.p[i].msg);
	ck_assert_msg(strcmp(buf_cstr(&got), buf_cstr(&g.errors)) == 0,
	    "%s: errors:\n%s\nwant:\n%s", golden[_i], buf_cstr(&got),
	    buf_cstr(&g.errors));
	if (g.have_summary) {
		buf_reset(&got);
		buf_printf(&got, "%zu aliases, longest %zu bytes, %zu bytes "
		    "total\n", al.n, al.longest, al.total);
		ck_assert_msg(strcmp(buf_cstr(&got), buf_cstr(&g.summary)) ==
		    0, "%s: summary %s, want %s", golden[_i], buf_cstr(&got),
		    buf_cstr(&g.summary));
	}
	for (i = 0; i < g.nexp; i++) {
		char *rcpts = strdup(g.rcpts[i]);

		buf_reset(&got);
		expand_text(&al, rcpts, &got);
		ck_assert_msg(strcmp(buf_cstr(&got), buf_cstr(&g.want[i])) ==
		    0, "%s: expand %s:\n%s\nwant:\n%s", golden[_i],
		    g.rcpts[i], buf_cstr(&got), buf_cstr(&g.want[i]));
		free(rcpts);
	}
	buf_free(&got);
	aliases_free(&al);
	golden_free(&g);
}
END_TEST

/* Generated files past each bound, and the problem expected. */
enum gen { G_LONG_LINE, G_LONG_ENTRY, G_MANY_TARGETS, G_MANY_ALIASES };

static const struct {
	enum gen kind;
	const char *problem;	/* "LINE: text" of the first problem */
} bounds[] = {
	{ G_LONG_LINE, "2: line too long (more than 4096 bytes)" },
	{ G_LONG_ENTRY, "1: entry longer than 65536 bytes" },
	{ G_MANY_TARGETS, "1: big: more than 1000 targets: the rest are "
	    "ignored" },
	{ G_MANY_ALIASES, "100001: more than 100000 aliases: the rest are "
	    "ignored" },
};

static void
generate(struct buf *b, enum gen kind)
{
	size_t i;

	switch (kind) {
	case G_LONG_LINE:
		buf_puts(b, "ok: ok@example.org\nlong: ");
		for (i = 0; i < 5000; i++)
			buf_putc(b, 'x');
		buf_puts(b, "@example.org\n   more@example.org\n");
		break;
	case G_LONG_ENTRY:
		buf_puts(b, "big: a@example.org\n");
		for (i = 0; i < 2000; i++)
			buf_printf(b, "  , a-rather-long-local-part-%05zu@"
			    "example.org\n", i);
		buf_puts(b, "ok: ok@example.org\n");
		break;
	case G_MANY_TARGETS:
		buf_puts(b, "big: ");
		for (i = 0; i < 1500; i++)
			buf_printf(b, "%su%zu@example.org\n",
			    i ? "  , " : "", i);
		buf_puts(b, "ok: ok@example.org\n");
		break;
	case G_MANY_ALIASES:
		for (i = 0; i < 100002; i++)
			buf_printf(b, "n%zu: t%zu@example.org\n", i, i);
		break;
	}
}

START_TEST(bounded)
{
	struct aliases al;
	struct buf b, got;

	buf_init(&b, 16 << 20);
	buf_init(&got, 4096);
	generate(&b, bounds[_i].kind);
	load_text(&al, buf_cstr(&b), b.len);
	ck_assert_uint_ge(al.np, 1);
	buf_printf(&got, "%d: %s", al.p[0].line, al.p[0].msg);
	ck_assert_str_eq(buf_cstr(&got), bounds[_i].problem);
	/* The entries within bounds still apply. */
	if (bounds[_i].kind == G_MANY_ALIASES)
		ck_assert_uint_eq(al.n, ALIASES_MAX);
	else {
		const char *r[] = { "ok" };
		struct aliases_exp x;
		struct err e;

		ck_assert_int_eq(aliases_expand(&al, r, 1, &x, &e), RQ_OK);
		ck_assert_uint_eq(x.n, 1);
		ck_assert_str_eq(x.addr[0], "ok@example.org");
		aliases_exp_free(&x);
	}
	aliases_free(&al);
	buf_free(&b);
	buf_free(&got);
}
END_TEST

/* Two names of 1000 targets each: one recipient yields at most 1000. */
START_TEST(expansion_size)
{
	const char *r[] = { "all", "extra@example.org" };
	struct aliases_exp x;
	struct aliases al;
	struct buf b;
	struct err e;
	size_t i;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "all: one, two\none: ");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%sa%zu@example.org\n", i ? "\t, " : "", i);
	buf_puts(&b, "two: ");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%sb%zu@example.org\n", i ? "\t, " : "", i);
	load_text(&al, buf_cstr(&b), b.len);
	ck_assert_uint_eq(al.np, 0);
	ck_assert_int_eq(aliases_expand(&al, r, 2, &x, &e), RQ_OK);
	ck_assert_uint_eq(x.n, ALIASES_EXPAND_MAX + 1);
	ck_assert_str_eq(x.addr[ALIASES_EXPAND_MAX], "extra@example.org");
	ck_assert_uint_eq(x.nnotes, 1);
	ck_assert_str_eq(x.notes[0], "alias all: expands to more than 1000 "
	    "addresses: the rest are dropped");
	aliases_exp_free(&x);
	ck_assert_int_eq(aliases_check(&al, &e), RQ_OK);
	ck_assert_uint_eq(al.np, 1);
	ck_assert_str_eq(al.p[0].msg, "all: expands to more than 1000 "
	    "addresses");
	aliases_free(&al);
	buf_free(&b);
}
END_TEST

/* aliases_load: missing and group-writable files are unusable. */
START_TEST(load_refuses)
{
	struct aliases al;
	struct err e;
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/check_aliases.%ld",
	    (long)getpid());
	unlink(path);
	ck_assert_int_eq(aliases_load(&al, path, DOMAIN, &e), RQ_NOINPUT);
	ck_assert_ptr_nonnull(strstr(al.broken, path));
	aliases_free(&al);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("root: admin@example.org\n", fp);
	fclose(fp);
	ck_assert_int_eq(chmod(path, 0664), 0);
	ck_assert_int_eq(aliases_load(&al, path, DOMAIN, &e), RQ_TEMP);
	ck_assert_ptr_nonnull(strstr(e.msg, "group- or world-writable"));
	ck_assert_str_eq(al.broken, e.msg);
	aliases_free(&al);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(aliases_load(&al, path, DOMAIN, &e), RQ_OK);
	ck_assert_str_eq(al.broken, "");
	ck_assert_uint_eq(al.n, 1);
	aliases_free(&al);
	ck_assert_int_eq(aliases_load(&al, "/", DOMAIN, &e), RQ_TEMP);
	aliases_free(&al);
	unlink(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("aliases");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, golden_files, 0,
	    sizeof(golden) / sizeof(golden[0]));
	tcase_add_loop_test(tc, bounded, 0, sizeof(bounds) / sizeof(bounds[0]));
	tcase_add_test(tc, expansion_size);
	tcase_add_test(tc, load_refuses);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
