/*
 * The link floor (L2): the interface table, Ethernet input demultiplexing and output.
 *
 * Receive:  driver -> link_input(): interface lookup, Ethernet checks (header; destination
 *           ours or broadcast; sane source), then the handler registered for the
 *           EtherType (ARP and IPv4 register with link_register_type(), as Linux's
 *           dev_add_pack) -- the link names no protocol above it.
 * Transmit: link_output(): Ethernet header, runt padding, the interface's qdisc, driver.
 * Timers:   link_poll(): link state (link_change callback on a change);
 *           link_run_queues(): qdisc draining.
 *
 * Each interface also carries its IPv4 address (as Linux's net_device carries its
 * in_device): ARP answers for it and routes lead to it, but only the IPv4 floor
 * (ipv4_set_addr) changes it.
 */
#ifndef SKIFF_NET_LINK_H
#define SKIFF_NET_LINK_H

#include <stdint.h>
#include "net/core.h"
#include "net/netdev.h"
#include "net/qdisc.h"
#include "net/inet.h"

enum iface_origin { IFACE_ADDR_NONE, IFACE_ADDR_STATIC, IFACE_ADDR_DHCP, IFACE_ADDR_FALLBACK };

struct net_if {
	struct netdev *dev;
	uint16_t mtu;
	uint32_t addr;          /* 0: none */
	uint8_t prefix_len;
	uint8_t origin;         /* enum iface_origin */
	uint8_t link_up;
	uint32_t link_changes;  /* up/down transitions seen */
	uint64_t link_check_ns;
	uint64_t valid_until_ns;        /* lease end, 0: forever */
	struct qdisc qdisc;
};

/* A registered EtherType's input: consumes p (data = the Ethernet payload). */
typedef void (*link_rx_fn)(void *ctx, int ifi, struct pkt *p, int l2_bcast);
/* Told about every link state change, after the interface records it. */
typedef void (*link_change_fn)(void *ctx, int ifi, int up);

#define LINK_MAX_TYPES 4

struct link_type {
	uint16_t type;          /* 0: free slot */
	link_rx_fn fn;
	void *ctx;
};

struct net_link {
	struct net_core *core;
	int nifs;
	uint32_t gen;           /* bumped when an interface, address or link state changes
				 * (route cache, connections' cached paths) */
	struct net_if ifs[NET_MAX_IFS];
	struct link_type types[LINK_MAX_TYPES];
	link_change_fn on_change;
	void *change_ctx;
};

void link_init(struct net_link *l, struct net_core *core);
/* Frees what the qdiscs hold. */
void link_fini(struct net_link *l);
/* Adds dev (ops->tx_burst and pool set) with MTU min(dev, cfg_mtu); returns the new
 * interface index or -NET_EINVAL, -NET_EEXIST, -NET_ENOSPC. */
int link_attach(struct net_link *l, struct netdev *dev, uint16_t cfg_mtu);
int link_register_type(struct net_link *l, uint16_t type, link_rx_fn fn, void *ctx);
/* Consumes p (data = Ethernet frame without FCS) received on dev. */
void link_input(struct net_link *l, struct netdev *dev, struct pkt *p);
/* Takes ownership of p (data = L3 packet): adds the Ethernet header, pads to the minimum
 * frame, queues on interface ifi. 0 or negative error (p freed, counted). */
int link_output(struct net_link *l, int ifi, struct pkt *p, const uint8_t *dst_mac, uint16_t type);
/* link_output for a frame whose Ethernet header is already written (a connection's
 * cached header, net/dst.h) and whose length the caller checked against the MTU (or
 * 64 KiB + header for PKT_F_GSO_TCP4): pads, offloads, queues. Ownership as above. */
int link_output_frame(struct net_link *l, int ifi, struct pkt *p);
/* A transmit packet with all headroom free, from interface ifi's pool (or any). */
struct pkt *link_alloc(struct net_link *l, int ifi);
/* Reads interface ifi's link state if its check is due (link_poll). */
void link_check(struct net_link *l, int ifi);

/* Reads link states (every NET_LINK_CHECK_NS). Inline: every main-loop turn asks, and
 * the answer is almost always "not due". */
static inline void link_poll(struct net_link *l)
{
	for (int i = 0; i < l->nifs; i++)
		if (l->core->now_ns >= l->ifs[i].link_check_ns)
			link_check(l, i);
}

/* The earliest link check due (link_check), UINT64_MAX if none: for net_poll's next
 * deadline. A device without link_up is never checked. */
static inline uint64_t link_next_ns(const struct net_link *l)
{
	uint64_t d = UINT64_MAX;
	for (int i = 0; i < l->nifs; i++)
		if (l->ifs[i].dev->ops->link_up && l->ifs[i].link_check_ns < d)
			d = l->ifs[i].link_check_ns;
	return d;
}

/* Hands queued frames to the drivers; last in every net_poll(). An idle pfifo (the
 * usual turn) whose next tx_reclaim is not due is skipped: qdisc_run would return at
 * its first test. fq_codel (qd->fq set) is always run. */
static inline void link_run_queues(struct net_link *l)
{
	for (int i = 0; i < l->nifs; i++) {
		struct qdisc *qd = &l->ifs[i].qdisc;
		if (!qd->fq && !qd->q.len && l->core->now_ns < qd->reclaim_ns)
			continue;
		qdisc_run(qd, l->core, l->ifs[i].dev);
	}
}

int link_find(const struct net_link *l, const struct netdev *dev);
int link_by_name(const struct net_link *l, const char *name);
static inline uint32_t iface_bcast(const struct net_if *ifc)
{
	return ifc->addr | ~inet_mask(ifc->prefix_len);
}
/* addr is the limited broadcast or interface ifi's subnet broadcast. Inline, as
 * link_is_local: ipv4_input asks both about every datagram's source and destination. */
static inline int link_is_bcast(const struct net_link *l, int ifi, uint32_t addr)
{
	if (addr == INET_BCAST)
		return 1;
	const struct net_if *ifc = &l->ifs[ifi];
	return ifc->addr && ifc->prefix_len < 31 && addr == iface_bcast(ifc);
}
/* addr is one of our interface addresses. */
static inline int link_is_local(const struct net_link *l, uint32_t addr)
{
	for (int i = 0; i < l->nifs; i++)
		if (l->ifs[i].addr && l->ifs[i].addr == addr)
			return 1;
	return 0;
}

#endif
