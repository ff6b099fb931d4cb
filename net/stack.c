/*
 * The composition root of net/ (stack.h): builds the floors bottom-up and wires each
 * upper floor into the one below, then runs the timers in floor order.
 */
#include "net/stack.h"
#include "net/transport.h"
#include "net/err.h"
#include "lib/string.h"

/* The link came back: we may be on another segment. Tell it where we are, and have
 * DHCP check the lease (or stop waiting out its backoff) right away. */
static void link_changed(void *ctx, int ifi, int up)
{
	struct net_stack *s = ctx;
	if (!up) {
		/* Addresses learnt on the old segment may be wrong on the next one (Linux
		 * neigh_carrier_down): forget them, and what waited for them. */
		neigh_flush(&s->neigh, ifi);
		return;
	}
	if (s->link.ifs[ifi].addr)
		arp_announce_start(&s->arp, ifi);
	if (s->dhcp.state != DHCP_OFF && s->dhcp.ifi == ifi)
		dhcp_renew(&s->dhcp);
}

void net_init(struct net_stack *s, const struct net_config *cfg)
{
	memset(s, 0, sizeof(*s));
	net_core_init(&s->core, cfg);
	link_init(&s->link, &s->core);
	s->link.on_change = link_changed;
	s->link.change_ctx = s;
	neigh_init(&s->neigh, &s->link);
	arp_init(&s->arp, &s->link, &s->neigh);
	route_init(&s->routes, &s->link);
	ipv4_init(&s->ip, &s->link, &s->neigh, &s->routes, &s->arp);
	icmp_init(&s->icmp, &s->ip);
	udp_init(&s->udp, &s->ip, &s->icmp);
	s->tcp_on = transport_init(&s->tcp, &s->ip, &s->gro);
	dhcp_init(&s->dhcp, &s->udp);
	ping_init(&s->ping, &s->icmp);
	arping_init(&s->arping, &s->arp);
	capture_init(&s->cap, &s->core, &s->link);
	tracepath_init(&s->tracepath, &s->core, &s->link, &s->udp);
}

void net_fini(struct net_stack *s)
{
	net_input_flush(s);
	if (s->tcp_on)
		tcp_shutdown_stack(&s->tcp);
	ipv4_reasm_flush(&s->ip);
	neigh_flush(&s->neigh, -1);
	link_fini(&s->link);
}

static void configure_first(struct net_stack *s, int ifi)
{
	const struct net_config *c = &s->core.cfg;
	if (c->use_dhcp) {
		dhcp_start(&s->dhcp, ifi);
		return;
	}
	if (!c->addr) {
		net_log(&s->core, NET_LOG_WARN, "%s: no address configured",
			s->link.ifs[ifi].dev->name);
		return;
	}
	ipv4_set_addr(&s->ip, ifi, c->addr, c->prefix_len, IFACE_ADDR_STATIC, 0);
	if (c->gateway) {
		struct route r = { .gateway = c->gateway, .ifi = (uint8_t)ifi,
				   .proto = RTPROT_STATIC };
		if (route_add(&s->routes, &r))
			net_log(&s->core, NET_LOG_WARN, "net: cannot add the default route");
	}
}

int net_attach(struct net_stack *s, struct netdev *dev)
{
	int ifi = link_attach(&s->link, dev, s->core.cfg.mtu);
	if (ifi < 0)
		return ifi;
	if (ifi == 0)
		configure_first(s, ifi);
	return 0;
}

void net_input(struct net_stack *s, struct netdev *dev, struct pkt *p)
{
	net_input_flush(s);
	link_input(&s->link, dev, p);
}

void net_input_burst(struct net_stack *s, struct netdev *dev, struct pkt *p)
{
	s->gro.open = s->tcp_on;
	link_input(&s->link, dev, p);
}

void net_input_flush(struct net_stack *s)
{
	if (s->gro.nflows)
		gro_flush(&s->gro);
	s->gro.open = false;
}

/* TCP's deadlines only (stack.h: the kernel's sleep); net_next_due has every floor's. */
uint64_t net_next_wake(const struct net_stack *s)
{
	if (!s->tcp_on)
		return UINT64_MAX;
	const struct tcp_stack *t = &s->tcp;
	uint64_t d = t->timer_lb < t->tw_due ? t->timer_lb : t->tw_due;
	return d < t->cache_trim_at ? d : t->cache_trim_at;
}

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t net_next_due(const struct net_stack *s)
{
	uint64_t d = min64(link_next_ns(&s->link), arp_next_ns(&s->arp));
	d = min64(d, s->neigh.next_ns);
	d = min64(d, ipv4_reasm_next_ns(&s->ip));
	d = min64(d, dhcp_next_ns(&s->dhcp));
	d = min64(d, ping_next_ns(&s->ping));
	d = min64(d, arping_next_ns(&s->arping));
	d = min64(d, tracepath_next_ns(&s->tracepath));
	if (s->tcp_on) {
		const struct tcp_stack *t = &s->tcp;
		d = min64(d, net_next_wake(s));
		if (t->events || t->reap)
			d = 0;
	}
	return d;
}

/* A turn at or after core.wake_ns: every floor's timers in floor order, then the new
 * bound. Timers armed meanwhile lowered wake_ns (net_core_arm); the floors' own
 * fields hold them too, so the bound is rebuilt from those. */
static __attribute__((noinline)) void net_timers(struct net_stack *s)
{
	s->core.wake_ns = UINT64_MAX;
	link_poll(&s->link);
	arp_poll(&s->arp);
	neigh_poll(&s->neigh);
	ipv4_poll(&s->ip);
	dhcp_poll(&s->dhcp);
	ping_poll(&s->ping);
	arping_poll(&s->arping);
	tracepath_poll(&s->tracepath);
	if (s->tcp_on)
		transport_poll(&s->tcp, s->core.now_ns);
	s->core.wake_ns = min64(s->core.wake_ns, net_next_due(s));
}

/* An idle turn (no timer due, rings drained by the caller) is the flush test, the
 * clock, one compare and the queue test. */
void net_poll(struct net_stack *s, uint64_t now_ns)
{
	net_input_flush(s);     /* the loop turn's receive burst ends before its timers */
	if (now_ns > s->core.now_ns)
		s->core.now_ns = now_ns;        /* net_core_tick */
	if (s->core.now_ns >= s->core.wake_ns)
		net_timers(s);
	else if (s->tcp_on)
		tcp_tick(&s->tcp, s->core.now_ns);
	link_run_queues(&s->link);
	if (s->cap.trace.out)
		capture_poll(&s->cap);
}

int net_dns_servers(const struct net_stack *s, uint32_t *out, int max)
{
	int n = 0;
	if (s->dhcp.state < DHCP_BOUND)
		return 0;
	for (int i = 0; i < s->dhcp.ndns && n < max; i++)
		out[n++] = s->dhcp.dns[i];
	return n;
}
