/*
 * TCP pacing (tcp_out.c; Linux tcp_update_pacing_rate, tcp_update_skb_after_send,
 * tcp_pacing_check): the rate from cwnd and srtt with the slow-start and
 * congestion-avoidance ratios, data segments spaced by their length at that rate on a
 * clock stepped like the kernel's 1 ms tick, pacing off sending the window at once, and
 * a held connection resuming from tcp_poll() when the clock reaches its departure time.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"
#include "net/config.h"
#include <stdlib.h>

static uint8_t data[65536];

#define SRTT_US 100000u                 /* 100 ms: a 1512-byte segment every ~5 ms */

/* An established passive connection (MSS 1460, no options) with pacing as asked and a
 * known smoothed RTT, so the rate is a number the test can compute. */
static struct tcp_sock *paced_conn(struct th *h, struct th_peer *p, struct tcp_sock **l, bool on)
{
	th_init(h, NULL);
	h->t.cfg.pacing = on;
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
	struct tcp_sock *c = th_estab(h, p, l, &o, 0);
	if (!c)
		return NULL;
	c->srtt_us = SRTT_US;
	tcp_update_pacing_rate(c);
	return c;
}

static void done(struct th *h, struct tcp_sock *c, struct tcp_sock *l)
{
	tcp_abort(c);
	tcp_close(l);
	th_fini(h);
}

TEST(tcp_pacing_rate_slow_start_and_ca_ratio)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	REQUIRE(c->cwnd == 10 * 1460);
	/* Slow start (cwnd < ssthresh/2): 200% of cwnd per srtt. */
	CHECK_EQ(c->pacing_rate, 10ull * 1460 * 1000000 * 2 / SRTT_US);
	/* Congestion avoidance: 120%. */
	c->ssthresh = c->cwnd;
	tcp_update_pacing_rate(c);
	CHECK_EQ(c->pacing_rate, 10ull * 1460 * 1000000 * 12 / 10 / SRTT_US);
	/* cwnd just under ssthresh/2 is still slow start (Linux's boundary). */
	c->ssthresh = 2 * c->cwnd + 2;
	tcp_update_pacing_rate(c);
	CHECK_EQ(c->pacing_rate, 10ull * 1460 * 1000000 * 2 / SRTT_US);
	/* No RTT sample: no rate, no pacing. */
	c->srtt_us = 0;
	tcp_update_pacing_rate(c);
	CHECK_EQ(c->pacing_rate, 0);
	done(&h, c, l);
}

struct cap {
	char text[2048];
	size_t len;
};

static void out(void *ctx, const char *line)
{
	struct cap *k = ctx;
	int n = snprintf(k->text + k->len, sizeof(k->text) - k->len, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(k->text) - k->len)
		k->len += (size_t)n;
}

TEST(tcp_pacing_rate_in_ss)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	struct tcp_conn_info i;
	REQUIRE(tcp_get_info(c, &i) == 0);
	CHECK_EQ(i.pacing_bps, 10ull * 1460 * 1000000 * 2 / SRTT_US * 8);    /* 2.3 Mbit/s */
	struct cap k = { .len = 0 };
	char *argv[] = { "ss", "-tni" };
	tcp_show(&h.t, 2, argv, out, &k);
	CHECK(strstr(k.text, " pacing_rate 2.3Mbps ") != NULL);
	/* Linux's order: after lastack, before delivery_rate/delivered. */
	CHECK(strstr(k.text, "lastack:") < strstr(k.text, "pacing_rate"));
	done(&h, c, l);
}

/* The departure times of the segments TCP emits while the clock advances in 1 ms steps
 * (the kernel tick); returns how many segments, stops at max or after limit_ms. */
static int departures(struct th *h, uint64_t *at, int max, int limit_ms)
{
	struct th_seg s;
	int n = 0;
	for (int ms = 0; ms <= limit_ms && n < max; ms++) {
		while (n < max && th_pop(h, &s))
			if (s.dlen)
				at[n++] = h->now;
		th_advance(h, TH_MS);
	}
	return n;
}

