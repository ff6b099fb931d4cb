/* Hostile review of ICMP error pacing (net/icmp.c): a failing test is a defect left for
 * the lead; a passing one a disproved suspicion kept as a guard. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include <string.h>

/* UDP to a closed port of ours from src (unicast, so a port unreachable is due). */
static void closed_port_from(struct test_net *t, uint32_t src)
{
	static uint8_t f[256];
	static const uint8_t data[4] = { 1, 2, 3, 4 };
	size_t n = frame_udp(f, t->f.dev.mac, test_mac(2), src, ip("10.0.0.1"), 40000, 9999,
			     data, sizeof(data));
	fake_netdev_rx(&t->f, &t->s, f, n);
}

/* Lock-out and side channel: icmp_send_error() takes a GLOBAL token before it asks the
 * per-destination bucket, so the errors a flooding source is refused (host-limited)
 * still drain the global budget. One source sending 1000 datagrams to a closed port in
 * one instant gets its ICMP_PEER_BURST errors, yet leaves nothing for anyone else: the
 * next clean peer is refused as "global". The per-host bucket exists so that one
 * source cannot draw the whole global budget (icmp.c's own comment); Linux checks the
 * per-destination limit first since "icmp: change the order of rate limits" (6.11),
 * because a shared global counter is observable across peers (off-path port scans). */
TEST(review_icmp_host_limited_flood_starves_other_peers)
{
	struct test_net t;
	tn_init_peer(&t);
	for (int i = 0; i < 1000; i++)
		closed_port_from(&t, ip("10.0.0.2"));
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_PEER_BURST);
	fake_netdev_drop_all(&t.f);
	uint64_t global_before = t.s.core.mib[MIB_IcmpOutRateLimitGlobal];
	closed_port_from(&t, ip("10.0.0.3"));
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_PEER_BURST + 1);   /* the clean peer */
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutRateLimitGlobal], global_before);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutRateLimitHost], 1000 - ICMP_PEER_BURST);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved): the clock jumping far ahead (a long idle) neither overflows the
 * token arithmetic nor grants more than a full burst. */
TEST(review_icmp_long_idle_grants_one_burst)
{
	struct test_net t;
	tn_init_peer(&t);
	tn_advance(&t, 400ull * 24 * 3600 * NET_NS_PER_SEC);    /* 400 days */
	fake_netdev_drop_all(&t.f);
	for (int i = 0; i < ICMP_BURST + 20; i++)
		closed_port_from(&t, ip("10.0.1.1") + (uint32_t)i);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_BURST);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Rate-limit bypass: the per-destination table holds ICMP_PEERS entries and a new
 * entry starts with a FULL burst. Whoever wants errors reflected at victim V spoofs V
 * (V's burst is spent), then ICMP_PEERS other sources: V's entry is forgotten (LRU),
 * and V's next datagram earns a fresh burst. Within 0.9 s, where V is owed no
 * error, six such cycles give it six; the bucket that should hold a
 * victim to 1/s holds it to the global rate / (ICMP_PEERS + 1) instead. Expect no
 * error for V before its interval has passed. */
TEST(review_icmp_peer_table_eviction_refills_burst)
{
	struct test_net t;
	tn_init_peer(&t);
	uint32_t victim = ip("10.0.0.2");
	for (int i = 0; i < ICMP_PEER_BURST; i++)
		closed_port_from(&t, victim);
	fake_netdev_drop_all(&t.f);
	uint64_t host_limited = t.s.core.mib[MIB_IcmpOutRateLimitHost];
	int extra = 0;
	/* Each cycle: ICMP_PEERS other sources in two halves (the global bucket holds
	 * ICMP_BURST, and only errors it lets through touch the table), then V; 150 ms a
	 * cycle, six cycles: 0.9 s, less than V's interval. */
	for (int cycle = 0; cycle < 6; cycle++) {
		for (int half = 0; half < 2; half++) {
			tn_advance(&t, 50 * NET_NS_PER_MS);
			fake_netdev_drop_all(&t.f);
			for (int k = 0; k < ICMP_PEERS / 2; k++)
				closed_port_from(&t, ip("10.0.2.1") +
						 (uint32_t)(cycle * ICMP_PEERS + half * ICMP_PEERS / 2 + k));
			fake_netdev_drop_all(&t.f);
		}
		tn_advance(&t, 50 * NET_NS_PER_MS);
		fake_netdev_drop_all(&t.f);
		uint64_t before = t.s.core.mib[MIB_IcmpOutMsgs];
		closed_port_from(&t, victim);
		extra += t.s.core.mib[MIB_IcmpOutMsgs] > before;
		fake_netdev_drop_all(&t.f);
	}
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutRateLimitGlobal], 0);  /* the cycles fit the budget */
	CHECK_EQ(extra, 0);                                     /* 0.9 s: not one more */
	/* V's six refusals, and (the table being full of busy entries) the spoofed
	 * newcomers' too: they start with no credit. */
	CHECK(t.s.core.mib[MIB_IcmpOutRateLimitHost] >= host_limited + 6);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved time-wrap): a driver stamp ahead of the clock moves "now" forward
 * (link_input, at most 1 s), and a later net_poll() with the older clock does not move
 * it back (net_core_tick keeps the maximum), so the unsigned "now - last" of the ICMP
 * buckets and the reassembly timer can never wrap to a huge value that refills them. */
TEST(review_icmp_clock_never_rewinds)
{
	struct test_net t;
	tn_init_peer(&t);
	for (int i = 0; i < ICMP_BURST; i++)
		closed_port_from(&t, ip("10.0.1.1") + (uint32_t)i);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_BURST);
	fake_netdev_drop_all(&t.f);
	uint64_t now = t.s.core.now_ns;
	static uint8_t f[256];
	static const uint8_t data[4] = { 1, 2, 3, 4 };
	size_t n = frame_udp(f, t.f.dev.mac, test_mac(2), ip("10.0.1.200"), ip("10.0.0.1"), 40000,
			     9999, data, sizeof(data));
	fake_netdev_rx_at(&t.f, &t.s, f, n, now + NET_NS_PER_MS);      /* 1 ms later: 1 token */
	CHECK_EQ(t.s.core.now_ns, now + NET_NS_PER_MS);
	fake_netdev_drop_all(&t.f);
	net_poll(&t.s, now);                                    /* an older clock */
	CHECK_EQ(t.s.core.now_ns, now + NET_NS_PER_MS);
	fake_netdev_drop_all(&t.f);
	uint64_t sent = t.s.core.mib[MIB_IcmpOutMsgs];
	for (int i = 0; i < 10; i++)
		closed_port_from(&t, ip("10.0.1.100") + (uint32_t)i);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], sent);          /* no refill from a wrap */
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}
