/* IPv4 fragments (net/ipv4_frag.c): reassembly in every order, each anomaly's defined and
 * counted outcome, the limits under a storm, and fragmentation of what we send. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include <stdlib.h>
#include <string.h>

#define PEER "10.0.0.2"
#define US "10.0.0.1"

static uint8_t l4[70000];      /* the transport bytes of the datagram being cut up */

/* An ICMP echo request with datalen data bytes into l4; returns its length. */
static size_t echo_l4(size_t datalen, uint16_t seq)
{
	for (size_t i = 0; i < datalen; i++)
		l4[ICMP_HDR_LEN + i] = (uint8_t)(i * 13 + 5);
	struct icmp_hdr h = { .type = ICMP_ECHO, .id = 0x99, .seq = seq };
	icmp_emit(&h, l4, ICMP_HDR_LEN + datalen);
	return ICMP_HDR_LEN + datalen;
}

/* Sends bytes [off, off+len) of l4 as one fragment of datagram id from src. */
static void piece(struct test_net *t, uint32_t src, uint16_t id, uint8_t proto, size_t off,
		  size_t len, int more)
{
	static uint8_t f[2048];
	memcpy(f, t->f.dev.mac, 6);
	memcpy(f + 6, test_mac(2), 6);
	f[12] = 0x08;
	f[13] = 0x00;
	struct ipv4_hdr h = { .tot_len = (uint16_t)(IPV4_HDR_MIN + len), .id = id, .ttl = 64,
			      .frag = (uint16_t)(off / 8 | (more ? IPV4_MF : 0)), .proto = proto,
			      .src = src, .dst = ip(US) };
	ipv4_emit(&h, f + ETH_HLEN);
	memcpy(f + ETH_HLEN + IPV4_HDR_MIN, l4 + off, len);
	fake_netdev_rx(&t->f, &t->s, f, ETH_HLEN + IPV4_HDR_MIN + len);
}

/* Cuts l4[0, total) into 1480-byte pieces and sends them in the order given by idx[]. */
static int cut(size_t total, int *idx)
{
	int n = (int)((total + 1479) / 1480);
	for (int i = 0; i < n; i++)
		idx[i] = i;
	return n;
}

static void send_pieces(struct test_net *t, uint16_t id, size_t total, const int *idx, int n)
{
	for (int k = 0; k < n; k++) {
		size_t off = (size_t)idx[k] * 1480;
		size_t len = total - off < 1480 ? total - off : 1480;
		piece(t, ip(PEER), id, IPV4_PROTO_ICMP, off, len, off + len < total);
	}
}

/* Collects what the stack sent back as fragments of one datagram into out; returns its
 * transport length, or 0 if the pieces do not make exactly one whole datagram. */
static size_t collect_reply(struct test_net *t, uint8_t *out)
{
	size_t total = 0, have = 0;
	struct pkt *p;
	while ((p = fake_netdev_pop(&t->f))) {
		const uint8_t *d = pkt_data(p);
		if (wire_get16(d + 12) == ETH_P_IP) {
			struct ipv4_hdr h;
			if (ipv4_check(d + ETH_HLEN, p->len - ETH_HLEN) == WIRE_OK) {
				ipv4_parse(d + ETH_HLEN, &h);
				size_t off = ipv4_frag_offset(&h), len = h.tot_len - h.hdr_len;
				memcpy(out + off, d + ETH_HLEN + h.hdr_len, len);
				have += len;
				if (!(h.frag & IPV4_MF))
					total = off + len;
			}
		}
		pkt_free(p);
	}
	return total && have == total ? total : 0;
}

static int reply_ok(struct test_net *t, size_t datalen, uint16_t seq)
{
	static uint8_t r[70000];
	size_t n = collect_reply(t, r);
	if (n != ICMP_HDR_LEN + datalen || r[0] != ICMP_ECHO_REPLY || inet_csum(r, n) != 0 ||
	    wire_get16(r + 6) != seq)
		return 0;
	return memcmp(r + ICMP_HDR_LEN, l4 + ICMP_HDR_LEN, datalen) == 0;
}

static int pool_full(const struct test_net *t)
{
	return t->reasm.stats.free == t->reasm.nslots;
}

