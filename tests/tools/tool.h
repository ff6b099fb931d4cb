/* What the host tools in tests/tools share: the platform's panic_at() (net/platform.h)
 * and little-endian reads of classic pcap headers. Header-only: each tool is one
 * compile of its own .c with the net/ sources it needs. */
#ifndef SKIFF_TESTS_TOOLS_TOOL_H
#define SKIFF_TESTS_TOOLS_TOOL_H

#include "tests/host_panic.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
