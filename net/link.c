/*
 * The link floor (link.h). Ethernet input checks, in order: header present; destination
 * is our MAC or broadcast (no multicast groups are joined); source is a unicast address
 * that is not ours; then the EtherType picks the registered handler (IEEE 802.3 §3.2.6,
 * RFC 894).
 */
#include "net/link.h"
#include "net/eth.h"
#include "net/gso.h"
#include "net/err.h"
#include "net/platform.h"
#include "lib/string.h"

void link_init(struct net_link *l, struct net_core *core)
{
	memset(l, 0, sizeof(*l));
	l->core = core;
}

void link_fini(struct net_link *l)
{
	for (int i = 0; i < l->nifs; i++)
		qdisc_purge(&l->ifs[i].qdisc, l->core);
}

static uint16_t pick_mtu(struct net_link *l, const struct netdev *dev, uint16_t cfg_mtu)
{
	uint32_t mtu = dev->mtu ? dev->mtu : NET_DEFAULT_MTU;
	if (cfg_mtu && cfg_mtu < mtu)
		mtu = cfg_mtu;
	if (mtu > PKT_BUF_SIZE - ETH_HLEN) {
		net_log(l->core, NET_LOG_WARN, "%s: mtu %u exceeds packet buffers, using %u",
			dev->name, mtu, PKT_BUF_SIZE - ETH_HLEN);
		mtu = PKT_BUF_SIZE - ETH_HLEN;
	}
	if (mtu < NET_MIN_MTU)
		mtu = NET_MIN_MTU;
	return (uint16_t)mtu;
}

/* fq_codel with Linux's parameters, but a packet limit our buffer pools can hold (the
 * pfifo's txqueuelen): queued packets are also receive buffers. */
static void link_default_fq_codel(struct net_link *l, int ifi)
{
	struct fq_codel_params p;
	fq_codel_params_default(&p);
	p.limit = QDISC_LIMIT;
	p.memory_limit = QDISC_LIMIT * PKT_SLOT_SIZE;
	if (qdisc_set_fq_codel(&l->ifs[ifi].qdisc, l->core, &p))
		net_log(l->core, NET_LOG_WARN, "%s: no memory for fq_codel, using pfifo",
			l->ifs[ifi].dev->name);
}

int link_attach(struct net_link *l, struct netdev *dev, uint16_t cfg_mtu)
{
	if (!dev || !dev->ops || !dev->ops->tx_burst)
		return -NET_EINVAL;
	if (link_find(l, dev) >= 0)
		return -NET_EEXIST;
	if (l->nifs >= NET_MAX_IFS)
		return -NET_ENOSPC;
	int ifi = l->nifs++;
	l->gen++;
	struct net_if *ifc = &l->ifs[ifi];
	memset(ifc, 0, sizeof(*ifc));
	ifc->dev = dev;
	ifc->mtu = pick_mtu(l, dev, cfg_mtu);
	ifc->link_up = dev->ops->link_up ? (uint8_t)(dev->ops->link_up(dev) != 0) : 1;
	ifc->link_check_ns = l->core->now_ns + NET_LINK_CHECK_NS;
	net_core_arm(l->core, ifc->link_check_ns);
	qdisc_init(&ifc->qdisc, QDISC_LIMIT);
	if (l->core->cfg.fq_codel)
		link_default_fq_codel(l, ifi);
	char mac[ETH_MACSTRLEN];
	net_log(l->core, NET_LOG_INFO, "%s: attached, driver %s, mac %s, mtu %u, link %s",
		dev->name, dev->driver, eth_fmt(mac, dev->mac, 0), ifc->mtu,
		ifc->link_up ? "up" : "down");
	return ifi;
}

int link_register_type(struct net_link *l, uint16_t type, link_rx_fn fn, void *ctx)
{
	struct link_type *slot = NULL;
	if (!type || !fn)
		return -NET_EINVAL;
	for (int i = 0; i < LINK_MAX_TYPES; i++) {
		if (l->types[i].type == type)
			return -NET_EEXIST;
		if (!l->types[i].type && !slot)
			slot = &l->types[i];
	}
	if (!slot)
		return -NET_ENOSPC;
	*slot = (struct link_type){ type, fn, ctx };
	return 0;
}

static void demux(struct net_link *l, int ifi, struct pkt *p, uint16_t type, int bcast)
{
	NET_TRACE(l->core, p, TL_ETH, TE_ETH_OK, type, 0);
	for (int i = 0; i < LINK_MAX_TYPES; i++) {
		/* A free slot has type 0, which a frame can carry too (an 802.3 length
		 * field): match registered slots only, or EtherType 0 calls a NULL handler. */
		if (l->types[i].fn && l->types[i].type == type) {
			l->types[i].fn(l->types[i].ctx, ifi, p, bcast);
			return;
		}
	}
	net_drop(l->core, p, type == ETH_P_8021Q ? DROP_ETH_VLAN : DROP_ETH_UNKNOWN_TYPE);
}