TEST(tcp_pacing_spaces_segments_by_len_over_rate)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	uint64_t rate = c->pacing_rate;
	CHECK_EQ(tcp_send(c, data, 10 * 1460), 10 * 1460);
	/* One segment now; the rest is held, with the pacing timer the next deadline. */
	CHECK_EQ(th_pending(&h), 1);
	CHECK(c->t_pace != 0);
	CHECK(!c->persist);
	CHECK_EQ(tcp_next_deadline(&h.t), c->t_pace);
	CHECK(h.t.timer_lb <= c->t_pace);       /* net_next_wake wakes the kernel for it */
	CHECK_EQ(h.t.mib[TCP_MIB_PacingHeld], 1);
	uint64_t at[16];
	int n = departures(&h, at, 16, 100);    /* before the 200 ms RTO */
	CHECK_EQ(n, 10);                        /* it never stalled */
	/* Each segment: 1460 + 40 header bytes at the rate, ~5.1 ms; the 1 ms tick and
	 * the one-tick slack move each departure by up to a tick or two. The first one
	 * after idle gets half its time back (Linux's credit for a late sender). */
	uint64_t gap = (1460ull + 40) * 1000000000ull / rate;
	for (int k = 1; k < n; k++) {
		uint64_t d = at[k] - at[k - 1];
		CHECK(d + 2 * TH_MS >= (k == 1 ? gap / 2 : gap));
		CHECK(d <= gap + 2 * TH_MS);
	}
	uint64_t span = at[n - 1] - at[0];
	CHECK(span + 2 * TH_MS >= 8 * gap + gap / 2);
	CHECK(span <= 9 * gap + 2 * TH_MS);
	done(&h, c, l);
}

TEST(tcp_pacing_off_sends_back_to_back)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, false);
	REQUIRE(c);
	CHECK(c->pacing_rate != 0);             /* known (ss shows it), not enforced */
	CHECK_EQ(tcp_send(c, data, 10 * 1460), 10 * 1460);
	CHECK_EQ(th_pending(&h), 10);           /* the whole initial window at once */
	CHECK_EQ(c->t_pace, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_PacingHeld], 0);
	done(&h, c, l);
}

static int data_segs(struct th *h)
{
	struct th_seg s;
	int n = 0;
	while (th_pop(h, &s))
		n += s.dlen != 0;
	return n;
}

/* Switching pacing off at run time (the shell's knob) releases what was held at the
 * next chance, and ACKs keep a paced connection going: it finishes a transfer larger
 * than its window, with every byte acknowledged, on the stepped clock. */
TEST(tcp_pacing_resumes_with_acks_and_when_switched_off)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, data, 40000), 40000);
	struct th_seg s;
	uint32_t acked = 0;
	for (int ms = 0; ms < 2000 && acked < 40000; ms++) {
		while (th_pop(&h, &s)) {
			if (!s.dlen)
				continue;
			p.ack = s.h.seq + s.dlen;
			acked = p.ack - c->iss - 1;
		}
		if (ms % 10 == 0)
			peer_send(&h, &p, TCP_ACK, NULL, 0);
		th_advance(&h, TH_MS);
	}
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK_EQ(acked, 40000);
	CHECK_EQ(c->snd_una, c->snd_buf_end);
	CHECK(h.t.mib[TCP_MIB_PacingHeld] > 1);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 0);

	c->srtt_us = SRTT_US;                   /* a slow path again: held after a few */
	tcp_update_pacing_rate(c);
	CHECK_EQ(tcp_send(c, data, 10 * 1460), 10 * 1460);
	int first = data_segs(&h);
	CHECK(first < 10);
	h.t.cfg.pacing = false;
	tcp_config_changed(&h.t);
	th_advance(&h, TH_MS / 10);             /* one loop turn */
	CHECK_EQ(first + data_segs(&h), 10);
	done(&h, c, l);
}

/* ---- super-segment size follows the rate (tcp_tso_autosize) ------------------------ */

static struct pkt_pool big_pool;
static uint32_t sizes[64];
static int nsizes;

static struct pkt *alloc_big(void *ctx)
{
	(void)ctx;
	return pkt_alloc(&big_pool);
}

/* Records each data segment's payload (a super-segment's whole payload). */
static int record_output(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	(void)ctx, (void)src, (void)dst;
	uint32_t hlen = (uint32_t)(pkt_data(p)[12] >> 4) * 4;
	if (p->len > hlen && nsizes < 64)
		sizes[nsizes++] = p->len - hlen;
	pkt_free(p);
	return 0;
}

