/* Two stacks over a memory link and the issue 11 workloads (bench_pair.h). */
#include "tests/bench/bench_pair.h"
#include "net/config.h"
#include "net/err.h"
#include "net/inet.h"
#include "net/eth.h"
#include "net/ipv4_wire.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A_ADDR "10.0.0.1/24"
#define B_ADDR 0x0a000002u
#define PORT 80
#define PERIOD BP_PERIOD
#define WAIT_MAX 1000000        /* pumps one wait may take before the run is a failure */

/* The byte stream every sender sends: byte i is pattern[i % PERIOD]. Twice as long as
 * the period so any PERIOD bytes from any offset are contiguous. */
static uint8_t pattern[2 * PERIOD];

static void pattern_init(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[i] = pattern[i + PERIOD] = (uint8_t)(x >> 32);
	}
}

static const uint8_t *stream_at(uint64_t off)
{
	return pattern + off % PERIOD;
}

const uint8_t *bp_stream(uint64_t off)
{
	return stream_at(off);
}

__attribute__((noinline)) int bp_verify(uint64_t off, const uint8_t *data, size_t len)
{
	while (len) {
		size_t n = len < PERIOD ? len : PERIOD;
		if (memcmp(data, stream_at(off), n) != 0)
			return -1;
		off += n;
		data += n;
		len -= n;
	}
	return 0;
}

static int fail(struct bench_pair *bp, const char *what, long v)
{
	if (!bp->err[0])
		snprintf(bp->err, sizeof(bp->err), "%s (%ld) at pump %llu", what, v,
			 (unsigned long long)bp->pumps);
	return -1;
}

/* ---- the stacks ---------------------------------------------------------------------- */

