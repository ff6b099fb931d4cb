/*
 * The stack-wide next deadline (core.wake_ns, net_poll): each floor's timer still fires
 * at its time when net_poll skips the floors' polls on turns before the deadline. Each
 * test arms a timer from outside net_poll (an API call or received frame) while the
 * deadline lies beyond it, so a floor whose arm forgot net_core_arm fails here (and
 * tn_advance's check that wake_ns is never later than net_next_due fails too).
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/inet.h"
#include "net/err.h"

#define SEC NET_NS_PER_SEC
#define MS NET_NS_PER_MS

/* The fake device without link_up: no link check each second bounds core.wake_ns, so
 * only the timer under test can bring the next due turn. The stack runs until its
 * start-up announcements are done and nothing is left to do. */
static struct netdev_ops no_link_ops;
static void quiet(struct test_net *t)
{
	no_link_ops = *t->f.dev.ops;
	no_link_ops.link_up = NULL;
	t->f.dev.ops = &no_link_ops;
	for (int i = 0; i < 4; i++)
		tn_advance(t, 2 * SEC);
	fake_netdev_drop_all(&t->f);
}

/* Frames on the wire; they are dropped. */
static int sent(struct test_net *t)
{
	int n = (int)t->f.wire.len;
	fake_netdev_drop_all(&t->f);
	return n;
}

TEST(net_wake_idle_turn_skips_the_floors_but_keeps_tcp_clock)
{
	struct test_net t;
	tn_init_tcp(&t, 1, "10.0.0.1/24");
	quiet(&t);
	CHECK_EQ(t.s.core.wake_ns, UINT64_MAX);         /* nothing armed, nothing due */
	CHECK_EQ(net_next_due(&t.s), UINT64_MAX);
	tn_advance(&t, 123 * MS);
	CHECK_EQ(t.s.tcp.now, t.s.core.now_ns);         /* user calls stamp with the turn */
	CHECK_EQ(tn_fini(&t), 0);
}

/* neigh.c arm(): an unresolved next hop is solicited again after NEIGH_RETRANS_NS. */
TEST(net_wake_neigh_resolution_retransmits_on_time)
{
	struct test_net t;
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	quiet(&t);
	REQUIRE(t.s.core.wake_ns > t.s.core.now_ns + NEIGH_RETRANS_NS);
	CHECK_EQ(udp_send(&t.s.udp, 0, 5000, ip("10.0.0.3"), 9, "x", 1), 0);
	CHECK_EQ(sent(&t), 1);                          /* the first ARP request */
	tn_advance(&t, NEIGH_RETRANS_NS - 1);
	CHECK_EQ(sent(&t), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);                          /* the second, on time */
	CHECK_EQ(tn_fini(&t), 0);
}

/* ipv4_frag.c: a datagram's first piece starts its IPV4_REASM_TIMEOUT_NS. */
TEST(net_wake_reassembly_times_out_on_time)
{
	struct test_net t;
	uint8_t f[256], l4[64] = { 0 };
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	quiet(&t);
	REQUIRE(t.s.core.wake_ns > t.s.core.now_ns + IPV4_REASM_TIMEOUT_NS);
	size_t n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
			      IPV4_PROTO_UDP, l4, sizeof(l4));
	uint8_t *iph = f + ETH_HLEN;
	iph[6] = 0x20;                                  /* MF, offset 0: the first piece */
	iph[10] = iph[11] = 0;
	uint16_t c = inet_csum(iph, 20);
	iph[10] = (uint8_t)(c >> 8);
	iph[11] = (uint8_t)c;
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.ip.reasm.nused, 1);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS - 1);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 0);
	tn_advance(&t, 1);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 1);
	CHECK_EQ(t.s.ip.reasm.nused, 0);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* dhcp.c set_timer: dhcp_start from the shell sends at the next turn, then
 * retransmits at timer_ns. */
