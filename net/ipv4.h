/*
 * IPv4 input and output (RFC 791, RFC 1122 §3.3). Host only: datagrams not for us are
 * dropped and counted, never forwarded.
 */
#ifndef SKIFF_NET_IPV4_H
#define SKIFF_NET_IPV4_H

#include <stddef.h>
#include <stdint.h>
#include "net/pkt.h"
#include "net/ipv4_wire.h"
#include "net/config.h"
#include "net/ipv4_frag.h"
#include "net/dst.h"

struct net_core;
struct net_link;
struct neigh_table;
struct route_table;
struct arp;

/* What the transport layers learn about a received datagram. */
struct ipv4_rx {
	struct ipv4_hdr ip;
	uint8_t ifi;
	uint8_t l2_bcast;       /* Ethernet destination was broadcast or multicast */
	uint8_t ip_bcast;       /* IP destination was limited or subnet broadcast */
	uint64_t ts_ns;         /* receive time (driver's, or the stack's clock) */
};

/* A protocol above IP (ICMP, UDP, TCP) registers an input and an error handler. input
 * consumes p (data = transport header, length = IP payload); without IPV4_PROTO_F_BCAST
 * it sees unicast datagrams only (IP broadcasts are dropped as DropIpBcastProto). error
 * (may be NULL) hears ICMP errors whose quoted datagram is of this protocol and came from
 * one of our addresses: quoted_ip is that datagram as quoted (at least a whole IP header
 * + 8 bytes). */
typedef void (*ipv4_proto_fn)(void *ctx, struct pkt *p, const struct ipv4_rx *rx);
/* An ICMP error quoting one of the protocol's datagrams (quoted_ip: len bytes from its
 * IP header on; next_mtu from "fragmentation needed", else 0). The reporting router's
 * address is in ipv4.err_from during the call (tracepath wants it). */
typedef void (*ipv4_proto_err_fn)(void *ctx, uint8_t type, uint8_t code, uint16_t next_mtu,
				  const uint8_t *quoted_ip, size_t len);

/* Path MTUs learnt from ICMP "fragmentation needed" (RFC 1191 §6.3), shown by
 * `ip route show cache`; entries expire after IPV4_PMTU_EXPIRES_NS (Linux mtu_expires). */
#define IPV4_PMTU_MAX 16
#define IPV4_PMTU_EXPIRES_NS (600ull * 1000000000ull)
struct ipv4_pmtu {
	uint32_t dst;           /* 0: free */
	uint32_t from;          /* the router that reported it */
	uint16_t mtu;
	uint64_t learned_ns;
};
/* Asks for an ICMP error about a received datagram (dgram: len bytes from its IP header);
 * ICMP sets it and applies RFC 1122's rules of when not to send one. */
typedef int (*ipv4_report_fn)(void *ctx, const uint8_t *dgram, size_t len,
			      const struct ipv4_rx *rx, uint8_t type, uint8_t code);

#define IPV4_PROTO_F_BCAST 1    /* the protocol takes IP broadcasts (datagrams only) */

struct ipv4_proto {
	uint8_t proto;          /* 0: free slot */
	uint8_t flags;          /* IPV4_PROTO_F_* */
	ipv4_proto_fn input;
	ipv4_proto_err_fn error;
	void *ctx;
};

struct ipv4 {
	struct net_core *core;
	struct net_link *link;
	struct neigh_table *neigh;
	struct route_table *routes;
	struct arp *arp;                /* address announcements */
	uint64_t ident_key;             /* keys the IP ID bucket (next_id in ipv4.c) */
	uint16_t idents[IPV4_IDENTS];   /* IP ID counters, random starts */
	uint64_t id_last_key;           /* next_id's last key and its bucket */
	uint16_t id_last_bucket;
	uint16_t bootstrap_port[NET_MAX_IFS];   /* see ipv4_set_bootstrap */
	struct ipv4_proto protos[IPV4_MAX_PROTOS];
	/* Protocol number -> protos[] index + 1 (0: none): input finds its handler in
	 * one load instead of walking the slots (Linux inet_protos[] is indexed alike). */
	uint8_t proto_slot[256];
	ipv4_report_fn report;
	void *report_ctx;
	struct ipv4_reasm reasm;        /* ipv4_frag.c */
	struct ipv4_pmtu pmtu[IPV4_PMTU_MAX];
	uint32_t err_from;              /* source of the ICMP error being dispatched */
	struct net_dst dst_last;        /* the last connection cache filled (ipv4_output_dst) */
};

