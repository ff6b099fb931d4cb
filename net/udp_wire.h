/*
 * UDP header, bytes only (RFC 768; RFC 1122 §4.1.3.4). udp_check() takes the IP
 * payload length and the addresses for the pseudo header: buffer holds 8 bytes; the
 * UDP length is at least 8 and at most the IP payload (it governs: the caller trims the
 * rest, RFC 768); then the checksum over the UDP length unless it is 0 (the sender did
 * not compute one, allowed for IPv4).
 */
#ifndef SKIFF_NET_UDP_WIRE_H
#define SKIFF_NET_UDP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"

#define UDP_HDR_LEN 8

struct udp_hdr {
	uint16_t sport, dport, len, csum;
};

enum wire_err udp_check(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst);
/* The same without the checksum: for frames a device verified (PKT_F_CSUM_OK). */
enum wire_err udp_check_len(const uint8_t *buf, size_t len);
void udp_parse(const uint8_t *buf, struct udp_hdr *h);
/* Writes the header; h->len bytes (header + payload already at buf+8) are summed.
 * A computed checksum of 0 is sent as 0xffff (RFC 768). */
void udp_emit(const struct udp_hdr *h, uint8_t *buf, uint32_t src, uint32_t dst);

#endif
