/*
 * The stack's entry points (stack.h): init, attach, the Ethernet receive demux, the
 * timer poll, and the helpers every module shares (drop accounting, allocation,
 * entropy, logging). Ethernet input checks, in order: header present; destination is
 * our MAC or broadcast (no multicast groups are joined); source is a unicast address
 * that is not ours; then the EtherType picks ARP or IPv4 (IEEE 802.3 §3.2.6, RFC 894).
 */
#include <stdarg.h>
#include "net/stack.h"
#include "net/transport.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/err.h"
#include "net/platform.h"
#include "lib/string.h"
#include "lib/fmt.h"

void net_drop(struct net_stack *s, struct pkt *p, enum net_drop_reason reason)
{
	pkt_free(p);
	s->drops[reason]++;
}

struct pkt *net_alloc(struct net_stack *s, int ifi)
{
	/* Any pool will do: pkt_free() returns a packet to the pool it came from. */
	struct pkt *p = NULL;
	if (ifi >= 0 && ifi < s->nifs && s->ifs[ifi].dev->pool)
		p = pkt_alloc(s->ifs[ifi].dev->pool);
	for (int k = 0; !p && k < s->nifs; k++)
		if (k != ifi && s->ifs[k].dev->pool)
			p = pkt_alloc(s->ifs[k].dev->pool);
	if (!p)
		NET_INC(s, PktAllocFails);
	return p;
}

uint64_t net_random(struct net_stack *s)
{
	if (s->cfg.random)
		return s->cfg.random(s->cfg.ctx);
	/* xorshift64*: only reached when the kernel gave no entropy source (logged). */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

void net_log(struct net_stack *s, int level, const char *fmt, ...)
{
	if (!s->cfg.log)
		return;
	char msg[192];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.ctx, level, msg);
}

void net_init(struct net_stack *s, const struct net_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->cfg.hostname[sizeof(s->cfg.hostname) - 1] = 0;
	s->rng = 0x9e3779b97f4a7c15ull;
	if (!cfg->random)
		net_log(s, NET_LOG_WARN, "net: no entropy source: DHCP xids, IP IDs and ports are predictable");
	s->ip_id = (uint16_t)net_random(s);
	icmp_init(s);
	transport_init(s);
}

void net_fini(struct net_stack *s)
{
	if (s->tcp_on)
		tcp_shutdown_stack(&s->tcp);
	neigh_flush(s, -1);
	for (int i = 0; i < s->nifs; i++)
		qdisc_purge(&s->ifs[i].qdisc);
}

static uint16_t pick_mtu(struct net_stack *s, const struct netdev *dev)
{
	uint32_t mtu = dev->mtu ? dev->mtu : NET_DEFAULT_MTU;
	if (s->cfg.mtu && s->cfg.mtu < mtu)
		mtu = s->cfg.mtu;
	if (mtu > PKT_BUF_SIZE - ETH_HLEN) {
		net_log(s, NET_LOG_WARN, "%s: mtu %u exceeds packet buffers, using %u", dev->name,
			mtu, PKT_BUF_SIZE - ETH_HLEN);
		mtu = PKT_BUF_SIZE - ETH_HLEN;
	}
	if (mtu < NET_MIN_MTU)
		mtu = NET_MIN_MTU;
	return (uint16_t)mtu;
}

static void configure_first(struct net_stack *s, int ifi)
{
	const struct net_config *c = &s->cfg;
	if (c->use_dhcp) {
		dhcp_start(s, ifi);
		return;
	}
	if (!c->addr) {
		net_log(s, NET_LOG_WARN, "%s: no address configured", s->ifs[ifi].dev->name);
		return;
	}
	iface_set_addr(s, ifi, c->addr, c->prefix_len, IFACE_ADDR_STATIC, 0);
	if (c->gateway) {
		struct route r = { .gateway = c->gateway, .ifi = (uint8_t)ifi,
				   .proto = RTPROT_STATIC };
		if (route_add(&s->routes, &r))
			net_log(s, NET_LOG_WARN, "net: cannot add the default route");
	}
}

