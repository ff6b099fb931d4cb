/*
 * UDP (udp.h). RFC 768, RFC 1122 §4.1.3.
 * Input: udp_check (header present, 8 <= UDP length <= IP payload, then trimmed to it;
 * checksum if non-zero) ->
 * socket by destination port -> callback; no socket: ICMP port unreachable for unicast
 * (UdpNoPorts), silence for broadcast (UdpIgnoredMulti), RFC 1122 §4.1.3.1.
 * Output: payload -> header with checksum (always generated) -> ipv4_output.
 * Ephemeral ports are random in the RFC 6335 dynamic range (RFC 6056 §3.3.1 style).
 */
#include "net/udp.h"
#include "net/link.h"
#include "net/route.h"
#include "net/icmp.h"
#include "net/udp_wire.h"
#include "net/icmp_wire.h"
#include "net/ipv4.h"
#include "net/err.h"
#include "lib/string.h"

static void udp_input(void *ctx, struct pkt *p, const struct ipv4_rx *rx);
static void udp_err(void *ctx, uint8_t type, uint8_t code, uint16_t next_mtu,
		    const uint8_t *quoted_ip, size_t len);

void udp_init(struct udp *u, struct ipv4 *ip, struct icmp *icmp)
{
	memset(u, 0, sizeof(*u));
	u->core = ip->core;
	u->link = ip->link;
	u->ip = ip;
	u->icmp = icmp;
	ipv4_register_proto(ip, IPV4_PROTO_UDP, IPV4_PROTO_F_BCAST, udp_input, udp_err, u);
}

static struct udp_sock *find(struct udp *u, uint16_t port)
{
	for (int i = 0; i < UDP_MAX_SOCKS; i++)
		if (u->socks[i].port == port)
			return &u->socks[i];
	return NULL;
}

static int ephemeral(struct udp *u)
{
	uint32_t range = UDP_EPHEMERAL_HI - UDP_EPHEMERAL_LO + 1;
	uint32_t start = (uint32_t)(net_random(u->core) % range);
	/* At most UDP_MAX_SOCKS ports are taken, so this ends within that many + 1 steps. */
	for (uint32_t i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(UDP_EPHEMERAL_LO + (start + i) % range);
		if (!find(u, port))
			return port;
	}
	return -NET_EADDRINUSE;
}

int udp_bind(struct udp *u, uint16_t port, udp_recv_fn fn, void *ctx)
{
	if (!fn)
		return -NET_EINVAL;
	if (!find(u, 0))
		return -NET_ENOSPC;
	if (port == 0) {
		int p = ephemeral(u);
		if (p < 0)
			return p;
		port = (uint16_t)p;
	} else if (find(u, port)) {
		return -NET_EADDRINUSE;
	}
	struct udp_sock *sk = find(u, 0);
	*sk = (struct udp_sock){ port, fn, NULL, ctx };
	return port;
}

int udp_unbind(struct udp *u, uint16_t port)
{
	struct udp_sock *sk = port ? find(u, port) : NULL;
	if (!sk)
		return -NET_ENOENT;
	memset(sk, 0, sizeof(*sk));
	return 0;
}

int udp_set_error(struct udp *u, uint16_t port, udp_err_fn fn)
{
	struct udp_sock *sk = port ? find(u, port) : NULL;
	if (!sk)
		return -NET_ENOENT;
	sk->err = fn;
	return 0;
}

/* The quoted datagram: its IP header (checked by ICMP: version 4, IHL within len, ours as
 * source) and at least 8 bytes after it, the whole UDP header. */
static void udp_err(void *ctx, uint8_t type, uint8_t code, uint16_t next_mtu,
		    const uint8_t *quoted_ip, size_t len)
{
	struct udp *u = ctx;
	size_t ihl = (size_t)(quoted_ip[0] & 0xf) * 4;
	if (len < ihl + UDP_HDR_LEN)
		return;
	const uint8_t *uh = quoted_ip + ihl;
	struct udp_err_info e = { u->ip->err_from, wire_get32(quoted_ip + 16), wire_get16(uh),
				  wire_get16(uh + 2), type, code, next_mtu };
	struct udp_sock *sk = find(u, e.sport);
	if (sk && sk->err)
		sk->err(sk->ctx, &e);
}

static int output(struct udp *u, struct pkt *p, uint32_t src, uint16_t sport, uint32_t dst,
		  uint16_t dport, int ifi, const struct ipv4_out *o);

int udp_output(struct udp *u, struct pkt *p, uint32_t src, uint16_t sport, uint32_t dst,
	       uint16_t dport, int ifi)
{
	struct ipv4_out o = { .proto = IPV4_PROTO_UDP, .ttl = NET_DEFAULT_TTL };
	return output(u, p, src, sport, dst, dport, ifi, &o);
}

