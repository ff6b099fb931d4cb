/*
 * ICMP: echo replies carry all data at every size up to the MTU; padding is trimmed;
 * errors follow RFC 1122 §3.2.2 (never about errors, broadcasts, non-initial fragments
 * or invalid sources), quote no more than was received and are rate limited.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/ipv4.h"

#define SEC NET_NS_PER_SEC

static void rx_echo(struct test_net *t, const char *dst, uint16_t seq, size_t datalen)
{
	static uint8_t f[4096];
	size_t n = frame_icmp_echo(f, t->f.dev.mac, test_mac(2), ip("10.0.0.2"), ip(dst), ICMP_ECHO,
				   0x77, seq, datalen);
	fake_netdev_rx(&t->f, &t->s, f, n);
}

TEST(net_icmp_echo_reply_all_sizes)
{
	struct test_net t;
	struct frame fr;
	static uint8_t buf[4096];
	static const size_t sizes[] = { 0, 1, 56, 1000, 1472 };
	tn_init_peer(&t);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		rx_echo(&t, "10.0.0.1", (uint16_t)i, sizes[i]);
		REQUIRE(tn_next(&t, &fr, buf));
		CHECK(fr.is_icmp && fr.icmp.type == ICMP_ECHO_REPLY && fr.icmp.code == 0);
		CHECK_EQ(fr.icmp.id, 0x77);
		CHECK_EQ(fr.icmp.seq, i);
		CHECK_EQ(fr.l4len, sizes[i]);
		int same = 1;
		for (size_t k = 0; k < sizes[i]; k++)
			same &= fr.l4[k] == (uint8_t)(k * 7 + 3);
		CHECK(same);
		CHECK_EQ(fr.ip.src, ip("10.0.0.1"));
		CHECK_EQ(fr.ip.dst, ip("10.0.0.2"));
		CHECK_EQ(fr.ip.ttl, 64);
		CHECK_MEM(fr.eth.dst, test_mac(2), 6);
	}
	CHECK_EQ(t.s.core.mib[MIB_IcmpInEchos], 5);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutEchoReps], 5);
	/* One byte more than the MTU allows for the reply: it leaves in two fragments
	 * (RFC 791 §2.3; DF is not set on echo replies), 1480 + 1 data bytes. */
	rx_echo(&t, "10.0.0.1", 9, 1473);
	CHECK_EQ(t.f.wire.len, 2);
	struct pkt *one = fake_netdev_pop(&t.f), *two = fake_netdev_pop(&t.f);
	REQUIRE(one && two);
	struct ipv4_hdr h1, h2;
	REQUIRE(ipv4_check(pkt_data(one) + ETH_HLEN, one->len - ETH_HLEN) == WIRE_OK);
	REQUIRE(ipv4_check(pkt_data(two) + ETH_HLEN, two->len - ETH_HLEN) == WIRE_OK);
	ipv4_parse(pkt_data(one) + ETH_HLEN, &h1);
	ipv4_parse(pkt_data(two) + ETH_HLEN, &h2);
	CHECK_EQ(h1.tot_len, 1500);
	CHECK_EQ(h1.frag, IPV4_MF);
	CHECK_EQ(h2.tot_len, 20 + 1);
	CHECK_EQ(h2.frag, 1480 / 8);
	CHECK_EQ(h2.id, h1.id);
	CHECK_EQ(pkt_data(two)[ETH_HLEN + 20], (uint8_t)(1472 * 7 + 3));  /* the last data byte */
	pkt_free(one);
	pkt_free(two);
	CHECK_EQ(t.s.core.mib[MIB_IpFragOKs], 1);
	CHECK_EQ(t.s.core.mib[MIB_IpFragCreates], 2);
	CHECK_EQ(t.s.core.drops[DROP_IP_TOO_BIG], 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_icmp_echo_padding_trimmed)
{
	struct test_net t;
	struct frame fr;
	uint8_t f[64], buf[2048];
	tn_init_peer(&t);
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 1, 1, 4);
	REQUIRE(n == 46);
	memset(f + n, 0xa5, ETH_ZLEN - n);      /* padding that would break the checksum */
	fake_netdev_rx(&t.f, &t.s, f, ETH_ZLEN);
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_icmp && fr.icmp.type == ICMP_ECHO_REPLY);
	CHECK_EQ(fr.ip.tot_len, 32);
	CHECK_EQ(fr.l4len, 4);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_icmp_echo_ignored_or_bad)
{
	struct test_net t;
	uint8_t f[128];
	tn_init_peer(&t);
	rx_echo(&t, "10.0.0.255", 1, 8);        /* subnet broadcast */
	rx_echo(&t, "255.255.255.255", 2, 8);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(t.s.core.drops[DROP_ICMP_BCAST_ECHO], 2);
	size_t n = frame_icmp_echo(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 1, 1, 8);
	f[n - 1] ^= 0xff;                       /* ICMP checksum now wrong */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInErrors], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInCsumErrors], 1);
	CHECK_EQ(t.s.core.drops[DROP_ICMP_CSUM], 1);
	uint8_t tiny[4] = { 8, 0, 0xf7, 0xff };
	n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), IPV4_PROTO_ICMP, tiny, 4);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_ICMP_TRUNCATED], 1);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(tn_fini(&t), 0);
}

