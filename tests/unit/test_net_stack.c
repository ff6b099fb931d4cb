/*
 * The receive ladder end to end through net_input(): every malformed or unwanted frame
 * is dropped with exactly one per-reason counter and its packet returned to the pool.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/inet.h"
#include "net/ipv4.h"
#include "net/err.h"

static uint64_t total_drops(const struct net_stack *s)
{
	uint64_t n = 0;
	for (int i = 0; i < DROP_COUNT; i++)
		n += s->core.drops[i];
	return n;
}

/* Feeds the frame; checks it was dropped for exactly reason (and nothing was sent). */
static int dropped_as(struct test_net *t, const uint8_t *f, size_t n, int reason)
{
	uint64_t before = total_drops(&t->s), r = t->s.core.drops[reason];
	fake_netdev_rx(&t->f, &t->s, f, n);
	int ok = total_drops(&t->s) == before + 1 && t->s.core.drops[reason] == r + 1 && t->f.wire.len == 0;
	if (!ok)
		printf("    expected drop %s\n", net_drop_names[reason]);
	fake_netdev_drop_all(&t->f);
	return ok;
}

/* An echo request from 10.0.0.2 with IP options opts (olen bytes, multiple of 4). */
static size_t echo_with_options(uint8_t *f, struct test_net *t, const uint8_t *opts, size_t olen)
{
	size_t n = frame_icmp_echo(f, t->f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 1, 1, 8);
	uint8_t *iph = f + ETH_HLEN;
	memmove(iph + 20 + olen, iph + 20, n - ETH_HLEN - 20);
	memcpy(iph + 20, opts, olen);
	iph[0] = (uint8_t)(0x40 | (20 + olen) / 4);
	uint16_t tot = (uint16_t)(n - ETH_HLEN + olen);
	iph[2] = (uint8_t)(tot >> 8);
	iph[3] = (uint8_t)tot;
	iph[10] = iph[11] = 0;
	uint16_t c = inet_csum(iph, 20 + olen);
	iph[10] = (uint8_t)(c >> 8);
	iph[11] = (uint8_t)c;
	return n + olen;
}

static void fix_ip_csum(uint8_t *f)
{
	uint8_t *iph = f + ETH_HLEN;
	size_t hl = (size_t)(iph[0] & 0xf) * 4;
	iph[10] = iph[11] = 0;
	uint16_t c = inet_csum(iph, hl);
	iph[10] = (uint8_t)(c >> 8);
	iph[11] = (uint8_t)c;
}

