/*
 * Scatter-gather for copied send-queue data (tcp_out.c sq_frags, tcp_sendq.c pins,
 * pkt.h fragments): a super-segment points into the send queue's copy chunks, which
 * stay allocated, unchanged and out of reuse until every packet holding them is freed,
 * whatever happens to the data (acknowledged first) or the connection (aborted, its
 * TCB gone) meanwhile. The device here is lazy on purpose: it keeps the frames it was
 * given until the test "completes" them, as real drivers reclaim late.
 */
#include "tests/unit/test.h"
#include "tests/unit/sg_pair.h"
#include "net/tcp_int.h"
#include "net/gso.h"
#include "net/qdisc.h"

#define MS NET_NS_PER_MS
#define PORT 5002
#define SGC_DEV (NETDEV_F_TSO4 | NETDEV_F_TX_CSUM | NETDEV_F_SG)

/* Queues n bytes of pattern salt in sends of piece bytes (piece-sized copy chunks),
 * corked so they leave as one batch. */
static void send_corked(struct tcp_sock *c, uint32_t n, uint32_t piece, uint8_t salt, int uncork)
{
	static uint8_t buf[65536];
	for (uint32_t i = 0; i < n; i++)
		buf[i] = sgp_pat(i, salt);
	REQUIRE(tcp_setopt(c, TCP_OPT_CORK, 1) == 0);
	for (uint32_t off = 0; off < n; off += piece)
		REQUIRE(tcp_send(c, buf + off, n - off < piece ? n - off : piece) ==
			(long)(n - off < piece ? n - off : piece));
	if (uncork)
		REQUIRE(tcp_setopt(c, TCP_OPT_CORK, 0) == 0);
}

static void send_pattern(struct tcp_sock *c, uint32_t n, uint32_t piece, uint8_t salt)
{
	send_corked(c, n, piece, salt, 1);
}

/* Five 2 KiB chunks (the size the spare and the object cache reuse), one super-segment
 * over all five, acknowledged while the NIC still holds it; new sends then would take
 * exactly those chunks if they were free. The frame's bytes stay the old ones until
 * completion, and the chunks are freed then. */
TEST(tcp_sgcopy_acked_before_completion_stays_intact)
{
	static struct sg_pair s;
	sgp_init(&s, SGC_DEV, PORT);
	uint32_t seq0 = s.cs->snd_nxt;
	uint64_t sg0 = s.a.s.tcp.mib[TCP_MIB_SgCopySegs];
	send_pattern(s.cs, 5 * TCP_CHUNK_MIN, TCP_CHUNK_MIN, 0x11);
	sgp_pump(&s, 1, 1);                         /* delivered, ACKed, the frame still held */
	REQUIRE(s.nheld == 1);
	CHECK_EQ(s.held[0]->nfrags, 5);
	CHECK_EQ(s.a.s.tcp.mib[TCP_MIB_SgCopySegs] - sg0, 1);
	CHECK_EQ(s.cs->snd_una, seq0 + 5 * TCP_CHUNK_MIN);     /* all acknowledged */
	CHECK_EQ(s.a.s.tcp.sg_pins, 5);
	CHECK_EQ(s.a.s.tcp.sg_held_bytes, 5 * TCP_CHUNK_MIN);
	CHECK(s.cs->sq_spare == NULL);          /* a pinned chunk is never the spare */
	uint32_t got = 0;
	CHECK_EQ(sgp_recv_check(s.ss, &got, 0x11), 0);
	CHECK_EQ(got, 5 * TCP_CHUNK_MIN);
	/* Reuse attempt: the same sizes again, another pattern, corked (not yet sent). */
	send_corked(s.cs, 5 * TCP_CHUNK_MIN, TCP_CHUNK_MIN, 0xee, 0);
	CHECK(sgp_frame_payload_ok(s.held[0], seq0, 0x11));
	uint64_t used = s.a.s.tcp.mem_used;
	sgp_complete_held(&s);                      /* TX completion: the last unpin frees */
	CHECK_EQ(s.a.s.tcp.sg_pins, 0);
	CHECK_EQ(s.a.s.tcp.sg_held_bytes, 0);
	CHECK_EQ(used - s.a.s.tcp.mem_used, 5 * (sizeof(struct tcp_chunk) + TCP_CHUNK_MIN));
	REQUIRE(tcp_setopt(s.cs, TCP_OPT_CORK, 0) == 0);
	sgp_pump(&s, 0, 1);                         /* the second batch arrives intact too */
	got = 0;
	CHECK_EQ(sgp_recv_check(s.ss, &got, 0xee), 0);
	CHECK_EQ(got, 5 * TCP_CHUNK_MIN);
	sgp_fini(&s);
}

