/*
 * IPv4 address helpers and the Internet checksum (RFC 1071), shared by every layer.
 * Addresses are uint32_t in host byte order everywhere above the wire modules.
 * Address classes per RFC 1122 §3.2.1.3 and RFC 5735.
 */
#ifndef SKIFF_NET_INET_H
#define SKIFF_NET_INET_H

#include <stddef.h>
#include <stdint.h>
#include "net/checksum.h"

#define INET_ADDR(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define INET_BCAST 0xffffffffu
#define INET_ADDRSTRLEN 16

/* One's complement sum of len bytes added to sum (unfolded; odd len padded with 0). */
uint32_t inet_csum_add(uint32_t sum, const void *buf, size_t len);
/* Folds a sum to 16 bits and complements it: the value that goes into a header. */
uint16_t inet_csum_fold(uint32_t sum);
/* Checksum of a buffer; a buffer that contains its own correct checksum gives 0. */
uint16_t inet_csum(const void *buf, size_t len);
/* inet_csum of an IPv4 header (len a multiple of 4, 20 to 60), inline: checked and
 * emitted once per frame, and csum_hdr_words' eight-byte steps beat the general loop. */
static inline uint16_t inet_csum_hdr(const void *buf, size_t len)
{
	return csum_fold(csum_hdr_words(buf, len, 0));
}
/* The TCP/UDP pseudo header sum (RFC 768): src, dst, zero, proto, length. */
uint32_t inet_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

static inline uint32_t inet_mask(int prefix_len)
{
	return prefix_len <= 0 ? 0 : prefix_len >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix_len);
}
static inline int inet_is_multicast(uint32_t a) { return (a >> 28) == 0xe; }
static inline int inet_is_loopback(uint32_t a) { return (a >> 24) == 127; }
/* 240.0.0.0/4 minus the limited broadcast: reserved, never a valid source. */
static inline int inet_is_reserved(uint32_t a) { return (a >> 28) == 0xf && a != INET_BCAST; }
/* "This network" 0.0.0.0/8. */
static inline int inet_is_zeronet(uint32_t a) { return (a >> 24) == 0; }

/* RFC 1122 §3.2.1.3: an address a host never accepts as a source of a datagram. */
static inline int inet_is_martian_src(uint32_t a)
{
	return a == INET_BCAST || inet_is_multicast(a) || inet_is_loopback(a) ||
	       inet_is_reserved(a) || inet_is_zeronet(a);
}

/* Writes "a.b.c.d" (at least INET_ADDRSTRLEN bytes); returns buf. */
char *inet_fmt(char *buf, uint32_t addr);
/* Strict dotted quad: four decimal parts 0..255, no leading junk. 0 or -1. */
int inet_parse(const char *s, uint32_t *addr);
/* "a.b.c.d/n" (n 0..32) or a bare address (prefix 32). 0 or -1. */
int inet_parse_cidr(const char *s, uint32_t *addr, int *prefix_len);
/* Prefix length of a contiguous netmask, or -1 if the mask has holes. */
int inet_mask_len(uint32_t mask);

#endif
