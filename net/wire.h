/*
 * Shared by the wire modules (eth.c, arp_wire.c, ipv4_wire.c, icmp_wire.c, udp_wire.c,
 * dhcp_wire.c): the verdict a check() returns and big-endian field access. Packets are
 * never byte-swapped in place: fields are converted on the way into a parsed struct and
 * on the way out of it (smoltcp src/wire).
 */
#ifndef SKIFF_NET_WIRE_H
#define SKIFF_NET_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Why check() refused a buffer, in the order the checks run. */
enum wire_err {
	WIRE_OK = 0,
	WIRE_TRUNCATED,         /* buffer shorter than the fixed header */
	WIRE_BAD_VERSION,
	WIRE_BAD_HDR_LEN,       /* header length field below minimum or past the buffer */
	WIRE_BAD_LEN,           /* a length field disagrees with the buffer */
	WIRE_BAD_CSUM,
	WIRE_BAD_FORMAT,        /* fixed fields hold values we do not speak */
	WIRE_BAD_OPTION,        /* option/TLV area malformed */
};

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