/* The connection is aborted (RST) with the frame in the NIC: the TCB goes, its memory
 * may be reused; the chunks stay for the frame, whose bytes are intact at completion,
 * and then everything TCP allocated is given back (under ASan: no use after free). */
TEST(tcp_sgcopy_abort_with_frames_in_flight)
{
	static struct sg_pair s;
	sgp_init(&s, SGC_DEV, PORT);
	uint32_t seq0 = s.cs->snd_nxt;
	send_pattern(s.cs, 40000, 8000, 0x22);
	sgp_a_to_b(&s, 1, 0);                       /* sent, never delivered */
	REQUIRE(s.nheld >= 1);
	CHECK(s.a.s.tcp.sg_pins > 0);
	tcp_abort(s.cs);
	s.cs = NULL;
	tn_advance(&s.a, MS);                   /* the TCB is reaped */
	CHECK_EQ(s.a.s.tcp.nconns, 0);
	CHECK(s.a.s.tcp.sg_held_bytes >= 8000);    /* the sent chunks, kept */
	struct tcp_sock *c2;                    /* a new TCB may take the old one's memory */
	REQUIRE(tcp_connect(&s.a.s.tcp, 0, ip("10.0.0.2"), PORT, NULL, NULL, &c2) == 0);
	for (int i = 0; i < s.nheld; i++)
		CHECK(sgp_frame_payload_ok(s.held[i], seq0, 0x22));
	tcp_abort(c2);
	tn_advance(&s.a, MS);
	sgp_complete_held(&s);
	CHECK_EQ(s.a.s.tcp.sg_pins, 0);
	CHECK_EQ(s.a.s.tcp.sg_held_bytes, 0);
	CHECK_EQ(s.a.s.tcp.mem_used, 0);        /* a has no TCB, buffer or chunk left */
	sgp_fini(&s);
}

/* A frame dropped in the qdisc (purged) and one the device fails to send (dropped
 * after taking it) release their pins like a completion. */
TEST(tcp_sgcopy_qdisc_drop_and_device_drop_release)
{
	static struct sg_pair s;
	sgp_init(&s, SGC_DEV, PORT);
	s.a.f.ring_size = 1;                    /* the rest waits in the qdisc */
	send_pattern(s.cs, 60000, 12000, 0x33);
	struct net_if *ifc = &s.a.s.link.ifs[0];
	CHECK(s.a.s.tcp.sg_pins > 0);
	CHECK(qdisc_qlen(&ifc->qdisc) > 0 || s.a.f.wire.len > 0);
	qdisc_purge(&ifc->qdisc, &s.a.s.core);
	fake_netdev_drop_all(&s.a.f);           /* what the device held: failed, freed */
	CHECK_EQ(s.a.s.tcp.sg_pins, 0);
	s.a.f.ring_size = 0;
	/* TCP recovers the lost data by retransmission: the stream arrives intact. */
	uint32_t got = 0, bad = 0;
	for (int i = 0; i < 400 && got < 60000; i++) {
		sgp_pump(&s, 0, 1);
		bad += sgp_recv_check(s.ss, &got, 0x33);
		tn_advance(&s.a, 20 * MS);
		tn_advance(&s.b, 20 * MS);
	}
	CHECK_EQ(got, 60000);
	CHECK_EQ(bad, 0);
	sgp_fini(&s);
}

/* The super-frame is lost and still held by the NIC when the RTO retransmits its
 * bytes (copied or pinned again): the retransmission carries the right bytes, the
 * chunks outlive their ACK for the held frame, and every pin goes at completion. */
TEST(tcp_sgcopy_retransmit_pinned_data)
{
	static struct sg_pair s;
	sgp_init(&s, SGC_DEV, PORT);
	send_pattern(s.cs, 30000, 10000, 0x44);
	sgp_a_to_b(&s, 1, 0);                       /* lost on the wire, kept by the NIC */
	REQUIRE(s.nheld >= 1);
	uint64_t pins = s.a.s.tcp.sg_pins;
	CHECK(pins > 0);
	uint32_t got = 0, bad = 0;
	for (int i = 0; i < 400 && got < 30000; i++) {
		tn_advance(&s.a, 50 * MS);
		tn_advance(&s.b, 50 * MS);
		sgp_pump(&s, 1, 1);                 /* retransmissions delivered (and any SG held) */
		bad += sgp_recv_check(s.ss, &got, 0x44);
	}
	for (int i = 0; i < 4; i++) {           /* the last (delayed) ACK */
		tn_advance(&s.b, 100 * MS);
		sgp_pump(&s, 1, 1);
	}
	CHECK(s.a.s.tcp.mib[TCP_MIB_RetransSegs] > 0);
	CHECK_EQ(got, 30000);
	CHECK_EQ(bad, 0);
	CHECK_EQ(s.cs->snd_una, s.cs->snd_nxt);
	CHECK(s.a.s.tcp.sg_held_bytes > 0);     /* ACKed, kept for the held frames */
	sgp_complete_held(&s);
	CHECK_EQ(s.a.s.tcp.sg_pins, 0);
	CHECK_EQ(s.a.s.tcp.sg_held_bytes, 0);
	sgp_fini(&s);
}

