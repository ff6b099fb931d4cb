/*
 * Attached interfaces: the netdev, its IPv4 address, its qdisc, link state. Setting an
 * address adds the connected route and schedules RFC 5227 announcements.
 */
#ifndef SKIFF_NET_IFACE_H
#define SKIFF_NET_IFACE_H

#include <stdint.h>
#include "net/netdev.h"
#include "net/qdisc.h"
#include "net/inet.h"

struct net_stack;

enum iface_origin { IFACE_ADDR_NONE, IFACE_ADDR_STATIC, IFACE_ADDR_DHCP, IFACE_ADDR_FALLBACK };

struct net_if {
	struct netdev *dev;
	uint16_t mtu;
	uint32_t addr;          /* 0: none */
	uint8_t prefix_len;
	uint8_t origin;         /* enum iface_origin */
	uint8_t link_up;
	uint8_t announce_left;  /* gratuitous ARPs still to send */
	uint64_t announce_ns;
	uint64_t link_check_ns;
	uint64_t valid_until_ns;        /* lease end, 0: forever */
	struct qdisc qdisc;
};

/* Index of dev in s->ifs, or -1. */
int iface_find(const struct net_stack *s, const struct netdev *dev);
/* Index of the interface named name, or -1. */
int iface_by_name(const struct net_stack *s, const char *name);
/* Sets the address (replacing any), the connected route, announcements. */
void iface_set_addr(struct net_stack *s, int ifi, uint32_t addr, int prefix_len, int origin,
		    uint64_t valid_until_ns);
/* Removes the address and every route through the interface. */
void iface_clear_addr(struct net_stack *s, int ifi);
static inline uint32_t iface_bcast(const struct net_if *ifc)
{
	return ifc->addr | ~inet_mask(ifc->prefix_len);
}
/* Link state changes and pending announcements. */
void iface_poll(struct net_stack *s);

#endif
