/*
 * ARP and the neighbour state machine driven with a simulated clock: resolution and
 * queueing, REACHABLE -> STALE -> DELAY -> PROBE -> FAILED, retries, RFC 826/5227 input
 * rules (reply only for us, never learn from unsolicited replies, probes, conflicts),
 * table bounds and eviction, gratuitous ARP, arping.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"

#define SEC NET_NS_PER_SEC

static int wire_len(struct test_net *t)
{
	return (int)t->f.wire.len;
}

static int next(struct test_net *t, struct frame *fr, uint8_t *buf)
{
	return tn_next(t, fr, buf);
}

/* A static stack 10.0.0.1/24 whose start-up announcements are already sent. */
static void setup(struct test_net *t)
{
	tn_init(t, 1, "10.0.0.1/24", "10.0.0.254", 0);
	tn_advance(t, 0);
	tn_advance(t, 2 * SEC);
	fake_netdev_drop_all(&t->f);
}

static void send_udp(struct test_net *t, const char *dst, char tag)
{
	CHECK_EQ(udp_send(&t->s.udp, 0, 1000, ip(dst), 2000, &tag, 1), 0);
}

static void rx_arp(struct test_net *t, const uint8_t *dmac, uint16_t op, uint8_t smac,
		   const char *spa, const char *tpa)
{
	uint8_t f[64];
	size_t n = frame_arp(f, dmac, op, test_mac(smac), spa ? ip(spa) : 0, op == ARP_OP_REPLY ?
			     t->f.dev.mac : (const uint8_t *)"\0\0\0\0\0\0", ip(tpa));
	fake_netdev_rx(&t->f, &t->s, f, n);
}

static int state_of(struct test_net *t, const char *addr)
{
	struct neigh_entry *e = neigh_lookup(&t->s.neigh, 0, ip(addr));
	return e ? e->state : NEIGH_NONE;
}

