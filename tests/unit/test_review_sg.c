/*
 * Hostile review of the scatter-gather transmit path, the nothing_to_send() early return
 * of tcp_output and the delayed ACK of a FIN (docs/review-sg.md). Each test states a
 * suspicion; a test named "..._bug" failed on main before its fix (the fix is named in
 * the doc), the others pin down behaviour found sound.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/trace.h"
#include "net/tcp_int.h"
#include <stdlib.h>

/* ==== (a) readers of a frame's bytes past its linear part =========================== */

struct rs_match {
	int calls;
	size_t len;
	int tail_ok;            /* the last byte the filter sees is the frame's real last byte */
};

static int rs_match_fn(void *ctx, const uint8_t *frame, size_t len)
{
	struct rs_match *m = ctx;
	m->calls++;
	m->len = len;
	m->tail_ok = len > 0 && frame[len - 1] == 0xa5;
	return 0;               /* not traced: nothing else to set up */
}

static void rs_done(void *ctx, const struct trace_rec *r, int n)
{
	(void)ctx, (void)r, (void)n;
}

/* Suspicion: net_trace_tx_start (ipv4 output, with a tracer attached) gives the filter
 * p->len bytes from the slot. With p->ext the slot holds only the headers: the filter
 * reads up to 64 KiB of whatever follows them (another slot's bytes, or past the pool)
 * and decides on garbage. The filter must see the frame's real bytes. */
TEST(review_sg_trace_tx_filter_reads_past_linear_part_bug)
{
	static struct test_net t;
	static struct net_tracer tr;
	static uint8_t tail[3000];
	struct rs_match m = { 0 };
	tn_init_peer(&t);
	net_trace_init(&tr);
	tr.match = rs_match_fn;
	tr.done = rs_done;
	tr.ctx = &m;
	net_trace_attach(&t.s.core, &tr);
	memset(tail, 0x11, sizeof(tail));
	tail[sizeof(tail) - 1] = 0xa5;
	struct pkt *p = pkt_alloc(&t.txbig);
	REQUIRE(p);
	uint8_t *h = pkt_put(p, 40);            /* IPv4 + TCP headers in the slot */
	memset(h, 0, 40);
	h[0] = 0x45;
	h[9] = 6;
	/* what lies in the slot behind the headers is not the frame */
	memset(h + 40, 0x5a, 4000);
	REQUIRE(pkt_frag_add(p, tail, sizeof(tail), NULL) == 0);
	net_trace_tx_start(&t.s.core, p);
	CHECK_EQ(m.calls, 1);
	CHECK_EQ(m.len, 14 + 40 + sizeof(tail));
	CHECK(m.tail_ok);
	pkt_free(p);
	net_trace_detach(&t.s.core);
	CHECK_EQ(tn_fini(&t), 0);
}

/* ==== (c) the delayed ACK of a FIN (tcp_in.c step8_fin) ============================= */

static struct tcp_sock *rs_estab(struct th *h, struct th_peer *p, struct tcp_sock **l)
{
	th_init(h, NULL);
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
	return th_estab(h, p, l, &o, 0);
}

/* Sound: the FIN that moves ESTABLISHED -> CLOSE-WAIT is not ACKed at once; an
 * application that closes within the delayed-ACK time sends one FIN+ACK that
 * acknowledges the FIN, and no separate ACK follows (or went before). */
TEST(review_sg_fin_ack_merged_with_close)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	peer_send(&h, &p, TCP_FIN | TCP_ACK, NULL, 0);
	CHECK_EQ(c->state, TCP_CLOSE_WAIT);
	NONE(&h);
	th_advance(&h, 10 * TH_MS);
	NONE(&h);
	tcp_close(c);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_FIN | TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);               /* the peer's FIN acknowledged in it */
	th_advance(&h, 100 * TH_MS);
	NONE(&h);                               /* the delayed ACK timer was cancelled */
	CHECK_EQ(c->state, TCP_LAST_ACK);
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	tcp_close(l);
	th_fini(&h);
}

/* Sound: an application that does not close gets the FIN ACKed by the delayed-ACK
 * timer (40 ms, well under the peer's 200 ms minimum RTO), once. */
