/*
 * TCP's transmit fast path between two full stacks (link, IPv4, TCP) over fake netdevs:
 * super-segments cut by software GSO (net/gso.c) or handed whole to a TSO device and
 * received whole (as an LRO device would deliver them), partial checksums for a device
 * that fills them, copy-and-sum otherwise; bulk transfers byte-exact with GSO on and
 * off, over loss and reordering, and the counters of segments sent versus wire frames.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/gso.h"
#include "net/tcp_wire.h"
#include "net/checksum.h"

#define MS NET_NS_PER_MS
#define BULK (3u << 20)
#define PORT 5001

struct wire {
	uint64_t rng;
	uint32_t loss_ppm, reorder_ppm;
	int drop_big_nth;            /* drop this super-frame (TSO device) */
	int dev_csum;                /* the sender's "NIC" completes partial checksums */
	int dev_sg;                  /* ... and gathers a frame's tail from p->ext */
	const uint8_t *ref_lo, *ref_hi;  /* memory a tail may lie in (tcp_send_ref data) */
	uint64_t sg_frames;
	uint64_t tcp_frames, data_frames, big_frames, max_len, lost, partial;
	uint64_t rtx_big;            /* retransmitted frames (seq below the highest) over the MTU */
	uint32_t high_seq;
	int high_set;
	uint8_t last_data[14 + 60 + 8];  /* headers of the newest data frame (ICMP quotes) */
	uint32_t mtu_limit;              /* frames larger than this are counted in over_mtu */
	uint64_t over_mtu;
};

static uint64_t wrand(struct wire *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static int burst_rx;     /* receivers take each move() as one burst (GRO) */

/* Hands one frame to the receiving stack: frames over a receive buffer arrive in a
 * big buffer, as an LRO device delivers coalesced TCP frames. */
static void deliver(struct test_net *to, struct pkt *p)
{
	struct pkt *q;
	if (burst_rx && p->len <= PKT_BUF_SIZE && (q = pkt_alloc(&to->f.pool))) {
		memcpy(pkt_put(q, p->len), pkt_data(p), p->len);
		net_input_burst(&to->s, &to->f.dev, q);
	} else if (p->len <= PKT_BUF_SIZE) {
		fake_netdev_rx(&to->f, &to->s, pkt_data(p), p->len);
	} else {
		struct pkt *q = pkt_alloc(&to->txbig);
		if (q) {
			memcpy(pkt_put(q, p->len), pkt_data(p), p->len);
			net_input(&to->s, &to->f.dev, q);
		}
	}
	pkt_free(p);
}

/* What the sender's NIC does to a TCP frame: fill a partial checksum; note sizes and
 * sequence numbers. Returns 0 to drop the frame (loss). */
static int nic_tx(struct wire *w, struct pkt *p)
{
	if (p->ext_len) {
		/* Only a scatter-gather device gets a tail elsewhere, only with TSO: in
		 * memory handed over by reference (no owner) or in a pinned copy chunk
		 * (an owner, never the reference buffer); it gathers it as DMA would. */
		CHECK(w->dev_sg);
		CHECK(p->flags & PKT_F_GSO_TCP4);
		for (unsigned i = 0; i < p->nfrags; i++) {
			bool in_ref = p->frag[i] >= w->ref_lo && p->frag[i] + p->frag_len[i] <= w->ref_hi;
			CHECK(in_ref == (pkt_frag_owner(p, i) == NULL));
		}
		w->sg_frames++;
		if (pkt_linearize(p) != 0) {
			CHECK(!"a big buffer holds its tail");
			return 0;
		}
	}
	const uint8_t *f = pkt_data(p);
	if (p->len < 14 + 20 + 20 || wire_get16(f + 12) != ETH_P_IP || f[23] != IPV4_PROTO_TCP)
		return 1;
	w->tcp_frames++;
	if (p->len > w->max_len)
		w->max_len = p->len;
	if (p->flags & PKT_F_CSUM_PARTIAL) {
		w->partial++;
		CHECK(w->dev_csum);             /* only a device that fills them gets them */
		CHECK_EQ(gso_csum_help(p), 0);
	}
	uint32_t seq = wire_get32(f + 34 + 4);
	size_t dlen = wire_get16(f + 16) - 20 - (size_t)(f[34 + 12] >> 4) * 4;
	w->data_frames += dlen != 0;
	if (dlen && w->high_set && (int32_t)(seq - w->high_seq) < 0 && p->len > 1514)
		w->rtx_big++;
	if (dlen && p->len >= sizeof(w->last_data))
		memcpy(w->last_data, f, sizeof(w->last_data));
	if (w->mtu_limit && p->len > 14 + w->mtu_limit)
		w->over_mtu++;
	if (dlen && (!w->high_set || (int32_t)(seq - w->high_seq) > 0)) {
		w->high_seq = seq;
		w->high_set = 1;
	}
	if (p->len > 1514 && ++w->big_frames == (uint64_t)w->drop_big_nth)
		return 0;
	return wrand(w) % 1000000 >= w->loss_ppm;
}

static int move(struct test_net *from, struct test_net *to, struct wire *w)
{
	struct pkt *p, *held = NULL;
	int moved = 0;
	while ((p = fake_netdev_pop(&from->f))) {
		fake_netdev_complete(&from->f, 1);
		moved++;
		if (w && !nic_tx(w, p)) {
			w->lost++;
			pkt_free(p);
			continue;
		}
		if (w && !held && wrand(w) % 1000000 < w->reorder_ppm) {
			held = p;               /* overtaken by the next frame */
			continue;
		}
		deliver(to, p);
		if (held) {
			deliver(to, held);
			held = NULL;
		}
	}
	if (held)
		deliver(to, held);
	net_input_flush(&to->s);                /* the burst ends */
	return moved;
}

static void step(struct test_net *a, struct test_net *b, struct wire *w)
{
	for (int round = 0; round < 50; round++) {
		int n = move(a, b, w);
		if (n + move(b, a, NULL) == 0)
			break;
	}
	tn_advance(a, MS);
	tn_advance(b, MS);
}

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 131u + (i >> 11));
}

