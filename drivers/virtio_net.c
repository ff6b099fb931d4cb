/*
 * Virtio network device (virtio 1.2 §5.1) on the PCI transport (virtio.c), in every
 * form QEMU's virtio-net-pci takes: modern-only 1af4:1041 (disable-legacy=on),
 * transitional 1af4:1000 with the modern capabilities (the default; driven through
 * the modern interface), and legacy-only 1af4:1000 (disable-modern=on; the legacy
 * I/O-port interface, §4.1.4.8).
 *
 * Probe (§5.1.5 after §3.1.1): transport -> MSI-X if the device has 3 entries (first:
 * a legacy device's config space moves when it is on) -> the large-frame pool ->
 * features: what this driver handles, of what the device offers, with the
 * dependencies of §5.1.3.1: VERSION_1 (modern), MAC, STATUS, SPEED_DUPLEX, MRG_RXBUF,
 * EVENT_IDX, ANY_LAYOUT (legacy), CSUM, HOST_TSO4 (needs CSUM), GUEST_CSUM, GUEST_TSO4
 * (needs GUEST_CSUM, and here MRG_RXBUF and the large pool: 64 KiB frames arrive over
 * several 2 KiB buffers) -> dev->features from the result -> queues (entry 0
 * config/link, 1 receiveq1, 2 transmitq1) -> receive buffers -> DRIVER_OK -> kick ->
 * register ethN. Without MSI-X: poll mode (INTx is not routed yet). A backend without
 * a vnet header (QEMU -netdev dgram/socket/user) offers none of the offloads.
 *
 * One descriptor per buffer: the virtio_net_hdr sits in the packet's headroom
 * right before the frame, so a received frame lands at pkt_data() and a transmitted
 * one needs no copy. It is 12 bytes with VERSION_1 or MRG_RXBUF, else 10 (§5.1.6
 * legacy: no num_buffers); a legacy device takes it in the frame's descriptor only
 * with ANY_LAYOUT (§2.6.4.3). Descriptor id = ring slot, with a side array id -> packet.
 * With MRG_RXBUF a frame may span num_buffers buffers (§5.1.6.4): the first holds the
 * header, the others data from their first byte; such a frame is copied into one
 * packet of the large pool (a one-buffer frame goes up as it is, no copy).
 */
#include "drivers/driver.h"
#include "drivers/nic.h"
#include "drivers/virtio.h"
#include "kernel/console.h"
#include "kernel/dma.h"
#include "lib/fmt.h"
#include "kernel/heap.h"
#include "lib/string.h"
#include "kernel/time.h"

#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_HOST_TSO4 11
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
			 1ull << VIRTIO_F_ANY_LAYOUT | 1ull << VIRTIO_NET_F_CSUM | \
			 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 | \
			 1ull << VIRTIO_NET_F_GUEST_TSO4)

/* virtio_net_hdr flags and gso_type (§5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1

/* Large frames: a TSO/LRO frame is an IPv4 datagram of at most 65535 bytes plus the
 * Ethernet header (and a VLAN tag); RX_BIG_SLOTS of them may be held by the stack. */
#define VNET_GSO_FRAME_MAX (65535u + 14u)
#define RX_BIG_BUF (VNET_GSO_FRAME_MAX + 4u)
#define RX_BIG_SLOTS 32
#define TCP_DOFF_BYTE 12                /* RFC 9293 §3.1: data offset, high nibble */

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
	uint64_t rx_bad_length, rx_merge_errors, rx_alloc_failed, rx_bad_id;
	uint64_t rx_merged, rx_merged_buffers, rx_big_alloc_failed, rx_csum_ok, rx_gso;
	uint64_t tx_length_errors, tx_bad_offload, tx_ring_full, tx_bad_id;
	uint64_t tx_csum_partial, tx_tso, tx_rescues;
	uint64_t irq_tx, irq_config;
};

