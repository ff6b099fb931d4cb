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


/* Same TCB, counters (the prediction pair aside) and emitted segments. */
static void hp_same(struct hp *x)
{
	if (x->c[0] && x->c[1])
		th_same_tcb(x->c[0], x->c[1]);
	for (int m = 0; m < TCP_MIB_COUNT; m++) {
		if (m == TCP_MIB_TCPHPHits || m == TCP_MIB_TCPHPAcks)
			continue;
		if (x->h[0].t.mib[m] != x->h[1].t.mib[m])
			printf("    mib %d: %llu vs %llu\n", m, (unsigned long long)x->h[0].t.mib[m],
			       (unsigned long long)x->h[1].t.mib[m]);
		CHECK_EQ(x->h[0].t.mib[m], x->h[1].t.mib[m]);
	}
	th_same_segs(&x->h[0], &x->h[1]);
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

/* ---- B. a connection's cached output path (net/dst.h) -------------------------------- */

static const struct ipv4_out b_tcp = { .proto = IPV4_PROTO_TCP, .ttl = 64, .df = 1 };

/* n payload bytes in a fresh transmit packet with headroom bytes in front. */
static struct pkt *b_l4(struct test_net *t, size_t n, uint8_t seed, uint32_t headroom)
{
	struct pkt *p = link_alloc(&t->s.link, 0);
	if (!p)
		abort();
	p->off = PKT_HDR_SIZE + headroom;
	uint8_t *d = pkt_put(p, n);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(seed + i * 3);
	return p;
}

static size_t b_pop(struct test_net *t, uint8_t *buf)
{
	return fake_netdev_pop_copy(&t->f, buf, 2048);
}

/* Frames, counters, drop reasons, neighbour entries and IP IDs agree. */
static int b_same(struct test_net *a, struct test_net *b)
{
	uint8_t fa[2048], fb[2048];
	int ok = 1;
	for (;;) {
		size_t la = b_pop(a, fa), lb = b_pop(b, fb);
		if (la != lb || memcmp(fa, fb, la) != 0) {
			printf("    frames differ: %zu vs %zu bytes\n", la, lb);
			ok = 0;
		}
		if (!la || !lb)
			break;
	}
	for (int i = 0; i < MIB_COUNT; i++)
		if (a->s.core.mib[i] != b->s.core.mib[i]) {
			printf("    %s: %llu vs %llu\n", net_mib_names[i],
			       (unsigned long long)a->s.core.mib[i], (unsigned long long)b->s.core.mib[i]);
			ok = 0;
		}
	if (memcmp(a->s.core.drops, b->s.core.drops, sizeof(a->s.core.drops)) != 0) {
		printf("    drop reasons differ\n");
		ok = 0;
	}
	for (int i = 0; i < NEIGH_MAX; i++) {
		const struct neigh_entry *x = &a->s.neigh.e[i], *y = &b->s.neigh.e[i];
		if (x->state != y->state || x->addr != y->addr || memcmp(x->mac, y->mac, ETH_ALEN) ||
		    x->used_ns != y->used_ns || x->updated_ns != y->updated_ns ||
		    x->timer_ns != y->timer_ns || x->queue.len != y->queue.len) {
			printf("    neighbour slot %d differs\n", i);
			ok = 0;
		}
	}
	if (memcmp(a->s.ip.idents, b->s.ip.idents, sizeof(a->s.ip.idents)) != 0) {
		printf("    IP IDs differ\n");
		ok = 0;
	}
	return ok;
}

struct btwin {
	struct test_net full, fast;
	struct net_dst d[3];    /* the fast twin's connections */
};

static void b_init(struct btwin *w)
{
	tn_init_peer(&w->full);
	tn_init_peer(&w->fast);
	memset(w->d, 0, sizeof(w->d));
}

/* The same datagram both ways, the fast twin through cache k. */
static int b_send(struct btwin *w, int k, uint32_t src, uint32_t dst, const struct ipv4_out *o,
		  size_t n, uint8_t seed, uint32_t headroom)
{
	int ra = ipv4_output_ext(&w->full.s.ip, b_l4(&w->full, n, seed, headroom), src, dst, o);
	int rb = ipv4_output_dst(&w->fast.s.ip, &w->d[k], b_l4(&w->fast, n, seed, headroom), src,
				 dst, o);
	if (ra != rb)
		printf("    returned %d vs %d\n", ra, rb);
	return ra == rb && b_same(&w->full, &w->fast);
}

/* Suspicion: ip->dst_last, the copy a new connection's cache starts from, hands one
 * connection's header (TOS, ECN bits) to another, or two connections alternating
 * refill each other's state wrongly. Sound: dst_valid compares the whole ipv4_out key
 * and each TCB has its own net_dst. */
TEST(review6_dst_connections_alternating_tos_share_nothing)
{
	static struct btwin w;
	b_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	struct ipv4_out ef = b_tcp, ect = b_tcp;
	ef.tos = 0xb8;                  /* DSCP EF */
	ect.tos = 0x02;                 /* ECT(0) */
	for (int i = 0; i < 30; i++) {
		CHECK(b_send(&w, 0, me, peer, &b_tcp, 40 + (size_t)i, (uint8_t)i, PKT_HEADROOM));
		CHECK(b_send(&w, 1, me, peer, &ef, 60 + (size_t)i, (uint8_t)i, PKT_HEADROOM));
		CHECK(b_send(&w, 2, me, peer, i % 3 ? &ect : &b_tcp, 20, (uint8_t)i, PKT_HEADROOM));
	}
	CHECK_EQ(w.d[0].ok, 1);
	CHECK_EQ(w.d[1].ok, 1);
	CHECK(w.d[0].key_out != w.d[1].key_out);
	CHECK_EQ(tn_fini(&w.full) + tn_fini(&w.fast), 0);
}

/* Suspicion: a packet without room for both headers is freed twice or leaked on the
 * cached path's fallback (dst_fits false, then ipv4_output_ext). Sound: the full path
 * takes it and drops it once, counted as before (ASan and tn_fini's pool count). */
TEST(review6_dst_short_headroom_dropped_once_as_full_path)
{
	static struct btwin w;
	b_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 1, PKT_HEADROOM));   /* filled */
	CHECK_EQ(w.d[0].ok, 1);
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 2, 10));     /* no room for IPv4 */
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 3, 30));     /* IPv4 fits, Ethernet not */
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 4, 34));     /* exactly enough */
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 10, 5, 34));      /* and a runt: padded */
	CHECK(w.fast.s.core.mib[MIB_IpOutDiscards] >= 1);
	CHECK_EQ(tn_fini(&w.full) + tn_fini(&w.fast), 0);
}

