/*
 * ARP protocol (RFC 826 "Packet Reception", RFC 1122 §2.3.2, RFC 5227 announcements):
 * answers requests for our addresses, feeds the neighbour table, sends requests for it.
 * arping (the shell command) lives here too because its replies arrive through
 * arp_input().
 */
#ifndef SKIFF_NET_ARP_H
#define SKIFF_NET_ARP_H

#include <stdint.h>
#include "net/pkt.h"

struct net_stack;

/* Consumes p (data = ARP packet). l2_unicast: the frame was addressed to our MAC. */
void arp_input(struct net_stack *s, int ifi, struct pkt *p, int l2_unicast);
/* Request for target from our address on ifi; broadcast, or unicast to mac if non-NULL
 * (PROBE state). 0 or negative error. */
int arp_solicit(struct net_stack *s, int ifi, uint32_t target, const uint8_t *mac);
/* Gratuitous ARP request for our address (spa = tpa), RFC 5227 §2.3. */
int arp_announce(struct net_stack *s, int ifi);

struct arping_session {
	uint8_t active;
	uint8_t ifi;
	uint32_t target, src;
	uint32_t count, sent, received;
	uint64_t start_ns, next_ns, last_send_ns;
	void (*out)(void *ctx, const char *text);
	void *ctx;
};

/* Starts an asynchronous arping; output goes to out(). 0 or negative error. */
int arping_start(struct net_stack *s, int ifi, uint32_t target, uint32_t count,
		 void (*out)(void *ctx, const char *text), void *ctx);
void arping_poll(struct net_stack *s);

#endif