/* Registers EtherType 0x0800 with the link (input: the ladder in ipv4.c) and the
 * gateway-keeping hook with neigh. */
void ipv4_init(struct ipv4 *ip, struct net_link *link, struct neigh_table *neigh,
	       struct route_table *routes, struct arp *arp);
/* 0, or -NET_EEXIST (proto 0 or taken), -NET_ENOSPC. flags: IPV4_PROTO_F_*. */
int ipv4_register_proto(struct ipv4 *ip, uint8_t proto, int flags, ipv4_proto_fn input,
			ipv4_proto_err_fn error, void *ctx);
void ipv4_set_error_report(struct ipv4 *ip, ipv4_report_fn fn, void *ctx);
/* The learnt path MTU towards dst, 0 if none (or expired). */
uint16_t ipv4_pmtu_get(struct ipv4 *ip, uint32_t dst);
/* Hands an ICMP error about one of proto's datagrams to that protocol. */
void ipv4_proto_error(struct ipv4 *ip, uint8_t proto, uint8_t type, uint8_t code,
		      uint16_t next_mtu, const uint8_t *quoted_ip, size_t len);
/* While udp_port is nonzero, UDP to it on interface ifi is ours whatever its destination
 * address (DHCP before it has a lease, RFC 2131 §4.1). */
void ipv4_set_bootstrap(struct ipv4 *ip, int ifi, uint16_t udp_port);
/* Interface addresses: each brings its connected route and ARP announcements. */
void ipv4_set_addr(struct ipv4 *ip, int ifi, uint32_t addr, int prefix_len, int origin,
		   uint64_t valid_until_ns);
void ipv4_clear_addr(struct ipv4 *ip, int ifi);
/* Reassembly timeouts; from net_poll(). */
void ipv4_poll(struct ipv4 *ip);
/* Inside the IPv4 module (ipv4_frag.c): a finished datagram to the link. */
int ipv4_xmit(struct ipv4 *ip, int ifi, struct pkt *p, uint32_t nexthop);
/* Takes ownership of p (data = transport header + payload). src 0 = the route's source
 * address. Routes, adds the IP header, resolves the next hop, queues for transmit.
 * 0 or negative error (p freed and counted). */
int ipv4_output(struct ipv4 *ip, struct pkt *p, uint32_t src, uint32_t dst,
		uint8_t proto, uint8_t ttl);
/* Header fields a transport may choose (TCP: DF for path MTU discovery, its TOS). */
struct ipv4_out {
	uint8_t proto, ttl, tos, df;
};
/* ipv4_output() with those fields. */
int ipv4_output_ext(struct ipv4 *ip, struct pkt *p, uint32_t src, uint32_t dst,
		    const struct ipv4_out *o);
/* ipv4_output_ext through a connection's cached route, neighbour and headers (d, see
 * net/dst.h; zeroed = empty): the same datagram, counters and drops, with the lookups
 * and the header build skipped while d is valid; refilled when it is not. */
int ipv4_output_dst(struct ipv4 *ip, struct net_dst *d, struct pkt *p, uint32_t src,
		    uint32_t dst, const struct ipv4_out *o);
/* Limited broadcast on interface ifi without routing (DHCP while we have no address). */
int ipv4_output_bcast(struct ipv4 *ip, int ifi, struct pkt *p, uint32_t src, uint8_t proto);
/* 1 if addr is one of our interface addresses. */
int ipv4_is_local(const struct ipv4 *ip, uint32_t addr);
/* 1 if addr is the limited broadcast or the subnet broadcast of interface ifi. */
int ipv4_is_bcast(const struct ipv4 *ip, int ifi, uint32_t addr);

#endif
