/*
 * The C string functions the kernel uses. In the image they come from lib/string.c
 * (gcc also emits calls to memcpy/memset on its own); on the host, from the C library,
 * so hardware-free code compiles unchanged for the unit tests.
 */
#ifndef SKIFF_LIB_STRING_H
#define SKIFF_LIB_STRING_H

#include <stddef.h>

#ifdef SKIFF_HOSTED
#include <string.h>
#else
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/*
 * -ffreestanding turns gcc's builtins off, so even a 4-byte memcpy became a call and a
 * string instruction. Through the builtin a constant-size copy or fill is a few moves,
 * and any other still calls the function above.
 */
#define memcpy(d, s, n) __builtin_memcpy(d, s, n)
#define memset(d, c, n) __builtin_memset(d, c, n)
#endif

/* Copies at most cap-1 bytes and always terminates; returns strlen(src). */
static inline size_t strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);
	if (cap) {
		size_t c = n < cap - 1 ? n : cap - 1;
		memcpy(dst, src, c);
		dst[c] = 0;
	}
	return n;
}

#endif
