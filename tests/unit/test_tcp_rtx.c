/*
 * Retransmission and congestion control: RFC 6298 (estimator, Karn, backoff, R1/R2),
 * fast retransmit + NewReno (RFC 6582), SACK loss recovery (RFC 6675), path MTU
 * (RFC 1191), slow start and restart after idle (RFC 5681), CUBIC (RFC 9438) and Reno.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"

static uint8_t blob[200000];

static void blob_init(void)
{
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 131 + (i >> 9));
}

static struct tcp_sock *open_conn(struct th *h, struct th_peer *p, struct tcp_sock **l, bool sack,
				  const struct tcp_config *cfg)
{
	th_init(h, cfg);
	blob_init();
	struct tcp_opts o = { .has = TCP_HAS_MSS | (sack ? TCP_HAS_SACK_PERM : 0), .mss = 1460 };
	return th_estab(h, p, l, &o, 0);
}

/* Pops every queued segment; returns how many, recording their seqs. */
static int collect(struct th *h, uint32_t *seqs, uint32_t *lens, int max)
{
	struct th_seg s;
	int n = 0;
	while (th_pop(h, &s)) {
		if (n < max) {
			seqs[n] = s.h.seq;
			lens[n] = s.dlen;
		}
		n++;
	}
	return n;
}

static void ack(struct th *h, struct th_peer *p, uint32_t a)
{
	p->ack = a;
	peer_send(h, p, TCP_ACK, NULL, 0);
}

TEST(tcp_rtx_rto_backoff_and_give_up)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, blob, 100), 100);
	struct th_seg s;
	POP(&h, s);
	uint64_t last = h.now;
	uint64_t gaps[20];
	int n = 0;
	for (int i = 0; i < 12000 && !(h.events & TCP_EV_CLOSED); i++) {
		th_advance(&h, 100 * TH_MS);
		while (th_pop(&h, &s)) {
			CHECK_EQ(s.h.seq, p.ack);       /* always the oldest segment */
			CHECK_EQ(s.dlen, 100);
			if (n < 20)
				gaps[n] = h.now - last;
			n++;
			last = h.now;
		}
	}
	CHECK_EQ(n, 15);                                /* R2 = retries2 */
	CHECK(gaps[0] >= 200 * TH_MS && gaps[0] <= 300 * TH_MS);        /* RTO floor 200 ms */
	CHECK(gaps[1] >= 400 * TH_MS && gaps[1] <= 500 * TH_MS);        /* doubled (MUST-19) */
	CHECK(gaps[2] >= 800 * TH_MS && gaps[2] <= 900 * TH_MS);
	CHECK(gaps[14] >= 120 * TH_SEC && gaps[14] <= 121 * TH_SEC);    /* capped at rto_max */
	CHECK_EQ(tcp_error(c), -NET_ETIMEDOUT);
	CHECK_EQ(h.route_advice, 1);                    /* MUST-20: negative advice at R1 */
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 15);
	CHECK_EQ(h.t.mib[TCP_MIB_RetransSegs], 15);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnTimeout], 1);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_rtx_user_timeout)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	REQUIRE(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 5000) == 0);        /* MUST-21 */
	CHECK_EQ(tcp_send(c, blob, 100), 100);
	th_drain(&h);
	uint64_t t0 = h.now;
	for (int i = 0; i < 1000 && !(h.events & TCP_EV_CLOSED); i++)
		th_advance(&h, 100 * TH_MS);
	CHECK_EQ(tcp_error(c), -NET_ETIMEDOUT);
	CHECK(h.now - t0 >= 5 * TH_SEC && h.now - t0 < 10 * TH_SEC);
	th_drain(&h);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_rtx_rtt_estimator_and_karn)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	struct tcp_conn_info i;
	CHECK_EQ(tcp_send(c, blob, 100), 100);
	th_drain(&h);
	h.now += 100 * TH_MS;
	ack(&h, &p, p.ack + 100);
	tcp_get_info(c, &i);
	/* The handshake gave a ~0 sample first; RFC 6298 §2.3 folds this one in. */
	CHECK_EQ(i.rtt_us, (1 * 7 + 100000) / 8);
	CHECK_EQ(i.rto_ms, 200);
	/* Now time out once: the retransmission's ACK must give no sample (Karn). */
	CHECK_EQ(tcp_send(c, blob, 100), 100);
	th_drain(&h);
	th_advance(&h, 250 * TH_MS);                    /* RTO -> retransmit */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 1);
	uint32_t before = i.rtt_us;
	h.now += 500 * TH_MS;
	ack(&h, &p, p.ack + 100);
	tcp_get_info(c, &i);
	CHECK_EQ(i.rtt_us, before);                     /* MUST-18 */
	CHECK_EQ(i.backoff, 1);                         /* backoff kept until a valid sample */
	/* A fresh segment is timed again and clears the backoff. */
	CHECK_EQ(tcp_send(c, blob, 100), 100);
	th_drain(&h);
	h.now += 10 * TH_MS;
	ack(&h, &p, p.ack + 100);
	tcp_get_info(c, &i);
	CHECK_EQ(i.backoff, 0);
	CHECK(i.rtt_us < before);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* Sends n segments' worth; returns their start seqs. */
