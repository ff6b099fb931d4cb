/*
 * GRO chains (net/gro.h) against the merge copy: twin TCP stacks, each behind its own GRO
 * table, one chaining the segments' packets ([0]) and one copying payloads into a big
 * buffer ([1], g.chain clear, the behaviour before chains). The same random bursts go
 * into both: in-order trains of full and of small segments, out-of-order data,
 * duplicates, trains overlapping data already received (TCP trims across a chain's
 * pieces), trains beyond the window (the application stops reading), a bad checksum
 * mid-train, an ACK that changes mid-train, PSH, and at the end a FIN or a RST (the
 * rest of the train then finds no connection). After every burst the TCBs, every MIB,
 * the GRO counters and the segments emitted must agree, the bytes read must be the
 * peer's stream, and the packet pools must hold the same number of free slots; at the
 * end every slot is back (th_fini).
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/gro.h"
#include "net/tcp_int.h"
#include <stdlib.h>
#include <string.h>

#define NBIG 8
#define ISN 1000u

struct twin {
	struct th h[2];
	struct gro g[2];
	struct pkt_pool big[2];
	void *big_mem[2];
	struct th_peer p[2];
	struct tcp_sock *l[2], *c[2];
	uint32_t hi;            /* the peer's next new sequence number */
	uint32_t read;          /* sequence number of the next byte the application reads */
	uint64_t rng;
	bool gone;
};

/* The peer's stream: the byte at sequence number q (the same on every resend). */
static uint8_t stream_byte(uint32_t q)
{
	return (uint8_t)((q * 2654435761u) >> 13);
}

static uint32_t rnd(struct twin *x, uint32_t n)
{
	x->rng ^= x->rng << 13;
	x->rng ^= x->rng >> 7;
	x->rng ^= x->rng << 17;
	return n ? (uint32_t)(x->rng % n) : 0;
}

static void to_tcp(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct th *h = ctx;
	tcp_input(&h->t, p, src, dst, h->now);
}

static const struct tcp_opts ts_opts = {
	.has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS | TCP_HAS_WS,
	.mss = 1460, .ws = 7, .tsval = 5000,
};

static bool twin_open(struct twin *x, uint64_t seed, uint32_t rcvbuf)
{
	memset(x, 0, sizeof(*x));
	x->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < 2; i++) {
		struct tcp_config cfg;
		tcp_config_default(&cfg);
		if (rcvbuf)
			cfg.rcvbuf = rcvbuf;
		th_init(&x->h[i], &cfg);
		x->big_mem[i] = aligned_alloc(64, NBIG * pkt_slot_size(65536));
		pkt_pool_init_sized(&x->big[i], x->big_mem[i], 0, NBIG, 65536);
		gro_init(&x->g[i], &x->big[i], to_tcp, &x->h[i]);
		x->g[i].chain = i == 0;
		x->c[i] = th_estab(&x->h[i], &x->p[i], &x->l[i], &ts_opts, 0);
		if (!x->c[i])
			return false;
	}
	x->hi = x->read = ISN + 1;
	return true;
}

static void twin_close(struct twin *x)
{
	for (int i = 0; i < 2; i++) {
		tcp_abort(x->c[i]);
		tcp_close(x->l[i]);
		gro_flush(&x->g[i]);
		CHECK_EQ(x->big[i].stats.free, NBIG);
		th_fini(&x->h[i]);
		free(x->big_mem[i]);
	}
}

/* One segment from the peer into GRO (not yet to TCP: the burst is open). */
static void gsend(struct twin *x, int i, uint32_t seq, uint8_t flags, uint32_t len, bool bad)
{
	struct th *h = &x->h[i];
	struct th_peer *pe = &x->p[i];
	struct pkt *p = pkt_alloc(&h->pool);
	REQUIRE(p);
	pe->tsval++;
	struct tcp_hdr hdr = { .sport = pe->port, .dport = pe->lport, .seq = seq, .ack = pe->ack,
			       .flags = flags, .wnd = pe->wnd,
			       .opt = { .has = TCP_HAS_TS, .tsval = pe->tsval, .tsecr = pe->tsecr } };
	uint8_t *b = pkt_data(p);
	size_t hl = tcp_wire_emit(&hdr, b, pkt_tailroom(p));
	REQUIRE(hl && hl + len <= pkt_tailroom(p));
	for (uint32_t k = 0; k < len; k++)
		b[hl + k] = stream_byte(seq + k);
	p->len = (uint32_t)(hl + len);
	tcp_wire_set_csum(b, p->len, pe->addr, h->addr);
	if (bad)
		b[hl ? hl - 1 : 0] ^= 0x40;     /* a byte of the option area: checksum fails */
	gro_receive(&x->g[i], p, pe->addr, h->addr);
}

struct seg_plan {
	uint32_t seq, len;
	uint8_t flags;
	bool bad, new_ack;
};

