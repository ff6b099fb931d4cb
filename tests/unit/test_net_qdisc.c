/* The egress pfifo: a full TX ring delays packets (in order) instead of losing them;
 * only a full queue drops, counted; `tc -s qdisc` shows the counters. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/err.h"

static void setup(struct test_net *t, int ring)
{
	uint8_t f[64];
	tn_init(t, 1, "10.0.0.1/24", NULL, 0);
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t->f, &t->s, f, n);     /* 10.0.0.2 known: no ARP in the way */
	tn_advance(t, 0);                       /* first announcement out of the way */
	fake_netdev_drop_all(&t->f);
	memset(&t->s.link.ifs[0].qdisc.st, 0, sizeof(t->s.link.ifs[0].qdisc.st));
	t->f.ring_size = ring;
	t->f.in_flight = 0;
}

/* Sends n datagrams tagged 0..n-1; returns how many udp_send accepted. */
static int send_n(struct test_net *t, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		uint8_t tag = (uint8_t)i;
		ok += udp_send(&t->s.udp, 0, 1000, ip("10.0.0.2"), 2000, &tag, 1) == 0;
	}
	return ok;
}

/* The NIC sends everything in its ring; returns the tags seen, in order, into tags. */
static int drain_wire(struct test_net *t, uint8_t *tags, int max)
{
	struct frame fr;
	uint8_t buf[2048];
	int n = 0;
	while (n < max && tn_next(t, &fr, buf))
		if (fr.is_udp)
			tags[n++] = fr.l4[0];
	return n;
}

TEST(net_qdisc_absorbs_full_ring)
{
	struct test_net t;
	uint8_t tags[64];
	setup(&t, 4);
	CHECK_EQ(send_n(&t, 10), 10);
	const struct qdisc *qd = &t.s.link.ifs[0].qdisc;
	CHECK_EQ(t.f.wire.len, 4);              /* the ring took what it had room for */
	CHECK_EQ(qd->q.len, 6);                 /* the rest waits, nothing lost */
	CHECK_EQ(qd->st.drops, 0);
	CHECK(qd->st.overlimits > 0);
	int got = 0;
	for (int round = 0; round < 10 && got < 10; round++) {
		got += drain_wire(&t, tags + got, 64 - got);    /* completes those slots */
		tn_advance(&t, NET_NS_PER_MS);                  /* net_poll drains the qdisc */
	}
	REQUIRE(got == 10);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(tags[i], i);           /* in order */
	CHECK_EQ(qd->q.len, 0);
	CHECK_EQ(qd->q.bytes, 0);
	CHECK_EQ(qd->st.packets, 10);
	CHECK_EQ(qd->st.bytes, 10 * 60);        /* 43-byte frames padded to 60 */
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_qdisc_requeues_when_driver_refuses)
{
	struct test_net t;
	uint8_t tags[64];
	setup(&t, 3);
	t.f.reclaim_lies = 1;                   /* tx_burst is the only truth */
	CHECK_EQ(send_n(&t, 7), 7);
	const struct qdisc *qd = &t.s.link.ifs[0].qdisc;
	CHECK_EQ(t.f.wire.len, 3);
	CHECK_EQ(qd->q.len, 4);
	CHECK(qd->st.requeues >= 4);
	uint64_t rq = qd->st.requeues;
	int got = drain_wire(&t, tags, 64);
	tn_advance(&t, NET_NS_PER_MS);
	CHECK(qd->st.requeues > rq);            /* 3 went, the 4th was handed back again */
	got += drain_wire(&t, tags + got, 64 - got);
	tn_advance(&t, NET_NS_PER_MS);
	got += drain_wire(&t, tags + got, 64 - got);
	REQUIRE(got == 7);
	for (int i = 0; i < 7; i++)
		CHECK_EQ(tags[i], i);
	CHECK_EQ(t.s.core.drops[DROP_QDISC_FULL], 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_qdisc_limit_drops_and_tc_output)
{
	struct test_net t;
	setup(&t, 2);
	t.s.link.ifs[0].qdisc.limit = 5;
	CHECK_EQ(send_n(&t, 10), 7);            /* 2 in the ring, 5 queued, 3 refused */
	const struct qdisc *qd = &t.s.link.ifs[0].qdisc;
	CHECK_EQ(qd->q.len, 5);
	CHECK_EQ(qd->st.drops, 3);
	CHECK_EQ(t.s.core.drops[DROP_QDISC_FULL], 3);
	uint8_t tag = 0;
	CHECK_EQ(udp_send(&t.s.udp, 0, 1, ip("10.0.0.2"), 2, &tag, 1), -NET_ENOBUFS);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tc -s qdisc"), 0);
	CHECK(tn_out_is(&t, "qdisc pfifo 0: dev eth0 root refcnt 2 limit 5p\n"
			    " Sent 120 bytes 2 pkt (dropped 4, overlimits 5 requeues 0)\n"
			    " backlog 300b 5p requeues 0\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "tc qdisc show dev eth0"), 0);
	CHECK(tn_out_is(&t, "qdisc pfifo 0: dev eth0 root refcnt 2 limit 5p\n"));
	CHECK_EQ(tn_cmd(&t, "tc qdisc show dev eth7"), -1);
	CHECK_EQ(tn_cmd(&t, "tc -x qdisc"), -1);
	CHECK_EQ(tn_cmd(&t, "tc class"), -1);
	CHECK_EQ(tn_fini(&t), 0);               /* queued packets are freed by net_fini */
}

TEST(net_qdisc_idle_reclaim)
{
	struct test_net t;
	setup(&t, 4);
	uint64_t before = t.f.reclaim_calls;
	for (int i = 0; i < 10; i++)
		tn_advance(&t, NET_NS_PER_MS / 4);      /* at most once per millisecond */
	CHECK(t.f.reclaim_calls > before);
	CHECK(t.f.reclaim_calls <= before + 3);
	CHECK_EQ(tn_fini(&t), 0);
}
