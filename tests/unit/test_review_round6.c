/*
 * Hostile review of round 6's fast paths (docs/review-round6.md has the verdicts):
 *   A. header prediction (tcp_in.c predicted/established_fast) against the RFC 9293
 *      checklist: two stacks, prediction on and off, fed the same segments, must end
 *      with the same TCB, counters and output (as test_tcp_predict.c, on the edges);
 *   B. a connection's cached route/neighbour/header (net/dst.h, ipv4_output_dst)
 *      against the full path, on the cases test_net_dst.c does not drive;
 *   C. the smaller TCP changes (inline RTO, tcp_pick_port's memo, TCB zeroing that
 *      skips the range arrays, tcp_recv's wrapped copy and trim).
 * A test that fails on the reviewed tree names a bug (fixed alongside); the others pin
 * a suspicion found wrong, so a later change that makes it right fails here.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "tests/unit/fake_netdev.h"
#include "net/tcp_int.h"
#include "net/neigh.h"
#include "net/route.h"
#include <stdlib.h>
#include <string.h>

/* ---- A. header prediction -------------------------------------------------------- */

struct hp {
	struct th h[2];         /* [0] prediction on, [1] off */
	struct th_peer p[2];
	struct tcp_sock *l[2], *c[2];
};

static const struct tcp_opts hp_opts = {
	.has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS | TCP_HAS_WS,
	.mss = 1460, .ws = 7, .tsval = 5000,
};

static bool hp_open(struct hp *x, const struct tcp_opts *opts, uint32_t rcvbuf)
{
	for (int i = 0; i < 2; i++) {
		struct tcp_config cfg;
		tcp_config_default(&cfg);
		cfg.hdr_predict = i == 0;
		if (rcvbuf)
			cfg.rcvbuf = rcvbuf;
		th_init(&x->h[i], &cfg);
		x->c[i] = th_estab(&x->h[i], &x->p[i], &x->l[i], opts, 0);
		if (!x->c[i])
			return false;
	}
	return true;
}

static void hp_close(struct hp *x)
{
	for (int i = 0; i < 2; i++) {
		if (x->c[i])
			tcp_abort(x->c[i]);
		tcp_close(x->l[i]);
		th_fini(&x->h[i]);
	}
}

#define SAME(f) CHECK_EQ((uint64_t)a->f, (uint64_t)b->f)
static void hp_same_tcb(const struct tcp_sock *a, const struct tcp_sock *b)
{
	SAME(state); SAME(ca_state); SAME(ack_now); SAME(ack_pending); SAME(persist);
	SAME(rtt_timing); SAME(want_send); SAME(fin_rcvd); SAME(ooo_fin);
	SAME(snd_una); SAME(snd_nxt); SAME(snd_max); SAME(snd_wnd); SAME(snd_wl1); SAME(snd_wl2);
	SAME(max_snd_wnd); SAME(snd_buf_end); SAME(mss); SAME(rcv_mss);
	SAME(rcv_nxt); SAME(rcv_adv); SAME(rcv_user); SAME(rcv_up); SAME(rcv_unacked);
	SAME(srtt_us); SAME(rttvar_us); SAME(rto_us); SAME(rtx_shift); SAME(rtx_count);
	SAME(probes); SAME(kprobes); SAME(ts_recent); SAME(ts_recent_ns); SAME(last_ack_sent);
	SAME(cwnd); SAME(ssthresh); SAME(recover); SAME(dupacks);
	SAME(nsb); SAME(nooo);
	SAME(t_rtx); SAME(t_delack); SAME(t_keep); SAME(t_conn); SAME(t_pace);
	SAME(last_rcv_ns); SAME(last_ack_ns); SAME(soft_err);
	SAME(bytes_acked); SAME(bytes_received); SAME(segs_in); SAME(data_segs_in);
	SAME(delivered); SAME(total_retrans);
}
#undef SAME

