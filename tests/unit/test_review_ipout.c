/* Hostile review of IPv4 output (ip_send in net/ipv4.c, ipv4_fragment in
 * net/ipv4_frag.c) against the offload flags of net/pkt.h: a failing test is a defect
 * left for the lead; a passing one a disproved suspicion kept as a guard. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/tcp_wire.h"
#include <string.h>

static uint8_t whole[70000];

/* Reassembles what t put on the wire (IPv4 fragments of one datagram) into whole[];
 * returns its payload length, or 0 if the pieces are not exactly one datagram. */
static size_t collect(struct test_net *t, struct ipv4_hdr *first, int *frames)
{
	size_t total = 0, have = 0;
	struct pkt *p;
	*frames = 0;
	while ((p = fake_netdev_pop(&t->f))) {
		const uint8_t *d = pkt_data(p);
		struct ipv4_hdr h;
		if (wire_get16(d + 12) == ETH_P_IP &&
		    ipv4_check(d + ETH_HLEN, p->len - ETH_HLEN) == WIRE_OK) {
			ipv4_parse(d + ETH_HLEN, &h);
			size_t off = ipv4_frag_offset(&h), len = h.tot_len - h.hdr_len;
			memcpy(whole + off, d + ETH_HLEN + h.hdr_len, len);
			have += len;
			if (!(h.frag & IPV4_MF))
				total = off + len;
			if (off == 0)
				*first = h;
			(*frames)++;
		}
		pkt_free(p);
	}
	return total && have == total ? total : 0;
}

/* A checksum that is wrong on the wire: ip_send() fragments a datagram over the MTU by
 * copying its bytes into fresh packets (ipv4_fragment), which do not carry
 * PKT_F_CSUM_PARTIAL, so neither the device nor link_output() ever completes the UDP
 * checksum: the receiver gets the bare pseudo-header sum and drops the datagram.
 * pkt.h offers partial checksums to every floor; expect the reassembled datagram's
 * checksum to verify. (Linux: skb_checksum_help before ip_fragment.) */
TEST(review_ipout_fragmented_partial_checksum_completed)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	struct pkt *p = pkt_alloc(&t.reasm);
	REQUIRE(p);
	size_t ulen = 3000;
	uint8_t *u = pkt_put(p, ulen);
	for (size_t i = UDP_HDR_LEN; i < ulen; i++)
		u[i] = (uint8_t)(i * 11);
	wire_put16(u, 5000);
	wire_put16(u + 2, 6000);
	wire_put16(u + 4, (uint16_t)ulen);
	wire_put16(u + 6, (uint16_t)(inet_csum_fold(inet_csum_pseudo(ip("10.0.0.1"), ip("10.0.0.2"),
				     IPV4_PROTO_UDP, (uint16_t)ulen)) ^ 0xffff));
	pkt_csum_partial(p, u, 6);
	CHECK_EQ(ipv4_output(&t.s.ip, p, ip("10.0.0.1"), ip("10.0.0.2"), IPV4_PROTO_UDP, 64), 0);
	struct ipv4_hdr h;
	int frames;
	size_t n = collect(&t, &h, &frames);
	CHECK_EQ(frames, 3);
	REQUIRE(n == ulen);
	CHECK(udp_check(whole, n, ip("10.0.0.1"), ip("10.0.0.2")) == WIRE_OK);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Guard (disproved): the same datagram within the MTU leaves with its checksum
 * completed by link_output's software fallback. */
TEST(review_ipout_partial_checksum_within_mtu_completed)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	struct pkt *p = pkt_alloc(&t.reasm);
	REQUIRE(p);
	size_t ulen = 1000;
	uint8_t *u = pkt_put(p, ulen);
	for (size_t i = UDP_HDR_LEN; i < ulen; i++)
		u[i] = (uint8_t)(i * 11);
	wire_put16(u, 5000);
	wire_put16(u + 2, 6000);
	wire_put16(u + 4, (uint16_t)ulen);
	wire_put16(u + 6, (uint16_t)(inet_csum_fold(inet_csum_pseudo(ip("10.0.0.1"), ip("10.0.0.2"),
				     IPV4_PROTO_UDP, (uint16_t)ulen)) ^ 0xffff));
	pkt_csum_partial(p, u, 6);
	CHECK_EQ(ipv4_output(&t.s.ip, p, ip("10.0.0.1"), ip("10.0.0.2"), IPV4_PROTO_UDP, 64), 0);
	struct ipv4_hdr h;
	int frames;
	size_t n = collect(&t, &h, &frames);
	CHECK_EQ(frames, 1);
	REQUIRE(n == ulen);
	CHECK(udp_check(whole, n, ip("10.0.0.1"), ip("10.0.0.2")) == WIRE_OK);
	CHECK_EQ(tn_fini(&t), 0);
}

/* The GSO interface cannot be reached through IP: a PKT_F_GSO_TCP4 datagram is by
 * definition over the MTU and TCP always sets DF, so ip_send() drops it as too big
 * (DROP_IP_TOO_BIG, -NET_EMSGSIZE) before link_output() could cut it. gso.c's premise
 * ("the floors above can always hand down one large TCP frame") does not hold.
 * Expect: the frame leaves as MTU-sized segments. */
TEST(review_ipout_gso_frame_passes_ip_send)
{
	struct test_net t;
	tn_init_peer(&t);
	t.f.dev.features = 0;
	struct pkt *p = pkt_alloc(&t.reasm);
	REQUIRE(p);
	size_t payload = 4000, tl = TCP_HDR_LEN + payload;
	uint8_t *tcp = pkt_put(p, tl);
	struct tcp_hdr th = { .sport = 80, .dport = 40000, .seq = 1, .ack = 1, .flags = TCP_ACK,
			      .wnd = 1000 };
	tcp_wire_emit(&th, tcp, TCP_HDR_LEN);
	memset(tcp + TCP_HDR_LEN, 0x42, payload);
	wire_put16(tcp + 16, (uint16_t)(inet_csum_fold(inet_csum_pseudo(ip("10.0.0.1"), ip("10.0.0.2"),
					IPV4_PROTO_TCP, (uint16_t)tl)) ^ 0xffff));
	pkt_csum_partial(p, tcp, 16);
	p->flags |= PKT_F_GSO_TCP4;
	p->gso_size = 1460;
	struct ipv4_out o = { .proto = IPV4_PROTO_TCP, .ttl = 64, .df = 1 };
	CHECK_EQ(ipv4_output_ext(&t.s.ip, p, ip("10.0.0.1"), ip("10.0.0.2"), &o), 0);
	CHECK_EQ(t.s.core.drops[DROP_IP_TOO_BIG], 0);
	CHECK_EQ(t.f.wire.len, 3);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}
