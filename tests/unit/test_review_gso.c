/* Hostile review of the transmit offload fallbacks (net/gso.c, link_output in
 * net/link.c): a failing test is a defect left for the lead; a passing one a disproved
 * suspicion kept as a guard. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/gso.h"
#include "net/tcp_wire.h"
#include <string.h>

/* A PKT_F_GSO_TCP4 frame of payload bytes with a TCP header of thl bytes (options NOP)
 * and gso_size mss, handed to link_output as TCP would. */
static int send_gso(struct test_net *t, size_t thl, size_t payload, uint16_t mss, uint8_t flags)
{
	struct pkt *p = pkt_alloc(&t->reasm);
	if (!p)
		return -1;
	uint8_t *b = pkt_put(p, IPV4_HDR_MIN + thl + payload);
	struct ipv4_hdr ih = { .tot_len = (uint16_t)(IPV4_HDR_MIN + thl + payload), .id = 0x200,
			       .frag = IPV4_DF, .ttl = 64, .proto = IPV4_PROTO_TCP,
			       .src = ip("10.0.0.1"), .dst = ip("10.0.0.2") };
	ipv4_emit(&ih, b);
	uint8_t *tcp = b + IPV4_HDR_MIN;
	struct tcp_hdr th = { .sport = 80, .dport = 40000, .seq = 1, .ack = 1, .flags = flags,
			      .wnd = 1000 };
	tcp_wire_emit(&th, tcp, TCP_HDR_LEN);
	tcp[12] = (uint8_t)((thl / 4) << 4);
	memset(tcp + TCP_HDR_LEN, 1, thl - TCP_HDR_LEN);        /* NOP options */
	for (size_t i = 0; i < payload; i++)
		tcp[thl + i] = (uint8_t)i;
	uint16_t pseudo = inet_csum_fold(inet_csum_pseudo(ih.src, ih.dst, IPV4_PROTO_TCP,
							  (uint16_t)(thl + payload))) ^ 0xffff;
	wire_put16(tcp + 16, pseudo);
	pkt_csum_partial(p, tcp, 16);
	p->flags |= PKT_F_GSO_TCP4;
	p->gso_size = mss;
	return link_output(&t->s.link, 0, p, test_mac(2), ETH_P_IP);
}

/* "A path that sends more than the MTU": link_output() skips its MTU check for a GSO
 * frame and gso_segment() never compares header + gso_size with the MTU, so a gso_size
 * that counts only the payload (1460 on a 1500-byte link) while the TCP header carries
 * 12 bytes of options (timestamps, RFC 7323) puts 1512-byte datagrams on the wire.
 * Linux's GSO takes gso_size as the payload per segment too, but its TCP derives it
 * from the MTU minus all headers; here nothing enforces it. Expect: no frame longer
 * than MTU + 14, whatever the floor above passed. */
TEST(review_gso_segments_never_exceed_the_mtu)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	(void)send_gso(&t, TCP_HDR_LEN + 12, 5000, 1460, TCP_ACK);
	struct pkt *s;
	int frames = 0, over = 0;
	while ((s = fake_netdev_pop(&t.f))) {
		frames++;
		over += s->len > (uint32_t)t.s.link.ifs[0].mtu + ETH_HLEN;
		pkt_free(s);
	}
	CHECK(frames > 0);
	CHECK_EQ(over, 0);
	CHECK_EQ(tn_fini(&t), 0);
}

/* gso_segment() takes the payload from the FRAME length, not the IP total length, and
 * link_output() pads runts to 60 bytes before it: a GSO-marked frame with 0..5 payload
 * bytes (a pure ACK/FIN, or a tiny write, the floor above marked anyway) goes out with
 * the Ethernet padding turned into TCP data (IP total length and TCP checksum rewritten
 * to cover it), so the peer receives bytes that were never sent. Expect the segment
 * with exactly its own payload. */
static void check_small(size_t payload)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	int rc = send_gso(&t, TCP_HDR_LEN, payload, 1448, TCP_ACK | TCP_FIN);
	CHECK_EQ(rc, 0);
	CHECK_EQ(t.f.wire.len, 1);
	struct pkt *s = fake_netdev_pop(&t.f);
	if (s) {
		struct ipv4_hdr h;
		CHECK(ipv4_check(pkt_data(s) + ETH_HLEN, s->len - ETH_HLEN) == WIRE_OK);
		ipv4_parse(pkt_data(s) + ETH_HLEN, &h);
		CHECK_EQ(h.tot_len, IPV4_HDR_MIN + TCP_HDR_LEN + payload);
		pkt_free(s);
	}
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(review_gso_runt_padding_never_becomes_payload)
{
	check_small(0);
	check_small(1);
	check_small(5);
}

/* Guard (disproved): csum_start before the data or a checksum field past its end is
 * refused by gso_csum_help (no write outside the frame), dropped and counted. */
TEST(review_gso_csum_help_rejects_bad_offsets)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	struct pkt *p = pkt_alloc(&t.reasm);
	REQUIRE(p);
	uint8_t *b = pkt_put(p, 100);
	memset(b, 0, 100);
	pkt_csum_partial(p, b + 90, 16);        /* field at 106 of a 100-byte datagram */
	CHECK(gso_csum_help(p) != 0);
	p->csum_start = 0;                      /* inside struct pkt */
	CHECK(gso_csum_help(p) != 0);
	uint64_t before = t.s.core.drops[DROP_TX_BAD_OFFLOAD];
	int rc = link_output(&t.s.link, 0, p, test_mac(2), ETH_P_IP);
	CHECK(rc != 0);
	CHECK_EQ(t.s.core.drops[DROP_TX_BAD_OFFLOAD], before + 1);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(tn_fini(&t), 0);
}

/* A wrong counter: a GSO frame link_output() cannot segment (gso_size 0 here, or
 * headers gso_segment() does not parse) is freed by gso_segment() with pkt_free (no
 * drop reason) and xmit_offloads() counts it as PktAllocFails, an allocation failure
 * that never happened. Expect a counted drop (DROP_TX_BAD_OFFLOAD, as the checksum
 * path does) and PktAllocFails unchanged. */
TEST(review_gso_unsegmentable_frame_counted_as_bad_offload)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	uint64_t allocfails = t.s.core.mib[MIB_PktAllocFails];
	int rc = send_gso(&t, TCP_HDR_LEN, 3000, 0, TCP_ACK);
	CHECK(rc != 0);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(t.s.core.mib[MIB_PktAllocFails], allocfails);
	CHECK_EQ(t.s.core.drops[DROP_TX_BAD_OFFLOAD], 1);
	CHECK_EQ(tn_fini(&t), 0);
}