/* Same TCB, counters (the prediction pair aside) and emitted segments. */
static void hp_same(struct hp *x)
{
	if (x->c[0] && x->c[1])
		hp_same_tcb(x->c[0], x->c[1]);
	for (int m = 0; m < TCP_MIB_COUNT; m++) {
		if (m == TCP_MIB_TCPHPHits || m == TCP_MIB_TCPHPAcks)
			continue;
		if (x->h[0].t.mib[m] != x->h[1].t.mib[m])
			printf("    mib %d: %llu vs %llu\n", m, (unsigned long long)x->h[0].t.mib[m],
			       (unsigned long long)x->h[1].t.mib[m]);
		CHECK_EQ(x->h[0].t.mib[m], x->h[1].t.mib[m]);
	}
	CHECK_EQ(th_pending(&x->h[0]), th_pending(&x->h[1]));
	struct th_seg s0, s1;
	while (th_pop(&x->h[0], &s0)) {
		REQUIRE(th_pop(&x->h[1], &s1));
		CHECK_EQ(s0.h.seq, s1.h.seq);
		CHECK_EQ(s0.h.ack, s1.h.ack);
		CHECK_EQ(s0.h.flags, s1.h.flags);
		CHECK_EQ(s0.h.wnd, s1.h.wnd);
		CHECK_EQ(s0.h.opt.has, s1.h.opt.has);
		CHECK_EQ(s0.h.opt.tsecr, s1.h.opt.tsecr);
		CHECK_EQ(s0.h.opt.nsack, s1.h.opt.nsack);
		CHECK_EQ(s0.dlen, s1.dlen);
		CHECK(memcmp(s0.data, s1.data, s0.dlen) == 0);
	}
	th_drain(&x->h[1]);
}

static uint64_t hp_hits(const struct hp *x)
{
	return x->h[0].t.mib[TCP_MIB_TCPHPHits] + x->h[0].t.mib[TCP_MIB_TCPHPAcks];
}

static uint8_t pay[8192];

/* The peer sends len bytes (timestamp moved on by dts) on both stacks. */
static void hp_peer_data(struct hp *x, uint8_t flags, size_t len, uint32_t dts)
{
	for (size_t k = 0; k < len; k++)
		pay[k] = (uint8_t)(x->p[0].seq + k);
	for (int i = 0; i < 2; i++) {
		x->p[i].tsval += dts;
		peer_send(&x->h[i], &x->p[i], flags, pay, len);
	}
}

static void hp_advance(struct hp *x, uint64_t ns)
{
	for (int i = 0; i < 2; i++)
		th_advance(&x->h[i], ns);
}

static void hp_read(struct hp *x, size_t n)
{
	uint8_t in[8192];
	for (int i = 0; i < 2; i++)
		tcp_recv(x->c[i], in, n < sizeof(in) ? n : sizeof(in));
}

static void hp_send(struct hp *x, size_t n)
{
	for (int i = 0; i < 2; i++)
		CHECK_EQ(tcp_send(x->c[i], pay, n), (long)n);
}

/* RFC 7323 §5.5: after 24 days idle TS.Recent is no longer a reference. The peer's
 * clock has run on by more than 2^31 ticks meanwhile, so its new timestamps look
 * older; PAWS rightly lets the segment in, but TS.Recent must then take its value
 * (as Linux's tcp_store_ts_recent does when tcp_paws_check finds the stamp stale).
 * The reviewed tree kept the ancient TS.Recent for ever: PAWS stayed off for the
 * connection, and no later segment was ever predicted. */
TEST(review6_hp_paws_ts_recent_24_days_idle_is_replaced)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 0));
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 100, 3);
	hp_read(&x, 100);
	hp_same(&x);
	hp_advance(&x, 25ull * 24 * 3600 * TH_SEC);
	hp_same(&x);
	uint32_t jumped = x.p[0].tsval + 0x80000100u;   /* 25 days of 1 ms ticks, "older" */
	for (int i = 0; i < 2; i++)
		x.p[i].tsval = jumped;
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 100, 0);
	hp_same(&x);
	CHECK_EQ(x.c[0]->rcv_nxt, x.p[0].seq);          /* accepted (§5.5) */
	CHECK_EQ(x.c[0]->ts_recent, jumped);            /* and TS.Recent is the new clock */
	CHECK_EQ(x.c[1]->ts_recent, jumped);
	hp_advance(&x, 50 * TH_MS);
	hp_same(&x);
	/* Back to normal: PAWS judges by the new clock, the next segment is predicted. */
	uint64_t before = hp_hits(&x);
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 100, 2);
	hp_same(&x);
	CHECK_EQ(hp_hits(&x), before + 1);
	for (int i = 0; i < 2; i++)
		x.p[i].tsval = jumped - 1000;           /* an old duplicate by the new clock */
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 100, 0);
	for (int i = 0; i < 2; i++)
		x.p[i].seq -= 100;
	hp_same(&x);
	CHECK_EQ(x.h[0].t.mib[TCP_MIB_PAWSEstab], 1);
	hp_close(&x);
}

/* The window's edges: a segment that ends exactly at the advertised edge (predicted),
 * one that crosses it (checklist: trimmed), the zero window (checklist: text dropped,
 * ACK taken), data beyond RCV.ADV but inside the window a read opened without an
 * update yet (checklist: accept_wnd), then the window reopened. */