/* Suspicion: the cached entry's slot is evicted and at once reused for another address
 * whose MAC is the same; neigh_update's "changed" test then sees no new address and the
 * entry generation would not move, so the cache takes the new occupant for its own
 * (test_net_dst.c reuses the slot with a different MAC). Sound: a destroyed entry has
 * no MAC (had_mac false), so its first address always takes a new generation. */
TEST(review6_dst_slot_reused_with_same_mac_resolves_again)
{
	static struct btwin w;
	b_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2"), other = ip("10.0.0.3");
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 1, PKT_HEADROOM));
	const struct neigh_entry *slot = neigh_lookup(&w.fast.s.neigh, 0, peer);
	REQUIRE(slot);
	uint32_t gen = w.d[0].neigh_gen;
	for (int i = 0; i < 2; i++) {
		struct test_net *t = i ? &w.fast : &w.full;
		neigh_flush(&t->s.neigh, -1);
		REQUIRE(neigh_update(&t->s.neigh, 0, other, test_mac(2), NEIGH_REACHABLE, 1));
	}
	CHECK(neigh_lookup(&w.fast.s.neigh, 0, other) == slot);
	CHECK(slot->gen != gen);
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 2, PKT_HEADROOM));   /* ARP, queued */
	CHECK_EQ(w.d[0].ok, 0);
	CHECK_EQ(tn_fini(&w.full) + tn_fini(&w.fast), 0);
}

