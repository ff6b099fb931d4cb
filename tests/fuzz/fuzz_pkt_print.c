/*
 * libFuzzer over the packet printer (net/pkt_print.c; make fuzz-print). The first
 * input byte picks the -e/-v/-x/-xx flags and how much of the frame the capture
 * "kept"; the rest is the frame, in an exactly-sized heap copy so ASan sees any read
 * past it. The text must be what the returned length says: whole and ending in '\n'
 * in a large buffer, a NUL-terminated prefix of it in a small one.
 */
#include "tests/host_panic.h"
#include "net/pkt_print.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static char big[1 << 16], small[40];
	if (size == 0 || size > 4096)
		return 0;
	unsigned flags = data[0] & 0x0f;
	size_t len = size - 1;
	size_t wire = len + (data[0] >> 4) * 7;         /* bytes the capture cut off */
	unsigned char *frame = malloc(len ? len : 1);
	memcpy(frame, data + 1, len);
	int n = pkt_print(big, sizeof(big), 1700000000123456789ull, frame, len, wire, flags);
	if (n <= 0 || (size_t)n >= sizeof(big) || strlen(big) != (size_t)n || big[n - 1] != '\n')
		abort();
	int m = pkt_print(small, sizeof(small), 1700000000123456789ull, frame, len, wire, flags);
	if (m != n || strncmp(small, big, sizeof(small) - 1) != 0 ||
	    strlen(small) != ((size_t)n < sizeof(small) ? (size_t)n : sizeof(small) - 1))
		abort();
	free(frame);
	return 0;
}
