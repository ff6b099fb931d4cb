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
#include <string.h>

static uint8_t blob[65536];

static void blob_fill(void)
{
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
}

/* ---- retransmissions fit the MTU ------------------------------------------------------ */

/* A connection with SACK and timestamps that has sent nseg full segments (popped) and
 * holds one out-of-order range from the peer, so its ACKs carry a SACK block. */
static struct tcp_sock *sack_ts_conn(struct th *h, struct th_peer *p, struct tcp_sock **l, int nseg,
				     uint32_t *seqs)
{
	struct th_seg s;
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS, .mss = 1460,
			      .tsval = 100 };
	th_init(h, NULL);
	struct tcp_sock *c = th_estab(h, p, l, &o, 0);
	if (!c || !c->sack_ok || !c->ts_ok)
		return NULL;
	blob_fill();
	if (tcp_send(c, blob, (size_t)nseg * c->mss) != nseg * (long)c->mss)
		return NULL;
	int n = 0;
	while (th_pop(h, &s))
		if (s.dlen && n < nseg)
			seqs[n++] = s.h.seq;
	uint32_t save = p->seq;
	p->seq = save + 100;                            /* a hole: we hold one OOO range */
	peer_send(h, p, TCP_ACK, blob, 50);
	p->seq = save;
	th_drain(h);
	return n == nseg && c->nooo == 1 ? c : NULL;
}

/* An RTO retransmission of a full segment while we hold out-of-order data (so our ACKs
 * carry SACK blocks on top of timestamps) must still fit the MTU: it is sized like new
 * data, mss minus the option room. */
TEST(tcp_harden_rto_rtx_leaves_room_for_sack_blocks)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	uint32_t seqs[3];
	c = sack_ts_conn(&h, &p, &l, 3, seqs);
	REQUIRE(c);
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
	uint32_t seqs[8];
	c = sack_ts_conn(&h, &p, &l, 8, seqs);
	REQUIRE(c);
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
	uint64_t too_big = t.s.core.drops[DROP_IP_TOO_BIG];
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
	CHECK_EQ(t.s.core.drops[DROP_IP_TOO_BIG] - too_big, 0);
	tcp_abort(c);
	tcp_close(l);
	fake_netdev_drop_all(&t.f);
	tcp_shutdown_stack(&t.s.tcp);
	CHECK_EQ(tn_fini(&t), 0);
}

/* ---- memory budget, orphans, per-peer caps ------------------------------------------- */

static const char resp503[] = "HTTP/1.1 503 Service Unavailable\r\n\r\n";

/* A connection whose peer has sent one byte the application has not read: its receive
 * buffer exists (buffers are taken at the first byte, not at the handshake). */
static struct tcp_sock *open_holding(struct th *h, struct tcp_sock *l, struct th_peer *p, uint16_t port)
{
	struct tcp_sock *c = th_handshake(h, l, p, 0, port);
	if (c) {
		peer_send(h, p, TCP_ACK | TCP_PSH, "x", 1);
		th_drain(h);
	}
	return c;
}

/* The budget comes from the heap that backs mem_alloc, not from max_conns x buffers
 * (~135 MB against an 8 MiB kernel heap before). */
TEST(tcp_harden_budget_from_heap)
{
	struct tcp_config cfg;
	struct th h;
	tcp_config_default(&cfg);
	CHECK_EQ(cfg.heap_bytes, 8ull << 20);
	th_init(&h, &cfg);
	CHECK_EQ(h.t.cfg.mem_max, 4ull << 20);
	CHECK_EQ(h.t.cfg.max_orphans, 256);
	CHECK_EQ(h.t.cfg.max_conns_per_peer, 256);
	CHECK_EQ(h.t.cfg.orphan_retries, 8);
	th_fini(&h);
	cfg.heap_bytes = 2ull << 20;
	th_init(&h, &cfg);
	CHECK_EQ(h.t.cfg.mem_max, 1ull << 20);
	th_fini(&h);
	cfg.mem_max = 123456;                           /* an explicit budget stays */
	th_init(&h, &cfg);
	CHECK_EQ(h.t.cfg.mem_max, 123456);
	th_fini(&h);
}

