/*
 * Interface address management and link watching (iface.h). An address brings its
 * connected route ("proto kernel scope link", as Linux adds in fib_add_ifaddr) and
 * ARP_ANNOUNCE_NUM gratuitous ARPs ARP_ANNOUNCE_INTERVAL_NS apart (RFC 5227 §2.3), so
 * peers with a stale cache entry for the address learn our MAC.
 */
#include "net/stack.h"
#include "net/inet.h"
#include "lib/string.h"

int iface_find(const struct net_stack *s, const struct netdev *dev)
{
	for (int i = 0; i < s->nifs; i++)
		if (s->ifs[i].dev == dev)
			return i;
	return -1;
}

int iface_by_name(const struct net_stack *s, const char *name)
{
	for (int i = 0; i < s->nifs; i++)
		if (strcmp(s->ifs[i].dev->name, name) == 0)
			return i;
	return -1;
}

void iface_clear_addr(struct net_stack *s, int ifi)
{
	struct net_if *ifc = &s->ifs[ifi];
	route_flush(&s->routes, ifi, -1);
	ifc->addr = 0;
	ifc->prefix_len = 0;
	ifc->origin = IFACE_ADDR_NONE;
	ifc->valid_until_ns = 0;
	ifc->announce_left = 0;
}

void iface_set_addr(struct net_stack *s, int ifi, uint32_t addr, int prefix_len, int origin,
		    uint64_t valid_until_ns)
{
	struct net_if *ifc = &s->ifs[ifi];
	if (ifc->addr != addr || ifc->prefix_len != prefix_len) {
		iface_clear_addr(s, ifi);
		ifc->addr = addr;
		ifc->prefix_len = (uint8_t)prefix_len;
		if (prefix_len < 32) {
			struct route r = { .dst = addr, .prefix_len = (uint8_t)prefix_len,
					   .ifi = (uint8_t)ifi, .proto = RTPROT_KERNEL, .prefsrc = addr };
			route_add(&s->routes, &r);
		}
		ifc->announce_left = ARP_ANNOUNCE_NUM;
		ifc->announce_ns = s->now_ns;
	}
	/* Same address again (a renewed lease): only its origin and lifetime change. */
	ifc->origin = (uint8_t)origin;
	ifc->valid_until_ns = valid_until_ns;
}

static void check_link(struct net_stack *s, int ifi)
{
	struct net_if *ifc = &s->ifs[ifi];
	if (!ifc->dev->ops->link_up || s->now_ns < ifc->link_check_ns)
		return;
	ifc->link_check_ns = s->now_ns + NET_LINK_CHECK_NS;
	uint8_t up = ifc->dev->ops->link_up(ifc->dev) != 0;
	if (up == ifc->link_up)
		return;
	ifc->link_up = up;
	net_log(s, NET_LOG_INFO, "%s: link %s", ifc->dev->name, up ? "up" : "down");
	if (!up)
		return;
	/* We may have moved to another segment: tell it where we are, and have DHCP
	 * check the lease (or stop waiting out its backoff) right away. */
	if (ifc->addr) {
		ifc->announce_left = ARP_ANNOUNCE_NUM;
		ifc->announce_ns = s->now_ns;
	}
	if (s->dhcp.state != DHCP_OFF && s->dhcp.ifi == ifi)
		dhcp_renew(s);
}

void iface_poll(struct net_stack *s)
{
	for (int i = 0; i < s->nifs; i++) {
		struct net_if *ifc = &s->ifs[i];
		check_link(s, i);
		if (ifc->announce_left && ifc->addr && s->now_ns >= ifc->announce_ns) {
			arp_announce(s, i);
			ifc->announce_left--;
			ifc->announce_ns = s->now_ns + ARP_ANNOUNCE_INTERVAL_NS;
		}
	}
}
