/*
 * Virtio network device (virtio 1.2 §5.1) on the PCI transport (virtio.c), in every
 * form QEMU's virtio-net-pci takes: modern-only 1af4:1041 (disable-legacy=on),
 * transitional 1af4:1000 with the modern capabilities (the default; driven through
 * the modern interface), and legacy-only 1af4:1000 (disable-modern=on; the legacy
 * I/O-port interface, §4.1.4.8).
 *
 * Probe (§5.1.5 after §3.1.1): transport -> MSI-X if the device has 3 entries (first:
 * a legacy device's config space moves when it is on) -> features: only what this
 * driver handles, whatever the device offers: VERSION_1 (modern), MAC, STATUS,
 * SPEED_DUPLEX, MRG_RXBUF, EVENT_IDX, ANY_LAYOUT (legacy), and no checksum or
 * segmentation offload, so every frame arrives complete and unverified -> queues
 * (entry 0 config/link, 1 receiveq1, 2 transmitq1) -> receive buffers -> DRIVER_OK
 * -> kick -> register ethN. Without MSI-X: poll mode (INTx is not routed yet).
 *
 * One descriptor per buffer: the virtio_net_hdr sits in the packet's headroom
 * right before the frame, so a received frame lands at pkt_data() and a transmitted
 * one needs no copy. It is 12 bytes with VERSION_1 or MRG_RXBUF, else 10 (§5.1.6
 * legacy: no num_buffers); a legacy device takes it in the frame's descriptor only
 * with ANY_LAYOUT (§2.6.4.3). Descriptor id = ring slot, with a side array id -> packet.
 * With MRG_RXBUF a frame could span buffers (num_buffers > 1): those are dropped and
 * counted; 2048-byte buffers always hold a 1514-byte frame, so it does not happen.
 */
#include "drivers/driver.h"
#include "drivers/nic.h"
#include "drivers/virtio.h"
#include "kernel/console.h"
#include "lib/fmt.h"
#include "kernel/heap.h"
#include "lib/string.h"
#include "kernel/time.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_SPEED_DUPLEX 63
#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_config (§5.1.4) */
#define VNET_CFG_MAC 0
#define VNET_CFG_STATUS 6
#define VNET_CFG_SPEED 12               /* le32 Mb/s, 0xFFFFFFFF unknown */
#define VNET_CFG_DUPLEX 16              /* 0 half, 1 full, 0xFF unknown */
#define VNET_SPEED_MAX 800000           /* §5.1.4.2: larger values mean unknown */

#define RXQ_INDEX 0                     /* receiveq1 */
#define TXQ_INDEX 1                     /* transmitq1 */
#define QUEUE_MAX 256
#define VEC_CONFIG 0
#define VEC_RX 1
#define VEC_TX 2
#define VECTORS 3

#define WANTED_FEATURES (1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX | \
			 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS | \
			 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_SPEED_DUPLEX | \
			 1ull << VIRTIO_F_ANY_LAYOUT)

/* §5.1.6: with VERSION_1 or MRG_RXBUF the header has num_buffers (12 bytes); a
 * legacy device without MRG_RXBUF uses the first 10. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))
#define HDR_LEN_LEGACY 10u
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr is 12 bytes");
_Static_assert(sizeof(struct virtio_net_hdr) <= PKT_HEADROOM, "header fits the headroom");

struct vnet_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_bad_length, rx_multi_buffer, rx_alloc_failed, rx_bad_id;
	uint64_t tx_length_errors, tx_ring_full, tx_bad_id;
	uint64_t irq_tx, irq_config;
};

struct vnet {
	struct netdev dev;
	struct virtio_pci vp;
	struct virtq rxq, txq;
	struct pkt_pool pool;
	struct pkt *rx_pkts[QUEUE_MAX];         /* descriptor id -> receive buffer */
	struct pkt *tx_pkts[QUEUE_MAX];         /* descriptor id -> frame in flight */
	uint16_t tx_free_ids[QUEUE_MAX];        /* stack of unused TX descriptor ids */
	uint16_t tx_nfree;
	uint16_t rx_skip;                       /* buffers left of a dropped multi-buffer frame */
	uint64_t wd_next_ns, wd_rx_next_ns;     /* next stall-watchdog checks */
	uint16_t wd_tx_used, wd_rx_used;        /* used->idx at the last check */
	uint32_t hdr_len;                       /* HDR_LEN or HDR_LEN_LEGACY */
	struct vnet_stats sw;
	char irq_names[VECTORS][24];
};

