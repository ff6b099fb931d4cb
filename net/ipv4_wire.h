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

enum wire_err ipv4_check(const uint8_t *buf, size_t len);
void ipv4_parse(const uint8_t *buf, struct ipv4_hdr *h);
/* Writes a 20-byte header (h->hdr_len and h->csum are ignored) and its checksum. */
void ipv4_emit(const struct ipv4_hdr *h, uint8_t *buf);

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