/* An orphan (closed by the app, its data unacknowledged, peer silent) gives back its
 * receive buffer at once and is given up after the orphan series, not retries2
 * (~800 s before). */
TEST(tcp_harden_orphan_frees_rbuf_and_gives_up_early)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l;
	th_init(&h, NULL);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	uint64_t base = h.t.mem_used;
	struct tcp_sock *c = open_holding(&h, l, &p, 40000);
	REQUIRE(c);
	char x;
	REQUIRE(tcp_recv(c, &x, 1) == 1);               /* read: a close sends FIN, not RST */
	uint32_t rbuf = c->rbuf_size;
	REQUIRE(tcp_send(c, resp503, sizeof(resp503) - 1) > 0);
	uint64_t open_mem = h.t.mem_used;
	tcp_close(c);
	th_drain(&h);
	CHECK_EQ(h.t.norphans, 1);
	CHECK_EQ(h.t.mem_used, open_mem - rbuf);
	uint64_t secs = 0;
	while (h.t.nconns && secs < 3600) {
		th_advance(&h, TH_SEC);
		th_drain(&h);
		secs++;
	}
	CHECK(secs < 120);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnTimeout], 1);
	CHECK_EQ(h.t.norphans, 0);
	CHECK_EQ(h.t.mem_used, base);
	tcp_close(l);
	th_fini(&h);
}

/* Past max_orphans the next close resets (Linux tcp_too_many_orphans). */
TEST(tcp_harden_orphan_limit_resets_at_close)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p;
	struct th_seg s;
	struct tcp_sock *l;
	tcp_config_default(&cfg);
	cfg.max_orphans = 2;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	for (int i = 0; i < 3; i++) {
		struct tcp_sock *c = th_handshake(&h, l, &p, 0, (uint16_t)(40000 + i));
		REQUIRE(c);
		REQUIRE(tcp_send(c, resp503, sizeof(resp503) - 1) > 0);
		th_drain(&h);
		tcp_close(c);
		if (i < 2)
			th_drain(&h);           /* their FINs */
	}
	POP(&h, s);
	CHECK(s.h.flags & TCP_RST);                     /* no FIN first */
	CHECK_EQ(s.h.dport, 40002);
	NONE(&h);
	CHECK_EQ(h.t.norphans, 2);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnMemory], 1);
	for (int i = 0; i < 200 && h.t.nconns; i++)
		th_advance(&h, TH_SEC);
	CHECK_EQ(h.t.nconns, 0);
	tcp_close(l);
	th_fini(&h);
}

/* New data for an orphan is answered with a RST (Linux TCPAbortOnData), not ACKed into
 * a buffer nobody reads. */
TEST(tcp_harden_orphan_data_resets)
{
	struct th h;
	struct th_peer p;
	struct th_seg s;
	struct tcp_sock *l, *c;
	th_init(&h, NULL);
	c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	tcp_close(c);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK | TCP_FIN);
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* -> FIN-WAIT-2 */
	NONE(&h);
	peer_send(&h, &p, TCP_ACK, "late", 4);
	POP(&h, s);
	CHECK(s.h.flags & TCP_RST);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnData], 1);
	CHECK_EQ(h.t.nconns, 0);
	tcp_close(l);
	th_fini(&h);
}

