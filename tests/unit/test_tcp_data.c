/*
 * TCP data transfer: delayed ACKs, out-of-order data and the SACK blocks we send,
 * receive window (SWS avoidance, zero window, window updates), window scaling, PAWS,
 * sender window and persist probes, Nagle/NODELAY, send buffer limits, zero-copy
 * send_ref completions.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"

static const struct tcp_opts sack_opts = {
	.has = TCP_HAS_MSS | TCP_HAS_SACK_PERM, .mss = 1460,
};

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i + seed) * 2654435761u >> 13);
}

TEST(tcp_data_ack_every_second_full_segment)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint8_t b[1460];
	fill(b, sizeof(b), 1);
	peer_send(&h, &p, TCP_ACK, b, sizeof(b));
	NONE(&h);
	peer_send(&h, &p, TCP_ACK, b, sizeof(b));       /* SHLD-19: second full segment */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(s.h.wnd, 65535 - 2920);                /* no scaling: exact */
	/* A duplicate (our ACK was lost) is ACKed at once. */
	p.seq -= 1460;
	peer_send(&h, &p, TCP_ACK, b, sizeof(b));
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_out_of_order_and_sack_blocks)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, &sack_opts, 65535);
	REQUIRE(c);
	uint8_t data[5000];
	fill(data, sizeof(data), 7);
	uint32_t x = p.seq;
	struct th_seg s;
	/* B first: immediate duplicate ACK with one SACK block (RFC 2018, RFC 5681 §4.2). */
	p.seq = x + 1000;
	peer_send(&h, &p, TCP_ACK, data + 1000, 1000);
	POP(&h, s);
	CHECK_EQ(s.h.ack, x);
	REQUIRE(s.h.opt.nsack == 1);
	CHECK_EQ(s.h.opt.sack[0].start, x + 1000);
	CHECK_EQ(s.h.opt.sack[0].end, x + 2000);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPOFOQueue], 1);
	/* C extends it. */
	peer_send(&h, &p, TCP_ACK, data + 2000, 1000);
	POP(&h, s);
	REQUIRE(s.h.opt.nsack == 1);
	CHECK_EQ(s.h.opt.sack[0].end, x + 3000);
	/* E (a new island): reported first, the older block second. */
	p.seq = x + 4000;
	peer_send(&h, &p, TCP_ACK, data + 4000, 1000);
	POP(&h, s);
	REQUIRE(s.h.opt.nsack == 2);
	CHECK_EQ(s.h.opt.sack[0].start, x + 4000);
	CHECK_EQ(s.h.opt.sack[1].start, x + 1000);
	CHECK_EQ(tcp_recv(c, data, 1), -NET_EAGAIN);    /* nothing in order yet */
	/* A fills the first hole: ACK at once up to the next hole. */
	p.seq = x;
	peer_send(&h, &p, TCP_ACK, data, 1000);
	POP(&h, s);
	CHECK_EQ(s.h.ack, x + 3000);
	REQUIRE(s.h.opt.nsack == 1);
	CHECK_EQ(s.h.opt.sack[0].start, x + 4000);
	/* D: everything. */
	p.seq = x + 3000;
	peer_send(&h, &p, TCP_ACK, data + 3000, 1000);
	POP(&h, s);
	CHECK_EQ(s.h.ack, x + 5000);
	CHECK_EQ(s.h.opt.nsack, 0);
	uint8_t got[6000];
	CHECK_EQ(tcp_recv(c, got, sizeof(got)), 5000);
	CHECK_MEM(got, data, 5000);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_ooo_ranges_bounded)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, &sack_opts, 65535);
	REQUIRE(c);
	uint32_t x = p.seq;
	uint8_t b[10];
	fill(b, sizeof(b), 3);
	for (int i = 1; i <= 17; i++) {                 /* 17 islands, 16 slots */
		p.seq = x + 20u * i;
		peer_send(&h, &p, TCP_ACK, b, sizeof(b));
	}
	CHECK_EQ(h.t.mib[TCP_MIB_TCPOFOQueue], 16);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPOFODrop], 1);
	long mem = h.mem_live;
	CHECK_EQ(h.mem_live, mem);                      /* no per-segment memory at all */
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_window_zero_probe_and_update)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 4096;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint8_t b[1024];
	fill(b, sizeof(b), 9);
	struct th_seg s;
	for (int i = 0; i < 4; i++)
		peer_send(&h, &p, TCP_ACK, b, sizeof(b));
	th_advance(&h, 50 * TH_MS);                     /* the last ACK was delayed */
	while (th_pop(&h, &s))
		;
	CHECK_EQ(s.h.wnd, 0);
	CHECK_EQ(s.h.ack, p.seq);
	/* Data against a closed window: dropped, ACKed (the ACK still carries news). */
	peer_send(&h, &p, TCP_ACK, b, 1);
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq - 1);
	CHECK_EQ(s.h.wnd, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPZeroWindowDrop], 1);
	p.seq--;
	/* Reading 1 KiB is less than min(RCV.BUFF/2, MSS): no update (MUST-39). */
	uint8_t got[2048];
	CHECK_EQ(tcp_recv(c, got, 1024), 1024);
	NONE(&h);
	/* 2 KiB is worth announcing: at once. */
	CHECK_EQ(tcp_recv(c, got, 1024), 1024);
	POP(&h, s);
	CHECK_EQ(s.h.wnd, 2048);
	/* 100 more bytes read: not worth it. */
	CHECK_EQ(tcp_recv(c, got, 100), 100);
	NONE(&h);
	/* And an ACK that goes out anyway keeps the old right edge. */
	peer_send(&h, &p, TCP_ACK, b, 10);
	th_advance(&h, 50 * TH_MS);
	POP(&h, s);
	CHECK_EQ(s.h.wnd, 2038);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_window_scaling)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 1 << 20;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_WS, .mss = 1460, .ws = 7 };
	peer_init(&p, 40000, 80, 1000);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	peer_send_opts(&h, &p, TCP_SYN, &o, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.opt.ws, 5);                        /* 1 MiB >> 5 fits 16 bits */
	CHECK_EQ(s.h.wnd, 65535);
	p.ack = s.h.seq + 1;
	p.wnd = 100;                                    /* x 128 = 12800 */
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	struct tcp_sock *c;
	REQUIRE(tcp_accept(l, &c) == 0);
	uint8_t big[20000] = { 0 };
	CHECK_EQ(tcp_send(c, big, sizeof(big)), 20000);
	uint32_t sent = 0;
	while (th_pop(&h, &s)) {
		sent += s.dlen;
		CHECK_EQ(s.h.wnd, (1u << 20) >> 5);     /* scaled field */
	}
	/* The peer's scaled window holds 8 full segments and 1120 bytes; sender SWS
	 * avoidance (MUST-38) keeps the short rest until the window opens. */
	CHECK_EQ(sent, 8 * 1460);
	p.ack += sent;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	while (th_pop(&h, &s))
		sent += s.dlen;
	CHECK_EQ(sent, 20000 - 1020);                   /* Nagle holds the last 1020 */
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_paws)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_TS, .mss = 1460, .tsval = 100 };
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, &o, 0);
	REQUIRE(c);
	p.tsval = 200;
	peer_send(&h, &p, TCP_ACK, "new", 3);
	th_advance(&h, 50 * TH_MS);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.opt.tsecr, 200);                   /* TS.Recent updated (R3) */
	p.tsval = 150;                                  /* an old duplicate's clock */
	peer_send(&h, &p, TCP_ACK, "old", 3);
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq - 3);                   /* dropped, ACKed (R1) */
	CHECK_EQ(h.t.mib[TCP_MIB_PAWSEstab], 1);
	char buf[8];
	CHECK_EQ(tcp_recv(c, buf, 8), 3);
	CHECK_MEM(buf, "new", 3);
	/* RSTs are not subject to PAWS. */
	p.seq -= 3;
	peer_send(&h, &p, TCP_RST, NULL, 0);
	CHECK_EQ(tcp_error(c), -NET_ECONNRESET);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_sender_window_and_persist)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 1000);
	REQUIRE(c);
	uint8_t out[3000];
	fill(out, sizeof(out), 5);
	CHECK_EQ(tcp_send(c, out, sizeof(out)), 3000);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.dlen, 1000);                         /* the offered window, no more */
	CHECK_MEM(s.data, out, 1000);
	NONE(&h);
	p.ack += 1000;
	p.wnd = 0;
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* all taken, window shut */
	NONE(&h);
	/* Probes (MUST-36): one octet, first after an RTO, then backing off (SHLD-30). */
	uint64_t t0 = h.now, last = 0;
	int probes = 0;
	uint64_t gap[4] = { 0 };
	for (int i = 0; i < 400 && probes < 3; i++) {
		th_advance(&h, 10 * TH_MS);
		while (th_pop(&h, &s)) {
			CHECK_EQ(s.dlen, 1);
			CHECK_EQ(s.h.seq, p.ack);
			CHECK_EQ(s.data[0], out[1000]);
			gap[probes++] = h.now - (last ? last : t0);
			last = h.now;
			peer_send(&h, &p, TCP_ACK, NULL, 0);    /* still zero: answered (MUST-37) */
		}
	}
	REQUIRE(probes == 3);
	CHECK(gap[0] >= 200 * TH_MS && gap[0] <= 220 * TH_MS);
	CHECK(gap[1] >= 2 * gap[0] - 20 * TH_MS);
	CHECK(gap[2] >= 2 * gap[1] - 20 * TH_MS);
	CHECK_EQ(tcp_error(c), 0);
	/* The window opens: the rest flows, starting with the probed octet. */
	p.wnd = 4000;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	uint32_t got = 0, seq = p.ack;
	while (th_pop(&h, &s)) {
		CHECK_EQ(s.h.seq, seq + got);
		CHECK_MEM(s.data, out + 1000 + got, s.dlen);
		got += s.dlen;
	}
	CHECK_EQ(got, 1460);                            /* Nagle holds the short rest */
	p.ack += got;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.dlen, 540);
	CHECK_MEM(s.data, out + 2460, 540);
	CHECK(h.t.mib[TCP_MIB_TCPWinProbe] >= 3);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_nagle_and_nodelay)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	struct th_seg s;
	CHECK_EQ(tcp_send(c, "aaaa", 4), 4);
	POP(&h, s);                                     /* nothing outstanding: goes */
	CHECK_EQ(s.dlen, 4);
	CHECK(s.h.flags & TCP_PSH);                     /* MUST-61 */
	CHECK_EQ(tcp_send(c, "bbbb", 4), 4);
	CHECK_EQ(tcp_send(c, "cccc", 4), 4);
	NONE(&h);                                       /* Nagle: wait for the ACK */
	p.ack += 4;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.dlen, 8);                            /* coalesced */
	CHECK_MEM(s.data, "bbbbcccc", 8);
	REQUIRE(tcp_setopt(c, TCP_OPT_NODELAY, 1) == 0); /* MUST-17 */
	CHECK_EQ(tcp_send(c, "dd", 2), 2);
	CHECK_EQ(tcp_send(c, "ee", 2), 2);
	POP(&h, s);
	CHECK_EQ(s.dlen, 2);
	POP(&h, s);
	CHECK_EQ(s.dlen, 2);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_sndbuf_limit_and_send_event)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.sndbuf = 4096;
	cfg.sndbuf_max = 0;                             /* no autotuning: a fixed budget */
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	tcp_set_callback(c, th_cb, &h);
	static uint8_t big[10000];
	fill(big, sizeof(big), 11);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), 4096);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), -NET_EAGAIN);
	CHECK(!(tcp_ready(c) & TCP_EV_SEND));
	uint32_t got = 0;
	struct th_seg s;
	while (th_pop(&h, &s))
		got += s.dlen;
	CHECK_EQ(got, 2920);                            /* Nagle holds the short tail */
	h.events = 0;
	p.ack += 2920;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.dlen, 4096 - 2920);
	CHECK(!(h.events & TCP_EV_SEND));
	p.ack += s.dlen;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK(h.events & TCP_EV_SEND);
	CHECK(tcp_ready(c) & TCP_EV_SEND);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/*
 * Send-buffer autotuning (tcp_sndbuf_expand): an application waiting on a full buffer
 * while the window has room gets 2 x cwnd, up to sndbuf_max; not while the window is
 * full, not once TCP memory is past half the pressure mark, never shrinking.
 */
