/* fq_codel (net/fq_codel.h): flow isolation, sparse-flow priority, CoDel drops and ECN
 * marks after an interval above target, overlimit cuts the fattest flow, no leaks. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/fq_codel.h"
#include "net/err.h"
#include "net/checksum.h"
#include "net/platform.h"
#include <stdlib.h>

#define NSLOTS 1200
#define MS FQ_CODEL_NS_PER_MS

struct fq_fix {
	struct pkt_pool pool;
	void *mem;
	struct fq_codel fq;
	struct fq_codel_flow flows[1024];
};

static void fix_init(struct fq_fix *x, uint32_t limit, int ecn)
{
	x->mem = calloc(NSLOTS, PKT_SLOT_SIZE);
	pkt_pool_init(&x->pool, x->mem, 0x400000, NSLOTS);
	struct fq_codel_params p;
	fq_codel_params_default(&p);
	p.limit = limit;
	p.ecn = ecn;
	int rc = fq_codel_init(&x->fq, &p, x->flows, 1024, 0x12345678);
	NET_ASSERT(rc == 0);
}

/* Purges and returns the number of packets not back in the pool. */
static int fix_fini(struct fq_fix *x)
{
	fq_codel_purge(&x->fq);
	int leaked = (int)(x->pool.stats.slots - x->pool.stats.free);
	free(x->mem);
	return leaked;
}

/* A UDP frame 10.0.0.1:sport -> 10.0.0.2:9 with `size` bytes on the wire; tos set. */
static struct pkt *mk(struct fq_fix *x, uint16_t sport, size_t size, uint8_t tos)
{
	static uint8_t data[1600];
	struct pkt *p = pkt_alloc(&x->pool);
	if (!p)
		return NULL;
	size_t n = frame_udp(pkt_data(p), test_mac(2), test_mac(1), ip("10.0.0.1"), ip("10.0.0.2"),
			     sport, 9, data, size - 42);
	uint8_t *iph = pkt_data(p) + ETH_HLEN;
	iph[1] = tos;
	wire_put16(iph + 10, 0);
	wire_put16(iph + 10, csum_fold(csum_partial(iph, 20, 0)));
	pkt_put(p, n);
	return p;
}

/* Use inside CHECK(): on a mismatch prints both texts whole. */
static int text_is(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "--- got:\n%s\n--- want:\n%s\n", got, want);
	return 0;
}

static uint16_t sport_of(struct pkt *p)
{
	return wire_get16(pkt_data(p) + ETH_HLEN + 20);
}

static int enq(struct fq_fix *x, uint16_t sport, size_t size, uint64_t now)
{
	return fq_codel_enqueue(&x->fq, mk(x, sport, size, 0), now);
}

TEST(net_fq_codel_params_checked)
{
	struct fq_codel fq;
	struct fq_codel_flow fl[4];
	struct fq_codel_params p;
	fq_codel_params_default(&p);
	CHECK_EQ(fq_codel_init(&fq, &p, fl, 4, 1), -NET_EINVAL);       /* flows 1024 != 4 */
	p.flows = 4;
	CHECK_EQ(fq_codel_init(&fq, &p, fl, 4, 1), 0);
	p.quantum = 0;
	CHECK_EQ(fq_codel_init(&fq, &p, fl, 4, 1), -NET_EINVAL);
}

TEST(net_fq_codel_classify_5tuple_and_perturbation)
{
	struct fq_fix x;
	fix_init(&x, 1000, 0);
	struct pkt *a = mk(&x, 1000, 100, 0), *b = mk(&x, 1000, 900, 0);
	CHECK_EQ(fq_codel_classify(&x.fq, a), fq_codel_classify(&x.fq, b));    /* same flow */
	uint32_t buckets[64];
	int distinct = 0, moved = 0;
	for (int i = 0; i < 64; i++) {
		struct pkt *p = mk(&x, (uint16_t)(2000 + i), 100, 0);
		buckets[i] = fq_codel_classify(&x.fq, p);
		CHECK(buckets[i] < 1024);
		x.fq.perturb ^= 0xdeadbeef;
		moved += fq_codel_classify(&x.fq, p) != buckets[i];
		x.fq.perturb ^= 0xdeadbeef;
		pkt_free(p);
	}
	for (int i = 0; i < 64; i++) {
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= buckets[j] == buckets[i];
		distinct += !seen;
	}
	CHECK(distinct >= 60);          /* 64 ports into 1024 buckets: few collisions */
	CHECK(moved >= 60);             /* another perturbation, another mapping */
	a->len = 10;                    /* truncated frame: still a bucket, no overread */
	CHECK(fq_codel_classify(&x.fq, a) < 1024);
	pkt_free(a);
	pkt_free(b);
	CHECK_EQ(fix_fini(&x), 0);
}

