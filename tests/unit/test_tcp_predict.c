/*
 * Header prediction (tcp_in.c established_fast): the same segments through a stack
 * with prediction on and one with it off must leave the same TCB, the same counters
 * (the TCPHPHits/TCPHPAcks pair aside, which only the fast path counts) and emit the
 * same segments. Each scenario also checks that the fast path really ran.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"
#include <string.h>

struct pair {
	struct th h[2];         /* [0] prediction on, [1] off */
	struct th_peer p[2];
	struct tcp_sock *l[2], *c[2];
};

static const struct tcp_opts full_opts = {
	.has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS | TCP_HAS_WS,
	.mss = 1460, .ws = 7, .tsval = 5000,
};

static bool pair_open(struct pair *x, const struct tcp_opts *opts)
{
	for (int i = 0; i < 2; i++) {
		struct tcp_config cfg;
		tcp_config_default(&cfg);
		cfg.hdr_predict = i == 0;
		th_init(&x->h[i], &cfg);
		x->c[i] = th_estab(&x->h[i], &x->p[i], &x->l[i], opts, 0);
		if (!x->c[i])
			return false;
	}
	return true;
}

static void pair_close(struct pair *x)
{
	for (int i = 0; i < 2; i++) {
		tcp_abort(x->c[i]);
		tcp_close(x->l[i]);
		th_fini(&x->h[i]);
	}
}


/* TCB, counters and everything emitted since the last call agree. */
static void pair_same(struct pair *x)
{
	th_same_tcb(x->c[0], x->c[1]);
	CHECK_EQ(x->h[0].t.timer_lb, x->h[1].t.timer_lb);
	for (int m = 0; m < TCP_MIB_COUNT; m++) {
		if (m == TCP_MIB_TCPHPHits || m == TCP_MIB_TCPHPAcks)
			continue;
		if (x->h[0].t.mib[m] != x->h[1].t.mib[m])
			printf("    mib %d: %llu vs %llu\n", m, (unsigned long long)x->h[0].t.mib[m],
			       (unsigned long long)x->h[1].t.mib[m]);
		CHECK_EQ(x->h[0].t.mib[m], x->h[1].t.mib[m]);
	}
	CHECK_EQ(x->h[1].t.mib[TCP_MIB_TCPHPHits] + x->h[1].t.mib[TCP_MIB_TCPHPAcks], 0);
	th_same_segs(&x->h[0], &x->h[1]);
}

static uint8_t buf[4096];

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i + seed) * 2654435761u >> 13);
}

/* Both peers acknowledge everything their connection sent so far. */
static void ack_all(struct pair *x)
{
	for (int i = 0; i < 2; i++)
		x->p[i].ack = x->c[i]->snd_max;
}

/* One request/response turn on both: the peer sends req bytes (ACKing what it got),
 * the application reads them and answers resp bytes, time passes. */
static void rr_turn(struct pair *x, size_t req, size_t resp, uint64_t gap_ns)
{
	fill(buf, req, (uint32_t)x->p[0].seq);
	for (int i = 0; i < 2; i++) {
		th_advance(&x->h[i], gap_ns);
		x->p[i].tsval += 3;
		peer_send(&x->h[i], &x->p[i], TCP_ACK | TCP_PSH, buf, req);
		uint8_t in[4096];
		long r = tcp_recv(x->c[i], in, sizeof(in));
		CHECK_EQ(r, (long)req);
		if (resp) {
			fill(buf, resp, (uint32_t)resp);
			CHECK_EQ(tcp_send(x->c[i], buf, resp), (long)resp);
		}
	}
}

TEST(tcp_predict_rr_same_as_checklist)
{
	struct pair x;
	REQUIRE(pair_open(&x, &full_opts));
	pair_same(&x);
	for (int n = 0; n < 40; n++) {
		rr_turn(&x, 64 + n, 1000, (uint64_t)(1 + n % 3) * TH_MS);
		pair_same(&x);
		ack_all(&x);
	}
	/* A pure ACK of new data, then one of nothing new (a duplicate: checklist). */
	for (int i = 0; i < 2; i++)
		CHECK_EQ(tcp_send(x.c[i], buf, 3000), 3000);
	pair_same(&x);
	for (int i = 0; i < 2; i++) {
		x.p[i].ack = x.c[i]->snd_una + 1448;
		x.p[i].tsval++;
		peer_send(&x.h[i], &x.p[i], TCP_ACK, NULL, 0);
		peer_send(&x.h[i], &x.p[i], TCP_ACK, NULL, 0);
	}
	pair_same(&x);
	/* An old timestamp (PAWS), a window update, then everything ACKed. */
	for (int i = 0; i < 2; i++) {
		x.p[i].tsval -= 10;
		peer_send(&x.h[i], &x.p[i], TCP_ACK, buf, 10);
		x.p[i].seq -= 10;
		x.p[i].tsval += 20;
		x.p[i].wnd = 200;
		peer_send(&x.h[i], &x.p[i], TCP_ACK, NULL, 0);
		x.p[i].ack = x.c[i]->snd_max;
		peer_send(&x.h[i], &x.p[i], TCP_ACK, NULL, 0);
	}
	pair_same(&x);
	/* Delayed ACK timers fire the same. */
	for (int i = 0; i < 2; i++)
		th_advance(&x.h[i], 300 * TH_MS);
	pair_same(&x);
	CHECK(x.h[0].t.mib[TCP_MIB_TCPHPHits] >= 40);  /* it did take the fast path */
	CHECK(x.h[0].t.mib[TCP_MIB_TCPHPAcks] >= 1);
	pair_close(&x);
}

