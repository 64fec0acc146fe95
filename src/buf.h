/*
 * buf.h - a growable byte buffer with a hard maximum size.
 *
 * Every buffer that holds outside input has a maximum: appending past it
 * fails with errno EMSGSIZE (and the buffer is unchanged), running out of
 * memory fails with ENOMEM. data is always NUL-terminated when non-NULL,
 * so text can be read with buf_cstr() without an extra append.
 */
#ifndef RELAYQ_BUF_H
#define RELAYQ_BUF_H

#include <stddef.h>
#include "err.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);	/* 0 or -1 */
int buf_putc(struct buf *b, int c);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) RQ_PRINTF(2, 3);
void buf_reset(struct buf *b);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
const char *buf_cstr(const struct buf *b);	/* "" when empty */
/* Hand the string to the caller (who frees it); the buffer is reset. */
char *buf_steal(struct buf *b);
/* Wipe (explicit_bzero) and free: for buffers that held secrets. */
void buf_wipe(struct buf *b);
void buf_free(struct buf *b);

/*
 * For an array of n elements of size bytes that only ever grows one
 * element at a time from NULL: make room for element n. The array doubles
 * when n is 0 or a power of two (it is full then), so adding n elements
 * costs O(n) copying, not O(n^2). Returns the (possibly moved) array, or
 * NULL with errno (the array unchanged).
 */
void *array_grow(void *v, size_t n, size_t size);

#endif
