/*
 * IPv4 input and output (ipv4.h). RFC 791, RFC 1122 §3.2.1 and §3.3.
 *
 * Input ladder, each step a counted drop (Linux ip_rcv_core, ip_rcv_finish,
 * ip_local_deliver):
 *   1. ipv4_check: header present, version 4, 5 <= IHL, IHL*4 <= total length <= frame,
 *      header checksum                        -> IpInHdrErrors / IpExtInTruncatedPkts
 *   2. trim link padding to the total length
 *   3. options: a bounded TLV walk; malformed or source-routed datagrams are dropped
 *   4. source: never broadcast, multicast, loopback, 0/8, 240/4, our own or our subnet
 *      broadcast (RFC 1122 §3.2.1.3)                                  -> IpInAddrErrors
 *   5. destination "for us": one of our unicast addresses (weak host model), the
 *      limited broadcast or a subnet broadcast; an IP unicast inside a link broadcast is
 *      refused (§3.3.6); while DHCP runs on an unaddressed interface, UDP to port 68 is
 *      also ours. Everything else is dropped: we never forward.      -> IpInAddrErrors
 *   6. fragments: NOT reassembled. Every fragment is dropped and counted (IpReasmReqds,
 *      IpReasmFails, DropIpFragment); a host whose MTU covers its traffic does not need
 *      reassembly, and not having it removes a whole class of bugs (docs/hardening.md #6).
 *   7. protocol: ICMP, UDP, or a registered one (unicast only: a registered protocol
 *      never sees an IP broadcast); else ICMP protocol unreachable.
 * Output: route, source address, 20-byte header (no options, DF as asked: TCP sets it
 * for path MTU discovery, RFC 1191 §3; ID from a
 * counter with a random start), MTU check (we never fragment), neighbour resolution.
 */
#include "net/stack.h"
#include "net/ipv4.h"
#include "net/icmp_wire.h"
#include "net/udp_wire.h"
#include "net/dhcp_wire.h"
#include "net/inet.h"
#include "net/err.h"

int ipv4_is_local(const struct net_stack *s, uint32_t addr)
{
	for (int i = 0; i < s->nifs; i++)
		if (s->ifs[i].addr && s->ifs[i].addr == addr)
			return 1;
	return 0;
}

int ipv4_is_bcast(const struct net_stack *s, int ifi, uint32_t addr)
{
	if (addr == INET_BCAST)
		return 1;
	const struct net_if *ifc = &s->ifs[ifi];
	return ifc->addr && ifc->prefix_len < 31 && addr == iface_bcast(ifc);
}

int ipv4_register_proto(struct net_stack *s, uint8_t proto, ipv4_proto_fn input,
			ipv4_proto_err_fn error, void *ctx)
{
	if (proto == IPV4_PROTO_ICMP || proto == IPV4_PROTO_UDP || !proto || !input)
		return -NET_EEXIST;
	struct ipv4_proto *slot = NULL;
	for (int i = 0; i < IPV4_MAX_PROTOS; i++) {
		if (s->protos[i].proto == proto)
			return -NET_EEXIST;
		if (!s->protos[i].proto && !slot)
			slot = &s->protos[i];
	}
	if (!slot)
		return -NET_ENOSPC;
	*slot = (struct ipv4_proto){ proto, input, error, ctx };
	return 0;
}

static void hdr_error(struct net_stack *s, struct pkt *p, enum wire_err err)
{
	enum net_drop_reason why = DROP_IP_TRUNCATED;
	switch (err) {
	case WIRE_BAD_VERSION: why = DROP_IP_VERSION; break;
	case WIRE_BAD_HDR_LEN: why = DROP_IP_HDR_LEN; break;
	case WIRE_BAD_LEN: why = DROP_IP_TOT_LEN; break;
	case WIRE_BAD_CSUM: why = DROP_IP_CSUM; NET_INC(s, IpExtInCsumErrors); break;
	default: break;
	}
	/* Linux counts a total length beyond the frame as truncated, not a header error. */
	if (err == WIRE_BAD_LEN && wire_get16(pkt_data(p) + 2) > p->len)
		NET_INC(s, IpExtInTruncatedPkts);
	else
		NET_INC(s, IpInHdrErrors);
	net_drop(s, p, why);
}

