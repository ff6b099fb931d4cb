/*
 * ARP packets for IPv4 over Ethernet, bytes only (RFC 826). Only the one shape we speak
 * is accepted: htype 1, ptype 0x0800, hlen 6, plen 4, op request or reply; anything
 * else (RARP, other link types) is refused by arp_check().
 */
#ifndef SKIFF_NET_ARP_WIRE_H
#define SKIFF_NET_ARP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"
#include "net/eth.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_pkt {
	uint16_t op;
	uint8_t sha[ETH_ALEN];
	uint32_t spa;
	uint8_t tha[ETH_ALEN];
	uint32_t tpa;
};

/* WIRE_TRUNCATED, WIRE_BAD_FORMAT (types/lengths) or WIRE_OK; trailing padding is fine. */
enum wire_err arp_check(const uint8_t *buf, size_t len);
void arp_parse(const uint8_t *buf, struct arp_pkt *a);
/* Writes ARP_LEN bytes. */
void arp_emit(const struct arp_pkt *a, uint8_t *buf);

#endif