static void rx_udp_from(struct test_net *t, uint32_t src, const char *dst, uint16_t dport,
			size_t len)
{
	static uint8_t f[4096], data[2048];
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)i;
	size_t n = frame_udp(f, t->f.dev.mac, test_mac(2), src, ip(dst), 5555, dport, data, len);
	fake_netdev_rx(&t->f, &t->s, f, n);
}

static void rx_udp(struct test_net *t, const uint8_t *dmac, const char *dst, uint16_t dport, size_t len)
{
	static uint8_t f[4096], data[2048];
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)i;
	size_t n = frame_udp(f, dmac, test_mac(2), ip("10.0.0.2"), ip(dst), 5555, dport, data, len);
	fake_netdev_rx(&t->f, &t->s, f, n);
}

TEST(net_icmp_port_unreachable_quotes_exactly)
{
	struct test_net t;
	struct frame fr;
	static uint8_t buf[4096];
	tn_init_peer(&t);
	rx_udp(&t, t.f.dev.mac, "10.0.0.1", 9999, 12);
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_icmp && fr.icmp.type == ICMP_DEST_UNREACH && fr.icmp.code == ICMP_PORT_UNREACH);
	CHECK_EQ(fr.ip.dst, ip("10.0.0.2"));
	CHECK_EQ(fr.ip.src, ip("10.0.0.1"));
	/* The quote is the whole datagram as received: 20 + 8 + 12 bytes, nothing more. */
	REQUIRE(fr.l4len == 40);
	struct ipv4_hdr q;
	REQUIRE(ipv4_check(fr.l4, fr.l4len) == WIRE_OK);
	ipv4_parse(fr.l4, &q);
	CHECK_EQ(q.src, ip("10.0.0.2"));
	CHECK_EQ(q.proto, IPV4_PROTO_UDP);
	CHECK_EQ(fr.l4[20 + 2] << 8 | fr.l4[20 + 3], 9999);
	CHECK_EQ(t.s.core.mib[MIB_UdpNoPorts], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutDestUnreachs], 1);
	/* A big datagram is quoted only up to 576 bytes of error. */
	rx_udp(&t, t.f.dev.mac, "10.0.0.1", 9999, 1000);
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK_EQ(fr.ip.tot_len, 576);
	CHECK_EQ(fr.l4len, 548);
	/* Broadcast to a closed port: silence. */
	rx_udp(&t, eth_broadcast, "10.0.0.255", 9999, 4);
	rx_udp(&t, eth_broadcast, "255.255.255.255", 9999, 4);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(t.s.core.mib[MIB_UdpIgnoredMulti], 2);
	CHECK_EQ(t.s.core.drops[DROP_UDP_NO_PORT], 4);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_icmp_protocol_unreachable)
{
	struct test_net t;
	struct frame fr;
	uint8_t f[128], buf[2048];
	tn_init_peer(&t);
	size_t n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 99,
			      "abcdefgh", 8);
	fake_netdev_rx(&t.f, &t.s, f, n);
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.icmp.type == ICMP_DEST_UNREACH && fr.icmp.code == ICMP_PROT_UNREACH);
	CHECK_EQ(t.s.core.mib[MIB_IpInUnknownProtos], 1);
	CHECK_EQ(t.s.core.drops[DROP_IP_UNKNOWN_PROTO], 1);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Calls icmp_send_error for a datagram (IP header + l4) with the given rx facts. */
