/*
 * TCP hardening regressions (the hostile-input review, issue 9): retransmissions sized
 * like new data, memory budget and orphans, per-peer caps, shedding, and peer-supplied
 * numbers clamped as Linux does. Each test failed before its fix.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "tests/unit/fake_netdev.h"
#include "net/tcp_int.h"
#include "net/ipv4.h"
#include <stdlib.h>

static uint8_t blob[65536];

static void blob_fill(void)
{
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
}

/* ---- retransmissions fit the MTU ------------------------------------------------------ */

/* An RTO retransmission of a full segment while we hold out-of-order data (so our ACKs
 * carry SACK blocks on top of timestamps) must still fit the MTU: it is sized like new
 * data, mss minus the option room. */
TEST(tcp_harden_rto_rtx_leaves_room_for_sack_blocks)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	th_init(&h, NULL);
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS, .mss = 1460,
			      .tsval = 100 };
	c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	REQUIRE(c->sack_ok && c->ts_ok);
	blob_fill();
	REQUIRE(tcp_send(c, blob, 3 * c->mss) == 3 * (long)c->mss);
	int first = 0;
	while (th_pop(&h, &s))
		first += s.dlen > 0;
	CHECK_EQ(first, 3);
	uint32_t save = p.seq;
	p.seq = save + 100;                             /* a hole: we hold one OOO range */
	peer_send(&h, &p, TCP_ACK, blob, 50);
	p.seq = save;
	REQUIRE(c->nooo == 1);
	th_drain(&h);
	th_advance(&h, 1500 * TH_MS);                   /* everything lost: the RTO fires */
	int rtx = 0, big = 0;
	while (th_pop(&h, &s)) {
		if (!s.dlen)
			continue;
		rtx++;
		CHECK(s.h.opt.has & TCP_HAS_SACK);
		big += 20u + s.h.doff + s.dlen > h.mtu;
	}
	CHECK(rtx > 0);
	CHECK_EQ(big, 0);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* The same through SACK recovery (RFC 6675 NextSeg -> rtx_range): holes resent while
 * our own ACKs carry SACK blocks stay within the MTU. */
TEST(tcp_harden_sack_recovery_rtx_fits_mtu)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	th_init(&h, NULL);
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS, .mss = 1460,
			      .tsval = 100 };
	c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	blob_fill();
	REQUIRE(tcp_send(c, blob, 8 * c->mss) == 8 * (long)c->mss);
	uint32_t seqs[16];
	int n = 0;
	while (th_pop(&h, &s))
		if (s.dlen && n < 16)
			seqs[n++] = s.h.seq;
	REQUIRE(n >= 8);
	uint32_t save = p.seq;
	p.seq = save + 100;                             /* we hold OOO data: our ACKs SACK */
	peer_send(&h, &p, TCP_ACK, blob, 50);
	p.seq = save;
	th_drain(&h);
	/* The peer lost the first segment and SACKs the rest: three dupacks. */
	p.sack_blocks = true;
	p.nsack = 1;
	p.ack = seqs[0];
	for (int k = 0; k < 4; k++) {
		p.sack[0] = (struct tcp_sack_block){ seqs[1], seqs[2 + k] + c->mss };
		peer_send(&h, &p, TCP_ACK, NULL, 0);
	}
	int rtx = 0, big = 0;
	while (th_pop(&h, &s)) {
		if (!s.dlen)
			continue;
		rtx += s.h.seq == seqs[0];
		big += 20u + s.h.doff + s.dlen > h.mtu;
	}
	CHECK(rtx >= 1);
	CHECK_EQ(big, 0);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* End to end through the real IPv4 layer (DF set, no fragmentation): before the fix
 * IPv4 dropped every retransmission (DropIpTooBig) and the connection stalled. */
