/*
 * net/gro.c, one test per coalescing rule (gro.h): segments built with the wire module go
 * in, what reaches "TCP" (a recording deliver function) comes out.
 */
#include "tests/unit/test.h"
#include "net/gro.h"
#include "net/tcp_wire.h"
#include "net/wire.h"
#include <stdlib.h>

#define SRC 0x0a000002u
#define DST 0x0a000001u
#define NSLOTS 256
#define NBIG 4

struct out {
	int n;
	uint32_t seq[64], len[64], src[64];
	uint16_t flags[64], wnd[64];
	uint32_t tsval[64];
	int csum_ok[64], chained[64];
	uint8_t data[8][70000];
};

struct rig {
	struct pkt_pool pool, big;
	void *mem, *big_mem;
	struct gro g;
	struct out o;
};

static void record(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct out *o = ctx;
	(void)dst;
	struct tcp_hdr h;
	if (o->n < 64 && tcp_wire_parse(pkt_data(p), p->len, &h) == WIRE_OK) {
		int i = o->n++;
		size_t hl = (size_t)(pkt_data(p)[12] >> 4) * 4;
		o->seq[i] = h.seq;
		o->len[i] = gro_seg_len(p) - (uint32_t)hl;
		o->chained[i] = (p->flags & PKT_F_GRO_CHAIN) != 0;
		o->flags[i] = h.flags;
		o->wnd[i] = h.wnd;
		o->src[i] = src;
		o->tsval[i] = (h.opt.has & TCP_HAS_TS) ? h.opt.tsval : 0;
		o->csum_ok[i] = (p->flags & PKT_F_CSUM_OK) != 0;
		if (i < 8)
			gro_seg_copy(p, (uint32_t)hl, o->data[i], o->len[i]);
	}
	gro_seg_free(p);
}

static struct rig *rig_new(int with_big)
{
	struct rig *r = calloc(1, sizeof(*r));
	r->mem = aligned_alloc(64, NSLOTS * PKT_SLOT_SIZE);
	pkt_pool_init(&r->pool, r->mem, 0, NSLOTS);
	r->big_mem = aligned_alloc(64, NBIG * pkt_slot_size(65536));
	pkt_pool_init_sized(&r->big, r->big_mem, 0, NBIG, 65536);
	gro_init(&r->g, with_big ? &r->big : NULL, record, &r->o);
	r->g.open = true;
	return r;
}

static int rig_free(struct rig *r)
{
	gro_flush(&r->g);
	int leaked = (int)(NSLOTS - r->pool.stats.free) + (int)(NBIG - r->big.stats.free);
	free(r->mem);
	free(r->big_mem);
	free(r);
	return leaked;
}

struct segspec {
	uint16_t sport;
	uint32_t seq, ack;
	uint8_t flags;
	uint32_t len;
	int ts;                 /* 0 none, else TS value */
	uint16_t wnd;
	int bad_csum;
	uint8_t fill;
};

static void send_seg(struct rig *r, struct segspec s)
{
	struct pkt *p = pkt_alloc(&r->pool);
	REQUIRE(p);
	struct tcp_hdr h = { .sport = s.sport ? s.sport : 40000, .dport = 80, .seq = s.seq,
			     .ack = s.ack ? s.ack : 5000, .flags = s.flags ? s.flags : TCP_ACK,
			     .wnd = s.wnd ? s.wnd : 1000 };
	if (s.ts) {
		h.opt.has = TCP_HAS_TS;
		h.opt.tsval = (uint32_t)s.ts;
		h.opt.tsecr = 77;
	}
	uint8_t *b = pkt_data(p);
	size_t hl = tcp_wire_emit(&h, b, pkt_tailroom(p));
	for (uint32_t i = 0; i < s.len; i++)
		b[hl + i] = (uint8_t)(s.fill + i);
	p->len = (uint32_t)(hl + s.len);
	tcp_wire_set_csum(b, p->len, SRC, DST);
	if (s.bad_csum)
		b[16] ^= 0x55;
	gro_receive(&r->g, p, SRC, DST);
}