TEST(tcp_data_sndbuf_autotuning)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.sndbuf = 4096;
	cfg.sndbuf_max = 20000;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	static uint8_t big[40000];
	fill(big, sizeof(big), 5);
	CHECK_EQ(tcp_sndbuf(c), 4096);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), 4096);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), -NET_EAGAIN);  /* the app now waits */
	struct th_seg s;
	uint32_t sent = 0;
	while (th_pop(&h, &s))
		sent += s.dlen;
	CHECK_EQ(sent, 4096);
	/* The whole buffer is acknowledged: cwnd (10 x 1460) had room, so the buffer was the
	 * limit; it grows to 2 x cwnd, clamped to sndbuf_max. */
	p.ack += sent;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK_EQ(tcp_sndbuf(c), 20000);
	CHECK_EQ(h.t.mib[TCP_MIB_SndbufExpand], 1);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), 20000);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);

	/* Memory past half the pressure mark: no growth. */
	tcp_config_default(&cfg);
	cfg.sndbuf = 4096;
	th_init(&h, &cfg);
	c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), 4096);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), -NET_EAGAIN);
	while (th_pop(&h, &s))
		;
	uint64_t other = h.t.cfg.mem_max * 30 / 100;   /* other connections' memory: 30% */
	h.t.mem_used += other;
	p.ack += 4096;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK(!h.t.mem_pressure);
	CHECK_EQ(tcp_sndbuf(c), 4096);
	CHECK_EQ(h.t.mib[TCP_MIB_SndbufExpand], 0);
	h.t.mem_used -= other;
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);

	/* The window, not the buffer, limits: still a window in flight after the ACK. */
	tcp_config_default(&cfg);
	cfg.sndbuf = 8192;
	th_init(&h, &cfg);
	c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), 8192);
	CHECK_EQ(tcp_send(c, big, sizeof(big)), -NET_EAGAIN);
	while (th_pop(&h, &s))
		;
	c->cwnd = c->ssthresh = 5000;           /* 2 x cwnd would be more than 8192 */
	p.ack += 1460;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	REQUIRE(tcp_flight(c) >= c->cwnd);
	CHECK_EQ(tcp_sndbuf(c), 8192);
	CHECK_EQ(h.t.mib[TCP_MIB_SndbufExpand], 0);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