TEST(net_fq_codel_sparse_flow_goes_first)
{
	struct fq_fix x;
	fix_init(&x, 1000, 0);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(enq(&x, 1000, 1000, 0), 0);
	CHECK_EQ(x.fq.new_flows.len, 1);
	for (int i = 0; i < 3; i++) {
		struct pkt *p = fq_codel_dequeue(&x.fq, MS);
		REQUIRE(p);
		CHECK_EQ(sport_of(p), 1000);
		pkt_free(p);
	}
	CHECK_EQ(x.fq.new_flows.len, 0);        /* the bulk flow used its quantum: old now */
	CHECK_EQ(x.fq.old_flows.len, 1);
	CHECK_EQ(enq(&x, 2000, 100, MS), 0);    /* a sparse flow (DNS, ping, ACK) arrives */
	CHECK_EQ(x.fq.new_flows.len, 1);
	struct pkt *p = fq_codel_dequeue(&x.fq, 2 * MS);
	REQUIRE(p);
	CHECK_EQ(sport_of(p), 2000);            /* ahead of 47 bulk packets */
	pkt_free(p);
	/* Two bulk flows then share by bytes: DRR, a quantum each per round. */
	for (int i = 0; i < 50; i++)
		CHECK_EQ(enq(&x, 3000, 1000, 2 * MS), 0);
	int got[2] = { 0, 0 };
	for (int i = 0; i < 40; i++) {
		p = fq_codel_dequeue(&x.fq, 3 * MS);
		REQUIRE(p);
		got[sport_of(p) == 3000]++;
		pkt_free(p);
	}
	CHECK(got[0] >= 18 && got[0] <= 22);
	CHECK_EQ(x.fq.st.new_flow_count, 3);
	CHECK_EQ(fix_fini(&x), 0);
}

/* Every ms: `in` packets of flow 1000 arrive, one leaves. Returns the dequeued count. */
static int run(struct fq_fix *x, uint64_t *now, int ms, int in, uint8_t tos, int *ce)
{
	int out = 0;
	for (int t = 0; t < ms; t++, *now += MS) {
		for (int i = 0; i < in; i++)
			fq_codel_enqueue(&x->fq, mk(x, 1000, 1000, tos), *now);
		struct pkt *p = fq_codel_dequeue(&x->fq, *now);
		if (!p)
			continue;
		out++;
		const uint8_t *iph = pkt_data(p) + ETH_HLEN;
		if ((iph[1] & 3) == 3) {
			(*ce)++;
			CHECK_EQ(ipv4_check(iph, p->len - ETH_HLEN), WIRE_OK);  /* csum patched */
		}
		pkt_free(p);
	}
	return out;
}

