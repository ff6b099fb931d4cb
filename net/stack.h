/*
 * Skiff's network stack: the one header the kernel includes. Hardware-free (the host
 * unit tests and the fuzzer run it unchanged); all state lives in struct net_stack, so
 * several stacks can run in one process (the tests connect two back to back).
 *
 * Receive path:  driver -> netdev_napi_poll() -> net_input() -> eth demux ->
 *                arp_input() | ipv4_input() -> icmp_input() | udp_input() -> callbacks
 * Transmit path: icmp/udp/dhcp -> ipv4_output() -> route_get() -> neigh_output() ->
 *                qdisc_enqueue() -> dev->ops->tx_burst()
 * Timers:        net_poll(now): ARP, DHCP, ICMP token bucket, qdisc drain, ping/arping.
 *
 * Calling context: every function runs in the kernel's main loop, never from an
 * interrupt handler, and never re-entrantly (a UDP callback may send, not receive).
 */
#ifndef SKIFF_NET_STACK_H
#define SKIFF_NET_STACK_H

#include <stdint.h>
#include "net/config.h"
#include "net/netdev.h"
#include "net/pkt.h"
#include "net/stats.h"
#include "net/iface.h"
#include "net/neigh.h"
#include "net/route.h"
#include "net/icmp.h"
#include "net/udp.h"
#include "net/dhcp.h"
#include "net/ping.h"
#include "net/arp.h"
#include "net/tcp.h"
#include "net/ipv4.h"

enum net_log_level { NET_LOG_ERR, NET_LOG_WARN, NET_LOG_INFO, NET_LOG_DEBUG };

struct net_config {            /* filled by the kernel from skiff.conf */
	int use_dhcp;              /* 1: DHCP; 0: static addr/prefix/gateway */
	uint32_t addr, gateway;    /* host byte order; with use_dhcp, a static fallback */
	int prefix_len;
	uint16_t mtu;              /* 0: the device's MTU (or 1500) */
	char hostname[64];
	uint64_t (*random)(void *ctx);               /* entropy for xids, IP IDs, ports */
	void (*log)(void *ctx, int level, const char *msg); /* level: 0 err,1 warn,2 info,3 debug */
	/* TCP's control blocks and buffers; both NULL: no TCP (net/transport.h). */
	void *(*mem_alloc)(void *ctx, size_t n);
	void (*mem_free)(void *ctx, void *p);
	void *ctx;
};

struct net_stack {
	struct net_config cfg;
	uint64_t now_ns;                /* last net_poll() time; input paths use it */
	uint64_t rng;                   /* fallback generator when cfg.random is NULL */
	int nifs;
	struct net_if ifs[NET_MAX_IFS];
	struct neigh_table neigh;
	struct route_table routes;
	uint16_t ip_id;                 /* next IPv4 identification (random start) */
	struct ipv4_proto protos[IPV4_MAX_PROTOS];
	struct icmp_state icmp;
	struct udp_table udp;
	struct dhcp_client dhcp;
	struct ping_session ping;
	struct arping_session arping;
	uint64_t mib[MIB_COUNT];        /* nstat counters, enum net_mib */
	uint64_t drops[DROP_COUNT];     /* per-reason drops, enum net_drop_reason */
	int tcp_on;                     /* transport_init() registered TCP */
	struct tcp_stack tcp;
};

/* ---- the kernel's API ------------------------------------------------------------ */

/* Resets s and takes a copy of cfg. Nothing is sent until a device is attached. */
void net_init(struct net_stack *s, const struct net_config *cfg);
/* Frees every packet the stack still holds (qdiscs, neighbour queues). For tests and
 * shutdown; the stack must be net_init()ed again before reuse. */
void net_fini(struct net_stack *s);
/* Up to NET_MAX_IFS devices; the first gets the configured address (static) or the DHCP
 * client. dev->pool must be set: transmit packets are allocated from it.
 * 0, -NET_EINVAL, -NET_EEXIST or -NET_ENOSPC. */
int net_attach(struct net_stack *s, struct netdev *dev);
/* Consumes p (data = Ethernet frame without FCS). Wrap it as a netdev_deliver_fn with
 * ctx = s. */
void net_input(struct net_stack *s, struct netdev *dev, struct pkt *p);
/* Timers and transmit draining; call every main-loop turn with a monotonic clock. */
void net_poll(struct net_stack *s, uint64_t now_ns);
/* Shell: argv[0] is one of ip, ethtool, tc, nstat, ping, arping, dhcp, ss. out() prints one
 * chunk of text; it may also be called later from net_poll() for asynchronous output
 * (ping, arping). Returns 0, or -1 after printing a one-line error. */
int net_cmd(struct net_stack *s, int argc, char **argv,
	    void (*out)(void *ctx, const char *text), void *ctx);

/* The shell command names net_cmd() understands, NULL-terminated (for registration). */
extern const char *const net_cmd_names[];

/* DNS servers learnt from DHCP (for a future resolver): copies up to max, returns count. */
int net_dns_servers(const struct net_stack *s, uint32_t *out, int max);

/* ---- shared by net/ modules ------------------------------------------------------ */

#define NET_INC(s, name) ((s)->mib[MIB_##name]++)
#define NET_ADD(s, name, n) ((s)->mib[MIB_##name] += (n))

/* Frees p and counts it under reason. The one exit of every drop path. */
void net_drop(struct net_stack *s, struct pkt *p, enum net_drop_reason reason);
/* Takes ownership of p (data = L3 packet): adds the Ethernet header, pads to the
 * minimum frame, queues on interface ifi. 0 or negative error (p freed, counted). */
int net_xmit(struct net_stack *s, int ifi, struct pkt *p, const uint8_t *dst_mac, uint16_t type);
/* A transmit packet with all headroom free, from interface ifi's pool (or any). */
struct pkt *net_alloc(struct net_stack *s, int ifi);
uint64_t net_random(struct net_stack *s);
void net_log(struct net_stack *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
