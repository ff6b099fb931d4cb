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
uint16_t csum_fold(uint32_t sum);
/* Copies len bytes from src to dst (not overlapping) and returns csum_partial(src, len,
 * sum) from the same pass. */
uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum);
/* Pseudo-header sum for TCP/UDP over IPv4 (RFC 9293 §3.1, RFC 768); addresses in host order. */
uint32_t csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

#endif