TEST(review_sg_fin_ack_by_timer_within_delack)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	peer_send(&h, &p, TCP_FIN | TCP_ACK, NULL, 0);
	th_advance(&h, 39 * TH_MS);
	NONE(&h);
	th_advance(&h, 2 * TH_MS);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(s.dlen, 0);
	th_advance(&h, 500 * TH_MS);
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_DelayedACKs], 1);
	tcp_close(c);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* Sound: the peer repeats its FIN (its copy of our ACK is late or lost): the repeat is
 * a duplicate and is ACKed at once (RFC 9293 §3.10.7.4 first check). */
TEST(review_sg_fin_repeated_by_peer_acked_at_once)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	peer_send(&h, &p, TCP_FIN | TCP_ACK, NULL, 0);
	NONE(&h);
	p.seq--;                                /* the same FIN again */
	peer_send(&h, &p, TCP_FIN | TCP_ACK, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags & (TCP_ACK | TCP_FIN), TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(c->state, TCP_CLOSE_WAIT);
	tcp_close(c);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* Sound: simultaneous close. Our FIN is out (FIN-WAIT-1): the peer's FIN is ACKed at
 * once, since the peer waits on that ACK alone. */
TEST(review_sg_fin_in_fin_wait_1_acked_at_once)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	tcp_close(c);                           /* orphan: the TCB finishes alone */
	struct th_seg s;
	POP(&h, s);
	CHECK(s.h.flags & TCP_FIN);
	CHECK_EQ(c->state, TCP_FIN_WAIT_1);
	peer_send(&h, &p, TCP_FIN | TCP_ACK, NULL, 0);   /* crosses ours: acks only the SYN side */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(c->state, TCP_CLOSING);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* ==== (b) tcp_output's early return, nothing_to_send() ============================= */

static uint8_t rs_blob[100000];

static uint32_t rs_data_bytes(struct th *h, uint32_t *first_seq, int *nsegs)
{
	struct th_seg s;
	uint32_t n = 0;
	*nsegs = 0;
	while (th_pop(h, &s)) {
		if (!s.dlen)
			continue;
		if (!*nsegs)
			*first_seq = s.h.seq;
		(*nsegs)++;
		n += s.dlen;
	}
	return n;
}

/* Sound: an ACK that arrives after a long idle takes the early return, so
 * restart_after_idle does not run then; it runs when data is next written (the pure ACK
 * we send meanwhile does not move last_snd_ns), and that burst is still cut to the
 * restart window (RFC 5681 §4.1). */
TEST(review_sg_nothing_to_send_keeps_restart_after_idle)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	CHECK_EQ(tcp_send(c, rs_blob, 1000), 1000);
	uint32_t seq0 = 0;
	int n = 0;
	CHECK_EQ(rs_data_bytes(&h, &seq0, &n), 1000);
	p.ack = seq0 + 1000;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	c->cwnd = 60 * c->mss;                  /* grown by an earlier transfer */
	th_advance(&h, 5 * TH_SEC);             /* idle, far over the RTO */
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "ping", 4);    /* takes the early return */
	th_advance(&h, 50 * TH_MS);             /* our delayed ACK of it: a pure ACK */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.dlen, 0);
	CHECK(tcp_send(c, rs_blob, sizeof(rs_blob)) > 20000);
	uint32_t sent = rs_data_bytes(&h, &seq0, &n);
	CHECK(sent > 0);
	CHECK(sent <= TCP_INIT_CWND * c->mss);
	tcp_close(c);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* Sound: after an RTO, go-back-N leaves snd_nxt below snd_buf_end with everything
 * already sent once (snd_nxt < snd_max): the ACK of the retransmission must go on to
 * the next lost segment, not take the early return. */
