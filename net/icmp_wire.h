/*
 * ICMP messages, bytes only (RFC 792; RFC 1122 §3.2.2). The checksum covers the whole
 * message, so icmp_check() needs the exact ICMP length (IP payload, padding trimmed).
 */
#ifndef SKIFF_NET_ICMP_WIRE_H
#define SKIFF_NET_ICMP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"

#define ICMP_HDR_LEN 8

enum icmp_type {
	ICMP_ECHO_REPLY = 0,
	ICMP_DEST_UNREACH = 3,
	ICMP_SOURCE_QUENCH = 4,
	ICMP_REDIRECT = 5,
	ICMP_ECHO = 8,
	ICMP_TIME_EXCEEDED = 11,
	ICMP_PARAM_PROB = 12,
	ICMP_TIMESTAMP = 13,
	ICMP_TIMESTAMP_REPLY = 14,
	ICMP_TYPE_MAX = 18,     /* highest type RFC 792/950 define (address mask reply) */
};

/* Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1). */
enum icmp_unreach_code {
	ICMP_NET_UNREACH = 0,
	ICMP_HOST_UNREACH = 1,
	ICMP_PROT_UNREACH = 2,
	ICMP_PORT_UNREACH = 3,
	ICMP_FRAG_NEEDED = 4,
};

struct icmp_hdr {
	uint8_t type, code;
	uint16_t csum;
	uint16_t id, seq;       /* echo; for errors the same 4 bytes ("unused"/MTU) */
};

enum wire_err icmp_check(const uint8_t *buf, size_t len);
void icmp_parse(const uint8_t *buf, struct icmp_hdr *h);
/* Writes the 8-byte header and the checksum over len bytes (payload already at buf+8). */
void icmp_emit(const struct icmp_hdr *h, uint8_t *buf, size_t len);

/* RFC 1122 §3.2.2: the types that report an error about another datagram. */
static inline int icmp_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
	       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAM_PROB;
}

#endif