static int output(struct udp *u, struct pkt *p, uint32_t src, uint16_t sport, uint32_t dst,
		  uint16_t dport, int ifi, const struct ipv4_out *o)
{
	if (ifi < 0 && !src) {
		struct route_result rt;
		if (route_get(u->ip->routes, dst, &rt) < 0) {
			NET_INC(u->core, IpOutNoRoutes);
			net_drop(u->core, p, DROP_IP_NO_ROUTE);
			return -NET_ENETUNREACH;
		}
		src = rt.src;   /* the pseudo header needs it before IP picks it */
	}
	uint8_t *h = pkt_push(p, UDP_HDR_LEN);
	if (!h) {
		net_drop(u->core, p, DROP_TX_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	struct udp_hdr uh = { .sport = sport, .dport = dport, .len = p->len };
	udp_emit(&uh, h, src, dst);
	NET_INC(u->core, UdpOutDatagrams);
	if (ifi >= 0)
		return ipv4_output_bcast(u->ip, ifi, p, src, IPV4_PROTO_UDP);
	return ipv4_output_ext(u->ip, p, src, dst, o);
}

int udp_send(struct udp *u, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	     const void *data, size_t len)
{
	return udp_send_ext(u, src, sport, dst, dport, data, len, NET_DEFAULT_TTL, 0);
}

int udp_send_ext(struct udp *u, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		 const void *data, size_t len, uint8_t ttl, int df)
{
	struct ipv4_out o = { .proto = IPV4_PROTO_UDP, .ttl = ttl, .df = (uint8_t)(df != 0) };
	struct route_result rt;
	if (!dport)
		return -NET_EINVAL;     /* port 0 is nobody's (RFC 768: only a source may be 0) */
	if (route_get(u->ip->routes, dst, &rt) < 0 || rt.type == RTN_LOCAL) {
		NET_INC(u->core, IpOutNoRoutes);
		return -NET_ENETUNREACH;
	}
	if (len > (size_t)u->link->ifs[rt.ifi].mtu - UDP_HDR_LEN - IPV4_HDR_MIN)
		return -NET_EMSGSIZE;
	struct pkt *p = link_alloc(u->link, rt.ifi);
	if (!p) {
		NET_INC(u->core, UdpSndbufErrors);
		return -NET_ENOBUFS;
	}
	memcpy(pkt_put(p, len), data, len);
	return output(u, p, src ? src : rt.src, sport, dst, dport, -1, &o);
}

static void no_port(struct udp *u, struct pkt *p, const struct ipv4_rx *rx)
{
	if (rx->ip_bcast || rx->l2_bcast) {
		NET_INC(u->core, UdpIgnoredMulti);
	} else {
		NET_INC(u->core, UdpNoPorts);
		icmp_send_error(u->icmp, pkt_data(p) - rx->ip.hdr_len, p->len + (size_t)rx->ip.hdr_len, rx,
				ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
	}
	net_drop(u->core, p, DROP_UDP_NO_PORT);
}

static void udp_input(void *ctx, struct pkt *p, const struct ipv4_rx *rx)
{
	struct udp *u = ctx;
	enum wire_err err = p->flags & PKT_F_CSUM_OK ? udp_check_len(pkt_data(p), p->len) :
			    udp_check(pkt_data(p), p->len, rx->ip.src, rx->ip.dst);
	if (err) {
		NET_INC(u->core, UdpInErrors);
		if (err == WIRE_BAD_CSUM)
			NET_INC(u->core, UdpInCsumErrors);
		net_drop(u->core, p, err == WIRE_BAD_CSUM ? DROP_UDP_CSUM :
			       err == WIRE_BAD_LEN ? DROP_UDP_BAD_LEN : DROP_UDP_TRUNCATED);
		return;
	}
	struct udp_hdr uh;
	udp_parse(pkt_data(p), &uh);
	pkt_trim(p, uh.len);    /* udp_check made sure uh.len <= p->len */
	struct udp_sock *sk = uh.dport ? find(u, uh.dport) : NULL;
	if (!sk) {
		no_port(u, p, rx);
		return;
	}
	NET_INC(u->core, UdpInDatagrams);
	struct udp_rx_info info = { .src = rx->ip.src, .dst = rx->ip.dst, .sport = uh.sport,
				    .dport = uh.dport, .ifi = rx->ifi, .bcast = rx->ip_bcast };
	sk->fn(sk->ctx, &info, pkt_data(p) + UDP_HDR_LEN, p->len - UDP_HDR_LEN);
	pkt_free(p);
}
