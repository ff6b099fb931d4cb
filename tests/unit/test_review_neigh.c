/* Hostile review of the neighbour table and ARP (net/neigh.c, net/arp.c, net/stack.c):
 * a failing test is a defect left for the lead; a passing one a disproved suspicion kept
 * as a guard. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include <string.h>

static void nop_udp(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)info;
	(void)data;
	(void)len;
}

/* An ARP request for our address from a spoofed on-link sender n (10.0.0.100-199). */
static void spoofed_request(struct test_net *t, int n)
{
	uint8_t f[64], mac[6] = { 0x02, 0xee, 0, 0, (uint8_t)(n >> 8), (uint8_t)n };
	size_t len = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, mac, ip("10.0.0.100") + (uint32_t)(n % 100),
			       (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t->f, &t->s, f, len);
}

/* Lock-out: evict_rank() gives INCOMPLETE (rank 1) up before STALE (rank 2), on the
 * premise that a flood only creates INCOMPLETE entries. But every ARP request for our
 * address creates a STALE entry (arp.c step 5), for any spoofed sender. NEIGH_MAX such
 * requests while we resolve a clean neighbour destroy its INCOMPLETE entry (and its
 * queued datagram); its real reply then finds no entry (create = 0) and is dropped as
 * unsolicited. 64 requests a second keep a new neighbour from ever being served.
 * Linux refuses a new entry when forced GC frees nothing, rather than evicting one
 * that is resolving. Expect the queued datagram to leave once the reply comes. */