/* Reads the header in place through the accessors eth_check makes safe: the broadcast
 * test runs only for a multicast destination (IEEE 802.3 §3.2.3: the group bit), not for
 * every unicast frame. */
static void eth_input(struct net_link *l, int ifi, struct pkt *p)
{
	const uint8_t *mac = l->ifs[ifi].dev->mac;
	if (eth_check(pkt_data(p), p->len) != WIRE_OK) {
		net_drop(l->core, p, DROP_ETH_TRUNCATED);
		return;
	}
	const uint8_t *f = pkt_data(p);
	int bcast = 0;
	if (__builtin_expect(eth_is_multicast(eth_dst(f)), 0)) {
		if (!eth_is_broadcast(eth_dst(f))) {    /* no multicast groups are joined */
			net_drop(l->core, p, DROP_ETH_MULTICAST);
			return;
		}
		bcast = 1;
	} else if (!eth_equal(eth_dst(f), mac)) {
		net_drop(l->core, p, DROP_ETH_OTHERHOST);
		return;
	}
	if (eth_is_multicast(eth_src(f)) || eth_equal(eth_src(f), mac)) {
		net_drop(l->core, p, DROP_ETH_BAD_SRC);
		return;
	}
	uint16_t type = eth_type(f);
	pkt_pull(p, ETH_HLEN);
	demux(l, ifi, p, type, bcast);
}

void link_input(struct net_link *l, struct netdev *dev, struct pkt *p)
{
	struct net_core *c = l->core;
	int ifi = link_find(l, dev);
	if (ifi < 0) {
		net_drop(c, p, DROP_NO_IFACE);
		return;
	}
	/* Drivers stamp frames with the clock net_poll() gets; a stamp newer than the
	 * last poll is the best "now" the input path has (sanity-bounded to 1 s). */
	if (!p->ts_ns)
		p->ts_ns = c->now_ns;
	else if (p->ts_ns > c->now_ns && p->ts_ns - c->now_ns <= NET_NS_PER_SEC)
		c->now_ns = p->ts_ns;
	if (!p->ifindex)
		p->ifindex = (uint16_t)dev->ifindex;
	net_tap(c, dev, p, NET_TAP_IN);
	if (__builtin_expect(c->tracer != NULL, 0))
		net_trace_rx_start(c, p);
	eth_input(l, ifi, p);
}

struct gso_ctx {
	struct net_link *l;
	int ifi;
	int err;
};

static struct pkt *gso_alloc(void *ctx)
{
	struct gso_ctx *g = ctx;
	return link_alloc(g->l, g->ifi);
}

static void gso_out(void *ctx, struct pkt *seg)
{
	struct gso_ctx *g = ctx;
	struct net_if *ifc = &g->l->ifs[g->ifi];
	if (seg->len < ETH_ZLEN)                /* as link_output pads (RFC 894) */
		memset(pkt_put(seg, ETH_ZLEN - seg->len), 0, ETH_ZLEN - seg->len);
	int err = qdisc_enqueue(&ifc->qdisc, g->l->core, ifc->dev, seg);
	if (err && !g->err)
		g->err = err;
}

/* A GSO frame the device cannot take whole: cut in software (net/gso.c). 1 if it took
 * care of p (queued its pieces or dropped it; *err says how), 0 if the device's TSO
 * takes it as it is. Out of line: link_output's common path keeps a small frame. */
static __attribute__((noinline)) int gso_software(struct net_link *l, int ifi, struct pkt *p,
						  int *err)
{
	struct net_if *ifc = &l->ifs[ifi];
	struct netdev *dev = ifc->dev;
	uint32_t f = dev->features, max_frame = (uint32_t)ifc->mtu + ETH_HLEN;
	int hlen = gso_hdr_len(p);
	int tso = (f & NETDEV_F_TSO4) && p->len <= dev->tso_max && hlen > 0 &&
		  (uint32_t)hlen + p->gso_size <= max_frame;
	if (tso)
		return 0;
	/* Fragments (pkt.h) are gathered into each wire frame by gso_segment: no
	 * linearize first, that would copy the payload twice. */
	struct gso_ctx g = { l, ifi, 0 };
	int n = gso_segment(p, max_frame, (f & NETDEV_F_TX_CSUM) != 0, gso_alloc, gso_out, &g);
	if (n >= 0) {
		*err = g.err;
		return 1;
	}
	net_drop(l->core, p, n == -NET_ENOBUFS ? DROP_TX_NO_BUFS : DROP_TX_BAD_OFFLOAD);
	*err = n;
	return 1;
}