struct vnet {
	struct netdev dev;
	struct virtio_pci vp;
	struct virtq rxq, txq;
	struct pkt_pool pool;
	struct pkt_pool big;                    /* assembled multi-buffer frames */
	void *big_mem;                          /* NULL: no large pool */
	uint64_t big_phys;
	struct pkt *rx_pkts[QUEUE_MAX];         /* descriptor id -> receive buffer */
	struct pkt *tx_pkts[QUEUE_MAX];         /* descriptor id -> frame in flight */
	uint16_t tx_free_ids[QUEUE_MAX];        /* stack of unused TX descriptor ids */
	uint16_t tx_tail_id[QUEUE_MAX];         /* id -> the next in its frame's chain, or NO_ID */
	uint16_t tx_nfree;
	uint16_t rx_skip;                       /* buffers left of a dropped multi-buffer frame */
	uint64_t rescue_next_ns;                /* next transmit stall check */
	uint16_t rescue_used;                   /* txq used->idx at the last check */
	int rescue_outstanding;                 /* frames were in flight at the last check */
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

/* Where the device started writing buffer id: the header, or data for the second and
 * later buffers of a merged frame. */
static const uint8_t *rx_buf(struct vnet *v, uint16_t id)
{
	return pkt_data(v->rx_pkts[id]) - v->hdr_len;
}

static void rx_stamp(struct vnet *v, struct pkt *p)
{
	p->ifindex = (uint16_t)v->dev.ifindex;
	p->ts_ns = time_ns();
	v->sw.rx_packets++;
	v->sw.rx_bytes += p->len;
}

/* A one-buffer frame goes up in its own buffer if a replacement exists; otherwise
 * the buffer is reposted as it is and the frame dropped. */
static struct pkt *rx_single(struct vnet *v, uint16_t id, uint32_t len)
{
	struct pkt *p = v->rx_pkts[id];
	struct pkt *fresh = pkt_alloc(&v->pool);
	if (!fresh) {
		v->sw.rx_alloc_failed++;
		rx_post(v, id);
		return NULL;
	}
	v->rx_pkts[id] = fresh;
	rx_post(v, id);
	pkt_put(p, len - v->hdr_len);
	return p;
}

/* Appends n bytes at src to big (NULL: already failed), whose room was checked. */
static struct pkt *rx_append(struct pkt *big, const uint8_t *src, uint32_t n)
{
	if (big && n > pkt_tailroom(big)) {
		pkt_free(big);
		return NULL;
	}
	if (big)
		memcpy(pkt_put(big, n), src, n);
	return big;
}

/*
 * §5.1.6.4.2: the device uses all num_buffers buffers of a frame together, so the
 * other nb - 1 are already in the used ring; fewer is a device error (the ones there
 * are skipped as they come). Each buffer is copied into one large packet and
 * reposted at once; any bad piece drops the whole frame, counted once.
 */
static struct pkt *rx_merge(struct vnet *v, uint16_t id, uint32_t len, uint16_t nb, int *cleaned)
{
	uint16_t pending = virtq_used_pending(&v->rxq);
	if (nb > v->rxq.size || pending < nb - 1) {
		v->sw.rx_merge_errors++;
		v->rx_skip = pending < nb - 1 ? pending : (uint16_t)(nb - 1);
		rx_post(v, id);
		return NULL;
	}
	struct pkt *big = v->big_mem ? pkt_alloc(&v->big) : NULL;
	if (!big)
		v->sw.rx_big_alloc_failed++;
	int ok = big != NULL;
	big = rx_append(big, rx_buf(v, id) + v->hdr_len, len - v->hdr_len);
	rx_post(v, id);
	for (uint16_t k = 1; k < nb; k++) {
		uint16_t bid;
		uint32_t blen;
		virtq_get_used(&v->rxq, &bid, &blen);
		(*cleaned)++;
		if (bid >= v->rxq.size) {
			v->sw.rx_bad_id++;      /* a device bug: that buffer is lost */
			big = rx_append(big, NULL, UINT32_MAX);
			continue;
		}
		big = rx_append(big, rx_buf(v, bid), blen <= v->hdr_len + PKT_BUF_SIZE ? blen : UINT32_MAX);
		rx_post(v, bid);
	}
	if (ok && !big)
		v->sw.rx_merge_errors++;
	if (big) {
		v->sw.rx_merged++;
		v->sw.rx_merged_buffers += nb;
	}
	return big;
}

/* §5.1.6.4.1: DATA_VALID means the device (or host) checked it; NEEDS_CSUM on receive
 * means a local sender left it to "hardware" and the data crossed no wire, which
 * Linux treats as verified too (CHECKSUM_PARTIAL). Only with GUEST_CSUM. */
static void rx_offloads(struct vnet *v, struct pkt *p, const struct virtio_net_hdr *h)
{
	if (virtio_has(&v->vp, VIRTIO_NET_F_GUEST_CSUM) &&
	    (h->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))) {
		p->flags |= PKT_F_CSUM_OK;
		v->sw.rx_csum_ok++;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		v->sw.rx_gso++;
}

/* The frame that starts in used buffer id (len bytes written), or NULL (dropped,
 * counted; every buffer it used is reposted). */
static struct pkt *rx_frame(struct vnet *v, uint16_t id, uint32_t len, int *cleaned)
{
	if (v->rx_skip) {
		v->rx_skip--;
		rx_post(v, id);
		return NULL;
	}
	if (len < v->hdr_len + NIC_FRAME_MIN || len > v->hdr_len + PKT_BUF_SIZE) {
		v->sw.rx_bad_length++;
		rx_post(v, id);
		return NULL;
	}
	struct virtio_net_hdr h = { 0 };
	memcpy(&h, rx_buf(v, id), v->hdr_len);
	uint16_t nb = virtio_has(&v->vp, VIRTIO_NET_F_MRG_RXBUF) ? h.num_buffers : 1;
	if (nb == 0) {
		v->sw.rx_bad_length++;
		rx_post(v, id);
		return NULL;
	}
	struct pkt *p = nb == 1 ? rx_single(v, id, len) : rx_merge(v, id, len, nb, cleaned);
	if (p) {
		rx_offloads(v, p, &h);
		rx_stamp(v, p);
	}
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
		struct pkt *p = rx_frame(v, id, len, &cleaned);
		if (p)
			pkts[n++] = p;
	}
	virtq_kick(&v->rxq);
	return n;
}