static void *e_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void e_free(void *ctx, void *p) { (void)ctx; free(p); }
static uint64_t e_random(void *ctx)
{
	uint64_t *x = &((struct test_net *)ctx)->rng;
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static void e_seg(struct test_net *t, const struct tcp_hdr *h, const void *d, size_t n)
{
	uint8_t seg[1600], f[1700];
	size_t hl = tcp_wire_emit(h, seg, sizeof(seg));
	if (n)
		memcpy(seg + hl, d, n);
	tcp_wire_set_csum(seg, hl + n, ip("10.0.0.2"), ip("10.0.0.1"));
	size_t fl = frame_ipv4(f, t->f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
			       IPV4_PROTO_TCP, seg, hl + n);
	fake_netdev_rx(&t->f, &t->s, f, fl);
}

/* Opens 10.0.0.2:40000 -> 10.0.0.1:80 with MSS, SACK and timestamps; returns it. */
static struct tcp_sock *e_open(struct test_net *t, struct tcp_sock **l)
{
	uint8_t f[128], buf[2048];
	struct frame fr;
	struct tcp_sock *c = NULL;
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t->f, &t->s, f, n);
	fake_netdev_drop_all(&t->f);
	if (tcp_listen(&t->s.tcp, 0, 80, 0, NULL, NULL, l) != 0)
		return NULL;
	struct tcp_hdr h = { .sport = 40000, .dport = 80, .seq = 1000, .flags = TCP_SYN, .wnd = 65535 };
	h.opt = (struct tcp_opts){ .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS, .mss = 1460,
				   .tsval = 7 };
	e_seg(t, &h, NULL, 0);
	struct tcp_hdr sa;
	if (!tn_next(t, &fr, buf) || fr.ip.proto != IPV4_PROTO_TCP ||
	    tcp_wire_parse(fr.ipdata, fr.iplen, &sa) != WIRE_OK)
		return NULL;
	h = (struct tcp_hdr){ .sport = 40000, .dport = 80, .seq = 1001, .ack = sa.seq + 1,
			      .flags = TCP_ACK, .wnd = 65535 };
	h.opt = (struct tcp_opts){ .has = TCP_HAS_TS, .tsval = 8, .tsecr = sa.opt.tsval };
	e_seg(t, &h, NULL, 0);
	return tcp_accept(*l, &c) == 0 ? c : NULL;
}

TEST(tcp_harden_rtx_not_dropped_by_ipv4)
{
	struct test_net t;
	uint8_t buf[2048];
	struct frame fr;
	memset(&t, 0, sizeof(t));
	t.rng = 0x1234567887654321ull;
	struct net_config cfg = { .addr = ip("10.0.0.1"), .prefix_len = 24, .random = e_random,
				  .mem_alloc = e_alloc, .mem_free = e_free, .ctx = &t };
	fake_netdev_init(&t.f, "eth0", 1, 512);
	net_init(&t.s, &cfg);
	net_attach(&t.s, &t.f.dev);
	tn_advance(&t, 0);
	struct tcp_sock *l, *c = e_open(&t, &l);
	REQUIRE(c);
	static uint8_t data[3 * 1448];
	REQUIRE(tcp_send(c, data, sizeof(data)) == (long)sizeof(data));
	tn_advance(&t, 0);
	fake_netdev_drop_all(&t.f);                     /* all three segments lost */
	struct tcp_hdr h = { .sport = 40000, .dport = 80, .seq = 1001 + 100, .ack = 0,
			     .flags = TCP_ACK, .wnd = 65535 };
	h.ack = c->snd_una;
	e_seg(&t, &h, data, 50);                        /* the peer's data, out of order */
	fake_netdev_drop_all(&t.f);
	uint64_t too_big = t.s.drops[DROP_IP_TOO_BIG];
	int data_frames = 0;
	for (int i = 0; i < 30; i++) {                  /* 30 s: the RTO fires several times */
		tn_advance(&t, NET_NS_PER_SEC);
		while (tn_next(&t, &fr, buf)) {
			struct tcp_hdr o;
			if (fr.ip.proto == IPV4_PROTO_TCP &&
			    tcp_wire_parse(fr.ipdata, fr.iplen, &o) == WIRE_OK && fr.iplen > o.doff)
				data_frames++;
		}
	}
	CHECK(data_frames > 0);
	CHECK_EQ(t.s.drops[DROP_IP_TOO_BIG] - too_big, 0);
	tcp_abort(c);
	tcp_close(l);
	fake_netdev_drop_all(&t.f);
	tcp_shutdown_stack(&t.s.tcp);
	CHECK_EQ(tn_fini(&t), 0);
}
