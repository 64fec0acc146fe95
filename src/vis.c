/*
 * vis.c - escape untrusted bytes for a terminal (see vis.h).
 *
 * Output errors are the caller's to notice with ferror(); nothing here
 * fails otherwise.
 */
#include "config.h"

#include <string.h>

#include "vis.h"

void
vis_init(struct vis *v)
{
	memset(v, 0, sizeof(*v));
}

static void
put_hex(FILE *fp, unsigned char c)
{
	fprintf(fp, "\\x%02x", c);
}

/* The length a lead byte announces, or 0 if it cannot start a sequence. */
static size_t
utf8_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Is the second byte allowed after this lead (no overlong, surrogate or
 * beyond U+10FFFF; no C1 control)? */
static int
second_ok(unsigned char lead, unsigned char c)
{
	if ((c & 0xc0) != 0x80)
		return 0;
	switch (lead) {
	case 0xc2:
		return c >= 0xa0;	/* U+0080..U+009F are C1 controls */
	case 0xe0:
		return c >= 0xa0;
	case 0xed:
		return c <= 0x9f;
	case 0xf0:
		return c >= 0x90;
	case 0xf4:
		return c <= 0x8f;
	default:
		return 1;
	}
}

/* Give up on the pending sequence: escape its bytes. */
static void
drop_seq(struct vis *v, FILE *fp)
{
	size_t i;

	for (i = 0; i < v->have; i++)
		put_hex(fp, v->seq[i]);
	v->have = v->need = 0;
}

static void
put_cr(struct vis *v, FILE *fp)
{
	if (v->cr)
		fputs("\\r", fp);
	v->cr = 0;
}

/* One byte that is not part of a pending sequence. */
static void
put_plain(struct vis *v, FILE *fp, unsigned char c)
{
	if (c == '\r') {
		put_cr(v, fp);
		v->cr = 1;
		return;
	}
	if (c == '\n') {
		v->cr = 0;
		putc('\n', fp);
		return;
	}
	put_cr(v, fp);
	if (c == '\t' || (c >= 0x20 && c < 0x7f))
		putc(c, fp);
	else if ((v->need = utf8_len(c)) != 0)
		v->seq[v->have++] = c;
	else
		put_hex(fp, c);
}

static void
put_byte(struct vis *v, FILE *fp, unsigned char c)
{
	if (v->need == 0) {
		put_plain(v, fp, c);
		return;
	}
	if (v->have == 1 ? !second_ok(v->seq[0], c) : (c & 0xc0) != 0x80) {
		drop_seq(v, fp);
		put_plain(v, fp, c);
		return;
	}
	v->seq[v->have++] = c;
	if (v->have == v->need) {
		fwrite(v->seq, 1, v->have, fp);
		v->have = v->need = 0;
	}
}

void
vis_write(struct vis *v, FILE *fp, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		put_byte(v, fp, s[i]);
}

void
vis_flush(struct vis *v, FILE *fp)
{
	drop_seq(v, fp);
	put_cr(v, fp);
}

void
vis_puts(FILE *fp, const char *s)
{
	struct vis v;

	vis_init(&v);
	vis_write(&v, fp, s, strlen(s));
	vis_flush(&v, fp);
}

int
vis_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int
vis_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if (vis_is_ctl((unsigned char)*s))
			return 1;
	return 0;
}

const char *
vis_ctl(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		dst[i] = vis_is_ctl((unsigned char)s[i]) ? '?' : s[i];
	if (size > 0)
		dst[i] = '\0';
	return dst;
}