TEST(net_wake_dhcp_start_and_retransmission_on_time)
{
	struct test_net t;
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	quiet(&t);
	CHECK_EQ(dhcp_start(&t.s.dhcp, 0), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);                          /* DISCOVER */
	uint64_t due = t.s.dhcp.timer_ns;
	REQUIRE(due > t.s.core.now_ns && due != UINT64_MAX);
	tn_advance(&t, due - t.s.core.now_ns - 1);
	CHECK_EQ(sent(&t), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);                          /* DISCOVER again */
	CHECK_EQ(tn_fini(&t), 0);
}

/* link.c link_attach: a second device's link is read NET_LINK_CHECK_NS after attach. */
TEST(net_wake_link_check_of_a_new_device_on_time)
{
	struct test_net t;
	struct fake_netdev f2;
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	quiet(&t);
	REQUIRE(t.s.core.wake_ns > t.s.core.now_ns + NET_LINK_CHECK_NS);
	fake_netdev_init(&f2, "eth1", 9, 16);
	f2.link = 1;
	CHECK_EQ(net_attach(&t.s, &f2.dev), 0);
	CHECK_EQ(t.s.link.ifs[1].link_up, 1);
	f2.link = 0;
	tn_advance(&t, NET_LINK_CHECK_NS - 1);
	CHECK_EQ(t.s.link.ifs[1].link_up, 1);
	tn_advance(&t, 1);
	CHECK_EQ(t.s.link.ifs[1].link_up, 0);           /* read on time */
	CHECK_EQ(tn_fini(&t), 0);
	CHECK_EQ(fake_netdev_destroy(&f2), 0);
}

/* arp.c arp_announce_start: a new address is announced at the next turn, then after
 * ARP_ANNOUNCE_INTERVAL_NS (RFC 5227 §2.3). */
TEST(net_wake_arp_announcements_on_time)
{
	struct test_net t;
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	quiet(&t);
	ipv4_set_addr(&t.s.ip, 0, ip("10.0.0.7"), 24, IFACE_ADDR_STATIC, 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);
	tn_advance(&t, ARP_ANNOUNCE_INTERVAL_NS - 1);
	CHECK_EQ(sent(&t), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);
	tn_advance(&t, 10 * SEC);
	CHECK_EQ(sent(&t), 0);                          /* ARP_ANNOUNCE_NUM == 2 */
	CHECK_EQ(tn_fini(&t), 0);
}

/* ping.c: the first request at the next turn; the last reply ends the session at the
 * next turn, not PING_LINGER_NS later. */
TEST(net_wake_ping_requests_and_end_on_time)
{
	struct test_net t;
	uint8_t f[256], buf[2048];
	struct frame fr;
	tn_init_peer(&t);
	quiet(&t);
	CHECK_EQ(ping_start(&t.s.ping, ip("10.0.0.2"), 2, 8, tn_out, &t), 0);
	tn_advance(&t, 1);
	REQUIRE(tn_next(&t, &fr, buf) && fr.is_icmp && fr.icmp.type == ICMP_ECHO);
	tn_advance(&t, PING_INTERVAL_NS - 1);
	CHECK_EQ(t.f.wire.len, 0);
	tn_advance(&t, 1);
	REQUIRE(tn_next(&t, &fr, buf) && fr.is_icmp && fr.icmp.type == ICMP_ECHO);
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO_REPLY, fr.icmp.id, fr.icmp.seq, 8);
	fake_netdev_rx(&t.f, &t.s, f, n);               /* only the second is answered */
	tn_advance(&t, 1);
	CHECK_EQ(t.s.ping.active, 1);                   /* one of two: linger for the first */
	tn_advance(&t, PING_LINGER_NS - 2);
	CHECK_EQ(t.s.ping.active, 1);
	tn_advance(&t, 1);
	CHECK_EQ(t.s.ping.active, 0);
	CHECK_EQ(ping_start(&t.s.ping, ip("10.0.0.2"), 1, 8, tn_out, &t), 0);
	tn_advance(&t, 1);
	REQUIRE(tn_next(&t, &fr, buf) && fr.is_icmp && fr.icmp.type == ICMP_ECHO);
	n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
			    ICMP_ECHO_REPLY, fr.icmp.id, fr.icmp.seq, 8);
	fake_netdev_rx(&t.f, &t.s, f, n);
	tn_advance(&t, 1);
	CHECK_EQ(t.s.ping.active, 0);                   /* all answered: done at once */
	CHECK_EQ(tn_fini(&t), 0);
}