int net_attach(struct net_stack *s, struct netdev *dev)
{
	if (!dev || !dev->ops || !dev->ops->tx_burst)
		return -NET_EINVAL;
	if (iface_find(s, dev) >= 0)
		return -NET_EEXIST;
	if (s->nifs >= NET_MAX_IFS)
		return -NET_ENOSPC;
	int ifi = s->nifs++;
	struct net_if *ifc = &s->ifs[ifi];
	memset(ifc, 0, sizeof(*ifc));
	ifc->dev = dev;
	ifc->mtu = pick_mtu(s, dev);
	ifc->link_up = dev->ops->link_up ? (uint8_t)(dev->ops->link_up(dev) != 0) : 1;
	ifc->link_check_ns = s->now_ns + NET_LINK_CHECK_NS;
	qdisc_init(&ifc->qdisc, QDISC_LIMIT);
	char mac[ETH_MACSTRLEN];
	net_log(s, NET_LOG_INFO, "%s: attached, driver %s, mac %s, mtu %u, link %s", dev->name,
		dev->driver, eth_fmt(mac, dev->mac, 0), ifc->mtu, ifc->link_up ? "up" : "down");
	if (ifi == 0)
		configure_first(s, ifi);
	return 0;
}

static void eth_input(struct net_stack *s, int ifi, struct pkt *p)
{
	const uint8_t *mac = s->ifs[ifi].dev->mac;
	if (eth_check(pkt_data(p), p->len) != WIRE_OK) {
		net_drop(s, p, DROP_ETH_TRUNCATED);
		return;
	}
	struct eth_hdr eh;
	eth_parse(pkt_data(p), &eh);
	int bcast = eth_is_broadcast(eh.dst);
	if (!eth_is_multicast(eh.dst) && !eth_equal(eh.dst, mac)) {
		net_drop(s, p, DROP_ETH_OTHERHOST);
		return;
	}
	if (eth_is_multicast(eh.dst) && !bcast) {
		net_drop(s, p, DROP_ETH_MULTICAST);
		return;
	}
	if (eth_is_multicast(eh.src) || eth_equal(eh.src, mac)) {
		net_drop(s, p, DROP_ETH_BAD_SRC);
		return;
	}
	pkt_pull(p, ETH_HLEN);
	switch (eh.type) {
	case ETH_P_ARP: arp_input(s, ifi, p, !bcast); break;
	case ETH_P_IP: ipv4_input(s, ifi, p, bcast); break;
	case ETH_P_8021Q: net_drop(s, p, DROP_ETH_VLAN); break;
	default: net_drop(s, p, DROP_ETH_UNKNOWN_TYPE); break;
	}
}

int net_xmit(struct net_stack *s, int ifi, struct pkt *p, const uint8_t *dst_mac, uint16_t type)
{
	struct net_if *ifc = &s->ifs[ifi];
	uint8_t *h = pkt_push(p, ETH_HLEN);
	if (!h || p->len > ifc->mtu + ETH_HLEN) {
		net_drop(s, p, DROP_TX_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	struct eth_hdr eh = { .type = type };
	memcpy(eh.dst, dst_mac, ETH_ALEN);
	memcpy(eh.src, ifc->dev->mac, ETH_ALEN);
	eth_emit(&eh, h);
	/* Pad runts ourselves rather than trust every NIC to (RFC 894: zero padding). */
	if (p->len < ETH_ZLEN) {
		size_t pad = ETH_ZLEN - p->len;
		uint8_t *tail = pkt_put(p, pad);
		NET_ASSERT(tail);       /* a runt always has a full data area behind it */
		memset(tail, 0, pad);
	}
	return qdisc_enqueue(s, ifi, p);
}

void net_input(struct net_stack *s, struct netdev *dev, struct pkt *p)
{
	int ifi = iface_find(s, dev);
	if (ifi < 0) {
		net_drop(s, p, DROP_NO_IFACE);
		return;
	}
	/* Drivers stamp frames with the clock net_poll() gets; a stamp newer than the
	 * last poll is the best "now" the input path has (sanity-bounded to 1 s). */
	if (!p->ts_ns)
		p->ts_ns = s->now_ns;
	else if (p->ts_ns > s->now_ns && p->ts_ns - s->now_ns <= NET_NS_PER_SEC)
		s->now_ns = p->ts_ns;
	p->ifindex = (uint16_t)ifi;
	eth_input(s, ifi, p);
}

void net_poll(struct net_stack *s, uint64_t now_ns)
{
	/* A clock that steps backwards would wedge every "timer <= now" test: ignore it. */
	if (now_ns > s->now_ns)
		s->now_ns = now_ns;
	iface_poll(s);
	neigh_poll(s);
	dhcp_poll(s);
	ping_poll(s);
	arping_poll(s);
	transport_poll(s);
	for (int i = 0; i < s->nifs; i++)
		qdisc_run(s, i);
}

int net_dns_servers(const struct net_stack *s, uint32_t *out, int max)
{
	int n = 0;
	if (s->dhcp.state < DHCP_BOUND)
		return 0;
	for (int i = 0; i < s->dhcp.ndns && n < max; i++)
		out[n++] = s->dhcp.dns[i];
	return n;
}
