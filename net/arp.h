/*
 * ARP (RFC 826, RFC 1122 §2.3.2, RFC 5227 announcements): answers for our addresses,
 * feeds the neighbour table and resolves for it (its solicit hook). Registers EtherType
 * 0x0806 with the link floor at arp_init().
 */
#ifndef SKIFF_NET_ARP_H
#define SKIFF_NET_ARP_H

#include <stdint.h>
#include "net/config.h"
#include "net/pkt.h"

struct net_core;
struct net_link;
struct neigh_table;
struct arp_pkt;

/* A reply or request that did not ask for us (step 6 of arp.c): 1 if it was expected. */
typedef int (*arp_reply_fn)(void *ctx, int ifi, const struct arp_pkt *a, int l2_unicast,
			    uint64_t rx_ns);

struct arp {
	struct net_core *core;
	struct net_link *link;
	struct neigh_table *neigh;
	uint8_t announce_left[NET_MAX_IFS];     /* gratuitous ARPs still to send */
	uint64_t announce_ns[NET_MAX_IFS];
	arp_reply_fn on_reply;                  /* arping (ping.h) */
	void *reply_ctx;
};

void arp_init(struct arp *ar, struct net_link *link, struct neigh_table *neigh);
int arp_solicit(struct arp *ar, int ifi, uint32_t target, const uint8_t *mac);
int arp_announce(struct arp *ar, int ifi);
/* Schedules ARP_ANNOUNCE_NUM announcements of interface ifi's address from now. */
void arp_announce_start(struct arp *ar, int ifi);
void arp_poll(struct arp *ar);
/* When arp_poll next has an announcement to send, UINT64_MAX if never. */
uint64_t arp_next_ns(const struct arp *ar);

#endif