/* What the device cannot do, software does here, once per frame (Linux
 * validate_xmit_skb): segmentation, then the checksum. */
static int xmit_offloads(struct net_link *l, int ifi, struct pkt *p)
{
	struct net_if *ifc = &l->ifs[ifi];
	struct netdev *dev = ifc->dev;
	int err;
	if ((p->flags & PKT_F_GSO_TCP4) && gso_software(l, ifi, p, &err))
		return err;
	/* A frame whose tail lies elsewhere (pkt.h fragments) reaches only a scatter-gather
	 * device that also sums it; for any other it is one buffer again, as Linux's
	 * skb_linearize in validate_xmit_skb (software GSO gathered it already). */
	const uint32_t sg = NETDEV_F_SG | NETDEV_F_TX_CSUM;
	if (p->ext_len && (dev->features & sg) != sg && pkt_linearize(p)) {
		net_drop(l->core, p, DROP_TX_BAD_OFFLOAD);
		return -NET_EINVAL;
	}
	if ((p->flags & PKT_F_CSUM_PARTIAL) && !(dev->features & NETDEV_F_TX_CSUM) &&
	    gso_csum_help(p)) {
		net_drop(l->core, p, DROP_TX_BAD_OFFLOAD);
		return -NET_EINVAL;
	}
	return qdisc_enqueue(&ifc->qdisc, l->core, dev, p);
}

int link_output(struct net_link *l, int ifi, struct pkt *p, const uint8_t *dst_mac, uint16_t type)
{
	struct net_if *ifc = &l->ifs[ifi];
	uint8_t *h = pkt_push(p, ETH_HLEN);
	uint32_t max = p->flags & PKT_F_GSO_TCP4 ? 65535u + ETH_HLEN : (uint32_t)ifc->mtu + ETH_HLEN;
	if (!h || p->len > max) {
		net_drop(l->core, p, DROP_TX_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	eth_emit_addrs(h, dst_mac, ifc->dev->mac, type);
	return link_output_frame(l, ifi, p);
}

int link_output_frame(struct net_link *l, int ifi, struct pkt *p)
{
	/* Pad runts ourselves rather than trust every NIC to (RFC 894: zero padding). */
	if (p->len < ETH_ZLEN) {
		size_t pad = ETH_ZLEN - p->len;
		uint8_t *tail = pkt_put(p, pad);
		NET_ASSERT(tail);       /* a runt always has a full data area behind it */
		memset(tail, 0, pad);
	}
	return xmit_offloads(l, ifi, p);
}

struct pkt *link_alloc(struct net_link *l, int ifi)
{
	/* Any pool will do: pkt_free() returns a packet to the pool it came from. */
	struct pkt *p = NULL;
	if (ifi >= 0 && ifi < l->nifs && l->ifs[ifi].dev->pool)
		p = pkt_alloc(l->ifs[ifi].dev->pool);
	for (int k = 0; !p && k < l->nifs; k++)
		if (k != ifi && l->ifs[k].dev->pool)
			p = pkt_alloc(l->ifs[k].dev->pool);
	if (!p)
		NET_INC(l->core, PktAllocFails);
	return p;
}

void link_check(struct net_link *l, int ifi)
{
	struct net_if *ifc = &l->ifs[ifi];
	uint64_t now = l->core->now_ns;
	if (!ifc->dev->ops->link_up || now < ifc->link_check_ns)
		return;
	ifc->link_check_ns = now + NET_LINK_CHECK_NS;
	net_core_arm(l->core, ifc->link_check_ns);
	uint8_t up = ifc->dev->ops->link_up(ifc->dev) != 0;
	if (up == ifc->link_up)
		return;
	ifc->link_up = up;
	ifc->link_changes++;
	l->gen++;               /* connections' cached paths (net/dst.h) are looked up again */
	net_log(l->core, NET_LOG_DEBUG, "%s: link %s", ifc->dev->name, up ? "up" : "down");
	if (l->on_change)
		l->on_change(l->change_ctx, ifi, up);
}

int link_find(const struct net_link *l, const struct netdev *dev)
{
	for (int i = 0; i < l->nifs; i++)
		if (l->ifs[i].dev == dev)
			return i;
	return -1;
}

int link_by_name(const struct net_link *l, const char *name)
{
	for (int i = 0; i < l->nifs; i++)
		if (strcmp(l->ifs[i].dev->name, name) == 0)
			return i;
	return -1;
}

