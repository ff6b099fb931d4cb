/* Transmit offload fallbacks (net/gso.c via link_output): software segmentation of a
 * large TCP frame and the partial checksum, against devices with and without offloads. */
#include "tests/unit/test.h"
#include "tests/unit/csum_ref.h"
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

/* Software GSO's full checksum is summed while the payload is gathered (gso.c gather:
 * csum_copy per piece, a piece at an odd offset byte-swapped). Random layouts of the
 * super-segment (headers with IP and TCP options; 0..600 payload bytes in the slot,
 * then 0..5 fragments of odd and even lengths at odd and even addresses; any MSS, also
 * odd, sometimes cut by max_frame; the last segment short) are segmented with partial
 * == 0 and with partial == 1 completed by gso_csum_help, and every wire frame is checked
 * against a reference summed byte by byte from scratch over the finished frame, plus
 * its payload against the stream. */
#define GC_SLOTS 4
#define GC_FRAG_MEM 16384
#define GC_STREAM (600 + PKT_MAX_FRAGS * 2500)

struct gc_ctx {
	struct pkt_pool pool;
	const uint8_t *stream;          /* the payload as one buffer (pkt_copy_out) */
	size_t payload, got;
	uint32_t seq, mss, nseg, bad;
	int partial;
};

static uint32_t gc_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct pkt *gc_alloc(void *ctx)
{
	return pkt_alloc(&((struct gc_ctx *)ctx)->pool);
}

/* One wire frame: the TCP checksum recomputed from scratch (field zeroed) must equal
 * the stored one, the IP checksum verify, the payload continue the stream. */
static void gc_out(void *ctx, struct pkt *s)
{
	struct gc_ctx *c = ctx;
	uint8_t f[2048];
	uint32_t len = s->len;
	if (s->flags & PKT_F_CSUM_PARTIAL && gso_csum_help(s))
		c->bad++;
	if (len > sizeof(f)) {
		c->bad++;
		pkt_free(s);
		return;
	}
	memcpy(f, pkt_data(s), len);
	pkt_free(s);
	uint8_t *ipb = f + ETH_HLEN;
	size_t ihl = (size_t)(ipb[0] & 15) * 4, tot = wire_get16(ipb + 2);
	uint8_t *tcp = ipb + ihl;
	size_t thl = (size_t)(tcp[12] >> 4) * 4, tl = tot - ihl, dl = tl - thl;
	if (ETH_HLEN + tot != len || csum_ref_field(csum_ref_add(ipb, ihl, 0)) != 0 ||
	    dl > c->mss || (dl < c->mss && c->got + dl != c->payload) ||
	    wire_get32(tcp + 4) != c->seq + c->got ||
	    memcmp(tcp + thl, c->stream + c->got, dl)) {
		c->bad++;
		return;
	}
	uint16_t stored = wire_get16(tcp + 16);
	wire_put16(tcp + 16, 0);
	uint64_t pseudo = csum_ref_add(ipb + 12, 8, IPV4_PROTO_TCP + (uint64_t)tl);
	uint16_t ref = csum_ref_field(csum_ref_add(tcp, tl, pseudo));
	/* gso_csum_help writes a computed 0 as 0xffff (the same one's complement zero,
	 * UDP's rule): only that path may differ, and only so. */
	if (ref != stored && !(c->partial && ref == 0 && stored == 0xffff))
		c->bad++;
	c->got += dl;
	c->nseg++;
}