/* ---- twins: software GSO over fragments against the copy path ------------------------ */

struct twin {
	struct sg_pair s;
	uint32_t got, bad;
};

/* Both twins' senders have a device without TSO (software GSO cuts the super-segments
 * in link.c); one gathers from fragments, the other copied (tx_sg off). Every wire
 * frame must be byte-identical, checksums included. */
static void twins_run(int dev_csum)
{
	static struct twin t[2];
	for (int k = 0; k < 2; k++) {
		struct sg_pair *s = &t[k].s;
		memset(&t[k], 0, sizeof(t[k]));
		tn_init_tcp(&s->a, 1, "10.0.0.1/24");
		tn_init_tcp(&s->b, 2, "10.0.0.2/24");
		s->a.f.dev.features = dev_csum ? NETDEV_F_TX_CSUM : 0;
		s->a.s.tcp.cfg.gso = true;
		sgp_pump(s, 0, 1);
		REQUIRE(tcp_listen(&s->b.s.tcp, 0, PORT, 0, NULL, NULL, &s->l) == 0);
		REQUIRE(tcp_connect(&s->a.s.tcp, 0, ip("10.0.0.2"), PORT, NULL, NULL, &s->cs) == 0);
		REQUIRE(s->cs->tx_sg);          /* no TSO: software GSO gathers */
		if (k == 1)
			s->cs->tx_sg = false;
	}
	static uint8_t fa[2048], fb[2048];
	static uint8_t buf[20000];
	uint64_t frames = 0, diff = 0;
	uint32_t sent = 0;
	for (int step = 0; step < 3000 && t[0].got < 400000; step++) {
		for (int k = 0; k < 2; k++) {
			struct sg_pair *s = &t[k].s;
			if (!s->ss)
				tcp_accept(s->l, &s->ss);
			if (tcp_ready(s->cs) & TCP_EV_CONNECTED) {
				uint32_t n = 1000 + (uint32_t)(step * 977) % 15000;
				for (uint32_t i = 0; i < n; i++)
					buf[i] = sgp_pat(sent + i, 0x55);
				long r = sent < 400000 ? tcp_send(s->cs, buf, n) : 0;
				if (k == 1 && r > 0)
					sent += (uint32_t)r;
			}
		}
		/* Lockstep: each frame a sent, compared with its twin's, then delivered. */
		for (;;) {
			struct pkt *p0 = fake_netdev_pop(&t[0].s.a.f), *p1 = fake_netdev_pop(&t[1].s.a.f);
			if (!p0 || !p1) {
				CHECK(!p0 && !p1);
				pkt_free(p0);
				pkt_free(p1);
				break;
			}
			frames++;
			struct pkt *q0 = sgp_wire_copy(&t[0].s.b, p0), *q1 = sgp_wire_copy(&t[1].s.b, p1);
			REQUIRE(q0 && q1);
			CHECK(p0->len <= sizeof(fa));
			memcpy(fa, pkt_data(q0), q0->len);
			memcpy(fb, pkt_data(q1), q1->len);
			diff += q0->len != q1->len || memcmp(fa, fb, q0->len) != 0;
			fake_netdev_complete(&t[0].s.a.f, 1);
			fake_netdev_complete(&t[1].s.a.f, 1);
			pkt_free(p0);
			pkt_free(p1);
			net_input(&t[0].s.b.s, &t[0].s.b.f.dev, q0);
			net_input(&t[1].s.b.s, &t[1].s.b.f.dev, q1);
		}
		for (int k = 0; k < 2; k++) {
			struct sg_pair *s = &t[k].s;
			net_input_flush(&s->b.s);
			sgp_pump(s, 0, 1);          /* ACKs back (and anything left) */
			if (s->ss)
				t[k].bad += sgp_recv_check(s->ss, &t[k].got, 0x55);
			tn_advance(&s->a, MS);
			tn_advance(&s->b, MS);
		}
	}
	printf("    dev_csum=%d: %llu frames compared, %llu SG super-segments\n", dev_csum,
	       (unsigned long long)frames, (unsigned long long)t[0].s.a.s.tcp.mib[TCP_MIB_SgCopySegs]);
	CHECK(frames > 200);
	CHECK_EQ(diff, 0);
	CHECK(t[0].s.a.s.tcp.mib[TCP_MIB_SgCopySegs] > 10);
	CHECK_EQ(t[1].s.a.s.tcp.mib[TCP_MIB_SgSegs], 0);
	CHECK_EQ(t[0].got, t[1].got);
	CHECK(t[0].got >= 400000);
	CHECK_EQ(t[0].bad + t[1].bad, 0);
	for (int k = 0; k < 2; k++)
		sgp_fini(&t[k].s);
}

