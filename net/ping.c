/*
 * ping (ping.h): the sending half of ICMP echo, with iputils' output layout:
 *   PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.
 *   64 bytes from 10.0.2.2: icmp_seq=1 ttl=64 time=0.412 ms
 *   --- 10.0.2.2 ping statistics ---
 *   4 packets transmitted, 4 received, 0% packet loss, time 3004ms
 *   rtt min/avg/max/mdev = 0.301/0.390/0.412/0.045 ms
 * All arithmetic is integer (the image has no FPU state): times in microseconds,
 * mdev through an integer square root, the loss percentage to 6 significant digits
 * like %g.
 */
#include <stdarg.h>
#include "net/ping.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/route.h"
#include "net/link.h"
#include "net/arp.h"
#include "net/arp_wire.h"
#include "net/eth.h"
#include "net/icmp_wire.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"
#include "lib/fmt.h"

typedef void (*out_fn)(void *ctx, const char *text);

/* One line of a session's output, to its shell (out may be NULL: nobody listens). */
static void print(out_fn out, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void print(out_fn out, void *ctx, const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (out)
		out(ctx, buf);
}

#define say(p, ...) print((p)->out, (p)->ctx, __VA_ARGS__)
#define arping_print(a, ...) print((a)->out, (a)->ctx, __VA_ARGS__)

/* iputils' precision: 3 decimals below 1 ms, 2 below 10 ms, 1 below 100 ms, then none. */
static char *fmt_ms(char *buf, size_t cap, uint64_t us)
{
	if (us < 1000)
		ksnprintf(buf, cap, "0.%03lu", us);
	else if (us < 10000)
		ksnprintf(buf, cap, "%lu.%02lu", us / 1000, us % 1000 / 10);
	else if (us < 100000)
		ksnprintf(buf, cap, "%lu.%lu", us / 1000, us % 1000 / 100);
	else
		ksnprintf(buf, cap, "%lu", us / 1000);
	return buf;
}

static uint64_t isqrt(uint64_t v)
{
	uint64_t r = 0, bit = 1ull << 62;
	while (bit > v)
		bit >>= 2;
	while (bit) {
		if (v >= r + bit) {
			v -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* lost*100/sent the way printf("%g") shows it: 6 significant digits, no trailing 0s. */
static char *fmt_loss(char *buf, size_t cap, uint32_t lost, uint32_t sent)
{
	uint64_t whole = (uint64_t)lost * 100 / sent, rem = (uint64_t)lost * 100 % sent;
	int digits = whole >= 100 ? 3 : whole >= 10 ? 2 : 1;
	int dec = 6 - digits;
	uint64_t scale = 1;
	for (int i = 0; i < dec; i++)
		scale *= 10;
	uint64_t frac = (rem * scale * 2 + sent) / (2 * (uint64_t)sent);      /* rounded */
	if (frac >= scale) {
		whole++;
		frac = 0;
	}
	while (dec > 0 && frac % 10 == 0) {
		frac /= 10;
		dec--;
	}
	if (dec)
		ksnprintf(buf, cap, "%lu.%0*lu", whole, dec, frac);
	else
		ksnprintf(buf, cap, "%lu", whole);
	return buf;
}

static int ping_reply(void *ctx, uint32_t src, uint16_t id, uint16_t seq, size_t len,
		      uint8_t ttl, uint64_t ts_ns);
static void ping_error(void *ctx, uint32_t from, uint8_t type, uint8_t code, uint16_t id,
		       uint16_t seq);

void ping_init(struct ping_session *p, struct icmp *icmp)
{
	memset(p, 0, sizeof(*p));
	p->core = icmp->core;
	p->link = icmp->ip->link;
	p->icmp = icmp;
	icmp->echo_reply = ping_reply;
	icmp->echo_error = ping_error;
	icmp->echo_ctx = p;
}

int ping_start(struct ping_session *p, uint32_t dst, uint32_t count, uint16_t size,
	       void (*out)(void *ctx, const char *text), void *ctx)
{
	struct route_result rt;
	if (p->active)
		return -NET_EBUSY;
	if (route_get(p->icmp->ip->routes, dst, &rt) < 0 || rt.type == RTN_LOCAL)
		return -NET_ENETUNREACH;
	if ((uint32_t)size + ICMP_HDR_LEN + IPV4_HDR_MIN > p->link->ifs[rt.ifi].mtu)
		return -NET_EMSGSIZE;
	*p = (struct ping_session){ .core = p->core, .link = p->link, .icmp = p->icmp };
	p->active = 1;
	p->dst = dst;
	p->id = (uint16_t)net_random(p->core);
	p->size = size;
	p->count = count ? (count > PING_MAX_COUNT ? PING_MAX_COUNT : count) : PING_DEFAULT_COUNT;
	p->start_ns = p->next_ns = p->core->now_ns;
	net_core_arm(p->core, p->next_ns);
	p->out = out;
	p->ctx = ctx;
	char a[INET_ADDRSTRLEN];
	inet_fmt(a, dst);
	say(p, "PING %s (%s) %u(%u) bytes of data.\n", a, a, size,
	    size + ICMP_HDR_LEN + IPV4_HDR_MIN);
	/* The first request leaves from the next net_poll(), which brings a fresh clock:
	 * p->core->now_ns may be a whole idle tick old when a shell command runs. */
	return 0;
}

static void finish(struct ping_session *p)
{
	char a[INET_ADDRSTRLEN], loss[16], errs[24] = "";
	if (p->errors)
		ksnprintf(errs, sizeof(errs), "+%u errors, ", p->errors);
	say(p, "\n--- %s ping statistics ---\n", inet_fmt(a, p->dst));
	say(p, "%u packets transmitted, %u received, %s%s%% packet loss, time %lums\n", p->sent,
	    p->received, errs, fmt_loss(loss, sizeof(loss), p->sent - p->received, p->sent ? p->sent : 1),
	    (unsigned long)((p->last_send_ns - p->start_ns) / NET_NS_PER_MS));
	if (p->received) {
		uint64_t avg = p->rtt_sum_us / p->received;
		uint64_t mean_sq = p->rtt_sum2_us / p->received;
		uint64_t mdev = isqrt(mean_sq > avg * avg ? mean_sq - avg * avg : 0);
		say(p, "rtt min/avg/max/mdev = %lu.%03lu/%lu.%03lu/%lu.%03lu/%lu.%03lu ms\n",
		    p->rtt_min_us / 1000, p->rtt_min_us % 1000, avg / 1000, avg % 1000,
		    p->rtt_max_us / 1000, p->rtt_max_us % 1000, mdev / 1000, mdev % 1000);
	}
	p->active = 0;
}

void ping_stop(struct ping_session *p)
{
	if (p->active)
		finish(p);
}

static void send_next(struct ping_session *p)
{
	uint16_t seq = (uint16_t)++p->sent;
	p->sent_ns[seq % PING_TRACK] = p->core->now_ns;
	p->answered[seq % PING_TRACK] = 0;
	p->last_send_ns = p->core->now_ns;
	p->next_ns = p->core->now_ns + PING_INTERVAL_NS;
	int r = icmp_send_echo(p->icmp, p->dst, p->id, seq, p->size);
	if (r < 0 && r != -NET_ENETUNREACH)
		return;
	if (r < 0) {
		p->errors++;
		say(p, "ping: sendmsg: Network is unreachable\n");
	}
}

void ping_poll(struct ping_session *p)
{
	if (!p->active)
		return;
	if (p->sent < p->count && p->core->now_ns >= p->next_ns)
		send_next(p);
	if (p->sent >= p->count &&
	    (p->received + p->errors >= p->count || p->core->now_ns >= p->last_send_ns + PING_LINGER_NS))
		finish(p);
}

/* ping_poll's tests: the next request, or the end of the session. */
uint64_t ping_next_ns(const struct ping_session *p)
{
	if (!p->active)
		return UINT64_MAX;
	if (p->sent < p->count)
		return p->next_ns;
	if (p->received + p->errors >= p->count)
		return 0;
	return p->last_send_ns + PING_LINGER_NS;
}

/* The sequence numbers still in the send-time window. */
static int seq_known(const struct ping_session *p, uint16_t seq)
{
	uint16_t newest = (uint16_t)p->sent;
	uint16_t age = (uint16_t)(newest - seq);
	return p->sent && age < PING_TRACK && age < p->sent;
}

static int ping_reply(void *ctx, uint32_t src, uint16_t id, uint16_t seq, size_t len,
		      uint8_t ttl, uint64_t ts_ns)
{
	struct ping_session *p = ctx;
	if (!p->active || id != p->id || src != p->dst)
		return 0;
	if (!seq_known(p, seq))
		return 1;
	int slot = seq % PING_TRACK;
	uint64_t sent = p->sent_ns[slot];
	uint64_t now = ts_ns >= sent && ts_ns <= p->core->now_ns + NET_NS_PER_SEC ? ts_ns : p->core->now_ns;
	uint64_t us = (now - sent) / NET_NS_PER_US;
	char a[INET_ADDRSTRLEN], t[24];
	if (p->answered[slot]) {
		say(p, "%u bytes from %s: icmp_seq=%u ttl=%u time=%s ms (DUP!)\n", (unsigned)len,
		    inet_fmt(a, src), seq, ttl, fmt_ms(t, sizeof(t), us));
		return 1;
	}
	p->answered[slot] = 1;
	p->received++;
	net_core_arm(p->core, 0);      /* the last answer ends the session */
	if (p->received == 1 || us < p->rtt_min_us)
		p->rtt_min_us = us;
	if (us > p->rtt_max_us)
		p->rtt_max_us = us;
	p->rtt_sum_us += us;
	p->rtt_sum2_us += us * us;
	say(p, "%u bytes from %s: icmp_seq=%u ttl=%u time=%s ms\n", (unsigned)len, inet_fmt(a, src),
	    seq, ttl, fmt_ms(t, sizeof(t), us));
	return 1;
}

static const char *error_text(uint8_t type, uint8_t code)
{
	if (type == ICMP_TIME_EXCEEDED)
		return "Time to live exceeded";
	if (type != ICMP_DEST_UNREACH)
		return "Bad ICMP type";
	switch (code) {
	case ICMP_NET_UNREACH: return "Destination Net Unreachable";
	case ICMP_HOST_UNREACH: return "Destination Host Unreachable";
	case ICMP_PROT_UNREACH: return "Destination Protocol Unreachable";
	case ICMP_PORT_UNREACH: return "Destination Port Unreachable";
	case ICMP_FRAG_NEEDED: return "Frag needed";
	default: return "Destination Unreachable";
	}
}

static void ping_error(void *ctx, uint32_t from, uint8_t type, uint8_t code, uint16_t id,
		       uint16_t seq)
{
	struct ping_session *p = ctx;
	if (!p->active || id != p->id || !seq_known(p, seq) || p->answered[seq % PING_TRACK])
		return;
	p->answered[seq % PING_TRACK] = 1;
	p->errors++;
	net_core_arm(p->core, 0);      /* the last answer ends the session */
	char a[INET_ADDRSTRLEN];
	say(p, "From %s icmp_seq=%u %s\n", inet_fmt(a, from), seq, error_text(type, code));
}

/* ---- arping: ARP requests from the shell, replies through arp.c's on_reply hook -------------------------------------------------------------------- */

int arping_start(struct arping_session *a, int ifi, uint32_t target, uint32_t count,
		 void (*out)(void *ctx, const char *text), void *ctx)
{
	if (a->active)
		return -NET_EBUSY;
	if (ifi < 0 || ifi >= a->link->nifs)
		return -NET_ENODEV;
	if (!a->link->ifs[ifi].addr)
		return -NET_EADDRNOTAVAIL;
	*a = (struct arping_session){ .core = a->core, .link = a->link, .arp = a->arp };
	a->active = 1;
	a->ifi = (uint8_t)ifi;
	a->target = target;
	a->src = a->link->ifs[ifi].addr;
	a->count = count ? count : ARPING_DEFAULT_COUNT;
	a->start_ns = a->next_ns = a->core->now_ns;
	net_core_arm(a->core, a->next_ns);
	a->out = out;
	a->ctx = ctx;
	char t[INET_ADDRSTRLEN], f[INET_ADDRSTRLEN];
	arping_print(a, "ARPING %s from %s %s\n", inet_fmt(t, target), inet_fmt(f, a->src),
		     a->link->ifs[ifi].dev->name);
	return 0;
}

static int arping_rx(void *ctx, int ifi, const struct arp_pkt *p, int l2_unicast, uint64_t rx_ns)
{
	struct arping_session *a = ctx;
	if (!a->active || ifi != a->ifi || p->op != ARP_OP_REPLY || p->spa != a->target)
		return 0;
	a->received++;
	/* The driver's receive stamp: a->core->now_ns is the last net_poll(), which with an
	 * interrupt-driven NIC is usually the very poll that sent the request. */
	uint64_t now = rx_ns > a->last_send_ns ? rx_ns : a->core->now_ns;
	uint64_t us = (now - a->last_send_ns) / NET_NS_PER_US;
	char ip[INET_ADDRSTRLEN], mac[ETH_MACSTRLEN];
	arping_print(a, "%s reply from %s [%s]  %lu.%03lums\n", l2_unicast ? "Unicast" : "Broadcast",
		     inet_fmt(ip, p->spa), eth_fmt(mac, p->sha, 1), us / 1000, us % 1000);
	return 1;
}

void arping_poll(struct arping_session *a)
{
	if (!a->active)
		return;
	if (a->sent < a->count && a->core->now_ns >= a->next_ns) {
		if (a->ifi >= a->link->nifs || !a->link->ifs[a->ifi].addr) {
			a->count = a->sent;     /* address gone: stop here */
		} else {
			arp_solicit(a->arp, a->ifi, a->target, NULL);
			a->sent++;
			a->last_send_ns = a->core->now_ns;
			a->next_ns = a->core->now_ns + NET_NS_PER_SEC;
		}
	}
	if (a->sent >= a->count && a->core->now_ns >= a->last_send_ns + NET_NS_PER_SEC) {
		arping_print(a, "Sent %u probes (%u broadcast(s))\nReceived %u response(s)\n", a->sent,
			     a->sent, a->received);
		a->active = 0;
	}
}

/* arping_poll's tests: the next request, or the end of the session. */
uint64_t arping_next_ns(const struct arping_session *a)
{
	if (!a->active)
		return UINT64_MAX;
	if (a->sent < a->count)
		return a->next_ns;
	return a->last_send_ns + NET_NS_PER_SEC;
}

void arping_init(struct arping_session *a, struct arp *arp)
{
	*a = (struct arping_session){ .core = arp->core, .link = arp->link, .arp = arp };
	arp->on_reply = arping_rx;
	arp->reply_ctx = a;
}