struct ref_log {
	int calls;
	int err;
};

static void ref_done(void *arg, int err)
{
	struct ref_log *r = arg;
	r->calls++;
	r->err = err;
}

TEST(tcp_data_send_ref_zero_copy)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	static uint8_t file[100000];
	fill(file, sizeof(file), 13);
	struct ref_log r = { 0 }, r2 = { 0 };
	CHECK_EQ(tcp_send(c, "HEAD", 4), 4);
	REQUIRE(tcp_send_ref(c, file, sizeof(file), ref_done, &r) == 0);
	/* Segments carry the header then the file bytes (copied from file[] only into
	 * the packet). */
	uint8_t rx[100004];
	uint32_t got = 0;
	struct th_seg s;
	for (int round = 0; round < 100 && got < sizeof(rx); round++) {
		while (th_pop(&h, &s)) {
			REQUIRE(got + s.dlen <= sizeof(rx));
			memcpy(rx + got, s.data, s.dlen);
			got += s.dlen;
		}
		p.ack = s.h.seq + s.dlen;
		peer_send(&h, &p, TCP_ACK, NULL, 0);
	}
	CHECK_EQ(got, sizeof(rx));
	CHECK_MEM(rx, "HEAD", 4);
	CHECK_MEM(rx + 4, file, sizeof(file));
	CHECK_EQ(r.calls, 1);                           /* exactly once, when all acknowledged */
	CHECK_EQ(r.err, 0);
	/* An unacknowledged reference still completes (with the error) on abort. */
	REQUIRE(tcp_send_ref(c, file, 5000, ref_done, &r2) == 0);
	th_drain(&h);
	tcp_abort(c);
	CHECK_EQ(r2.calls, 0);                          /* never inside the API call */
	th_advance(&h, TH_MS);
	CHECK_EQ(r2.calls, 1);
	CHECK_EQ(r2.err, -NET_ECONNABORTED);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_recv_peek_consume_and_trim)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 4096;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint8_t b[5000];
	fill(b, sizeof(b), 17);
	/* More than the window: only what fits is taken, the rest trimmed (the ACK
	 * tells the peer where to resume). */
	struct tcp_hdr hdr = { .sport = p.port, .dport = 80, .seq = p.seq, .ack = p.ack,
			       .flags = TCP_ACK, .wnd = 65535 };
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, b, 1400);
	hdr.seq += 1400;
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, b + 1400, 1400);
	hdr.seq += 1400;
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, b + 2800, 1400);
	struct th_seg s;
	while (th_pop(&h, &s))
		;
	CHECK_EQ(s.h.ack, p.seq + 4096);
	/* Peek gives contiguous pieces of the ring; consume them piecewise. */
	const uint8_t *d;
	size_t total = 0, n;
	while ((n = tcp_recv_peek(c, &d)) > 0) {
		REQUIRE(total + n <= 4096);
		size_t k = n > 1000 ? 1000 : n;
		CHECK_MEM(d, b + total, k);
		tcp_recv_consume(c, k);
		total += k;
	}
	CHECK_EQ(total, 4096);
	th_drain(&h);
	/* The ring wraps: the next bytes continue correctly. */
	hdr.seq = p.seq + 4096;
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, b + 4096, 904);
	uint8_t got[1000];
	CHECK_EQ(tcp_recv(c, got, sizeof(got)), 904);
	CHECK_MEM(got, b + 4096, 904);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_window_shrinks_with_data_in_flight)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint8_t out[4000];
	fill(out, sizeof(out), 21);
	CHECK_EQ(tcp_send(c, out, sizeof(out)), 4000);
	th_drain(&h);                                   /* 1460 + 1460 out, 1080 held */
	/* The peer takes 1000 bytes and shrinks its window to nothing (SHLD-14 says it
	 * should not; MUST-34 says we must survive it). */
	p.ack += 1000;
	p.wnd = 0;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	NONE(&h);
	/* No retransmission into the closed window: probes instead, from SND.UNA. */
	th_advance(&h, 250 * TH_MS);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.seq, p.ack);
	CHECK_EQ(s.dlen, 1);
	CHECK_EQ(s.data[0], out[1000]);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeouts], 0);
	/* Reopened: everything from SND.UNA on, in order. */
	p.wnd = 65535;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	uint32_t got = 0;
	while (th_pop(&h, &s)) {
		CHECK_EQ(s.h.seq, p.ack + got);
		CHECK_MEM(s.data, out + 1000 + got, s.dlen);
		got += s.dlen;
	}
	CHECK(got >= 2920);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_data_zero_window_still_takes_rst_and_urg)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 4096;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint8_t b[1024] = { 0 };
	for (int i = 0; i < 4; i++)
		peer_send(&h, &p, TCP_ACK, b, sizeof(b));
	th_advance(&h, 50 * TH_MS);
	th_drain(&h);
	/* MUST-66: the window is zero, yet URG and RST are processed. */
	struct tcp_hdr hdr = { .sport = p.port, .dport = 80, .seq = p.seq, .ack = p.ack,
			       .flags = TCP_ACK | TCP_URG, .wnd = 65535, .urg = 5 };
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, NULL, 0);
	CHECK(h.events & TCP_EV_URGENT);
	peer_send(&h, &p, TCP_RST, NULL, 0);
	CHECK_EQ(tcp_error(c), -NET_ECONNRESET);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