TEST(review6_hp_window_edges_same_as_checklist)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 8192));
	for (int n = 0; n < 40 && x.c[0]->rcv_adv != x.c[0]->rcv_nxt; n++) {
		uint32_t adv = x.c[0]->rcv_adv - x.c[0]->rcv_nxt;
		hp_peer_data(&x, TCP_ACK, adv < 1000 ? adv : 1000, 1);
		hp_same(&x);
	}
	CHECK(hp_hits(&x) >= 2);
	CHECK_EQ(x.c[0]->rcv_adv, x.c[0]->rcv_nxt);     /* window closed */
	hp_peer_data(&x, TCP_ACK, 500, 1);              /* into a zero window */
	for (int i = 0; i < 2; i++)
		x.p[i].seq -= 500;
	hp_same(&x);
	CHECK_EQ(x.h[0].t.mib[TCP_MIB_TCPZeroWindowDrop], 1);
	hp_peer_data(&x, TCP_ACK, 0, 1);                /* pure ACK at RCV.NXT, zero window */
	hp_same(&x);
	hp_read(&x, 100);                               /* opens less than SWS: no update */
	hp_same(&x);
	hp_peer_data(&x, TCP_ACK, 100, 1);              /* beyond RCV.ADV: room or not */
	hp_same(&x);
	for (int i = 0; i < 2; i++)
		x.p[i].seq = x.c[i]->rcv_nxt;           /* what was not taken comes again */
	hp_read(&x, 8192);                              /* window update */
	hp_same(&x);
	uint32_t adv = x.c[0]->rcv_adv - x.c[0]->rcv_nxt;
	for (int n = 0; n < 20 && adv > 60; n++) {
		hp_peer_data(&x, TCP_ACK, adv - 50 < 1000 ? adv - 50 : 1000, 1);
		hp_same(&x);
		adv = x.c[0]->rcv_adv - x.c[0]->rcv_nxt;
	}
	REQUIRE(adv > 10 && adv < 1000);
	hp_peer_data(&x, TCP_ACK, adv + 10, 1);         /* crosses the edge: trimmed */
	hp_same(&x);
	hp_advance(&x, 300 * TH_MS);
	hp_same(&x);
	hp_close(&x);
}

/* TS.Recent only from a segment at or before Last.ACK.sent (RFC 7323 §4.3 R3): two
 * segments under one delayed ACK, the second's timestamp must not be kept. */
TEST(review6_hp_ts_recent_last_ack_sent_rule)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 0));
	for (int n = 0; n < 6; n++) {
		hp_peer_data(&x, TCP_ACK | TCP_PSH, 10, 5);
		hp_same(&x);
		hp_peer_data(&x, TCP_ACK | TCP_PSH, 10, 5);
		hp_same(&x);
		CHECK(x.c[0]->ts_recent != x.p[0].tsval);       /* the first one's */
		hp_advance(&x, 100 * TH_MS);
		hp_read(&x, 100);
		hp_same(&x);
	}
	CHECK(hp_hits(&x) >= 12);
	hp_close(&x);
}

/* Send-side state: WL1/WL2 window updates riding on data, a zero window and the
 * persist timer's probes, the window reopening, SACK blocks and the scoreboard,
 * recovery, and the peer retransmitting what we already have. */