/* The largest payload sent by one tcp_send of n bytes at the given rate and pacing. */
static uint32_t largest_super(uint64_t rate_Bps, bool pacing)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l;
	th_init(&h, NULL);
	void *mem = aligned_alloc(64, 4 * pkt_slot_size(NET_TX_BIG_BUF));
	pkt_pool_init_sized(&big_pool, mem, 0x50000000, 4, NET_TX_BIG_BUF);
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
	struct tcp_sock *c = th_estab(&h, &p, &l, &o, 0);
	CHECK(c != NULL);
	if (!c)
		return 0;
	h.t.cfg.pacing = pacing;
	h.t.env.pkt_alloc_big = alloc_big;
	h.t.env.ip_output = record_output;
	c->gso_max = TCP_GSO_MAX;
	c->cwnd = 64 * 1460;                    /* the window is not what limits */
	c->srtt_us = SRTT_US;
	c->pacing_rate = rate_Bps;
	nsizes = 0;
	CHECK_EQ(tcp_send(c, data, sizeof(data)), (long)sizeof(data));
	uint32_t max = 0;
	for (int i = 0; i < nsizes; i++)
		max = sizes[i] > max ? sizes[i] : max;
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
	free(mem);
	return max;
}

TEST(tcp_pacing_super_segments_follow_the_rate)
{
	/* 1 Gbit/s: ~122 KB per 1/1024 s, more than a datagram holds: 64 KiB minus headers,
	 * in whole segments. */
	uint32_t fast = largest_super(125000000, true);
	CHECK_EQ(fast, TCP_GSO_MAX - TCP_GSO_MAX % 1460);
	/* 40 Mbit/s: 5,000,000 >> 10 = 4882 B per ~1 ms: three segments. */
	CHECK_EQ(largest_super(5000000, true), 3 * 1460);
	/* 2 Mbit/s: below two segments per ms: two (tcp_min_tso_segs). */
	CHECK_EQ(largest_super(250000, true), 2 * 1460);
	/* Pacing off: as big as the device allows, whatever the rate. */
	CHECK_EQ(largest_super(250000, false), fast);
}

/* ---- review: bounds on the departure time ------------------------------------------ */

/* sysctl accepts net.ipv4.tcp_pacing_{ss,ca}_ratio=0 (Linux's range is 0..1000). Linux
 * then computes sk_pacing_rate 0, which tcp_update_skb_after_send treats as "no
 * pacing". A rate clamped up to 1 byte/s instead holds each 1.5 KB segment ~25 min. */
TEST(tcp_pacing_ratio_zero_means_no_pacing_not_one_byte_per_second)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	h.t.cfg.pacing_ss_ratio = 0;
	h.t.cfg.pacing_ca_ratio = 0;
	tcp_update_pacing_rate(c);
	CHECK_EQ(tcp_send(c, data, 10 * 1460), 10 * 1460);
	int n = data_segs(&h);
	for (int ms = 0; ms < 100 && n < 10; ms++) {
		th_advance(&h, TH_MS);
		n += data_segs(&h);
	}
	CHECK_EQ(n, 10);                        /* the window, not 1 B/s */
	CHECK(c->pace_ns < h.now + 1000000000ull);
	done(&h, c, l);
}

/* A peer that delays its ACKs inflates srtt (samples up to 2147 s are taken); with the
 * initial window the rate is then a few bytes per second and one segment moves the
 * departure time minutes ahead, where it stays even after the rate recovers. fq (which
 * Linux's pacing normally runs under) clamps one packet's delay to 1 s
 * (stat_pkts_too_long); the same bound keeps a paced connection moving. */
TEST(tcp_pacing_gap_per_segment_is_bounded_by_one_second)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	c->srtt_us = 0;                         /* one 2000 s sample, as tcp_in takes it */
	tcp_rtt_sample(c, 2000ull * 1000000000ull);
	tcp_update_pacing_rate(c);              /* ~15 B/s; RTO at rto_max */
	CHECK(c->pacing_rate < 100);
	CHECK_EQ(tcp_send(c, data, 4 * 1460), 4 * 1460);
	int n = data_segs(&h);
	CHECK_EQ(n, 1);
	for (int i = 0; i < 50 && n < 4; i++) {  /* 5 s, before any RTO (>= 120 s here) */
		th_advance(&h, 100 * TH_MS);
		n += data_segs(&h);
	}
	CHECK_EQ(n, 4);                         /* one a second at worst */
	CHECK_EQ(c->snd_nxt - c->iss - 1, 4 * 1460);     /* new data, not retransmissions */
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 0);
	/* The path recovers (1 ms RTT): the next data waits at most the 1 s bound. */
	c->srtt_us = 1000;
	tcp_update_pacing_rate(c);
	CHECK(c->pace_ns <= h.now + 1000000000ull);
	done(&h, c, l);
}