/* The acknowledged copy chunk is kept as the connection's spare, so request/response
 * sends do not allocate each time; it counts in mem_used while kept, and goes when
 * the connection closes. */
TEST(tcp_data_spare_chunk_reused_and_freed)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint64_t base = h.t.mem_used, conn_mem = sizeof(*c) + (c->rbuf ? c->rbuf_size : 0);
	uint8_t b[64];
	fill(b, sizeof(b), 3);
	struct th_seg s;
	uint64_t with_chunk = 0;
	for (int i = 0; i < 3; i++) {
		REQUIRE(tcp_send(c, b, sizeof(b)) == (long)sizeof(b));
		POP(&h, s);
		CHECK_EQ(s.dlen, sizeof(b));
		if (i == 0)
			with_chunk = h.t.mem_used;
		CHECK_EQ(h.t.mem_used, with_chunk);     /* the spare, not a second chunk */
		p.ack += sizeof(b);
		peer_send(&h, &p, TCP_ACK, NULL, 0);
		CHECK(c->sq_spare != NULL);
		CHECK_EQ(h.t.mem_used, with_chunk);     /* kept, still counted */
	}
	CHECK(with_chunk > base);
	tcp_abort(c);
	th_drain(&h);
	th_advance(&h, 1000);                           /* the next poll reaps the TCB */
	CHECK_EQ(h.t.mem_used, base - conn_mem);       /* TCB, buffer and spare all gone */
	tcp_close(l);
	th_fini(&h);
}

