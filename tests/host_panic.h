/* panic_at() (net/platform.h) for the host programs that are not the unit-test runner:
 * fuzzers, benchmarks and tools. Each includes this once; a broken invariant prints
 * where and aborts, which is what a fuzzer or a sanitizer wants to see. */
#ifndef SKIFF_TESTS_HOST_PANIC_H
#define SKIFF_TESTS_HOST_PANIC_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "net/platform.h"      /* the declaration, with its format attribute, first */

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "PANIC %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#endif