struct bulk {
	struct tcp_sock *l, *cs, *ss;
	uint32_t sent, rcvd, bad;
	int steps;
	uint32_t ref_size;      /* references this long (0: the odd sizes as copies) */
	uint8_t refbuf[BULK];   /* tcp_send_ref memory: odd-length pieces */
};

/* Queues more of the stream: copies of odd sizes and references of odd sizes, so
 * chunk boundaries fall at odd offsets of the segments (copy-and-sum's byte lanes). */
static void feed(struct bulk *k)
{
	static const uint32_t sizes[] = { 7777, 333, 4097, 1, 12345, 999 };
	for (int i = 0; k->sent < BULK && i < 64; i++) {
		uint32_t n = sizes[(k->sent / 7) % 6];
		bool ref = (k->sent / 7) % 2;
		if (ref && k->ref_size)
			n = k->ref_size;
		if (n > BULK - k->sent)
			n = BULK - k->sent;
		long r;
		if (ref)
			r = tcp_send_ref(k->cs, k->refbuf + k->sent, n, NULL, NULL) == 0 ? (long)n : -1;
		else
			r = tcp_send(k->cs, k->refbuf + k->sent, n);
		if (r <= 0)
			break;
		k->sent += (uint32_t)r;
	}
}

static void drain(struct bulk *k)
{
	uint8_t buf[8192];
	long r;
	while (k->ss && (r = tcp_recv(k->ss, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < r; i++)
			k->bad += buf[i] != pattern(k->rcvd + (uint32_t)i);
		k->rcvd += (uint32_t)r;
	}
}

/* a sends BULK bytes to b; returns when b has them all or the step budget is spent. */
static void run_bulk(struct test_net *a, struct test_net *b, struct wire *w, struct bulk *k)
{
	for (uint32_t i = 0; i < BULK; i++)
		k->refbuf[i] = pattern(i);
	REQUIRE(tcp_listen(&b->s.tcp, 0, PORT, 0, NULL, NULL, &k->l) == 0);
	REQUIRE(tcp_connect(&a->s.tcp, 0, ip("10.0.0.2"), PORT, NULL, NULL, &k->cs) == 0);
	for (k->steps = 0; k->steps < 60000 && k->rcvd < BULK; k->steps++) {
		if (!k->ss)
			tcp_accept(k->l, &k->ss);
		if (tcp_ready(k->cs) & TCP_EV_CONNECTED)
			feed(k);
		step(a, b, w);
		drain(k);
	}
}

static void pair_tcp(struct test_net *a, struct test_net *b, int gso)
{
	tn_init_tcp(a, 1, "10.0.0.1/24");
	tn_init_tcp(b, 2, "10.0.0.2/24");
	a->s.tcp.cfg.gso = gso != 0;
	step(a, b, NULL);               /* address announcements */
}

static void finish(struct test_net *a, struct test_net *b, struct bulk *k)
{
	tcp_close(k->cs);
	if (k->ss)
		tcp_close(k->ss);
	tcp_close(k->l);
	CHECK_EQ(tn_fini(a), 0);
	CHECK_EQ(tn_fini(b), 0);
}

static uint64_t mib(struct test_net *t, enum tcp_mib id)
{
	return t->s.tcp.mib[id];
}

/* Software GSO (the fake device has no TSO): every wire frame fits the MTU, far fewer
 * trips through TCP/IP than wire segments, the stream arrives intact; with GSO off the
 * same transfer makes no super-segment. Loss and reordering on top. */
TEST(tcp_gso_bulk_sw_gso_on_off_lossy)
{
	static const struct { int gso; uint32_t loss, reorder; } cases[] = {
		{ 1, 0, 0 }, { 0, 0, 0 }, { 1, 10000, 20000 }, { 0, 10000, 20000 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct test_net a, b;
		static struct bulk k;
		memset(&k, 0, sizeof(k));
		struct wire w = { .rng = 0x9e3779b97f4a7c15ull + i, .loss_ppm = cases[i].loss,
				  .reorder_ppm = cases[i].reorder };
		pair_tcp(&a, &b, cases[i].gso);
		run_bulk(&a, &b, &w, &k);
		CHECK_EQ(k.rcvd, BULK);
		CHECK_EQ(k.bad, 0);
		CHECK(w.max_len <= 1514);               /* every wire segment fits the MTU */
		CHECK_EQ(w.partial, 0);                 /* no TX_CSUM: checksums are whole */
		CHECK_EQ(mib(&b, TCP_MIB_InCsumErrors), 0);
		CHECK_EQ(mib(&a, TCP_MIB_OutSegs), w.tcp_frames);   /* counted per wire segment */
		uint64_t calls = mib(&a, TCP_MIB_OutSegs) - mib(&a, TCP_MIB_GsoWireSegs) +
				 mib(&a, TCP_MIB_GsoSegs);
		if (cases[i].gso) {
			CHECK(mib(&a, TCP_MIB_GsoSegs) > 0);
			/* Super-segments carry most data (loss: recovery goes MSS by MSS). */
			CHECK(calls * (cases[i].loss ? 2 : 4) < w.tcp_frames);
		} else {
			CHECK_EQ(mib(&a, TCP_MIB_GsoSegs), 0);
			CHECK_EQ(calls, w.tcp_frames);
		}
		if (cases[i].loss)
			CHECK(w.lost > 0 && mib(&a, TCP_MIB_RetransSegs) > 0);
		printf("    gso=%d loss=%u: %u steps, %llu wire frames, %llu TCP/IP passes, %llu lost\n",
		       cases[i].gso, cases[i].loss, k.steps, (unsigned long long)w.tcp_frames,
		       (unsigned long long)calls, (unsigned long long)w.lost);
		finish(&a, &b, &k);
	}
}

/* A TSO device takes super-segments whole (one frame up to 64 KiB on the fake wire)
 * with partial checksums, and the receiver takes them whole (LRO). A lost super-frame is
 * repaired with MSS-sized segments, never another super-segment. */
TEST(tcp_gso_tso_device_and_large_receive)
{
	static struct test_net a, b;
	static struct bulk k;
	memset(&k, 0, sizeof(k));
	struct wire w = { .rng = 7, .drop_big_nth = 3, .dev_csum = 1 };
	pair_tcp(&a, &b, 1);
	a.f.dev.features = NETDEV_F_TSO4 | NETDEV_F_TX_CSUM;
	a.f.dev.tso_max = 65536;
	b.f.dev.features = NETDEV_F_RX_LRO;
	run_bulk(&a, &b, &w, &k);
	CHECK_EQ(k.rcvd, BULK);
	CHECK_EQ(k.bad, 0);
	CHECK(w.big_frames > 10);
	CHECK(w.max_len > 30000);
	CHECK(w.max_len <= 14 + 65535);
	CHECK_EQ(w.partial, w.data_frames);      /* every data segment left its checksum to the NIC */
	CHECK_EQ(w.lost, 1);
	CHECK(mib(&a, TCP_MIB_RetransSegs) > 0);
	CHECK_EQ(w.rtx_big, 0);
	CHECK_EQ(mib(&b, TCP_MIB_InCsumErrors), 0);
	CHECK_EQ(mib(&a, TCP_MIB_GsoNoBuf), 0);
	finish(&a, &b, &k);
}

/* A scatter-gather TSO device: super-segments of data queued by reference (with no
 * completion: memory that lives for ever) point at it instead of copying it, and so do
 * those of copied data (pinned chunks); the stream arrives intact over a lost
 * super-frame, and no pin is left once the frames are gone. */
TEST(tcp_gso_sg_device_reads_referenced_data_in_place)
{
	static struct test_net a, b;
	static struct bulk k;
	memset(&k, 0, sizeof(k));
	k.ref_size = 300000;
	struct wire w = { .rng = 9, .drop_big_nth = 4, .dev_csum = 1, .dev_sg = 1,
			  .ref_lo = k.refbuf, .ref_hi = k.refbuf + BULK };
	pair_tcp(&a, &b, 1);
	a.f.dev.features = NETDEV_F_TSO4 | NETDEV_F_TX_CSUM | NETDEV_F_SG;
	a.f.dev.tso_max = 65536;
	b.f.dev.features = NETDEV_F_RX_LRO;
	run_bulk(&a, &b, &w, &k);
	CHECK_EQ(k.rcvd, BULK);
	CHECK_EQ(k.bad, 0);
	CHECK(w.sg_frames > 5);
	CHECK_EQ(mib(&a, TCP_MIB_SgSegs), w.sg_frames);
	CHECK(mib(&a, TCP_MIB_SgCopySegs) > 0);  /* the copied part went by reference too */
	CHECK(mib(&a, TCP_MIB_SgCopySegs) < w.sg_frames);
	CHECK_EQ(a.s.tcp.sg_pins, 0);
	CHECK(mib(&a, TCP_MIB_RetransSegs) > 0);
	CHECK_EQ(mib(&b, TCP_MIB_InCsumErrors), 0);
	finish(&a, &b, &k);
}

/* The same device without TSO: TCP still builds super-segments by reference, and the
 * link layer joins each tail to its frame before software GSO cuts it. */
TEST(tcp_gso_sg_without_tso_linearized_for_software_gso)
{
	static struct test_net a, b;
	static struct bulk k;
	memset(&k, 0, sizeof(k));
	k.ref_size = 300000;
	struct wire w = { .rng = 11, .dev_csum = 1, .dev_sg = 0 };
	pair_tcp(&a, &b, 1);
	a.f.dev.features = NETDEV_F_TX_CSUM | NETDEV_F_SG;
	run_bulk(&a, &b, &w, &k);
	CHECK_EQ(k.rcvd, BULK);
	CHECK_EQ(k.bad, 0);
	CHECK(mib(&a, TCP_MIB_SgSegs) > 5);      /* made by reference, */
	CHECK_EQ(w.sg_frames, 0);                /* joined before the device saw them */
	CHECK(w.max_len <= 1514);
	finish(&a, &b, &k);
}

/* tso_max smaller than 64 KiB caps super-segments; the big pool running dry falls back
 * to MSS-sized segments, counted, and the transfer completes. */
TEST(tcp_gso_tso_max_and_empty_pool)
{
	static struct test_net a, b;
	static struct bulk k;
	memset(&k, 0, sizeof(k));
	struct wire w = { .rng = 11, .dev_csum = 1 };
	pair_tcp(&a, &b, 1);
	a.f.dev.features = NETDEV_F_TSO4 | NETDEV_F_TX_CSUM;
	a.f.dev.tso_max = 16384;
	/* Hold all but one big buffer: one super-segment at a time can be in flight. */
	struct pkt *hold[TN_TXBIG_SLOTS];
	int held = 0;
	while (held < TN_TXBIG_SLOTS - 1 && (hold[held] = pkt_alloc(&a.txbig)))
		held++;
	run_bulk(&a, &b, &w, &k);
	CHECK_EQ(k.rcvd, BULK);
	CHECK_EQ(k.bad, 0);
	CHECK(w.max_len <= 16384);
	CHECK(w.big_frames > 0);
	CHECK(mib(&a, TCP_MIB_GsoNoBuf) > 0);
	for (int i = 0; i < held; i++)
		pkt_free(hold[i]);
	printf("    tso_max 16384: %llu super-frames, max %llu B, %llu fallbacks\n",
	       (unsigned long long)w.big_frames, (unsigned long long)w.max_len,
	       (unsigned long long)mib(&a, TCP_MIB_GsoNoBuf));
	finish(&a, &b, &k);
}

/* A device without TX_CSUM gets whole checksums, computed in the copy; one with it gets
 * the pseudo-header sum in the field (PKT_F_CSUM_PARTIAL), which completes to a valid
 * checksum. Pure ACKs too. */
TEST(tcp_gso_partial_checksum_only_for_capable_device)
{
	for (int dev_csum = 0; dev_csum < 2; dev_csum++) {
		static struct test_net a, b;
		static struct bulk k;
		memset(&k, 0, sizeof(k));
		struct wire w = { .rng = 3, .dev_csum = dev_csum };
		pair_tcp(&a, &b, 0);
		a.f.dev.features = dev_csum ? NETDEV_F_TX_CSUM : 0;
		run_bulk(&a, &b, &w, &k);
		CHECK_EQ(k.rcvd, BULK);
		CHECK_EQ(k.bad, 0);
		CHECK_EQ(w.partial, dev_csum ? w.data_frames : 0);  /* control segments: summed by TCP */
		CHECK_EQ(mib(&b, TCP_MIB_InCsumErrors), 0);
		finish(&a, &b, &k);
	}
}

/* Receive coalescing between two full stacks: the receiver takes each batch of frames as
 * one burst; TCP input runs once per merged train and acknowledges once per burst; the
 * stream arrives intact, also over loss and reordering. */
TEST(tcp_gro_bulk_between_stacks)
{
	for (int lossy = 0; lossy < 2; lossy++) {
		uint64_t insegs[2], acks[2], frames[2];
		for (int gro = 0; gro < 2; gro++) {
			static struct test_net a, b;
			static struct bulk k;
			memset(&k, 0, sizeof(k));
			struct wire w = { .rng = 99, .loss_ppm = lossy ? 10000 : 0,
					  .reorder_ppm = lossy ? 20000 : 0 };
			pair_tcp(&a, &b, 0);
			burst_rx = gro;
			run_bulk(&a, &b, &w, &k);
			burst_rx = 0;
			CHECK_EQ(k.rcvd, BULK);
			CHECK_EQ(k.bad, 0);
			CHECK_EQ(mib(&b, TCP_MIB_InCsumErrors), 0);
			insegs[gro] = mib(&b, TCP_MIB_InSegs);
			acks[gro] = mib(&b, TCP_MIB_OutSegs);
			frames[gro] = w.tcp_frames;
			if (gro) {
				CHECK(b.s.gro.st.merged > 0);
				tn_clear(&b);
				CHECK_EQ(tn_cmd(&b, "nstat TcpExtSkiffGro*"), 0);
				CHECK(tn_out_has(&b, "TcpExtSkiffGroMerged"));
			} else
				CHECK_EQ(b.s.gro.st.merged, 0);
			printf("    gro=%d lossy=%d: %llu frames in, %llu TCP inputs, %llu ACKs, %llu merged\n",
			       gro, lossy, (unsigned long long)w.tcp_frames,
			       (unsigned long long)insegs[gro], (unsigned long long)acks[gro],
			       (unsigned long long)b.s.gro.st.merged);
			finish(&a, &b, &k);
		}
		CHECK(insegs[1] * 2 < insegs[0]);       /* TCP ran far less often */
		CHECK(acks[1] < acks[0]);
		(void)frames;
	}
}

/* A path MTU drop in the middle of a super-segment transfer (ICMP fragmentation needed,
 * RFC 1191): every wire segment from then on, new or retransmitted, fits the new MTU,
 * and the stream arrives intact. */
TEST(tcp_gso_pmtu_drop_mid_transfer)
{
	static struct test_net a, b;
	static struct bulk k;
	memset(&k, 0, sizeof(k));
	struct wire w = { .rng = 5 };
	pair_tcp(&a, &b, 1);
	for (uint32_t i = 0; i < BULK; i++)
		k.refbuf[i] = pattern(i);
	REQUIRE(tcp_listen(&b.s.tcp, 0, PORT, 0, NULL, NULL, &k.l) == 0);
	REQUIRE(tcp_connect(&a.s.tcp, 0, ip("10.0.0.2"), PORT, NULL, NULL, &k.cs) == 0);
	int injected = 0;
	for (k.steps = 0; k.steps < 60000 && k.rcvd < BULK; k.steps++) {
		if (!k.ss)
			tcp_accept(k.l, &k.ss);
		if (tcp_ready(k.cs) & TCP_EV_CONNECTED)
			feed(&k);
		step(&a, &b, &w);
		drain(&k);
		if (!injected && k.rcvd > BULK / 4) {
			/* From b's side of the path: type 3 code 4, next-hop MTU 1000, quoting
			 * the newest data segment a sent (RFC 792, RFC 1191 §4). */
			uint8_t icmp[8 + 28], f[128];
			memset(icmp, 0, 8);
			icmp[0] = 3;
			icmp[1] = 4;
			wire_put16(icmp + 6, 1000);
			memcpy(icmp + 8, w.last_data + 14, 28);
			wire_put16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
			size_t n = frame_ipv4(f, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
					      IPV4_PROTO_ICMP, icmp, sizeof(icmp));
			fake_netdev_rx(&a.f, &a.s, f, n);
			w.mtu_limit = 1000;
			injected = 1;
		}
	}
	CHECK(injected);
	CHECK_EQ(k.rcvd, BULK);
	CHECK_EQ(k.bad, 0);
	CHECK_EQ(w.over_mtu, 0);
	struct tcp_conn_info info;
	REQUIRE(tcp_get_info(k.cs, &info) == 0);
	CHECK_EQ(info.pmtu, 1000);              /* the error was believed */
	CHECK(mib(&a, TCP_MIB_GsoSegs) > 0);
	finish(&a, &b, &k);
}