/* ---- receive ---------------------------------------------------------------------- */

/* The device writes the header HDR_LEN bytes before pkt_data(), the frame at it. */
static void rx_post(struct vnet *v, uint16_t id)
{
	virtq_post(&v->rxq, id, pkt_dma_addr(v->rx_pkts[id]) - v->hdr_len,
		   v->hdr_len + PKT_BUF_SIZE, VIRTQ_DESC_F_WRITE);
}

static int rx_fill(struct vnet *v)
{
	for (uint16_t id = 0; id < v->rxq.size; id++) {
		v->rx_pkts[id] = pkt_alloc(&v->pool);
		if (!v->rx_pkts[id])
			return -1;
		rx_post(v, id);
	}
	return 0;
}

/* 0 when the used buffer holds one whole frame of a sane length (§5.1.6.4). */
static int rx_check(struct vnet *v, const struct virtio_net_hdr *h, uint32_t len)
{
	if (v->rx_skip) {
		v->rx_skip--;
		return -1;
	}
	if (len < v->hdr_len + NIC_FRAME_MIN || len > v->hdr_len + PKT_BUF_SIZE) {
		v->sw.rx_bad_length++;
		return -1;
	}
	if (virtio_has(&v->vp, VIRTIO_NET_F_MRG_RXBUF) && h->num_buffers > 1) {
		v->sw.rx_multi_buffer++;
		v->rx_skip = h->num_buffers - 1 < v->rxq.size ? h->num_buffers - 1 : v->rxq.size;
		return -1;
	}
	return 0;
}

/* Takes the frame out of buffer id if it is good and a replacement exists; otherwise
 * the buffer is reposted as it is and the frame dropped. */
static struct pkt *rx_take(struct vnet *v, uint16_t id, uint32_t len)
{
	struct pkt *p = v->rx_pkts[id];
	if (rx_check(v, (const struct virtio_net_hdr *)(pkt_data(p) - v->hdr_len), len) < 0)
		return NULL;
	struct pkt *fresh = pkt_alloc(&v->pool);
	if (!fresh) {
		v->sw.rx_alloc_failed++;
		return NULL;
	}
	v->rx_pkts[id] = fresh;
	pkt_put(p, len - v->hdr_len);
	p->ifindex = (uint16_t)v->dev.ifindex;
	p->ts_ns = time_ns();
	v->sw.rx_packets++;
	v->sw.rx_bytes += len - v->hdr_len;
	return p;
}

static int vnet_rx_burst(struct netdev *dev, struct pkt **pkts, int max)
{
	struct vnet *v = dev->priv;
	int n = 0, cleaned = 0;
	uint16_t id;
	uint32_t len;
	while (n < max && cleaned < v->rxq.size && virtq_get_used(&v->rxq, &id, &len)) {
		cleaned++;
		if (id >= v->rxq.size) {
			v->sw.rx_bad_id++;      /* a device bug: that buffer is lost */
			continue;
		}
		struct pkt *p = rx_take(v, id, len);
		if (p)
			pkts[n++] = p;
		rx_post(v, id);
	}
	virtq_kick(&v->rxq);
	return n;
}

/* ---- transmit --------------------------------------------------------------------- */