/* Suspicion: TCP's negative advice (neigh_suspect: REACHABLE -> STALE without a new
 * address, so no generation change) is missed by a cache that stays valid, and the
 * entry never moves to DELAY/PROBE. Sound: dst_send calls neigh_use, which does the
 * STALE -> DELAY step, used_ns and the counters exactly as neigh_output. */
TEST(review6_dst_neigh_suspect_then_cached_send_moves_to_delay)
{
	static struct btwin w;
	b_init(&w);
	uint32_t me = ip("10.0.0.1"), peer = ip("10.0.0.2");
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 1, PKT_HEADROOM));
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 2, PKT_HEADROOM));
	CHECK_EQ(w.d[0].ok, 1);
	tn_advance(&w.full, NET_NS_PER_MS);
	tn_advance(&w.fast, NET_NS_PER_MS);
	neigh_suspect(&w.full.s.neigh, 0, peer);
	neigh_suspect(&w.fast.s.neigh, 0, peer);
	CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, 3, PKT_HEADROOM));
	const struct neigh_entry *e = neigh_lookup(&w.fast.s.neigh, 0, peer);
	REQUIRE(e);
	CHECK_EQ(e->state, NEIGH_DELAY);
	CHECK_EQ(w.d[0].ok, 1);                 /* still the cached path */
	for (int i = 0; i < 7; i++) {
		tn_advance(&w.full, NET_NS_PER_SEC);
		tn_advance(&w.fast, NET_NS_PER_SEC);
		CHECK(b_send(&w, 0, me, peer, &b_tcp, 100, (uint8_t)(4 + i), PKT_HEADROOM));
	}
	CHECK_EQ(tn_fini(&w.full) + tn_fini(&w.fast), 0);
}

/* Suspicion: the TCB zeroing that skips the range arrays (TCP_TCB_ZERO_LEN) leaves a
 * recycled TCB's net_dst from its previous connection, which dst_valid might accept.
 * Sound: dst lies before sb[], so a new TCB's cache is empty (ok = 0). */
_Static_assert(offsetof(struct tcp_sock, dst) + sizeof(struct net_dst) <= TCP_TCB_ZERO_LEN,
	       "a new TCB's net_dst is zeroed");
TEST(review6_tcb_reused_has_empty_dst)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	tcp_abort(c);
	th_advance(&h, TH_MS);
	th_drain(&h);
	struct tcp_sock *old = h.t.cache[0].head;
	REQUIRE(old == c);
	memset(&old->dst, 0x5a, sizeof(old->dst));      /* a previous connection's cache */
	old->dst.ok = 1;
	struct th_peer q;
	peer_init(&q, 8080, 0, 70000);
	struct tcp_sock *d = th_open_active(&h, &q, NULL);
	REQUIRE(d == old);
	CHECK_EQ(d->dst.ok, 0);
	CHECK(d->dst.neigh == NULL);
	tcp_abort(d);
	tcp_close(l);
	th_fini(&h);
}

/* ---- C. the smaller TCP changes -------------------------------------------------------- */

/* Suspicion: the inline tcp_rto_ns differs from the backoff function it short-cuts
 * (rto_min, or an RTO above rto_max without backoff). Sound over the grid. */
TEST(review6_rto_inline_same_as_backoff)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	static const uint32_t rtos[] = { 1, 200000, 1000000, 119999999, 120000000, 120000001,
					 200000000, 0xffffffffu };
	for (size_t i = 0; i < sizeof(rtos) / sizeof(rtos[0]); i++) {
		for (uint8_t shift = 0; shift < 20; shift++) {
			c->rto_us = rtos[i];
			c->rtx_shift = shift;
			CHECK_EQ(tcp_rto_ns(c), tcp_rto_backoff_ns(c));
		}
	}
	c->rtx_shift = 0;
	c->rto_us = 200000;
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* Suspicion: tcp_pick_port's remembered hash leaks one destination's start into
 * another's (the memo keyed on less than F()'s inputs). Sound: two stacks alike, one
 * forgetting before every pick, pick the same ports over alternating destinations. */
