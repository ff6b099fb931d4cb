/* TCP's environment on top of IPv4 (see transport.h); RFC 9293 §3.9.1 (TCP/IP interface). */
#include "net/transport.h"
#include "net/stack.h"
#include "net/ipv4.h"
#include "net/route.h"

#define TCP_TTL 64

/* DF on every segment: TCP does path MTU discovery (RFC 1191 §3, RFC 9293 §3.7.2). */
static int env_ip_output_tos(void *ctx, struct pkt *p, uint32_t src, uint32_t dst, uint8_t tos)
{
	struct ipv4_out o = { .proto = 6, .ttl = TCP_TTL, .tos = tos, .df = 1 };
	return ipv4_output_ext(ctx, p, src, dst, &o);
}

static int env_ip_output(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	return env_ip_output_tos(ctx, p, src, dst, 0);
}

static int env_route(void *ctx, uint32_t dst, uint32_t *src, uint16_t *mtu)
{
	struct net_stack *s = ctx;
	struct route_result r;
	if (route_get(s, dst, &r) || r.ifi < 0 || r.ifi >= s->nifs)
		return -1;
	*src = r.src;
	*mtu = s->ifs[r.ifi].mtu;
	return 0;
}

static struct pkt *env_pkt_alloc(void *ctx)
{
	return net_alloc(ctx, -1);
}

static void *env_mem_alloc(void *ctx, size_t n)
{
	struct net_stack *s = ctx;
	return s->cfg.mem_alloc(s->cfg.ctx, n);
}

static void env_mem_free(void *ctx, void *p)
{
	struct net_stack *s = ctx;
	s->cfg.mem_free(s->cfg.ctx, p);
}

static uint64_t env_random(void *ctx)
{
	return net_random(ctx);
}

static void tcp_in(void *ctx, struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx)
{
	(void)ctx;
	tcp_input(&s->tcp, p, rx->ip.src, rx->ip.dst, s->now_ns);
}

static void tcp_err(void *ctx, struct net_stack *s, uint8_t type, uint8_t code, uint16_t next_mtu,
		    const uint8_t *quoted_ip, size_t len)
{
	(void)ctx;
	tcp_icmp_error(&s->tcp, type, code, next_mtu, quoted_ip, len);
}

void transport_init(struct net_stack *s)
{
	if (!s->cfg.mem_alloc || !s->cfg.mem_free)
		return;
	struct tcp_env env = {
		.ip_output = env_ip_output,
		.ip_output_tos = env_ip_output_tos,
		.route = env_route,
		.pkt_alloc = env_pkt_alloc,
		.mem_alloc = env_mem_alloc,
		.mem_free = env_mem_free,
		.random = env_random,
		.ctx = s,
	};
	tcp_init(&s->tcp, &env, NULL, s->now_ns);
	if (ipv4_register_proto(s, 6, tcp_in, tcp_err, NULL) == 0)
		s->tcp_on = 1;
}

void transport_poll(struct net_stack *s)
{
	if (s->tcp_on)
		tcp_poll(&s->tcp, s->now_ns);
}