/* ---- transmit --------------------------------------------------------------------- */

/*
 * §5.1.6.2: the header says what the device is to finish. csum_start counts from the
 * frame (not the slot, as p->csum_start does); hdr_len for TSO is the headers
 * through TCP's, so the TCP data offset is read here (the one protocol byte this
 * driver looks at: the device needs it). 0, or -1 for a frame whose offload request
 * does not fit it or the device.
 */
static int tx_hdr(struct vnet *v, struct pkt *p, struct virtio_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (!(p->flags & (PKT_F_CSUM_PARTIAL | PKT_F_GSO_TCP4)))
		return 0;
	uint32_t start = p->csum_start - p->off;
	if (!(p->flags & PKT_F_CSUM_PARTIAL) || !(v->dev.features & NETDEV_F_TX_CSUM) ||
	    p->csum_start < p->off || start + p->csum_off + 2u > p->len)
		return -1;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)start;
	h->csum_offset = p->csum_off;
	v->sw.tx_csum_partial++;
	if (!(p->flags & PKT_F_GSO_TCP4))
		return 0;
	/* The TCP header must lie in the slot (a scatter-gather tail is payload only). */
	if (!(v->dev.features & NETDEV_F_TSO4) || !p->gso_size ||
	    start + TCP_DOFF_BYTE >= pkt_linear_len(p))
		return -1;
	uint32_t hlen = start + (uint32_t)(pkt_data(p)[start + TCP_DOFF_BYTE] >> 4) * 4u;
	if (hlen >= p->len || hlen > pkt_linear_len(p))
		return -1;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = p->gso_size;
	h->hdr_len = (uint16_t)hlen;
	v->sw.tx_tso++;
	return 0;
}

/* Header filled in front of the frame, or -1 (the frame is freed, counted). */
static int tx_prepare(struct vnet *v, struct pkt *p)
{
	struct virtio_net_hdr h;
	uint32_t max = p->flags & PKT_F_GSO_TCP4 ? v->dev.tso_max : NIC_FRAME_MAX;
	uint8_t *room;
	if (p->len < NIC_FRAME_MIN || p->len > max) {
		v->sw.tx_length_errors++;
	} else if (tx_hdr(v, p, &h) < 0 || (p->ext_len && !(p->flags & PKT_F_GSO_TCP4))) {
		v->sw.tx_bad_offload++;
	} else if ((room = pkt_push(p, v->hdr_len)) != NULL) {
		memcpy(room, &h, v->hdr_len);
		return 0;
	} else {
		v->sw.tx_length_errors++;
	}
	v->dev.tx_done_bytes += p->len;         /* taken and finished, for BQL */
	pkt_free(p);
	return -1;
}

/*
 * Transmit interrupts only when the ring runs short: reclaim happens on every main-loop
 * turn anyway, and each interrupt is an exit. Past half full: interrupt when the last
 * frame queued so far is done, a wake-up for reclaim; if the device is already past
 * it, no interrupt comes: reclaim on this loop turn.
 */