TEST(net_fq_codel_codel_drops_after_interval_above_target)
{
	struct fq_fix x;
	uint64_t now = 0;
	int ce = 0;
	fix_init(&x, 1000, 0);
	CHECK_EQ(run(&x, &now, 300, 1, 0, &ce), 300);  /* in = out: sojourn ~0, no drop */
	CHECK_EQ(x.fq.st.drops, 0);
	/* Twice the rate it can send: the packet leaving at t entered at t/2, so sojourn
	 * passes target at ~10 ms and CoDel may drop an interval later (RFC 8289 §5.3).
	 * Then the drops come interval/sqrt(count) apart (§5.5): 100, 70.7, 57.7, 50,
	 * 44.7, 40.8 ms (+-1 ms for the 1 ms tick). */
	uint64_t start = now, at[7];
	int n = 0;
	while (n < 7 && now < start + 1000 * MS) {
		uint64_t d = x.fq.st.codel_drops, t = now;
		run(&x, &now, 1, 2, 0, &ce);
		if (x.fq.st.codel_drops != d)
			at[n++] = t;
	}
	REQUIRE(n == 7);
	CHECK(at[0] - start >= 108 * MS && at[0] - start <= 112 * MS);
	static const uint64_t law_us[6] = { 100000, 70711, 57735, 50000, 44721, 40825 };
	for (int i = 0; i < 6; i++) {
		uint64_t gap_us = (at[i + 1] - at[i]) / 1000;
		CHECK(gap_us + 1000 >= law_us[i] && gap_us <= law_us[i] + 1000);
	}
	CHECK_EQ(x.fq.st.drop_overlimit, 0);
	CHECK_EQ(x.fq.st.drops, x.fq.st.codel_drops);
	struct pkt *probe = mk(&x, 1000, 1000, 0);
	CHECK(x.fq.flows[fq_codel_classify(&x.fq, probe)].cv.dropping);
	pkt_free(probe);
	/* Load gone: the queue drains and CoDel leaves the dropping state. */
	run(&x, &now, 1000, 0, 0, &ce);
	CHECK_EQ(x.fq.qlen, 0);
	CHECK_EQ(x.fq.backlog, 0);
	probe = mk(&x, 1000, 1000, 0);
	CHECK(!x.fq.flows[fq_codel_classify(&x.fq, probe)].cv.dropping);
	CHECK_EQ(x.fq.new_flows.len + x.fq.old_flows.len, 0);
	pkt_free(probe);
	CHECK_EQ(ce, 0);
	CHECK_EQ(fix_fini(&x), 0);
}

TEST(net_fq_codel_ecn_marks_instead_of_drop)
{
	struct fq_fix x;
	uint64_t now = 0;
	int ce = 0;
	fix_init(&x, 400, 1);
	run(&x, &now, 300, 2, 0x02, &ce);       /* ECT(0) traffic */
	CHECK(x.fq.st.ecn_mark > 0);
	CHECK_EQ(x.fq.st.codel_drops, 0);
	CHECK_EQ((int)x.fq.st.ecn_mark, ce);
	CHECK_EQ(fix_fini(&x), 0);
	fix_init(&x, 400, 1);
	now = 0;
	run(&x, &now, 300, 2, 0x00, &ce);       /* not ECN-capable: dropped instead */
	CHECK(x.fq.st.codel_drops > 0);
	CHECK_EQ(fix_fini(&x), 0);
}

TEST(net_fq_codel_limit_cuts_fattest_flow)
{
	struct fq_fix x;
	fix_init(&x, 10, 0);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(enq(&x, 1000, 1000, 0), 0);
	CHECK_EQ(enq(&x, 2000, 500, 0), 0);
	CHECK_EQ(enq(&x, 2000, 500, 0), 0);
	CHECK_EQ(x.fq.qlen, 10);
	CHECK_EQ(enq(&x, 2000, 500, 0), 0);     /* 11 > limit: flow 1000 pays, not us */
	CHECK_EQ(x.fq.st.drop_overlimit, 4);    /* half of 8000 bytes */
	CHECK_EQ(x.fq.st.overlimits, 1);
	CHECK_EQ(x.fq.qlen, 7);
	CHECK_EQ(x.fq.backlog, 4 * 1000 + 3 * 500);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(enq(&x, 2000, 500, 0), 0);     /* flow 2000: 3000 B, flow 1000: 4000 B */
	CHECK_EQ(x.fq.qlen, 10);
	CHECK_EQ(enq(&x, 2000, 1514, 0), -NET_ENOBUFS); /* 4514 B: now we are the fattest */
	CHECK_EQ(x.fq.st.drop_overlimit, 4 + 5);        /* 5 x 500 >= half of 4514 */
	CHECK_EQ(x.fq.qlen, 6);
	CHECK_EQ(x.fq.backlog, 4 * 1000 + 500 + 1514);
	CHECK_EQ(x.fq.st.drops, x.fq.st.drop_overlimit);
	CHECK_EQ(fix_fini(&x), 0);
}

TEST(net_fq_codel_memory_limit)
{
	struct fq_fix x;
	fix_init(&x, 1000, 0);
	x.fq.prm.memory_limit = 5 * PKT_SLOT_SIZE;
	for (int i = 0; i < 5; i++)
		CHECK_EQ(enq(&x, 1000, 200, 0), 0);
	CHECK_EQ(enq(&x, 1000, 200, 0), -NET_ENOBUFS);
	CHECK(x.fq.st.drop_overmemory > 0);
	CHECK_EQ(x.fq.st.drop_overmemory, x.fq.st.drop_overlimit);
	CHECK(x.fq.memory_usage <= 5 * PKT_SLOT_SIZE);
	CHECK_EQ(fix_fini(&x), 0);
}

