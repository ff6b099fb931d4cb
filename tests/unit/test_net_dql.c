/*
 * Byte queue limits: dql (Linux lib/dynamic_queue_limits.c behaviour) grows its limit
 * when the ring starves and shrinks it by the slack it keeps seeing; the qdisc stops
 * handing frames to a NETDEV_F_BQL device at the limit, so the backlog stays in the
 * qdisc, and resumes as completions come; `tc -s qdisc` shows limit and inflight.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/dql.h"

#define OBJ 1514u                       /* one full frame */
#define MS 1000000ull

/* One completion interval of a device that finishes up to rate bytes per interval
 * while the sender posts whole frames whenever dql lets it (an endless backlog). */
static void interval(struct dql *d, uint32_t rate, uint64_t now)
{
	while (dql_avail(d) >= 0)
		dql_queued(d, OBJ);
	uint32_t in = dql_inflight(d);
	uint32_t done = in < rate ? in : rate;
	done -= done % OBJ;
	dql_completed(d, done, now);
}

TEST(net_dql_grows_to_the_completion_rate)
{
	struct dql d;
	uint64_t now = 0;
	dql_init(&d, 0, 1u << 30, now);
	CHECK_EQ(d.limit, 0);
	CHECK(dql_avail(&d) >= 0);
	dql_queued(&d, OBJ);                    /* the frame that crosses the limit goes */
	CHECK(dql_avail(&d) < 0);
	dql_completed(&d, OBJ, now);            /* starved: over the limit and now empty */
	CHECK(d.limit >= OBJ);
	uint32_t rate = 20 * OBJ;               /* 20 frames per completion interval */
	for (int i = 0; i < 50; i++)
		interval(&d, rate, now += MS);
	/* Never fewer bytes in the ring than one interval drains (no starvation)... */
	CHECK(d.limit + OBJ >= rate);
	/* ...and the ring no deeper than the limit plus the one frame that crossed it. */
	CHECK(dql_inflight(&d) <= d.limit + OBJ);
	CHECK(d.limit <= 3 * rate);
}

TEST(net_dql_shrinks_by_the_slack_after_the_hold_time)
{
	struct dql d;
	uint64_t now = 0;
	dql_init(&d, 0, 1u << 30, now);
	for (int i = 0; i < 20; i++)
		interval(&d, 200 * OBJ, now += MS);     /* a fast phase grows it */
	uint32_t big = d.limit;
	CHECK(big >= 150 * OBJ);
	for (int i = 0; i < 100; i++)
		interval(&d, 10 * OBJ, now += 5 * MS);  /* 0.5 s slower: not yet */
	CHECK_EQ(d.limit, big);
	for (int i = 0; i < 400; i++)
		interval(&d, 10 * OBJ, now += 5 * MS);  /* past the 1 s hold: it shrinks */
	CHECK(d.limit < big / 4);
	CHECK(d.limit + OBJ >= 10 * OBJ);
}

TEST(net_dql_min_and_max_bound_the_limit)
{
	struct dql d;
	dql_init(&d, 3000, 5000, 0);
	CHECK_EQ(d.limit, 3000);
	for (int i = 0; i < 20; i++)
		interval(&d, 100 * OBJ, (uint64_t)i * MS);
	CHECK_EQ(d.limit, 5000);
}

/* The fake NIC sends its ring and reports the bytes, as a NETDEV_F_BQL driver does. */
static int complete_wire(struct test_net *t, uint8_t *tags, int max)
{
	struct frame fr;
	uint8_t buf[2048];
	int n = 0;
	uint64_t bytes = 0;
	for (struct pkt *p = t->f.wire.head; p; p = p->next)
		bytes += p->len;
	while (t->f.wire.len)
		if (tn_next(t, &fr, buf) && fr.is_udp && n < max)
			tags[n++] = fr.l4[0];
	t->f.dev.tx_done_bytes += bytes;
	return n;
}