TEST(net_stack_ethernet_drops)
{
	struct test_net t;
	uint8_t f[128], g[128];
	tn_init_peer(&t);
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 1, 1, 8);
	CHECK(dropped_as(&t, f, 13, DROP_ETH_TRUNCATED));
	memcpy(g, f, n);
	memcpy(g, test_mac(3), 6);
	CHECK(dropped_as(&t, g, n, DROP_ETH_OTHERHOST));
	memcpy(g, "\x01\x00\x5e\x00\x00\x01", 6);
	CHECK(dropped_as(&t, g, n, DROP_ETH_MULTICAST));
	memcpy(g, f, n);
	g[6] |= 1;                              /* multicast source MAC */
	CHECK(dropped_as(&t, g, n, DROP_ETH_BAD_SRC));
	memcpy(g, f, n);
	g[12] = 0x81;
	g[13] = 0x00;
	CHECK(dropped_as(&t, g, n, DROP_ETH_VLAN));
	g[12] = 0x86;
	g[13] = 0xdd;
	CHECK(dropped_as(&t, g, n, DROP_ETH_UNKNOWN_TYPE));
	g[12] = g[13] = 0;      /* EtherType 0 (an 802.3 length) is a free slot's type */
	CHECK(dropped_as(&t, g, n, DROP_ETH_UNKNOWN_TYPE));
	/* A device this stack never attached. */
	struct fake_netdev other;
	fake_netdev_init(&other, "eth9", 9, 4);
	struct pkt *p = pkt_alloc(&other.pool);
	memcpy(pkt_put(p, n), f, n);
	net_input(&t.s, &other.dev, p);
	CHECK_EQ(t.s.core.drops[DROP_NO_IFACE], 1);
	CHECK_EQ(fake_netdev_destroy(&other), 0);
	/* And the untouched frame still works. */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.f.wire.len, 1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_stack_ipv4_header_ladder)
{
	struct test_net t;
	uint8_t f[128], g[128];
	tn_init_peer(&t);
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 1, 1, 8);
	uint8_t *h = g + ETH_HLEN;
	CHECK(dropped_as(&t, f, ETH_HLEN + 19, DROP_IP_TRUNCATED));
	memcpy(g, f, n);
	h[0] = 0x65;
	fix_ip_csum(g);
	CHECK(dropped_as(&t, g, n, DROP_IP_VERSION));
	memcpy(g, f, n);
	h[0] = 0x44;                            /* IHL < 5 */
	CHECK(dropped_as(&t, g, n, DROP_IP_HDR_LEN));
	memcpy(g, f, n);
	h[3] += 1;                              /* total length one past the frame */
	fix_ip_csum(g);
	CHECK(dropped_as(&t, g, n, DROP_IP_TOT_LEN));
	CHECK_EQ(t.s.core.mib[MIB_IpExtInTruncatedPkts], 1);
	memcpy(g, f, n);
	h[3] = 19;                              /* total length below the header */
	h[2] = 0;
	fix_ip_csum(g);
	CHECK(dropped_as(&t, g, n, DROP_IP_TOT_LEN));
	memcpy(g, f, n);
	h[11] ^= 0x10;
	CHECK(dropped_as(&t, g, n, DROP_IP_CSUM));
	CHECK_EQ(t.s.core.mib[MIB_IpExtInCsumErrors], 1);
	CHECK_EQ(t.s.core.mib[MIB_IpInHdrErrors], 5);
	CHECK_EQ(t.s.core.mib[MIB_IpInReceives], 6);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_stack_ipv4_addresses)
{
	struct test_net t;
	uint8_t f[128];
	tn_init_peer(&t);
	static const char *const martians[] = { "127.0.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1",
						"255.255.255.255", "10.0.0.1", "10.0.0.255" };
	for (size_t i = 0; i < sizeof(martians) / sizeof(martians[0]); i++) {
		size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip(martians[i]), ip("10.0.0.1"),
					   ICMP_ECHO, 1, 1, 8);
		CHECK(dropped_as(&t, f, n, DROP_IP_MARTIAN_SRC));
	}
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.9"),
				   ICMP_ECHO, 1, 1, 8);
	CHECK(dropped_as(&t, f, n, DROP_IP_NOT_FOR_US));    /* we never forward */
	n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("8.8.8.8"), ICMP_ECHO, 1, 1, 8);
	CHECK(dropped_as(&t, f, n, DROP_IP_NOT_FOR_US));
	n = frame_icmp_echo(f, eth_broadcast, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), ICMP_ECHO, 1, 1, 8);
	CHECK(dropped_as(&t, f, n, DROP_IP_L2_BCAST_UNICAST));      /* RFC 1122 §3.3.6 */
	CHECK_EQ(t.s.core.mib[MIB_IpInAddrErrors], 10);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_stack_fragments_and_options)
{
	struct test_net t;
	uint8_t f[256];
	tn_init_peer(&t);
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 1, 1, 8);
	f[ETH_HLEN + 6] = 0x20;                 /* MF: a first fragment */
	fix_ip_csum(f);
	uint64_t drops = total_drops(&t.s);
	fake_netdev_rx(&t.f, &t.s, f, n);       /* held for its datagram: no drop, no reply */
	f[ETH_HLEN + 6] = 0x00;
	f[ETH_HLEN + 7] = 0x10;                 /* offset 128: a last one, leaving a hole */
	fix_ip_csum(f);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(total_drops(&t.s), drops);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmReqds], 2);
	/* The hole never fills: after ipfrag_time the datagram goes, and since its first
	 * piece came, the sender hears ICMP time exceeded, code 1 (RFC 792). */
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	struct frame fr;
	static uint8_t buf[2048];
	int seen = 0;                           /* (the second gratuitous ARP goes out too) */
	while (tn_next(&t, &fr, buf))
		seen += fr.is_icmp && fr.icmp.type == ICMP_TIME_EXCEEDED && fr.icmp.code == 1 &&
			fr.ip.dst == ip("10.0.0.2");
	CHECK_EQ(seen, 1);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 1);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmFails], 1);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_TIMEOUT], 1);
	/* A stack given no reassembly buffers drops every fragment, counted. */
	struct pkt_pool *pool = t.s.ip.reasm.pool;
	t.s.ip.reasm.pool = NULL;
	CHECK(dropped_as(&t, f, n, DROP_IP_FRAGMENT));
	t.s.ip.reasm.pool = pool;
	/* Harmless options are skipped: the echo is answered. */
	static const uint8_t nops[] = { 1, 1, 1, 0 };
	n = echo_with_options(f, &t, nops, 4);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.f.wire.len, 1);
	fake_netdev_drop_all(&t.f);
	static const uint8_t lsrr[] = { 1, 0x83, 7, 4, 10, 0, 0, 9 };
	n = echo_with_options(f, &t, lsrr, 8);
	CHECK(dropped_as(&t, f, n, DROP_IP_SRCROUTE));
	static const uint8_t bad[] = { 1, 7, 0, 0 };       /* zero-length option */
	n = echo_with_options(f, &t, bad, 4);
	CHECK(dropped_as(&t, f, n, DROP_IP_BAD_OPTIONS));
	static const uint8_t overrun[] = { 7, 12, 4, 0 };
	n = echo_with_options(f, &t, overrun, 4);
	CHECK(dropped_as(&t, f, n, DROP_IP_BAD_OPTIONS));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_stack_two_stacks_one_process)
{
	/* No hidden globals: two stacks with the same addresses do not see each other. */
	struct test_net a, b;
	uint8_t f[128];
	tn_init(&a, 1, "10.0.0.1/24", NULL, 0);
	tn_init(&b, 1, "10.0.0.1/24", NULL, 0);
	size_t n = frame_udp(f, a.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 1, 9, "x", 1);
	fake_netdev_rx(&a.f, &a.s, f, n);
	CHECK_EQ(a.s.core.mib[MIB_UdpNoPorts], 1);
	CHECK_EQ(b.s.core.mib[MIB_UdpNoPorts], 0);
	CHECK_EQ(b.s.core.mib[MIB_IpInReceives], 0);
	CHECK_EQ(tn_fini(&a), 0);
	CHECK_EQ(tn_fini(&b), 0);
}

