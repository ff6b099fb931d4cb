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
 *   6. fragments: reassembled with hard limits (ipv4_frag.c; docs/hardening.md #6); the
 *      whole datagram continues from here as if it had arrived in one piece.
 *   7. protocol: the handler registered for it (ICMP, UDP and TCP all attach through
 *      ipv4_register_proto, as Linux's inet_protos); only those registered with
 *      IPV4_PROTO_F_BCAST see an IP broadcast. None: protocol unreachable, reported
 *      through the error hook ICMP sets (ipv4_set_error_report).
 * Output: route, source address, 20-byte header (no options, DF as asked: TCP sets it
 * for path MTU discovery, RFC 1191 §3; ID from a per-destination counter, RFC 7739, one
 * per wire datagram, a super-segment's pieces included),
 * fragments when over the MTU without DF (RFC 791 §2.3), neighbour resolution.
 * A connection's datagrams may go through its cached path instead (ipv4_output_dst,
 * net/dst.h): the same route, header and neighbour, looked up once while valid.
 */
#include "net/ipv4.h"
#include "net/link.h"
#include "net/neigh.h"
#include "net/route.h"
#include "net/arp.h"
#include "net/udp_wire.h"
#include "net/tcp_wire.h"
#include "net/icmp_wire.h"
#include "net/eth.h"
#include "net/inet.h"
#include "net/ipv4_frag.h"
#include "net/gso.h"
#include "net/err.h"
#include "net/checksum.h"
#include "lib/string.h"

static void ipv4_input(void *ctx, int ifi, struct pkt *p, int l2_bcast);
static unsigned id_bucket(const struct ipv4 *ip, uint64_t key);

static int keep_gateway(void *ctx, uint32_t addr)
{
	return route_is_gateway(ctx, addr);
}

void ipv4_init(struct ipv4 *ip, struct net_link *link, struct neigh_table *neigh,
	       struct route_table *routes, struct arp *arp)
{
	memset(ip, 0, sizeof(*ip));
	ip->core = link->core;
	ip->link = link;
	ip->neigh = neigh;
	ip->routes = routes;
	ip->arp = arp;
	ip->ident_key = net_random(ip->core);
	for (int i = 0; i < IPV4_IDENTS; i++)
		ip->idents[i] = (uint16_t)net_random(ip->core);
	ip->id_last_key = 0;
	ip->id_last_bucket = (uint16_t)id_bucket(ip, 0);
	ip->reasm.pool = ip->core->cfg.reasm_pool;
	neigh->keep = keep_gateway;
	neigh->keep_ctx = routes;
	link_register_type(link, ETH_P_IP, ipv4_input, ip);
}

void ipv4_poll(struct ipv4 *ip)
{
	ipv4_reasm_poll(ip);
}

void ipv4_set_error_report(struct ipv4 *ip, ipv4_report_fn fn, void *ctx)
{
	ip->report = fn;
	ip->report_ctx = ctx;
}

/* An address brings its connected route ("proto kernel scope link", as Linux adds in
 * fib_add_ifaddr) and announcements (arp.c). */
void ipv4_clear_addr(struct ipv4 *ip, int ifi)
{
	struct net_if *ifc = &ip->link->ifs[ifi];
	route_flush(ip->routes, ifi, -1);
	ip->link->gen++;
	ifc->addr = 0;
	ifc->prefix_len = 0;
	ifc->origin = IFACE_ADDR_NONE;
	ifc->valid_until_ns = 0;
	ip->arp->announce_left[ifi] = 0;
}

void ipv4_set_addr(struct ipv4 *ip, int ifi, uint32_t addr, int prefix_len, int origin,
		   uint64_t valid_until_ns)
{
	struct net_if *ifc = &ip->link->ifs[ifi];
	if (ifc->addr != addr || ifc->prefix_len != prefix_len) {
		ipv4_clear_addr(ip, ifi);
		ip->link->gen++;
		ifc->addr = addr;
		ifc->prefix_len = (uint8_t)prefix_len;
		if (prefix_len < 32) {
			struct route r = { .dst = addr, .prefix_len = (uint8_t)prefix_len,
					   .ifi = (uint8_t)ifi, .proto = RTPROT_KERNEL, .prefsrc = addr };
			route_add(ip->routes, &r);
		}
		arp_announce_start(ip->arp, ifi);
	}
	/* Same address again (a renewed lease): only its origin and lifetime change. */
	ifc->origin = (uint8_t)origin;
	ifc->valid_until_ns = valid_until_ns;
}

int ipv4_is_local(const struct ipv4 *ip, uint32_t addr)
{
	return link_is_local(ip->link, addr);
}

int ipv4_is_bcast(const struct ipv4 *ip, int ifi, uint32_t addr)
{
	return link_is_bcast(ip->link, ifi, addr);
}

int ipv4_register_proto(struct ipv4 *ip, uint8_t proto, int flags, ipv4_proto_fn input,
			ipv4_proto_err_fn error, void *ctx)
{
	if (!proto || !input)
		return -NET_EEXIST;
	struct ipv4_proto *slot = NULL;
	for (int i = 0; i < IPV4_MAX_PROTOS; i++) {
		if (ip->protos[i].proto == proto)
			return -NET_EEXIST;
		if (!ip->protos[i].proto && !slot)
			slot = &ip->protos[i];
	}
	if (!slot)
		return -NET_ENOSPC;
	*slot = (struct ipv4_proto){ proto, (uint8_t)flags, input, error, ctx };
	ip->proto_slot[proto] = (uint8_t)(slot - ip->protos + 1);
	return 0;
}

static void hdr_error(struct ipv4 *ip, struct pkt *p, enum wire_err err)
{
	enum net_drop_reason why = DROP_IP_TRUNCATED;
	switch (err) {
	case WIRE_BAD_VERSION: why = DROP_IP_VERSION; break;
	case WIRE_BAD_HDR_LEN: why = DROP_IP_HDR_LEN; break;
	case WIRE_BAD_LEN: why = DROP_IP_TOT_LEN; break;
	case WIRE_BAD_CSUM: why = DROP_IP_CSUM; NET_INC(ip->core, IpExtInCsumErrors); break;
	default: break;
	}
	/* Linux counts a total length beyond the frame as truncated, not a header error. */
	if (err == WIRE_BAD_LEN && wire_get16(pkt_data(p) + 2) > p->len)
		NET_INC(ip->core, IpExtInTruncatedPkts);
	else
		NET_INC(ip->core, IpInHdrErrors);
	net_drop(ip->core, p, why);
}

/* Step 3. Returns 0 to go on. */
static int options_drop(struct ipv4 *ip, struct pkt *p, const struct ipv4_hdr *h)
{
	int srcroute;
	if (h->hdr_len == IPV4_HDR_MIN)
		return 0;
	if (ipv4_options_check(pkt_data(p) + IPV4_HDR_MIN, h->hdr_len - IPV4_HDR_MIN, &srcroute)) {
		NET_INC(ip->core, IpInHdrErrors);
		net_drop(ip->core, p, DROP_IP_BAD_OPTIONS);
		return 1;
	}
	if (srcroute) {
		NET_INC(ip->core, IpInDiscards);
		net_drop(ip->core, p, DROP_IP_SRCROUTE);
		return 1;
	}
	return 0;
}

/* UDP to the bootstrap port (DHCP's client port, set while it waits for a lease): a
 * server may unicast the OFFER/ACK to the address it offers (RFC 2131 §4.1), not yet
 * ours. */
static int bootstrap(const struct ipv4 *ip, struct pkt *p, const struct ipv4_rx *rx)
{
	const uint8_t *d = pkt_data(p) + rx->ip.hdr_len;
	uint16_t port = ip->bootstrap_port[rx->ifi];
	/* Only a datagram's first piece carries the UDP header (a later fragment's bytes at
	 * that place are data). */
	return port && rx->ip.proto == IPV4_PROTO_UDP && ipv4_frag_offset(&rx->ip) == 0 &&
	       p->len >= (uint32_t)rx->ip.hdr_len + UDP_HDR_LEN && wire_get16(d + 2) == port;
}

void ipv4_set_bootstrap(struct ipv4 *ip, int ifi, uint16_t udp_port)
{
	ip->bootstrap_port[ifi] = udp_port;
}

/* Steps 4 and 5. Returns the drop reason, or DROP_COUNT to accept. */
static enum net_drop_reason addr_check(struct ipv4 *ip, struct pkt *p, struct ipv4_rx *rx)
{
	uint32_t src = rx->ip.src, dst = rx->ip.dst;
	if (inet_is_martian_src(src) || ipv4_is_local(ip, src) || ipv4_is_bcast(ip, rx->ifi, src))
		return DROP_IP_MARTIAN_SRC;
	rx->ip_bcast = (uint8_t)ipv4_is_bcast(ip, rx->ifi, dst);
	if (rx->ip_bcast) {
		NET_INC(ip->core, IpExtInBcastPkts);
		return DROP_COUNT;
	}
	if (bootstrap(ip, p, rx))
		return DROP_COUNT;
	if (rx->l2_bcast)
		return DROP_IP_L2_BCAST_UNICAST;
	if (ipv4_is_local(ip, dst))
		return DROP_COUNT;
	return DROP_IP_NOT_FOR_US;
}

/* Tracing: the datagram reached us; TCP and UDP ports for the record. */
static uint32_t trace_l4(struct ipv4 *ip, struct pkt *p, const struct ipv4_rx *rx)
{
	const uint8_t *d = pkt_data(p);
	NET_TRACE(ip->core, p, TL_IP, TE_IP_LOCAL, rx->ip.proto, p->len);
	if ((rx->ip.proto == 6 || rx->ip.proto == 17) && p->len >= 4)
		NET_TRACE(ip->core, p, rx->ip.proto == 6 ? TL_TCP : TL_UDP, TE_L4,
			  (uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3], rx->ip.src);
	return p->trace_id;
}

static void deliver(struct ipv4 *ip, struct pkt *p, const struct ipv4_rx *rx)
{
	unsigned slot = ip->proto_slot[rx->ip.proto];
	if (__builtin_expect(!slot, 0)) {
		NET_INC(ip->core, IpInUnknownProtos);
		if (ip->report)
			ip->report(ip->report_ctx, pkt_data(p) - rx->ip.hdr_len,
				   p->len + (size_t)rx->ip.hdr_len, rx, ICMP_DEST_UNREACH,
				   ICMP_PROT_UNREACH);
		net_drop(ip->core, p, DROP_IP_UNKNOWN_PROTO);
		return;
	}
	const struct ipv4_proto *pr = &ip->protos[slot - 1];
	/* Connection-oriented protocols (TCP) never see a broadcast (RFC 1122 §4.2.3.10).
	 * Only we know the subnet broadcasts; TCP can filter 255.255.255.255 but would
	 * answer 10.0.0.255 from it. */
	if (rx->ip_bcast && !(pr->flags & IPV4_PROTO_F_BCAST)) {
		net_drop(ip->core, p, DROP_IP_BCAST_PROTO);
		return;
	}
	NET_INC(ip->core, IpInDelivers);
	if (__builtin_expect(ip->core->tracer != NULL, 0)) {
		uint32_t id = trace_l4(ip, p, rx);
		pr->input(pr->ctx, p, rx);
		if (id)         /* p may be gone: the id says whose trace ends here */
			net_trace_add(ip->core, id, TL_IP, TE_DELIVER, rx->ip.proto, 0);
		return;
	}
	pr->input(pr->ctx, p, rx);
}

/* RFC 1191 §6.3: remember the smaller MTU per destination; the oldest entry makes room. */
static void pmtu_learn(struct ipv4 *ip, uint32_t dst, uint16_t mtu)
{
	struct ipv4_pmtu *slot = &ip->pmtu[0];
	for (int i = 0; i < IPV4_PMTU_MAX; i++) {
		struct ipv4_pmtu *e = &ip->pmtu[i];
		if (e->dst == dst) {
			slot = e;
			break;
		}
		if (!e->dst || e->learned_ns < slot->learned_ns)
			slot = e;
	}
	*slot = (struct ipv4_pmtu){ dst, ip->err_from, mtu, ip->core->now_ns };
}

uint16_t ipv4_pmtu_get(struct ipv4 *ip, uint32_t dst)
{
	for (int i = 0; i < IPV4_PMTU_MAX; i++) {
		struct ipv4_pmtu *e = &ip->pmtu[i];
		if (e->dst != dst)
			continue;
		if (ip->core->now_ns - e->learned_ns >= IPV4_PMTU_EXPIRES_NS) {
			e->dst = 0;
			return 0;
		}
		return e->mtu;
	}
	return 0;
}

void ipv4_proto_error(struct ipv4 *ip, uint8_t proto, uint8_t type, uint8_t code,
		      uint16_t next_mtu, const uint8_t *quoted_ip, size_t len)
{
	/* 68: the smallest MTU a router may report (RFC 791); below it the report is bogus. */
	if (next_mtu >= 68 && len >= IPV4_HDR_MIN)
		pmtu_learn(ip, wire_get32(quoted_ip + 16), next_mtu);
	unsigned slot = ip->proto_slot[proto];
	const struct ipv4_proto *pr = slot ? &ip->protos[slot - 1] : NULL;
	if (pr && pr->error)
		pr->error(pr->ctx, type, code, next_mtu, quoted_ip, len);
}

static void ipv4_input(void *ctx, int ifi, struct pkt *p, int l2_bcast)
{
	struct ipv4 *ip = ctx;
	NET_INC(ip->core, IpInReceives);
	enum wire_err err = ipv4_check(pkt_data(p), p->len);
	if (err) {
		hdr_error(ip, p, err);
		return;
	}
	struct ipv4_rx rx = { .ifi = (uint8_t)ifi, .l2_bcast = (uint8_t)l2_bcast, .ts_ns = p->ts_ns };
	ipv4_parse(pkt_data(p), &rx.ip);
	pkt_trim(p, rx.ip.tot_len);
	NET_ADD(ip->core, IpExtInOctets, p->len);
	if (options_drop(ip, p, &rx.ip))
		return;
	enum net_drop_reason why = addr_check(ip, p, &rx);
	if (why != DROP_COUNT) {
		NET_INC(ip->core, IpInAddrErrors);
		net_drop(ip->core, p, why);
		return;
	}
	if (ipv4_is_fragment(&rx.ip) && !(p = ipv4_reasm_input(ip, p, &rx)))
		return;         /* held for the rest of its datagram, or dropped */
	pkt_pull(p, rx.ip.hdr_len);
	deliver(ip, p, &rx);
}

/* Hands a finished datagram (data = IP header) to the link. nexthop 0 = link broadcast.
 * Inlined into ip_send, the per-datagram path; ipv4_xmit is the same for fragments. */
static inline int xmit(struct ipv4 *ip, int ifi, struct pkt *p, uint32_t nexthop)
{
	NET_ADD(ip->core, IpExtOutOctets, p->len);
	if (!nexthop) {
		NET_INC(ip->core, IpExtOutBcastPkts);
		return link_output(ip->link, ifi, p, eth_broadcast, ETH_P_IP);
	}
	return neigh_output(ip->neigh, ifi, nexthop, p);
}

int ipv4_xmit(struct ipv4 *ip, int ifi, struct pkt *p, uint32_t nexthop)
{
	return xmit(ip, ifi, p, nexthop);
}

/* RFC 6864 §4.1 / RFC 7739 §5.2: one IP ID counter per (source, destination, protocol)
 * bucket, chosen by a keyed hash, so what one peer sees of our IDs says nothing about
 * our traffic to anyone else (the idle-scan side channel of a global counter). */
static unsigned id_bucket(const struct ipv4 *ip, uint64_t key)
{
	uint64_t x = key ^ ip->ident_key;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (unsigned)(x % IPV4_IDENTS);
}

/* A connection's datagrams all have one key: the last key's bucket is remembered (the
 * hash of an equal key is the same bucket, so the IDs are exactly as without it). */
static uint64_t id_key(uint32_t src, uint32_t dst, uint8_t proto)
{
	return ((uint64_t)dst << 32 | src) ^ ((uint64_t)proto << 56);
}

static unsigned id_key_bucket(const struct ipv4 *ip, uint32_t src, uint32_t dst, uint8_t proto)
{
	return id_bucket(ip, id_key(src, dst, proto));
}

/* IDs for n datagrams on the wire: the first is returned, the counter moves past all. */
static uint16_t next_ids(struct ipv4 *ip, uint32_t src, uint32_t dst, uint8_t proto, uint16_t n)
{
	uint64_t key = id_key(src, dst, proto);
	if (__builtin_expect(key != ip->id_last_key, 0)) {
		ip->id_last_key = key;
		ip->id_last_bucket = (uint16_t)id_bucket(ip, key);
	}
	uint16_t id = ip->idents[ip->id_last_bucket];
	ip->idents[ip->id_last_bucket] = (uint16_t)(id + n);
	return id;
}

/* How many datagrams p (transport header + payload) becomes on the wire: one, or the
 * pieces a TCP super-segment (PKT_F_GSO_TCP4) is cut into, whose IDs run id, id + 1,
 * ... (net/gso.c fix_headers, and TSO devices: QEMU's e1000/igb, a Linux host behind
 * virtio-net). The counter must move past all of them or the next datagram reuses
 * id + 1: harmless while TCP's DF made every datagram atomic, but a segment without DF
 * (tcp_pmtu_lower's floor) must not repeat an ID within the MSL (RFC 6864 §4.2, RFC
 * 4963; Linux ip_select_ident_segs). Each piece carries at most gso_size bytes, fewer
 * if the MTU is smaller (gso_segment's cut). */
static uint16_t wire_datagrams(const struct pkt *p, uint16_t mtu)
{
	if (__builtin_expect(!(p->flags & PKT_F_GSO_TCP4), 1) || !p->gso_size ||
	    pkt_linear_len(p) < TCP_HDR_LEN)
		return 1;
	uint32_t hlen = (uint32_t)(((const uint8_t *)p + p->off)[12] >> 4) * 4;   /* TCP doff */
	uint32_t mss = p->gso_size, room = (uint32_t)mtu - IPV4_HDR_MIN;
	if (room > hlen && mss > room - hlen)
		mss = room - hlen;
	if (p->len <= hlen)
		return 1;
	uint32_t n = (p->len - hlen + mss - 1) / mss;
	return (uint16_t)(n < 65535 ? n : 65535);
}

/* Over the MTU: fragments unless DF is set (TCP sets it: path MTU discovery, RFC 1191).
 * Out of line: the header struct it hands ipv4_fragment stays off the common path. */
static __attribute__((noinline)) int ip_send_big(struct ipv4 *ip, int ifi, struct pkt *p,
						 const struct ipv4_hdr *ih, uint32_t nexthop,
						 uint16_t mtu)
{
	if ((ih->frag & IPV4_DF) || p->len + IPV4_HDR_MIN > 65535) {
		NET_INC(ip->core, IpFragFails);
		net_drop(ip->core, p, DROP_IP_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	/* Fragments are copies: a checksum left to the device must be done first. */
	if ((p->flags & PKT_F_CSUM_PARTIAL) && gso_csum_help(p)) {
		net_drop(ip->core, p, DROP_TX_BAD_OFFLOAD);
		return -NET_EINVAL;
	}
	return ipv4_fragment(ip, ifi, p, ih, nexthop, mtu);
}

/* Adds the header and sends; a datagram over the MTU goes to ip_send_big. Inlined into
 * both callers: the unicast one is every datagram's path. */
static inline __attribute__((always_inline)) int ip_send(struct ipv4 *ip, int ifi,
							 struct pkt *p, uint32_t src,
							 uint32_t dst, const struct ipv4_out *o,
							 uint32_t nexthop)
{
	NET_INC(ip->core, IpOutRequests);
	uint16_t mtu = ip->link->ifs[ifi].mtu;
	struct ipv4_hdr ih = { .hdr_len = IPV4_HDR_MIN, .tos = o->tos,
			       .tot_len = (uint16_t)(p->len + IPV4_HDR_MIN),
			       .id = next_ids(ip, src, dst, o->proto, wire_datagrams(p, mtu)),
			       .frag = o->df ? IPV4_DF : 0,
			       .ttl = o->ttl, .proto = o->proto, .src = src, .dst = dst };
	/* A GSO frame is cut below, each piece within the MTU (link_output checks). */
	if (__builtin_expect(p->len + IPV4_HDR_MIN > mtu, 0) && !(p->flags & PKT_F_GSO_TCP4)) {
		struct ipv4_hdr big = ih;       /* ih itself stays in registers */
		return ip_send_big(ip, ifi, p, &big, nexthop, mtu);
	}
	uint8_t *h = pkt_push(p, IPV4_HDR_MIN);
	if (!h) {
		NET_INC(ip->core, IpOutDiscards);
		net_drop(ip->core, p, DROP_TX_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	ipv4_emit(&ih, h);
	if (__builtin_expect(ip->core->tracer != NULL, 0)) {
		net_trace_tx_start(ip->core, p);
		NET_TRACE(ip->core, p, TL_IP, TE_ROUTE, nexthop, src);
	}
	return xmit(ip, ifi, p, nexthop);
}

int ipv4_output(struct ipv4 *ip, struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint8_t ttl)
{
	struct ipv4_out o = { .proto = proto, .ttl = ttl };
	return ipv4_output_ext(ip, p, src, dst, &o);
}

int ipv4_output_ext(struct ipv4 *ip, struct pkt *p, uint32_t src, uint32_t dst,
		    const struct ipv4_out *o)
{
	struct route_result tmp;
	/* A connection's segments all ask for the same destination: the route cache's
	 * answer is read in place (route.h), the full lookup only on a miss. */
	const struct route_result *rt = route_cached(ip->routes, dst);
	if (__builtin_expect(!rt, 0))
		rt = route_get(ip->routes, dst, &tmp) < 0 ? NULL : &tmp;
	/* No loopback device: datagrams to our own addresses have nowhere to go. */
	if (!rt || rt->type == RTN_LOCAL) {
		NET_INC(ip->core, IpOutNoRoutes);
		net_drop(ip->core, p, DROP_IP_NO_ROUTE);
		return -NET_ENETUNREACH;
	}
	return ip_send(ip, rt->ifi, p, src ? src : rt->src, dst, o,
		       rt->type == RTN_BROADCAST ? 0 : rt->nexthop);
}

/* ---- a connection's cached path (net/dst.h) ------------------------------------- */

/* The header fields a caller chose, as one word (struct ipv4_out is four bytes). */
static inline uint32_t out_key(const struct ipv4_out *o)
{
	uint32_t k;
	__builtin_memcpy(&k, o, sizeof(k));
	return k;
}
_Static_assert(sizeof(struct ipv4_out) == sizeof(uint32_t), "out_key reads ipv4_out whole");

/* The cache still says what route_get, the neighbour lookup and ip_send would: every
 * generation it recorded matches, the MTU is the same, the entry still has an address. */
static inline int dst_valid(const struct ipv4 *ip, const struct net_dst *d, uint32_t src,
			    uint32_t dst, const struct ipv4_out *o)
{
	const struct neigh_entry *e = d->neigh;
	return d->ok && d->key_dst == dst && d->key_src == src && d->key_out == out_key(o) &&
	       d->route_gen == ip->routes->gen && d->link_gen == ip->link->gen &&
	       d->neigh_gen == e->gen && neigh_resolved(e) &&
	       d->mtu == ip->link->ifs[d->ifi].mtu;
}

/* The datagram (len bytes with its IP header) goes out whole through d: within the MTU
 * (a GSO frame within IPv4's 64 KiB, cut below), and both headers fit in front of it.
 * Otherwise ip_send and link_output decide (fragments, or a counted drop). */
static inline int dst_fits(const struct net_dst *d, const struct pkt *p, uint32_t len)
{
	uint32_t max = p->flags & PKT_F_GSO_TCP4 ? 65535u : d->mtu;
	return len <= max && (size_t)p->off - PKT_HDR_SIZE >= NET_DST_HDR_LEN;
}

/* Asks route_get and the neighbour table as the full path would and records the answer
 * with the header it gives. 0 (d left empty) when the full path must decide: no route,
 * not unicast, the next hop not resolved. A new connection to the peer of the last one
 * filled copies that answer (ip->dst_last, checked as any cache is). */
static int dst_fill(struct ipv4 *ip, struct net_dst *d, uint32_t src, uint32_t dst,
		    const struct ipv4_out *o)
{
	struct route_result r;
	if (dst_valid(ip, &ip->dst_last, src, dst, o)) {
		*d = ip->dst_last;
		return 1;
	}
	d->ok = 0;
	if (route_get(ip->routes, dst, &r) || r.type != RTN_UNICAST)
		return 0;
	struct neigh_entry *e = neigh_lookup(ip->neigh, r.ifi, r.nexthop);
	if (!e || !neigh_resolved(e))
		return 0;
	const struct net_if *ifc = &ip->link->ifs[r.ifi];
	uint32_t s = src ? src : r.src;
	*d = (struct net_dst){ .neigh = e, .key_src = src, .key_dst = dst, .key_out = out_key(o),
			       .route_gen = ip->routes->gen, .link_gen = ip->link->gen,
			       .neigh_gen = e->gen, .mtu = ifc->mtu,
			       .id_bucket = (uint16_t)id_key_bucket(ip, s, dst, o->proto),
			       .ifi = (uint8_t)r.ifi };
	/* The header ip_send would write, less the three per-datagram fields; its checksum
	 * complemented is the sum of its words, to which each datagram adds its own. */
	struct ipv4_hdr ih = { .hdr_len = IPV4_HDR_MIN, .tos = o->tos, .frag = o->df ? IPV4_DF : 0,
			       .ttl = o->ttl, .proto = o->proto, .src = s, .dst = dst };
	uint8_t *iph = d->hdr + ETH_HLEN;
	eth_emit_addrs(d->hdr, e->mac, ifc->dev->mac, ETH_P_IP);
	ipv4_emit(&ih, iph);
	d->hsum = (uint16_t)~wire_get16(iph + 10);
	wire_put16(iph + 10, 0);
	d->ok = 1;
	ip->dst_last = *d;
	return 1;
}

/* What ip_send, neigh_output and link_output do for the datagram, with the lookups'
 * answers and both headers from d (valid, and the datagram fits: dst_fits). */
static inline __attribute__((always_inline)) int dst_send(struct ipv4 *ip, struct net_dst *d,
							   struct pkt *p, uint32_t len)
{
	/* next_ids' bucket for this key, past every wire datagram p becomes */
	uint16_t id = ip->idents[d->id_bucket];
	ip->idents[d->id_bucket] = (uint16_t)(id + wire_datagrams(p, d->mtu));
	uint8_t *h = pkt_push(p, NET_DST_HDR_LEN);      /* dst_fits saw the room */
	NET_INC(ip->core, IpOutRequests);
	__builtin_memcpy(h, d->hdr, NET_DST_HDR_LEN);
	uint8_t *ih = h + ETH_HLEN;
	wire_put16(ih + 2, (uint16_t)len);
	wire_put16(ih + 4, id);
	wire_put16(ih + 10, csum_fold(d->hsum + len + id));    /* RFC 1624 style: + the rest */
	NET_ADD(ip->core, IpExtOutOctets, len);
	neigh_use(ip->neigh, d->neigh);
	return link_output_frame(ip->link, d->ifi, p);
}

/* Everything but the common case: refill a stale cache, or take the full path for what
 * only it handles (tracing, no route or neighbour yet, fragments, no headroom, an
 * oversized GSO frame), which counts and drops exactly as always. */
static __attribute__((noinline)) int dst_miss(struct ipv4 *ip, struct net_dst *d, struct pkt *p,
					      uint32_t src, uint32_t dst,
					      const struct ipv4_out *o)
{
	uint32_t len = p->len + IPV4_HDR_MIN;
	if (!ip->core->tracer && (dst_valid(ip, d, src, dst, o) || dst_fill(ip, d, src, dst, o)) &&
	    dst_fits(d, p, len))
		return dst_send(ip, d, p, len);
	return ipv4_output_ext(ip, p, src, dst, o);
}

int ipv4_output_dst(struct ipv4 *ip, struct net_dst *d, struct pkt *p, uint32_t src,
		    uint32_t dst, const struct ipv4_out *o)
{
	uint32_t len = p->len + IPV4_HDR_MIN;
	if (__builtin_expect(!ip->core->tracer && dst_valid(ip, d, src, dst, o) &&
			     dst_fits(d, p, len), 1))
		return dst_send(ip, d, p, len);
	return dst_miss(ip, d, p, src, dst, o);
}

int ipv4_output_bcast(struct ipv4 *ip, int ifi, struct pkt *p, uint32_t src, uint8_t proto)
{
	struct ipv4_out o = { .proto = proto, .ttl = NET_DEFAULT_TTL };
	return ip_send(ip, ifi, p, src, INET_BCAST, &o, 0);
}