TEST(review_sg_nothing_to_send_rto_go_back_n_continues)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	uint32_t mss = c->mss;
	CHECK_EQ(tcp_send(c, rs_blob, 4 * mss), (long)(4 * mss));
	uint32_t seq0 = 0;
	int n = 0;
	CHECK_EQ(rs_data_bytes(&h, &seq0, &n), 4 * mss);    /* all lost */
	th_advance(&h, 1100 * TH_MS);           /* RTO: the first segment again */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.seq, seq0);
	CHECK_EQ(s.dlen, mss);
	th_drain(&h);
	p.ack = seq0 + mss;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	uint32_t first = 0;
	uint32_t more = rs_data_bytes(&h, &first, &n);
	CHECK(more >= mss);
	CHECK_EQ(first, seq0 + mss);            /* the next hole, at once */
	tcp_close(c);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* Sound: a window closed with nothing unsent takes the slow path once data is written
 * (snd_wnd == 0): the persist timer is armed and the probe goes. */
TEST(review_sg_nothing_to_send_zero_window_probe)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c = rs_estab(&h, &p, &l);
	REQUIRE(c);
	p.wnd = 0;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK_EQ(c->snd_wnd, 0);
	CHECK_EQ(tcp_send(c, rs_blob, 500), 500);
	NONE(&h);
	CHECK(c->persist);
	th_advance(&h, 1500 * TH_MS);
	struct th_seg s;
	POP(&h, s);
	CHECK(s.dlen >= 1);                     /* the window probe */
	th_drain(&h);
	tcp_close(c);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* ==== (a) fq_codel's flow hash ====================================================== */

#include "net/fq_codel.h"

/* A frame of eth + IPv4 (20 B) in the slot, its TCP header in an ext tail: the slot
 * bytes behind the IP header are `junk`, not the frame. */
static struct pkt *rs_short_linear(struct pkt_pool *pool, const uint8_t *tail, size_t tlen,
				   uint8_t junk)
{
	struct pkt *p = pkt_alloc(pool);
	if (!p)
		return NULL;
	uint8_t *f = pkt_put(p, 34);
	memset(f, 0, 34);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 9] = 6;
	f[14 + 12] = 10, f[14 + 15] = 1;
	f[14 + 16] = 10, f[14 + 19] = 2;
	memset(f + 34, junk, 64);
	if (pkt_frag_add(p, tail, (uint32_t)tlen, NULL) != 0) {
		pkt_free(p);
		return NULL;
	}
	return p;
}

/* Suspicion: the flow hash bounds its reads by p->len, so with a short linear part it
 * reads the "ports" from the slot behind it: the same flow lands in different buckets
 * depending on stale slot bytes (and with a 2 KiB slot and a big tail, past the slot).
 * Only the linear part may be read: the frame stays classifiable by its addresses. */
TEST(review_sg_fq_codel_hash_reads_past_linear_part_bug)
{
	static struct fq_codel fq;
	static struct fq_codel_flow flows[1024];
	static uint8_t tail[1000];
	struct fq_codel_params prm;
	fq_codel_params_default(&prm);
	REQUIRE(fq_codel_init(&fq, &prm, flows, 1024, 0x2468ace1) == 0);
	uint8_t *mem = calloc(4, PKT_SLOT_SIZE);
	REQUIRE(mem);
	struct pkt_pool pool;
	pkt_pool_init(&pool, mem, 0x400000, 4);
	memset(tail, 0, sizeof(tail));
	tail[0] = 0x13, tail[1] = 0x89, tail[2] = 0x9c, tail[3] = 0x40;     /* ports */
	int differ = 0;
	for (int j = 1; j < 32; j++) {
		struct pkt *a = rs_short_linear(&pool, tail, sizeof(tail), 0);
		struct pkt *b = rs_short_linear(&pool, tail, sizeof(tail), (uint8_t)(j * 37));
		REQUIRE(a && b);
		differ += fq_codel_classify(&fq, a) != fq_codel_classify(&fq, b);
		pkt_free(a);
		pkt_free(b);
	}
	CHECK_EQ(differ, 0);
	free(mem);
}

/* ==== drivers: e1000/igb descriptor count and TSO header parse with an ext tail ===== */

#include "drivers/e1000_offload.h"
#include "drivers/nic_test.h"

/* Sound: e1000_offload_descs counts what tx_offload posts (a context, the linear part
 * and the tail, each in E1000_TX_CHUNK pieces); a tail that starts inside the headers
 * (the TSO header parse would read it from the slot) or comes without TSO is refused
 * (0: the driver drops it, counted), never described. */
