/*
 * IPv4 header, bytes only (RFC 791 §3.1; checks per RFC 1122 §3.2.1). ipv4_check()
 * runs the validation ladder in STYLE order: the buffer holds 20 bytes; version; IHL
 * >= 5 and within the buffer; IHL*4 <= total length <= buffer; header checksum. After
 * WIRE_OK every accessor and ipv4_parse() are safe and the caller may trim link padding
 * to tot_len. Options are only walked (ipv4_options_check), never interpreted.
 */
#ifndef SKIFF_NET_IPV4_WIRE_H
#define SKIFF_NET_IPV4_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"
#include "net/inet.h"

#define IPV4_HDR_MIN 20
#define IPV4_HDR_MAX 60
#define IPV4_MAX_LEN 65535
#define IPV4_PROTO_ICMP 1
#define IPV4_PROTO_TCP 6
#define IPV4_PROTO_UDP 17
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff

struct ipv4_hdr {
	uint8_t hdr_len;        /* bytes, IHL * 4 */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag;          /* flags and offset as on the wire (offset in 8-byte units) */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src, dst;
};

/* Header present, version 4, 5 <= IHL, IHL*4 <= total length <= len, header checksum
 * (the order of ipv4.c's step 1). Inline, as parse and emit: every datagram received or
 * sent passes here. */
static inline enum wire_err ipv4_check(const uint8_t *buf, size_t len)
{
	if (len < IPV4_HDR_MIN)
		return WIRE_TRUNCATED;
	if (buf[0] >> 4 != 4)
		return WIRE_BAD_VERSION;
	size_t hl = (size_t)(buf[0] & 0xf) * 4;
	if (hl < IPV4_HDR_MIN || hl > len)
		return WIRE_BAD_HDR_LEN;
	size_t tot = wire_get16(buf + 2);
	if (tot < hl || tot > len)
		return WIRE_BAD_LEN;
	if (inet_csum_hdr(buf, hl) != 0)
		return WIRE_BAD_CSUM;
	return WIRE_OK;
}

static inline void ipv4_parse(const uint8_t *buf, struct ipv4_hdr *h)
{
	h->hdr_len = (uint8_t)((buf[0] & 0xf) * 4);
	h->tos = buf[1];
	h->tot_len = wire_get16(buf + 2);
	h->id = wire_get16(buf + 4);
	h->frag = wire_get16(buf + 6);
	h->ttl = buf[8];
	h->proto = buf[9];
	h->csum = wire_get16(buf + 10);
	h->src = wire_get32(buf + 12);
	h->dst = wire_get32(buf + 16);
}

/* Writes a 20-byte header (h->hdr_len and h->csum are ignored) and its checksum. */
static inline void ipv4_emit(const struct ipv4_hdr *h, uint8_t *buf)
{
	buf[0] = 0x45;
	buf[1] = h->tos;
	wire_put16(buf + 2, h->tot_len);
	wire_put16(buf + 4, h->id);
	wire_put16(buf + 6, h->frag);
	buf[8] = h->ttl;
	buf[9] = h->proto;
	wire_put16(buf + 10, 0);
	wire_put32(buf + 12, h->src);
	wire_put32(buf + 16, h->dst);
	wire_put16(buf + 10, inet_csum_hdr(buf, IPV4_HDR_MIN));
}

/* The option bytes between the fixed header and hdr_len: a TLV walk that advances at
 * least one byte per step. WIRE_BAD_OPTION on a bad length; *srcroute is set if a
 * loose/strict source route (RFC 791 LSRR/SSRR) is present, which we never honour. */
enum wire_err ipv4_options_check(const uint8_t *opt, size_t len, int *srcroute);

static inline int ipv4_is_fragment(const struct ipv4_hdr *h)
{
	return (h->frag & (IPV4_MF | IPV4_OFFSET_MASK)) != 0;
}
static inline uint32_t ipv4_frag_offset(const struct ipv4_hdr *h)
{
	return (uint32_t)(h->frag & IPV4_OFFSET_MASK) * 8;
}

#endif