TEST(net_neigh_resolve_queue_and_flush)
{
	struct test_net t;
	struct frame fr;
	uint8_t buf[2048];
	setup(&t);
	for (int c = 0; c <= NEIGH_QUEUE_LEN; c++)
		send_udp(&t, "10.0.0.2", (char)('0' + c));
	/* One broadcast request; NEIGH_QUEUE_LEN packets wait, the oldest was pushed out. */
	REQUIRE(wire_len(&t) == 1);
	REQUIRE(next(&t, &fr, buf));
	CHECK(fr.is_arp && fr.arp.op == ARP_OP_REQUEST);
	CHECK(eth_is_broadcast(fr.eth.dst));
	CHECK_EQ(fr.arp.spa, ip("10.0.0.1"));
	CHECK_EQ(fr.arp.tpa, ip("10.0.0.2"));
	CHECK_MEM(fr.arp.sha, t.f.dev.mac, 6);
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_INCOMPLETE);
	CHECK_EQ(t.s.core.drops[DROP_NEIGH_QUEUE_FULL], 1);
	CHECK_EQ(t.s.core.mib[MIB_NeighUnresolvedDiscards], 1);
	/* The reply resolves the entry and releases the queue in order. */
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 2, "10.0.0.2", "10.0.0.1");
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_REACHABLE);
	REQUIRE(wire_len(&t) == NEIGH_QUEUE_LEN);
	for (int c = 1; c <= NEIGH_QUEUE_LEN; c++) {
		REQUIRE(next(&t, &fr, buf));
		CHECK(fr.is_udp && fr.l4len == 1 && fr.l4[0] == (char)('0' + c));
		CHECK_MEM(fr.eth.dst, test_mac(2), 6);
	}
	/* Reachable: straight out, counted as a hit. */
	send_udp(&t, "10.0.0.2", 'z');
	CHECK_EQ(wire_len(&t), 1);
	CHECK(t.s.core.mib[MIB_NeighHits] >= 1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_neigh_reachable_stale_delay_probe_failed)
{
	struct test_net t;
	struct frame fr;
	uint8_t buf[2048];
	setup(&t);
	send_udp(&t, "10.0.0.2", 'a');
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 2, "10.0.0.2", "10.0.0.1");
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_REACHABLE);
	tn_advance(&t, 14 * SEC);               /* reachable_time is at least 15 s */
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_REACHABLE);
	tn_advance(&t, 32 * SEC);               /* ... and below 45 s */
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_STALE);
	CHECK_EQ(wire_len(&t), 0);              /* going stale sends nothing */
	/* Use while STALE: sent with the old address at once, entry goes to DELAY. */
	send_udp(&t, "10.0.0.2", 'b');
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_DELAY);
	REQUIRE(next(&t, &fr, buf));
	CHECK(fr.is_udp);
	CHECK_MEM(fr.eth.dst, test_mac(2), 6);
	tn_advance(&t, 4 * SEC);
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_DELAY);
	tn_advance(&t, 1 * SEC);                /* delay_first_probe_time: 5 s */
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_PROBE);
	/* Probes are unicast to the cached address. */
	REQUIRE(next(&t, &fr, buf));
	CHECK(fr.is_arp && fr.arp.op == ARP_OP_REQUEST && fr.arp.tpa == ip("10.0.0.2"));
	CHECK_MEM(fr.eth.dst, test_mac(2), 6);
	tn_advance(&t, SEC);
	tn_advance(&t, SEC);
	CHECK_EQ(wire_len(&t), 2);              /* ucast_solicit = 3 in all */
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_PROBE);
	tn_advance(&t, SEC);
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_FAILED);
	CHECK_EQ(t.s.core.mib[MIB_NeighResFailed], 1);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip neigh"), 0);
	CHECK(tn_out_is(&t, "10.0.0.2 dev eth0 FAILED\n"));
	/* A FAILED entry is garbage-collected later. */
	tn_advance(&t, 61 * SEC);
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_NONE);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_neigh_probe_answered_goes_reachable)
{
	struct test_net t;
	setup(&t);
	send_udp(&t, "10.0.0.2", 'a');
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 2, "10.0.0.2", "10.0.0.1");
	tn_advance(&t, 46 * SEC);
	send_udp(&t, "10.0.0.2", 'b');
	tn_advance(&t, 5 * SEC);
	REQUIRE(state_of(&t, "10.0.0.2") == NEIGH_PROBE);
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 2, "10.0.0.2", "10.0.0.1");
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_REACHABLE);
	/* A request from the neighbour (not a confirmation) leaves REACHABLE alone. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 2, "10.0.0.2", "10.0.0.1");
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_REACHABLE);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_neigh_incomplete_retries_then_fails)
{
	struct test_net t;
	setup(&t);
	send_udp(&t, "10.0.0.3", 'x');
	CHECK_EQ(wire_len(&t), 1);
	tn_advance(&t, SEC / 2);
	CHECK_EQ(wire_len(&t), 1);              /* retrans_time is 1 s */
	tn_advance(&t, SEC / 2);
	CHECK_EQ(wire_len(&t), 2);
	tn_advance(&t, SEC);
	CHECK_EQ(wire_len(&t), 3);
	CHECK_EQ(state_of(&t, "10.0.0.3"), NEIGH_INCOMPLETE);
	tn_advance(&t, SEC);
	CHECK_EQ(wire_len(&t), 3);              /* mcast_solicit = 3, then give up */
	CHECK_EQ(state_of(&t, "10.0.0.3"), NEIGH_FAILED);
	CHECK_EQ(t.s.core.drops[DROP_NEIGH_FAILED], 1);
	/* Using a FAILED entry starts over. */
	send_udp(&t, "10.0.0.3", 'y');
	CHECK_EQ(state_of(&t, "10.0.0.3"), NEIGH_INCOMPLETE);
	CHECK_EQ(wire_len(&t), 4);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_arp_input_rules)
{
	struct test_net t;
	struct frame fr;
	uint8_t buf[2048];
	setup(&t);
	/* A request for us: answered to the asker's MAC, the asker learnt as STALE. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 5, "10.0.0.5", "10.0.0.1");
	REQUIRE(next(&t, &fr, buf));
	CHECK(fr.is_arp && fr.arp.op == ARP_OP_REPLY);
	CHECK_MEM(fr.eth.dst, test_mac(5), 6);
	CHECK_MEM(fr.arp.sha, t.f.dev.mac, 6);
	CHECK_EQ(fr.arp.spa, ip("10.0.0.1"));
	CHECK_MEM(fr.arp.tha, test_mac(5), 6);
	CHECK_EQ(fr.arp.tpa, ip("10.0.0.5"));
	CHECK_EQ(state_of(&t, "10.0.0.5"), NEIGH_STALE);
	CHECK_EQ(t.s.core.mib[MIB_ArpOutReplies], 1);
	/* A request for someone else: no reply, nothing learnt. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 6, "10.0.0.6", "10.0.0.9");
	CHECK_EQ(wire_len(&t), 0);
	CHECK_EQ(state_of(&t, "10.0.0.6"), NEIGH_NONE);
	CHECK_EQ(t.s.core.drops[DROP_ARP_NOT_FOR_US], 1);
	/* An unsolicited reply never creates an entry... */
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 7, "10.0.0.7", "10.0.0.1");
	CHECK_EQ(state_of(&t, "10.0.0.7"), NEIGH_NONE);
	CHECK_EQ(t.s.core.drops[DROP_ARP_UNSOLICITED], 1);
	/* ... but updates one that exists (new MAC, confirmed). */
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 8, "10.0.0.5", "10.0.0.1");
	CHECK_EQ(state_of(&t, "10.0.0.5"), NEIGH_REACHABLE);
	CHECK_MEM(neigh_lookup(&t.s.neigh, 0, ip("10.0.0.5"))->mac, test_mac(8), 6);
	/* Gratuitous ARP: refreshes an existing entry only. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 9, "10.0.0.5", "10.0.0.5");
	CHECK_EQ(state_of(&t, "10.0.0.5"), NEIGH_STALE);
	CHECK_MEM(neigh_lookup(&t.s.neigh, 0, ip("10.0.0.5"))->mac, test_mac(9), 6);
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 10, "10.0.0.10", "10.0.0.10");
	CHECK_EQ(state_of(&t, "10.0.0.10"), NEIGH_NONE);
	CHECK_EQ(t.s.core.mib[MIB_ArpInGratuitous], 2);
	CHECK_EQ(wire_len(&t), 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_arp_probe_conflict_and_bad_senders)
{
	struct test_net t;
	struct frame fr;
	uint8_t buf[2048];
	setup(&t);
	/* RFC 5227 probe for our address (spa 0): defended, nothing learnt. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 11, NULL, "10.0.0.1");
	REQUIRE(next(&t, &fr, buf));
	CHECK(fr.arp.op == ARP_OP_REPLY && fr.arp.tpa == 0);
	CHECK_MEM(fr.eth.dst, test_mac(11), 6);
	CHECK_EQ(state_of(&t, "0.0.0.0"), NEIGH_NONE);
	/* Someone else claiming our address: counted, not answered. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 12, "10.0.0.1", "10.0.0.7");
	CHECK_EQ(t.s.core.drops[DROP_ARP_CONFLICT], 1);
	/* Martian sender address, broadcast or our own sender MAC. */
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 13, "127.0.0.1", "10.0.0.1");
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 13, "10.0.0.255", "10.0.0.1");
	rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, 1, "10.0.0.14", "10.0.0.1");
	CHECK_EQ(t.s.core.drops[DROP_ARP_BAD_SENDER], 2);
	CHECK_EQ(t.s.core.drops[DROP_ETH_BAD_SRC], 1);       /* our MAC as Ethernet source */
	/* Wrong hlen and a truncated packet. */
	uint8_t f[64];
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(15), ip("10.0.0.15"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	f[ETH_HLEN + 4] = 8;
	fake_netdev_rx(&t.f, &t.s, f, n);
	fake_netdev_rx(&t.f, &t.s, f, ETH_HLEN + 20);
	CHECK_EQ(t.s.core.drops[DROP_ARP_BAD_FORMAT], 1);
	CHECK_EQ(t.s.core.drops[DROP_ARP_TRUNCATED], 1);
	CHECK_EQ(wire_len(&t), 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_neigh_table_bounded)
{
	struct test_net t;
	char a[24];
	setup(&t);
	for (int i = 0; i < NEIGH_MAX + 5; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", 1 + i / 200, 1 + i % 200);
		rx_arp(&t, eth_broadcast, ARP_OP_REQUEST, (uint8_t)(20 + i % 200), a, "10.0.0.1");
		tn_advance(&t, NET_NS_PER_MS);
	}
	fake_netdev_drop_all(&t.f);
	int n = 0;
	for (int i = 0; i < NEIGH_MAX; i++)
		n += t.s.neigh.e[i].state != NEIGH_NONE;
	CHECK_EQ(n, NEIGH_MAX);
	CHECK_EQ(t.s.core.mib[MIB_NeighTableFulls], 5);
	CHECK_EQ(t.s.core.mib[MIB_NeighAllocs], NEIGH_MAX + 5);
	/* The least recently used went first; the newest are present. */
	CHECK_EQ(state_of(&t, "10.0.1.1"), NEIGH_NONE);
	CHECK_EQ(state_of(&t, "10.0.1.5"), NEIGH_NONE);
	CHECK_EQ(state_of(&t, "10.0.1.6"), NEIGH_STALE);
	snprintf(a, sizeof(a), "10.0.1.%d", NEIGH_MAX + 5);
	CHECK_EQ(state_of(&t, a), NEIGH_STALE);
	/* Unused STALE entries are collected after gc_stale_time. */
	tn_advance(&t, 61 * SEC);
	CHECK_EQ(state_of(&t, a), NEIGH_NONE);
	CHECK_EQ(tn_fini(&t), 0);
}

/* docs/hardening.md #7: packets to NEIGH_MAX + 20 unresolvable on-link addresses (what
 * spoofed sources make us do) evict each other, never the resolved gateway or peer. */
TEST(net_neigh_flood_keeps_resolved_entries)
{
	struct test_net t;
	char a[24];
	setup(&t);
	send_udp(&t, "192.0.2.1", 'g');                 /* via the gateway 10.0.0.254 */
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 254, "10.0.0.254", "10.0.0.1");
	send_udp(&t, "10.0.0.2", 'p');
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 2, "10.0.0.2", "10.0.0.1");
	REQUIRE(state_of(&t, "10.0.0.254") == NEIGH_REACHABLE);
	REQUIRE(state_of(&t, "10.0.0.2") == NEIGH_REACHABLE);
	for (int i = 0; i < NEIGH_MAX + 20; i++) {
		snprintf(a, sizeof(a), "10.0.0.%d", 10 + i);
		send_udp(&t, a, 'x');
		tn_advance(&t, NET_NS_PER_MS);
	}
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(state_of(&t, "10.0.0.254"), NEIGH_REACHABLE);
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_REACHABLE);
	CHECK_EQ(state_of(&t, "10.0.0.10"), NEIGH_NONE);        /* oldest unresolved went */
	snprintf(a, sizeof(a), "10.0.0.%d", 10 + NEIGH_MAX + 19);
	CHECK_EQ(state_of(&t, a), NEIGH_INCOMPLETE);            /* newest kept */
	CHECK(t.s.core.mib[MIB_NeighTableFulls] >= 20);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_arp_gratuitous_on_config)
{
	struct test_net t;
	struct frame fr;
	uint8_t buf[2048];
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	CHECK_EQ(wire_len(&t), 0);              /* nothing leaves before the first poll */
	tn_advance(&t, 0);
	REQUIRE(next(&t, &fr, buf));
	CHECK(fr.is_arp && fr.arp.op == ARP_OP_REQUEST);
	CHECK(eth_is_broadcast(fr.eth.dst));
	CHECK_EQ(fr.arp.spa, ip("10.0.0.1"));
	CHECK_EQ(fr.arp.tpa, ip("10.0.0.1"));
	tn_advance(&t, SEC);
	CHECK_EQ(wire_len(&t), 0);
	tn_advance(&t, SEC);
	CHECK_EQ(wire_len(&t), 1);              /* RFC 5227: two announcements, 2 s apart */
	tn_advance(&t, 10 * SEC);
	CHECK_EQ(wire_len(&t), 1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_arping_command)
{
	struct test_net t;
	setup(&t);
	tn_clear(&t);
	REQUIRE(tn_cmd(&t, "arping -c 2 10.0.0.2") == 0);
	CHECK(tn_out_is(&t, "ARPING 10.0.0.2 from 10.0.0.1 eth0\n"));
	tn_advance(&t, 0);
	CHECK_EQ(wire_len(&t), 1);
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, 1200 * NET_NS_PER_US);
	rx_arp(&t, t.f.dev.mac, ARP_OP_REPLY, 2, "10.0.0.2", "10.0.0.1");
	CHECK(tn_out_has(&t, "Unicast reply from 10.0.0.2 [02:00:00:00:00:02]  1.200ms\n"));
	CHECK_EQ(state_of(&t, "10.0.0.2"), NEIGH_NONE); /* arping teaches the table nothing */
	tn_advance(&t, SEC);
	tn_advance(&t, SEC);
	CHECK(tn_out_has(&t, "Sent 2 probes (2 broadcast(s))\nReceived 1 response(s)\n"));
	CHECK(tn_cmd(&t, "arping") == -1);
	CHECK(tn_cmd(&t, "arping -c x 10.0.0.2") == -1);
	CHECK(tn_cmd(&t, "arping 10.0.0") == -1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_input_clock_from_driver_stamp)
{
	/* A reply stamped by the driver after the last net_poll() is timed by the stamp;
	 * a stamp from a different clock (far ahead) is not trusted. */
	struct test_net t;
	uint8_t f[64];
	setup(&t);
	tn_clear(&t);
	REQUIRE(tn_cmd(&t, "arping -c 1 10.0.0.2") == 0);
	tn_advance(&t, 0);
	fake_netdev_drop_all(&t.f);
	uint64_t sent = t.s.core.now_ns;
	size_t n = frame_arp(f, t.f.dev.mac, ARP_OP_REPLY, test_mac(2), ip("10.0.0.2"), t.f.dev.mac,
			     ip("10.0.0.1"));
	fake_netdev_rx_at(&t.f, &t.s, f, n, sent + 37 * NET_NS_PER_US);
	CHECK(tn_out_has(&t, "[02:00:00:00:00:02]  0.037ms\n"));
	CHECK_EQ(t.s.core.now_ns, sent + 37 * NET_NS_PER_US);
	fake_netdev_rx_at(&t.f, &t.s, f, n, sent + 5 * SEC);
	CHECK_EQ(t.s.core.now_ns, sent + 37 * NET_NS_PER_US);
	CHECK_EQ(tn_fini(&t), 0);
}
