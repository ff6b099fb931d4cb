/*
 * tracepath (tracepath.h). Per probe: udp_send_ext(TTL, DF, pmtu - 28 bytes) to port
 * BASE + n -> one of: time exceeded (a hop: print, TTL + 1), fragmentation needed (a
 * smaller MTU: print, same TTL again), port unreachable from the destination (reached:
 * print the summary), another unreachable (print it, end), or TRACEPATH_WAIT_NS of
 * silence ("no reply", TTL + 1). Output follows iputils' layout.
 */
#include <stdarg.h>
#include "net/tracepath.h"
#include "net/core.h"
#include "net/link.h"
#include "net/route.h"
#include "net/ipv4.h"
#include "net/udp.h"
#include "net/ipv4_wire.h"
#include "net/icmp_wire.h"
#include "net/udp_wire.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/fmt.h"
#include "lib/string.h"

__attribute__((format(printf, 2, 3))) static void say(struct tracepath_session *t, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (t->out)
		t->out(t->ctx, buf);
}

static uint8_t zeros[NET_DEFAULT_MTU];  /* probe payload */

static void finish(struct tracepath_session *t)
{
	udp_unbind(t->udp, t->sport);
	t->active = t->waiting = 0;
}

static void send_probe(struct tracepath_session *t)
{
	size_t len = (size_t)t->pmtu - IPV4_HDR_MIN - UDP_HDR_LEN;
	if (len > sizeof(zeros))
		len = sizeof(zeros);
	t->probes++;
	t->sent_ns = t->core->now_ns;
	t->waiting = 1;
	int r = udp_send_ext(t->udp, 0, t->sport, t->dst, (uint16_t)(TRACEPATH_BASE_PORT + t->probes),
			     zeros, len, t->ttl, 1);
	if (r < 0 && r != -NET_ENOBUFS) {
		say(t, "%2u:  send failed (%d)\n", t->ttl, r);
		finish(t);
	}
}

static void hop_line(struct tracepath_session *t, uint32_t from, const char *tail)
{
	char a[INET_ADDRSTRLEN];
	uint64_t us = (t->core->now_ns - t->sent_ns) / 1000u;
	say(t, "%2u:  %-40s %lu.%03lums%s\n", t->ttl, inet_fmt(a, from), (unsigned long)(us / 1000),
	    (unsigned long)(us % 1000), tail);
}

static void on_error(void *ctx, const struct udp_err_info *e)
{
	struct tracepath_session *t = ctx;
	if (!t->active || !t->waiting || e->dst != t->dst ||
	    e->dport != TRACEPATH_BASE_PORT + t->probes)
		return;         /* an answer to an older probe, or not ours */
	t->waiting = 0;
	net_core_arm(t->core, 0);      /* the next probe leaves from net_poll */
	if (e->type == ICMP_TIME_EXCEEDED) {
		hop_line(t, e->from, "");
		if (++t->ttl > TRACEPATH_MAX_HOPS) {
			say(t, "     Too many hops: pmtu %u\n", t->pmtu);
			finish(t);
		}
		return;
	}
	if (e->type == ICMP_DEST_UNREACH && e->code == ICMP_FRAG_NEEDED && e->next_mtu >= 68 &&
	    e->next_mtu < t->pmtu) {
		t->pmtu = e->next_mtu;
		say(t, "%2u:  pmtu %u\n", t->ttl, t->pmtu);
		return;                         /* the same TTL again, smaller */
	}
	if (e->type == ICMP_DEST_UNREACH && e->code == ICMP_PORT_UNREACH && e->from == t->dst) {
		hop_line(t, e->from, " reached");
		say(t, "     Resume: pmtu %u hops %u back %u\n", t->pmtu, t->ttl, t->ttl);
	} else {
		hop_line(t, e->from, e->type == ICMP_DEST_UNREACH ? " !H" : " ?");
	}
	finish(t);
}

/* Probes are answered with ICMP, never with UDP; anything else is ignored. */
static void on_datagram(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)info;
	(void)data;
	(void)len;
}

int tracepath_start(struct tracepath_session *t, uint32_t dst,
		    void (*out)(void *ctx, const char *text), void *ctx)
{
	struct route_result rt;
	if (t->active)
		return -NET_EBUSY;
	if (route_get(t->udp->ip->routes, dst, &rt) < 0 || rt.ifi < 0)
		return -NET_ENETUNREACH;
	int port = udp_bind(t->udp, 0, on_datagram, t);
	if (port < 0)
		return -NET_ENOSPC;
	udp_set_error(t->udp, (uint16_t)port, on_error);
	uint16_t cached = ipv4_pmtu_get(t->udp->ip, dst);
	t->sport = (uint16_t)port;
	t->dst = dst;
	t->pmtu = t->link->ifs[rt.ifi].mtu;
	if (cached && cached < t->pmtu)
		t->pmtu = cached;
	t->ttl = 1;
	t->probes = 0;
	t->out = out;
	t->ctx = ctx;
	t->active = 1;
	t->waiting = 0;
	net_core_arm(t->core, 0);      /* the first probe leaves from net_poll */
	say(t, " 1?: [LOCALHOST]                      pmtu %u\n", t->pmtu);
	return 0;
}

void tracepath_poll(struct tracepath_session *t)
{
	if (!t->active)
		return;
	if (!t->waiting) {
		send_probe(t);
		return;
	}
	if (t->core->now_ns - t->sent_ns < TRACEPATH_WAIT_NS)
		return;
	say(t, "%2u:  no reply\n", t->ttl);
	t->waiting = 0;
	if (++t->ttl > TRACEPATH_MAX_HOPS) {
		say(t, "     Too many hops: pmtu %u\n", t->pmtu);
		finish(t);
	}
}

/* tracepath_poll's tests: a probe to send, or the wait for its answer to end. */
uint64_t tracepath_next_ns(const struct tracepath_session *t)
{
	if (!t->active)
		return UINT64_MAX;
	return t->waiting ? t->sent_ns + TRACEPATH_WAIT_NS : 0;
}

void tracepath_stop(struct tracepath_session *t)
{
	if (t->active) {
		say(t, "     Stopped: pmtu %u hops %u\n", t->pmtu, t->ttl);
		finish(t);
	}
}

void tracepath_init(struct tracepath_session *t, struct net_core *core, struct net_link *link,
		    struct udp *udp)
{
	memset(t, 0, sizeof(*t));
	t->core = core;
	t->link = link;
	t->udp = udp;
}
