/* Hostile review of IPv4 reassembly (net/ipv4_frag.c, net/ipv4.c): each test attacks one
 * suspicion. A failing test here is a defect left for the lead to fix; a passing one is a
 * suspicion disproved, kept as a guard. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include <string.h>

#define PEER "10.0.0.2"
#define US "10.0.0.1"

static uint8_t l4[70000];

/* One fragment of l4[off, off+len): IP header of hdr_len bytes (options are NOPs, then
 * EOL), to dst, in an Ethernet frame to dmac. */
static void raw_piece(struct test_net *t, const uint8_t *dmac, uint32_t dst, size_t hdr_len,
		      uint16_t id, uint8_t proto, size_t off, size_t len, int more)
{
	static uint8_t f[2048];
	memcpy(f, dmac, 6);
	memcpy(f + 6, test_mac(2), 6);
	f[12] = 0x08;
	f[13] = 0x00;
	uint8_t *h = f + ETH_HLEN;
	struct ipv4_hdr ih = { .tot_len = (uint16_t)(hdr_len + len), .id = id, .ttl = 64,
			       .frag = (uint16_t)(off / 8 | (more ? IPV4_MF : 0)), .proto = proto,
			       .src = ip(PEER), .dst = dst };
	ipv4_emit(&ih, h);
	if (hdr_len > IPV4_HDR_MIN) {
		h[0] = (uint8_t)(0x40 | hdr_len / 4);
		memset(h + IPV4_HDR_MIN, 1, hdr_len - IPV4_HDR_MIN);   /* NOP */
		h[hdr_len - 1] = 0;                                     /* EOL */
		wire_put16(h + 10, 0);
		wire_put16(h + 10, inet_csum(h, hdr_len));
	}
	memcpy(h + hdr_len, l4 + off, len);
	fake_netdev_rx(&t->f, &t->s, f, ETH_HLEN + hdr_len + len);
}

static size_t echo_l4(size_t datalen)
{
	for (size_t i = 0; i < datalen; i++)
		l4[ICMP_HDR_LEN + i] = (uint8_t)(i * 7 + 1);
	struct icmp_hdr h = { .type = ICMP_ECHO, .id = 0x77, .seq = 1 };
	icmp_emit(&h, l4, ICMP_HDR_LEN + datalen);
	return ICMP_HDR_LEN + datalen;
}

static int pool_full(const struct test_net *t)
{
	return t->reasm.stats.free == t->reasm.nslots;
}

/* Ping of death through a header-length mismatch: piece_check() bounds each piece with
 * its OWN header length (20), but complete() puts the FIRST piece's header (60 bytes,
 * with options) in front, so 60 + 65515 = 65575 bytes are accepted (RFC 791: total
 * length <= 65535) and the rewritten total length wraps to 39. Expect: the datagram is
 * refused as too big, nothing is answered. */
TEST(review_frag_pod_first_piece_with_options)
{
	struct test_net t;
	tn_init_peer(&t);
	size_t total = echo_l4(65515 - ICMP_HDR_LEN);
	raw_piece(&t, t.f.dev.mac, ip(US), 60, 0x4242, IPV4_PROTO_ICMP, 0, 1480, 1);
	for (size_t off = 1480; off < total; off += 1480) {
		size_t len = total - off < 1480 ? total - off : 1480;
		raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x4242, IPV4_PROTO_ICMP, off, len,
			  off + len < total);
	}
	CHECK_EQ(t.s.core.mib[MIB_IpReasmOKs], 0);
	CHECK(t.s.core.drops[DROP_IP_FRAG_TOO_BIG] >= 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutEchoReps], 0);
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* The same datagram with the optioned first piece arriving LAST (the end is already
 * known when the header that makes it too long shows up). */
TEST(review_frag_pod_first_piece_with_options_last)
{
	struct test_net t;
	tn_init_peer(&t);
	size_t total = echo_l4(65515 - ICMP_HDR_LEN);
	for (size_t off = 1480; off < total; off += 1480) {
		size_t len = total - off < 1480 ? total - off : 1480;
		raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x4343, IPV4_PROTO_ICMP, off, len,
			  off + len < total);
	}
	raw_piece(&t, t.f.dev.mac, ip(US), 60, 0x4343, IPV4_PROTO_ICMP, 0, 1480, 1);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmOKs], 0);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutEchoReps], 0);
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* A legal datagram whose first piece carries options: 60 + 65475 = 65535 exactly must
 * still be reassembled (guards the fix above against refusing too much). */
