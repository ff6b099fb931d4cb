/*
 * Wire modules against golden bytes (generated independently with Python's struct and
 * an RFC 1071 checksum, cross-checked with tshark), plus every malformed and truncated
 * shape the checks must refuse.
 */
#include "tests/unit/test.h"
#include "net/eth.h"
#include "net/arp_wire.h"
#include "net/ipv4_wire.h"
#include "net/icmp_wire.h"
#include "net/udp_wire.h"
#include "net/dhcp_wire.h"
#include "net/inet.h"

static const uint8_t gold_arp_req[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x54,
	0x00, 0x12, 0x34, 0x56, 0x0a, 0x00, 0x02, 0x0f, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x0a, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gold_icmp_echo[58] = {
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x55, 0x00, 0x00, 0x02, 0x02,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x2c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01,
	0x06, 0x7b, 0x0a, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x0f, 0x08, 0x00,
	0xa2, 0x7f, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
	0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
};
static const uint8_t gold_udp[47] = {
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52, 0x55, 0x00, 0x00, 0x02, 0x02,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x21, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11,
	0x9c, 0x6d, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7, 0x04, 0xd2,
	0x00, 0x35, 0x00, 0x0d, 0x34, 0xe2, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};
static const uint8_t gold_dhcp_offer[280] = {
	0x02, 0x01, 0x06, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x80, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x0f, 0x0a, 0x00, 0x02, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
	0x35, 0x01, 0x02, 0x36, 0x04, 0x0a, 0x00, 0x02, 0x02, 0x33, 0x04, 0x00,
	0x01, 0x51, 0x80, 0x01, 0x04, 0xff, 0xff, 0xff, 0x00, 0x03, 0x04, 0x0a,
	0x00, 0x02, 0x02, 0x06, 0x08, 0x0a, 0x00, 0x02, 0x03, 0x08, 0x08, 0x08,
	0x08, 0x00, 0x00, 0xff,
};
static const uint8_t gold_dhcp_discover[300] = {
	0x01, 0x01, 0x06, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x03, 0x80, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x82, 0x53, 0x63,
	0x35, 0x01, 0x01, 0x3d, 0x07, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
	0x39, 0x02, 0x05, 0xdc, 0x0c, 0x05, 0x73, 0x6b, 0x69, 0x66, 0x66, 0x37,
	0x07, 0x01, 0x03, 0x06, 0x0c, 0x33, 0x3a, 0x3b, 0xff, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t mac_a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_b[6] = { 0x52, 0x55, 0x00, 0x00, 0x02, 0x02 };

/* ---- inet --------------------------------------------------------------------------- */

TEST(net_inet_csum_rfc1071)
{
	/* RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d. */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	CHECK_EQ(inet_csum_add(0, b, sizeof(b)), 0xddf2);
	CHECK_EQ(inet_csum(b, sizeof(b)), 0x220d);
	/* Odd length: the last byte is the high half of a padded word. */
	static const uint8_t o[] = { 0x12, 0x34, 0x56 };
	CHECK_EQ(inet_csum_add(0, o, 3), 0x1234 + 0x5600);
	CHECK_EQ(inet_csum(NULL, 0), 0xffff);
}

TEST(net_inet_parse_format)
{
	uint32_t a;
	int n;
	char buf[INET_ADDRSTRLEN];
	CHECK(inet_parse("10.0.2.15", &a) == 0 && a == INET_ADDR(10, 0, 2, 15));
	CHECK_STR(inet_fmt(buf, INET_ADDR(192, 168, 100, 254)), "192.168.100.254");
	CHECK(inet_parse("256.0.0.1", &a) < 0);
	CHECK(inet_parse("1.2.3", &a) < 0);
	CHECK(inet_parse("1.2.3.4.5", &a) < 0);
	CHECK(inet_parse("1.2.3.4 ", &a) < 0);
	CHECK(inet_parse("1..3.4", &a) < 0);
	CHECK(inet_parse("0001.2.3.4", &a) < 0);
	CHECK(inet_parse("", &a) < 0);
	CHECK(inet_parse_cidr("10.0.2.15/24", &a, &n) == 0 && n == 24 && a == INET_ADDR(10, 0, 2, 15));
	CHECK(inet_parse_cidr("10.0.2.15", &a, &n) == 0 && n == 32);
	CHECK(inet_parse_cidr("10.0.2.15/33", &a, &n) < 0);
	CHECK(inet_parse_cidr("10.0.2.15/", &a, &n) < 0);
	CHECK(inet_parse_cidr("10.0.2.15/2x", &a, &n) < 0);
	CHECK_EQ(inet_mask_len(0xffffff00), 24);
	CHECK_EQ(inet_mask_len(0), 0);
	CHECK_EQ(inet_mask_len(0xffffffff), 32);
	CHECK_EQ(inet_mask_len(0xff00ff00), -1);
	CHECK_EQ(inet_mask(0), 0);
	CHECK_EQ(inet_mask(32), 0xffffffff);
	CHECK(inet_is_martian_src(INET_ADDR(127, 0, 0, 1)));
	CHECK(inet_is_martian_src(INET_ADDR(224, 0, 0, 1)));
	CHECK(inet_is_martian_src(INET_ADDR(240, 0, 0, 1)));
	CHECK(inet_is_martian_src(0));
	CHECK(inet_is_martian_src(INET_BCAST));
	CHECK(!inet_is_martian_src(INET_ADDR(10, 0, 2, 2)));
}

/* ---- Ethernet ----------------------------------------------------------------------- */

TEST(net_eth_golden)
{
	struct eth_hdr h;
	REQUIRE(eth_check(gold_arp_req, sizeof(gold_arp_req)) == WIRE_OK);
	eth_parse(gold_arp_req, &h);
	CHECK(eth_is_broadcast(h.dst));
	CHECK_MEM(h.src, mac_a, 6);
	CHECK_EQ(h.type, ETH_P_ARP);
	uint8_t out[ETH_HLEN];
	eth_emit(&h, out);
	CHECK_MEM(out, gold_arp_req, ETH_HLEN);
	char s[ETH_MACSTRLEN];
	CHECK_STR(eth_fmt(s, mac_b, 0), "52:55:00:00:02:02");
	CHECK_STR(eth_fmt(s, (const uint8_t *)"\xab\xcd\xef\x01\x02\x03", 1), "AB:CD:EF:01:02:03");
}

TEST(net_eth_truncated)
{
	CHECK(eth_check(gold_arp_req, 13) == WIRE_TRUNCATED);
	CHECK(eth_check(gold_arp_req, 0) == WIRE_TRUNCATED);
	CHECK(eth_check(gold_arp_req, 14) == WIRE_OK);
	CHECK(eth_is_multicast((const uint8_t *)"\x01\x00\x5e\x00\x00\x01"));
	CHECK(!eth_is_broadcast((const uint8_t *)"\x01\x00\x5e\x00\x00\x01"));
}

/* ---- ARP ---------------------------------------------------------------------------- */

TEST(net_arp_golden)
{
	const uint8_t *b = gold_arp_req + ETH_HLEN;
	struct arp_pkt a;
	REQUIRE(arp_check(b, sizeof(gold_arp_req) - ETH_HLEN) == WIRE_OK);
	arp_parse(b, &a);
	CHECK_EQ(a.op, ARP_OP_REQUEST);
	CHECK_MEM(a.sha, mac_a, 6);
	CHECK_EQ(a.spa, INET_ADDR(10, 0, 2, 15));
	CHECK_EQ(a.tpa, INET_ADDR(10, 0, 2, 2));
	CHECK(eth_is_zero(a.tha));
	uint8_t out[ARP_LEN];
	arp_emit(&a, out);
	CHECK_MEM(out, b, ARP_LEN);
}

TEST(net_arp_malformed)
{
	uint8_t b[ARP_LEN];
	memcpy(b, gold_arp_req + ETH_HLEN, ARP_LEN);
	CHECK(arp_check(b, ARP_LEN - 1) == WIRE_TRUNCATED);
	b[4] = 8;                               /* hlen */
	CHECK(arp_check(b, ARP_LEN) == WIRE_BAD_FORMAT);
	b[4] = 6;
	b[5] = 16;                              /* plen */
	CHECK(arp_check(b, ARP_LEN) == WIRE_BAD_FORMAT);
	b[5] = 4;
	b[1] = 6;                               /* htype IEEE 802 */
	CHECK(arp_check(b, ARP_LEN) == WIRE_BAD_FORMAT);
	b[1] = 1;
	b[2] = 0x86;                            /* ptype IPv6 */
	CHECK(arp_check(b, ARP_LEN) == WIRE_BAD_FORMAT);
	b[2] = 0x08;
	b[7] = 3;                               /* RARP request */
	CHECK(arp_check(b, ARP_LEN) == WIRE_BAD_FORMAT);
	b[7] = 2;
	CHECK(arp_check(b, ARP_LEN) == WIRE_OK);
}

/* ---- IPv4 --------------------------------------------------------------------------- */

/* The header from RFC 1071-style worked examples (Wikipedia "IPv4 header checksum"). */
static const uint8_t wiki_ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				     0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

TEST(net_ipv4_golden)
{
	uint8_t buf[0x73] = { 0 };
	memcpy(buf, wiki_ip, 20);
	struct ipv4_hdr h;
	REQUIRE(ipv4_check(buf, sizeof(buf)) == WIRE_OK);
	ipv4_parse(buf, &h);
	CHECK_EQ(h.hdr_len, 20);
	CHECK_EQ(h.tot_len, 0x73);
	CHECK_EQ(h.frag, IPV4_DF);
	CHECK_EQ(h.ttl, 64);
	CHECK_EQ(h.proto, IPV4_PROTO_UDP);
	CHECK_EQ(h.csum, 0xb861);
	CHECK_EQ(h.src, INET_ADDR(192, 168, 0, 1));
	CHECK_EQ(h.dst, INET_ADDR(192, 168, 0, 199));
	CHECK(!ipv4_is_fragment(&h));
	uint8_t out[20];
	ipv4_emit(&h, out);
	CHECK_MEM(out, wiki_ip, 20);            /* checksum recomputed to the same value */
	/* The ICMP golden frame's header too. */
	const uint8_t *g = gold_icmp_echo + ETH_HLEN;
	REQUIRE(ipv4_check(g, sizeof(gold_icmp_echo) - ETH_HLEN) == WIRE_OK);
	ipv4_parse(g, &h);
	ipv4_emit(&h, out);
	CHECK_MEM(out, g, 20);
}

TEST(net_ipv4_malformed)
{
	uint8_t b[64] = { 0 };
	memcpy(b, wiki_ip, 20);
	b[3] = 40;                              /* tot_len 40 */
	b[10] = b[11] = 0;
	uint16_t c = inet_csum(b, 20);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
	REQUIRE(ipv4_check(b, 40) == WIRE_OK);
	CHECK(ipv4_check(b, 60) == WIRE_OK);    /* link padding beyond tot_len is fine */
	CHECK(ipv4_check(b, 19) == WIRE_TRUNCATED);
	CHECK(ipv4_check(b, 39) == WIRE_BAD_LEN);       /* total length > frame */
	uint8_t t[64];
	memcpy(t, b, 64);
	t[0] = 0x65;                            /* version 6 */
	CHECK(ipv4_check(t, 40) == WIRE_BAD_VERSION);
	memcpy(t, b, 64);
	t[0] = 0x44;                            /* IHL 4 < 5 */
	CHECK(ipv4_check(t, 40) == WIRE_BAD_HDR_LEN);
	memcpy(t, b, 64);
	t[0] = 0x4f;                            /* IHL 15 = 60 bytes > 40-byte frame */
	CHECK(ipv4_check(t, 40) == WIRE_BAD_HDR_LEN);
	memcpy(t, b, 64);
	t[0] = 0x46;                            /* IHL 6 = 24 > tot_len 20 */
	t[3] = 20;
	CHECK(ipv4_check(t, 40) == WIRE_BAD_LEN);
	memcpy(t, b, 64);
	t[8] ^= 1;                              /* TTL flipped: checksum fails */
	CHECK(ipv4_check(t, 40) == WIRE_BAD_CSUM);
}

TEST(net_ipv4_options_walk)
{
	int sr;
	static const uint8_t nop_eol[] = { 1, 1, 1, 0 };
	CHECK(ipv4_options_check(nop_eol, 4, &sr) == WIRE_OK && !sr);
	static const uint8_t rr[] = { 7, 7, 4, 0, 0, 0, 0, 1 };  /* record route + NOP */
	CHECK(ipv4_options_check(rr, 8, &sr) == WIRE_OK && !sr);
	static const uint8_t lsrr[] = { 0x83, 7, 4, 10, 0, 0, 1, 0 };
	CHECK(ipv4_options_check(lsrr, 8, &sr) == WIRE_OK && sr);
	static const uint8_t zero_len[] = { 7, 0, 0, 0 };
	CHECK(ipv4_options_check(zero_len, 4, &sr) == WIRE_BAD_OPTION);
	static const uint8_t one_len[] = { 7, 1, 0, 0 };
	CHECK(ipv4_options_check(one_len, 4, &sr) == WIRE_BAD_OPTION);
	static const uint8_t overrun[] = { 7, 9, 0, 0, 0, 0, 0, 0 };
	CHECK(ipv4_options_check(overrun, 8, &sr) == WIRE_BAD_OPTION);
	static const uint8_t no_len[] = { 1, 1, 1, 7 };
	CHECK(ipv4_options_check(no_len, 4, &sr) == WIRE_BAD_OPTION);
}

/* ---- ICMP --------------------------------------------------------------------------- */

TEST(net_icmp_golden)
{
	const uint8_t *g = gold_icmp_echo + ETH_HLEN + 20;
	size_t n = sizeof(gold_icmp_echo) - ETH_HLEN - 20;
	struct icmp_hdr h;
	REQUIRE(icmp_check(g, n) == WIRE_OK);
	icmp_parse(g, &h);
	CHECK_EQ(h.type, ICMP_ECHO);
	CHECK_EQ(h.code, 0);
	CHECK_EQ(h.id, 0x1234);
	CHECK_EQ(h.seq, 1);
	uint8_t out[64];
	memcpy(out, g, n);
	memset(out, 0xee, ICMP_HDR_LEN);
	icmp_emit(&h, out, n);
	CHECK_MEM(out, g, n);
	CHECK(icmp_is_error(ICMP_DEST_UNREACH) && icmp_is_error(ICMP_TIME_EXCEEDED));
	CHECK(!icmp_is_error(ICMP_ECHO) && !icmp_is_error(ICMP_ECHO_REPLY));
}

TEST(net_icmp_malformed)
{
	const uint8_t *g = gold_icmp_echo + ETH_HLEN + 20;
	size_t n = sizeof(gold_icmp_echo) - ETH_HLEN - 20;
	uint8_t b[64];
	memcpy(b, g, n);
	CHECK(icmp_check(b, 7) == WIRE_TRUNCATED);
	CHECK(icmp_check(b, n - 1) == WIRE_BAD_CSUM);   /* checksum covers every byte */
	b[n - 1] ^= 0x40;
	CHECK(icmp_check(b, n) == WIRE_BAD_CSUM);
}

/* ---- UDP ---------------------------------------------------------------------------- */

TEST(net_udp_golden)
{
	const uint8_t *g = gold_udp + ETH_HLEN + 20;
	size_t n = sizeof(gold_udp) - ETH_HLEN - 20;
	uint32_t src = INET_ADDR(192, 168, 0, 1), dst = INET_ADDR(192, 168, 0, 199);
	struct udp_hdr h;
	REQUIRE(udp_check(g, n, src, dst) == WIRE_OK);
	udp_parse(g, &h);
	CHECK_EQ(h.sport, 1234);
	CHECK_EQ(h.dport, 53);
	CHECK_EQ(h.len, 13);
	CHECK_MEM(g + 8, "hello", 5);
	uint8_t out[32];
	memcpy(out, g, n);
	memset(out, 0, 8);
	udp_emit(&h, out, src, dst);
	CHECK_MEM(out, g, n);
}

TEST(net_udp_malformed)
{
	const uint8_t *g = gold_udp + ETH_HLEN + 20;
	size_t n = sizeof(gold_udp) - ETH_HLEN - 20;
	uint32_t src = INET_ADDR(192, 168, 0, 1), dst = INET_ADDR(192, 168, 0, 199);
	uint8_t b[32];
	memcpy(b, g, n);
	CHECK(udp_check(b, 7, src, dst) == WIRE_TRUNCATED);
	CHECK(udp_check(b, n + 1, src, dst) == WIRE_OK);        /* IP payload longer: UDP length governs */
	CHECK(udp_check(b, n - 1, src, dst) == WIRE_BAD_LEN);   /* UDP length past payload */
	b[4] = 0;
	b[5] = 7;
	CHECK(udp_check(b, n, src, dst) == WIRE_BAD_LEN);       /* shorter than its header */
	memcpy(b, g, n);
	CHECK(udp_check(b, n, src, dst + 1) == WIRE_BAD_CSUM);  /* pseudo header covered */
	b[9] ^= 1;
	CHECK(udp_check(b, n, src, dst) == WIRE_BAD_CSUM);
	b[6] = b[7] = 0;                        /* no checksum: accepted (RFC 768) */
	CHECK(udp_check(b, n, src, dst) == WIRE_OK);
}

/* ---- DHCP --------------------------------------------------------------------------- */

TEST(net_dhcp_golden_offer)
{
	struct dhcp_msg m;
	REQUIRE(dhcp_check(gold_dhcp_offer, sizeof(gold_dhcp_offer)) == WIRE_OK);
	dhcp_parse(gold_dhcp_offer, sizeof(gold_dhcp_offer), &m);
	CHECK_EQ(m.op, BOOTP_REPLY);
	CHECK_EQ(m.xid, 0xdeadbeef);
	CHECK_EQ(m.flags, DHCP_FLAG_BROADCAST);
	CHECK_EQ(m.yiaddr, INET_ADDR(10, 0, 2, 15));
	CHECK_EQ(m.siaddr, INET_ADDR(10, 0, 2, 2));
	CHECK_MEM(m.chaddr, mac_a, 6);
	CHECK_EQ(m.msg_type, DHCP_OFFER);
	CHECK_EQ(m.server_id, INET_ADDR(10, 0, 2, 2));
	CHECK_EQ(m.lease_time, 86400);
	CHECK(m.has & DHCP_HAS_LEASE);
	CHECK(m.has & DHCP_HAS_MASK);
	CHECK_EQ(m.subnet_mask, 0xffffff00);
	CHECK_EQ(m.router, INET_ADDR(10, 0, 2, 2));
	CHECK_EQ(m.ndns, 2);
	CHECK_EQ(m.dns[0], INET_ADDR(10, 0, 2, 3));
	CHECK_EQ(m.dns[1], INET_ADDR(8, 8, 8, 8));
	CHECK(!(m.has & DHCP_HAS_T1));
}

TEST(net_dhcp_golden_discover_emit)
{
	struct dhcp_msg m = { .op = BOOTP_REQUEST, .htype = 1, .hlen = 6, .xid = 0x01020304, .secs = 3,
			      .flags = DHCP_FLAG_BROADCAST, .msg_type = DHCP_DISCOVER, .client_id = 1,
			      .max_size = 1500, .hostname = "skiff", .param_list = 1 };
	memcpy(m.chaddr, mac_a, 6);
	uint8_t out[600];
	memset(out, 0xaa, sizeof(out));
	int n = dhcp_emit(&m, out, sizeof(out));
	REQUIRE(n == (int)sizeof(gold_dhcp_discover));
	CHECK_MEM(out, gold_dhcp_discover, sizeof(gold_dhcp_discover));
	CHECK(dhcp_emit(&m, out, 299) < 0);
	/* And it parses back. */
	struct dhcp_msg back;
	REQUIRE(dhcp_check(out, (size_t)n) == WIRE_OK);
	dhcp_parse(out, (size_t)n, &back);
	CHECK_EQ(back.msg_type, DHCP_DISCOVER);
	CHECK_EQ(back.xid, 0x01020304);
}

/* The offer with its option area replaced by opts (n bytes). */
static size_t offer_with(uint8_t *buf, const uint8_t *opts, size_t n)
{
	memcpy(buf, gold_dhcp_offer, DHCP_OPTS_OFF);
	memcpy(buf + DHCP_OPTS_OFF, opts, n);
	return DHCP_OPTS_OFF + n;
}

TEST(net_dhcp_malformed)
{
	uint8_t b[600];
	CHECK(dhcp_check(gold_dhcp_offer, DHCP_OPTS_OFF - 1) == WIRE_TRUNCATED);
	memcpy(b, gold_dhcp_offer, sizeof(gold_dhcp_offer));
	b[DHCP_FIXED_LEN] = 0x64;               /* magic cookie */
	CHECK(dhcp_check(b, sizeof(gold_dhcp_offer)) == WIRE_BAD_FORMAT);
	memcpy(b, gold_dhcp_offer, sizeof(gold_dhcp_offer));
	b[0] = 3;                               /* op */
	CHECK(dhcp_check(b, sizeof(gold_dhcp_offer)) == WIRE_BAD_FORMAT);
	memcpy(b, gold_dhcp_offer, sizeof(gold_dhcp_offer));
	b[2] = 17;                              /* hlen > chaddr */
	CHECK(dhcp_check(b, sizeof(gold_dhcp_offer)) == WIRE_BAD_FORMAT);

	/* An option whose length runs past the end of the buffer. */
	static const uint8_t past[] = { 53, 1, 2, 12, 200, 'a', 'b' };
	CHECK(dhcp_check(b, offer_with(b, past, sizeof(past))) == WIRE_BAD_OPTION);
	/* A length byte missing at the very end. */
	static const uint8_t nolen[] = { 53, 1, 2, 12 };
	CHECK(dhcp_check(b, offer_with(b, nolen, sizeof(nolen))) == WIRE_BAD_OPTION);
	/* Known options with impossible lengths, including zero. */
	static const uint8_t zero_type[] = { 53, 0, 255 };
	CHECK(dhcp_check(b, offer_with(b, zero_type, sizeof(zero_type))) == WIRE_BAD_OPTION);
	static const uint8_t zero_router[] = { 53, 1, 2, 3, 0, 255 };
	CHECK(dhcp_check(b, offer_with(b, zero_router, sizeof(zero_router))) == WIRE_BAD_OPTION);
	static const uint8_t short_lease[] = { 53, 1, 2, 51, 3, 0, 0, 1, 255 };
	CHECK(dhcp_check(b, offer_with(b, short_lease, sizeof(short_lease))) == WIRE_BAD_OPTION);
	static const uint8_t odd_dns[] = { 53, 1, 2, 6, 6, 1, 2, 3, 4, 5, 6, 255 };
	CHECK(dhcp_check(b, offer_with(b, odd_dns, sizeof(odd_dns))) == WIRE_BAD_OPTION);
}

TEST(net_dhcp_option_loop_edges)
{
	uint8_t b[600];
	struct dhcp_msg m;
	/* Unknown zero-length options are legal and still advance (2 bytes each). */
	static const uint8_t zeros[] = { 200, 0, 201, 0, 53, 1, 5, 202, 0, 255 };
	size_t n = offer_with(b, zeros, sizeof(zeros));
	REQUIRE(dhcp_check(b, n) == WIRE_OK);
	dhcp_parse(b, n, &m);
	CHECK_EQ(m.msg_type, DHCP_ACK);
	/* Only padding, no END: the walk stops at the end of the buffer. */
	memset(b + DHCP_OPTS_OFF, 0, 300);
	CHECK(dhcp_check(b, DHCP_OPTS_OFF + 300) == WIRE_OK);
	/* Empty option area. */
	CHECK(dhcp_check(b, DHCP_OPTS_OFF) == WIRE_OK);
	/* Everything after END is ignored, even garbage. */
	static const uint8_t end_then_junk[] = { 53, 1, 2, 255, 12, 250 };
	n = offer_with(b, end_then_junk, sizeof(end_then_junk));
	CHECK(dhcp_check(b, n) == WIRE_OK);
	/* The first of two message types wins. */
	static const uint8_t twice[] = { 53, 1, 6, 53, 1, 5, 255 };
	n = offer_with(b, twice, sizeof(twice));
	REQUIRE(dhcp_check(b, n) == WIRE_OK);
	dhcp_parse(b, n, &m);
	CHECK_EQ(m.msg_type, DHCP_NAK);
	/* More DNS servers than we keep: the first three. */
	static const uint8_t dns4[] = { 6, 16, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 255 };
	n = offer_with(b, dns4, sizeof(dns4));
	REQUIRE(dhcp_check(b, n) == WIRE_OK);
	dhcp_parse(b, n, &m);
	CHECK_EQ(m.ndns, 3);
	CHECK_EQ(m.dns[2], INET_ADDR(3, 3, 3, 3));
}
