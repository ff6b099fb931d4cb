/* Transmit offload fallbacks (net/gso.c via link_output): software segmentation of a
 * large TCP frame and the partial checksum, against devices with and without offloads. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/gso.h"
#include "net/tcp_wire.h"
#include <string.h>

#define PAYLOAD 5000
#define MSS 1448

/* A TCP/IPv4 datagram of PAYLOAD bytes in one big buffer, handed to link_output as the
 * floors above would: IP header complete, TCP checksum partial, PKT_F_GSO_TCP4. */
static int send_big(struct test_net *t, uint8_t flags)
{
	struct pkt *p = pkt_alloc(&t->reasm);
	if (!p)
		return -1;
	uint8_t *b = pkt_put(p, IPV4_HDR_MIN + TCP_HDR_LEN + PAYLOAD);
	struct ipv4_hdr ih = { .tot_len = (uint16_t)(IPV4_HDR_MIN + TCP_HDR_LEN + PAYLOAD),
			       .id = 0x100, .frag = IPV4_DF, .ttl = 64, .proto = IPV4_PROTO_TCP,
			       .src = ip("10.0.0.1"), .dst = ip("10.0.0.2") };
	ipv4_emit(&ih, b);
	uint8_t *tcp = b + IPV4_HDR_MIN;
	struct tcp_hdr th = { .sport = 80, .dport = 40000, .seq = 1000, .ack = 77,
			      .flags = flags, .wnd = 1000 };
	tcp_wire_emit(&th, tcp, TCP_HDR_LEN);
	for (int i = 0; i < PAYLOAD; i++)
		tcp[TCP_HDR_LEN + i] = (uint8_t)(i * 5);
	uint16_t pseudo = inet_csum_fold(inet_csum_pseudo(ih.src, ih.dst, IPV4_PROTO_TCP,
							  TCP_HDR_LEN + PAYLOAD)) ^ 0xffff;
	wire_put16(tcp + 16, pseudo);
	pkt_csum_partial(p, tcp, 16);
	p->flags |= PKT_F_GSO_TCP4;
	p->gso_size = MSS;
	return link_output(&t->s.link, 0, p, test_mac(2), ETH_P_IP);
}

/* Pops the wire frames and checks them as a receiver would; returns the count. */
static int check_segments(struct test_net *t, int device_csum, uint8_t last_flags)
{
	int n = 0;
	uint32_t want_seq = 1000, got = 0;
	struct pkt *s;
	while ((s = fake_netdev_pop(&t->f))) {
		uint8_t *f = pkt_data(s), *ipb = f + ETH_HLEN, *tcp = ipb + IPV4_HDR_MIN;
		struct ipv4_hdr h;
		CHECK(ipv4_check(ipb, s->len - ETH_HLEN) == WIRE_OK);
		ipv4_parse(ipb, &h);
		size_t tl = h.tot_len - IPV4_HDR_MIN, dl = tl - TCP_HDR_LEN;
		CHECK(tl <= TCP_HDR_LEN + MSS);
		CHECK_EQ(h.id, 0x100 + n);
		if (device_csum) {
			CHECK(s->flags & PKT_F_CSUM_PARTIAL);
			CHECK_EQ(gso_csum_help(s), 0);         /* what the device would do */
		}
		CHECK(tcp_wire_csum_ok(tcp, tl, h.src, h.dst));
		CHECK_EQ(wire_get32(tcp + 4), want_seq);
		int last = got + dl == PAYLOAD;
		CHECK_EQ(tcp[13], last ? last_flags : (uint8_t)(last_flags & ~(TCP_FIN | TCP_PSH)));
		for (size_t i = 0; i < dl; i++)
			if (tcp[TCP_HDR_LEN + i] != (uint8_t)((got + i) * 5)) {
				CHECK(0);
				break;
			}
		want_seq += (uint32_t)dl;
		got += (uint32_t)dl;
		n++;
		pkt_free(s);
	}
	CHECK_EQ(got, PAYLOAD);
	return n;
}

