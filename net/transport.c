/* TCP's environment on top of IPv4 (see transport.h); RFC 9293 §3.9.1 (TCP/IP interface). */
#include "net/transport.h"
#include "net/tcp.h"
#include "net/ipv4.h"
#include "net/link.h"
#include "net/route.h"
#include "net/neigh.h"
#include "net/gro.h"

#define TCP_TTL 64

/* DF on every segment: TCP does path MTU discovery (RFC 1191 §3, RFC 9293 §3.7.2),
 * unless the path's MTU is below TCP's floor (tcp_pmtu_lower). */
static int env_ip_output_tos(void *ctx, struct pkt *p, uint32_t src, uint32_t dst, uint8_t tos,
			     bool df)
{
	struct ipv4_out o = { .proto = IPV4_PROTO_TCP, .ttl = TCP_TTL, .tos = tos, .df = df };
	return ipv4_output_ext(ctx, p, src, dst, &o);
}

static int env_ip_output(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	return env_ip_output_tos(ctx, p, src, dst, 0, true);
}

/* The same datagram through the connection's cached path (net/dst.h). */
static int env_ip_output_dst(void *ctx, struct net_dst *d, struct pkt *p, uint32_t src,
			     uint32_t dst, uint8_t tos, bool df)
{
	struct ipv4_out o = { .proto = IPV4_PROTO_TCP, .ttl = TCP_TTL, .tos = tos, .df = df };
	return ipv4_output_dst(ctx, d, p, src, dst, &o);
}

static int env_route(void *ctx, uint32_t dst, uint32_t *src, uint16_t *mtu)
{
	struct ipv4 *ip = ctx;
	struct route_result r;
	if (route_get(ip->routes, dst, &r) || r.ifi < 0 || r.ifi >= ip->link->nifs)
		return -1;
	*src = r.src;
	*mtu = ip->link->ifs[r.ifi].mtu;
	return 0;
}

/* RFC 1122 §4.2.3.5 negative advice (MUST-20): R1 retransmissions went unanswered, so
 * stop trusting the next hop's address: its neighbour entry is re-confirmed by unicast
 * probes before the next segments go out (as Linux's dst_negative_advice leads to). */
static void env_route_advice(void *ctx, uint32_t dst)
{
	struct ipv4 *ip = ctx;
	struct route_result r;
	if (route_get(ip->routes, dst, &r) == 0 && r.type == RTN_UNICAST)
		neigh_suspect(ip->neigh, r.ifi, r.nexthop);
}

static struct pkt *env_pkt_alloc(void *ctx)
{
	struct ipv4 *ip = ctx;
	return link_alloc(ip->link, -1);
}

static struct pkt *env_pkt_alloc_big(void *ctx)
{
	struct ipv4 *ip = ctx;
	return pkt_alloc(ip->core->cfg.tx_big_pool);
}

/* The egress device's offloads (netdev.h) as TCP sees them. */
static int env_tx_offload(void *ctx, uint32_t dst, struct tcp_offload *o)
{
	struct ipv4 *ip = ctx;
	struct route_result r;
	if (route_get(ip->routes, dst, &r) || r.ifi < 0 || r.ifi >= ip->link->nifs)
		return -1;
	const struct netdev *dev = ip->link->ifs[r.ifi].dev;
	o->csum = (dev->features & NETDEV_F_TX_CSUM) != 0;
	o->gso_max = 0;
	if ((dev->features & NETDEV_F_TSO4) && dev->tso_max > 14 + 20 + 60)
		o->gso_max = dev->tso_max - 14 - 20 - 60;      /* tso_max counts whole frames */
	/* Fragments reach a device only with NETDEV_F_SG and NETDEV_F_TX_CSUM (link.c
	 * linearizes otherwise); without TSO, software GSO gathers them into wire frames. */
	const uint32_t sg = NETDEV_F_SG | NETDEV_F_TX_CSUM;
	o->sg = (dev->features & sg) == sg || !(dev->features & NETDEV_F_TSO4);
	return 0;
}