static int try_error(struct test_net *t, uint32_t src, uint32_t dst, uint8_t proto,
		     const uint8_t *l4, size_t l4len, uint16_t frag, int l2_bcast)
{
	uint8_t d[256];
	struct ipv4_rx rx = { .ifi = 0, .l2_bcast = (uint8_t)l2_bcast };
	struct ipv4_hdr h = { .tot_len = (uint16_t)(20 + l4len), .frag = frag, .ttl = 64,
			      .proto = proto, .src = src, .dst = dst };
	ipv4_emit(&h, d);
	memcpy(d + 20, l4, l4len);
	ipv4_parse(d, &rx.ip);
	rx.ip_bcast = (uint8_t)ipv4_is_bcast(&t->s.ip, 0, dst);
	size_t before = t->f.wire.len;
	icmp_send_error(&t->s.icmp, d, 20 + l4len, &rx, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
	return (int)(t->f.wire.len - before);
}

TEST(net_icmp_error_rules)
{
	struct test_net t;
	tn_init_peer(&t);
	uint32_t peer = ip("10.0.0.2"), us = ip("10.0.0.1");
	static const uint8_t udp8[8] = { 0x15, 0xb3, 0x27, 0x0f, 0, 8, 0, 0 };
	static const uint8_t echo[8] = { ICMP_ECHO, 0, 0, 0, 0, 1, 0, 1 };
	static const uint8_t unreach[8] = { ICMP_DEST_UNREACH, 3, 0, 0, 0, 0, 0, 0 };
	static const uint8_t redirect[8] = { ICMP_REDIRECT, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t weird[8] = { 42, 0, 0, 0, 0, 0, 0, 0 };
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_UDP, udp8, 8, 0, 0), 1);        /* baseline */
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_ICMP, echo, 8, 0, 0), 1);       /* about a query: fine */
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_ICMP, unreach, 8, 0, 0), 0);    /* about an error */
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_ICMP, redirect, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_ICMP, weird, 8, 0, 0), 0);      /* unknown type */
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_ICMP, echo, 0, 0, 0), 0);       /* type unknown */
	CHECK_EQ(try_error(&t, peer, ip("10.0.0.255"), IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, peer, ip("255.255.255.255"), IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, peer, ip("224.0.0.251"), IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_UDP, udp8, 8, 0, 1), 0);        /* L2 broadcast */
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_UDP, udp8, 8, 100, 0), 0);      /* offset 800 */
	CHECK_EQ(try_error(&t, peer, us, IPV4_PROTO_UDP, udp8, 8, IPV4_MF, 0), 1);  /* first fragment ok */
	CHECK_EQ(try_error(&t, 0, us, IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);           /* invalid sources */
	CHECK_EQ(try_error(&t, ip("127.0.0.1"), us, IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, ip("10.0.0.255"), us, IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, ip("239.1.1.1"), us, IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(try_error(&t, us, us, IPV4_PROTO_UDP, udp8, 8, 0, 0), 0);
	CHECK_EQ(tn_fini(&t), 0);
}

/* The global bucket, seen from many sources (each within its own per-host budget). */
TEST(net_icmp_error_rate_limit)
{
	struct test_net t;
	tn_init_peer(&t);
	for (int i = 0; i < ICMP_BURST + 10; i++)
		rx_udp_from(&t, ip("10.0.0.100") + (uint32_t)(i % 20), "10.0.0.1", 9999, 4);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_BURST);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutRateLimitGlobal], 10);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutRateLimitHost], 0);
	CHECK_EQ(t.s.core.mib[MIB_UdpNoPorts], ICMP_BURST + 10);
	fake_netdev_drop_all(&t.f);
	/* 1000/s: 10 ms buys 10 more. */
	tn_advance(&t, 10 * NET_NS_PER_MS);
	for (int i = 0; i < 20; i++)
		rx_udp_from(&t, ip("10.0.0.150") + (uint32_t)i, "10.0.0.1", 9999, 4);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_BURST + 10);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* One source draws ICMP_PEER_BURST errors, then one a second; another source is not
 * starved by it (Linux icmp_ratelimit). */
TEST(net_icmp_error_rate_limit_per_host)
{
	struct test_net t;
	tn_init_peer(&t);
	for (int i = 0; i < 40; i++)
		rx_udp(&t, t.f.dev.mac, "10.0.0.1", 9999, 4);
	CHECK_EQ(t.f.wire.len, ICMP_PEER_BURST);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutRateLimitHost], 40 - ICMP_PEER_BURST);
	fake_netdev_drop_all(&t.f);
	rx_udp_from(&t, ip("10.0.0.3"), "10.0.0.1", 9999, 4);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], ICMP_PEER_BURST + 1);
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, NET_NS_PER_SEC);
	fake_netdev_drop_all(&t.f);
	for (int i = 0; i < 5; i++)
		rx_udp(&t, t.f.dev.mac, "10.0.0.1", 9999, 4);
	CHECK_EQ(t.f.wire.len, 1);                              /* one second bought one */
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* An ICMP error sent to a broadcast address answers no datagram of ours: dropped and
 * counted before anything above (ping, TCP) hears of it (docs/review-l2l3.md L4). */
TEST(net_icmp_error_to_broadcast_dropped)
{
	struct test_net t;
	uint8_t f[256], msg[64], q[28];
	tn_init_peer(&t);
	struct ipv4_hdr qh = { .tot_len = 28, .ttl = 64, .proto = IPV4_PROTO_UDP,
			       .src = ip("10.0.0.1"), .dst = ip("10.0.0.2") };
	ipv4_emit(&qh, q);
	memset(q + 20, 0, 8);
	memcpy(msg + ICMP_HDR_LEN, q, sizeof(q));
	struct icmp_hdr h = { .type = ICMP_DEST_UNREACH, .code = ICMP_PORT_UNREACH };
	icmp_emit(&h, msg, ICMP_HDR_LEN + sizeof(q));
	size_t n = frame_ipv4(f, eth_broadcast, test_mac(2), ip("10.0.0.2"), ip("10.0.0.255"),
			      IPV4_PROTO_ICMP, msg, ICMP_HDR_LEN + sizeof(q));
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_ICMP_BCAST_ERROR], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInDestUnreachs], 1);      /* counted as received */
	CHECK_EQ(tn_fini(&t), 0);
}