/* One remote address holds at most max_conns_per_peer TCBs; others still get in. */
TEST(tcp_harden_per_peer_cap)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c[6];
	tcp_config_default(&cfg);
	cfg.max_conns_per_peer = 4;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	for (int i = 0; i < 4; i++)
		REQUIRE((c[i] = th_handshake(&h, l, &p, 0, (uint16_t)(40000 + i))) != NULL);
	CHECK(th_handshake(&h, l, &p, 0, 40004) == NULL);
	CHECK_EQ(h.t.mib[TCP_MIB_PeerConnLimit], 1);
	c[4] = th_handshake(&h, l, &p, TH_PEER + 1, 40004);
	CHECK(c[4] != NULL);
	tcp_abort(c[0]);                                /* a slot of its own frees again */
	c[5] = th_handshake(&h, l, &p, 0, 40005);
	CHECK(c[5] != NULL);
	for (int i = 1; i < 6; i++)
		if (c[i])
			tcp_abort(c[i]);
	tcp_close(l);
	th_fini(&h);
}

/* At max_conns an orphan makes room for a new connection (counted, reset). */
TEST(tcp_harden_conn_limit_sheds_orphan)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p;
	struct tcp_sock *l;
	tcp_config_default(&cfg);
	cfg.max_conns = 4;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	for (int i = 0; i < 4; i++) {
		struct tcp_sock *c = th_handshake(&h, l, &p, 0, (uint16_t)(40000 + i));
		REQUIRE(c);
		REQUIRE(tcp_send(c, resp503, sizeof(resp503) - 1) > 0);
		tcp_close(c);
		th_advance(&h, TH_MS);
	}
	CHECK_EQ(h.t.norphans, 4);
	struct tcp_sock *n = th_handshake(&h, l, &p, TH_PEER + 1, 41000);
	CHECK(n != NULL);
	CHECK_EQ(h.t.mib[TCP_MIB_OrphanShed], 1);
	CHECK_EQ(h.t.norphans, 3);
	if (n)
		tcp_abort(n);
	tcp_close(l);
	th_fini(&h);
}

/* Past half the budget new connections get the smallest receive buffer (fixed before
 * their first window), so many more fit; before, the 7th of these failed. */
TEST(tcp_harden_memory_pressure_small_rbuf)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c[12];
	tcp_config_default(&cfg);
	cfg.mem_max = 400 * 1024;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	int n = 0;
	for (int i = 0; i < 12; i++) {
		c[i] = open_holding(&h, l, &p, (uint16_t)(40000 + i));
		n += c[i] != NULL;
	}
	CHECK_EQ(n, 12);
	CHECK_EQ(c[0]->rbuf_size, 65536);
	CHECK_EQ(c[11]->rbuf_size, TCP_RBUF_MIN);
	CHECK(h.t.mib[TCP_MIB_TCPMemoryPressures] >= 1);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnMemory], 0);
	CHECK(h.t.mem_used <= h.t.cfg.mem_max);
	for (int i = 0; i < 12; i++)
		if (c[i])
			tcp_abort(c[i]);
	th_advance(&h, TH_MS);                          /* reaped */
	CHECK(!h.t.mem_pressure);
	tcp_close(l);
	th_fini(&h);
}

/* Under memory pressure a connection may queue only TCP_SNDBUF_MIN more copied bytes:
 * peers that never read cannot eat the budget with 64 KiB each. */
TEST(tcp_harden_memory_pressure_small_sndbuf)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c[4];
	blob_fill();
	tcp_config_default(&cfg);
	cfg.mem_max = 400 * 1024;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	for (int i = 0; i < 4; i++)
		REQUIRE((c[i] = open_holding(&h, l, &p, (uint16_t)(40000 + i))) != NULL);
	REQUIRE(h.t.mem_pressure);
	CHECK_EQ(tcp_sndbuf(c[3]), TCP_SNDBUF_MIN);
	CHECK_EQ(tcp_send(c[3], blob, sizeof(blob)), TCP_SNDBUF_MIN);
	CHECK(h.t.mem_used <= h.t.cfg.mem_max);
	for (int i = 0; i < 4; i++)
		tcp_abort(c[i]);
	tcp_close(l);
	th_fini(&h);
}