static int burst(struct th *h, struct tcp_sock *c, uint32_t bytes, uint32_t *seqs, uint32_t *lens)
{
	CHECK_EQ(tcp_send(c, blob, bytes), bytes);
	return collect(h, seqs, lens, 64);
}

TEST(tcp_rtx_fast_retransmit_newreno)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.cc = TCP_CC_RENO;
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, &cfg);
	REQUIRE(c);
	uint32_t seq[64], len[64];
	int n = burst(&h, c, 20 * 1460, seq, len);
	CHECK_EQ(n, 10);                                /* IW10 (RFC 6928) */
	/* Segment 1 arrives, 2 is lost, 3..5 arrive: three duplicate ACKs. */
	ack(&h, &p, seq[1]);
	int more = collect(&h, seq + n, len + n, 8);    /* slow start: 2 more */
	n += more;
	ack(&h, &p, seq[1]);
	CHECK_EQ(collect(&h, seq + n, len + n, 8), 1);  /* limited transmit (RFC 3042) */
	n++;
	ack(&h, &p, seq[1]);
	CHECK_EQ(collect(&h, seq + n, len + n, 8), 1);
	n++;
	ack(&h, &p, seq[1]);                            /* third duplicate */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.seq, seq[1]);                      /* fast retransmit */
	CHECK_EQ(s.dlen, 1460);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPFastRetrans], 1);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPRenoRecovery], 1);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	uint32_t flight = n * 1460 - 1460;              /* outstanding before the loss */
	CHECK_EQ(i.ssthresh, (flight / 2 + 1459) / 1460);
	th_drain(&h);
	/* Partial ACK up to segment 6 (6 also lost): retransmit it at once (RFC 6582). */
	ack(&h, &p, seq[5]);
	POP(&h, s);
	CHECK_EQ(s.h.seq, seq[5]);
	th_drain(&h);
	/* Full ACK of everything sent: recovery ends, cwnd <= ssthresh. */
	struct tcp_sock *cs = c;
	ack(&h, &p, cs->snd_max);
	tcp_get_info(c, &i);
	CHECK(i.cwnd <= i.ssthresh);
	CHECK_EQ(cs->ca_state, TCP_CA_OPEN);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_rtx_sack_recovery)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, true, NULL);
	REQUIRE(c);
	uint32_t seq[64], len[64];
	int n = burst(&h, c, 10 * 1460, seq, len);
	CHECK_EQ(n, 10);
	/* Lost: segments 2 and 7 (index 1, 6). The peer SACKs what it got. */
	p.sack_blocks = true;
	p.nsack = 1;
	p.sack[0] = (struct tcp_sack_block){ seq[2], seq[3] };
	ack(&h, &p, seq[1]);
	p.sack[0].end = seq[4];
	ack(&h, &p, seq[1]);
	NONE(&h);                                       /* 2 segments above: not lost yet */
	p.sack[0].end = seq[5];
	ack(&h, &p, seq[1]);                            /* 3 SACKed above the hole: IsLost */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.seq, seq[1]);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPSackRecovery], 1);
	th_drain(&h);
	/* More arrive above the second hole: 7 is lost too and goes out without a
	 * timeout (NextSeg rule 1) once the pipe has room. */
	p.nsack = 2;
	p.sack[0] = (struct tcp_sack_block){ seq[7], seq[9] + len[9] };
	p.sack[1] = (struct tcp_sack_block){ seq[2], seq[6] };
	ack(&h, &p, seq[1]);
	bool got7 = false;
	while (th_pop(&h, &s))
		got7 |= s.h.seq == seq[6];
	CHECK(got7);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK(i.sacked >= 7);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 0);
	/* Both holes repaired: the cumulative ACK covers all, recovery ends. */
	p.sack_blocks = false;
	ack(&h, &p, c->snd_max);
	CHECK_EQ(c->ca_state, TCP_CA_OPEN);
	CHECK_EQ(c->nsb, 0);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_rtx_sack_blocks_validated)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, true, NULL);
	REQUIRE(c);
	uint32_t seq[64], len[64];
	burst(&h, c, 10 * 1460, seq, len);
	p.sack_blocks = true;
	p.nsack = 4;
	p.sack[0] = (struct tcp_sack_block){ seq[5], seq[5] + 100000 };  /* past SND.NXT */
	p.sack[1] = (struct tcp_sack_block){ seq[5], seq[4] };           /* inverted */
	p.sack[2] = (struct tcp_sack_block){ seq[0] - 5000, seq[0] };    /* below SND.UNA */
	p.sack[3] = (struct tcp_sack_block){ seq[3], seq[3] + 1 };       /* fine */
	ack(&h, &p, seq[0]);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPSACKDiscard], 3);
	CHECK_EQ(c->nsb, 1);
	/* Many tiny blocks cannot make the scoreboard grow past its bound. */
	for (uint32_t k = 0; k < 100; k++) {
		p.nsack = 1;
		p.sack[0] = (struct tcp_sack_block){ seq[0] + 3 * k + 1, seq[0] + 3 * k + 2 };
		ack(&h, &p, seq[0]);
	}
	CHECK(c->nsb <= TCP_SB_MAX);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}