struct proto_log {
	int inputs, errors;
	uint8_t err_type, err_code;
	size_t quoted;
};

static void proto_in(void *ctx, struct pkt *p, const struct ipv4_rx *rx)
{
	struct proto_log *l = ctx;
	(void)rx;
	l->inputs++;
	pkt_free(p);
}

static void proto_err(void *ctx, uint8_t type, uint8_t code, uint16_t mtu,
		      const uint8_t *quoted, size_t len)
{
	struct proto_log *l = ctx;
	(void)mtu;
	(void)quoted;
	l->errors++;
	l->err_type = type;
	l->err_code = code;
	l->quoted = len;
}

TEST(net_stack_registered_protocol)
{
	struct test_net t;
	struct proto_log l = { 0 };
	uint8_t f[256], icmp[128];
	tn_init_peer(&t);
	CHECK_EQ(ipv4_register_proto(&t.s.ip, IPV4_PROTO_UDP, 0, proto_in, NULL, &l), -NET_EEXIST);
	CHECK_EQ(ipv4_register_proto(&t.s.ip, 0, 0, proto_in, NULL, &l), -NET_EEXIST);
	REQUIRE(ipv4_register_proto(&t.s.ip, IPV4_PROTO_TCP, 0, proto_in, proto_err, &l) == 0);
	CHECK_EQ(ipv4_register_proto(&t.s.ip, IPV4_PROTO_TCP, 0, proto_in, proto_err, &l), -NET_EEXIST);
	size_t n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), IPV4_PROTO_TCP,
			      "0123456789abcdefghij", 20);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.inputs, 1);
	CHECK_EQ(t.s.core.mib[MIB_IpInDelivers], 1);
	/* Protocol 0 is not "a free slot": it is unknown, answered with protocol unreachable. */
	n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 0, "abcdefgh", 8);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.inputs, 1);
	CHECK_EQ(t.s.core.drops[DROP_IP_UNKNOWN_PROTO], 1);
	CHECK_EQ(t.f.wire.len, 1);
	fake_netdev_drop_all(&t.f);
	/* An ICMP error quoting one of our TCP segments reaches the protocol. */
	struct ipv4_hdr q = { .tot_len = 40, .ttl = 64, .proto = IPV4_PROTO_TCP, .src = ip("10.0.0.1"),
			      .dst = ip("192.0.2.9") };
	memset(icmp, 0, sizeof(icmp));
	ipv4_emit(&q, icmp + 8);
	struct icmp_hdr h = { .type = ICMP_DEST_UNREACH, .code = ICMP_FRAG_NEEDED, .seq = 1400 };
	icmp_emit(&h, icmp, 8 + 28);
	n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), IPV4_PROTO_ICMP, icmp, 36);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.errors, 1);
	CHECK_EQ(l.err_code, ICMP_FRAG_NEEDED);
	CHECK_EQ(l.quoted, 28);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A link that comes back may be on another segment: the stack announces its address
 * again (RFC 5227 §2.3 gratuitous ARPs) and counts the change. */