TEST(review_sg_e1000_descs_and_short_linear_part)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };
	static uint8_t tail[65536];
	uint8_t *mem = calloc(1, pkt_slot_size(65536));
	REQUIRE(mem);
	struct pkt_pool pool;
	pkt_pool_init_sized(&pool, mem, 0x100000, 1, 65536);
	struct pkt *p = pkt_alloc(&pool);
	REQUIRE(p);
	REQUIRE(nic_test_frame(p, mac, NIC_TEST_TCP, 3, 20000) == 0);
	REQUIRE(p->flags & PKT_F_GSO_TCP4);
	uint32_t len = p->len;
	struct e1000_tx_offload o;
	for (uint32_t lin = 34; lin <= 54; lin += 4) {
		memcpy(tail, pkt_data(p) + lin, len - lin);
		p->len = lin;
		p->nfrags = 0;
		p->ext_len = 0;
		REQUIRE(pkt_frag_add(p, tail, len - lin, NULL) == 0);
		int want = lin >= 54 ? 1 + 1 + (int)((len - lin + E1000_TX_CHUNK - 1) / E1000_TX_CHUNK) : 0;
		CHECK_EQ(e1000_offload_descs(p, &o, 60, 1514), want);
		if (want)
			CHECK_EQ(o.hdrlen, 54);
	}
	p->flags &= (uint16_t)~PKT_F_GSO_TCP4;  /* a tail with checksum offload only */
	CHECK_EQ(e1000_offload_descs(p, &o, 60, 65535), 0);
	p->ext_len = 0;
	p->nfrags = 0;
	pkt_free(p);
	free(mem);
}

/* ==== lifetime: what done == NULL guarantees ======================================== */

static void rs_move(struct test_net *from, struct test_net *to)
{
	struct pkt *p;
	while ((p = fake_netdev_pop(&from->f))) {
		fake_netdev_complete(&from->f, 1);
		if (p->len <= PKT_BUF_SIZE && !p->ext_len)
			fake_netdev_rx(&to->f, &to->s, pkt_data(p), p->len);
		pkt_free(p);
	}
	net_input_flush(&to->s);
}

static void rs_ref_done(void *arg, int err)
{
	(void)err;
	(*(int *)arg)++;
}

/* Frames a sent: how many big (over the MTU), how many with a tail at ext. */
static void rs_frames(struct test_net *a, int *big, int *sg)
{
	struct pkt *p;
	*big = *sg = 0;
	while ((p = fake_netdev_pop(&a->f))) {
		fake_netdev_complete(&a->f, 1);
		*big += p->len > 1514;
		*sg += p->ext_len != 0;
		pkt_free(p);
	}
}

/* a connects to b's listener on port; the handshake moved until done. NULL if not. */
static struct tcp_sock *rs_connect(struct test_net *a, struct test_net *b, uint16_t port)
{
	struct tcp_sock *cs;
	if (tcp_connect(&a->s.tcp, 0, ip("10.0.0.2"), port, NULL, NULL, &cs) != 0)
		return NULL;
	for (int i = 0; i < 20 && !(tcp_ready(cs) & TCP_EV_CONNECTED); i++) {
		rs_move(a, b);
		rs_move(b, a);
		tn_advance(a, NET_NS_PER_MS);
		tn_advance(b, NET_NS_PER_MS);
	}
	return tcp_ready(cs) & TCP_EV_CONNECTED ? cs : NULL;
}

/* Suspicion: a frame in a device ring may outlive the ACK of its bytes (a
 * retransmission queued behind the original), so memory handed over with a completion
 * (done != NULL: the owner may free it when done runs) must never be read in place.
 * Sound: only references without a completion go by reference (sq_frags checks
 * k->done; copy chunks are pinned instead),
 * and the one caller passing NULL (http_app.c) passes only image file data and static
 * strings (is_transient, http_server.c BODY_STATIC). The same send with done == NULL
 * does go in place: the test can fail. */
