/*
 * Internet checksum (RFC 1071). The one implementation in net/: inet.c's helpers and
 * every wire module call these.
 *
 * csum_partial sums the buffer as native-order 64-bit words with end-around carry
 * (RFC 1071 §4.1: an add-with-carry per 8 bytes), folds to 16 bits and swaps to network
 * order once. Each step is exact: one's complement addition is associative; a sum of
 * 64-bit words folds to the sum of their 16-bit words because 2^16 == 1 modulo 0xffff
 * (§2(B), "parallel summation"); summing byte-swapped words gives the byte-swapped sum
 * (§2(B), "byte order independence"). About a third of the instructions of summing
 * 32-bit big-endian words one by one (callgrind, tests/bench/net_bench.c;
 * docs/performance.md). Loads go through memcpy, so any alignment is fine.
 */
#include "net/checksum.h"

/* A last odd byte is the first byte of a 16-bit word whose second byte is zero. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ODD_BYTE(b) ((uint64_t)(b))
#else
#define ODD_BYTE(b) ((uint64_t)(b) << 8)
#endif

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);     /* the carry out wraps around: one's complement */
}

/* The one's complement sum of data as native-order 16-bit words, folded to 16 bits.
 * One accumulator on purpose: gcc 12 -O2 turns the chain into adc/cmp pairs (14
 * instructions per 32 bytes); two interleaved ones, or a 128-bit one, came out at 20-24. */
static uint16_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t a = 0;
	for (; len >= 32; p += 32, len -= 32) {
		a = add_carry(a, load64(p));
		a = add_carry(a, load64(p + 8));
		a = add_carry(a, load64(p + 16));
		a = add_carry(a, load64(p + 24));
	}
	for (; len >= 8; p += 8, len -= 8)
		a = add_carry(a, load64(p));
	/* Fixed-size loads for the tail: a variable-length copy would be a call. The
	 * 16-bit words keep their alignment (2^16 == 1 modulo 0xffff, wherever they sit). */
	if (len & 4) {
		uint32_t v;
		__builtin_memcpy(&v, p, 4);
		a = add_carry(a, v);
		p += 4;
	}
	if (len & 2) {
		uint16_t v;
		__builtin_memcpy(&v, p, 2);
		a = add_carry(a, v);
		p += 2;
	}
	if (len & 1)            /* padded with a zero byte after it (RFC 1071 §4.1) */
		a = add_carry(a, ODD_BYTE(*p));
	a = (a & 0xffffffffu) + (a >> 32);      /* fold 64 -> 33 -> 32 -> 16 bits, end-around */
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	a = (a & 0xffff) + (a >> 16);
	return (uint16_t)a;
}

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	uint16_t s = sum_native(data, len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16(s);
#endif
	uint64_t acc = (uint64_t)sum + s;
	return (uint32_t)(acc & 0xffffffffu) + (uint32_t)(acc >> 32);
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}
