/*
 * Passive open and the limits a peer runs into: the SYN queue and SYN cookies (RFC 4987,
 * options carried in the timestamp), the accept queue, the connection and memory caps,
 * SYN floods, listener close.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"

static void syn_from(struct th *h, struct th_peer *p, uint16_t port, const struct tcp_opts *o)
{
	peer_init(p, port, 80, 1000u * port);
	peer_send_opts(h, p, TCP_SYN, o, NULL, 0);
}

TEST(tcp_listen_syncookie_round_trip_with_ts_options)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.syn_backlog = 2;
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p1, p2, p3;
	struct th_seg s;
	syn_from(&h, &p1, 1001, NULL);
	syn_from(&h, &p2, 1002, NULL);
	th_drain(&h);
	long mem = h.mem_live;
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS,
			      .mss = 1460, .ws = 6, .tsval = 777 };
	syn_from(&h, &p3, 1003, &o);                    /* the SYN queue is full */
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	CHECK_EQ(h.mem_live, mem);                      /* no state kept */
	CHECK_EQ(h.t.mib[TCP_MIB_SyncookiesSent], 1);
	CHECK_EQ(s.h.opt.has, TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS);
	CHECK_EQ(s.h.opt.tsecr, 777);
	CHECK_EQ(s.h.opt.tsval & 0x3f, 0x20 | 0x10 | 6);        /* encoded WS 6 + SACK */
	/* The third packet: the cookie checks out, the connection appears established. */
	p3.ack = s.h.seq + 1;
	p3.ts = true;
	p3.tsval = 778;
	p3.tsecr = s.h.opt.tsval;
	peer_send(&h, &p3, TCP_ACK, "GET", 3);
	CHECK_EQ(h.t.mib[TCP_MIB_SyncookiesRecv], 1);
	struct tcp_sock *c;
	REQUIRE(tcp_accept(l, &c) == 0);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "ESTAB");
	CHECK(i.ts && i.sack && i.wscale);
	CHECK_EQ(i.snd_wscale, 6);
	CHECK_EQ(i.mss, 1460 - 12);
	char buf[4];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 3);     /* data on the third packet kept */
	CHECK_EQ(tcp_send(c, "200", 3), 3);
	POP(&h, s);
	CHECK_EQ(s.h.seq, p3.ack);
	CHECK_EQ(s.h.ack, p3.seq);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_syncookie_without_timestamps)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.syn_backlog = 0;                            /* every SYN gets a cookie */
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	struct tcp_opts o = { .has = TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM, .mss = 1300, .ws = 3 };
	syn_from(&h, &p, 2000, &o);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.opt.has, TCP_HAS_MSS);             /* WS/SACK could not be remembered */
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	struct tcp_sock *c;
	REQUIRE(tcp_accept(l, &c) == 0);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK(!i.wscale && !i.sack && !i.ts);
	CHECK_EQ(i.mss, 1300);                          /* the MSS index in the cookie */
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_syncookie_forged_or_stale)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.syn_backlog = 0;
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	syn_from(&h, &p, 2000, NULL);
	struct th_seg s;
	POP(&h, s);
	uint32_t cookie = s.h.seq;
	p.ack = cookie + 2;                             /* forged */
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);
	CHECK_EQ(h.t.mib[TCP_MIB_SyncookiesFailed], 1);
	struct tcp_sock *c;
	CHECK_EQ(tcp_accept(l, &c), -NET_EAGAIN);
	/* Another 4-tuple cannot reuse it. */
	struct th_peer q;
	peer_init(&q, 2001, 80, p.seq - 1);
	q.ack = cookie + 1;
	peer_send(&h, &q, TCP_ACK, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);
	/* The right one, too late (beyond two 64 s periods). */
	h.now += 130 * TH_SEC;
	syn_from(&h, &p, 2000, NULL);                   /* keeps the overflow recent */
	th_drain(&h);
	p.seq = 2000u * 1000 + 1;
	p.ack = cookie + 1;
	h.now += 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	CHECK_EQ(tcp_accept(l, &c), -NET_EAGAIN);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_syncookies_off_drops)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.syn_backlog = 1;
	cfg.syncookies = false;
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p1, p2;
	syn_from(&h, &p1, 1001, NULL);
	syn_from(&h, &p2, 1002, NULL);
	CHECK_EQ(th_pending(&h), 1);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPReqQFullDrop], 1);
	CHECK_EQ(h.t.mib[TCP_MIB_ListenDrops], 1);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_accept_queue_full)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 1, th_cb, &h, &l) == 0);
	struct th_peer p1, p2, p3;
	struct th_seg s;
	syn_from(&h, &p1, 1001, NULL);
	syn_from(&h, &p2, 1002, NULL);                  /* both fit the SYN queue */
	POP(&h, s);
	p1.ack = s.h.seq + 1;
	POP(&h, s);
	p2.ack = s.h.seq + 1;
	peer_send(&h, &p1, TCP_ACK, NULL, 0);           /* accept queue: 1 of 1 */
	peer_send(&h, &p2, TCP_ACK, NULL, 0);           /* no room: dropped, stays SYN-RECV */
	CHECK_EQ(h.t.mib[TCP_MIB_ListenOverflows], 1);
	syn_from(&h, &p3, 1003, NULL);                  /* a new SYN: dropped too */
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_ListenOverflows], 2);
	struct tcp_sock *c1, *c2;
	REQUIRE(tcp_accept(l, &c1) == 0);
	/* The SYN-ACK is retransmitted; the peer's ACK now fits. */
	th_advance(&h, 1100 * TH_MS);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	peer_send(&h, &p2, TCP_ACK, NULL, 0);
	REQUIRE(tcp_accept(l, &c2) == 0);
	tcp_abort(c1);
	tcp_abort(c2);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_connection_cap)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.max_conns = 3;
	cfg.syncookies = false;
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p[4];
	for (int i = 0; i < 4; i++)
		syn_from(&h, &p[i], (uint16_t)(1000 + i), NULL);
	CHECK_EQ(th_pending(&h), 3);
	CHECK_EQ(h.t.nconns, 3);
	th_drain(&h);
	struct tcp_sock *c;
	CHECK_EQ(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c), -NET_ENOBUFS);
	CHECK(h.t.mib[TCP_MIB_ConnLimit] >= 1);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_memory_failures_do_not_leak)
{
	struct th h;
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.obj_cache = false;          /* every TCB and buffer from the allocator that fails */
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	h.mem_fail_after = 0;                           /* the TCB allocation fails */
	syn_from(&h, &p, 1001, NULL);
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_ListenDrops], 1);
	h.mem_fail_after = 1;                           /* TCB yes, receive buffer no */
	syn_from(&h, &p, 1002, NULL);
	struct th_seg s;
	POP(&h, s);
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* established: no buffer needed yet */
	NONE(&h);
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "GET", 3); /* its first bytes: no buffer, dropped */
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPRcvQDrop], 1);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnMemory], 0);
	h.mem_fail_after = -1;
	p.seq -= 3;                                     /* the peer retransmits: taken now */
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "GET", 3);
	th_advance(&h, 100 * TH_MS);                    /* the delayed ACK */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	struct tcp_sock *a;
	REQUIRE(tcp_accept(l, &a) == 0);
	tcp_abort(a);
	th_drain(&h);
	h.mem_fail_after = 1;                           /* active open: TCB yes, buffer no */
	struct tcp_sock *c;
	CHECK_EQ(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c), -NET_ENOMEM);
	h.mem_fail_after = -1;
	th_advance(&h, TH_MS);
	CHECK_EQ(h.t.nconns, 0);
	CHECK(h.t.conns == NULL);
	CHECK_EQ(h.mem_live, 1);                        /* just the listener */
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_syn_flood_bounded)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.syn_backlog = 16;
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	for (int i = 0; i < 2000; i++) {
		struct tcp_hdr hdr = { .sport = (uint16_t)(1024 + i), .dport = 80, .seq = (uint32_t)th_rand(&h),
				       .flags = TCP_SYN, .wnd = 1000 };
		th_inject(&h, 0x0b000000u | (uint32_t)(th_rand(&h) & 0xffff), TH_ADDR, &hdr, NULL, 0);
		th_drain(&h);
	}
	CHECK_EQ(h.t.nconns, 16);                       /* the SYN queue, no more */
	CHECK_EQ(h.t.mib[TCP_MIB_SyncookiesSent], 2000 - 16);
	CHECK(h.t.mem_used <= 17 * sizeof(struct tcp_sock));
	for (int i = 0; i < 100; i++)
		th_advance(&h, TH_SEC);                 /* SYN-ACK retries run out */
	th_drain(&h);
	CHECK_EQ(h.t.nconns, 0);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_listen_close_aborts_unaccepted)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p1, p2;
	struct th_seg s;
	syn_from(&h, &p1, 1001, NULL);
	POP(&h, s);
	p1.ack = s.h.seq + 1;
	peer_send(&h, &p1, TCP_ACK, NULL, 0);           /* established, not accepted */
	syn_from(&h, &p2, 1002, NULL);                  /* half open */
	th_drain(&h);
	tcp_close(l);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST | TCP_ACK);
	CHECK_EQ(s.h.dport, 1001);
	NONE(&h);
	th_advance(&h, TH_MS);
	CHECK_EQ(h.t.nconns, 0);
	th_fini(&h);
}

