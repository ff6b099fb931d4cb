/*
 * The Internet checksum the slow way (RFC 1071 §1 straight from the definition), the
 * reference the checksum tests compare net/checksum.c and its callers against: the
 * bytes as big-endian 16-bit words, an odd last byte padded with a zero byte, summed in
 * 64 bits (no carry is lost) and folded end-around only at the end.
 */
#ifndef SKIFF_TEST_CSUM_REF_H
#define SKIFF_TEST_CSUM_REF_H

#include <stddef.h>
#include <stdint.h>

/* acc plus the n bytes at b; b's first byte is a word's high byte. */
static inline uint64_t csum_ref_add(const uint8_t *b, size_t n, uint64_t acc)
{
	for (size_t i = 0; i < n; i++)
		acc += i & 1 ? b[i] : (uint64_t)b[i] << 8;
	return acc;
}

/* Folded to 16 bits end-around: 0xffff for a nonzero sum of 0xffff's, 0 only for 0. */
static inline uint16_t csum_ref_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* What a header's checksum field holds for the sum acc. */
static inline uint16_t csum_ref_field(uint64_t acc)
{
	return (uint16_t)~csum_ref_fold(acc);
}

#endif