static int vnet_tx_burst(struct netdev *dev, struct pkt **pkts, int n)
{
	struct vnet *v = dev->priv;
	int taken = 0;
	for (; taken < n && v->tx_nfree; taken++) {
		struct pkt *p = pkts[taken];
		struct virtio_net_hdr *h;
		if (p->len < NIC_FRAME_MIN || p->len > NIC_FRAME_MAX ||
		    !(h = (struct virtio_net_hdr *)pkt_push(p, v->hdr_len))) {
			v->sw.tx_length_errors++;
			pkt_free(p);
			continue;
		}
		memset(h, 0, v->hdr_len);       /* no checksum offload, no GSO (§5.1.6.2) */
		uint16_t id = v->tx_free_ids[--v->tx_nfree];
		v->tx_pkts[id] = p;
		virtq_post(&v->txq, id, pkt_dma_addr(p), p->len, 0);
	}
	if (taken < n)
		v->sw.tx_ring_full++;
	/* Interrupt when the last frame queued so far is done: a wake-up for reclaim. */
	if (!dev->poll_only)
		virtq_irq_after(&v->txq, (uint16_t)(v->txq.avail_idx - 1));
	virtq_kick(&v->txq);
	return taken;
}

/*
 * Stall watchdog. Event-index suppression (§2.7.10) relies on the store of avail->idx
 * and the load of avail_event being ordered on both sides; under QEMU's single-threaded
 * TCG the device thread was seen to miss an update, after which it never asked for
 * another notification and the queue stopped for good. So: frames outstanding and no
 * used-ring progress for a watchdog period -> ring the doorbell anyway (harmless if
 * the device was merely slow), counted in tx_kicks_forced.
 * Receive at a slower rate: an idle link and a stalled receive queue look the same
 * from the ring (the device holds every buffer and used->idx does not move), so an
 * idle guest rings once per RX_WATCHDOG_NS, not on every timer tick (was ~370/s).
 */
#define WATCHDOG_NS (2ull * 1000000ull)
#define RX_WATCHDOG_NS (1000ull * 1000000ull)

static void vnet_watchdog(struct vnet *v)
{
	uint64_t now = time_ns();
	if (now >= v->wd_next_ns) {
		uint16_t tx_used = v->txq.used->idx;
		v->wd_next_ns = now + WATCHDOG_NS;
		if (v->tx_nfree < v->txq.size && tx_used == v->wd_tx_used)
			virtq_notify(&v->txq);
		v->wd_tx_used = tx_used;
	}
	if (now >= v->wd_rx_next_ns) {
		uint16_t rx_used = v->rxq.used->idx;
		v->wd_rx_next_ns = now + RX_WATCHDOG_NS;
		if (rx_used == v->wd_rx_used)
			virtq_notify(&v->rxq);
		v->wd_rx_used = rx_used;
	}
}

static int vnet_tx_reclaim(struct netdev *dev)
{
	struct vnet *v = dev->priv;
	vnet_watchdog(v);
	uint16_t id;
	uint32_t len;
	for (int i = 0; i < v->txq.size && virtq_get_used(&v->txq, &id, &len); i++) {
		if (id >= v->txq.size || !v->tx_pkts[id]) {
			v->sw.tx_bad_id++;
			continue;
		}
		struct pkt *p = v->tx_pkts[id];
		v->sw.tx_packets++;
		v->sw.tx_bytes += p->len - v->hdr_len;
		pkt_free(p);
		v->tx_pkts[id] = NULL;
		v->tx_free_ids[v->tx_nfree++] = id;
	}
	return v->tx_nfree;
}

/* ---- interrupts (net/netdev.h contract) -------------------------------------------- */

/* MSI-X needs no acknowledgement (the ISR status is for INTx). Masking is ring-side:
 * used_event moves out of reach until the poll re-arms. */
static void rx_irq(void *ctx)
{
	struct vnet *v = ctx;
	virtq_irq(&v->rxq, 0);
	netdev_irq(&v->dev);
}

