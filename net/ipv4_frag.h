/*
 * IPv4 fragments: reassembly of what arrives (RFC 791 §3.2, RFC 815) and fragmentation
 * of what we send (RFC 791 §2.3). Part of the IPv4 module (ipv4.c calls it; it knows no
 * other protocol).
 *
 * Reassembly holds each datagram in progress in one buffer of the reassembly pool
 * (net_config.reasm_pool), copying every fragment to its offset on arrival and freeing
 * the fragment's receive buffer at once, so a flood of fragments never pins the NIC's
 * receive slots. Bounds: IPV4_REASM_MAX datagrams (IPV4_REASM_PER_SRC per source),
 * IPV4_REASM_MAX_FRAGS pieces each, 65535 bytes in all, IPV4_REASM_TIMEOUT_NS. A full
 * table gives up its oldest datagram (the same source's oldest when that source is at
 * its cap), so a storm of incomplete datagrams never keeps a clean one out.
 * Anomalies, each a counted drop: empty piece, a non-final piece not a multiple of 8,
 * a piece past the known end, two different ends -> DropIpFragBadLen (whole datagram);
 * an exact duplicate -> DropIpFragDup (that piece only); any other overlap ->
 * DropIpFragOverlap, the whole datagram, as Linux does since FragmentSmack and RFC 5722
 * asks for IPv6; a first piece without the transport header (8 bytes, 20 for TCP) or
 * a TCP piece at offset 8 (RFC 1858 §3-4) -> DropIpFragTiny; over 65535 bytes (ping of
 * death) -> DropIpFragTooBig. Fragments are told apart by (src, dst, id, protocol), so
 * a piece with another protocol is another datagram (RFC 791).
 */
#ifndef SKIFF_NET_IPV4_FRAG_H
#define SKIFF_NET_IPV4_FRAG_H

#include <stdint.h>
#include "net/config.h"
#include "net/ipv4_wire.h"
#include "net/pkt.h"

struct ipv4;
struct ipv4_rx;

struct reasm_range {
	uint32_t start, end;            /* payload bytes [start, end) */
};

struct reasm_dgram {
	uint8_t used;
	uint8_t proto;
	uint8_t ifi;
	uint8_t have_first;             /* the offset-0 piece arrived: hdr is valid */
	uint8_t hdr_len;
	uint8_t l2_bcast, ip_bcast;     /* the first piece's: no ICMP error about it then */
	uint16_t id;
	uint16_t nranges;
	uint32_t src, dst;
	uint32_t total;                 /* payload length once the last piece came, else 0 */
	uint32_t have;                  /* payload bytes held */
	uint32_t maxend;                /* highest payload end held */
	uint64_t created_ns;
	struct pkt *buf;                /* payload at offset 0 of its data area */
	uint8_t hdr[IPV4_HDR_MAX];      /* the first piece's header */
	struct reasm_range r[IPV4_REASM_MAX_FRAGS];
};

struct ipv4_reasm {
	struct pkt_pool *pool;          /* NULL: no reassembly, fragments are dropped */
	struct reasm_dgram d[IPV4_REASM_MAX];
	uint32_t nused;                 /* slots with used set */
};

/* Consumes p, a fragment (data = IP header, trimmed to its total length; rx parsed).
 * Returns the whole datagram when p completed one (data = its IP header, as if it had
 * arrived unfragmented; rx->ip updated), else NULL. */
struct pkt *ipv4_reasm_input(struct ipv4 *ip, struct pkt *p, struct ipv4_rx *rx);
/* Gives up datagrams past their time (ICMP time exceeded, code 1, when their first
 * piece arrived: RFC 792, RFC 1122 §3.3.2). From net_poll(). */
void ipv4_reasm_poll(struct ipv4 *ip);
/* When ipv4_reasm_poll next times a datagram out, UINT64_MAX if none is held. */
uint64_t ipv4_reasm_next_ns(const struct ipv4 *ip);
/* Drops every datagram in progress (net_fini). */
void ipv4_reasm_flush(struct ipv4 *ip);
/* Sends p (data = transport header + payload, larger than the MTU allows) as
 * fragments of at most mtu bytes each, with header fields from h. Takes p. */
int ipv4_fragment(struct ipv4 *ip, int ifi, struct pkt *p, const struct ipv4_hdr *h,
		  uint32_t nexthop, uint16_t mtu);

#endif
