/*
 * The per-packet tracer on the core floor: a packet chosen for tracing carries a trace
 * id (struct pkt.trace_id), and every floor it crosses adds a record (time, layer,
 * event, two arguments) to a bounded ring. NET_TRACE() costs one predictable branch
 * while no trace runs (core->tracer is NULL).
 *
 * Who is traced is decided where a packet enters the stack: net_trace_rx() at the
 * driver boundary (link_input) and net_trace_tx() where IP has built the header
 * (ipv4 output); the owner's match() sees an Ethernet frame (for transmit, a stand-in
 * Ethernet header in the headroom before the IP header). A trace ends at a terminal
 * event (the packet consumed by its protocol, handed to the driver, or dropped:
 * net_drop() ends it with its reason); the owner's done() then gets its records.
 * Records of a packet whose start has been overwritten are skipped, never misread.
 */
#ifndef SKIFF_NET_TRACE_H
#define SKIFF_NET_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct net_core;
struct pkt;

#define TRACE_RING 1024                 /* records */
#define TRACE_ACTIVE 64                 /* packets traced at once */
#define TRACE_MAX_RECS 24               /* records one packet keeps for done() */

enum trace_layer { TL_DRV, TL_ETH, TL_ARP, TL_NEIGH, TL_IP, TL_ICMP, TL_UDP, TL_TCP, TL_QDISC, TL_APP,
		   TL_COUNT };

enum trace_event {
	TE_RX,          /* a: ifindex, b: length */
	TE_ETH_OK,      /* a: EtherType */
	TE_IP_LOCAL,    /* a: protocol, b: length of the datagram */
	TE_L4,          /* a: source port << 16 | destination port, b: payload bytes */
	TE_DELIVER,     /* consumed by the protocol (terminal); a: protocol */
	TE_DROP,        /* terminal; a: enum net_drop_reason */
	TE_IP_OUT,      /* a: destination, b: protocol */
	TE_ROUTE,       /* a: next hop, b: source address */
	TE_NEIGH_HIT,   /* a: next hop, b: ifindex */
	TE_NEIGH_PARK,  /* a: next hop, b: queued packets */
	TE_NEIGH_RELEASE, /* a: next hop */
	TE_LINK_OUT,    /* a: EtherType, b: frame length */
	TE_QDISC_ENQ,   /* a: backlog packets after */
	TE_QDISC_DEQ,   /* a: backlog packets after */
	TE_TX,          /* handed to the driver (terminal); a: ifindex, b: frame length */
	TE_COUNT
};

struct trace_rec {
	uint64_t ts_ns;
	uint32_t id;
	uint8_t layer, event;
	uint16_t pad;
	uint32_t a, b;
};

struct net_tracer {
	struct trace_rec ring[TRACE_RING];
	uint32_t head;                  /* next slot; ring holds the last TRACE_RING records */
	uint32_t next_id;
	uint32_t active[TRACE_ACTIVE];  /* ids being traced (0: free) */
	uint64_t started, finished, lost;       /* lost: evicted or overwritten before done */
	uint64_t (*clock_ns)(void *ctx);        /* a fine clock (TSC); NULL: the core clock */
	void *clock_ctx;
	int (*match)(void *ctx, const uint8_t *frame, size_t len);
	void (*done)(void *ctx, const struct trace_rec *recs, int n);
	void *ctx;
};

/* Resets t; match and done (and their ctx) must be set before net_trace_attach. */
void net_trace_init(struct net_tracer *t);
void net_trace_attach(struct net_core *c, struct net_tracer *t);
void net_trace_detach(struct net_core *c);

void net_trace_rx_start(struct net_core *c, struct pkt *p);
void net_trace_tx_start(struct net_core *c, struct pkt *p);
void net_trace_add(struct net_core *c, uint32_t id, int layer, int event, uint32_t a, uint32_t b);

extern const char *const trace_layer_names[TL_COUNT];
extern const char *const trace_event_names[TE_COUNT];

#endif
