/*
 * A connection's cached output path (Linux's sk_dst_cache + the neighbour's hh_cache):
 * what the route and neighbour lookups answered for one (source, destination, header
 * fields) and the Ethernet + IPv4 header they give, so a segment's L2/L3 work is
 * "still valid? copy, fill length/ID/checksum, count, queue" (ipv4_output_dst, ipv4.c).
 *
 * Plain data: a transport keeps one per connection (TCP: in its TCB, zeroed = empty)
 * and hands it down with every datagram; only the IPv4 floor reads or writes it. It is
 * trusted only while every generation it recorded still matches: the route table's
 * (a route added or removed), the interfaces' (address, attach, link up/down), the
 * neighbour entry's (its MAC changed, or the slot was freed and reused), and the
 * interface MTU and the entry's state are read again each time. Any mismatch sends the
 * datagram down the full path and refills the cache.
 */
#ifndef SKIFF_NET_DST_H
#define SKIFF_NET_DST_H

#include <stdint.h>

#define NET_DST_HDR_LEN 34      /* Ethernet (14) + IPv4 without options (20) */

struct net_dst {
	void *neigh;            /* struct neigh_entry * in the stack's neighbour table */
	uint32_t key_src, key_dst;      /* what the caller asked for (src 0: the route's) */
	uint32_t key_out;       /* struct ipv4_out packed: proto, ttl, tos, df */
	uint32_t route_gen, link_gen, neigh_gen;
	uint32_t hsum;          /* 16-bit word sum of the template's IPv4 header */
	uint16_t mtu;           /* the interface's, when filled */
	uint16_t id_bucket;     /* ipv4.idents[] slot of this (src, dst, proto) */
	uint8_t ifi;
	uint8_t ok;             /* 0: empty */
	/* Ethernet + IPv4 header; total length, ID and checksum left zero. */
	uint8_t hdr[NET_DST_HDR_LEN];
};

#endif