/* A random burst: a train (or two) of segments, the same plan for both twins. */
static int plan_burst(struct twin *x, struct seg_plan *pl, int max)
{
	uint32_t rcv_nxt = x->c[1]->rcv_nxt;
	int n = 0;
	int trains = 1 + (int)rnd(x, 2);
	for (int k = 0; k < trains && n < max; k++) {
		uint32_t start, r = rnd(x, 100);
		if (r < 55)
			start = x->hi;                                          /* new data */
		else if (r < 70)
			start = rcv_nxt;                                        /* fills holes */
		else if (r < 82)
			start = rcv_nxt - rnd(x, 4000);                         /* overlaps */
		else if (r < 92)
			start = x->hi + 1 + rnd(x, 3000);                       /* out of order */
		else
			start = rcv_nxt - 1448 * (1 + rnd(x, 3));               /* old duplicate */
		if (seq_lt(start, ISN + 1))
			start = ISN + 1;
		uint32_t size = rnd(x, 4) == 0 ? 1 + rnd(x, 300) : 1448;        /* small or full */
		int segs = 1 + (int)rnd(x, 40);
		uint32_t seq = start;
		for (int s = 0; s < segs && n < max; s++) {
			struct seg_plan *q = &pl[n++];
			q->seq = seq;
			q->len = size;
			if (s + 1 == segs && rnd(x, 4) == 0)
				q->len = 1 + rnd(x, size);              /* a short last one */
			q->flags = TCP_ACK;
			if (s + 1 == segs && rnd(x, 3) == 0)
				q->flags |= TCP_PSH;
			q->bad = rnd(x, 40) == 0;
			q->new_ack = rnd(x, 30) == 0;
			seq += q->len;
		}
		if (seq_gt(seq, x->hi))
			x->hi = seq;
	}
	return n;
}

/* Everything both twins show agrees (and the pools hold as many free slots). */
static void twin_same(struct twin *x)
{
	if (!x->gone)
		th_same_tcb(x->c[0], x->c[1]);
	for (int m = 0; m < TCP_MIB_COUNT; m++) {
		if (x->h[0].t.mib[m] != x->h[1].t.mib[m])
			printf("    mib %d: %llu vs %llu\n", m, (unsigned long long)x->h[0].t.mib[m],
			       (unsigned long long)x->h[1].t.mib[m]);
		CHECK_EQ(x->h[0].t.mib[m], x->h[1].t.mib[m]);
	}
	const struct gro_stats *a = &x->g[0].st, *b = &x->g[1].st;
	CHECK_EQ(a->held, b->held);
	CHECK_EQ(a->merged, b->merged);
	CHECK_EQ(a->flushed, b->flushed);
	CHECK_EQ(a->not_eligible, b->not_eligible);
	CHECK_EQ(a->nobuf + b->nobuf, 0);
	CHECK_EQ(b->chained, 0);
	CHECK_EQ(x->h[0].pool.stats.free, x->h[1].pool.stats.free);
	CHECK_EQ(x->big[0].stats.free, NBIG);
	CHECK_EQ(x->big[1].stats.free, NBIG);
	th_same_segs(&x->h[0], &x->h[1]);
}