TEST(review_frag_options_first_piece_at_the_limit)
{
	struct test_net t;
	tn_init_peer(&t);
	size_t total = echo_l4(65475 - ICMP_HDR_LEN);
	raw_piece(&t, t.f.dev.mac, ip(US), 60, 0x4444, IPV4_PROTO_ICMP, 0, 1480, 1);
	for (size_t off = 1480; off < total; off += 1480) {
		size_t len = total - off < 1480 ? total - off : 1480;
		raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x4444, IPV4_PROTO_ICMP, off, len,
			  off + len < total);
	}
	CHECK_EQ(t.s.core.mib[MIB_IpReasmOKs], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutEchoReps], 1);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* RFC 1122 §3.2.2: no ICMP error about a datagram sent to a broadcast address. The
 * first piece of a datagram to the subnet broadcast (accepted: UDP takes broadcasts)
 * that never completes must time out silently; report_timeout() builds its rx with
 * ip_bcast = 0, so error_allowed() lets a time exceeded out, from the broadcast
 * address as its source (icmp_send_error uses rx->ip.dst). */
TEST(review_frag_timeout_of_broadcast_datagram_is_silent)
{
	static const uint8_t bmac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct test_net t;
	tn_init_peer(&t);
	memset(l4, 0x5a, 3000);
	struct udp_hdr uh = { .sport = 7000, .dport = 7001, .len = 3000 };
	udp_emit(&uh, l4, ip(PEER), ip("10.0.0.255"));
	raw_piece(&t, bmac, ip("10.0.0.255"), IPV4_HDR_MIN, 0x5151, IPV4_PROTO_UDP, 0, 1480, 1);
	raw_piece(&t, bmac, ip("255.255.255.255"), IPV4_HDR_MIN, 0x5252, IPV4_PROTO_UDP, 0, 1480, 1);
	tn_advance(&t, 2 * NET_NS_PER_SEC);
	fake_netdev_drop_all(&t.f);                              /* gratuitous ARPs */
	uint64_t before = t.s.core.mib[MIB_IcmpOutMsgs];
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 2);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], before);
	struct frame fr;
	static uint8_t buf[2048];
	while (tn_next(&t, &fr, buf)) {
		CHECK(!fr.is_icmp);
		if (fr.is_ip)
			CHECK(fr.ip.src == ip(US));     /* never a broadcast source */
	}
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved): a device's PKT_F_CSUM_OK on the pieces must not vouch for the
 * reassembled datagram (the device saw only fragments). complete() hands up the fresh
 * reassembly buffer, whose flags pkt_alloc() cleared, so UDP verifies the sum. */
static void on_udp(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	(void)info;
	(void)data;
	*(size_t *)ctx += len;
}

TEST(review_frag_reassembled_udp_checksum_always_verified)
{
	struct test_net t;
	size_t got = 0;
	tn_init_peer(&t);
	t.f.rx_flags = PKT_F_CSUM_OK;
	REQUIRE(udp_bind(&t.s.udp, 5000, on_udp, &got) == 5000);
	memset(l4, 0x33, 3000);
	struct udp_hdr uh = { .sport = 6000, .dport = 5000, .len = 3000 };
	udp_emit(&uh, l4, ip(PEER), ip(US));
	l4[2000] ^= 0xff;                                       /* corrupt in flight */
	raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x6161, IPV4_PROTO_UDP, 0, 1480, 1);
	raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x6161, IPV4_PROTO_UDP, 1480, 1520, 0);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmOKs], 1);
	CHECK_EQ(got, 0);
	CHECK_EQ(t.s.core.mib[MIB_UdpInCsumErrors], 1);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved): a fragment with a 60-byte header whose payload ends at 65475 is the
 * largest legal one; 8 bytes more is refused even with no datagram yet (piece_check uses
 * the piece's own header length). */
TEST(review_frag_optioned_piece_bounded_by_its_own_header)
{
	struct test_net t;
	tn_init_peer(&t);
	memset(l4, 0, sizeof(l4));
	raw_piece(&t, t.f.dev.mac, ip(US), 60, 0x7171, IPV4_PROTO_ICMP, 65472, 16, 0);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_TOO_BIG], 1);
	raw_piece(&t, t.f.dev.mac, ip(US), 60, 0x7172, IPV4_PROTO_ICMP, 65464, 11, 0);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_TOO_BIG], 1);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* bootstrap() (ipv4.c step 5, while DHCP waits for a lease) reads the UDP destination
 * port at the start of the IP payload of ANY datagram, including a non-initial
 * fragment, whose payload bytes there are data, not a UDP header. A piece of a
 * datagram for another host is then "ours" and takes a reassembly slot (and buffer)
 * because its data happens to hold 0x0044 at bytes 2-3. Expect: a non-initial fragment
 * to a foreign unicast address is dropped as not for us (DROP_IP_NOT_FOR_US). */