TEST(review6_pick_port_memo_same_as_without)
{
	static struct th h[2];
	for (int i = 0; i < 2; i++)
		th_init(&h[i], NULL);
	static const uint32_t dsts[][3] = {
		{ TH_ADDR, TH_PEER, 80 }, { TH_ADDR, TH_PEER, 443 }, { TH_ADDR, 0x0a000003u, 80 },
		{ 0x0a000009u, TH_PEER, 80 }, { TH_ADDR, TH_PEER, 80 },
	};
	for (int n = 0; n < 60; n++) {
		const uint32_t *k = dsts[(n * 7 + n / 5) % 5];
		uint16_t port[2] = { 0, 0 };
		for (int i = 0; i < 2; i++) {
			if (i == 1)
				h[i].t.pmemo_ok = false;
			CHECK_EQ(tcp_pick_port(&h[i].t, k[0], k[1], (uint16_t)k[2], &port[i]), 0);
		}
		CHECK_EQ(port[0], port[1]);
	}
	for (int i = 0; i < 2; i++)
		th_fini(&h[i]);
}

/* Suspicion: tcp_recv's new "if (n > first)" loses the wrapped part, and the trim
 * now done only under pressure keeps (or frees) the buffer when it should not.
 * Sound: a read across the ring's end returns every byte in order; without pressure
 * the emptied buffer stays, under pressure it goes (tcp_rbuf_trim's own test). */
TEST(review6_tcp_recv_wrap_and_trim)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 4096;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	REQUIRE(c->rbuf_size == 4096);
	uint32_t sent = 0, got = 0;
	uint8_t out[1500], in[4096];
	for (int round = 0; round < 12; round++) {
		for (size_t k = 0; k < 1000; k++)
			out[k] = (uint8_t)((sent + k) * 31 >> 3);
		peer_send(&h, &p, TCP_ACK | TCP_PSH, out, 1000);
		sent += 1000;
		th_drain(&h);
		long r = tcp_recv(c, in, sizeof(in));
		REQUIRE(r == 1000);
		for (long k = 0; k < r; k++)
			CHECK_EQ(in[k], (uint8_t)((got + (uint32_t)k) * 31 >> 3));
		got += (uint32_t)r;
		CHECK(c->rbuf != NULL);         /* no pressure: kept */
	}
	CHECK_EQ(got, sent);                    /* 12000 bytes through a 4096 ring: wrapped */
	peer_send(&h, &p, TCP_ACK | TCP_PSH, out, 10);
	h.t.mem_pressure = true;
	CHECK_EQ(tcp_recv(c, in, sizeof(in)), 10);
	CHECK(c->rbuf == NULL);                 /* under pressure: given back */
	h.t.mem_pressure = false;
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* ---- A, randomised: prediction on and off under a random peer ------------------------ */

static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One random peer action on both stacks: in-order text, text off by a little either
 * way, ACKs of part or all of our data (new, old, duplicate), windows from zero up,
 * timestamps forward, equal or back, SACK blocks, reads, writes and time. */
