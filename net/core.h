/*
 * The stack's bottom floor: configuration, the clock, entropy, logging and the counters
 * (stats.h) with the one drop exit every layer uses. Every layer above holds a pointer to
 * one struct net_core; nothing here knows any protocol, so the core can be read and
 * tested alone (docs/architecture.md shows the floors).
 *
 * Calling context: the kernel's main loop only, never an interrupt handler.
 */
#ifndef SKIFF_NET_CORE_H
#define SKIFF_NET_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "net/config.h"
#include "net/pkt.h"
#include "net/stats.h"
#include "net/trace.h"

enum net_log_level { NET_LOG_ERR, NET_LOG_WARN, NET_LOG_INFO, NET_LOG_DEBUG };

struct netdev;

/* Frames seen at the driver boundary (capture): NET_TAP_IN in link_input() before any
 * check, NET_TAP_OUT just before the qdisc hands a frame to dev->ops->tx_burst. The
 * values are pcapng's epb_flags directions. The tap must not keep or change p. */
enum net_tap_dir { NET_TAP_IN = 1, NET_TAP_OUT = 2 };
typedef void (*net_tap_fn)(void *ctx, const struct netdev *dev, const struct pkt *p, int dir);

struct net_config {            /* filled by the kernel from skiff.conf */
	int use_dhcp;              /* 1: DHCP; 0: static addr/prefix/gateway */
	uint32_t addr, gateway;    /* host byte order; with use_dhcp, a static fallback */
	int prefix_len;
	uint16_t mtu;              /* 0: the device's MTU (or 1500) */
	char hostname[64];
	uint64_t (*random)(void *ctx);               /* entropy for xids, IP IDs, ports */
	void (*log)(void *ctx, int level, const char *msg); /* level: enum net_log_level */
	/* Buffers for reassembled IPv4 datagrams, IPV4_REASM_BUF bytes each (a pool made
	 * with pkt_pool_init_sized); NULL: fragments are dropped (DropIpFragment). */
	struct pkt_pool *reasm_pool;
	/* Transmit buffers of NET_TX_BIG_BUF bytes (DMA-able: a TSO device reads them) for
	 * TCP's super-segments; NULL: TCP sends MSS-sized segments only. */
	struct pkt_pool *tx_big_pool;
	/* TCP's control blocks and buffers; both NULL: no TCP (net/transport.h). */
	void *(*mem_alloc)(void *ctx, size_t n);
	void (*mem_free)(void *ctx, void *p);
	uint64_t mem_bytes;        /* size of the allocator behind mem_alloc; 0: TCP's default */
	int fq_codel;              /* 1: interfaces start with fq_codel (needs mem_alloc), 0: pfifo */
	int tcp_pacing;            /* 1: TCP paces (tcp_config.pacing), 0: bursts */
	void *ctx;
};

struct net_core {
	struct net_config cfg;
	uint64_t now_ns;                /* last net_poll() time; input paths use it */
	/* No floor's timer is due before this (a lower bound): net_poll runs the floors'
	 * polls only once now_ns reaches it, then rebuilds it from their next deadlines.
	 * Every timer armed outside those polls lowers it through net_core_arm. */
	uint64_t wake_ns;
	uint64_t rng;                   /* fallback generator when cfg.random is NULL */
	uint64_t mib[MIB_COUNT];        /* nstat counters, enum net_mib */
	uint64_t drops[DROP_COUNT];     /* per-reason drops, enum net_drop_reason */
	net_tap_fn tap;                 /* NULL while nothing captures */
	struct net_tracer *tracer;      /* NULL while nothing traces */
	void *tap_ctx;
};

#define NET_INC(c, name) ((c)->mib[MIB_##name]++)
#define NET_ADD(c, name, n) ((c)->mib[MIB_##name] += (n))

/* Resets c and takes a copy of cfg. */
void net_core_init(struct net_core *c, const struct net_config *cfg);
/* Advances the clock; a clock that steps backwards is ignored (it would wedge every
 * "timer <= now" test). */
void net_core_tick(struct net_core *c, uint64_t now_ns);
/* A floor set a timer for when (ns; 0: at the next net_poll, as the floors' *_next_ns
 * say it): the next net_poll at or after it runs the floors' polls. */
static inline void net_core_arm(struct net_core *c, uint64_t when)
{
	if (when < c->wake_ns)
		c->wake_ns = when;
}
/* Frees p and counts it under reason. The one exit of every drop path. */
void net_drop(struct net_core *c, struct pkt *p, enum net_drop_reason reason);
uint64_t net_random(struct net_core *c);
/* One step of a traced packet (trace.h): one predictable branch while no trace runs. */
#define NET_TRACE(c, p, layer, ev, a, b)                                                  \
	do {                                                                              \
		if (__builtin_expect((c)->tracer != NULL, 0) && (p)->trace_id)            \
			net_trace_add((c), (p)->trace_id, (layer), (ev), (uint32_t)(a),   \
				      (uint32_t)(b));                                     \
	} while (0)

/* Hands a frame to the capture tap, if one is set: one predictable branch otherwise. */
static inline void net_tap(struct net_core *c, const struct netdev *dev, const struct pkt *p,
			   int dir)
{
	if (__builtin_expect(c->tap != NULL, 0))
		c->tap(c->tap_ctx, dev, p, dir);
}
void net_log(struct net_core *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