TEST(review_frag_bootstrap_port_read_from_fragment_data)
{
	struct test_net t;
	tn_init(&t, 1, NULL, NULL, 1);
	tn_advance(&t, 0);
	REQUIRE(t.s.ip.bootstrap_port[0] == DHCP_CLIENT_PORT);
	fake_netdev_drop_all(&t.f);
	memset(l4, 0, 2000);
	wire_put16(l4 + 1480 + 2, DHCP_CLIENT_PORT);    /* data that looks like a dport */
	uint64_t not_for_us = t.s.core.drops[DROP_IP_NOT_FOR_US];
	raw_piece(&t, t.f.dev.mac, ip("10.9.9.9"), IPV4_HDR_MIN, 0x8181, IPV4_PROTO_UDP, 1480, 16, 1);
	CHECK_EQ(t.s.core.drops[DROP_IP_NOT_FOR_US], not_for_us + 1);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmReqds], 0);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* Lock-out: a small fragmented echo request is answered IN PLACE (icmp.c echo_request),
 * and when the reply fits the MTU the reassembly buffer itself goes to the qdisc and
 * the TX ring, where it stays until the device completes it. With the ring full (a
 * stalled or down link, TX backpressure), IPV4_REASM_MAX tiny fragmented pings pin
 * every reassembly buffer, and no other datagram can be reassembled: the pool meant
 * for datagrams in progress holds finished replies. Expect a clean fragmented UDP
 * datagram to be delivered while those replies wait. */
TEST(review_frag_echo_replies_pin_reassembly_buffers)
{
	struct test_net t;
	size_t got = 0;
	tn_init_peer(&t);
	REQUIRE(udp_bind(&t.s.udp, 5000, on_udp, &got) == 5000);
	t.f.ring_size = 1;                                      /* never completed below */
	for (int i = 0; i < IPV4_REASM_MAX; i++) {
		echo_l4(16);                                    /* 24 bytes: pieces 16 + 8 */
		raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, (uint16_t)(0x9000 + i), IPV4_PROTO_ICMP,
			  0, 16, 1);
		raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, (uint16_t)(0x9000 + i), IPV4_PROTO_ICMP,
			  16, 8, 0);
	}
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutEchoReps], IPV4_REASM_MAX);
	memset(l4, 0x33, 3000);
	struct udp_hdr uh = { .sport = 6000, .dport = 5000, .len = 3000 };
	udp_emit(&uh, l4, ip(PEER), ip(US));
	raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x9999, IPV4_PROTO_UDP, 0, 1480, 1);
	raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0x9999, IPV4_PROTO_UDP, 1480, 1520, 0);
	CHECK_EQ(got, 3000 - UDP_HDR_LEN);
	t.f.ring_size = 0;                                      /* the link drains */
	fake_netdev_complete(&t.f, t.f.in_flight);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, 0);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved): the time exceeded of a reassembly timeout goes through the same
 * RFC 1122 §3.2.2 rules as every error: none about an ICMP error (the quoted first 8
 * bytes say which type it was). */
TEST(review_frag_timeout_of_icmp_error_is_silent)
{
	struct test_net t;
	tn_init_peer(&t);
	memset(l4, 0, 3000);
	struct icmp_hdr h = { .type = ICMP_DEST_UNREACH, .code = ICMP_PORT_UNREACH };
	icmp_emit(&h, l4, 3000);
	raw_piece(&t, t.f.dev.mac, ip(US), IPV4_HDR_MIN, 0xa1a1, IPV4_PROTO_ICMP, 0, 1480, 1);
	tn_advance(&t, 2 * NET_NS_PER_SEC);
	fake_netdev_drop_all(&t.f);
	uint64_t before = t.s.core.mib[MIB_IcmpOutMsgs];
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], before);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}