TEST(tcp_gro_merges_a_train_keeps_first_seq_last_header)
{
	struct rig *r = rig_new(1);
	for (int i = 0; i < 4; i++)
		send_seg(r, (struct segspec){ .seq = 1000 + 1000u * (uint32_t)i, .len = 1000, .ts = 10 + i,
					      .wnd = (uint16_t)(500 + i), .fill = (uint8_t)(i * 1000) });
	CHECK_EQ(r->o.n, 0);                    /* held until the burst ends */
	gro_flush(&r->g);
	REQUIRE(r->o.n == 1);
	CHECK_EQ(r->o.seq[0], 1000);
	CHECK_EQ(r->o.len[0], 4000);
	CHECK_EQ(r->o.tsval[0], 13);            /* the newest timestamp and window */
	CHECK_EQ(r->o.wnd[0], 503);
	CHECK(r->o.csum_ok[0]);                 /* each piece verified before merging */
	int bad = 0;
	for (uint32_t i = 0; i < 4000; i++)
		bad += r->o.data[0][i] != (uint8_t)(i / 1000 * 1000 + i % 1000);
	CHECK_EQ(bad, 0);
	CHECK_EQ(r->g.st.merged, 3);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_psh_ends_the_train)
{
	struct rig *r = rig_new(1);
	send_seg(r, (struct segspec){ .seq = 1, .len = 100 });
	send_seg(r, (struct segspec){ .seq = 101, .len = 100, .flags = TCP_ACK | TCP_PSH });
	REQUIRE(r->o.n == 1);                   /* delivered at once, merged */
	CHECK_EQ(r->o.len[0], 200);
	CHECK(r->o.flags[0] & TCP_PSH);
	send_seg(r, (struct segspec){ .seq = 201, .len = 100 });
	gro_flush(&r->g);
	CHECK_EQ(r->o.n, 2);
	CHECK_EQ(r->o.seq[1], 201);
	/* PSH on a first segment: nothing to wait for, straight through. */
	send_seg(r, (struct segspec){ .seq = 301, .len = 100, .flags = TCP_ACK | TCP_PSH });
	CHECK_EQ(r->o.n, 3);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_flows_kept_apart)
{
	struct rig *r = rig_new(1);
	for (int i = 0; i < 3; i++) {
		send_seg(r, (struct segspec){ .sport = 1, .seq = 100u * (uint32_t)i, .len = 100 });
		send_seg(r, (struct segspec){ .sport = 2, .seq = 9000 + 100u * (uint32_t)i, .len = 100 });
	}
	gro_flush(&r->g);
	REQUIRE(r->o.n == 2);
	CHECK_EQ(r->o.seq[0], 0);
	CHECK_EQ(r->o.len[0], 300);
	CHECK_EQ(r->o.seq[1], 9000);
	CHECK_EQ(r->o.len[1], 300);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_only_in_sequence_and_same_ack)
{
	struct rig *r = rig_new(1);
	send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
	send_seg(r, (struct segspec){ .seq = 200, .len = 100 });          /* a gap */
	CHECK_EQ(r->o.n, 1);                    /* the first went up before it */
	send_seg(r, (struct segspec){ .seq = 300, .len = 100, .ack = 6000 });  /* new ACK */
	CHECK_EQ(r->o.n, 2);
	send_seg(r, (struct segspec){ .seq = 300, .len = 100, .ack = 6000 });  /* a duplicate */
	gro_flush(&r->g);
	REQUIRE(r->o.n == 4);
	CHECK_EQ(r->o.seq[0], 0);
	CHECK_EQ(r->o.seq[1], 200);
	CHECK_EQ(r->o.seq[2], 300);
	CHECK_EQ(r->o.seq[3], 300);
	CHECK_EQ(r->g.st.merged, 0);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_never_merges_control_flags_and_keeps_order)
{
	static const uint8_t bad[] = { TCP_ACK | TCP_FIN, TCP_ACK | TCP_SYN, TCP_ACK | TCP_RST,
				       TCP_ACK | TCP_URG, TCP_ACK | TCP_ECE, TCP_ACK | TCP_CWR, 0x10 };
	for (size_t k = 0; k < sizeof(bad); k++) {
		struct rig *r = rig_new(1);
		uint8_t fl = k + 1 == sizeof(bad) ? 0 : bad[k];  /* last: no ACK at all */
		send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
		struct pkt *p = pkt_alloc(&r->pool);
		struct tcp_hdr h = { .sport = 40000, .dport = 80, .seq = 100, .ack = 5000,
				     .flags = fl, .wnd = 1000 };
		size_t hl = tcp_wire_emit(&h, pkt_data(p), 64);
		p->len = (uint32_t)hl + 100;
		memset(pkt_data(p) + hl, 1, 100);
		if (fl == 0)
			pkt_data(p)[13] = 0;    /* tcp_wire_emit keeps flags as given */
		tcp_wire_set_csum(pkt_data(p), p->len, SRC, DST);
		gro_receive(&r->g, p, SRC, DST);
		REQUIRE(r->o.n == 2);           /* the held one first, then this as it came */
		CHECK_EQ(r->o.len[0], 100);
		CHECK_EQ(r->o.seq[1], 100);
		CHECK_EQ(r->o.flags[1], fl);
		CHECK_EQ(r->g.st.merged, 0);
		CHECK_EQ(rig_free(r), 0);
	}
	/* A pure ACK (no data) is never held either. */
	struct rig *r = rig_new(1);
	send_seg(r, (struct segspec){ .seq = 0, .len = 0 });
	CHECK_EQ(r->o.n, 1);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_timestamps_present_on_all_or_none)
{
	struct rig *r = rig_new(1);
	send_seg(r, (struct segspec){ .seq = 0, .len = 100, .ts = 5 });
	send_seg(r, (struct segspec){ .seq = 100, .len = 100 });          /* no TS */
	send_seg(r, (struct segspec){ .seq = 200, .len = 100 });
	gro_flush(&r->g);
	REQUIRE(r->o.n == 2);
	CHECK_EQ(r->o.len[0], 100);
	CHECK_EQ(r->o.tsval[0], 5);
	CHECK_EQ(r->o.len[1], 200);             /* the two without TS merged */
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_checksum_verified_first)
{
	struct rig *r = rig_new(1);
	send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
	send_seg(r, (struct segspec){ .seq = 100, .len = 100, .bad_csum = 1 });
	send_seg(r, (struct segspec){ .seq = 200, .len = 100 });
	gro_flush(&r->g);
	REQUIRE(r->o.n == 3);
	CHECK_EQ(r->o.len[0], 100);
	CHECK(r->o.csum_ok[0]);
	CHECK(!r->o.csum_ok[1]);                /* TCP checks (and counts) it itself */
	CHECK_EQ(r->o.seq[2], 200);
	CHECK_EQ(r->g.st.merged, 0);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_size_rules)
{
	struct rig *r = rig_new(1);
	/* A larger segment than the first does not continue the train; a shorter one ends it. */
	send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
	send_seg(r, (struct segspec){ .seq = 100, .len = 200 });
	CHECK_EQ(r->o.n, 1);
	send_seg(r, (struct segspec){ .seq = 300, .len = 50 });
	CHECK_EQ(r->o.n, 2);                    /* 200 + 50 delivered at once */
	CHECK_EQ(r->o.len[1], 250);
	gro_flush(&r->g);
	/* Never past one IPv4 datagram: 70 x 1000 bytes make two segments. */
	for (uint32_t i = 0; i < 70; i++)
		send_seg(r, (struct segspec){ .seq = 10000 + 1000 * i, .len = 1000 });
	gro_flush(&r->g);
	REQUIRE(r->o.n == 4);
	CHECK(r->o.len[2] + 32 <= GRO_MAX_LEN);
	CHECK_EQ(r->o.len[2] + r->o.len[3], 70000);
	CHECK_EQ(r->o.seq[3], 10000 + r->o.len[2]);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_closed_or_without_big_buffers_passes_through)
{
	struct rig *r = rig_new(0);             /* no big pool */
	send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
	send_seg(r, (struct segspec){ .seq = 100, .len = 100 });
	CHECK_EQ(r->o.n, 2);
	CHECK_EQ(rig_free(r), 0);
	r = rig_new(1);
	r->g.open = false;                      /* outside a burst */
	send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
	CHECK_EQ(r->o.n, 1);
	CHECK_EQ(rig_free(r), 0);
	/* Copying (g.chain clear), big pool empty: segments still go up, in order,
	 * unmerged (counted). (Small ones merge in the first one's own slot while it has
	 * room.) */
	r = rig_new(1);
	r->g.chain = false;
	struct pkt *hold[NBIG];
	for (int i = 0; i < NBIG; i++)
		hold[i] = pkt_alloc(&r->big);
	for (uint32_t i = 0; i < 5; i++)       /* too big to share a receive slot */
		send_seg(r, (struct segspec){ .seq = 1400 * i, .len = 1400 });
	gro_flush(&r->g);
	CHECK_EQ(r->o.n, 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(r->o.seq[i], 1400u * (uint32_t)i);
	CHECK(r->g.st.nobuf > 0);
	for (int i = 0; i < NBIG; i++)
		pkt_free(hold[i]);
	CHECK_EQ(rig_free(r), 0);
}

TEST(tcp_gro_truncated_header_goes_to_tcp)
{
	struct rig *r = rig_new(1);
	send_seg(r, (struct segspec){ .seq = 0, .len = 100 });
	struct pkt *p = pkt_alloc(&r->pool);
	memset(pkt_put(p, 30), 0, 30);
	pkt_data(p)[12] = 0xf0;                 /* data offset 60 > 30 bytes */
	gro_receive(&r->g, p, SRC, DST);
	p = pkt_alloc(&r->pool);
	memset(pkt_put(p, 10), 0, 10);          /* shorter than a header */
	gro_receive(&r->g, p, SRC, DST);
	gro_flush(&r->g);
	CHECK_EQ(r->o.n, 1);                    /* the held one; the rest fail TCP's parse */
	CHECK_EQ(rig_free(r), 0);
}

static bool never(void *ctx)
{
	(void)ctx;
	return false;
}

/* A consumer that cannot take a chain now (TCP re-entered) gets one buffer: the same
 * bytes, counted; with no big buffer free the segment is dropped, counted, and every
 * piece freed. */
TEST(tcp_gro_chain_linearized_for_a_consumer_that_cannot_take_it)
{
	struct rig *r = rig_new(1);
	r->g.chain_ok = never;
	for (int i = 0; i < 4; i++)
		send_seg(r, (struct segspec){ .seq = 1000 + 1000u * (uint32_t)i, .len = 1000,
					      .fill = (uint8_t)(i * 1000) });
	gro_flush(&r->g);
	REQUIRE(r->o.n == 1);
	CHECK_EQ(r->o.len[0], 4000);
	CHECK(!r->o.chained[0]);
	CHECK(r->o.csum_ok[0]);
	int bad = 0;
	for (uint32_t i = 0; i < 4000; i++)
		bad += r->o.data[0][i] != (uint8_t)(i / 1000 * 1000 + i % 1000);
	CHECK_EQ(bad, 0);
	CHECK_EQ(r->g.st.linearized, 1);
	CHECK_EQ(r->g.st.chained, 3);
	struct pkt *hold[NBIG];
	for (int i = 0; i < NBIG; i++)
		hold[i] = pkt_alloc(&r->big);
	for (int i = 0; i < 4; i++)
		send_seg(r, (struct segspec){ .seq = 9000 + 1000u * (uint32_t)i, .len = 1000 });
	gro_flush(&r->g);
	CHECK_EQ(r->o.n, 1);                    /* dropped */
	CHECK_EQ(r->g.st.nobuf, 1);
	for (int i = 0; i < NBIG; i++)
		pkt_free(hold[i]);
	CHECK_EQ(rig_free(r), 0);
}

/* Chains by default: every segment after the first linked, its payload only (no copy),
 * full-sized or small; the delivered bytes are the same. */
TEST(tcp_gro_chain_links_every_segment_payload_only)
{
	struct rig *r = rig_new(1);
	for (int i = 0; i < 3; i++)
		send_seg(r, (struct segspec){ .seq = 1400u * (uint32_t)i, .len = 1400, .fill = (uint8_t)i });
	gro_flush(&r->g);
	REQUIRE(r->o.n == 1);
	CHECK(r->o.chained[0]);
	CHECK_EQ(r->o.len[0], 4200);
	CHECK_EQ(r->g.st.chained, 2);
	int bad = 0;
	for (uint32_t i = 0; i < 4200; i++)
		bad += r->o.data[0][i] != (uint8_t)(i / 1400 + i % 1400);
	CHECK_EQ(bad, 0);
	for (int i = 0; i < 5; i++)
		send_seg(r, (struct segspec){ .seq = 10000 + 64u * (uint32_t)i, .len = 64, .fill = 9 });
	gro_flush(&r->g);
	REQUIRE(r->o.n == 2);
	CHECK(r->o.chained[1]);                 /* small payloads linked too */
	CHECK_EQ(r->o.len[1], 320);
	bad = 0;
	for (uint32_t i = 0; i < 320; i++)
		bad += r->o.data[1][i] != (uint8_t)(9 + i % 64);
	CHECK_EQ(bad, 0);
	CHECK_EQ(r->g.st.chained, 2 + 4);
	CHECK_EQ(r->g.st.merged, 2 + 4);
	CHECK_EQ(rig_free(r), 0);
}
