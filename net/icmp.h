/*
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo server, error generation under RFC 1122
 * §3.2.2 rules and a token bucket, and the receiving half of ping (ping.c).
 */
#ifndef SKIFF_NET_ICMP_H
#define SKIFF_NET_ICMP_H

#include <stddef.h>
#include <stdint.h>
#include "net/pkt.h"

struct net_stack;
struct ipv4_rx;

struct icmp_state {
	uint64_t tokens;        /* ICMP_BURST * NET_NS_PER_SEC = full; a message costs 1 s */
	uint64_t refill_ns;     /* last refill time */
};

void icmp_init(struct net_stack *s);
/* Consumes p (data = ICMP header, length = ICMP message). */
void icmp_input(struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx);
/* Sends an error about the received datagram dgram (IP header onward, len bytes as
 * received) unless RFC 1122 §3.2.2 forbids it or the rate limit says no. Does not take
 * ownership of anything. Returns 0 if sent. */
int icmp_send_error(struct net_stack *s, const uint8_t *dgram, size_t len,
		    const struct ipv4_rx *rx, uint8_t type, uint8_t code);
/* An echo request of size payload bytes to dst (ping.c). 0 or negative error. */
int icmp_send_echo(struct net_stack *s, uint32_t dst, uint16_t id, uint16_t seq, uint16_t size);

#endif