/* Builds one random super-segment in p; returns its payload length (p->len set). */
static size_t gc_build(struct pkt *p, uint32_t *rs, const uint8_t *frag_mem, uint32_t *seq)
{
	size_t ihl = 20 + 4 * (gc_rand(rs) % 4 ? 0 : gc_rand(rs) % 11);
	size_t thl = 20 + 4 * (gc_rand(rs) % 11);
	size_t lin = gc_rand(rs) % 3 ? gc_rand(rs) % 601 : 0;
	unsigned nfrags = gc_rand(rs) % (PKT_MAX_FRAGS + 1);
	uint8_t *f = pkt_put(p, ETH_HLEN + ihl + thl + lin);
	for (size_t i = 0; i < ETH_HLEN + ihl + thl + lin; i++)
		f[i] = (uint8_t)gc_rand(rs);
	wire_put16(f + 12, ETH_P_IP);
	size_t payload = lin;
	for (unsigned i = 0; i < nfrags; i++) {
		uint32_t n = 1 + gc_rand(rs) % 2500, at = gc_rand(rs) % (GC_FRAG_MEM - n);
		if (pkt_frag_add(p, frag_mem + at, n, NULL) == 0)
			payload += n;
	}
	struct ipv4_hdr ih = { .hdr_len = (uint8_t)ihl, .tot_len = (uint16_t)(ihl + thl + payload),
			       .id = (uint16_t)gc_rand(rs), .frag = IPV4_DF, .ttl = 64,
			       .proto = IPV4_PROTO_TCP, .src = gc_rand(rs), .dst = gc_rand(rs) };
	uint8_t opts[40];
	memcpy(opts, f + ETH_HLEN + 20, ihl - 20);
	ipv4_emit(&ih, f + ETH_HLEN);
	f[ETH_HLEN] = (uint8_t)(0x40 | ihl / 4);
	memcpy(f + ETH_HLEN + 20, opts, ihl - 20);
	uint8_t *tcp = f + ETH_HLEN + ihl;
	*seq = wire_get32(tcp + 4);
	tcp[12] = (uint8_t)(thl / 4 << 4);
	return payload;
}

TEST(net_gso_full_checksum_summed_while_gathering)
{
	static uint8_t slots[GC_SLOTS * PKT_SLOT_SIZE], frag_mem[GC_FRAG_MEM], stream[GC_STREAM];
	static struct pkt_pool src_pool;
	static uint8_t src_mem[2 * PKT_SLOT_SIZE];
	uint32_t rs = 0x9e3779b9;
	for (size_t i = 0; i < sizeof(frag_mem); i++)
		frag_mem[i] = (uint8_t)gc_rand(&rs);
	pkt_pool_init(&src_pool, src_mem, 0x200000, 2);
	unsigned odd_cuts = 0;
	int iter;
	for (iter = 0; iter < 3000; iter++) {
		struct gc_ctx c = { .stream = stream };
		pkt_pool_init(&c.pool, slots, 0x100000, GC_SLOTS);
		struct pkt *p = pkt_alloc(&src_pool);
		REQUIRE(p);
		c.payload = gc_build(p, &rs, frag_mem, &c.seq);
		int h = gso_hdr_len(p);
		REQUIRE(h > 0);
		pkt_copy_out(p, (uint32_t)h, stream, (uint32_t)c.payload);
		uint32_t want = 1 + gc_rand(&rs) % 1460;
		if (want * 100 < c.payload)     /* at most ~100 segments a layout */
			want = (uint32_t)(c.payload / 100 + 1);
		uint32_t max_frame = gc_rand(&rs) % 4 ? 1514 : (uint32_t)h + 1 + gc_rand(&rs) % want;
		c.mss = (uint32_t)h + want > max_frame ? max_frame - (uint32_t)h : want;
		p->flags |= PKT_F_GSO_TCP4;
		p->gso_size = (uint16_t)want;
		int partial = c.partial = iter & 1;
		/* A piece boundary at an odd offset of some segment's payload is what the
		 * byte swap is for: count the layouts that have one. */
		size_t edge = pkt_linear_len(p) - (size_t)h;
		for (unsigned i = 0; i <= p->nfrags; i++) {
			if (edge < c.payload && edge % c.mss % 2)
				odd_cuts++;
			if (i < p->nfrags)
				edge += p->frag_len[i];
		}
		uint32_t nseg = c.payload ? (uint32_t)((c.payload + c.mss - 1) / c.mss) : 1;
		int n = gso_segment(p, max_frame, partial, gc_alloc, gc_out, &c);
		CHECK_EQ(n, nseg);
		CHECK_EQ(c.nseg, nseg);
		CHECK_EQ(c.got, c.payload);
		CHECK_EQ(c.bad, 0);
		CHECK_EQ(c.pool.stats.free, GC_SLOTS);
		CHECK_EQ(src_pool.stats.free, 2);
		if (c.bad)
			break;
	}
	if (iter == 3000)
		CHECK(odd_cuts > 500);          /* the layouts did exercise the swap */
}