/* ---- review: held data always has a timer that releases it ------------------------- */

/* Steps the clock 1 ms at a time for up to max_ms, ACKing every data segment at once
 * (window p->wnd); returns the ms it took until a FIN was seen, or -1. */
static int run_until_fin(struct th *h, struct th_peer *p, int max_ms, int *segs)
{
	struct th_seg s;
	for (int ms = 0; ms < max_ms; ms++) {
		bool fin = false;
		while (th_pop(h, &s)) {
			*segs += s.dlen != 0;
			fin |= (s.h.flags & TCP_FIN) != 0;
			p->ack = s.h.seq + s.dlen + ((s.h.flags & TCP_FIN) ? 1 : 0);
		}
		if (fin)
			return ms;
		th_advance(h, TH_MS);
	}
	return -1;
}

/* A close with paced data still queued: the FIN follows the last segment at the rate,
 * it is not left behind a departure time nobody re-arms. */
TEST(tcp_pacing_fin_follows_held_data)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, data, 6 * 1460), 6 * 1460);
	CHECK_EQ(tcp_shutdown(c, TCP_SHUT_WR), 0);
	int segs = 0;
	int ms = run_until_fin(&h, &p, 200, &segs);     /* 6 x ~5 ms at 100 ms srtt */
	CHECK(ms >= 0);
	CHECK(ms < 60);
	CHECK_EQ(segs, 6);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 0);
	done(&h, c, l);
}

/* The peer closes its window while pacing holds data: when the departure time comes the
 * closed window is seen and persist probes start (pacing does not hide the zero
 * window); when it reopens everything goes. */
TEST(tcp_pacing_zero_window_while_held_starts_persist)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, data, 10 * 1460), 10 * 1460);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.dlen, 1460);
	CHECK(c->t_pace != 0);
	p.ack = s.h.seq + s.dlen;
	p.wnd = 0;
	peer_send(&h, &p, TCP_ACK, NULL, 0);    /* all acked, window shut */
	for (int ms = 0; ms < 3000 && h.t.mib[TCP_MIB_TCPWinProbe] == 0; ms++)
		th_advance(&h, TH_MS);
	CHECK(h.t.mib[TCP_MIB_TCPWinProbe] > 0);
	CHECK(c->persist);
	th_drain(&h);
	p.wnd = 65535;
	int segs = 0;
	for (int ms = 0; ms < 2000 && c->snd_una != c->snd_buf_end; ms++) {
		while (th_pop(&h, &s))
			if (s.dlen) {
				segs++;
				p.ack = s.h.seq + s.dlen;
			}
		peer_send(&h, &p, TCP_ACK, NULL, 0);
		th_advance(&h, TH_MS);
	}
	CHECK(segs > 0);
	CHECK_EQ(c->snd_una, c->snd_buf_end);
	done(&h, c, l);
}

/* Nothing is acknowledged: RTOs fire while pacing holds the rest, retransmit, back off,
 * and the held data never sits without a timer (t_pace or t_rtx armed throughout). */
TEST(tcp_pacing_rto_while_held_keeps_a_timer)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = paced_conn(&h, &p, &l, true);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, data, 40000), 40000);
	int segs = 0, unarmed = 0;
	for (int ms = 0; ms < 3000; ms++) {
		segs += data_segs(&h);
		if (c->snd_buf_end != c->snd_una && !c->t_pace && !c->t_rtx)
			unarmed++;
		th_advance(&h, TH_MS);
	}
	CHECK_EQ(unarmed, 0);
	CHECK(h.t.mib[TCP_MIB_TCPTimeouts] >= 2);
	CHECK(segs > 10);                       /* the window, then retransmissions */
	/* The peer comes back: everything is delivered. */
	struct th_seg s;
	for (int ms = 0; ms < 20000 && c->snd_una != c->snd_buf_end; ms++) {
		while (th_pop(&h, &s))
			if (s.dlen && seq_gt(s.h.seq + s.dlen, p.ack) && s.h.seq == p.ack)
				p.ack = s.h.seq + s.dlen;
		peer_send(&h, &p, TCP_ACK, NULL, 0);
		th_advance(&h, TH_MS);
	}
	CHECK_EQ(c->snd_una, c->snd_buf_end);
	done(&h, c, l);
}
