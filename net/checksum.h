/*
 * The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words.
 * csum_partial() accumulates over any number of buffers (odd lengths allowed only on
 * the last one), csum_fold() finishes. A packet whose stored checksum is right folds
 * to 0 when summed whole.
 */
#ifndef SKIFF_NET_CHECKSUM_H
#define SKIFF_NET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint32_t csum_partial(const void *data, size_t len, uint32_t sum);
/* Folds a sum to 16 bits and complements it (inline: once per segment both ways). */
static inline uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);     /* at most 0xffff after two folds */
	return (uint16_t)~sum;
}
/* Copies len bytes from src to dst (not overlapping) and returns csum_partial(src, len,
 * sum) from the same pass. */
uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum);
/* A 64-bit sum of native-order words folded to the 16-bit one's-complement sum in
 * network order (RFC 1071 §2(B): byte order does not matter until the end). 64 -> 32
 * bits with the carry wrapped around, then 32 -> 16 as x + rotl(x, 16), whose high half
 * is the two halves' sum with its carry already added back (Linux's generic csum_fold).
 * Zero only for a zero sum, as the step-by-step fold. */
static inline uint16_t csum_fold_words(uint64_t s)
{
	uint32_t hi = (uint32_t)(s >> 32), x = (uint32_t)s + hi;
	x += x < hi;
	uint16_t v = (uint16_t)((x + (x << 16 | x >> 16)) >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	return v;
}
/* csum_partial for a header: len a multiple of 4, at most 60 (RFC 1071 §2(B) as
 * csum_partial). Eight bytes a step with the carry wrapped around at once (an add and
 * an add-with-carry; RFC 1071 §4.1): about half the instructions of a 32-bit word a
 * step, and TCP sums every header it sends here. */
static inline uint32_t csum_hdr_words(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = 0;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, p + i, 8);
		s += w;
		s += s < w;     /* after a carry s < 2^64 - 1: adding it back cannot carry */
	}
	if (i < len) {
		uint32_t w;
		__builtin_memcpy(&w, p + i, 4);
		s += w;
		s += s < w;
	}
	uint64_t acc = (uint64_t)sum + csum_fold_words(s);
	return (uint32_t)(acc & 0xffffffffu) + (uint32_t)(acc >> 32);
}
/* Pseudo-header sum for TCP/UDP over IPv4 (RFC 9293 §3.1, RFC 768); addresses in host order.
 * Six terms of at most 16 bits: at most 0x500fa, nothing to fold. */
static inline uint32_t csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

#endif