static void tx_irq(void *ctx)
{
	struct vnet *v = ctx;
	v->sw.irq_tx++;
	nic_tx_event(&v->dev);
}

static void config_irq(void *ctx)
{
	struct vnet *v = ctx;
	v->sw.irq_config++;
	nic_link_event(&v->dev);
}

static void vnet_irq_enable(struct netdev *dev, int on)
{
	struct vnet *v = dev->priv;
	virtq_irq(&v->rxq, on);
}

static int bind_vector(struct vnet *v, int entry, irq_handler_fn fn, const char *what)
{
	char *name = v->irq_names[entry];
	ksnprintf(name, sizeof(v->irq_names[entry]), "%s-%s", v->dev.name, what);
	return pci_msix_bind(v->vp.pci, entry, fn, v, name);
}

/* The queues already point at MSI-X entries (masked until bound). A bind failure
 * leaves them masked and the device in poll mode. */
static void irq_setup(struct vnet *v, int msix)
{
	if (!msix || bind_vector(v, VEC_CONFIG, config_irq, "config") < 0 ||
	    bind_vector(v, VEC_RX, rx_irq, "rx") < 0 || bind_vector(v, VEC_TX, tx_irq, "tx") < 0) {
		if (!nic_poll_only())
			log_warn("%s: no usable MSI-X and INTx is not routed (no IOAPIC routing for "
				 "PCI yet): poll mode", v->dev.name);
		v->dev.poll_only = 1;
		v->dev.irq_mode = "poll";
		pci_intx_disable(v->vp.pci);
		return;
	}
	v->dev.irq_mode = "MSI-X";
	virtq_irq(&v->rxq, 1);
	/* Frames that arrived before the interrupt was armed raised none: poll once. */
	v->dev.napi_pending = 1;
}

/* ---- link and counters ------------------------------------------------------------- */

/* §5.1.4: speed and duplex are valid with SPEED_DUPLEX; re-read on config changes. */
static void read_speed(struct vnet *v)
{
	v->dev.speed_mbps = 0;
	v->dev.full_duplex = -1;
	if (!virtio_has(&v->vp, VIRTIO_NET_F_SPEED_DUPLEX))
		return;
	uint8_t gen, duplex;
	uint32_t speed;
	do {
		gen = virtio_config_generation(&v->vp);
		speed = virtio_config32(&v->vp, VNET_CFG_SPEED);
		duplex = virtio_config8(&v->vp, VNET_CFG_DUPLEX);
	} while (gen != virtio_config_generation(&v->vp));
	v->dev.speed_mbps = speed <= VNET_SPEED_MAX ? speed : 0;
	v->dev.full_duplex = duplex == 1 ? 1 : duplex == 0 ? 0 : -1;
}