TEST(net_stack_link_return_announces)
{
	struct test_net t;
	struct frame fr;
	static uint8_t buf[2048];
	tn_init_peer(&t);
	tn_advance(&t, 3 * NET_NS_PER_SEC);            /* the start-up announcements */
	fake_netdev_drop_all(&t.f);
	t.f.link = 0;
	tn_advance(&t, NET_NS_PER_SEC);
	CHECK_EQ(t.s.link.ifs[0].link_up, 0);
	fake_netdev_drop_all(&t.f);
	t.f.link = 1;
	int garps = 0;
	for (int i = 0; i < 4; i++) {
		tn_advance(&t, NET_NS_PER_SEC);
		while (tn_next(&t, &fr, buf))
			garps += fr.is_arp && fr.arp.op == ARP_OP_REQUEST &&
				 fr.arp.spa == ip("10.0.0.1") && fr.arp.tpa == ip("10.0.0.1");
	}
	CHECK_EQ(garps, ARP_ANNOUNCE_NUM);
	CHECK_EQ(t.s.link.ifs[0].link_up, 1);
	CHECK_EQ(t.s.link.ifs[0].link_changes, 2);
	CHECK_EQ(tn_fini(&t), 0);
}

/* The kernel sleeps until net_next_wake() instead of the next tick: without TCP there is
 * nothing finer than the tick; with it, the earliest of TCP's lower bounds (any timer of
 * a TCB, the TIME-WAIT FIFO's head, the object caches' trim). */
TEST(net_next_wake_is_tcps_earliest_bound)
{
	struct test_net a, b;
	tn_init(&a, 1, "10.0.0.1/24", NULL, 0);
	CHECK_EQ(net_next_wake(&a.s), UINT64_MAX);
	CHECK_EQ(tn_fini(&a), 0);

	tn_init_tcp(&b, 2, "10.0.0.2/24");
	struct tcp_stack *t = &b.s.tcp;
	t->timer_lb = 5000, t->tw_due = 7000, t->cache_trim_at = 9000;
	CHECK_EQ(net_next_wake(&b.s), 5000);
	t->tw_due = 3000;
	CHECK_EQ(net_next_wake(&b.s), 3000);
	t->cache_trim_at = 1000;
	CHECK_EQ(net_next_wake(&b.s), 1000);
	t->timer_lb = t->tw_due = t->cache_trim_at = UINT64_MAX;
	CHECK_EQ(net_next_wake(&b.s), UINT64_MAX);
	CHECK_EQ(tn_fini(&b), 0);
}
