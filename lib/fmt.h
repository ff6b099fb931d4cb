/*
 * Freestanding printf-style formatting (no libc in the image). Hardware-free: the
 * host unit tests compare it against the C library's snprintf.
 * Supports %d %i %u %x %X %o %c %s %p %%, flags '-' '0' ' ' '+', width and precision
 * (also as '*'), length modifiers hh h l ll z t j.
 */
#ifndef SKIFF_LIB_FMT_H
#define SKIFF_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_put_fn)(char c, void *ctx);

/* Streams the formatted text through put(); returns the number of characters. */
int kvformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap);

/* Like vsnprintf: always NUL-terminates when cap > 0; returns the untruncated length. */
int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends to buf[0..cap) at len; len counts what did not fit too (as snprintf's
 * return does), so len > cap after a call says the text was cut. */
struct fmt_buf {
	char *buf;
	size_t cap, len;
};
void fmt_put(struct fmt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