/* Under memory pressure an orphan whose RTO fires is reset, not retried (Linux
 * tcp_out_of_resources). */
TEST(tcp_harden_orphan_reset_on_rto_under_pressure)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p;
	struct th_seg s;
	struct tcp_sock *l, *c[3];
	tcp_config_default(&cfg);
	cfg.mem_max = 200 * 1024;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	for (int i = 0; i < 3; i++)
		REQUIRE((c[i] = open_holding(&h, l, &p, (uint16_t)(40000 + i))) != NULL);
	char x;
	REQUIRE(tcp_recv(c[2], &x, 1) == 1);            /* read: a close sends FIN, not RST */
	REQUIRE(tcp_send(c[2], resp503, sizeof(resp503) - 1) > 0);
	tcp_close(c[2]);
	th_drain(&h);
	REQUIRE(h.t.mem_pressure);
	CHECK_EQ(h.t.norphans, 1);
	th_advance(&h, 1500 * TH_MS);                   /* the first RTO */
	bool rst = false;
	while (th_pop(&h, &s))
		rst |= (s.h.flags & TCP_RST) && s.h.dport == 40002;
	CHECK(rst);
	CHECK_EQ(h.t.norphans, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnMemory], 1);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnTimeout], 0);
	tcp_abort(c[0]);
	tcp_abort(c[1]);
	tcp_close(l);
	th_fini(&h);
}

/* The reproducer's flood: 400 clients each get a 503 and are closed while they never
 * ACK. Every one is accepted, memory stays inside the budget, a new client is served at
 * once, and five minutes later everything is back to the baseline. (Before: about 120
 * orphans exhausted an 8 MiB budget and new connections failed for minutes.) */
TEST(tcp_harden_orphan_flood_new_client_served)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l;
	th_init(&h, NULL);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	uint64_t base = h.t.mem_used, peak = 0;
	int opened = 0;
	for (int i = 0; i < 400; i++) {
		struct tcp_sock *c = th_handshake(&h, l, &p, 0x0b000000u + (uint32_t)i, 20000);
		if (!c)
			break;
		tcp_send(c, resp503, sizeof(resp503) - 1);
		tcp_close(c);
		th_drain(&h);
		opened++;
		th_advance(&h, 10 * TH_MS);
		th_drain(&h);
		peak = h.t.mem_used > peak ? h.t.mem_used : peak;
	}
	CHECK_EQ(opened, 400);
	CHECK(peak <= h.t.cfg.mem_max);
	CHECK(h.t.norphans <= h.t.cfg.max_orphans);
	struct tcp_sock *c = th_handshake(&h, l, &p, 0, 60000);
	CHECK(c != NULL);
	if (c)
		tcp_abort(c);
	for (int s = 0; s < 300; s++) {
		th_advance(&h, TH_SEC);
		th_drain(&h);
	}
	CHECK_EQ(h.t.nconns, 0);
	CHECK_EQ(h.t.norphans, 0);
	CHECK_EQ(h.t.mem_used, base);
	tcp_close(l);
	th_fini(&h);
}

/* ---- peer-supplied numbers and window edges --------------------------------------------- */

/* Fills our receive window from the peer in full segments up to `bytes`. */
static void fill_window(struct th *h, struct th_peer *p, uint32_t bytes)
{
	while (bytes) {
		uint32_t n = bytes < 1460 ? bytes : 1460;
		peer_send(h, p, TCP_ACK, blob, n);
		bytes -= n;
	}
	th_drain(h);
}

/* RFC 9293 §3.10.7.4 Table 6: a segment ending exactly at RCV.NXT + RCV.WND is taken
 * whole; one octet beyond the window is not taken (the rest is). Before, the buffer's
 * 65536 bytes were accepted against an advertised 65535. */
