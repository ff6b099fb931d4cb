/* What the host tools in tests/tools share: the platform's panic_at() (net/platform.h)
 * and little-endian reads of classic pcap headers. Header-only: each tool is one
 * compile of its own .c with the net/ sources it needs. */
#ifndef SKIFF_TESTS_TOOLS_TOOL_H
#define SKIFF_TESTS_TOOLS_TOOL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