TEST(tcp_listen_specific_address_wins)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *any, *spec;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &any) == 0);
	REQUIRE(tcp_listen(&h.t, TH_ADDR, 80, 8, th_cb, &h, &spec) == 0);     /* MUST-41/42 */
	struct th_peer p;
	syn_from(&h, &p, 1001, NULL);
	struct th_seg s;
	POP(&h, s);
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	struct tcp_sock *c;
	CHECK_EQ(tcp_accept(any, &c), -NET_EAGAIN);
	REQUIRE(tcp_accept(spec, &c) == 0);
	tcp_abort(c);
	tcp_close(spec);
	tcp_close(any);
	th_fini(&h);
}

/* One host may fill a quarter of the accept queue: its further handshakes are dropped
 * (ListenOverflows) while another host's still get in. */
TEST(tcp_listen_accept_queue_share_per_peer)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 128, th_cb, &h, &l) == 0);
	struct th_peer p;
	int opened = 0;
	for (int i = 0; i < 40; i++)
		opened += th_peer_open(&h, 80, &p, 0x0b000001u, (uint16_t)(20000 + i));
	CHECK_EQ(opened, 32);
	CHECK_EQ(tcp_accept_pending(l), 32);
	CHECK_EQ(h.t.mib[TCP_MIB_ListenOverflows], 8);
	REQUIRE(th_peer_open(&h, 80, &p, 0x0a000002u, 30000));
	CHECK_EQ(tcp_accept_pending(l), 33);
	struct tcp_sock *c;
	while (tcp_accept(l, &c) == 0)
		tcp_abort(c);
	th_drain(&h);
	tcp_close(l);
	th_fini(&h);
}