static void tx_irq_arm(struct vnet *v)
{
	if (v->dev.poll_only)
		return;
	if (v->tx_nfree >= v->txq.size / 2)
		virtq_irq(&v->txq, 0);
	else if (virtq_irq_after(&v->txq, (uint16_t)(v->txq.avail_idx - 1)))
		nic_tx_event(&v->dev);
}

/* The slot's bytes and each fragment (pkt.h) as one chain; tx_tail_id links the ids so
 * tx_reclaim returns them all. */
static void tx_post_frags(struct vnet *v, struct pkt *p, uint16_t head)
{
	uint16_t ids[1 + PKT_MAX_FRAGS];
	uint64_t addrs[1 + PKT_MAX_FRAGS];
	uint32_t lens[1 + PKT_MAX_FRAGS];
	unsigned n = 1u + p->nfrags;
	ids[0] = head;
	addrs[0] = pkt_dma_addr(p);
	lens[0] = pkt_linear_len(p);
	for (unsigned i = 1; i < n; i++) {
		ids[i] = v->tx_free_ids[--v->tx_nfree];
		v->tx_tail_id[ids[i - 1]] = ids[i];
		addrs[i] = dma_addr_of(p->frag[i - 1]);
		lens[i] = p->frag_len[i - 1];
	}
	virtq_post_chain(&v->txq, ids, addrs, lens, n);
}

/* One doorbell for the whole burst at most (virtq_kick, and only when the device's
 * avail_event asks for one). */
static int vnet_tx_burst(struct netdev *dev, struct pkt **pkts, int n)
{
	struct vnet *v = dev->priv;
	int taken = 0;
	/* A frame with scatter-gather fragments (pkt.h) takes one chained descriptor for
	 * the slot and one per fragment. */
	for (; taken < n && v->tx_nfree >= 1u + pkts[taken]->nfrags; taken++) {
		struct pkt *p = pkts[taken];
		if (tx_prepare(v, p) < 0)
			continue;
		uint16_t id = v->tx_free_ids[--v->tx_nfree];
		v->tx_pkts[id] = p;
		if (!p->nfrags) {
			virtq_post(&v->txq, id, pkt_dma_addr(p), p->len, 0);
			continue;
		}
		tx_post_frags(v, p, id);
	}
	if (taken < n)
		v->sw.tx_ring_full++;
	tx_irq_arm(v);
	virtq_kick(&v->txq);
	return taken;
}

/*
 * Counted transmit rescue. With the kick decision right (virtq_kick) the device
 * always hears of new frames; this stays as a diagnostic that must read 0 (a system
 * test asserts it): frames in flight at one check, a second later the used index not
 * moved -> log the ring indices the first time, ring the doorbell, count it.
 */
#define NO_ID 0xffff            /* tx_tail_id: the end of a chain */
#define TX_RESCUE_NS (1000ull * 1000000ull)

static void tx_rescue(struct vnet *v)
{
	uint64_t now = time_ns();
	if (now < v->rescue_next_ns)
		return;
	struct virtq *q = &v->txq;
	uint16_t used = q->used->idx;
	v->rescue_next_ns = now + TX_RESCUE_NS;
	if (v->rescue_outstanding && used == v->rescue_used) {
		if (!v->sw.tx_rescues++)
			log_warn("%s: transmit queue stalled: avail->idx %u, last notified %u, "
				 "avail_event %u, used->idx %u, used_event %u: doorbell rung",
				 v->dev.name, q->kicked_idx, q->notified_idx, *q->avail_event,
				 used, *q->used_event);
		virtq_notify(q);
	}
	v->rescue_used = used;
	v->rescue_outstanding = q->kicked_idx != used;
}