TEST(net_gso_software_segmentation)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;                           /* no offloads: software does both */
	REQUIRE(send_big(&t, TCP_ACK | TCP_PSH | TCP_FIN) == 0);
	CHECK_EQ(check_segments(&t, 0, TCP_ACK | TCP_PSH | TCP_FIN), (PAYLOAD + MSS - 1) / MSS);
	CHECK_EQ(t.reasm.stats.free, t.reasm.nslots);   /* the big buffer went back */
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_gso_segments_keep_partial_checksum_for_a_csum_device)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = NETDEV_F_TX_CSUM;            /* checksums yes, TSO no */
	REQUIRE(send_big(&t, TCP_ACK) == 0);
	CHECK_EQ(check_segments(&t, 1, TCP_ACK), (PAYLOAD + MSS - 1) / MSS);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_gso_frame_passes_whole_to_a_tso_device)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = NETDEV_F_TX_CSUM | NETDEV_F_TSO4;
	t.f.dev.tso_max = 65535;
	REQUIRE(send_big(&t, TCP_ACK) == 0);
	struct pkt *s = fake_netdev_pop(&t.f);
	REQUIRE(s);
	CHECK(s->flags & PKT_F_GSO_TCP4);
	CHECK_EQ(s->len, ETH_HLEN + IPV4_HDR_MIN + TCP_HDR_LEN + PAYLOAD);
	CHECK(fake_netdev_pop(&t.f) == NULL);
	pkt_free(s);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A partial UDP checksum on a device without checksum offload is completed in software;
 * a partial checksum whose offsets point outside the frame is dropped, counted. */
TEST(net_gso_csum_help_and_bad_offsets)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	struct pkt *p = link_alloc(&t.s.link, 0);
	REQUIRE(p);
	uint8_t *b = pkt_put(p, IPV4_HDR_MIN + UDP_HDR_LEN + 3);
	struct ipv4_hdr ih = { .tot_len = IPV4_HDR_MIN + UDP_HDR_LEN + 3, .ttl = 64,
			       .proto = IPV4_PROTO_UDP, .src = ip("10.0.0.1"), .dst = ip("10.0.0.2") };
	ipv4_emit(&ih, b);
	uint8_t *u = b + IPV4_HDR_MIN;
	wire_put16(u, 1000);
	wire_put16(u + 2, 2000);
	wire_put16(u + 4, UDP_HDR_LEN + 3);
	memcpy(u + 8, "abc", 3);
	wire_put16(u + 6, inet_csum_fold(inet_csum_pseudo(ih.src, ih.dst, IPV4_PROTO_UDP,
							  UDP_HDR_LEN + 3)) ^ 0xffff);
	pkt_csum_partial(p, u, 6);
	REQUIRE(link_output(&t.s.link, 0, p, test_mac(2), ETH_P_IP) == 0);
	struct frame fr;
	static uint8_t buf[2048];
	REQUIRE(tn_next(&t, &fr, buf));                 /* tn_next checks the UDP checksum */
	CHECK(fr.is_udp && fr.l4len == 3);
	p = link_alloc(&t.s.link, 0);
	REQUIRE(p);
	pkt_put(p, 40);
	p->flags |= PKT_F_CSUM_PARTIAL;
	p->csum_start = p->off + 39;
	p->csum_off = 6;
	CHECK(link_output(&t.s.link, 0, p, test_mac(2), ETH_P_IP) < 0);
	CHECK_EQ(t.s.core.drops[DROP_TX_BAD_OFFLOAD], 1);
	CHECK_EQ(tn_fini(&t), 0);
}

static void count_rx(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	(void)info;
	(void)data;
	(void)len;
	(*(int *)ctx)++;
}

/* Receive checksum offload: only a frame the device marked verified skips the check; one
 * it did not mark is still caught, however its checksum field looks. */
TEST(net_rx_csum_offload_trusted_only_when_marked)
{
	struct test_net t;
	int got = 0;
	uint8_t f[256];
	tn_init_peer(&t);
	REQUIRE(udp_bind(&t.s.udp, 9, count_rx, &got) == 9);
	size_t n = frame_udp(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 5, 9,
			     "data", 4);
	f[n - 1] ^= 0x55;                       /* corrupt: the checksum no longer matches */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(got, 0);
	CHECK_EQ(t.s.core.drops[DROP_UDP_CSUM], 1);
	t.f.rx_flags = PKT_F_CSUM_OK;           /* the device says it verified it */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(got, 1);
	CHECK_EQ(tn_fini(&t), 0);
}
