/* The in-memory NIC pair (memlink.h). */
#include "tests/bench/memlink.h"
#include "net/gso.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((MEMNIC_RING & (MEMNIC_RING - 1)) == 0, "ring size is a power of two");

static struct memnic *mn(struct netdev *dev)
{
	return dev->priv;
}

static int mn_rx_burst(struct netdev *dev, struct pkt **pkts, int max)
{
	struct memnic *m = mn(dev);
	uint64_t ts = m->clock ? *m->clock : 0;
	int n = 0;
	for (; n < max && m->head != m->tail; n++) {
		struct pkt *p = m->ring[m->head++ & (MEMNIC_RING - 1)];
		/* What a driver sets on a fresh RX buffer; the rest is the frame. */
		p->next = NULL;
		p->ts_ns = ts;
		p->ifindex = 0;
		p->mark = 0;
		p->flags = m->csum_offload ? PKT_F_CSUM_OK : 0;
		m->stats.rx_packets++;
		m->stats.rx_bytes += p->len;
		pkts[n] = p;
	}
	return n;
}

/* noinline: callgrind toggles collection off inside it by name. */
__attribute__((noinline)) void memnic_tx_csum(struct memnic *m, struct pkt *p)
{
	if (gso_csum_help(p) == 0)
		m->tx_csum_done++;
}

static inline int ring_put(struct memnic *m, struct pkt **pkts, int n)
{
	struct memnic *to = m->peer;
	int i = 0;
	for (; i < n && to->tail - to->head < MEMNIC_RING; i++) {
		m->stats.tx_packets++;
		m->stats.tx_bytes += pkts[i]->len;
		to->ring[to->tail++ & (MEMNIC_RING - 1)] = pkts[i];
	}
	return i;
}

/* Out of line (a tail call), so the burst without the offload keeps its short prologue. */
__attribute__((noinline)) static int tx_csum_burst(struct memnic *m, struct pkt **pkts, int n)
{
	for (int k = 0; k < n; k++)
		if (pkts[k]->flags & PKT_F_CSUM_PARTIAL)
			memnic_tx_csum(m, pkts[k]);
	return ring_put(m, pkts, n);
}

static int mn_tx_burst(struct netdev *dev, struct pkt **pkts, int n)
{
	if (dev->features & NETDEV_F_TX_CSUM)
		return tx_csum_burst(mn(dev), pkts, n);
	return ring_put(mn(dev), pkts, n);
}

static int mn_tx_reclaim(struct netdev *dev)
{
	const struct memnic *to = mn(dev)->peer;
	return (int)(MEMNIC_RING - (to->tail - to->head));
}

static void mn_irq_enable(struct netdev *dev, int on)
{
	(void)dev;
	(void)on;
}

static int mn_link_up(struct netdev *dev)
{
	return mn(dev)->peer != NULL;
}

static void mn_get_stats(struct netdev *dev, struct netdev_stats *st)
{
	*st = mn(dev)->stats;
}

static void mn_xstats(struct netdev *dev, netdev_xstat_fn fn, void *ctx)
{
	fn(ctx, "rx_packets", mn(dev)->stats.rx_packets);
	fn(ctx, "tx_packets", mn(dev)->stats.tx_packets);
}

static const struct netdev_ops memnic_ops = {
	.rx_burst = mn_rx_burst,
	.tx_burst = mn_tx_burst,
	.tx_reclaim = mn_tx_reclaim,
	.irq_enable = mn_irq_enable,
	.link_up = mn_link_up,
	.get_stats = mn_get_stats,
	.xstats = mn_xstats,
};

int memnic_init(struct memnic *m, const char *name, uint8_t mac_last, uint32_t nslots,
		const uint64_t *clock)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->dev.name, sizeof(m->dev.name), "%s", name);
	snprintf(m->dev.driver, sizeof(m->dev.driver), "memlink");
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0 };
	memcpy(m->dev.mac, mac, 6);
	m->dev.mac[5] = mac_last;
	m->dev.mtu = 1500;
	m->dev.ops = &memnic_ops;
	m->dev.priv = m;
	m->dev.poll_only = 1;
	m->dev.irq_mode = "poll";
	m->dev.speed_mbps = 100000;
	m->dev.full_duplex = 1;
	m->clock = clock;
	m->mem = aligned_alloc(64, (size_t)nslots * PKT_SLOT_SIZE);
	if (!m->mem)
		return -1;
	pkt_pool_init(&m->pool, m->mem, 0x100000ull * mac_last, nslots);
	m->dev.pool = &m->pool;
	return 0;
}

void memnic_connect(struct memnic *a, struct memnic *b)
{
	a->peer = b;
	b->peer = a;
}

static void drain(struct memnic *m)
{
	while (m->head != m->tail)
		pkt_free(m->ring[m->head++ & (MEMNIC_RING - 1)]);
}

static int release(struct memnic *m)
{
	int leaked = (int)(m->pool.stats.slots - m->pool.stats.free);
	free(m->mem);
	m->mem = NULL;
	return leaked;
}

int memnic_destroy_pair(struct memnic *a, struct memnic *b)
{
	drain(a);
	drain(b);       /* a frame is freed into its sender's pool: drain both first */
	return release(a) + release(b);
}