TEST(tcp_harden_window_right_edge_exact)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	blob_fill();
	for (int beyond = 0; beyond <= 1; beyond++) {
		th_init(&h, NULL);
		c = th_estab(&h, &p, &l, NULL, 0);      /* no window scaling: 65535 */
		REQUIRE(c);
		uint32_t wnd = c->rcv_adv - c->rcv_nxt, nxt0 = c->rcv_nxt;
		CHECK_EQ(wnd, 65535);
		fill_window(&h, &p, wnd - 1000);
		peer_send(&h, &p, TCP_ACK, blob, 1000 + beyond);
		CHECK_EQ(c->rcv_nxt - nxt0, wnd);       /* up to the edge, never past it */
		if (beyond) {
			POP(&h, s);                     /* the cut is ACKed at once */
			CHECK_EQ(s.h.ack, nxt0 + wnd);
			CHECK_EQ(s.h.wnd, 0);
		}
		tcp_abort(c);
		tcp_close(l);
		th_fini(&h);
	}
}

/* Zero window (§3.10.7.4): a segment at RCV.NXT still delivers its ACK (and RST), not
 * its text; a zero-length segment elsewhere is unacceptable; a RST at RCV.NXT resets. */
TEST(tcp_harden_zero_window_rules)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	blob_fill();
	th_init(&h, NULL);
	c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	fill_window(&h, &p, 65535);
	REQUIRE(tcp_send(c, "out", 3) == 3);
	POP(&h, s);
	uint32_t una = c->snd_una;
	p.ack = s.h.seq + 3;
	uint64_t zw = h.t.mib[TCP_MIB_TCPZeroWindowDrop];
	peer_send(&h, &p, TCP_ACK, "xy", 2);            /* at RCV.NXT: ACK taken, text not */
	CHECK_EQ(c->snd_una, una + 3);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPZeroWindowDrop], zw + 1);
	p.seq -= 2;
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(s.h.wnd, 0);
	p.seq += 1;                                     /* beyond RCV.NXT with a zero window */
	th_advance(&h, TH_SEC);                         /* past the out-of-window ACK spacing */
	th_drain(&h);
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	POP(&h, s);                                     /* unacceptable: just our ACK */
	CHECK_EQ(s.h.ack, p.seq - 1);
	CHECK_EQ(c->state, TCP_ESTABLISHED);
	p.seq -= 1;
	peer_send(&h, &p, TCP_RST, NULL, 0);            /* RST at RCV.NXT */
	CHECK_EQ(c->state, TCP_CLOSED);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

/* RFC 5961 whatever options the segment carries: with timestamps and SACK negotiated,
 * an in-window RST carrying TS and SACK blocks, and a SYN carrying every SYN option,
 * each get a challenge ACK and change nothing, in every synchronized state. */
TEST(tcp_harden_rfc5961_with_options_every_state)
{
	static const char *const states[] = { "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
					      "CLOSING", "LAST-ACK", "TIME-WAIT" };
	const struct tcp_opts syn_opts = { .has = TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS,
					   .mss = 1460, .ws = 7, .tsval = 100 };
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		struct th h;
		struct th_peer p;
		struct th_seg s;
		struct tcp_conn_info i;
		th_init(&h, NULL);
		struct tcp_sock *l = NULL, *c = th_into_state(&h, &p, &l, states[k], &syn_opts);
		REQUIRE(c);
		REQUIRE(c->ts_ok && c->sack_ok);
		uint32_t nxt = p.seq;
		bool tw = !strcmp(states[k], "TIME-WAIT");
		struct tcp_opts o = { .has = TCP_HAS_TS | TCP_HAS_SACK, .tsval = p.tsval, .nsack = 1 };
		o.sack[0] = (struct tcp_sack_block){ c->snd_una, c->snd_una + 1 };
		h.now += TH_SEC;
		p.seq = nxt + 10;
		peer_send_opts(&h, &p, TCP_RST | TCP_ACK, &o, NULL, 0);
		if (!th_pop(&h, &s) || s.h.flags != TCP_ACK || s.h.ack != nxt)
			test_fail(__FILE__, __LINE__, states[k]);
		tcp_get_info(c, &i);
		CHECK_STR(i.state, states[k]);
		h.now += TH_SEC;
		p.seq = tw ? nxt - 5 : nxt + 5;
		struct tcp_opts so = syn_opts;
		so.tsval = p.tsval;                     /* not newer: TIME-WAIT may not reopen */
		peer_send_opts(&h, &p, TCP_SYN, &so, "data", 4);
		if (!th_pop(&h, &s) || s.h.flags != TCP_ACK || s.h.ack != nxt)
			test_fail(__FILE__, __LINE__, states[k]);
		tcp_get_info(c, &i);
		CHECK_STR(i.state, states[k]);
		CHECK_EQ(c->rcv_nxt, nxt);              /* the SYN's text was not taken */
		if (c->app_owned)
			tcp_abort(c);
		if (l)
			tcp_close(l);
		th_fini(&h);
	}
}