/* ping.c arping_start: a request at the next turn, the next one a second later. */
TEST(net_wake_arping_requests_on_time)
{
	struct test_net t;
	tn_init_peer(&t);
	quiet(&t);
	CHECK_EQ(arping_start(&t.s.arping, 0, ip("10.0.0.9"), 2, tn_out, &t), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);
	tn_advance(&t, SEC - 1);
	CHECK_EQ(sent(&t), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);
	tn_advance(&t, SEC);
	CHECK_EQ(t.s.arping.active, 0);                 /* a second after the last */
	CHECK_EQ(tn_fini(&t), 0);
}

/* tracepath.c: the first probe at the next turn; "no reply" after TRACEPATH_WAIT_NS and
 * the next probe at the turn after. */
TEST(net_wake_tracepath_probes_on_time)
{
	struct test_net t;
	tn_init_peer(&t);
	quiet(&t);
	CHECK_EQ(tracepath_start(&t.s.tracepath, ip("10.0.0.2"), tn_out, &t), 0);
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);
	tn_advance(&t, TRACEPATH_WAIT_NS - 1);
	CHECK_EQ(t.s.tracepath.ttl, 1);
	tn_advance(&t, 1);
	CHECK_EQ(t.s.tracepath.ttl, 2);                 /* no reply: the next hop */
	tn_advance(&t, 1);
	CHECK_EQ(sent(&t), 1);
	tracepath_stop(&t.s.tracepath);
	CHECK_EQ(tn_fini(&t), 0);
}

/* TCP through env.wake_ns: tcp_arm (the SYN's retransmission) and a user call that
 * leaves a TCB to reap (tcp_abort) both bring the next due turn. */
TEST(net_wake_tcp_retransmission_and_reap_on_time)
{
	struct test_net t;
	struct tcp_sock *s = NULL;
	uint8_t f[64];
	tn_init_tcp(&t, 1, "10.0.0.1/24");
	uint64_t rto = (uint64_t)t.s.tcp.cfg.rto_initial_ms * MS;
	/* The peer's address is known (its ARP request), so no neighbour timer runs
	 * with the SYN's: only tcp_arm can bring the retransmission's turn. */
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	quiet(&t);
	REQUIRE(t.s.core.wake_ns > t.s.core.now_ns + rto);
	CHECK_EQ(tcp_connect(&t.s.tcp, 0, ip("10.0.0.2"), 80, NULL, NULL, &s), 0);
	REQUIRE(s != NULL);
	CHECK_EQ(sent(&t), 1);                          /* the SYN */
	CHECK(t.s.core.wake_ns <= t.s.core.now_ns + rto);
	uint64_t rtx = t.s.tcp.mib[TCP_MIB_RetransSegs];
	tn_advance(&t, rto - 1);
	CHECK_EQ(t.s.tcp.mib[TCP_MIB_RetransSegs], rtx);
	CHECK_EQ(sent(&t), 0);
	tn_advance(&t, 1);
	CHECK(t.s.tcp.mib[TCP_MIB_RetransSegs] > rtx);  /* SYN retransmitted on time */
	CHECK_EQ(sent(&t), 1);
	tcp_abort(s);
	CHECK(t.s.tcp.reap != NULL);                    /* freed by the next tcp_poll */
	CHECK_EQ(t.s.core.wake_ns, 0);
	tn_advance(&t, 1);
	CHECK(t.s.tcp.reap == NULL);
	CHECK_EQ(t.s.tcp.nconns, 0);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}
