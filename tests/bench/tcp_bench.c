/*
 * Host benchmark of the TCP module (make bench-host): two stacks, A (10.0.0.1) and B
 * (10.0.0.2), joined by an in-memory link that hands each packet to the other stack
 * (one shared packet pool, no copy on the "wire"; checksums are computed and verified
 * as always). The clock is the host's monotonic clock. Prints, asserts nothing:
 *   bulk  A -> B for a fixed byte count: tcp_send (copy) + tcp_recv (copy), and
 *         tcp_send_ref (zero copy) + tcp_recv_peek/consume;
 *   rr    64-byte request / 1 KiB response transactions on one connection;
 *   crr   connect, 64-byte request, 1 KiB response, close: cycles per second.
 * Single-threaded, one core: the numbers are the protocol cost per byte and per
 * segment of this implementation, not of any NIC.
 *
 * Offload modes (second argument, default all three in turn):
 *   none  no device offloads: TCP sums each segment in its copy (copy-and-sum) and
 *         verifies on receive;
 *   csum  a device on both ends fills partial checksums and verifies received ones
 *         (the link marks frames PKT_F_CSUM_OK, as NETDEV_F_RX_CSUM does);
 *   tso   csum plus super-segments (64 KiB, PKT_F_GSO_TCP4) handed across whole, as a
 *         TSO sender and an LRO receiver would see them;
 *   gro   none, but each pump's queue is one receive burst through net/gro.c (in-order
 *         segments merged before TCP sees them).
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/host_panic.h"
#include "net/tcp.h"
#include "net/pkt.h"
#include "net/gro.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u
#define SLOTS 8192
#define QMAX 8192
#define BIG_SLOTS 64
#define BIG_BUF 65536


static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct side {
	struct tcp_stack t;
	uint32_t addr;
	uint64_t rng;
};

struct qent {
	struct pkt *p;
	uint32_t src, dst;
	struct side *to;
};

static struct pkt_pool pool;
static struct side A, B;
static struct qent q[QMAX];
static unsigned qhead, qtail;
static uint64_t frames;

enum mode { MODE_NONE, MODE_CSUM, MODE_TSO, MODE_GRO };
static const char *const mode_names[] = { "none", "csum", "tso", "gro" };
static enum mode mode;
static struct pkt_pool big_pool;

static int link_output(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct side *from = ctx;
	if (p->flags & PKT_F_CSUM_PARTIAL) {
		/* The sending device filled it, the receiving one checked it. */
		p->flags = (uint16_t)((p->flags & ~(PKT_F_CSUM_PARTIAL | PKT_F_GSO_TCP4)) | PKT_F_CSUM_OK);
	}
	if (qtail - qhead >= QMAX) {
		pkt_free(p);
		return -1;
	}
	q[qtail++ % QMAX] = (struct qent){ p, src, dst, from == &A ? &B : &A };
	frames++;
	return 0;
}

static int route(void *ctx, uint32_t dst, uint32_t *src, uint16_t *mtu)
{
	(void)dst;
	*src = ((struct side *)ctx)->addr;
	*mtu = 1500;
	return 0;
}

static struct pkt *palloc(void *ctx)
{
	(void)ctx;
	return pkt_alloc(&pool);
}

static struct pkt *palloc_big(void *ctx)
{
	(void)ctx;
	return pkt_alloc(&big_pool);
}

static int offload(void *ctx, uint32_t dst, struct tcp_offload *o)
{
	(void)ctx;
	(void)dst;
	o->csum = mode != MODE_NONE;
	o->gso_max = 0;
	return 0;
}