static int vnet_link_up(struct netdev *dev)
{
	struct vnet *v = dev->priv;
	read_speed(v);
	if (!virtio_has(&v->vp, VIRTIO_NET_F_STATUS))
		return 1;       /* §5.1.4: without STATUS the link is assumed up */
	return (virtio_config16(&v->vp, VNET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP) != 0;
}

static void vnet_get_stats(struct netdev *dev, struct netdev_stats *st)
{
	struct vnet *v = dev->priv;
	const struct vnet_stats *s = &v->sw;
	memset(st, 0, sizeof(*st));
	st->rx_packets = s->rx_packets;
	st->rx_bytes = s->rx_bytes;
	st->rx_length_errors = s->rx_bad_length + s->rx_multi_buffer;
	st->rx_errors = s->rx_bad_length + s->rx_multi_buffer + s->rx_bad_id;
	st->rx_dropped = s->rx_alloc_failed;
	st->tx_packets = s->tx_packets;
	st->tx_bytes = s->tx_bytes;
	st->tx_errors = s->tx_length_errors + s->tx_bad_id;
	st->tx_dropped = s->tx_length_errors;
}

static void vnet_xstats(struct netdev *dev, netdev_xstat_fn fn, void *ctx)
{
	struct vnet *v = dev->priv;
	const struct vnet_stats *s = &v->sw;
	fn(ctx, "rx_packets", s->rx_packets);
	fn(ctx, "rx_bytes", s->rx_bytes);
	fn(ctx, "tx_packets", s->tx_packets);
	fn(ctx, "tx_bytes", s->tx_bytes);
	fn(ctx, "rx_bad_length", s->rx_bad_length);
	fn(ctx, "rx_multi_buffer_dropped", s->rx_multi_buffer);
	fn(ctx, "alloc_rx_buff_failed", s->rx_alloc_failed);
	fn(ctx, "rx_bad_id", s->rx_bad_id);
	fn(ctx, "tx_length_errors", s->tx_length_errors);
	fn(ctx, "tx_ring_full", s->tx_ring_full);
	fn(ctx, "tx_bad_id", s->tx_bad_id);
	fn(ctx, "rx_kicks", v->rxq.kicks);
	fn(ctx, "rx_kicks_suppressed", v->rxq.kicks_suppressed);
	fn(ctx, "tx_kicks", v->txq.kicks);
	fn(ctx, "tx_kicks_suppressed", v->txq.kicks_suppressed);
	fn(ctx, "tx_kicks_forced", v->txq.kicks_forced);
	fn(ctx, "rx_kicks_forced", v->rxq.kicks_forced);
	fn(ctx, "irq_tx", s->irq_tx);
	fn(ctx, "irq_config", s->irq_config);
}

static const struct netdev_ops vnet_ops = {
	.rx_burst = vnet_rx_burst,
	.tx_burst = vnet_tx_burst,
	.tx_reclaim = vnet_tx_reclaim,
	.irq_enable = vnet_irq_enable,
	.link_up = vnet_link_up,
	.get_stats = vnet_get_stats,
	.xstats = vnet_xstats,
};

/* ---- probe ------------------------------------------------------------------------- */

/* §5.1.5: the MAC from the config space if offered, else a locally administered one
 * made from the PCI address. Read again while config_generation moves (§2.5.1). */
static void read_mac(struct vnet *v, uint8_t mac[6])
{
	if (!virtio_has(&v->vp, VIRTIO_NET_F_MAC)) {
		const struct pci_dev *d = v->vp.pci;
		const uint8_t local[6] = { 0x02, 0x53, 0x4B, d->bus, d->dev, d->fn };
		memcpy(mac, local, 6);
		return;
	}
	uint8_t gen;
	do {
		gen = virtio_config_generation(&v->vp);
		for (int i = 0; i < 6; i++)
			mac[i] = virtio_config8(&v->vp, VNET_CFG_MAC + (uint32_t)i);
	} while (gen != virtio_config_generation(&v->vp));
}

static int queues_setup(struct vnet *v, int msix)
{
	uint16_t none = VIRTIO_MSI_NO_VECTOR;
	if (virtio_config_vector(&v->vp, msix ? VEC_CONFIG : none) < 0 ||
	    virtq_setup(&v->vp, &v->rxq, RXQ_INDEX, QUEUE_MAX, msix ? VEC_RX : none) < 0 ||
	    virtq_setup(&v->vp, &v->txq, TXQ_INDEX, QUEUE_MAX, msix ? VEC_TX : none) < 0)
		return -1;
	/* Quiet until irq_setup arms them (TX is armed per burst). */
	virtq_irq(&v->rxq, 0);
	virtq_irq(&v->txq, 0);
	for (uint16_t id = 0; id < v->txq.size; id++)
		v->tx_free_ids[v->tx_nfree++] = id;
	return 0;
}

static void netdev_setup(struct vnet *v, const uint8_t mac[6])
{
	struct netdev *d = &v->dev;
	strlcpy(d->driver, "virtio-net", sizeof(d->driver));
	memcpy(d->mac, mac, 6);
	d->mtu = 1500;
	d->ops = &vnet_ops;
	d->priv = v;
	d->pool = &v->pool;
	d->irq_mode = "poll";
}

/* Ring and pool memory of a failed probe is not returned (it happens only when DMA
 * memory ran out or the device misbehaves); the device is left FAILED. */
static int fail(struct vnet *v, struct pci_dev *pci, const char *why)
{
	log_warn("virtio-net: %02x:%02x.%x: %s", pci->bus, pci->dev, pci->fn, why);
	if (v->vp.common || v->vp.legacy)
		virtio_fail(&v->vp);
	kfree(v);
	return -1;
}

/* Only what this driver handles, whatever the device offers (QEMU's defaults include
 * offloads we never take); then the header size those features imply (§5.1.6). */
static int negotiate(struct vnet *v)
{
	uint64_t required = v->vp.legacy ? 0 : 1ull << VIRTIO_F_VERSION_1;
	if (virtio_start(&v->vp, WANTED_FEATURES, required) < 0)
		return -1;
	v->hdr_len = v->vp.legacy && !virtio_has(&v->vp, VIRTIO_NET_F_MRG_RXBUF) ? HDR_LEN_LEGACY
										 : HDR_LEN;
	if (v->vp.legacy && !virtio_has(&v->vp, VIRTIO_F_ANY_LAYOUT))
		log_warn("virtio-net: legacy device without ANY_LAYOUT: header and frame share a "
			 "descriptor anyway (QEMU accepts it)");
	return 0;
}

static void log_probe(const struct vnet *v, const uint8_t mac[6])
{
	const struct pci_dev *pci = v->vp.pci;
	log_info("%s: virtio-net at %02x:%02x.%x (%04x:%04x, %s interface, %u-byte header), "
		 "MAC %02x:%02x:%02x:%02x:%02x:%02x, %s, features 0x%lx", v->dev.name, pci->bus,
		 pci->dev, pci->fn, pci->vendor, pci->device, v->vp.legacy ? "legacy" : "modern",
		 (unsigned)v->hdr_len, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		 v->dev.irq_mode, (unsigned long)v->vp.features);
}

/* MSI-X goes on before anything reads the device config: on the legacy interface
 * that config moves by 4 bytes while MSI-X is enabled (§4.1.4.8). */
static int probe(struct pci_dev *pci, const struct pci_id *id)
{
	(void)id;
	struct vnet *v = kcalloc(1, sizeof(*v));
	uint8_t mac[6];
	if (!v)
		return -1;
	if (virtio_pci_init(&v->vp, pci) < 0)
		return fail(v, pci, "neither virtio capabilities nor a legacy I/O BAR");
	int msix = !nic_poll_only() && pci_msix_enable(pci) >= VECTORS;
	if (negotiate(v) < 0)
		return fail(v, pci, "feature negotiation failed");
	if (queues_setup(v, msix) < 0)
		return fail(v, pci, "virtqueue setup failed");
	if (nic_pool_create(&v->pool, NIC_POOL_SLOTS) < 0 || rx_fill(v) < 0)
		return fail(v, pci, "out of DMA memory");
	read_mac(v, mac);
	netdev_setup(v, mac);
	virtio_driver_ok(&v->vp);
	virtq_kick(&v->rxq);
	nic_register(&v->dev);
	irq_setup(v, msix);
	log_probe(v, mac);
	return 0;
}

static const struct pci_id ids[] = {
	{ 0x1AF4, 0x1041, "virtio 1.0 network device" },
	{ 0x1AF4, 0x1000, "virtio network device (transitional)" },
	{ 0, 0, NULL },
};

static const struct pci_driver driver = { "virtio-net", ids, probe };

static void virtio_net_register(void)
{
	pci_register_driver(&driver);
}

DRIVER_INIT(virtio_net_register);