/* A peer MSS below the floor is raised to TCP_MIN_MSS (88; Linux's tcp_min_snd_mss 48,
 * CVE-2019-11479): never a storm of tiny segments, and counted. */
TEST(tcp_harden_peer_mss_floor)
{
	struct th h;
	struct th_peer p;
	struct th_seg s;
	struct tcp_sock *l, *c;
	blob_fill();
	th_init(&h, NULL);
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_TS | TCP_HAS_SACK_PERM, .mss = 1, .tsval = 9 };
	c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	CHECK_EQ(c->mss, TCP_MIN_MSS);
	CHECK_EQ(h.t.mib[TCP_MIB_PeerMssClamped], 1);
	REQUIRE(tcp_send(c, blob, 880) == 880);
	int n = 0;
	while (th_pop(&h, &s))
		if (s.dlen) {
			n++;
			CHECK(s.dlen >= 48 && s.dlen <= TCP_MIN_MSS);
		}
	CHECK(n >= 1 && n <= 10);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* Window scale above 14 is used as 14 (RFC 7323 §2.3). */
TEST(tcp_harden_window_scale_clamped)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	th_init(&h, NULL);
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_WS, .mss = 1460, .ws = 200 };
	c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	CHECK(c->ws_ok);
	CHECK_EQ(c->snd_wscale, 14);
	p.wnd = 0xffff;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK_EQ(c->snd_wnd, 0xffffu << 14);            /* < 2^30: no sequence-space wrap */
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* SACK blocks outside [SND.UNA, SND.MAX], inverted or longer than the flight are
 * discarded and counted; none reaches the scoreboard. */
TEST(tcp_harden_sack_blocks_validated)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	blob_fill();
	th_init(&h, NULL);
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_SACK_PERM, .mss = 1460 };
	c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	REQUIRE(tcp_send(c, blob, 4000) == 4000);
	th_drain(&h);
	uint32_t una = c->snd_una, max = c->snd_max;
	const struct tcp_sack_block bad[] = {
		{ max, max + 100 },                     /* above SND.MAX */
		{ una - 200, una },                     /* below SND.UNA */
		{ una + 500, una + 100 },               /* inverted */
		{ una + 1, una + 1 },                   /* empty */
		{ una - 0x40000000u, una + 10 },        /* longer than the flight */
	};
	uint64_t d0 = h.t.mib[TCP_MIB_TCPSACKDiscard];
	p.ack = una;
	p.sack_blocks = true;
	p.nsack = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.sack[0] = bad[i];
		peer_send(&h, &p, TCP_ACK, NULL, 0);
	}
	CHECK_EQ(h.t.mib[TCP_MIB_TCPSACKDiscard] - d0, 5);
	CHECK_EQ(c->nsb, 0);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* An urgent pointer past anything the buffer could ever hold is ignored and counted
 * (it may lie beyond the current window: urgent mode is signalled even into a zero
 * window, MUST-66); a sane one is reported. */