/* The application reads everything on both; the bytes are the peer's stream. */
static void twin_read(struct twin *x)
{
	static uint8_t in[2][1 << 20];
	long r[2];
	for (int i = 0; i < 2; i++)
		r[i] = tcp_recv(x->c[i], in[i], sizeof(in[i]));
	CHECK_EQ(r[0], r[1]);
	if (r[0] <= 0 || r[0] != r[1])
		return;
	int bad = 0, diff = 0;
	for (long k = 0; k < r[0]; k++) {
		bad += in[0][k] != stream_byte(x->read + (uint32_t)k);
		diff += in[0][k] != in[1][k];
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(diff, 0);
	x->read += (uint32_t)r[0];
}

/* One burst into both; what it ends with: 0 nothing, 1 a FIN, 2 a RST mid-train. */
static void twin_burst(struct twin *x, int end)
{
	static struct seg_plan pl[96];
	int n = plan_burst(x, pl, 80);
	int rst_at = end == 2 ? n / 2 : -1;
	bool app_sends = rnd(x, 5) == 0;
	for (int i = 0; i < 2; i++) {
		if (app_sends)
			CHECK_EQ(tcp_send(x->c[i], "response", 8), 8);
		x->g[i].open = true;
		for (int k = 0; k < n; k++) {
			if (pl[k].new_ack)
				x->p[i].ack = x->c[i]->snd_max;
			if (k == rst_at)
				gsend(x, i, x->c[i]->rcv_nxt, TCP_RST | TCP_ACK, 0, false);
			gsend(x, i, pl[k].seq, pl[k].flags, pl[k].len, pl[k].bad);
		}
		if (end == 1)
			gsend(x, i, x->hi, TCP_FIN | TCP_ACK, 0, false);
		gro_flush(&x->g[i]);
		x->g[i].open = false;
	}
	if (end == 2)
		x->gone = x->c[1]->state == TCP_CLOSED;
	CHECK_EQ(x->c[0]->state, x->c[1]->state);
	twin_same(x);
	uint64_t gap = (1 + rnd(x, 3)) * TH_MS;
	for (int i = 0; i < 2; i++)
		th_advance(&x->h[i], gap);
	twin_same(x);
}

static void run_seed(uint64_t seed, uint32_t rcvbuf)
{
	struct twin *x = calloc(1, sizeof(*x));
	REQUIRE(twin_open(x, seed, rcvbuf));
	int end = (int)(seed % 3);
	for (int round = 0; round < 30; round++) {
		twin_burst(x, round == 29 ? end : 0);
		if (!x->gone && rnd(x, 10) < 7)
			twin_read(x);
	}
	if (!x->gone)
		twin_read(x);
	CHECK(x->g[0].st.chained > 0);          /* the chain path really ran */
	twin_close(x);
	free(x);
}

TEST(tcp_gro_chain_same_as_merge_copy_random_trains)
{
	for (uint64_t seed = 1; seed <= 24; seed++)
		run_seed(seed, 0);
}

/* A small receive buffer: most trains run past the window (trimmed at its right edge,
 * TCPRcvQDrop when past the buffer). */
TEST(tcp_gro_chain_same_as_merge_copy_window_limited)
{
	for (uint64_t seed = 100; seed <= 111; seed++)
		run_seed(seed, 16384);
}

/* One stack behind a chaining GRO: a train of n full segments from seq, in one burst. */
static void chain_train(struct twin *x, uint32_t seq, int n, uint16_t sport)
{
	uint16_t port = x->p[0].port;
	x->p[0].port = sport ? sport : port;
	x->g[0].open = true;
	for (int k = 0; k < n; k++)
		gsend(x, 0, seq + 1448u * (uint32_t)k, TCP_ACK, 1448, false);
	gro_flush(&x->g[0]);
	x->g[0].open = false;
	x->p[0].port = port;
}

/* Every way TCP drops a chain frees all its pieces: no memory for the receive buffer
 * (TCPRcvQDrop), no connection (a RST answers), the connection reset by a RST just
 * before the rest of the train, a window of zero (only the ACK is taken). th_fini
 * and the pool counts say whether a piece stayed behind. */
TEST(tcp_gro_chain_drop_paths_free_every_piece)
{
	struct twin *x = calloc(1, sizeof(*x));
	REQUIRE(twin_open(x, 7, 0));
	struct th *h = &x->h[0];
	uint32_t base = h->pool.stats.free;
	uint64_t chained = x->g[0].st.chained;
	/* No memory for the receive buffer: the whole text dropped, unacknowledged. */
	h->mem_fail_after = 0;
	chain_train(x, ISN + 1, 10, 0);
	h->mem_fail_after = -1;
	CHECK_EQ(h->t.mib[TCP_MIB_TCPRcvQDrop], 1);
	CHECK_EQ(x->c[0]->rcv_nxt, ISN + 1);
	CHECK_EQ(x->g[0].st.chained, chained + 9);
	th_drain(h);
	CHECK_EQ(h->pool.stats.free, base);
	/* Now taken: ten segments' bytes, one ACK. */
	chain_train(x, ISN + 1, 10, 0);
	CHECK_EQ(x->c[0]->rcv_nxt, ISN + 1 + 14480);
	th_drain(h);
	CHECK_EQ(h->pool.stats.free, base);
	/* No connection from that port (the listener's, which answers an ACK with a RST):
	 * the chain freed. */
	chain_train(x, 77777, 6, 40999);
	struct th_seg s;
	POP(h, s);
	CHECK(s.h.flags & TCP_RST);
	CHECK_EQ(h->pool.stats.free, base);
	/* The application stops reading: a zero window takes no text at all. */
	uint32_t nxt = x->c[0]->rcv_nxt;
	for (int k = 0; k < 6; k++)
		chain_train(x, x->c[0]->rcv_nxt, 20, 0);
	CHECK(seq_gt(x->c[0]->rcv_nxt, nxt));
	CHECK_EQ(x->c[0]->rcv_nxt - (ISN + 1), x->c[0]->rbuf_size);     /* full, exactly */
	uint64_t zw = h->t.mib[TCP_MIB_TCPZeroWindowDrop];
	chain_train(x, x->c[0]->rcv_nxt, 5, 0);
	CHECK_EQ(h->t.mib[TCP_MIB_TCPZeroWindowDrop], zw + 1);
	th_drain(h);
	CHECK_EQ(h->pool.stats.free, base);
	/* A RST, then the rest of a train for the connection it reset. */
	x->g[0].open = true;
	gsend(x, 0, x->c[0]->rcv_nxt, TCP_RST | TCP_ACK, 0, false);
	for (int k = 0; k < 5; k++)
		gsend(x, 0, x->c[0]->rcv_nxt + 1448u * (uint32_t)k, TCP_ACK, 1448, false);
	gro_flush(&x->g[0]);
	x->g[0].open = false;
	CHECK_EQ(x->c[0]->state, TCP_CLOSED);
	th_drain(h);
	CHECK_EQ(h->pool.stats.free, base);
	/* twin_close's th_fini: every slot of both pools back. */
	twin_close(x);
	free(x);
}
