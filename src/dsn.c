/*
 * dsn.c - DSN request parsing and xtext (see dsn.h). sendmail's rules:
 * NOTIFY is NEVER or any of SUCCESS, FAILURE, DELAY; RET is FULL or HDRS;
 * the envelope id is xtext of at most 100 characters.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "dsn.h"

static const struct {
	const char *name;
	unsigned bit;
} notify_words[] = {
	{ "NEVER", DSN_NOTIFY_NEVER },
	{ "SUCCESS", DSN_NOTIFY_SUCCESS },
	{ "FAILURE", DSN_NOTIFY_FAILURE },
	{ "DELAY", DSN_NOTIFY_DELAY },
};
#define NWORDS	(sizeof(notify_words) / sizeof(notify_words[0]))

int
dsn_notify_parse(const char *s, unsigned *out)
{
	unsigned bits = 0;
	size_t n, i;

	for (;;) {
		n = strcspn(s, ",");
		for (i = 0; i < NWORDS; i++)
			if (strlen(notify_words[i].name) == n &&
			    strncasecmp(s, notify_words[i].name, n) == 0)
				break;
		if (i == NWORDS)
			return -1;	/* unknown or empty word */
		bits |= notify_words[i].bit;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

void
dsn_notify_str(unsigned notify, char *out, size_t size)
{
	size_t i;

	if (size > 0)
		out[0] = '\0';
	for (i = 0; i < NWORDS; i++) {
		if (!(notify & notify_words[i].bit))
			continue;
		if (out[0] != '\0')
			strlcat(out, ",", size);
		strlcat(out, notify_words[i].name, size);
	}
}

int
dsn_ret_parse(const char *s, enum dsn_ret *out)
{
	if (strcasecmp(s, "FULL") == 0)
		*out = DSN_RET_FULL;
	else if (strcasecmp(s, "HDRS") == 0)
		*out = DSN_RET_HDRS;
	else
		return -1;
	return 0;
}

const char *
dsn_ret_name(enum dsn_ret ret)
{
	return ret == DSN_RET_FULL ? "FULL" : ret == DSN_RET_HDRS ? "HDRS" :
	    "";
}

static int
xtext_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=';
}

size_t
dsn_xtext(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (xtext_char(c)) {
			if (n + 1 < size)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (n + 3 < size) {
			out[n] = '+';
			out[n + 1] = hex[c >> 4];
			out[n + 2] = hex[c & 0xf];
		}
		n += 3;
	}
	if (size > 0)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode valid xtext into out (size > strlen(s)); -1 if s is not xtext. */
static int
xtext_decode(const char *s, char *out)
{
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			if ((hi = hexval(s[1])) == -1 || (lo = hexval(s[2])) ==
			    -1)
				return -1;
			if ((hi << 4 | lo) < 0x20 || (hi << 4 | lo) > 0x7e)
				return -1;	/* not something we keep */
			*out++ = (char)(hi << 4 | lo);
			s += 2;
		} else if (xtext_char((unsigned char)*s))
			*out++ = *s;
		else
			return -1;
	}
	*out = '\0';
	return 0;
}

int
dsn_envid_valid(const char *s)
{
	const char *p;

	if (*s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return 0;
	return dsn_xtext(s, NULL, 0) <= DSN_ENVID_MAX;
}

int
dsn_envid_parse(const char *s, char out[DSN_ENVID_MAX + 1])
{
	char tmp[DSN_ENVID_MAX * 3 + 1];

	if (strlen(s) >= sizeof(tmp))
		return -1;
	if (xtext_decode(s, tmp) == -1)
		strlcpy(tmp, s, sizeof(tmp));
	if (!dsn_envid_valid(tmp))
		return -1;
	strlcpy(out, tmp, DSN_ENVID_MAX + 1);
	return 0;
}

int
dsn_req_any(const struct dsn_req *d)
{
	return d->notify != 0 || d->ret != DSN_RET_UNSET || d->envid[0] != '\0';
}

int
dsn_wants_failure(const struct dsn_req *d)
{
	return d->notify == 0 || (d->notify & DSN_NOTIFY_FAILURE) != 0;
}