static void hp_random_step(struct hp *x, uint64_t *rs)
{
	uint64_t r = rnd_next(rs);
	uint32_t k = (uint32_t)(r >> 8);
	switch (r % 10) {
	case 0: case 1: case 2: {               /* text at RCV.NXT or near it */
		int32_t off = (r % 7 == 0) ? (int32_t)(k % 200) - 100 : 0;
		size_t len = k % 5 == 0 ? 0 : 1 + (k >> 4) % 1400;
		for (int i = 0; i < 2; i++)
			x->p[i].seq = x->c[i]->rcv_nxt + (uint32_t)off;
		hp_peer_data(x, (uint8_t)(TCP_ACK | ((k & 1) ? TCP_PSH : 0)), len, k % 3);
		break;
	}
	case 3: {                               /* ACK somewhere in what we sent */
		for (int i = 0; i < 2; i++) {
			uint32_t out = x->c[i]->snd_max - x->c[i]->snd_una;
			uint32_t a = out ? k % (out + 1) : 0;
			x->p[i].ack = x->c[i]->snd_una + a - ((k % 11 == 0) ? 1 : 0);
			x->p[i].seq = x->c[i]->rcv_nxt;
		}
		hp_peer_data(x, TCP_ACK, 0, (k >> 3) % 2);
		break;
	}
	case 4:                                 /* a window change */
		for (int i = 0; i < 2; i++)
			x->p[i].wnd = (uint16_t)(k % 4 == 0 ? 0 : k % 600);
		break;
	case 5:                                 /* timestamps: back a little sometimes */
		for (int i = 0; i < 2; i++)
			x->p[i].tsval += (k % 4 == 0) ? (uint32_t)-5 : 7;
		break;
	case 6:                                 /* SACK blocks on or off */
		for (int i = 0; i < 2; i++) {
			uint32_t out = x->c[i]->snd_max - x->c[i]->snd_una;
			x->p[i].sack_blocks = out > 2 && (k & 1);
			x->p[i].nsack = 1;
			x->p[i].sack[0].start = x->c[i]->snd_una + (out ? 1 + k % out : 0);
			x->p[i].sack[0].end = x->c[i]->snd_max;
		}
		break;
	case 7:
		hp_read(x, 1 + k % 5000);
		break;
	case 8:
		for (int i = 0; i < 2; i++)
			tcp_send(x->c[i], pay, 1 + k % 4000);
		break;
	default:
		hp_advance(x, (uint64_t)(1 + k % 400) * TH_MS);
		break;
	}
}

/* Suspicion: some combination the hand-written scenarios miss (a window edge with a
 * timestamp equal to TS.Recent, an ACK of part of a retransmission, ...) is predicted
 * where the checklist would act differently. 24 seeds x 400 random steps (300 seeds ran clean during the review), compared
 * after each. */
TEST(review6_hp_random_peer_same_as_checklist)
{
	uint64_t hits = 0;
	for (uint64_t seed = 1; seed <= 24; seed++) {
		struct hp x;
		REQUIRE(hp_open(&x, seed & 1 ? &hp_opts : NULL, seed & 2 ? 8192 : 0));
		for (int i = 0; i < 2; i++)
			x.p[i].ts = (seed & 1) != 0;
		uint64_t rs = seed * 0x9e3779b97f4a7c15ull;
		for (int step = 0; step < 400; step++) {
			if (x.c[0]->state != TCP_ESTABLISHED)
				break;
			hp_random_step(&x, &rs);
			hp_same(&x);
			if (test_current_failed)
				break;
		}
		hits += hp_hits(&x);
		hp_close(&x);
	}
	printf("    predicted: %llu\n", (unsigned long long)hits);
	CHECK(hits > 100);
}

/* ---- B, randomised: the cached path under random changes ----------------------------- */

static void b_both_arp(struct btwin *w, uint8_t mac_last, uint32_t addr, uint16_t op)
{
	uint8_t f[64];
	size_t n = frame_arp(f, test_mac(1), op, test_mac(mac_last), addr, test_mac(1),
			     ip("10.0.0.1"));
	fake_netdev_rx(&w->full.f, &w->full.s, f, n);
	fake_netdev_rx(&w->fast.f, &w->fast.s, f, n);
}

/* Suspicion: some sequence of route, neighbour, address and time changes leaves a
 * cache valid that the full path would answer differently (a frame to an old MAC or
 * gateway, a missed STALE -> DELAY, a counter off by one). Three connections (two
 * peers on-link, one behind the gateway) through random sends (sizes incl. runts and
 * over the MTU, TOS, short headroom), ARP replies and requests with changing MACs,
 * neighbour flushes and suspicion, a host route via the gateway added and removed,
 * address changes and time; frames, counters, neighbour entries and IP IDs compared
 * after every step (40 seeds here; 400 ran clean during the review). */