TEST(tcp_sgcopy_software_gso_frames_identical_to_copy_path)
{
	twins_run(0);
	twins_run(1);
}

/* ---- the packet layer --------------------------------------------------------------- */

struct owner {
	struct pkt_frag_owner own;
	int unpins;
	uint8_t bytes[3000];
};

static void owner_unpin(struct pkt_frag_owner *o)
{
	((struct owner *)(void *)o)->unpins++;
}

/* pkt_linearize over several fragments (owned and lasting): the bytes in order, each
 * owner unpinned exactly once, then a plain packet; a slot too small changes nothing. */
TEST(pkt_linearize_several_fragments_unpins_once)
{
	static struct owner o[3];
	static const uint8_t lasting[700] = { 1, 2, 3 };
	static uint8_t mem[2 * PKT_SLOT_SIZE];
	static uint8_t want[PKT_BUF_SIZE];
	struct pkt_pool pool;
	pkt_pool_init(&pool, mem, 0x1000, 2);
	struct pkt *p = pkt_alloc(&pool);
	REQUIRE(p);
	memset(pkt_put(p, 54), 0xaa, 54);
	memset(want, 0xaa, 54);
	uint32_t at = 54;
	for (int i = 0; i < 3; i++) {
		o[i].own.unpin = owner_unpin;
		o[i].unpins = 0;
		for (int j = 0; j < 3000; j++)
			o[i].bytes[j] = (uint8_t)(i * 50 + j);
		REQUIRE(pkt_frag_add(p, o[i].bytes + 100 * i, 400, &o[i].own) == 0);
		memcpy(want + at, o[i].bytes + 100 * i, 400);
		at += 400;
		if (i == 1) {
			REQUIRE(pkt_frag_add(p, lasting, sizeof(lasting), NULL) == 0);
			memcpy(want + at, lasting, sizeof(lasting));
			at += sizeof(lasting);
		}
	}
	CHECK_EQ(p->nfrags, 4);
	CHECK_EQ(p->len, at);
	CHECK_EQ(pkt_linear_len(p), 54);
	CHECK(pkt_frag_owner(p, 0) == &o[0].own);
	CHECK(pkt_frag_owner(p, 2) == NULL);
	uint8_t mid[500];
	pkt_copy_out(p, 300, mid, sizeof(mid));  /* across the slot and two fragments */
	CHECK(memcmp(mid, want + 300, sizeof(mid)) == 0);
	CHECK_EQ(pkt_linearize(p), 0);
	CHECK_EQ(p->nfrags, 0);
	CHECK_EQ(p->ext_len, 0);
	CHECK_EQ(p->len, at);
	CHECK(memcmp(pkt_data(p), want, at) == 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(o[i].unpins, 1);
	pkt_free(p);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(o[i].unpins, 1);       /* not again at free */
	/* No room: nothing changes, the pins stay until the free. */
	p = pkt_alloc(&pool);
	REQUIRE(p);
	pkt_put(p, 54);
	for (int i = 0; i < 5; i++) {
		o[i % 3].unpins = 0;
		REQUIRE(pkt_frag_add(p, o[i % 3].bytes, 500, &o[i % 3].own) == 0);
	}
	CHECK(pkt_frag_add(p, lasting, 10, NULL) != 0);        /* six: no room in the table */
	CHECK_EQ(pkt_linearize(p), -1);
	CHECK_EQ(p->nfrags, 5);
	CHECK_EQ(o[0].unpins + o[1].unpins + o[2].unpins, 0);
	pkt_free(p);
	CHECK_EQ(o[0].unpins + o[1].unpins + o[2].unpins, 5);
	CHECK_EQ(pool.stats.free, 2);
}