/* Bulk data from the peer (only text, the ACK field does not move) and from us (only
 * ACKs: slow start, then congestion avoidance after a loss), without timestamps. */
TEST(tcp_predict_bulk_same_as_checklist)
{
	static const struct tcp_opts opts = { .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM, .mss = 1460 };
	struct pair x;
	REQUIRE(pair_open(&x, &opts));
	for (int n = 0; n < 30; n++) {
		fill(buf, 1460, (uint32_t)n);
		for (int i = 0; i < 2; i++) {
			th_advance(&x.h[i], 100 * 1000);
			peer_send(&x.h[i], &x.p[i], TCP_ACK, buf, 1460);
			if (n % 4 == 3) {
				uint8_t in[8192];
				tcp_recv(x.c[i], in, sizeof(in));
			}
		}
		pair_same(&x);
	}
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 2; i++) {
			long w = tcp_send(x.c[i], buf, 4000);
			CHECK(w > 0);
		}
		pair_same(&x);
		for (int i = 0; i < 2; i++) {
			th_advance(&x.h[i], 2 * TH_MS);
			while (seq_lt(x.p[i].ack, x.c[i]->snd_max)) {
				uint32_t left = x.c[i]->snd_max - x.p[i].ack;
				x.p[i].ack += left < 1460 ? left : 1460;
				if (round == 3 && x.p[i].ack == x.c[i]->snd_max) {
					th_advance(&x.h[i], 5 * TH_SEC);        /* RTO: CA_LOSS */
					continue;
				}
				peer_send(&x.h[i], &x.p[i], TCP_ACK, NULL, 0);
			}
			x.p[i].ack = x.c[i]->snd_max;
			peer_send(&x.h[i], &x.p[i], TCP_ACK, NULL, 0);
		}
		pair_same(&x);
	}
	CHECK(x.h[0].t.mib[TCP_MIB_TCPHPHits] >= 25);
	CHECK(x.h[0].t.mib[TCP_MIB_TCPHPAcks] >= 10);
	pair_close(&x);
}

/* A new TCB zeroes everything but its SACK scoreboard and out-of-order range arrays
 * (TCP_TCB_ZERO_LEN): a TCB reused from the object cache with junk there must behave
 * as a fresh one, its first SACK block being the one hole it has. */
TEST(tcp_tcb_reused_with_stale_ranges)
{
	static const struct tcp_opts sack = { .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM, .mss = 1460 };
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, &sack, 0);
	REQUIRE(c);
	p.seq += 500;                           /* leave ranges behind: two holes */
	peer_send(&h, &p, TCP_ACK, buf, 100);
	p.seq += 300;
	peer_send(&h, &p, TCP_ACK, buf, 100);
	CHECK_EQ(c->nooo, 2);
	tcp_abort(c);
	th_advance(&h, TH_MS);                  /* reaped: into the TCB cache */
	th_drain(&h);
	struct tcp_sock *old = h.t.cache[0].head;
	REQUIRE(old == c);
	memset(old->sb, 0xa5, sizeof(old->sb));
	memset(old->ooo, 0x5a, sizeof(old->ooo));
	struct th_peer q;
	peer_init(&q, 8080, 0, 70000);
	struct tcp_sock *d = th_open_active(&h, &q, &sack);
	REQUIRE(d == old);
	CHECK_EQ(d->nsb, 0);
	CHECK_EQ(d->nooo, 0);
	/* One segment past a hole: the ACK carries exactly that block. */
	uint32_t x = q.seq;
	q.seq = x + 100;
	peer_send(&h, &q, TCP_ACK, buf, 50);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.ack, x);
	CHECK_EQ(s.h.opt.nsack, 1);
	CHECK_EQ(s.h.opt.sack[0].start, x + 100);
	CHECK_EQ(s.h.opt.sack[0].end, x + 150);
	/* The hole filled: everything is in order, no block. */
	q.seq = x;
	peer_send(&h, &q, TCP_ACK, buf, 100);
	POP(&h, s);
	CHECK_EQ(s.h.ack, x + 150);
	CHECK(!(s.h.opt.has & TCP_HAS_SACK));
	/* Our data ACKed: no scoreboard appears from the junk. */
	CHECK_EQ(tcp_send(d, buf, 500), 500);
	POP(&h, s);
	q.seq = x + 150;
	q.ack = d->snd_max;
	peer_send(&h, &q, TCP_ACK, NULL, 0);
	CHECK_EQ(d->nsb, 0);
	CHECK_EQ(d->snd_una, d->snd_max);
	uint8_t in[256];
	CHECK_EQ(tcp_recv(d, in, sizeof(in)), 150);
	tcp_abort(d);
	tcp_close(l);
	th_fini(&h);
}