TEST(review6_hp_send_side_persist_sack_rtx_same_as_checklist)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 0));
	hp_send(&x, 3000);
	hp_same(&x);
	for (int i = 0; i < 2; i++) {
		x.p[i].ack = x.c[i]->snd_max;
		x.p[i].wnd = 0;                         /* ACK everything, close the window */
	}
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 20, 1);
	hp_same(&x);
	hp_send(&x, 2000);
	hp_same(&x);
	for (int k = 0; k < 4; k++) {
		hp_advance(&x, 2 * TH_SEC);             /* persist probes */
		hp_same(&x);
		hp_peer_data(&x, TCP_ACK, 0, 1);        /* still zero */
		hp_same(&x);
	}
	CHECK(x.c[0]->persist || x.c[0]->t_rtx);
	for (int i = 0; i < 2; i++)
		x.p[i].wnd = 512;                       /* opens, with data (WL1 moves) */
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 30, 1);
	hp_same(&x);
	for (int i = 0; i < 2; i++)
		x.p[i].ack = x.c[i]->snd_max;
	hp_peer_data(&x, TCP_ACK, 0, 1);
	hp_same(&x);
	hp_advance(&x, 200 * TH_MS);
	hp_same(&x);
	/* SACK: four segments, the first lost; blocks for the others. */
	hp_send(&x, 4 * 1448);
	hp_same(&x);
	for (int i = 0; i < 2; i++) {
		x.p[i].sack_blocks = true;
		x.p[i].nsack = 1;
		x.p[i].sack[0].start = x.c[i]->snd_una + 1448;
		x.p[i].sack[0].end = x.c[i]->snd_una + 1448 * 2;
	}
	for (int k = 0; k < 3; k++) {
		hp_peer_data(&x, TCP_ACK, 0, 1);
		hp_same(&x);
		for (int i = 0; i < 2; i++)
			x.p[i].sack[0].end += 1448 * (k < 2);
	}
	for (int i = 0; i < 2; i++) {
		x.p[i].sack_blocks = false;
		x.p[i].ack = x.c[i]->snd_una + 1448;    /* partial ACK, text with it */
	}
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 40, 1);
	hp_same(&x);
	for (int i = 0; i < 2; i++)
		x.p[i].ack = x.c[i]->snd_max;
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 40, 1);
	hp_same(&x);
	/* The peer resends what we have (our ACK lost): old text, ACK at once. */
	for (int i = 0; i < 2; i++)
		x.p[i].seq -= 40;
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 40, 1);
	hp_same(&x);
	hp_advance(&x, 500 * TH_MS);
	hp_same(&x);
	hp_read(&x, 8192);
	hp_same(&x);
	hp_close(&x);
}

/* Keep-alive: our probes after the idle time and the peer's answer (a pure ACK of
 * nothing new: checklist), then the peer's own probe (SEG.SEQ = RCV.NXT - 1). */
TEST(review6_hp_keepalive_same_as_checklist)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 0));
	for (int i = 0; i < 2; i++)
		REQUIRE(tcp_setopt(x.c[i], TCP_OPT_KEEPALIVE, 1) == 0);
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 10, 1);
	hp_same(&x);
	hp_advance(&x, 7201 * TH_SEC);
	hp_same(&x);
	hp_peer_data(&x, TCP_ACK, 0, 1);                /* answers our probe */
	hp_same(&x);
	for (int i = 0; i < 2; i++)
		x.p[i].seq -= 1;
	hp_peer_data(&x, TCP_ACK, 1, 1);                /* its probe: one old octet */
	hp_same(&x);
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 10, 1);
	hp_same(&x);
	hp_advance(&x, 80 * TH_SEC);
	hp_same(&x);
	hp_close(&x);
}

/* Only ESTABLISHED is predicted: after our FIN (FIN-WAIT-1, then FIN-WAIT-2) text and
 * ACKs take the checklist, which moves the state. */
TEST(review6_hp_fin_wait_takes_the_checklist)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 0));
	for (int i = 0; i < 2; i++)
		REQUIRE(tcp_shutdown(x.c[i], TCP_SHUT_WR) == 0);
	hp_same(&x);
	CHECK_EQ(x.c[0]->state, TCP_FIN_WAIT_1);
	uint64_t hits = hp_hits(&x);
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 50, 1);     /* FIN not yet ACKed */
	hp_same(&x);
	for (int i = 0; i < 2; i++)
		x.p[i].ack = x.c[i]->snd_max;
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 50, 1);     /* ACKs the FIN: FIN-WAIT-2 */
	hp_same(&x);
	CHECK_EQ(x.c[0]->state, TCP_FIN_WAIT_2);
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 50, 1);
	hp_same(&x);
	CHECK_EQ(hp_hits(&x), hits);
	hp_read(&x, 200);
	hp_same(&x);
	hp_close(&x);
}

/* No memory for the receive buffer: the predicted text is dropped unacknowledged
 * exactly as the checklist drops it (TCPRcvQDrop), and taken when resent. */
TEST(review6_hp_rbuf_no_memory_same_as_checklist)
{
	struct hp x;
	REQUIRE(hp_open(&x, &hp_opts, 0));
	for (int i = 0; i < 2; i++)
		x.h[i].mem_fail_after = 0;
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 300, 1);
	hp_same(&x);
	CHECK_EQ(x.h[0].t.mib[TCP_MIB_TCPRcvQDrop], 1);
	for (int i = 0; i < 2; i++) {
		x.h[i].mem_fail_after = -1;
		x.p[i].seq -= 300;
	}
	hp_peer_data(&x, TCP_ACK | TCP_PSH, 300, 1);
	hp_same(&x);
	CHECK_EQ(x.c[0]->rcv_nxt, x.p[0].seq);
	hp_advance(&x, 100 * TH_MS);
	hp_same(&x);
	hp_close(&x);
}