/* Step 3. Returns 0 to go on. */
static int options_drop(struct net_stack *s, struct pkt *p, const struct ipv4_hdr *h)
{
	int srcroute;
	if (h->hdr_len == IPV4_HDR_MIN)
		return 0;
	if (ipv4_options_check(pkt_data(p) + IPV4_HDR_MIN, h->hdr_len - IPV4_HDR_MIN, &srcroute)) {
		NET_INC(s, IpInHdrErrors);
		net_drop(s, p, DROP_IP_BAD_OPTIONS);
		return 1;
	}
	if (srcroute) {
		NET_INC(s, IpInDiscards);
		net_drop(s, p, DROP_IP_SRCROUTE);
		return 1;
	}
	return 0;
}

/* UDP to the DHCP client port while the interface waits for a lease: a server may
 * unicast the OFFER/ACK to the address it offers (RFC 2131 §4.1), not yet ours. */
static int dhcp_bootstrap(const struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx)
{
	const uint8_t *d = pkt_data(p) + rx->ip.hdr_len;
	int acquiring = s->dhcp.state == DHCP_INIT || s->dhcp.state == DHCP_SELECTING ||
			s->dhcp.state == DHCP_REQUESTING;
	return acquiring && s->dhcp.ifi == rx->ifi &&
	       rx->ip.proto == IPV4_PROTO_UDP && p->len >= rx->ip.hdr_len + UDP_HDR_LEN &&
	       wire_get16(d + 2) == DHCP_CLIENT_PORT;
}

/* Steps 4 and 5. Returns the drop reason, or DROP_COUNT to accept. */
static enum net_drop_reason addr_check(struct net_stack *s, struct pkt *p, struct ipv4_rx *rx)
{
	uint32_t src = rx->ip.src, dst = rx->ip.dst;
	if (inet_is_martian_src(src) || ipv4_is_local(s, src) || ipv4_is_bcast(s, rx->ifi, src))
		return DROP_IP_MARTIAN_SRC;
	rx->ip_bcast = (uint8_t)ipv4_is_bcast(s, rx->ifi, dst);
	if (rx->ip_bcast) {
		NET_INC(s, IpExtInBcastPkts);
		return DROP_COUNT;
	}
	if (dhcp_bootstrap(s, p, rx))
		return DROP_COUNT;
	if (rx->l2_bcast)
		return DROP_IP_L2_BCAST_UNICAST;
	if (ipv4_is_local(s, dst))
		return DROP_COUNT;
	return DROP_IP_NOT_FOR_US;
}

static void deliver(struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx)
{
	if (rx->ip.proto == IPV4_PROTO_ICMP) {
		NET_INC(s, IpInDelivers);
		icmp_input(s, p, rx);
		return;
	}
	if (rx->ip.proto == IPV4_PROTO_UDP) {
		NET_INC(s, IpInDelivers);
		udp_input(s, p, rx);
		return;
	}
	for (int i = 0; i < IPV4_MAX_PROTOS; i++) {
		/* A free slot has proto 0, which is also a real protocol number (HOPOPT). */
		if (s->protos[i].input && s->protos[i].proto == rx->ip.proto) {
			/* Registered protocols are connection-oriented (TCP): never a broadcast
			 * (RFC 1122 §4.2.3.10). Only we know the subnet broadcasts; TCP can
			 * filter 255.255.255.255 but would answer 10.0.0.255 from it. */
			if (rx->ip_bcast) {
				net_drop(s, p, DROP_IP_BCAST_PROTO);
				return;
			}
			NET_INC(s, IpInDelivers);
			s->protos[i].input(s->protos[i].ctx, s, p, rx);
			return;
		}
	}
	NET_INC(s, IpInUnknownProtos);
	icmp_send_error(s, pkt_data(p) - rx->ip.hdr_len, p->len + (size_t)rx->ip.hdr_len, rx,
			ICMP_DEST_UNREACH, ICMP_PROT_UNREACH);
	net_drop(s, p, DROP_IP_UNKNOWN_PROTO);
}