TEST(review_neigh_arp_request_flood_evicts_resolving_neighbour)
{
	struct test_net t;
	tn_init_peer(&t);
	REQUIRE(udp_bind(&t.s.udp, 7000, nop_udp, NULL) == 7000);
	static const uint8_t hello[5] = "hello";
	REQUIRE(udp_send(&t.s.udp, 0, 7000, ip("10.0.0.50"), 9000, hello, sizeof(hello)) == 0);
	fake_netdev_drop_all(&t.f);                              /* our ARP request */
	for (int i = 0; i < NEIGH_MAX; i++)
		spoofed_request(&t, i);
	fake_netdev_drop_all(&t.f);                              /* our ARP replies */
	uint8_t f[64];
	size_t n = frame_arp(f, t.f.dev.mac, ARP_OP_REPLY, test_mac(50), ip("10.0.0.50"),
			     t.f.dev.mac, ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	struct frame fr;
	static uint8_t buf[2048];
	int delivered = 0;
	while (tn_next(&t, &fr, buf))
		delivered += fr.is_udp && fr.ip.dst == ip("10.0.0.50") && fr.udp.dport == 9000;
	CHECK_EQ(delivered, 1);
	CHECK_EQ(t.s.core.drops[DROP_NEIGH_EVICTED], 0);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved): the gateway's entry survives the same flood (the keep hook). */
TEST(review_neigh_gateway_survives_arp_flood)
{
	struct test_net t;
	tn_init_peer(&t);
	uint8_t f[64];
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(254), ip("10.0.0.254"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	REQUIRE(neigh_lookup(&t.s.neigh, 0, ip("10.0.0.254")));
	for (int i = 0; i < 4 * NEIGH_MAX; i++)
		spoofed_request(&t, i);
	fake_netdev_drop_all(&t.f);
	struct neigh_entry *e = neigh_lookup(&t.s.neigh, 0, ip("10.0.0.254"));
	CHECK(e != NULL);
	if (e)
		CHECK_MEM(e->mac, test_mac(254), 6);
	CHECK_EQ(tn_fini(&t), 0);
}

/* After the carrier drops and returns we "may be on another segment" (stack.c's own
 * comment), yet link_changed() only re-announces: every REACHABLE entry keeps its old
 * MAC and is used unconfirmed for up to 45 s. Linux flushes non-permanent neighbours on
 * carrier loss (neigh_carrier_down). Expect the peer's entry not to stay REACHABLE. */
TEST(review_neigh_link_flap_keeps_reachable_entries)
{
	struct test_net t;
	tn_init_peer(&t);
	uint8_t f[64];
	size_t n = frame_arp(f, t.f.dev.mac, ARP_OP_REPLY, test_mac(2), ip("10.0.0.2"),
			     t.f.dev.mac, ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	struct neigh_entry *e = neigh_lookup(&t.s.neigh, 0, ip("10.0.0.2"));
	REQUIRE(e && e->state == NEIGH_REACHABLE);
	t.f.link = 0;
	tn_advance(&t, 2 * NET_LINK_CHECK_NS);
	t.f.link = 1;
	tn_advance(&t, 2 * NET_LINK_CHECK_NS);
	fake_netdev_drop_all(&t.f);
	e = neigh_lookup(&t.s.neigh, 0, ip("10.0.0.2"));
	CHECK(!e || e->state != NEIGH_REACHABLE);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A datagram lost on the way out: ipv4_fragment() hands each fragment to
 * neigh_output(), and an unresolved neighbour's queue keeps NEIGH_QUEUE_LEN (3)
 * packets, dropping the OLDEST. A 6-fragment reply (an 8000-byte ping from a host whose
 * entry we forgot, while it still has ours) keeps fragments 4-6 only: the datagram can
 * never be reassembled, and it happens on every first large datagram to a host.
 * Linux bounds the unresolved queue by bytes (unres_qlen_bytes, about 208 KB) so that a
 * fragmented 64 KB datagram fits. Expect the whole reply once the ARP reply comes. */
TEST(review_neigh_unresolved_queue_loses_fragmented_datagram)
{
	struct test_net t;
	tn_init_peer(&t);
	static uint8_t f[9000];
	static uint8_t l4[8008];
	for (size_t i = 0; i < 8000; i++)
		l4[ICMP_HDR_LEN + i] = (uint8_t)i;
	struct icmp_hdr eh = { .type = ICMP_ECHO, .id = 1, .seq = 1 };
	icmp_emit(&eh, l4, sizeof(l4));
	/* The request, in 1480-byte fragments from 10.0.0.3 (no neighbour entry). */
	for (size_t off = 0; off < sizeof(l4); off += 1480) {
		size_t len = sizeof(l4) - off < 1480 ? sizeof(l4) - off : 1480;
		memcpy(f, t.f.dev.mac, 6);
		memcpy(f + 6, test_mac(3), 6);
		f[12] = 0x08;
		f[13] = 0x00;
		struct ipv4_hdr h = { .tot_len = (uint16_t)(IPV4_HDR_MIN + len), .id = 77, .ttl = 64,
				      .frag = (uint16_t)(off / 8 | (off + len < sizeof(l4) ? IPV4_MF : 0)),
				      .proto = IPV4_PROTO_ICMP, .src = ip("10.0.0.3"), .dst = ip("10.0.0.1") };
		ipv4_emit(&h, f + ETH_HLEN);
		memcpy(f + ETH_HLEN + IPV4_HDR_MIN, l4 + off, len);
		fake_netdev_rx(&t.f, &t.s, f, ETH_HLEN + IPV4_HDR_MIN + len);
	}
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutEchoReps], 1);
	fake_netdev_drop_all(&t.f);                              /* our ARP request */
	uint8_t a[64];
	size_t n = frame_arp(a, t.f.dev.mac, ARP_OP_REPLY, test_mac(3), ip("10.0.0.3"),
			     t.f.dev.mac, ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, a, n);
	int frags = 0;
	struct pkt *p;
	while ((p = fake_netdev_pop(&t.f))) {
		frags += wire_get16(pkt_data(p) + 12) == ETH_P_IP;
		pkt_free(p);
	}
	CHECK_EQ(frags, 6);
	CHECK_EQ(t.s.core.drops[DROP_NEIGH_QUEUE_FULL], 0);
	CHECK_EQ(tn_fini(&t), 0);
}