TEST(review6_dst_random_changes_same_as_full_path)
{
	static struct btwin w;
	uint64_t hits = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		b_init(&w);
		uint64_t rs = seed * 0x2545f4914f6cdd1dull;
		uint32_t me = ip("10.0.0.1");
		const uint32_t dsts[3] = { ip("10.0.0.2"), ip("10.0.0.3"), ip("192.0.2.9") };
		uint32_t gw = ip("10.0.0.254");
		int host_route = 0;
		for (int step = 0; step < 300 && !test_current_failed; step++) {
			uint64_t r = rnd_next(&rs);
			uint32_t k = (uint32_t)(r >> 8);
			int c = (int)(k % 3);
			struct ipv4_out o = b_tcp;
			switch (r % 16) {
			case 0: case 1: case 2: case 3: case 4:
			case 9: case 10: case 11: case 12: {
				size_t n = k % 13 == 0 ? 1490 : k % 5 == 0 ? 6 : 20 + (k >> 4) % 1400;
				o.tos = (k >> 2) % 4 == 0 ? 0xb8 : 0;
				uint32_t room = (k >> 6) % 17 == 0 ? 20 : PKT_HEADROOM;
				uint32_t src = (k >> 9) % 9 == 0 ? 0 : w.full.s.link.ifs[0].addr;
				/* A route lookup on the fast twin moves this memo: none = served
				 * from the cache. */
				w.fast.s.routes.last_dst = 0xdeadbeef;
				CHECK(b_send(&w, c, src, dsts[c], &o, n, (uint8_t)k, room));
				hits += w.fast.s.routes.last_dst == 0xdeadbeef;
				break;
			}
			case 5:
				b_both_arp(&w, (uint8_t)(2 + k % 3), k & 8 ? dsts[k % 2] : gw,
					   k & 16 ? ARP_OP_REPLY : ARP_OP_REQUEST);
				break;
			case 6:
				if (k % 4 == 0) {
					neigh_flush(&w.full.s.neigh, -1);
					neigh_flush(&w.fast.s.neigh, -1);
				} else {
					uint32_t a = k & 1 ? gw : dsts[k % 2];
					neigh_suspect(&w.full.s.neigh, 0, a);
					neigh_suspect(&w.fast.s.neigh, 0, a);
				}
				break;
			case 7: {
				struct route rt = { .dst = dsts[0], .prefix_len = 32, .gateway = gw,
						    .ifi = 0, .proto = RTPROT_STATIC };
				for (int i = 0; i < 2; i++) {
					struct route_table *t = i ? &w.fast.s.routes : &w.full.s.routes;
					if (host_route)
						route_del(t, dsts[0], 32);
					else
						route_add(t, &rt);
				}
				host_route = !host_route;
				break;
			}
			case 8:
				if (k % 8 == 0) {
					uint32_t a = k & 1 ? ip("10.0.0.7") : me;
					ipv4_set_addr(&w.full.s.ip, 0, a, 24, IFACE_ADDR_STATIC, 0);
					ipv4_set_addr(&w.fast.s.ip, 0, a, 24, IFACE_ADDR_STATIC, 0);
					if (!host_route)
						break;
					route_del(&w.full.s.routes, dsts[0], 32);   /* flushed with it */
					route_del(&w.fast.s.routes, dsts[0], 32);
					host_route = 0;
				}
				break;
			default:
				tn_advance(&w.full, (uint64_t)(1 + k % 8000) * NET_NS_PER_MS);
				tn_advance(&w.fast, (uint64_t)(1 + k % 8000) * NET_NS_PER_MS);
				break;
			}
			CHECK(b_same(&w.full, &w.fast));
		}
		CHECK_EQ(tn_fini(&w.full) + tn_fini(&w.fast), 0);
	}
	printf("    cached sends: %llu\n", (unsigned long long)hits);
	CHECK(hits > 500);
}
