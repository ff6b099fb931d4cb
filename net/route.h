/*
 * IPv4 routing table: longest-prefix match over a small array (RFC 1812 §5.2.4.3; a host
 * needs tens of routes, not a trie). Connected routes appear when an address is set,
 * the default route from static config or DHCP. route_get() answers what `ip route get`
 * answers: output interface, next hop, source address, route type.
 */
#ifndef SKIFF_NET_ROUTE_H
#define SKIFF_NET_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include "net/config.h"
#include "net/link.h"

enum route_proto { RTPROT_KERNEL, RTPROT_STATIC, RTPROT_DHCP, RTPROT_BOOT };
enum route_type { RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST };

struct route {
	uint32_t dst;           /* network, host order, masked */
	uint32_t gateway;       /* 0: on link */
	uint32_t prefsrc;       /* 0: the interface's address */
	uint32_t metric;
	uint8_t prefix_len;
	uint8_t ifi;            /* index into net_link.ifs */
	uint8_t proto;          /* enum route_proto */
	uint8_t used;           /* slot in use */
};

struct route_result {
	int type;               /* enum route_type */
	int ifi;
	uint32_t nexthop;       /* gateway, or the destination itself */
	uint32_t src;
	const struct route *route;      /* NULL for local and limited broadcast */
};

struct route_table {
	const struct net_link *link;    /* the interfaces routes lead to */
	struct route r[ROUTE_MAX];
	uint32_t hi;                    /* no slot at or above this index was ever used */
	uint32_t gen;                   /* bumped by every change of r[] */
	/* route_get's last answer, valid while dst, gen and link->gen match (Linux's
	 * dst cache in a single entry: a connection's segments all ask the same). */
	struct route_result last;
	uint32_t last_dst, last_gen, last_link_gen;
	int last_err;
	bool last_ok;
};


/* Adds a route (dst is masked to prefix_len). 0, -NET_EEXIST, -NET_ENOSPC, -NET_EINVAL. */
int route_add(struct route_table *t, const struct route *r);
/* Deletes the route for dst/prefix_len (any metric). 0 or -NET_ENOENT. */
int route_del(struct route_table *t, uint32_t dst, int prefix_len);
/* Deletes every route through interface ifi with the given proto (-1: any). */
void route_flush(struct route_table *t, int ifi, int proto);
/* Pure longest-prefix match; ties go to the lower metric. NULL if nothing matches. */
const struct route *route_lookup(const struct route_table *t, uint32_t dst);
/* Full output decision for dst. 0 or -NET_ENETUNREACH. */
int route_get(struct route_table *t, uint32_t dst, struct route_result *res);
/* route_get's remembered successful answer for dst, read in place, or NULL (ask
 * route_get). Valid until the next route or address change. Inline: every datagram
 * sent asks, and the answer is almost always the last one. */
static inline const struct route_result *route_cached(const struct route_table *t, uint32_t dst)
{
	return t->last_ok && t->last_dst == dst && t->last_err == 0 && t->last_gen == t->gen &&
	       t->last_link_gen == t->link->gen ? &t->last : NULL;
}
void route_init(struct route_table *t, const struct net_link *link);
/* 1 if addr is the gateway of some route (the neighbour table keeps those longest). */
int route_is_gateway(const struct route_table *t, uint32_t addr);
const char *route_proto_name(int proto);

#endif
