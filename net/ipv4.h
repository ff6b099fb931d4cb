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

struct net_stack;

/* What the transport layers learn about a received datagram. */
struct ipv4_rx {
	struct ipv4_hdr ip;
	uint8_t ifi;
	uint8_t l2_bcast;       /* Ethernet destination was broadcast or multicast */
	uint8_t ip_bcast;       /* IP destination was limited or subnet broadcast */
	uint64_t ts_ns;         /* receive time (driver's, or the stack's clock) */
};

/* A transport protocol added from outside net/'s own (e.g. TCP). input consumes p
 * (data = transport header, length = IP payload); it sees unicast datagrams only (IP
 * broadcasts are dropped as DropIpBcastProto). error (may be NULL) hears ICMP errors
 * whose quoted datagram is of this protocol and came from one of our addresses:
 * quoted_ip is that datagram as quoted (at least a whole IP header + 8 bytes). */
typedef void (*ipv4_proto_fn)(void *ctx, struct net_stack *s, struct pkt *p,
			      const struct ipv4_rx *rx);
typedef void (*ipv4_proto_err_fn)(void *ctx, struct net_stack *s, uint8_t type, uint8_t code,
				  uint16_t next_mtu, const uint8_t *quoted_ip, size_t len);

struct ipv4_proto {
	uint8_t proto;          /* 0: free slot */
	ipv4_proto_fn input;
	ipv4_proto_err_fn error;
	void *ctx;
};

/* 0, -NET_EEXIST (ICMP, UDP or already registered) or -NET_ENOSPC. */
int ipv4_register_proto(struct net_stack *s, uint8_t proto, ipv4_proto_fn input,
			ipv4_proto_err_fn error, void *ctx);

/* Consumes p (data = IP header, link padding not yet trimmed). */
void ipv4_input(struct net_stack *s, int ifi, struct pkt *p, int l2_bcast);
/* Takes ownership of p (data = transport header + payload). src 0 = the route's source
 * address. Routes, adds the IP header, resolves the next hop, queues for transmit.
 * 0 or negative error (p freed and counted). */
int ipv4_output(struct net_stack *s, struct pkt *p, uint32_t src, uint32_t dst,
		uint8_t proto, uint8_t ttl);
/* Header fields a transport may choose (TCP: DF for path MTU discovery, its TOS). */
struct ipv4_out {
	uint8_t proto, ttl, tos, df;
};
/* ipv4_output() with those fields. */
int ipv4_output_ext(struct net_stack *s, struct pkt *p, uint32_t src, uint32_t dst,
		    const struct ipv4_out *o);
/* Limited broadcast on interface ifi without routing (DHCP while we have no address). */
int ipv4_output_bcast(struct net_stack *s, int ifi, struct pkt *p, uint32_t src, uint8_t proto);
/* 1 if addr is one of our interface addresses. */
int ipv4_is_local(const struct net_stack *s, uint32_t addr);
/* 1 if addr is the limited broadcast or the subnet broadcast of interface ifi. */
int ipv4_is_bcast(const struct net_stack *s, int ifi, uint32_t addr);

#endif
