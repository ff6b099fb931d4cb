/*
 * The one interface between NIC drivers and the stack (Unikraft uknetdev, Linux
 * net_device + NAPI, cut down). The stack never sees a register; a driver never sees
 * a protocol header.
 *
 * Interrupt-then-poll contract (Linux e1000_intr / e1000_clean):
 *   driver IRQ handler: ack the cause, mask the queue interrupt, call
 *                       netdev_irq(dev) (sets napi_pending, counts), return (EOI
 *                       is sent by the kernel's dispatcher). Touches no packet.
 *   stack poll:         netdev_napi_poll(): rx_burst() up to the budget; if the
 *                       ring was drained, irq_enable(dev, 1) and rx_burst() once
 *                       more to close the race; else count budget_exhausted and
 *                       stay in polling mode.
 *   poll mode:          with dev->poll_only set (skiff.conf poll = on, or no usable
 *                       interrupt) the stack polls every loop turn and never arms
 *                       interrupts.
 * All callbacks run in the main loop, never in interrupt context, except that
 * netdev_irq() is called from the IRQ handler.
 */
#ifndef SKIFF_NET_NETDEV_H
#define SKIFF_NET_NETDEV_H

#include <stdint.h>
#include "net/pkt.h"

struct netdev;

/* The counters `ip -s link` shows; drivers fill what their hardware counts. */
struct netdev_stats {
	uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped, rx_missed, rx_crc_errors,
		 rx_length_errors, rx_no_buffer, multicast;
	uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped, collisions;
};

/* Called once per named counter by netdev_ops.xstats (the `ethtool -S` list). */
typedef void (*netdev_xstat_fn)(void *ctx, const char *name, uint64_t value);

struct netdev_ops {
	/* Receive up to max frames into pkts[]; ownership passes to the caller.
	 * Each packet's data is the Ethernet frame without FCS. Refills the ring. */
	int (*rx_burst)(struct netdev *dev, struct pkt **pkts, int max);
	/* Queue up to n frames for transmit; returns how many the ring took. Those are
	 * owned by the driver now (freed on completion); the rest stay the caller's. */
	int (*tx_burst)(struct netdev *dev, struct pkt **pkts, int n);
	/* Reclaims completed transmit descriptors; returns free TX slots. */
	int (*tx_reclaim)(struct netdev *dev);
	/* Unmask (on = 1) or mask the queue interrupt. */
	void (*irq_enable)(struct netdev *dev, int on);
	/* 1 when the link is up; reads hardware status. */
	int (*link_up)(struct netdev *dev);
	void (*get_stats)(struct netdev *dev, struct netdev_stats *st);
	void (*xstats)(struct netdev *dev, netdev_xstat_fn fn, void *ctx);
};

struct netdev_napi_stats {
	uint64_t irqs, polls, budget_exhausted, rx_frames, rearms;
};

struct netdev {
	char name[16];          /* "eth0" */
	char driver[16];        /* "e1000", "e1000e", "virtio-net" */
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t ifindex;
	const struct netdev_ops *ops;
	void *priv;             /* the driver's state */
	struct pkt_pool *pool;  /* RX buffers come from here; set by the driver */
	int poll_only;          /* never arm interrupts */
	const char *irq_mode;   /* "MSI-X", "MSI", "INTx", "poll": for ethtool -S */
	volatile int napi_pending;
	struct netdev_napi_stats napi;
	/* Link, as the driver's link_up() last read it: 0 Mb/s when the hardware does
	 * not say; full_duplex 1 full, 0 half, -1 unknown. link_changes counts up<->down
	 * transitions seen by drivers/nic.c (the stack may watch it to re-announce). */
	uint32_t speed_mbps;
	int full_duplex;
	uint64_t link_changes;
	/* Offloads the driver enabled (NETDEV_F_*); the stack falls back to software for
	 * what is missing (link_output). tso_max: largest PKT_F_GSO_TCP4 frame it takes. */
	uint32_t features;
	uint32_t tso_max;
	/* Byte queue limits (net/dql.h): a driver with NETDEV_F_BQL adds to tx_done_bytes
	 * the length (as tx_burst was handed it) of every frame it took and is done with,
	 * sent or dropped, when it reclaims it (Linux netdev_tx_completed_queue). The
	 * qdisc then keeps only a dynamic limit of bytes in the ring. */
	uint64_t tx_done_bytes;
};

#define NETDEV_F_TX_CSUM 0x01   /* fills PKT_F_CSUM_PARTIAL checksums (TCP and UDP over IPv4) */
#define NETDEV_F_TSO4 0x02      /* segments PKT_F_GSO_TCP4 frames (with their checksums) */
#define NETDEV_F_RX_CSUM 0x04   /* marks frames whose L4 checksum it verified PKT_F_CSUM_OK */
#define NETDEV_F_RX_LRO 0x08    /* may deliver coalesced TCP frames larger than the MTU */
#define NETDEV_F_BQL 0x10       /* counts finished transmit bytes in tx_done_bytes */
/* reads a TSO frame's tail from p->ext (pkt.h: scatter-gather, no copy into the slot) */
#define NETDEV_F_SG 0x20

/* From the driver's IRQ handler, after it masked the queue interrupt. */
static inline void netdev_irq(struct netdev *dev)
{
	dev->napi.irqs++;
	dev->napi_pending = 1;
}

typedef void (*netdev_deliver_fn)(void *ctx, struct netdev *dev, struct pkt *p);

/*
 * One NAPI poll of dev (see the contract above): receives up to budget frames and
 * hands each to deliver(), which consumes it. Returns the number of frames. Call it
 * when dev->napi_pending is set, or every loop turn for poll_only devices.
 */
int netdev_napi_poll(struct netdev *dev, int budget, netdev_deliver_fn deliver, void *ctx);

#endif