void ipv4_input(struct net_stack *s, int ifi, struct pkt *p, int l2_bcast)
{
	NET_INC(s, IpInReceives);
	enum wire_err err = ipv4_check(pkt_data(p), p->len);
	if (err) {
		hdr_error(s, p, err);
		return;
	}
	struct ipv4_rx rx = { .ifi = (uint8_t)ifi, .l2_bcast = (uint8_t)l2_bcast, .ts_ns = p->ts_ns };
	ipv4_parse(pkt_data(p), &rx.ip);
	pkt_trim(p, rx.ip.tot_len);
	NET_ADD(s, IpExtInOctets, p->len);
	if (options_drop(s, p, &rx.ip))
		return;
	enum net_drop_reason why = addr_check(s, p, &rx);
	if (why != DROP_COUNT) {
		NET_INC(s, IpInAddrErrors);
		net_drop(s, p, why);
		return;
	}
	if (ipv4_is_fragment(&rx.ip)) {
		NET_INC(s, IpReasmReqds);
		NET_INC(s, IpReasmFails);
		net_drop(s, p, DROP_IP_FRAGMENT);
		return;
	}
	pkt_pull(p, rx.ip.hdr_len);
	deliver(s, p, &rx);
}

/* Adds the header and hands the datagram to the link. nexthop 0 = link broadcast. */
static int ip_send(struct net_stack *s, int ifi, struct pkt *p, uint32_t src, uint32_t dst,
		   const struct ipv4_out *o, uint32_t nexthop)
{
	NET_INC(s, IpOutRequests);
	if (p->len + IPV4_HDR_MIN > s->ifs[ifi].mtu) {
		NET_INC(s, IpFragFails);
		net_drop(s, p, DROP_IP_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	uint8_t *h = pkt_push(p, IPV4_HDR_MIN);
	if (!h) {
		NET_INC(s, IpOutDiscards);
		net_drop(s, p, DROP_TX_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	struct ipv4_hdr ih = { .hdr_len = IPV4_HDR_MIN, .tos = o->tos, .tot_len = p->len,
			       .id = s->ip_id++, .frag = o->df ? IPV4_DF : 0, .ttl = o->ttl,
			       .proto = o->proto, .src = src, .dst = dst };
	ipv4_emit(&ih, h);
	NET_ADD(s, IpExtOutOctets, p->len);
	if (!nexthop) {
		NET_INC(s, IpExtOutBcastPkts);
		return net_xmit(s, ifi, p, eth_broadcast, ETH_P_IP);
	}
	return neigh_output(s, ifi, nexthop, p);
}

int ipv4_output(struct net_stack *s, struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint8_t ttl)
{
	struct ipv4_out o = { .proto = proto, .ttl = ttl };
	return ipv4_output_ext(s, p, src, dst, &o);
}

int ipv4_output_ext(struct net_stack *s, struct pkt *p, uint32_t src, uint32_t dst,
		    const struct ipv4_out *o)
{
	struct route_result rt;
	/* No loopback device: datagrams to our own addresses have nowhere to go. */
	if (route_get(s, dst, &rt) < 0 || rt.type == RTN_LOCAL) {
		NET_INC(s, IpOutNoRoutes);
		net_drop(s, p, DROP_IP_NO_ROUTE);
		return -NET_ENETUNREACH;
	}
	return ip_send(s, rt.ifi, p, src ? src : rt.src, dst, o,
		       rt.type == RTN_BROADCAST ? 0 : rt.nexthop);
}

int ipv4_output_bcast(struct net_stack *s, int ifi, struct pkt *p, uint32_t src, uint8_t proto)
{
	struct ipv4_out o = { .proto = proto, .ttl = NET_DEFAULT_TTL };
	return ip_send(s, ifi, p, src, INET_BCAST, &o, 0);
}