TEST(net_frag_8k_ping_in_every_order)
{
	struct test_net t;
	int idx[8];
	tn_init_peer(&t);
	size_t total = echo_l4(8000, 1);
	int n = cut(total, idx);
	REQUIRE(n == 6);
	send_pieces(&t, 100, total, idx, n);                    /* in order */
	CHECK(reply_ok(&t, 8000, 1));
	for (int i = 0; i < n; i++)
		idx[i] = n - 1 - i;
	send_pieces(&t, 101, total, idx, n);                    /* reversed: last first */
	CHECK(reply_ok(&t, 8000, 1));
	srand(7);
	for (int round = 0; round < 20; round++) {              /* shuffled */
		for (int i = n - 1; i > 0; i--) {
			int j = rand() % (i + 1), x = idx[i];
			idx[i] = idx[j];
			idx[j] = x;
		}
		send_pieces(&t, (uint16_t)(200 + round), total, idx, n);
		CHECK(reply_ok(&t, 8000, 1));
	}
	CHECK_EQ(t.s.core.mib[MIB_IpReasmOKs], 22);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmReqds], 22 * 6);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmFails], 0);
	CHECK_EQ(t.s.core.mib[MIB_IpFragOKs], 22);               /* each reply fragmented */
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_frag_largest_datagram_and_one_byte_more)
{
	struct test_net t;
	tn_init_peer(&t);
	/* 65535 bytes in all: 65515 bytes of ICMP, the last piece ending exactly there. */
	size_t total = echo_l4(65515 - ICMP_HDR_LEN, 3);
	for (size_t off = 0; off < total; off += 1480) {
		size_t len = total - off < 1480 ? total - off : 1480;
		piece(&t, ip(PEER), 300, IPV4_PROTO_ICMP, off, len, off + len < total);
	}
	CHECK_EQ(t.s.core.mib[MIB_IpReasmOKs], 1);
	CHECK(reply_ok(&t, 65515 - ICMP_HDR_LEN, 3));
	/* Ping of death: a piece ending past 65535 kills its datagram. */
	piece(&t, ip(PEER), 301, IPV4_PROTO_ICMP, 0, 1480, 1);
	piece(&t, ip(PEER), 301, IPV4_PROTO_ICMP, 65512, 8 + 16, 0);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_TOO_BIG], 2);      /* the piece and its datagram */
	CHECK_EQ(t.f.wire.len, 0);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_frag_duplicates_and_overlaps)
{
	struct test_net t;
	tn_init_peer(&t);
	size_t total = echo_l4(3000, 4);                        /* pieces 0..1480..2960..3008 */
	piece(&t, ip(PEER), 400, IPV4_PROTO_ICMP, 0, 1480, 1);
	piece(&t, ip(PEER), 400, IPV4_PROTO_ICMP, 0, 1480, 1);  /* exact duplicate */
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_DUP], 1);
	piece(&t, ip(PEER), 400, IPV4_PROTO_ICMP, 1480, 1480, 1);
	piece(&t, ip(PEER), 400, IPV4_PROTO_ICMP, 2960, total - 2960, 0);
	CHECK(reply_ok(&t, 3000, 4));                           /* duplicates are harmless */
	/* A piece that overlaps another without being its copy: the whole datagram goes
	 * (RFC 5722's rule; Linux since FragmentSmack), never a mix of two versions. */
	piece(&t, ip(PEER), 401, IPV4_PROTO_ICMP, 0, 1480, 1);
	piece(&t, ip(PEER), 401, IPV4_PROTO_ICMP, 1472, 1480, 1);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_OVERLAP], 2);      /* the piece and its datagram */
	CHECK_EQ(t.s.core.mib[MIB_IpExtReasmOverlaps], 1);
	piece(&t, ip(PEER), 401, IPV4_PROTO_ICMP, 1480, 1480, 1);
	piece(&t, ip(PEER), 401, IPV4_PROTO_ICMP, 2960, total - 2960, 0);
	CHECK_EQ(t.f.wire.len, 0);                              /* the rest never completes */
	/* Two different ends, or a piece past the end once it is known. */
	piece(&t, ip(PEER), 402, IPV4_PROTO_ICMP, 2960, total - 2960, 0);
	piece(&t, ip(PEER), 402, IPV4_PROTO_ICMP, 1480, 1488, 0);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_BAD_LEN], 2);
	piece(&t, ip(PEER), 404, IPV4_PROTO_ICMP, 1480, 1480, 0);       /* ends at 2960 */
	piece(&t, ip(PEER), 404, IPV4_PROTO_ICMP, 2960, 16, 1); /* past the end of 404 */
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_BAD_LEN], 4);
	CHECK_EQ(t.f.wire.len, 0);
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_frag_malformed_pieces)
{
	struct test_net t;
	tn_init_peer(&t);
	echo_l4(3000, 5);
	piece(&t, ip(PEER), 500, IPV4_PROTO_ICMP, 0, 1476, 1);  /* MF but not 8-aligned */
	piece(&t, ip(PEER), 501, IPV4_PROTO_ICMP, 8, 0, 1);     /* empty */
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_BAD_LEN], 2);
	piece(&t, ip(PEER), 502, IPV4_PROTO_UDP, 0, 4, 1);      /* RFC 1858: no ports */
	piece(&t, ip(PEER), 503, IPV4_PROTO_TCP, 0, 16, 1);     /* no whole TCP header */
	piece(&t, ip(PEER), 504, IPV4_PROTO_TCP, 8, 16, 0);     /* TCP at offset 8 */
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_TINY], 3);
	/* A datagram in 8-byte pieces: more than IPV4_REASM_MAX_FRAGS of them is refused. */
	for (int i = 0; i <= IPV4_REASM_MAX_FRAGS; i++)
		piece(&t, ip(PEER), 505, IPV4_PROTO_ICMP, 8 + (size_t)i * 8, 8, 1);
	CHECK_EQ(t.s.core.drops[DROP_IP_FRAG_TOO_MANY], 2);
	CHECK_EQ(t.f.wire.len, 0);
	/* Same ID, another protocol: another datagram (RFC 791's key includes it). */
	size_t total = echo_l4(2000, 6);
	piece(&t, ip(PEER), 506, IPV4_PROTO_ICMP, 0, 1480, 1);
	piece(&t, ip(PEER), 506, IPV4_PROTO_UDP, 1480, total - 1480, 0);
	CHECK_EQ(t.f.wire.len, 0);
	piece(&t, ip(PEER), 506, IPV4_PROTO_ICMP, 1480, total - 1480, 0);
	CHECK(reply_ok(&t, 2000, 6));
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