TEST(tcp_rtx_pmtu_frag_needed)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	uint32_t seq[64], len[64];
	int n = burst(&h, c, 3000, seq, len);
	CHECK_EQ(n, 2);                                 /* the 80-byte tail waits (Nagle) */
	CHECK_EQ(len[0], 1460);
	uint8_t q[28];
	th_icmp_quote(q, c, seq[0] + 50000);                    /* not in flight: ignored */
	tcp_icmp_error(&h.t, 3, 4, 1000, q, sizeof(q));
	NONE(&h);
	th_icmp_quote(q, c, seq[0]);
	tcp_icmp_error(&h.t, 3, 4, 1000, q, sizeof(q)); /* RFC 1191: next-hop MTU 1000 */
	uint32_t total = 0;
	struct th_seg s;
	while (th_pop(&h, &s)) {
		CHECK(s.dlen <= 960);
		CHECK_EQ(s.h.seq, seq[0] + total);
		total += s.dlen;
	}
	CHECK(total >= 1920);                           /* resent in smaller pieces */
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_EQ(i.pmtu, 1000);
	CHECK_EQ(i.mss, 960);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 0);
	/* No next-hop MTU: the RFC 1191 plateau below 1500 is 1492. A bigger value
	 * than we have is ignored; an absurd one is floored at 576. */
	tcp_icmp_error(&h.t, 3, 4, 1400, q, sizeof(q));
	tcp_get_info(c, &i);
	CHECK_EQ(i.pmtu, 1000);
	tcp_icmp_error(&h.t, 3, 4, 20, q, sizeof(q));
	tcp_get_info(c, &i);
	CHECK_EQ(i.pmtu, 576);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* A next-hop MTU below TCP's 576 floor (a router on a 296-byte link, or a forgery):
 * segments stay at the floor's size, but leave without DF from then on, what was in
 * flight with DF is sent again at once, and only once. Before, the floor kept DF set,
 * so every segment died at that router: the connection stalled for good. */