TEST(review_sg_ref_with_completion_never_read_in_place)
{
	static struct test_net a, b;
	static uint8_t buf[60000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	tn_init_tcp(&a, 1, "10.0.0.1/24");
	tn_init_tcp(&b, 2, "10.0.0.2/24");
	a.s.tcp.cfg.gso = true;
	a.f.dev.features = NETDEV_F_TSO4 | NETDEV_F_TX_CSUM | NETDEV_F_SG;
	a.f.dev.tso_max = 65536;
	for (int i = 0; i < 4; i++) {
		rs_move(&a, &b);
		rs_move(&b, &a);
	}
	struct tcp_sock *l, *cs, *ss = NULL;
	REQUIRE(tcp_listen(&b.s.tcp, 0, 5002, 0, NULL, NULL, &l) == 0);
	REQUIRE((cs = rs_connect(&a, &b, 5002)) != NULL);
	int done = 0, big = 0, sg = 0;
	REQUIRE(tcp_send_ref(cs, buf, 30000, rs_ref_done, &done) == 0);
	rs_frames(&a, &big, &sg);
	CHECK(big > 0);                         /* the TSO path was taken */
	CHECK_EQ(sg, 0);                        /* ... but copied */
	tcp_abort(cs);                          /* done runs (also on abort), */
	tn_advance(&a, NET_NS_PER_MS);          /* from tcp_poll */
	CHECK_EQ(done, 1);
	rs_frames(&a, &big, &sg);
	REQUIRE((cs = rs_connect(&a, &b, 5002)) != NULL);
	REQUIRE(tcp_send_ref(cs, buf, 30000, NULL, NULL) == 0);
	rs_frames(&a, &big, &sg);
	CHECK(sg > 0);                          /* no completion: read where it lies */
	tcp_abort(cs);
	rs_frames(&a, &big, &sg);
	while (tcp_accept(l, &ss) == 0 && ss)
		tcp_abort(ss);
	tcp_close(l);
	CHECK_EQ(tn_fini(&a), 0);
	CHECK_EQ(tn_fini(&b), 0);
}

/* Sound: the handshake's last ACK carries the FIN (SYN-RECEIVED -> ESTABLISHED ->
 * CLOSE-WAIT) for a connection no application has accepted yet: nobody can close it
 * within 40 ms, and the delayed-ACK timer still runs for it from the accept queue. */
TEST(review_sg_fin_on_handshake_ack_acked_by_timer)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l;
	th_init(&h, NULL);
	struct tcp_sock *c = th_into_state(&h, &p, &l, "SYN-RECV", NULL);
	REQUIRE(c);
	peer_send(&h, &p, TCP_FIN | TCP_ACK, NULL, 0);
	CHECK_EQ(c->state, TCP_CLOSE_WAIT);
	NONE(&h);
	th_advance(&h, 41 * TH_MS);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

/* ==== software GSO's header parse ==================================================== */

#include "net/gso.h"

/* Suspicion: gso_hdr_len (link.c's TSO-or-software decision, before the tail is
 * joined) parses the headers against p->len: with a linear part that ends inside the
 * TCP header it reads the data offset from stale slot bytes and returns a header
 * length nobody sent. The headers must lie in the slot, or the frame is refused. */
TEST(review_sg_gso_hdr_len_reads_past_linear_part_bug)
{
	static uint8_t tail[4000];
	uint8_t *mem = calloc(1, pkt_slot_size(65536));
	REQUIRE(mem);
	struct pkt_pool pool;
	pkt_pool_init_sized(&pool, mem, 0x100000, 1, 65536);
	struct pkt *p = pkt_alloc(&pool);
	REQUIRE(p);
	uint8_t *f = pkt_put(p, 14 + 20 + 10);  /* the TCP header's first 10 bytes only */
	memset(f, 0, 44);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 2] = (uint8_t)((20 + 20 + sizeof(tail) - 10) >> 8);
	f[14 + 3] = (uint8_t)(20 + 20 + sizeof(tail) - 10);
	f[14 + 9] = 6;
	memset(f + 44, 0x50, 64);               /* stale slot bytes: "data offset 5" */
	memset(tail, 0, sizeof(tail));
	REQUIRE(pkt_frag_add(p, tail, sizeof(tail), NULL) == 0);
	p->flags |= PKT_F_GSO_TCP4;
	p->gso_size = 1448;
	CHECK(gso_hdr_len(p) < 0);
	p->ext_len = 0;
	p->nfrags = 0;
	pkt_free(p);
	free(mem);
}