/* Thousands of incomplete datagrams from many sources and from the peer itself: the
 * next clean datagram is still reassembled, and nothing held outlives the storm. */
TEST(net_frag_storm_never_locks_out_a_clean_datagram)
{
	struct test_net t;
	tn_init_peer(&t);
	size_t total = echo_l4(2000, 7);
	for (int i = 0; i < 2000; i++)
		piece(&t, ip("10.0.0.100") + (uint32_t)(i % 50), (uint16_t)i, IPV4_PROTO_ICMP, 0, 1480, 1);
	for (int i = 0; i < 2000; i++)
		piece(&t, ip(PEER), (uint16_t)(1000 + i), IPV4_PROTO_ICMP, 1480, 8, 1);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK(t.s.core.drops[DROP_IP_FRAG_EVICTED] >= 3990);
	piece(&t, ip(PEER), 9999, IPV4_PROTO_ICMP, 0, 1480, 1);
	piece(&t, ip(PEER), 9999, IPV4_PROTO_ICMP, 1480, total - 1480, 0);
	CHECK(reply_ok(&t, 2000, 7));
	int busy = 0;
	for (int i = 0; i < IPV4_REASM_MAX; i++)
		busy += t.s.ip.reasm.d[i].used;
	CHECK(busy <= IPV4_REASM_MAX);
	CHECK_EQ(t.s.ip.reasm.nused, (uint32_t)busy);  /* the count ipv4_reasm_poll skips on */
	/* Incomplete ones whose first piece came get a time exceeded each; the rest go
	 * silently; then every buffer is back. */
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	fake_netdev_drop_all(&t.f);
	CHECK(pool_full(&t));
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], (uint64_t)busy);
	CHECK_EQ(t.s.ip.reasm.nused, 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_frag_timeout_without_first_piece_is_silent)
{
	struct test_net t;
	tn_init_peer(&t);
	echo_l4(3000, 8);
	piece(&t, ip(PEER), 800, IPV4_PROTO_ICMP, 1480, 1480, 1);
	tn_advance(&t, 2 * NET_NS_PER_SEC);
	fake_netdev_drop_all(&t.f);                              /* gratuitous ARPs */
	tn_advance(&t, IPV4_REASM_TIMEOUT_NS);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpOutMsgs], 0);             /* RFC 1122 §3.3.2 */
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

static void on_udp(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	(void)info;
	size_t *got = ctx;
	*got = len;
	for (size_t i = 0; i < len; i++)
		if (data[i] != (uint8_t)(i * 3))
			*got = 0;
}

TEST(net_frag_udp_datagram_above_the_mtu)
{
	struct test_net t;
	size_t got = 0;
	tn_init_peer(&t);
	REQUIRE(udp_bind(&t.s.udp, 5000, on_udp, &got) == 5000);
	size_t dlen = 4000, total = UDP_HDR_LEN + dlen;
	for (size_t i = 0; i < dlen; i++)
		l4[UDP_HDR_LEN + i] = (uint8_t)(i * 3);
	struct udp_hdr uh = { .sport = 6000, .dport = 5000, .len = (uint16_t)total };
	udp_emit(&uh, l4, ip(PEER), ip(US));
	piece(&t, ip(PEER), 900, IPV4_PROTO_UDP, 2960, total - 2960, 0);
	piece(&t, ip(PEER), 900, IPV4_PROTO_UDP, 0, 1480, 1);
	piece(&t, ip(PEER), 900, IPV4_PROTO_UDP, 1480, 1480, 1);
	CHECK_EQ(got, dlen);
	CHECK_EQ(t.s.core.mib[MIB_UdpInDatagrams], 1);
	CHECK(pool_full(&t));
	CHECK_EQ(tn_fini(&t), 0);
}