static uint64_t xorshift(void *ctx)
{
	uint64_t *s = ctx;
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *mem_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void mem_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static int stack_init(struct net_stack *s, struct memnic *m, const char *cidr, uint64_t *rng,
		      struct pkt_pool *big)
{
	struct net_config cfg = { .random = xorshift, .mem_alloc = mem_alloc,
				  .mem_free = mem_free, .ctx = rng, .tx_big_pool = big,
				  .tcp_pacing = 1 };    /* the kernel's default */
	if (inet_parse_cidr(cidr, &cfg.addr, &cfg.prefix_len))
		return -1;
	net_init(s, &cfg);
	return net_attach(s, &m->dev);
}

static void step(struct bench_pair *bp);

/* Lets the start-up traffic (gratuitous ARP announcements, RFC 5227 §2.3) finish before
 * any workload counts frames and drops. */
static void settle(struct bench_pair *bp)
{
	uint64_t end = bp->now + 3 * NET_NS_PER_SEC;
	while (bp->now < end)
		step(bp);
	bp->pumps = bp->idle_jumps = 0;
}

/* As kernel/main_net.c tx_big_pool_init: NET_TX_BIG_SLOTS buffers of NET_TX_BIG_BUF. */
static uint8_t *big_pool_init(struct pkt_pool *pool)
{
	size_t bytes = NET_TX_BIG_SLOTS * pkt_slot_size(NET_TX_BIG_BUF);
	uint8_t *mem = aligned_alloc(64, bytes);
	if (mem)
		pkt_pool_init_sized(pool, mem, 0, NET_TX_BIG_SLOTS, NET_TX_BIG_BUF);
	return mem;
}

int bp_init(struct bench_pair *bp, int opts)
{
	memset(bp, 0, sizeof(*bp));
	bp->plain = !!(opts & BP_PLAIN);
	if (!bp->plain) {
		bp->big_mem_a = big_pool_init(&bp->big_a);
		bp->big_mem_b = big_pool_init(&bp->big_b);
		if (!bp->big_mem_a || !bp->big_mem_b)
			return fail(bp, "no memory for big buffers", 0);
	}
	pattern_init();
	bp->now = 1000000000ull;
	bp->rng_a = 0x1234567887654321ull;
	bp->rng_b = 0x8765432112345678ull;
	if (memnic_init(&bp->na, "eth0", 1, BP_SLOTS, &bp->now) ||
	    memnic_init(&bp->nb, "eth0", 2, BP_SLOTS, &bp->now))
		return fail(bp, "no memory for packet pools", 0);
	memnic_connect(&bp->na, &bp->nb);
	bp->na.csum_offload = bp->nb.csum_offload = !!(opts & BP_CSUM_OFFLOAD);
	if (opts & BP_CSUM_OFFLOAD)
		bp->na.dev.features = bp->nb.dev.features = NETDEV_F_TX_CSUM | NETDEV_F_RX_CSUM;
	if (stack_init(&bp->a, &bp->na, A_ADDR, &bp->rng_a, bp->plain ? NULL : &bp->big_a) ||
	    stack_init(&bp->b, &bp->nb, "10.0.0.2/24", &bp->rng_b, bp->plain ? NULL : &bp->big_b))
		return fail(bp, "stack init", 0);
	if (!bp->a.tcp_on || !bp->b.tcp_on)
		return fail(bp, "TCP not enabled", 0);
	net_poll(&bp->a, bp->now);
	net_poll(&bp->b, bp->now);
	int err = tcp_listen(&bp->b.tcp, 0, PORT, 1024, NULL, NULL, &bp->listener);
	if (err)
		return fail(bp, "tcp_listen", err);
	settle(bp);
	return 0;
}

int bp_fini(struct bench_pair *bp)
{
	if (bp->listener)
		tcp_close(bp->listener);
	net_fini(&bp->a);
	net_fini(&bp->b);
	int leaked = memnic_destroy_pair(&bp->na, &bp->nb);
	struct pkt_pool *big[2] = { &bp->big_a, &bp->big_b };
	uint8_t **mem[2] = { &bp->big_mem_a, &bp->big_mem_b };
	for (int i = 0; i < 2; i++) {
		if (!*mem[i])
			continue;
		leaked += (int)(big[i]->stats.slots - big[i]->stats.free);
		free(*mem[i]);
		*mem[i] = NULL;
	}
	return leaked;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* The kernel's NAPI callback (kernel/main_net.c) is net_input_burst: a poll's frames
 * may be coalesced until net_poll() flushes them. */
static void deliver(void *ctx, struct netdev *dev, struct pkt *p)
{
	net_input_burst(ctx, dev, p);
}

static void deliver_plain(void *ctx, struct netdev *dev, struct pkt *p)
{
	net_input(ctx, dev, p);
}

/* One turn of both machines' main loops: NAPI poll, then timers and queues. */
static int pump(struct bench_pair *bp)
{
	bp->now += BP_TICK_NS;
	bp->pumps++;
	netdev_deliver_fn fn = bp->plain ? deliver_plain : deliver;
	int n = netdev_napi_poll(&bp->na.dev, BP_BUDGET, fn, &bp->a);
	n += netdev_napi_poll(&bp->nb.dev, BP_BUDGET, fn, &bp->b);
	net_poll(&bp->a, bp->now);
	net_poll(&bp->b, bp->now);
	return n;
}

/* A pump; if the link is idle afterwards, nothing will happen before the next timer:
 * jump the clock there (1 ms when no TCP timer runs). */
static void step(struct bench_pair *bp)
{
	if (pump(bp) || memnic_pending(&bp->na) || memnic_pending(&bp->nb))
		return;
	uint64_t da = tcp_next_deadline(&bp->a.tcp), db = tcp_next_deadline(&bp->b.tcp);
	uint64_t d = da < db ? da : db;
	if (d == UINT64_MAX || d <= bp->now)
		d = bp->now + 1000000;
	bp->now = d - BP_TICK_NS;       /* the next pump lands on the deadline */
	bp->idle_jumps++;
}

/* Reads exactly len bytes of s's stream at stream offset off, pumping while it waits;
 * len 0: waits for end of stream. */
static int read_exact(struct bench_pair *bp, struct tcp_sock *s, uint64_t off, size_t len)
{
	uint8_t buf[BP_RESP];
	size_t got = 0;
	for (long waits = 0; waits < WAIT_MAX; waits++) {
		long r = tcp_recv(s, buf + got, len ? len - got : sizeof(buf));
		if (r > 0 && len) {
			got += (size_t)r;
			if (got < len)
				continue;
			return bp_verify(off, buf, len) ? fail(bp, "request/response bytes differ", 0) : 0;
		}
		if (r > 0)
			return fail(bp, "data after the response", r);
		if (r == 0)
			return len ? fail(bp, "end of stream too early", (long)got) : 0;
		if (r != -NET_EAGAIN)
			return fail(bp, "tcp_recv", r);
		step(bp);
	}
	return fail(bp, "read timed out", (long)got);
}

static int send_all(struct bench_pair *bp, struct tcp_sock *s, uint64_t off, size_t len)
{
	long w = tcp_send(s, stream_at(off), len);
	return w == (long)len ? 0 : fail(bp, "tcp_send took less", w);
}

static int connect_pair(struct bench_pair *bp, struct tcp_sock **c, struct tcp_sock **s)
{
	int err = tcp_connect(&bp->a.tcp, 0, B_ADDR, PORT, NULL, NULL, c);
	if (err)
		return fail(bp, "tcp_connect", err);
	for (long waits = 0; waits < WAIT_MAX; waits++) {
		if (tcp_accept(bp->listener, s) == 0)
			return 0;
		step(bp);
	}
	return fail(bp, "accept timed out", 0);
}

/* Pumps until neither stack holds a connection but B's TIME-WAITs. */
static int drain(struct bench_pair *bp)
{
	for (long waits = 0; waits < WAIT_MAX; waits++) {
		if (bp->a.tcp.nconns == 0 && bp->b.tcp.nconns == bp->b.tcp.ntw)
			return 0;
		step(bp);
	}
	return fail(bp, "connections did not close", (long)bp->a.tcp.nconns);
}

/* ---- results --------------------------------------------------------------------------- */

static uint64_t drops(const struct net_stack *s)
{
	uint64_t n = 0;
	for (int i = 0; i < DROP_COUNT; i++)
		n += s->core.drops[i];
	return n;
}

static void snapshot(const struct bench_pair *bp, struct bp_result *r)
{
	*r = (struct bp_result){
		.frames = bp->na.stats.rx_packets + bp->nb.stats.rx_packets,
		.retrans = bp->a.tcp.mib[TCP_MIB_RetransSegs] + bp->b.tcp.mib[TCP_MIB_RetransSegs],
		.drops = drops(&bp->a) + drops(&bp->b),
		.idle_jumps = bp->idle_jumps,
		.pumps = bp->pumps,
	};
}

static void finish(const struct bench_pair *bp, const struct bp_result *start, struct bp_result *r)
{
	struct bp_result end;
	snapshot(bp, &end);
	r->frames = end.frames - start->frames;
	r->retrans = end.retrans - start->retrans;
	r->drops = end.drops - start->drops;
	r->idle_jumps = end.idle_jumps - start->idle_jumps;
	r->pumps = end.pumps - start->pumps;
}

/* ---- workloads ------------------------------------------------------------------------- */

static int read_available(struct bench_pair *bp, struct tcp_sock *s, uint64_t *got)
{
	const uint8_t *d;
	size_t n;
	while ((n = tcp_recv_peek(s, &d)) > 0) {
		if (bp_verify(*got, d, n))
			return fail(bp, "bulk bytes differ", (long)*got);
		*got += n;
		tcp_recv_consume(s, n);
	}
	return 0;
}

__attribute__((noinline)) int bp_bulk_loop(struct bench_pair *bp, struct tcp_sock *c,
					 struct tcp_sock *s, uint64_t total)
{
	uint64_t sent = 0, got = 0;
	for (long waits = 0; got < total; waits++) {
		if (waits >= WAIT_MAX)
			return fail(bp, "bulk stalled", (long)got);
		while (sent < total) {
			uint64_t n = total - sent < PERIOD ? total - sent : PERIOD;
			long w = tcp_send(c, stream_at(sent), n);
			if (w == -NET_EAGAIN)
				break;
			if (w <= 0)
				return fail(bp, "tcp_send", w);
			sent += (uint64_t)w;
		}
		step(bp);
		if (read_available(bp, s, &got))
			return -1;
		if (got > total)
			return fail(bp, "more bytes than sent", (long)(got - total));
	}
	return 0;
}

int bp_bulk(struct bench_pair *bp, uint64_t total, struct bp_result *r)
{
	struct bp_result start;
	struct tcp_sock *c, *s;
	if (connect_pair(bp, &c, &s))
		return -1;
	snapshot(bp, &start);
	int err = bp_bulk_loop(bp, c, s, total);
	finish(bp, &start, r);
	r->bytes = err ? 0 : total;
	tcp_close(c);
	tcp_close(s);
	return err || drain(bp) ? -1 : 0;
}

__attribute__((noinline)) int bp_rr_loop(struct bench_pair *bp, struct tcp_sock *c,
				       struct tcp_sock *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (send_all(bp, c, (uint64_t)i * BP_REQ, BP_REQ) ||
		    read_exact(bp, s, (uint64_t)i * BP_REQ, BP_REQ) ||
		    send_all(bp, s, (uint64_t)i * BP_RESP, BP_RESP) ||
		    read_exact(bp, c, (uint64_t)i * BP_RESP, BP_RESP))
			return -1;
	}
	return 0;
}

int bp_rr(struct bench_pair *bp, uint32_t n, struct bp_result *r)
{
	struct bp_result start;
	struct tcp_sock *c, *s;
	if (connect_pair(bp, &c, &s))
		return -1;
	snapshot(bp, &start);
	int err = bp_rr_loop(bp, c, s, n);
	finish(bp, &start, r);
	r->ops = err ? 0 : n;
	r->bytes = r->ops * (BP_REQ + BP_RESP);
	tcp_close(c);
	tcp_close(s);
	return err || drain(bp) ? -1 : 0;
}

static int crr_one(struct bench_pair *bp)
{
	struct tcp_sock *c, *s;
	if (connect_pair(bp, &c, &s) || send_all(bp, c, 0, BP_REQ) ||
	    read_exact(bp, s, 0, BP_REQ) || send_all(bp, s, 0, BP_RESP))
		return -1;
	tcp_close(s);           /* the server closes first, as HTTP/1.0: TIME-WAIT is B's */
	if (read_exact(bp, c, 0, BP_RESP) || read_exact(bp, c, 0, 0))
		return -1;
	tcp_close(c);
	return 0;
}

__attribute__((noinline)) int bp_crr_loop(struct bench_pair *bp, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (crr_one(bp))
			return -1;
	return drain(bp);
}

int bp_crr(struct bench_pair *bp, uint32_t n, struct bp_result *r)
{
	struct bp_result start;
	snapshot(bp, &start);
	int err = bp_crr_loop(bp, n);
	finish(bp, &start, r);
	r->ops = err ? 0 : n;
	r->bytes = r->ops * (BP_REQ + BP_RESP);
	return err;
}

/* ---- checksum offload probe ------------------------------------------------------------ */

/* Whether the stack skips verifying a TCP checksum the NIC vouched for: hands B a SYN to
 * its listener with a wrong checksum and PKT_F_CSUM_OK set, and sees whether TCP counted
 * a checksum error. (A measured fact, so the offload variant turns itself on when TCP
 * learns to honour the flag.) */
int bp_csum_ok_honoured(struct bench_pair *bp)
{
	struct pkt *p = pkt_alloc(&bp->na.pool);
	if (!p)
		return 0;
	uint8_t *f = pkt_put(p, ETH_HLEN + IPV4_HDR_MIN + 20);
	struct eth_hdr eh = { .type = ETH_P_IP };
	memcpy(eh.dst, bp->nb.dev.mac, 6);
	memcpy(eh.src, bp->na.dev.mac, 6);
	eth_emit(&eh, f);
	struct ipv4_hdr ih = { .tot_len = IPV4_HDR_MIN + 20, .ttl = 64, .proto = IPV4_PROTO_TCP,
			       .src = 0x0a000001u, .dst = B_ADDR };
	ipv4_emit(&ih, f + ETH_HLEN);
	uint8_t *t = f + ETH_HLEN + IPV4_HDR_MIN;
	static const uint8_t syn[20] = { 0x9c, 0x40, 0, PORT, 0, 0, 0, 1, 0, 0, 0, 0,
					 0x50, 0x02, 0xff, 0xff, 0xde, 0xad, 0, 0 };
	memcpy(t, syn, sizeof(syn));    /* checksum 0xdead: wrong for this segment */
	p->flags = PKT_F_CSUM_OK;
	uint64_t segs = bp->b.tcp.mib[TCP_MIB_InSegs], bad = bp->b.tcp.mib[TCP_MIB_InCsumErrors];
	net_input(&bp->b, &bp->nb.dev, p);
	/* TCP must have seen it: a drop further down would look like "honoured". */
	int honoured = bp->b.tcp.mib[TCP_MIB_InSegs] == segs + 1 &&
		       bp->b.tcp.mib[TCP_MIB_InCsumErrors] == bad;
	/* Whatever B answered (SYN-ACK, or an ARP request first) is not part of any run;
	 * an honoured SYN leaves a half-open TCB on B that the SYN-ACK timeout removes. */
	return honoured;
}