TEST(tcp_rtx_pmtu_below_floor_sends_without_df)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	uint32_t seq[64], len[64];
	CHECK_EQ(burst(&h, c, 3000, seq, len), 2);
	uint8_t q[28];
	th_icmp_quote(q, c, seq[0]);
	tcp_icmp_error(&h.t, 3, 4, 296, q, sizeof(q));
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_EQ(i.pmtu, 576);
	CHECK_EQ(i.mss, 536);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPMTUPFail], 1);
	uint32_t total = 0;
	struct th_seg s;
	while (th_pop(&h, &s)) {
		CHECK(!s.df);
		CHECK(s.dlen <= 536);
		CHECK_EQ(s.h.seq, seq[0] + total);
		total += s.dlen;
	}
	CHECK(total >= 2920);                           /* both segments, in pieces */
	/* A second report changes nothing and resends nothing: no storm from forgeries. */
	tcp_icmp_error(&h.t, 3, 4, 100, q, sizeof(q));
	NONE(&h);
	/* Later data goes without DF too. */
	p.ack = seq[0] + total;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	th_drain(&h);
	CHECK_EQ(tcp_send(c, "x", 1), 1);
	POP(&h, s);
	CHECK(!s.df);
	CHECK_EQ(s.dlen, 1);
	th_drain(&h);
	/* Ten minutes on (RFC 1191 §6.3 aging), DF is tried again; a forged report's
	 * effect ends there. */
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	th_advance(&h, 599 * TH_SEC);
	CHECK_EQ(tcp_send(c, "y", 1), 1);
	POP(&h, s);
	CHECK(!s.df);
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	th_drain(&h);
	th_advance(&h, 2 * TH_SEC);
	CHECK_EQ(tcp_send(c, "z", 1), 1);
	POP(&h, s);
	CHECK(s.df);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_rtx_slow_start_and_restart_after_idle)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_EQ(i.cwnd, 10);
	/* Each full ACK of a cwnd-limited flight grows cwnd (slow start, RFC 5681). */
	CHECK_EQ(tcp_send(c, blob, 100000), 65536);     /* sndbuf */
	uint32_t seq[64], len[64];
	int n = collect(&h, seq, len, 64);
	CHECK_EQ(n, 10);
	for (int k = 0; k < n; k++) {
		h.now += TH_MS;
		ack(&h, &p, seq[k] + len[k]);
	}
	tcp_get_info(c, &i);
	CHECK(i.cwnd >= 19);
	th_drain(&h);
	ack(&h, &p, c->snd_max);
	th_drain(&h);
	/* Drain the queue, then stay idle for longer than an RTO: back to IW. */
	for (int r = 0; r < 20 && c->snd_max != c->snd_buf_end; r++) {
		th_drain(&h);
		ack(&h, &p, c->snd_max);
	}
	th_drain(&h);
	ack(&h, &p, c->snd_max);
	th_advance(&h, 5 * TH_SEC);
	CHECK_EQ(tcp_send(c, blob, 30000), 30000);
	n = collect(&h, seq, len, 64);
	CHECK_EQ(n, 10);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_cc_cbrt)
{
	uint64_t xs[] = { 0, 1, 7, 8, 9, 26, 27, 1000, 999999, 1000000, 123456789012ull,
			  (1ull << 62), UINT64_MAX };
	for (size_t k = 0; k < sizeof(xs) / sizeof(xs[0]); k++) {
		uint64_t x = xs[k], r = tcp_cbrt(x);
		CHECK(r * r * r <= x);
		if (r < 2642245)
			CHECK((r + 1) * (r + 1) * (r + 1) > x);
	}
	CHECK_EQ(tcp_cbrt(UINT64_MAX), 2642245);
}