TEST(tcp_harden_urgent_pointer_validated)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	th_init(&h, NULL);
	c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	struct tcp_hdr hd = { .sport = p.port, .dport = p.lport, .seq = p.seq + 1000, .ack = p.ack,
			      .flags = TCP_ACK | TCP_URG, .wnd = 65535, .urg = 0xffff };
	uint64_t ign = h.t.mib[TCP_MIB_UrgIgnored];
	th_inject(&h, p.addr, TH_ADDR, &hd, "ab", 2);   /* RCV.NXT + 1000 + 65535: past the buffer */
	CHECK_EQ(h.t.mib[TCP_MIB_UrgIgnored], ign + 1);
	CHECK(!(h.events & TCP_EV_URGENT));
	hd.seq = p.seq;
	hd.urg = 2;
	th_inject(&h, p.addr, TH_ADDR, &hd, "cd", 2);
	CHECK(h.events & TCP_EV_URGENT);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* Receive buffers are taken at the first byte: a flood of connections that never send
 * costs TCBs only. Under pressure a buffer the application emptied goes back, and the
 * next byte brings one of the same size (the announced window never shrinks). */
TEST(tcp_harden_rbuf_taken_at_first_byte_and_trimmed)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p[40];
	struct tcp_sock *l, *c[40];
	tcp_config_default(&cfg);
	cfg.mem_max = 400 * 1024;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	uint64_t base = h.t.mem_used;
	for (int i = 0; i < 40; i++)
		REQUIRE((c[i] = th_handshake(&h, l, &p[i], 0, (uint16_t)(40000 + i))) != NULL);
	CHECK(h.t.mem_used - base <= 40 * (sizeof(struct tcp_sock) + 64));
	CHECK(!h.t.mem_pressure);
	CHECK(c[0]->rbuf == NULL);
	for (int i = 0; i < 8; i++) {                   /* 8 x 64 KiB: past half the budget */
		peer_send(&h, &p[i], TCP_ACK | TCP_PSH, "x", 1);
		th_drain(&h);
	}
	CHECK(c[0]->rbuf != NULL);
	REQUIRE(h.t.mem_pressure);
	uint32_t size = c[0]->rbuf_size;
	char x;
	REQUIRE(tcp_recv(c[0], &x, 1) == 1);
	CHECK(c[0]->rbuf == NULL);                      /* emptied under pressure: back */
	peer_send(&h, &p[0], TCP_ACK | TCP_PSH, "y", 1);
	th_drain(&h);
	REQUIRE(tcp_recv(c[0], &x, 1) == 1);
	CHECK_EQ(x, 'y');
	CHECK_EQ(c[0]->rbuf_size, size);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnMemory], 0);
	for (int i = 0; i < 40; i++)
		tcp_abort(c[i]);
	th_advance(&h, TH_MS);
	CHECK_EQ(h.t.mem_used, base);
	tcp_close(l);
	th_fini(&h);
}

/* tcp_siphash is SipHash-2-4 over little-endian 32-bit words: the reference vectors
 * (key 00..0f, message 00..n-1) for n = 0, 4, 8, 12, 16. */
TEST(tcp_harden_siphash_reference_vectors)
{
	const uint64_t key[2] = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	const uint32_t w[4] = { 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c };
	const uint64_t want[5] = { 0x726fdb47dd0e0e31ull, 0xcf2794e0277187b7ull, 0x93f5f5799a932462ull,
				   0x751e8fbc860ee5fbull, 0x3f2acc7f57c29bdbull };
	for (size_t n = 0; n <= 4; n++)
		CHECK_EQ(tcp_siphash(key, w, n), want[n]);
}

/* The table hash remembers the last tuple: never a stale value for another tuple,
 * and it depends on the key. */