static int vnet_tx_reclaim(struct netdev *dev)
{
	struct vnet *v = dev->priv;
	tx_rescue(v);
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
		v->dev.tx_done_bytes += p->len - v->hdr_len;    /* as tx_burst got it */
		pkt_free(p);
		v->tx_pkts[id] = NULL;
		/* The head and the rest of its chain (at most 1 + PKT_MAX_FRAGS ids). */
		for (unsigned k = 0; id != NO_ID && k <= PKT_MAX_FRAGS; k++) {
			uint16_t next = v->tx_tail_id[id];
			v->tx_tail_id[id] = NO_ID;
			v->tx_free_ids[v->tx_nfree++] = id;
			id = next;
		}
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
	st->rx_length_errors = s->rx_bad_length + s->rx_merge_errors;
	st->rx_errors = s->rx_bad_length + s->rx_merge_errors + s->rx_bad_id;
	st->rx_dropped = s->rx_alloc_failed + s->rx_big_alloc_failed;
	st->tx_packets = s->tx_packets;
	st->tx_bytes = s->tx_bytes;
	st->tx_errors = s->tx_length_errors + s->tx_bad_offload + s->tx_bad_id;
	st->tx_dropped = s->tx_length_errors + s->tx_bad_offload;
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
	fn(ctx, "rx_merged", s->rx_merged);
	fn(ctx, "rx_merged_buffers", s->rx_merged_buffers);
	fn(ctx, "rx_merge_errors", s->rx_merge_errors);
	fn(ctx, "rx_csum_ok", s->rx_csum_ok);
	fn(ctx, "rx_gso", s->rx_gso);
	fn(ctx, "alloc_rx_buff_failed", s->rx_alloc_failed);
	fn(ctx, "alloc_rx_big_failed", s->rx_big_alloc_failed);
	fn(ctx, "rx_big_pool_free", v->big_mem ? v->big.stats.free : 0);
	fn(ctx, "rx_bad_id", s->rx_bad_id);
	fn(ctx, "tx_csum_partial", s->tx_csum_partial);
	fn(ctx, "tx_tso", s->tx_tso);
	fn(ctx, "tx_bad_offload", s->tx_bad_offload);
	fn(ctx, "tx_length_errors", s->tx_length_errors);
	fn(ctx, "tx_ring_full", s->tx_ring_full);
	fn(ctx, "tx_bad_id", s->tx_bad_id);
	fn(ctx, "rx_kicks", v->rxq.kicks);
	fn(ctx, "rx_kicks_suppressed", v->rxq.kicks_suppressed);
	fn(ctx, "tx_kicks", v->txq.kicks);
	fn(ctx, "tx_kicks_suppressed", v->txq.kicks_suppressed);
	fn(ctx, "tx_rescues", s->tx_rescues);
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
	for (uint16_t id = 0; id < v->txq.size; id++) {
		v->tx_free_ids[v->tx_nfree++] = id;
		v->tx_tail_id[id] = NO_ID;
	}
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

/* A pool of large slots for frames that span receive buffers: DMA memory, as any
 * packet may be handed to a device again. Without it GUEST_TSO4 is not taken. */
static void big_pool_create(struct vnet *v)
{
	size_t bytes = (size_t)RX_BIG_SLOTS * pkt_slot_size(RX_BIG_BUF);
	v->big_mem = dma_alloc(bytes, 4096, &v->big_phys);
	if (v->big_mem)
		pkt_pool_init_sized(&v->big, v->big_mem, v->big_phys, RX_BIG_SLOTS, RX_BIG_BUF);
}

static void big_pool_drop(struct vnet *v)
{
	if (v->big_mem)
		dma_free(v->big_mem, (size_t)RX_BIG_SLOTS * pkt_slot_size(RX_BIG_BUF));
	v->big_mem = NULL;
}

/* Ring and pool memory of a failed probe is not returned (it happens only when DMA
 * memory ran out or the device misbehaves); the device is left FAILED. */
static int fail(struct vnet *v, struct pci_dev *pci, const char *why)
{
	log_warn("virtio-net: %02x:%02x.%x: %s", pci->bus, pci->dev, pci->fn, why);
	if (v->vp.common || v->vp.legacy)
		virtio_fail(&v->vp);
	big_pool_drop(v);       /* never given to the device */
	kfree(v);
	return -1;
}

/* What this driver handles of what the device offers (QEMU's defaults also include
 * offloads we never take), minus what a missing dependency rules out (§5.1.3.1). */
static uint64_t wanted_features(const struct vnet *v, uint64_t offered)
{
	uint64_t f = offered & WANTED_FEATURES;
	if (!(f & 1ull << VIRTIO_NET_F_CSUM))
		f &= ~(1ull << VIRTIO_NET_F_HOST_TSO4);
	/* §5.1.6.3.1: without MRG_RXBUF, GUEST_TSO4 would need 65562-byte buffers. */
	if (!(f & 1ull << VIRTIO_NET_F_GUEST_CSUM) || !(f & 1ull << VIRTIO_NET_F_MRG_RXBUF) ||
	    !v->big_mem)
		f &= ~(1ull << VIRTIO_NET_F_GUEST_TSO4);
	return f;
}

static void set_offloads(struct vnet *v)
{
	struct netdev *d = &v->dev;
	d->features = NETDEV_F_BQL;     /* tx_reclaim and tx_prepare count tx_done_bytes */
	d->tso_max = 0;
	if (virtio_has(&v->vp, VIRTIO_NET_F_CSUM))
		d->features |= NETDEV_F_TX_CSUM;
	if (virtio_has(&v->vp, VIRTIO_NET_F_HOST_TSO4)) {
		d->features |= NETDEV_F_TSO4;
		d->tso_max = VNET_GSO_FRAME_MAX;
		/* TX descriptors chain; a legacy device without ANY_LAYOUT gets no more
		 * deviation from its framing rules than the one logged at probe. A chain
		 * is the slot and up to PKT_MAX_FRAGS fragments: a queue smaller than that
		 * (legal, virtio 1.2 §2.7; QEMU's is 256) could never take such a frame,
		 * and the qdisc would offer it for ever (docs/review-round7b.md B). */
		if ((!v->vp.legacy || virtio_has(&v->vp, VIRTIO_F_ANY_LAYOUT)) &&
		    v->txq.size > PKT_MAX_FRAGS)
			d->features |= NETDEV_F_SG;
	}
	if (virtio_has(&v->vp, VIRTIO_NET_F_GUEST_CSUM))
		d->features |= NETDEV_F_RX_CSUM;
	if (virtio_has(&v->vp, VIRTIO_NET_F_GUEST_TSO4))
		d->features |= NETDEV_F_RX_LRO;
}

/* Then the header size those features imply (§5.1.6). */
static int negotiate(struct vnet *v)
{
	uint64_t required = v->vp.legacy ? 0 : 1ull << VIRTIO_F_VERSION_1, offered;
	if (virtio_begin(&v->vp, &offered) < 0 ||
	    virtio_accept(&v->vp, wanted_features(v, offered), required) < 0)
		return -1;
	v->hdr_len = v->vp.legacy && !virtio_has(&v->vp, VIRTIO_NET_F_MRG_RXBUF) ? HDR_LEN_LEGACY
										 : HDR_LEN;
	if (!virtio_has(&v->vp, VIRTIO_NET_F_MRG_RXBUF))
		big_pool_drop(v);
	if (v->vp.legacy && !virtio_has(&v->vp, VIRTIO_F_ANY_LAYOUT))
		log_warn("virtio-net: legacy device without ANY_LAYOUT: header and frame share a "
			 "descriptor anyway (QEMU accepts it)");
	return 0;
}

static void log_probe(const struct vnet *v, const uint8_t mac[6])
{
	const struct pci_dev *pci = v->vp.pci;
	log_info("%s: virtio-net at %02x:%02x.%x (%04x:%04x, %s interface, %u-byte header), "
		 "MAC %02x:%02x:%02x:%02x:%02x:%02x, %s, features 0x%lx, offloads%s%s%s%s%s",
		 v->dev.name, pci->bus,
		 pci->dev, pci->fn, pci->vendor, pci->device, v->vp.legacy ? "legacy" : "modern",
		 (unsigned)v->hdr_len, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		 v->dev.irq_mode, (unsigned long)v->vp.features,
		 v->dev.features & NETDEV_F_TX_CSUM ? " tx-csum" : "",
		 v->dev.features & NETDEV_F_TSO4 ? " tso4" : "",
		 v->dev.features & NETDEV_F_RX_CSUM ? " rx-csum" : "",
		 v->dev.features & NETDEV_F_RX_LRO ? " lro" : "",
		 v->dev.features & ~NETDEV_F_BQL ? "" : " none");     /* BQL is not an offload */
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
	big_pool_create(v);
	if (negotiate(v) < 0)
		return fail(v, pci, "feature negotiation failed");
	if (queues_setup(v, msix) < 0)
		return fail(v, pci, "virtqueue setup failed");
	if (nic_pool_create(&v->pool, NIC_POOL_SLOTS) < 0 || rx_fill(v) < 0)
		return fail(v, pci, "out of DMA memory");
	read_mac(v, mac);
	netdev_setup(v, mac);
	set_offloads(v);
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
