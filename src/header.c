/*
 * header.c - header field recognition and the fields relayq adds.
 * Full names are emitted as an RFC 5322 quoted string when they are plain
 * ASCII, as an RFC 2047 encoded word otherwise; control characters never
 * reach the output (the caller refuses CR/LF/NUL earlier, this is the
 * second line of defence).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "header.h"

size_t
header_name_len(const char *line, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == ':' || c <= 32 || c >= 127)
			break;
	}
	if (i == 0)
		return 0;
	n = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':' ? n : 0;
}

int
header_is(const char *line, size_t len, const char *name)
{
	size_t n = header_name_len(line, len);

	return n == strlen(name) && strncasecmp(line, name, n) == 0;
}

int
header_is_continuation(const char *line, size_t len)
{
	return len > 0 && (line[0] == ' ' || line[0] == '\t');
}

void
header_date(char *out, size_t outlen, time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static int
needs_encoding(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80 || (unsigned char)*s < 0x20)
			return 1;
	return 0;
}

/* RFC 2047 B encoding, one encoded word per 45 input bytes. */
static int
add_encoded(struct buf *b, const char *s)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), i, j;

	for (i = 0; i < len; i += 45) {
		size_t n = len - i < 45 ? len - i : 45;
		const unsigned char *p = (const unsigned char *)s + i;

		if (buf_puts(b, i ? "\n =?UTF-8?B?" : "=?UTF-8?B?") == -1)
			return -1;
		for (j = 0; j < n; j += 3) {
			unsigned v = p[j] << 16;
			char q[4];

			v |= j + 1 < n ? p[j + 1] << 8 : 0;
			v |= j + 2 < n ? p[j + 2] : 0;
			q[0] = b64[(v >> 18) & 63];
			q[1] = b64[(v >> 12) & 63];
			q[2] = j + 1 < n ? b64[(v >> 6) & 63] : '=';
			q[3] = j + 2 < n ? b64[v & 63] : '=';
			if (buf_append(b, q, 4) == -1)
				return -1;
		}
		if (buf_puts(b, "?=") == -1)
			return -1;
	}
	return 0;
}

static int
add_quoted(struct buf *b, const char *s)
{
	if (buf_putc(b, '"') == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if ((*s == '"' || *s == '\\') && buf_putc(b, '\\') == -1)
			return -1;
		if (buf_putc(b, *s) == -1)
			return -1;
	}
	return buf_putc(b, '"');
}

int
header_add_from(struct buf *b, const char *fullname, const char *addr)
{
	if (buf_puts(b, "From: ") == -1)
		return -1;
	if (fullname != NULL && *fullname != '\0') {
		if ((needs_encoding(fullname) ? add_encoded(b, fullname) :
		    add_quoted(b, fullname)) == -1)
			return -1;
		return buf_printf(b, " <%s>\n", addr);
	}
	return buf_printf(b, "%s\n", addr);
}

int
header_add_message_id(struct buf *b, const char *id, const char *host,
    time_t t)
{
	char stamp[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		stamp[0] = '\0';
	return buf_printf(b, "Message-ID: <%s.%s@%s>\n", stamp, id, host);
}

int
header_add_date(struct buf *b, time_t t)
{
	char date[64];

	header_date(date, sizeof(date), t);
	return buf_printf(b, "Date: %s\n", date);
}

int
header_add_received(struct buf *b, const char *host, uid_t uid,
    const char *id, time_t t)
{
	char date[64];

	header_date(date, sizeof(date), t);
	return buf_printf(b, "Received: by %s (relayq, from userid %lu)\n"
	    "\tid %s; %s\n", host, (unsigned long)uid, id, date);
}