static void *env_mem_alloc(void *ctx, size_t n)
{
	struct ipv4 *ip = ctx;
	return ip->core->cfg.mem_alloc(ip->core->cfg.ctx, n);
}

static void env_mem_free(void *ctx, void *p)
{
	struct ipv4 *ip = ctx;
	ip->core->cfg.mem_free(ip->core->cfg.ctx, p);
}

static uint64_t env_random(void *ctx)
{
	struct ipv4 *ip = ctx;
	return net_random(ip->core);
}

static void tcp_in(void *ctx, struct pkt *p, const struct ipv4_rx *rx)
{
	struct tcp_stack *t = ctx;
	struct ipv4 *ip = t->env.ctx;
	tcp_input(t, p, rx->ip.src, rx->ip.dst, ip->core->now_ns);
}

static void tcp_err(void *ctx, uint8_t type, uint8_t code, uint16_t next_mtu,
		    const uint8_t *quoted_ip, size_t len)
{
	tcp_icmp_error(ctx, type, code, next_mtu, quoted_ip, len);
}

/* With coalescing: segments pass through the burst's GRO table (gro.h) first. */
static void gro_deliver(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct tcp_stack *t = ctx;
	struct ipv4 *ip = t->env.ctx;
	tcp_input(t, p, src, dst, ip->core->now_ns);
}

/* TCP takes a chain (gro.h) except when re-entered: its backlog links packets by
 * p->next, which a chain uses already. */
static bool gro_chain_ok(void *ctx)
{
	const struct tcp_stack *t = ctx;
	return t->depth == 0;
}

static void tcp_in_gro(void *ctx, struct pkt *p, const struct ipv4_rx *rx)
{
	gro_receive(ctx, p, rx->ip.src, rx->ip.dst);
}

static void tcp_err_gro(void *ctx, uint8_t type, uint8_t code, uint16_t next_mtu,
			const uint8_t *quoted_ip, size_t len)
{
	struct gro *g = ctx;
	gro_flush(g);           /* the error may concern what is held: TCP sees it in order */
	tcp_icmp_error(g->ctx, type, code, next_mtu, quoted_ip, len);
}

int transport_init(struct tcp_stack *t, struct ipv4 *ip, struct gro *gro)
{
	if (!ip->core->cfg.mem_alloc || !ip->core->cfg.mem_free)
		return 0;
	struct tcp_env env = {
		.ip_output = env_ip_output,
		.ip_output_tos = env_ip_output_tos,
		.ip_output_dst = env_ip_output_dst,
		.route = env_route,
		.route_advice = env_route_advice,
		.pkt_alloc = env_pkt_alloc,
		.mem_alloc = env_mem_alloc,
		.mem_free = env_mem_free,
		.random = env_random,
		.tx_offload = env_tx_offload,
		.pkt_alloc_big = ip->core->cfg.tx_big_pool ? env_pkt_alloc_big : NULL,
		.wake_ns = &ip->core->wake_ns,
		.ctx = ip,
	};
	/* TCP's memory budget derives from the real allocator behind mem_alloc (the kernel
	 * heap), never from a figure the heap cannot back (docs/rfc9293-musts.md). */
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	if (ip->core->cfg.mem_bytes)
		cfg.heap_bytes = ip->core->cfg.mem_bytes;
	cfg.pacing = ip->core->cfg.tcp_pacing != 0;
	tcp_init(t, &env, &cfg, ip->core->now_ns);
	if (!gro)
		return ipv4_register_proto(ip, IPV4_PROTO_TCP, 0, tcp_in, tcp_err, t) == 0;
	gro_init(gro, ip->core->cfg.tx_big_pool, gro_deliver, t);
	gro->chain_ok = gro_chain_ok;
	return ipv4_register_proto(ip, IPV4_PROTO_TCP, 0, tcp_in_gro, tcp_err_gro, gro) == 0;
}