/* CUBIC on a bare TCB: after a loss at W = 100 segments, cwnd drops to 70, grows
 * concavely back to W_max around K = cbrt(0.3 * 100 / 0.4) = 4.2 s, then convexly. */
TEST(tcp_cc_cubic_curve)
{
	struct tcp_sock c;
	memset(&c, 0, sizeof(c));
	c.mss = 1000;
	c.cwnd = 100000;
	c.srtt_us = 100000;
	c.cc = &tcp_cc_cubic;
	c.cc->init(&c);
	c.ssthresh = c.cc->ssthresh(&c);
	CHECK_EQ(c.ssthresh, 70019);                    /* beta 717/1024 */
	c.cwnd = c.ssthresh;
	uint64_t now = 1000 * TH_SEC;
	uint32_t at_k = 0, at_2s = 0, at_8s = 0;
	for (int ms = 0; ms <= 8000; ms += 10) {
		/* One RTT (100 ms) delivers a cwnd: per 10 ms, a tenth of it. */
		c.cc->cong_avoid(&c, c.cwnd / 10, now + (uint64_t)ms * TH_MS);
		if (ms == 2000)
			at_2s = c.cwnd;
		if (ms == 4200)
			at_k = c.cwnd;
		if (ms == 8000)
			at_8s = c.cwnd;
	}
	CHECK_EQ(c.cubic.k_ms, tcp_cbrt((100000ull - 70019) * 2500000000ull / 1000));
	CHECK(c.cubic.k_ms > 4100 && c.cubic.k_ms < 4300);
	CHECK(at_2s > 85000 && at_2s < 100000);        /* concave: most of the way already */
	CHECK(at_k > 97000 && at_k < 104000);          /* plateau near W_max */
	CHECK(at_8s > 115000);                          /* convex probing beyond */
	/* Fast convergence: a loss below the old W_max remembers less. */
	c.cwnd = 90000;
	c.cc->ssthresh(&c);
	CHECK_EQ(c.cubic.w_max, 90000u * (1024 + 717) / 2048);
}

TEST(tcp_cc_reno_halves_and_grows_linearly)
{
	struct tcp_sock c;
	memset(&c, 0, sizeof(c));
	c.mss = 1000;
	c.cwnd = 20000;
	c.snd_una = 0;
	c.snd_max = 20000;
	c.cc = &tcp_cc_reno;
	c.cc->init(&c);
	c.ssthresh = c.cc->ssthresh(&c);
	CHECK_EQ(c.ssthresh, 10000);                    /* FlightSize / 2 */
	c.cwnd = c.ssthresh;
	for (int k = 0; k < 10; k++)
		c.cc->cong_avoid(&c, 1000, 0);          /* one cwnd of ACKs */
	CHECK_EQ(c.cwnd, 11000);                        /* + 1 SMSS per RTT */
	c.cwnd = 2000;
	c.ssthresh = 100000;
	c.cc->cong_avoid(&c, 5000, 0);                  /* slow start, at most 2 SMSS per ACK */
	CHECK_EQ(c.cwnd, 4000);
}

TEST(tcp_rtx_pmtu_plateau_without_next_hop_mtu)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = open_conn(&h, &p, &l, false, NULL);
	REQUIRE(c);
	uint32_t seq[64], len[64];
	burst(&h, c, 3000, seq, len);
	uint8_t q[28];
	th_icmp_quote(q, c, seq[0]);
	tcp_icmp_error(&h.t, 3, 4, 0, q, sizeof(q));    /* old router: no MTU (RFC 1191 §7) */
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_EQ(i.pmtu, 1492);                         /* the plateau below the quoted 1500 */
	CHECK_EQ(i.mss, 1452);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}
