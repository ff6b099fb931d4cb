/*
 * Test frames that ask a NIC for its transmit offloads, for `nic send DEV N csum|tso`
 * (drivers/nic.c) and the host unit tests: until TCP emits PKT_F_CSUM_PARTIAL and
 * PKT_F_GSO_TCP4 itself, these are how the drivers' offload paths reach the wire.
 * Hardware-free: bytes only. Broadcast, from 192.0.2.1 (TEST-NET-1, RFC 5737) to
 * 255.255.255.255, port 9 (discard) both ways, so nothing on the test link answers.
 */
#ifndef SKIFF_NIC_TEST_H
#define SKIFF_NIC_TEST_H

#include <stdint.h>
#include "net/pkt.h"

enum nic_test_kind { NIC_TEST_UDP, NIC_TEST_TCP };

#define NIC_TEST_PORT 9
#define NIC_TEST_MSS 1448

/* Appends to the empty packet p an Ethernet + IPv4 + UDP or TCP frame from mac with
 * payload bytes of a pattern derived from seq; the IP checksum complete, the L4
 * checksum field holding the pseudo-header sum and p marked PKT_F_CSUM_PARTIAL. A TCP
 * frame longer than one MSS is also marked PKT_F_GSO_TCP4 (gso_size NIC_TEST_MSS).
 * 0, or -1 when p has no room. */
int nic_test_frame(struct pkt *p, const uint8_t mac[6], enum nic_test_kind kind, uint32_t seq,
		   uint32_t payload);

#endif