TEST(net_fq_codel_requeue_goes_first_and_purge_frees)
{
	struct fq_fix x;
	fix_init(&x, 1000, 0);
	enq(&x, 1000, 100, 0);
	enq(&x, 1000, 100, 0);
	struct pkt *p = fq_codel_dequeue(&x.fq, 0);
	REQUIRE(p);
	CHECK_EQ(x.fq.st.packets, 1);
	fq_codel_requeue(&x.fq, p);
	CHECK_EQ(x.fq.st.packets, 0);
	CHECK_EQ(x.fq.st.requeues, 1);
	CHECK_EQ(x.fq.qlen, 2);
	CHECK(fq_codel_dequeue(&x.fq, 0) == p);
	pkt_free(p);
	for (int i = 0; i < 100; i++)
		enq(&x, (uint16_t)i, 300, 0);
	CHECK_EQ(x.pool.stats.free, NSLOTS - 101);
	CHECK_EQ(fix_fini(&x), 0);              /* purge returned all 101 */
}

TEST(net_fq_codel_tc_show)
{
	struct fq_fix x;
	char buf[512];
	fix_init(&x, 10240, 1);
	enq(&x, 1000, 1514, 0);
	enq(&x, 1000, 100, 0);
	struct pkt *p = fq_codel_dequeue(&x.fq, 0);
	pkt_free(p);
	fq_codel_show(&x.fq, "eth0", buf, sizeof(buf));
	CHECK(text_is(buf,
		  "qdisc fq_codel 0: dev eth0 root refcnt 2 limit 10240p flows 1024 quantum 1514 "
		  "target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64\n"
		  " Sent 1514 bytes 1 pkt (dropped 0, overlimits 0 requeues 0)\n"
		  " backlog 100b 1p requeues 0\n"
		  "  maxpacket 1514 drop_overlimit 0 new_flow_count 1 ecn_mark 0\n"
		  "  new_flows_len 1 old_flows_len 0\n"));
	CHECK_EQ(fix_fini(&x), 0);
}

/* Random enqueues, dequeues, requeues and time steps over 64 flows and a small limit:
 * the counters always describe what is queued, and every packet comes back. */
TEST(net_fq_codel_random_ops_keep_accounts)
{
	struct fq_fix x;
	uint32_t seed = 99;
	uint64_t now = 0, enq_ok = 0, out = 0;
	fix_init(&x, 200, 1);
	x.fq.prm.memory_limit = 150 * PKT_SLOT_SIZE;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint32_t r = seed >> 8;
		now += (r % 7) * 100000;                /* 0..0.6 ms */
		if (r % 3 != 0) {
			struct pkt *p = mk(&x, (uint16_t)(1000 + r % 64), 60 + r % 1400,
					   (r & 0x100) ? 0x02 : 0);
			REQUIRE(p);
			fq_codel_enqueue(&x.fq, p, now);
			enq_ok++;
		} else {
			struct pkt *p = fq_codel_dequeue(&x.fq, now);
			if (p && (r & 0x200))
				fq_codel_requeue(&x.fq, p);
			else if (p) {
				out++;
				pkt_free(p);
			}
		}
		uint32_t n = x.fq.requeued.len;
		uint64_t bytes = x.fq.requeued.bytes;
		for (int f = 0; f < 1024; f++) {
			n += x.fq.flows[f].q.len;
			bytes += x.fq.flows[f].q.bytes;
		}
		REQUIRE(n == x.fq.qlen && bytes == x.fq.backlog);
		REQUIRE(x.fq.qlen <= 200 && x.fq.memory_usage == (uint64_t)x.fq.qlen * PKT_SLOT_SIZE);
		REQUIRE(x.pool.stats.slots - x.pool.stats.free == x.fq.qlen);
	}
	CHECK_EQ(enq_ok, out + x.fq.qlen + x.fq.st.drops);      /* every packet accounted */
	CHECK_EQ(x.fq.st.packets, out);
	CHECK(x.fq.st.drop_overlimit > 0);
	CHECK_EQ(fix_fini(&x), 0);
}