/* Freed TCBs and buffers kept for reuse go back to the allocator once unused for
 * TCP_CACHE_IDLE_NS: after a load the heap returns to its baseline. */
TEST(tcp_data_object_cache_given_back_when_idle)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	long live0 = h.mem_live;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "x", 1);   /* a receive buffer too */
	th_drain(&h);
	tcp_abort(c);
	th_drain(&h);
	th_advance(&h, TH_MS);                          /* reaped: into the caches */
	CHECK(h.t.cache_bytes > 0);
	CHECK_EQ(h.mem_live, live0 + 1 + (long)(h.t.cache[0].n + h.t.cache[1].n + h.t.cache[2].n));
	th_advance(&h, TCP_CACHE_IDLE_NS + TH_MS);
	CHECK_EQ(h.t.cache_bytes, 0);
	CHECK_EQ(h.mem_live, live0 + 1);                /* only the listener */
	tcp_close(l);
	th_fini(&h);
}

/* Corked, the pieces of a response only queue; the uncork sends them as one segment
 * (without the cork, with NODELAY, each piece is a segment of its own). */
TEST(tcp_data_cork_batches_pieces)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 65535);
	REQUIRE(c);
	uint8_t b[400];
	fill(b, sizeof(b), 5);
	tcp_setopt(c, TCP_OPT_NODELAY, 1);
	tcp_setopt(c, TCP_OPT_CORK, 1);
	for (int i = 0; i < 3; i++)
		REQUIRE(tcp_send(c, b, sizeof(b)) == (long)sizeof(b));
	NONE(&h);
	tcp_setopt(c, TCP_OPT_CORK, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.dlen, 3 * sizeof(b));
	NONE(&h);
	for (int i = 0; i < 2; i++)                     /* uncorked: a segment each */
		REQUIRE(tcp_send(c, b, sizeof(b)) == (long)sizeof(b));
	POP(&h, s);
	CHECK_EQ(s.dlen, sizeof(b));
	POP(&h, s);
	CHECK_EQ(s.dlen, sizeof(b));
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}
