/*
 * The full-path benchmark's harness (tests/bench/bench_pair.h), run tiny under ASan and
 * UBSan so `make bench` keeps working: each workload moves its bytes and verifies them,
 * no packet leaks, nothing is retransmitted on a lossless link. No timing is checked.
 * Also that the memory link hands frames over whole and that its verifier catches a
 * wrong byte (a checker that cannot fail proves nothing).
 */
#include "tests/unit/test.h"
#include "tests/bench/bench_pair.h"
#include <string.h>

static struct bench_pair bp;    /* two rings of MEMNIC_RING pointers: not on the stack */

TEST(net_bench_bulk_1mib)
{
	struct bp_result r;
	REQUIRE(bp_init(&bp, 0) == 0);
	CHECK_EQ(bp_bulk(&bp, 1 << 20, &r), 0);
	CHECK_EQ(r.bytes, 1u << 20);
	CHECK(r.frames > (1u << 20) / 1460);    /* MSS-sized segments and their ACKs */
	CHECK_EQ(r.retrans, 0);
	CHECK_EQ(r.drops, 0);
	/* The kernel's configuration: super-segments out, coalesced trains in. */
	CHECK(bp.a.tcp.mib[TCP_MIB_GsoSegs] > 0);
	CHECK(bp.b.gro.st.merged > 0);
	CHECK_EQ(bp_fini(&bp), 0);
}

TEST(net_bench_bulk_and_crr_plain)
{
	struct bp_result r;
	REQUIRE(bp_init(&bp, BP_PLAIN) == 0);
	CHECK_EQ(bp_bulk(&bp, 1 << 20, &r), 0);
	CHECK_EQ(r.bytes, 1u << 20);
	CHECK_EQ(r.retrans, 0);
	CHECK_EQ(bp.a.tcp.mib[TCP_MIB_GsoSegs], 0);
	CHECK_EQ(bp.b.gro.st.merged, 0);
	CHECK_EQ(bp_crr(&bp, 20, &r), 0);
	CHECK_EQ(r.ops, 20);
	CHECK_EQ(r.retrans, 0);
	CHECK_EQ(r.drops, 0);
	CHECK_EQ(bp_fini(&bp), 0);
}

TEST(net_bench_rr_100)
{
	struct bp_result r;
	REQUIRE(bp_init(&bp, 0) == 0);
	CHECK_EQ(bp_rr(&bp, 100, &r), 0);
	CHECK_EQ(r.ops, 100);
	CHECK_EQ(r.bytes, 100u * (BP_REQ + BP_RESP));
	CHECK_EQ(r.retrans, 0);
	CHECK_EQ(r.drops, 0);
	CHECK_EQ(bp_fini(&bp), 0);
}

TEST(net_bench_crr_20)
{
	struct bp_result r;
	REQUIRE(bp_init(&bp, 0) == 0);
	CHECK_EQ(bp_crr(&bp, 20, &r), 0);
	CHECK_EQ(r.ops, 20);
	CHECK(r.frames >= 20u * 7);     /* 3 handshake, request, response, 2 FINs at least */
	CHECK_EQ(r.retrans, 0);
	CHECK_EQ(r.drops, 0);
	CHECK_EQ(bp.b.tcp.ntw, 20);     /* the server closed first: TIME-WAIT is B's */
	CHECK_EQ(bp_fini(&bp), 0);
}

/* The link hands the sender's packet over whole; with offload on it arrives marked. */
TEST(net_bench_memlink_hands_frames_over)
{
	struct pkt *p, *got[2];
	REQUIRE(bp_init(&bp, BP_CSUM_OFFLOAD) == 0);
	REQUIRE((p = pkt_alloc(&bp.na.pool)));
	memcpy(pkt_put(p, 60), "frame", 6);
	CHECK_EQ(bp.na.dev.ops->tx_burst(&bp.na.dev, &p, 1), 1);
	CHECK_EQ(memnic_pending(&bp.nb), 1);
	CHECK_EQ(bp.nb.dev.ops->rx_burst(&bp.nb.dev, got, 2), 1);
	CHECK(got[0] == p);
	CHECK_EQ(got[0]->len, 60);
	CHECK_STR((const char *)pkt_data(got[0]), "frame");
	CHECK(got[0]->flags & PKT_F_CSUM_OK);
	pkt_free(got[0]);
	bp.nb.csum_offload = 0;
	CHECK_EQ(bp_rr(&bp, 10, &(struct bp_result){ 0 }), 0);
	CHECK_EQ(bp_fini(&bp), 0);
}

/* TX checksum offload: TCP leaves its checksums partial, the memory NIC completes them as
 * a device would; with RX marking off the receiving TCP verifies every one. */
TEST(net_bench_memlink_tx_csum_completes_checksums)
{
	struct bp_result r = { 0 };
	REQUIRE(bp_init(&bp, BP_CSUM_OFFLOAD) == 0);
	bp.na.csum_offload = bp.nb.csum_offload = 0;
	CHECK_EQ(bp_rr(&bp, 20, &r), 0);
	CHECK_EQ(bp_crr(&bp, 5, &r), 0);
	CHECK_EQ(bp_bulk(&bp, 256 * 1024, &r), 0);
	CHECK(bp.na.tx_csum_done >= 20 + 5);    /* every request, at least */
	CHECK(bp.nb.tx_csum_done >= 20 + 5);    /* every response */
	CHECK_EQ(bp.a.tcp.mib[TCP_MIB_InCsumErrors], 0);
	CHECK_EQ(bp.b.tcp.mib[TCP_MIB_InCsumErrors], 0);
	CHECK_EQ(r.drops, 0);
	CHECK_EQ(bp_fini(&bp), 0);
}

TEST(net_bench_verifier_catches_a_wrong_byte)
{
	static uint8_t buf[BP_PERIOD + 3000];
	REQUIRE(bp_init(&bp, 0) == 0);
	CHECK_EQ(bp_fini(&bp), 0);      /* the pattern stays */
	/* A stretch across the pattern's period boundary, as bp_verify splits it. */
	uint64_t off = 5 * (uint64_t)BP_PERIOD - 1000;
	memcpy(buf, bp_stream(off), BP_PERIOD);
	memcpy(buf + BP_PERIOD, bp_stream(off + BP_PERIOD), 3000);
	CHECK_EQ(bp_verify(off, buf, sizeof(buf)), 0);
	CHECK(bp_verify(off + 1, buf, sizeof(buf)) != 0);       /* shifted by one byte */
	buf[BP_PERIOD + 2999] ^= 1;
	CHECK(bp_verify(off, buf, sizeof(buf)) != 0);           /* the last byte wrong */
}

/* The offload probe's SYN reaches TCP (so "no checksum error" means "flag honoured"),
 * and the answer matches TCP's own counter, whichever way TCP treats the flag. */
TEST(net_bench_csum_probe_reaches_tcp)
{
	REQUIRE(bp_init(&bp, BP_CSUM_OFFLOAD) == 0);
	uint64_t segs = bp.b.tcp.mib[TCP_MIB_InSegs], bad = bp.b.tcp.mib[TCP_MIB_InCsumErrors];
	int honoured = bp_csum_ok_honoured(&bp);
	CHECK_EQ(bp.b.tcp.mib[TCP_MIB_InSegs], segs + 1);
	CHECK_EQ(honoured, bp.b.tcp.mib[TCP_MIB_InCsumErrors] == bad);
	CHECK_EQ(bp_fini(&bp), 0);
}