static void *malloc_cb(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void free_cb(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static uint64_t rnd(void *ctx)
{
	struct side *s = ctx;
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static uint64_t clk(void *ctx)
{
	(void)ctx;
	return now_ns();
}

static void side_init(struct side *s, uint32_t addr, const struct tcp_config *cfg)
{
	s->addr = addr;
	s->rng = addr * 0x9e3779b97f4a7c15ull;
	struct tcp_env env = {
		.ip_output = link_output, .route = route, .pkt_alloc = palloc,
		.mem_alloc = malloc_cb, .mem_free = free_cb, .random = rnd, .clock_ns = clk, .ctx = s,
		.tx_offload = offload, .pkt_alloc_big = mode == MODE_TSO ? palloc_big : NULL,
	};
	tcp_init(&s->t, &env, cfg, now_ns());
}

static uint64_t last_poll;
static struct gro gro_a, gro_b;

static void gro_to_tcp(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	tcp_input(&((struct side *)ctx)->t, p, src, dst, now_ns());
}

/* Moves every queued packet (one receive burst); polls timers about every millisecond. */
static void pump(void)
{
	uint64_t n = now_ns();
	gro_a.open = gro_b.open = mode == MODE_GRO;
	while (qhead != qtail) {
		struct qent e = q[qhead++ % QMAX];
		if (mode == MODE_GRO)
			gro_receive(e.to == &A ? &gro_a : &gro_b, e.p, e.src, e.dst);
		else
			tcp_input(&e.to->t, e.p, e.src, e.dst, n);
	}
	gro_flush(&gro_a);
	gro_flush(&gro_b);
	if (n - last_poll > 1000000) {
		tcp_poll(&A.t, n);
		tcp_poll(&B.t, n);
		last_poll = n;
	}
}

static struct tcp_sock *connect_pair(struct tcp_sock *l, struct tcp_sock **server)
{
	struct tcp_sock *c;
	int err = tcp_connect(&A.t, 0, B_ADDR, 80, NULL, NULL, &c);
	if (err != 0) {
		fprintf(stderr, "tcp_connect: %d\n", err);
		abort();
	}
	*server = NULL;
	/* Usually at once; a SYN that meets an old TIME-WAIT may need a SYN retry. */
	for (uint64_t t0 = now_ns(); !*server && now_ns() - t0 < 5000000000ull;) {
		pump();
		tcp_accept(l, server);
	}
	if (!*server)
		abort();
	return c;
}

static uint8_t srcbuf[1 << 20];
static uint8_t dstbuf[1 << 16];

static double bulk(struct tcp_sock *l, uint64_t total, bool zero_copy)
{
	struct tcp_sock *s, *c = connect_pair(l, &s);
	uint64_t sent = 0, got = 0, t0 = now_ns();
	while (got < total) {
		while (sent < total) {
			uint64_t off = sent % sizeof(srcbuf), n = sizeof(srcbuf) - off;
			if (n > total - sent)
				n = total - sent;
			if (n > 65536)
				n = 65536;
			if (zero_copy) {
				if (tcp_send_ref(c, srcbuf + off, n, NULL, NULL) != 0)
					break;
				sent += n;
			} else {
				long w = tcp_send(c, srcbuf + off, n);
				if (w <= 0)
					break;
				sent += (uint64_t)w;
			}
		}
		pump();
		if (zero_copy) {
			const uint8_t *d;
			size_t n;
			while ((n = tcp_recv_peek(s, &d)) > 0) {
				got += n;
				tcp_recv_consume(s, n);
			}
		} else {
			long n;
			while ((n = tcp_recv(s, dstbuf, sizeof(dstbuf))) > 0)
				got += (uint64_t)n;
		}
		pump();
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	tcp_close(c);
	tcp_close(s);
	for (int i = 0; i < 10; i++)
		pump();
	return (double)total * 8 / secs / 1e9;
}

static double rr(struct tcp_sock *l, double seconds)
{
	struct tcp_sock *s, *c = connect_pair(l, &s);
	uint8_t req[64] = { 1 }, resp[1024] = { 2 }, buf[2048];
	uint64_t n = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
	while (now_ns() < end) {
		for (int k = 0; k < 64; k++) {
			tcp_send(c, req, sizeof(req));
			pump();
			long r = 0, want = sizeof(req);
			while (want > 0 && (r = tcp_recv(s, buf, (size_t)want)) > 0)
				want -= r;
			tcp_send(s, resp, sizeof(resp));
			pump();
			want = sizeof(resp);
			while (want > 0) {
				r = tcp_recv(c, buf, (size_t)want);
				if (r > 0)
					want -= r;
				else
					pump();
			}
			n++;
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	tcp_close(c);
	tcp_close(s);
	for (int i = 0; i < 10; i++)
		pump();
	return (double)n / secs;
}

static double crr(struct tcp_sock *l, double seconds)
{
	uint8_t req[64] = { 1 }, resp[1024] = { 2 }, buf[2048];
	uint64_t n = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
	while (now_ns() < end) {
		struct tcp_sock *s, *c = connect_pair(l, &s);
		tcp_send(c, req, sizeof(req));
		pump();
		long want = sizeof(req), r;
		while (want > 0 && (r = tcp_recv(s, buf, (size_t)want)) > 0)
			want -= r;
		tcp_send(s, resp, sizeof(resp));
		tcp_close(s);                   /* the server closes first: TIME-WAIT there */
		pump();
		want = sizeof(resp);
		while (want > 0) {
			r = tcp_recv(c, buf, (size_t)want);
			if (r > 0)
				want -= r;
			else
				pump();
		}
		tcp_close(c);
		pump();
		n++;
	}
	return (double)n / ((double)(now_ns() - t0) / 1e9);
}

static void run_mode(enum mode m, uint64_t mib, bool short_run)
{
	mode = m;
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 1 << 20;
	cfg.sndbuf = 1 << 20;
	cfg.max_refs = 256;
	cfg.max_conns = 4096;
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	side_init(&A, A_ADDR, &cfg);
	side_init(&B, B_ADDR, &cfg);
	gro_init(&gro_a, &big_pool, gro_to_tcp, &A);
	gro_init(&gro_b, &big_pool, gro_to_tcp, &B);
	struct tcp_sock *l;
	if (tcp_listen(&B.t, 0, 80, 1024, NULL, NULL, &l) != 0)
		abort();
	printf("mode %s:\n", mode_names[m]);
	uint64_t f0 = frames;
	double g = bulk(l, mib << 20, false);
	printf("bulk  tcp_send/tcp_recv (copy):          %6.2f Gbit/s %6.0f ns/KiB  (%llu MiB, %llu frames)\n",
	       g, 8192.0 / g, (unsigned long long)mib, (unsigned long long)(frames - f0));
	f0 = frames;
	g = bulk(l, mib << 20, true);
	printf("bulk  tcp_send_ref/recv_peek (zero copy): %6.2f Gbit/s %6.0f ns/KiB  (%llu MiB, %llu frames)\n",
	       g, 8192.0 / g, (unsigned long long)mib, (unsigned long long)(frames - f0));
	if (!short_run) {
		printf("rr    64 B request / 1 KiB response:     %8.0f transactions/s\n", rr(l, 2.0));
		printf("crr   connect/request/response/close:    %8.0f cycles/s\n", crr(l, 2.0));
	}
	printf("      (retransmitted segments: %llu; super-segments %llu carrying %llu wire segments, "
	       "%llu without a big buffer)\n",
	       (unsigned long long)(A.t.mib[TCP_MIB_RetransSegs] + B.t.mib[TCP_MIB_RetransSegs]),
	       (unsigned long long)A.t.mib[TCP_MIB_GsoSegs], (unsigned long long)A.t.mib[TCP_MIB_GsoWireSegs],
	       (unsigned long long)A.t.mib[TCP_MIB_GsoNoBuf]);
	tcp_close(l);
	tcp_shutdown_stack(&A.t);
	tcp_shutdown_stack(&B.t);
	while (qhead != qtail)
		pkt_free(q[qhead++ % QMAX].p);
}

/* tcp_bench [MiB [none|csum|tso|all]]; "all" (the default) runs the bulk tests of every
 * mode and rr/crr once. */
int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 2048;
	const char *which = argc > 2 ? argv[2] : "all";
	void *mem = aligned_alloc(64, (size_t)SLOTS * PKT_SLOT_SIZE);
	pkt_pool_init(&pool, mem, 0, SLOTS);
	void *big = aligned_alloc(64, (size_t)BIG_SLOTS * pkt_slot_size(BIG_BUF));
	pkt_pool_init_sized(&big_pool, big, 0, BIG_SLOTS, BIG_BUF);
	for (size_t i = 0; i < sizeof(srcbuf); i++)
		srcbuf[i] = (uint8_t)(i * 7);
	printf("tcp_bench: two stacks over an in-memory link, MTU 1500, 1 MiB buffers, one core\n");
	for (int m = MODE_NONE; m <= MODE_GRO; m++)
		if (strcmp(which, "all") == 0 || strcmp(which, mode_names[m]) == 0)
			run_mode((enum mode)m, mib, strcmp(which, "all") == 0 && m != MODE_NONE);
	free(mem);
	free(big);
	return 0;
}
