/*
 * Skiff's network stack, assembled: the one header the kernel includes, and the only
 * file of net/ that names every floor (docs/architecture.md draws them). Hardware-free
 * (the host unit tests and the fuzzers run it unchanged); all state lives in struct
 * net_stack, so several stacks can run in one process (the tests connect two back to
 * back).
 *
 * Floors, each using only those below it:
 *   core   net_core: config, clock, counters and drops, log   (core.h, pkt.h, netdev.h)
 *   wire   check/parse/emit of each header                    (*_wire.h, eth.h)
 *   L2     link (interfaces, EtherType demux, qdisc), neigh, arp
 *   L3     route, ipv4 (protocol table), icmp
 *   L4     udp, tcp (through transport.c)
 *   apps   dhcp, ping/arping, the shell commands (cmd*.c), HTTP (on TCP's API)
 * Each floor registers its input with the one below (link_register_type,
 * ipv4_register_proto) and its upcalls as hooks (neigh solicit, ICMP's error report,
 * ping's echo hooks), so no lower floor names a higher one.
 *
 * Receive:  driver -> netdev_napi_poll() -> net_input() -> link_input() -> EtherType ->
 *           arp | ipv4 -> protocol table -> icmp | udp | tcp -> sockets/callbacks
 * Transmit: icmp/udp/tcp -> ipv4_output() -> route_get() -> neigh_output() ->
 *           link_output() -> qdisc_enqueue() -> dev->ops->tx_burst()
 * Timers:   net_poll(now): link state, ARP announcements, neighbours, DHCP, ping,
 *           arping, TCP, then the qdiscs. The floors' polls run only once now reaches
 *           core.wake_ns, a lower bound of every floor's next deadline that each timer
 *           arm lowers (net_core_arm); an idle turn is a compare.
 *
 * Calling context: every function runs in the kernel's main loop, never from an
 * interrupt handler, and never re-entrantly (a UDP callback may send, not receive).
 */
#ifndef SKIFF_NET_STACK_H
#define SKIFF_NET_STACK_H

#include <stdint.h>
#include "net/core.h"
#include "net/netdev.h"
#include "net/link.h"
#include "net/neigh.h"
#include "net/arp.h"
#include "net/route.h"
#include "net/ipv4.h"
#include "net/icmp.h"
#include "net/udp.h"
#include "net/tcp.h"
#include "net/gro.h"
#include "net/dhcp.h"
#include "net/ping.h"
#include "net/capture.h"
#include "net/tracepath.h"

struct net_stack {
	struct net_core core;
	struct net_link link;
	struct neigh_table neigh;
	struct arp arp;
	struct route_table routes;
	struct ipv4 ip;
	struct icmp icmp;
	struct udp udp;
	int tcp_on;                     /* transport_init() registered TCP */
	struct tcp_stack tcp;
	struct gro gro;                 /* TCP receive coalescing within a burst */
	struct dhcp_client dhcp;
	struct ping_session ping;
	struct arping_session arping;
	struct tracepath_session tracepath;
	struct capture cap;             /* tcpdump, /debug/pcap, the serial pcap stream */
};

/* ---- the kernel's API ------------------------------------------------------------ */

/* Resets s, takes a copy of cfg and wires the floors together. Nothing is sent until a
 * device is attached. */
void net_init(struct net_stack *s, const struct net_config *cfg);
/* Frees every packet the stack still holds (qdiscs, neighbour queues, TCP). For tests
 * and shutdown; the stack must be net_init()ed again before reuse. */
void net_fini(struct net_stack *s);
/* Up to NET_MAX_IFS devices; the first gets the configured address (static) or the DHCP
 * client. dev->pool must be set: transmit packets are allocated from it.
 * 0, -NET_EINVAL, -NET_EEXIST or -NET_ENOSPC. */
int net_attach(struct net_stack *s, struct netdev *dev);
/* Consumes p (data = Ethernet frame without FCS). Wrap it as a netdev_deliver_fn with
 * ctx = s. */
void net_input(struct net_stack *s, struct netdev *dev, struct pkt *p);
/* net_input() for a frame of a receive burst (one main-loop turn's NAPI polls): TCP
 * segments may be held and coalesced (net/gro.h) until net_input_flush(), which
 * net_poll() and net_input() call first. */
void net_input_burst(struct net_stack *s, struct netdev *dev, struct pkt *p);
void net_input_flush(struct net_stack *s);
/* Timers and transmit draining; call every main-loop turn with a monotonic clock. */
void net_poll(struct net_stack *s, uint64_t now_ns);
/* When net_poll next needs to run for a timer finer than the loop's tick (TCP: pacing
 * releases, retransmissions, delayed ACKs): a lower bound, never later than due;
 * UINT64_MAX if none. The kernel sleeps until then instead of the next tick. */
uint64_t net_next_wake(const struct net_stack *s);
/* The earliest time some floor's poll has work (each floor's *_next_ns; 0: at once):
 * what net_poll rebuilds core.wake_ns from, which must never be later (tests check). */
uint64_t net_next_due(const struct net_stack *s);
/* The shell commands (net_cmd) are in net/cmd.h, on the floor above. */

/* DNS servers learnt from DHCP (for a future resolver): copies up to max, returns count. */
int net_dns_servers(const struct net_stack *s, uint32_t *out, int max);

#endif
