/*
 * Ethernet II framing, bytes only (IEEE 802.3 §3.2, RFC 894 for IPv4 over Ethernet).
 * Frames arrive without the FCS; the minimum frame is then 60 bytes (ETH_ZLEN) and the
 * sender pads, so receivers trim padding using the IP total length.
 */
#ifndef SKIFF_NET_ETH_H
#define SKIFF_NET_ETH_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_ZLEN 60                     /* minimum frame length without FCS */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_MACSTRLEN 18

struct eth_hdr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;
};

extern const uint8_t eth_broadcast[ETH_ALEN];

/* Inline, with fixed-size copies: every frame in and out goes through them. */
/* WIRE_OK when buf holds a whole header: then eth_parse() is safe. */
static inline enum wire_err eth_check(const uint8_t *buf, size_t len)
{
	(void)buf;
	return len < ETH_HLEN ? WIRE_TRUNCATED : WIRE_OK;
}
static inline void eth_parse(const uint8_t *buf, struct eth_hdr *h)
{
	__builtin_memcpy(h->dst, buf, ETH_ALEN);
	__builtin_memcpy(h->src, buf + 6, ETH_ALEN);
	h->type = wire_get16(buf + 12);
}
/* Field accessors, safe after eth_check(). */
static inline const uint8_t *eth_dst(const uint8_t *buf) { return buf; }
static inline const uint8_t *eth_src(const uint8_t *buf) { return buf + ETH_ALEN; }
static inline uint16_t eth_type(const uint8_t *buf) { return wire_get16(buf + 12); }
/* Writes ETH_HLEN bytes. */
static inline void eth_emit(const struct eth_hdr *h, uint8_t *buf)
{
	__builtin_memcpy(buf, h->dst, ETH_ALEN);
	__builtin_memcpy(buf + 6, h->src, ETH_ALEN);
	wire_put16(buf + 12, h->type);
}

/* eth_emit from the addresses themselves (no header struct to fill and copy). */
static inline void eth_emit_addrs(uint8_t *buf, const uint8_t *dst, const uint8_t *src,
				  uint16_t type)
{
	__builtin_memcpy(buf, dst, ETH_ALEN);
	__builtin_memcpy(buf + 6, src, ETH_ALEN);
	wire_put16(buf + 12, type);
}

static inline int eth_is_multicast(const uint8_t *mac) { return mac[0] & 1; }
static inline int eth_is_broadcast(const uint8_t *mac)
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}
static inline int eth_is_zero(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}
/* Two loads a side instead of a byte loop: every received frame compares twice. */
static inline int eth_equal(const uint8_t *a, const uint8_t *b)
{
	uint32_t a4, b4;
	uint16_t a2, b2;
	__builtin_memcpy(&a4, a, 4);
	__builtin_memcpy(&b4, b, 4);
	__builtin_memcpy(&a2, a + 4, 2);
	__builtin_memcpy(&b2, b + 4, 2);
	return ((a4 ^ b4) | (uint32_t)(a2 ^ b2)) == 0;
}

/* "52:54:00:12:34:56" (upper = 1 for "52:54:00:AB:..." as arping prints it). */
char *eth_fmt(char *buf, const uint8_t *mac, int upper);

#endif