TEST(net_qdisc_bql_keeps_the_backlog_in_the_qdisc)
{
	struct test_net t;
	uint8_t f[64], tags[128];
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	size_t fl = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			      (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, fl);
	tn_advance(&t, 0);
	fake_netdev_drop_all(&t.f);
	t.f.ring_size = 256;
	t.f.in_flight = 0;
	t.f.dev.features |= NETDEV_F_BQL;
	tn_advance(&t, NET_NS_PER_MS);          /* the qdisc notices the device counts */
	const struct qdisc *qd = &t.s.link.ifs[0].qdisc;
	REQUIRE(qd->bql);
	static uint8_t payload[1000];
	for (int i = 0; i < 100; i++) {
		payload[0] = (uint8_t)i;
		CHECK_EQ(udp_send(&t.s.udp, 0, 1000, ip("10.0.0.2"), 2000, payload, sizeof(payload)), 0);
	}
	/* The ring has room for all 100, but dql's limit starts at 0: one frame went. */
	CHECK_EQ(t.f.wire.len, 1);
	CHECK_EQ(qd->q.len, 99);
	CHECK(qd->bql_stops > 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tc -s qdisc"), 0);
	CHECK(tn_out_has(&t, " byte_queue_limits limit 0b inflight 1042b stops "));
	int got = 0, max_ring = 0;
	for (int round = 0; round < 200 && got < 100; round++) {
		if ((int)t.f.wire.len > max_ring)
			max_ring = (int)t.f.wire.len;
		got += complete_wire(&t, tags + got, 128 - got);
		tn_advance(&t, NET_NS_PER_MS);  /* net_poll: completions, then the qdisc */
	}
	REQUIRE(got == 100);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(tags[i], i);           /* in order */
	/* The limit grew with what each interval completed, not to the ring size. */
	CHECK(max_ring > 1);
	CHECK(max_ring < 100);
	CHECK(qd->dql.limit > 0);
	CHECK_EQ(dql_inflight(&qd->dql), 0);
	CHECK(qd->st.packets >= 100);           /* and ARP announcements */
	CHECK_EQ(tn_fini(&t), 0);
}

/* Review: completions the qdisc never posted (the shell's `nic send` frames, sent around
 * it) must not wrap dql's free-running counters: inflight stays within what was posted,
 * the queue still drains in order, and inflight returns to 0. */
TEST(net_qdisc_bql_foreign_completions_do_not_wrap_inflight)
{
	struct test_net t;
	uint8_t f[64], tags[128];
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	size_t fl = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			      (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, fl);
	tn_advance(&t, 0);
	fake_netdev_drop_all(&t.f);
	t.f.ring_size = 256;
	t.f.in_flight = 0;
	t.f.dev.features |= NETDEV_F_BQL;
	tn_advance(&t, NET_NS_PER_MS);
	const struct qdisc *qd = &t.s.link.ifs[0].qdisc;
	REQUIRE(qd->bql);
	static uint8_t payload[1000];
	for (int i = 0; i < 50; i++) {
		payload[0] = (uint8_t)i;
		CHECK_EQ(udp_send(&t.s.udp, 0, 1000, ip("10.0.0.2"), 2000, payload, sizeof(payload)), 0);
	}
	uint32_t before = dql_inflight(&qd->dql);
	CHECK(before > 0);
	t.f.dev.tx_done_bytes += 10u * 1000 * 1000;     /* 10 MB of foreign frames done */
	tn_advance(&t, NET_NS_PER_MS);
	CHECK(dql_inflight(&qd->dql) <= qd->dql.limit + 2048);    /* not ~4 GB (wrapped) */
	int got = 0;
	for (int round = 0; round < 400 && got < 50; round++) {
		got += complete_wire(&t, tags + got, 128 - got);
		if (round % 7 == 0)
			t.f.dev.tx_done_bytes += 1514;  /* more `nic send` frames finishing */
		tn_advance(&t, NET_NS_PER_MS);
	}
	REQUIRE(got == 50);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(tags[i], i);
	CHECK_EQ(dql_inflight(&qd->dql), 0);
	CHECK(qd->dql.limit <= QDISC_BQL_MAX);
	CHECK_EQ(tn_fini(&t), 0);
}
