/*
 * UDP (udp.h). RFC 768, RFC 1122 §4.1.3.
 * Input: udp_check (header present, UDP length == IP payload, checksum if non-zero) ->
 * socket by destination port -> callback; no socket: ICMP port unreachable for unicast
 * (UdpNoPorts), silence for broadcast (UdpIgnoredMulti), RFC 1122 §4.1.3.1.
 * Output: payload -> header with checksum (always generated) -> ipv4_output.
 * Ephemeral ports are random in the RFC 6335 dynamic range (RFC 6056 §3.3.1 style).
 */
#include "net/stack.h"
#include "net/udp.h"
#include "net/udp_wire.h"
#include "net/icmp_wire.h"
#include "net/ipv4.h"
#include "net/err.h"
#include "lib/string.h"

static struct udp_sock *find(struct net_stack *s, uint16_t port)
{
	for (int i = 0; i < UDP_MAX_SOCKS; i++)
		if (s->udp.socks[i].port == port)
			return &s->udp.socks[i];
	return NULL;
}

static int ephemeral(struct net_stack *s)
{
	uint32_t range = UDP_EPHEMERAL_HI - UDP_EPHEMERAL_LO + 1;
	uint32_t start = (uint32_t)(net_random(s) % range);
	/* At most UDP_MAX_SOCKS ports are taken, so this ends within that many + 1 steps. */
	for (uint32_t i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(UDP_EPHEMERAL_LO + (start + i) % range);
		if (!find(s, port))
			return port;
	}
	return -NET_EADDRINUSE;
}

int udp_bind(struct net_stack *s, uint16_t port, udp_recv_fn fn, void *ctx)
{
	if (!fn)
		return -NET_EINVAL;
	if (!find(s, 0))
		return -NET_ENOSPC;
	if (port == 0) {
		int p = ephemeral(s);
		if (p < 0)
			return p;
		port = (uint16_t)p;
	} else if (find(s, port)) {
		return -NET_EADDRINUSE;
	}
	struct udp_sock *sk = find(s, 0);
	*sk = (struct udp_sock){ port, fn, ctx };
	return port;
}

int udp_unbind(struct net_stack *s, uint16_t port)
{
	struct udp_sock *sk = port ? find(s, port) : NULL;
	if (!sk)
		return -NET_ENOENT;
	memset(sk, 0, sizeof(*sk));
	return 0;
}

int udp_output(struct net_stack *s, struct pkt *p, uint32_t src, uint16_t sport, uint32_t dst,
	       uint16_t dport, int ifi)
{
	if (ifi < 0 && !src) {
		struct route_result rt;
		if (route_get(s, dst, &rt) < 0) {
			NET_INC(s, IpOutNoRoutes);
			net_drop(s, p, DROP_IP_NO_ROUTE);
			return -NET_ENETUNREACH;
		}
		src = rt.src;   /* the pseudo header needs it before IP picks it */
	}
	uint8_t *h = pkt_push(p, UDP_HDR_LEN);
	if (!h) {
		net_drop(s, p, DROP_TX_TOO_BIG);
		return -NET_EMSGSIZE;
	}
	struct udp_hdr uh = { .sport = sport, .dport = dport, .len = p->len };
	udp_emit(&uh, h, src, dst);
	NET_INC(s, UdpOutDatagrams);
	if (ifi >= 0)
		return ipv4_output_bcast(s, ifi, p, src, IPV4_PROTO_UDP);
	return ipv4_output(s, p, src, dst, IPV4_PROTO_UDP, NET_DEFAULT_TTL);
}

int udp_send(struct net_stack *s, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	     const void *data, size_t len)
{
	struct route_result rt;
	if (route_get(s, dst, &rt) < 0 || rt.type == RTN_LOCAL) {
		NET_INC(s, IpOutNoRoutes);
		return -NET_ENETUNREACH;
	}
	if (len > (size_t)s->ifs[rt.ifi].mtu - UDP_HDR_LEN - IPV4_HDR_MIN)
		return -NET_EMSGSIZE;
	struct pkt *p = net_alloc(s, rt.ifi);
	if (!p) {
		NET_INC(s, UdpSndbufErrors);
		return -NET_ENOBUFS;
	}
	memcpy(pkt_put(p, len), data, len);
	return udp_output(s, p, src ? src : rt.src, sport, dst, dport, -1);
}

static void no_port(struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx)
{
	if (rx->ip_bcast || rx->l2_bcast) {
		NET_INC(s, UdpIgnoredMulti);
	} else {
		NET_INC(s, UdpNoPorts);
		icmp_send_error(s, pkt_data(p) - rx->ip.hdr_len, p->len + (size_t)rx->ip.hdr_len, rx,
				ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
	}
	net_drop(s, p, DROP_UDP_NO_PORT);
}

void udp_input(struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx)
{
	enum wire_err err = udp_check(pkt_data(p), p->len, rx->ip.src, rx->ip.dst);
	if (err) {
		NET_INC(s, UdpInErrors);
		if (err == WIRE_BAD_CSUM)
			NET_INC(s, UdpInCsumErrors);
		net_drop(s, p, err == WIRE_BAD_CSUM ? DROP_UDP_CSUM :
			       err == WIRE_BAD_LEN ? DROP_UDP_BAD_LEN : DROP_UDP_TRUNCATED);
		return;
	}
	struct udp_hdr uh;
	udp_parse(pkt_data(p), &uh);
	struct udp_sock *sk = uh.dport ? find(s, uh.dport) : NULL;
	if (!sk) {
		no_port(s, p, rx);
		return;
	}
	NET_INC(s, UdpInDatagrams);
	struct udp_rx_info info = { .src = rx->ip.src, .dst = rx->ip.dst, .sport = uh.sport,
				    .dport = uh.dport, .ifi = rx->ifi, .bcast = rx->ip_bcast };
	sk->fn(sk->ctx, s, &info, pkt_data(p) + UDP_HDR_LEN, p->len - UDP_HDR_LEN);
	pkt_free(p);
}