TEST(tcp_harden_table_hash_memo_and_key)
{
	static struct tcp_stack t;
	memset(&t, 0, sizeof(t));
	t.isn_key[0] = 1;
	t.isn_key[1] = 2;
	uint32_t a = tcp_hash(&t, 0x0a000001, 80, 0x0a000002, 40000);
	uint32_t b = tcp_hash(&t, 0x0a000001, 80, 0x0a000002, 40001);
	CHECK(a != b);
	CHECK_EQ(tcp_hash(&t, 0x0a000001, 80, 0x0a000002, 40000), a);
	CHECK_EQ(tcp_hash(&t, 0x0a000001, 80, 0x0a000002, 40001), b);
	t.hmemo_ok = false;
	CHECK_EQ(tcp_hash(&t, 0x0a000001, 80, 0x0a000002, 40001), b);
	t.isn_key[0] = 3;
	t.hmemo_ok = false;
	CHECK(tcp_hash(&t, 0x0a000001, 80, 0x0a000002, 40001) != b);
	/* The timestamp offset's memo likewise. */
	t.ts_key[0] = 5;
	uint32_t o1 = tcp_ts_offset(&t, 0x0a000001, 0x0a000002);
	uint32_t o2 = tcp_ts_offset(&t, 0x0a000001, 0x0a000003);
	CHECK(o1 != o2);
	CHECK_EQ(tcp_ts_offset(&t, 0x0a000001, 0x0a000002), o1);
	t.tsmemo_ok = false;
	CHECK_EQ(tcp_ts_offset(&t, 0x0a000001, 0x0a000003), o2);
}

/* Freed TCBs and buffers are kept for reuse, but only a few, outside mem_used, and
 * all handed back at shutdown (th_fini checks nothing is left allocated). */
TEST(tcp_harden_object_cache_bounded)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l;
	th_init(&h, NULL);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	uint64_t base = h.t.mem_used;
	long live0 = h.mem_live, peak = 0;
	for (int i = 0; i < 40; i++) {
		struct tcp_sock *c = th_handshake(&h, l, &p, 0, (uint16_t)(40000 + i));
		REQUIRE(c);
		REQUIRE(tcp_send(c, resp503, sizeof(resp503) - 1) > 0);
		tcp_abort(c);
		th_drain(&h);
		th_advance(&h, TH_MS);
		CHECK_EQ(h.t.mem_used, base);
		peak = h.mem_live > peak ? h.mem_live : peak;
	}
	CHECK(peak - live0 <= TCP_CACHE_TCBS + TCP_CACHE_RBUFS + TCP_CACHE_CHUNKS);
	CHECK(h.t.cache[0].n >= 1 && h.t.cache[0].n <= TCP_CACHE_TCBS);
	tcp_close(l);
	th_fini(&h);
}

/* RFC 9293 §3.10.7.4: the send window is updated only when SND.UNA =< SEG.ACK. An
 * old ACK (below SND.UNA, still inside RFC 5961's acceptable range) on a segment with
 * newer data must not set the window, though WL1 < SEG.SEQ would allow it. */
TEST(tcp_harden_old_ack_does_not_update_send_window)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	static uint8_t blob[1000];
	th_init(&h, NULL);
	c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	REQUIRE(tcp_send(c, blob, sizeof(blob)) == sizeof(blob));
	while (th_pop(&h, &s))
		;
	p.ack = c->snd_nxt;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	REQUIRE(c->snd_una == c->snd_nxt);
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "abcdefghij", 10);     /* WL1 = this seq */
	uint32_t wnd = c->snd_wnd;
	p.ack = c->snd_una - 500;       /* old, but acceptable (RFC 5961 §5.2) */
	p.wnd = 7;
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "0123456789", 10);
	CHECK_EQ(c->rcv_nxt, p.seq);    /* the data was taken */
	CHECK_EQ(c->snd_wnd, wnd);      /* the window was not */
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}
