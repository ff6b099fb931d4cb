/*
 * TCP connection state machine (RFC 9293 §3.10): handshakes and options, simultaneous
 * open and close, FIN in every state, RST acceptability (RFC 5961), CLOSED-port RSTs,
 * TIME-WAIT, user calls (close, abort, shutdown), keep-alive, ICMP errors.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"

static const struct tcp_opts full_opts = {
	.has = TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS,
	.mss = 1460, .ws = 7, .tsval = 5000,
};

TEST(tcp_conn_passive_handshake_options)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l, *c;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	peer_init(&p, 40000, 80, 1000);
	peer_send_opts(&h, &p, TCP_SYN, &full_opts, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	CHECK_EQ(s.h.ack, 1001);
	CHECK_EQ(s.h.sport, 80);
	CHECK_EQ(s.h.dport, 40000);
	CHECK_EQ(s.src, TH_ADDR);
	CHECK_EQ(s.dst, TH_PEER);
	CHECK_EQ(s.h.opt.has, TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS);
	CHECK_EQ(s.h.opt.mss, 1460);                    /* MTU 1500 - 40 (MUST-67) */
	CHECK_EQ(s.h.opt.ws, 1);                        /* 64 KiB buffer */
	CHECK_EQ(s.h.opt.tsecr, 5000);
	CHECK_EQ(s.h.wnd, 65535);                       /* a SYN's window is unscaled */
	CHECK_EQ(tcp_accept(l, &c), -NET_EAGAIN);       /* not before the handshake */
	p.ack = s.h.seq + 1;
	p.ts = true;
	p.tsval = 5001;
	p.tsecr = s.h.opt.tsval;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	NONE(&h);
	CHECK(h.events & TCP_EV_ACCEPT);
	REQUIRE(tcp_accept(l, &c) == 0);
	CHECK(tcp_ready(c) & TCP_EV_CONNECTED);
	CHECK(tcp_ready(c) & TCP_EV_SEND);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "ESTAB");
	CHECK(i.ts && i.sack && i.wscale);
	CHECK_EQ(i.snd_wscale, 7);
	CHECK_EQ(i.mss, 1460 - 12);                     /* timestamps take 12 bytes (MUST-16) */
	CHECK_EQ(h.t.mib[TCP_MIB_PassiveOpens], 1);
	CHECK_EQ(h.t.nestab, 1);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_passive_no_options_default_mss)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	peer_init(&p, 40000, 80, 1000);
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.opt.has, TCP_HAS_MSS);             /* only what the peer offered */
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	struct tcp_sock *c;
	REQUIRE(tcp_accept(l, &c) == 0);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_EQ(i.mss, 536);                           /* MUST-15 */
	CHECK(!i.ts && !i.sack && !i.wscale);
	/* A 2000-byte send goes out as 536-byte segments. */
	uint8_t buf[2000] = { 0 };
	CHECK_EQ(tcp_send(c, buf, sizeof(buf)), 2000);
	POP(&h, s);
	CHECK_EQ(s.dlen, 536);
	CHECK_EQ(s.h.opt.has, 0);                       /* MUST-65: no MSS on non-SYN */
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_active_handshake)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *c;
	REQUIRE(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c) == 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN);
	CHECK_EQ(s.h.dport, 80);
	CHECK(s.h.sport >= 49152);                      /* ephemeral range */
	CHECK_EQ(s.h.opt.has, TCP_HAS_MSS | TCP_HAS_WS | TCP_HAS_SACK_PERM | TCP_HAS_TS);
	CHECK_EQ(s.h.opt.tsecr, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_ActiveOpens], 1);
	struct th_peer p;
	peer_init(&p, 80, s.h.sport, 7000);
	p.ack = s.h.seq + 1;
	struct tcp_opts o = full_opts;
	o.tsecr = s.h.opt.tsval;
	h.now += 10 * TH_MS;
	peer_send_opts(&h, &p, TCP_SYN | TCP_ACK, &o, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, 7001);
	CHECK_EQ(s.h.seq, p.ack);
	CHECK(h.events & TCP_EV_CONNECTED);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_EQ(i.rtt_us, 10000);                      /* SYN timed: 10 ms */
	CHECK_EQ(i.rto_ms, 200);                        /* floored at rto_min */
	CHECK_EQ(i.snd_wscale, 7);
	tcp_abort(c);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST | TCP_ACK);
	th_fini(&h);
}

TEST(tcp_conn_ephemeral_ports_random)
{
	struct th h;
	th_init(&h, NULL);
	uint16_t ports[8];
	struct tcp_sock *c[8];
	for (int i = 0; i < 8; i++) {
		REQUIRE(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c[i]) == 0);
		struct th_seg s;
		POP(&h, s);
		ports[i] = s.h.sport;
	}
	int sequential = 0;
	for (int i = 1; i < 8; i++)
		sequential += ports[i] == ports[i - 1] + 1;
	CHECK(sequential < 3);
	for (int i = 0; i < 8; i++)
		tcp_abort(c[i]);
	th_fini(&h);
}

TEST(tcp_conn_isn_keyed_and_clocked)
{
	/* RFC 6528: different 4-tuples get unrelated ISNs; the same tuple advances with
	 * the 4 us clock. */
	struct th h;
	th_init(&h, NULL);
	uint32_t a = tcp_isn(&h.t, 1, 2, 3, 4), b = tcp_isn(&h.t, 1, 2, 3, 5);
	CHECK(a != b);
	h.now += 4000 * 1000;                            /* 4 ms = 1000 ticks */
	CHECK_EQ(tcp_isn(&h.t, 1, 2, 3, 4) - a, 1000);
	struct th h2;
	th_init(&h2, NULL);
	h2.rng = 12345;                                 /* another boot: another secret */
	tcp_init(&h2.t, &h2.env, NULL, h2.now);
	CHECK(tcp_isn(&h2.t, 1, 2, 3, 4) != tcp_isn(&h.t, 1, 2, 3, 4));
	th_fini(&h2);
	th_fini(&h);
}

TEST(tcp_conn_closed_port_rst)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	peer_init(&p, 40000, 81, 1000);
	peer_send(&h, &p, TCP_SYN, "ab", 2);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST | TCP_ACK);         /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN> */
	CHECK_EQ(s.h.seq, 0);
	CHECK_EQ(s.h.ack, 1003);
	p.ack = 77777;
	peer_send(&h, &p, TCP_ACK, "x", 1);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);                   /* <SEQ=SEG.ACK><CTL=RST> */
	CHECK_EQ(s.h.seq, 77777);
	peer_send(&h, &p, TCP_RST, NULL, 0);            /* never a RST for a RST */
	peer_send(&h, &p, TCP_RST | TCP_ACK, NULL, 0);
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_OutRsts], 2);
	th_fini(&h);
}

TEST(tcp_conn_rst_rate_limited)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rst_limit = 5;
	struct th h;
	th_init(&h, &cfg);
	struct th_peer p;
	peer_init(&p, 40000, 81, 1000);
	for (int i = 0; i < 20; i++)
		peer_send(&h, &p, TCP_SYN, NULL, 0);
	CHECK_EQ(th_pending(&h), 5);
	CHECK_EQ(h.t.mib[TCP_MIB_RstRateLimited], 15);
	th_drain(&h);
	h.now += TH_SEC;
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	CHECK_EQ(th_pending(&h), 1);
	th_fini(&h);
}

TEST(tcp_conn_listen_state_rules)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct tcp_sock *l2;
	CHECK_EQ(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l2), -NET_EADDRINUSE);
	struct th_peer p;
	peer_init(&p, 40000, 80, 1000);
	peer_send(&h, &p, TCP_RST, NULL, 0);            /* first: RST ignored */
	NONE(&h);
	p.ack = 4242;
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* second: ACK -> RST */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);
	CHECK_EQ(s.h.seq, 4242);
	peer_send(&h, &p, TCP_FIN, NULL, 0);            /* fourth: anything else dropped */
	peer_send(&h, &p, 0, "data", 4);
	NONE(&h);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_bad_addresses_and_checksum)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct tcp_hdr hdr = { .sport = 1234, .dport = 80, .seq = 1, .flags = TCP_SYN, .wnd = 100 };
	th_inject(&h, TH_PEER, 0xffffffffu, &hdr, NULL, 0);     /* to broadcast (MUST-57) */
	th_inject(&h, TH_PEER, 0xe0000001u, &hdr, NULL, 0);     /* to multicast */
	th_inject(&h, 0xe0000001u, TH_ADDR, &hdr, NULL, 0);     /* from multicast (MUST-63) */
	th_inject(&h, 0xffffffffu, TH_ADDR, &hdr, NULL, 0);
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_BadAddr], 4);
	uint8_t raw[20];
	tcp_wire_emit(&hdr, raw, sizeof(raw));
	th_inject_raw(&h, TH_PEER, TH_ADDR, raw, sizeof(raw), false);   /* checksum 0: wrong */
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_InCsumErrors], 1);
	CHECK_EQ(h.t.mib[TCP_MIB_InErrs], 1);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_simultaneous_open)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *c;
	REQUIRE(tcp_connect(&h.t, 0, TH_PEER, 5000, th_cb, &h, &c) == 0);
	struct th_seg s;
	POP(&h, s);
	uint32_t iss = s.h.seq;
	struct th_peer p;
	peer_init(&p, 5000, s.h.sport, 9000);
	peer_send_opts(&h, &p, TCP_SYN, &(struct tcp_opts){ .has = TCP_HAS_MSS, .mss = 1400 }, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);         /* SYN-RECEIVED: our SYN again, with ACK */
	CHECK_EQ(s.h.seq, iss);
	CHECK_EQ(s.h.ack, 9001);
	CHECK(!(h.events & TCP_EV_CONNECTED));
	p.ack = iss + 1;
	p.seq = 9000;                                   /* its SYN again, now with the ACK */
	peer_send_opts(&h, &p, TCP_SYN | TCP_ACK, &(struct tcp_opts){ .has = TCP_HAS_MSS, .mss = 1400 }, NULL, 0);
	/* Its SYN is old now (seq < RCV.NXT): trimmed; the ACK completes the open. */
	CHECK(h.events & TCP_EV_CONNECTED);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "ESTAB");
	CHECK_EQ(i.mss, 1400);
	th_drain(&h);
	tcp_abort(c);
	th_fini(&h);
}

TEST(tcp_conn_syn_sent_rules)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *c;
	REQUIRE(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c) == 0);
	struct th_seg s;
	POP(&h, s);
	struct th_peer p;
	peer_init(&p, 80, s.h.sport, 100);
	p.ack = s.h.seq + 5;                            /* acks what we never sent */
	peer_send(&h, &p, TCP_SYN | TCP_ACK, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);
	CHECK_EQ(s.h.seq, p.ack);
	p.seq = 100;
	peer_send(&h, &p, TCP_RST, NULL, 0);            /* RST without ACK: ignored */
	p.seq = 100;
	peer_send(&h, &p, TCP_FIN, NULL, 0);            /* neither SYN nor RST: dropped */
	p.seq = 100;
	peer_send(&h, &p, TCP_RST | TCP_ACK, NULL, 0);  /* bad ACK + RST: dropped */
	NONE(&h);
	CHECK_EQ(tcp_error(c), 0);
	p.ack -= 4;
	p.seq = 100;
	peer_send(&h, &p, TCP_RST | TCP_ACK, NULL, 0);  /* acceptable ACK: refused */
	CHECK_EQ(tcp_error(c), -NET_ECONNREFUSED);
	CHECK(h.events & TCP_EV_CLOSED);
	CHECK_EQ(h.t.mib[TCP_MIB_AttemptFails], 1);
	CHECK_EQ(tcp_send(c, "x", 1), -NET_ECONNREFUSED);
	tcp_close(c);
	th_advance(&h, TH_MS);
	th_fini(&h);
}

TEST(tcp_conn_connect_timeout_backoff)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *c;
	REQUIRE(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c) == 0);
	th_drain(&h);
	uint64_t start = h.now, last = h.now;
	int sent = 0;
	uint64_t gaps[16];
	while (!(h.events & TCP_EV_CLOSED) && h.now - start < 1000 * TH_SEC) {
		th_advance(&h, 10 * TH_MS);
		struct th_seg s;
		while (th_pop(&h, &s)) {
			CHECK_EQ(s.h.flags, TCP_SYN);
			gaps[sent++ % 16] = h.now - last;
			last = h.now;
		}
	}
	CHECK_EQ(sent, 7);                              /* cfg.syn_retries */
	CHECK(gaps[0] >= TH_SEC && gaps[0] < TH_SEC + 20 * TH_MS);
	CHECK(gaps[1] >= 2 * TH_SEC && gaps[1] < 2 * TH_SEC + 20 * TH_MS);
	CHECK(gaps[6] >= 64 * TH_SEC);
	CHECK(h.now - start >= 180 * TH_SEC);           /* MUST-23 */
	CHECK_EQ(tcp_error(c), -NET_ETIMEDOUT);
	CHECK_EQ(h.t.mib[TCP_MIB_RetransSegs], 7);
	tcp_close(c);
	th_advance(&h, TH_MS);
	th_fini(&h);
}

TEST(tcp_conn_data_and_delayed_ack)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "hello", 5);
	NONE(&h);                                       /* delayed */
	CHECK(h.events & TCP_EV_RECV);
	char buf[16];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 5);
	CHECK_MEM(buf, "hello", 5);
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), -NET_EAGAIN);
	th_advance(&h, 39 * TH_MS);
	NONE(&h);
	th_advance(&h, 2 * TH_MS);                      /* 40 ms delayed ACK timer */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, 1006);
	CHECK_EQ(h.t.mib[TCP_MIB_DelayedACKs], 1);
	/* The reply carries the ACK: no separate ACK once it went out. */
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "ping", 4);
	CHECK_EQ(tcp_send(c, "pong", 4), 4);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK | TCP_PSH);
	CHECK_EQ(s.h.ack, 1010);
	CHECK_EQ(s.dlen, 4);
	th_advance(&h, 100 * TH_MS);
	NONE(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_fin_established_to_close_wait_to_last_ack)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	peer_send(&h, &p, TCP_ACK | TCP_FIN, "bye", 3);
	struct th_seg s;
	NONE(&h);                                       /* FIN: ACK delayed (pingpong) */
	th_advance(&h, 40 * TH_MS);
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK(!(s.h.flags & TCP_FIN));
	CHECK_EQ(h.t.mib[TCP_MIB_DelayedACKs], 1);
	CHECK(h.events & TCP_EV_RECV);
	char buf[8];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 3);
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 0);     /* end of stream */
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "CLOSE-WAIT");
	p.seq--;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);  /* repeated FIN: re-ACK */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(tcp_send(c, "x", 1), 1);               /* may still send */
	POP(&h, s);
	p.ack += 1;
	tcp_close(c);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK | TCP_FIN);
	CHECK_EQ(s.h.seq, p.ack);
	p.seq--;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);  /* LAST-ACK: its FIN again, re-ACKed */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	p.ack++;
	uint64_t before = h.t.mem_used;
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* LAST-ACK -> CLOSED */
	NONE(&h);
	CHECK(h.t.mem_used < before);                   /* TCB and buffers released */
	CHECK_EQ(h.t.nconns, 0);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_fin_wait_1_2_time_wait)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	tcp_close(c);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK | TCP_FIN);
	p.ack++;
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* FIN-WAIT-1 -> FIN-WAIT-2 */
	NONE(&h);
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);  /* -> TIME-WAIT */
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(h.t.ntw, 1);
	/* TIME-WAIT: a repeated FIN is ACKed and restarts 2*MSL. */
	th_advance(&h, 30 * TH_SEC);
	p.seq--;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	th_advance(&h, 59 * TH_SEC);
	CHECK_EQ(h.t.ntw, 1);
	th_advance(&h, 2 * TH_SEC);
	CHECK_EQ(h.t.ntw, 0);                           /* MUST-13: 2*MSL, then gone */
	CHECK_EQ(h.t.nconns, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_TW], 1);
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* CLOSED now: RST */
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_fin_wait_1_fin_ack_together)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	tcp_shutdown(c, TCP_SHUT_WR);                   /* half-close; handle stays */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK | TCP_FIN);
	CHECK_EQ(tcp_send(c, "x", 1), -NET_EPIPE);
	peer_send(&h, &p, TCP_ACK, "still", 5);         /* half-duplex: the peer may send */
	th_advance(&h, 50 * TH_MS);
	th_drain(&h);
	char buf[8];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 5);
	p.ack++;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);  /* FIN + ACK of ours: TIME-WAIT */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "TIME-WAIT");
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 0);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_simultaneous_close_closing)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	tcp_close(c);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK | TCP_FIN);
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);  /* crosses ours: does not ACK it */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "CLOSING");
	p.seq--;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);  /* repeated FIN in CLOSING: re-ACK */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	p.ack++;
	peer_send(&h, &p, TCP_ACK, NULL, 0);
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "TIME-WAIT");
	tcp_close(l);
	th_fini(&h);
}

/* The three-segment close: an application that closes within the delayed-ACK time after
 * the peer's FIN answers with one segment carrying its FIN and the ACK of the peer's. */
TEST(tcp_conn_fin_ack_rides_on_our_fin)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);
	NONE(&h);
	th_advance(&h, 5 * TH_MS);
	NONE(&h);
	tcp_close(c);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags & (TCP_FIN | TCP_ACK), TCP_FIN | TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);                       /* the peer's FIN acknowledged */
	th_advance(&h, 100 * TH_MS);
	NONE(&h);                                       /* no separate ACK followed */
	CHECK_EQ(h.t.mib[TCP_MIB_DelayedACKs], 0);
	tcp_close(l);
	th_fini(&h);
}

/* Once our FIN is out (FIN-WAIT), the peer's FIN is ACKed at once: nothing else of ours
 * can carry it and the peer sits in LAST-ACK waiting. */
TEST(tcp_conn_fin_after_ours_acked_at_once)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	tcp_close(c);
	struct th_seg s;
	POP(&h, s);
	CHECK(s.h.flags & TCP_FIN);
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK(!(s.h.flags & TCP_FIN));
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_fin_in_syn_received)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	peer_init(&p, 40000, 80, 1000);
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	p.ack = s.h.seq + 1;
	peer_send(&h, &p, TCP_ACK | TCP_FIN, "q", 1);   /* third packet carries data + FIN */
	th_advance(&h, 40 * TH_MS);                     /* its ACK is delayed */
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq);
	struct tcp_sock *c;
	REQUIRE(tcp_accept(l, &c) == 0);
	struct tcp_conn_info i;
	tcp_get_info(c, &i);
	CHECK_STR(i.state, "CLOSE-WAIT");
	char b;
	CHECK_EQ(tcp_recv(c, &b, 1), 1);
	CHECK_EQ(tcp_recv(c, &b, 1), 0);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_rst_acceptability_rfc5961)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	uint32_t nxt = p.seq;
	struct th_seg s;
	/* Out of window: silently dropped. */
	p.seq = nxt + 200000;
	peer_send(&h, &p, TCP_RST, NULL, 0);
	p.seq = nxt - 1;
	peer_send(&h, &p, TCP_RST, NULL, 0);
	NONE(&h);
	/* In window but not RCV.NXT: challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>. */
	p.seq = nxt + 100;
	peer_send(&h, &p, TCP_RST, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, nxt);
	CHECK_EQ(s.h.seq, p.ack);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPChallengeACK], 1);
	/* Rate limited per connection. */
	p.seq = nxt + 50;
	peer_send(&h, &p, TCP_RST, NULL, 0);
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPACKSkippedChallenge], 1);
	/* SYN in ESTABLISHED (any seq): challenge ACK, connection lives (§4.2). */
	h.now += TH_SEC;
	p.seq = nxt + 7;
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.ack, nxt);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPSYNChallenge], 1);
	CHECK_EQ(tcp_error(c), 0);
	/* Exactly RCV.NXT: reset. */
	p.seq = nxt;
	peer_send(&h, &p, TCP_RST, NULL, 0);
	NONE(&h);
	CHECK_EQ(tcp_error(c), -NET_ECONNRESET);        /* MUST-12: the app learns */
	CHECK(h.events & TCP_EV_CLOSED);
	CHECK_EQ(tcp_recv(c, &(char){ 0 }, 1), -NET_ECONNRESET);
	CHECK_EQ(h.t.mib[TCP_MIB_EstabResets], 1);
	CHECK_EQ(h.t.nestab, 0);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_ack_acceptability_rfc5961)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	struct th_seg s;
	uint32_t una = p.ack;
	/* ACK of something not yet sent: ACK back, segment (and its data) dropped. */
	p.ack = una + 10;
	peer_send(&h, &p, TCP_ACK, "evil", 4);
	POP(&h, s);
	CHECK_EQ(s.h.ack, p.seq - 4);
	CHECK_EQ(tcp_recv(c, &(char[8]){ 0 }, 8), -NET_EAGAIN);
	/* Too old: below SND.UNA - MAX.SND.WND. */
	h.now += TH_SEC;
	p.seq -= 4;
	p.ack = una - 70000;
	peer_send(&h, &p, TCP_ACK, "evil", 4);
	POP(&h, s);
	CHECK_EQ(tcp_recv(c, &(char[8]){ 0 }, 8), -NET_EAGAIN);
	/* A plausible old ACK (within MAX.SND.WND) is fine and the data is taken. */
	p.seq -= 4;
	p.ack = una - 1000;
	peer_send(&h, &p, TCP_ACK, "good", 4);
	CHECK_EQ(tcp_recv(c, &(char[8]){ 0 }, 8), 4);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_syn_received_rst_back_to_listen)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	peer_init(&p, 40000, 80, 1000);
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(l->syn_len, 1);
	/* The peer repeats its SYN: the SYN-ACK again. */
	p.seq = 1000;
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	peer_send(&h, &p, TCP_RST, NULL, 0);            /* seq == RCV.NXT */
	NONE(&h);
	CHECK_EQ(l->syn_len, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_EmbryonicRsts], 1);
	th_advance(&h, TH_MS);
	CHECK_EQ(h.t.nconns, 0);
	CHECK_EQ(h.nevents, 0);                         /* the user need not be informed */
	/* The listener still works. */
	struct th_peer q;
	peer_init(&q, 40001, 80, 5);
	peer_send(&h, &q, TCP_SYN, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_synack_retries_then_gone)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p;
	peer_init(&p, 40000, 80, 1000);
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	th_drain(&h);
	for (int i = 0; i < 200; i++)
		th_advance(&h, TH_SEC);
	CHECK_EQ(h.t.mib[TCP_MIB_RetransSegs], 5);      /* synack_retries */
	CHECK_EQ(h.t.nconns, 0);
	CHECK_EQ(l->syn_len, 0);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_time_wait_bounded_and_reuse)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.max_time_wait = 2;
	struct th h;
	th_init(&h, &cfg);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	for (int k = 0; k < 3; k++) {
		struct th_peer p;
		peer_init(&p, (uint16_t)(41000 + k), 80, 1000);
		struct tcp_sock *c;
		struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
		peer_send_opts(&h, &p, TCP_SYN, &o, NULL, 0);
		struct th_seg s;
		POP(&h, s);
		p.ack = s.h.seq + 1;
		peer_send(&h, &p, TCP_ACK, NULL, 0);
		REQUIRE(tcp_accept(l, &c) == 0);
		tcp_close(c);                           /* we close first: we hold TIME-WAIT */
		POP(&h, s);
		p.ack++;
		peer_send(&h, &p, TCP_ACK | TCP_FIN, NULL, 0);
		POP(&h, s);
	}
	CHECK_EQ(h.t.ntw, 2);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPTimeWaitOverflow], 1);
	/* A new SYN on a TIME-WAIT 4-tuple with a higher sequence number reopens it. */
	struct th_peer p;
	peer_init(&p, 41002, 80, 50000);
	peer_send(&h, &p, TCP_SYN, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	CHECK_EQ(s.h.ack, 50001);
	CHECK_EQ(h.t.mib[TCP_MIB_TWRecycled], 1);
	CHECK_EQ(h.t.ntw, 1);
	/* An old one does not: challenge ACK from TIME-WAIT. */
	struct th_peer q;
	peer_init(&q, 41001, 80, 10);
	peer_send(&h, &q, TCP_SYN, NULL, 0);
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_abort_and_close_with_unread_data)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	peer_send(&h, &p, TCP_ACK, "unread", 6);
	tcp_close(c);                                   /* RFC 2525 §2.17: RST, not FIN */
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST | TCP_ACK);
	CHECK_EQ(s.h.ack, p.seq);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPAbortOnClose], 1);
	th_advance(&h, TH_MS);
	CHECK_EQ(h.t.nconns, 0);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_urgent_inline)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	struct tcp_hdr hdr = { .sport = p.port, .dport = 80, .seq = p.seq, .ack = p.ack,
			       .flags = TCP_ACK | TCP_URG | TCP_PSH, .wnd = 65535, .urg = 3 };
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, "abcdef", 6);
	p.seq += 6;
	CHECK(h.events & TCP_EV_URGENT);                /* MUST-32 */
	CHECK_EQ(tcp_urgent_pending(c), 3);             /* MUST-33; pointer = first non-urgent (MUST-62) */
	char b[8];
	CHECK_EQ(tcp_recv(c, b, 2), 2);
	CHECK_EQ(tcp_urgent_pending(c), 1);
	CHECK_EQ(tcp_recv(c, b, 8), 4);                 /* data stays inline */
	CHECK_EQ(tcp_urgent_pending(c), 0);
	/* A pointer past anything we could hold is ignored, safely. */
	hdr.seq = p.seq;
	hdr.urg = 0xffff;
	h.events = 0;
	th_inject(&h, TH_PEER, TH_ADDR, &hdr, "x", 1);
	CHECK(h.events & TCP_EV_URGENT);
	CHECK(tcp_urgent_pending(c) <= 1);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_keepalive)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	th_advance(&h, 3 * 3600 * TH_SEC);              /* MUST-25: off by default */
	NONE(&h);
	REQUIRE(tcp_setopt(c, TCP_OPT_KEEPALIVE, 1) == 0);
	REQUIRE(tcp_setopt(c, TCP_OPT_KEEPIDLE, 10) == 0);
	REQUIRE(tcp_setopt(c, TCP_OPT_KEEPINTVL, 2) == 0);
	REQUIRE(tcp_setopt(c, TCP_OPT_KEEPCNT, 3) == 0);
	th_advance(&h, 9 * TH_SEC);
	NONE(&h);
	th_advance(&h, 2 * TH_SEC);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_ACK);
	CHECK_EQ(s.h.seq, p.ack - 1);                   /* <SEQ=SND.UNA-1>, no data (SHLD-12) */
	CHECK_EQ(s.dlen, 0);
	peer_send(&h, &p, TCP_ACK, NULL, 0);            /* answered: idle again (MUST-26) */
	th_advance(&h, 9 * TH_SEC);
	NONE(&h);
	/* Now nobody answers: 3 probes 2 s apart (MUST-29), then abort. */
	for (int i = 0; i < 20 && !(h.events & TCP_EV_CLOSED); i++)
		th_advance(&h, TH_SEC);
	int probes = 0;
	while (th_pop(&h, &s))
		probes += s.h.flags == TCP_ACK;
	CHECK_EQ(probes, 3);
	CHECK_EQ(tcp_error(c), -NET_ETIMEDOUT);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPKeepAlive], 4);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

static void icmp_quote(uint8_t *q, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq)
{
	memset(q, 0, 28);
	q[0] = 0x45;
	wire_put16(q + 2, 1500);
	q[9] = 6;
	wire_put32(q + 12, src);
	wire_put32(q + 16, dst);
	wire_put16(q + 20, sport);
	wire_put16(q + 22, dport);
	wire_put32(q + 24, seq);
}

TEST(tcp_conn_icmp_errors)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *c;
	REQUIRE(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c) == 0);
	struct th_seg s;
	POP(&h, s);
	uint8_t q[28];
	/* Net unreachable while connecting: soft (MUST-56); source quench: ignored (MUST-55). */
	icmp_quote(q, TH_ADDR, TH_PEER, s.h.sport, 80, s.h.seq);
	tcp_icmp_error(&h.t, 3, 0, 0, q, sizeof(q));
	tcp_icmp_error(&h.t, 4, 0, 0, q, sizeof(q));
	tcp_icmp_error(&h.t, 11, 0, 0, q, sizeof(q));
	tcp_icmp_error(&h.t, 12, 0, 0, q, sizeof(q));   /* parameter problem: soft too */
	tcp_icmp_error(&h.t, 3, 1, 0, q, sizeof(q));
	tcp_icmp_error(&h.t, 3, 5, 0, q, sizeof(q));
	CHECK_EQ(tcp_error(c), 0);
	/* Truncated quotes and wrong sequence numbers are ignored (RFC 5927). */
	tcp_icmp_error(&h.t, 3, 3, 0, q, 27);
	icmp_quote(q, TH_ADDR, TH_PEER, s.h.sport, 80, s.h.seq + 100);
	tcp_icmp_error(&h.t, 3, 3, 0, q, sizeof(q));
	CHECK_EQ(tcp_error(c), 0);
	CHECK_EQ(h.t.mib[TCP_MIB_OutOfWindowIcmps], 1);
	/* Port unreachable for our SYN: refused. */
	icmp_quote(q, TH_ADDR, TH_PEER, s.h.sport, 80, s.h.seq);
	tcp_icmp_error(&h.t, 3, 3, 0, q, sizeof(q));
	CHECK_EQ(tcp_error(c), -NET_ECONNREFUSED);
	tcp_close(c);
	th_advance(&h, TH_MS);
	th_fini(&h);
}

TEST(tcp_conn_connect_errors)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *c;
	CHECK_EQ(tcp_connect(&h.t, 0, 0xffffffffu, 80, th_cb, &h, &c), -NET_EINVAL);   /* MUST-46 */
	CHECK_EQ(tcp_connect(&h.t, 0, 0xe0000005u, 80, th_cb, &h, &c), -NET_EINVAL);
	CHECK_EQ(tcp_connect(&h.t, 0, TH_PEER, 0, th_cb, &h, &c), -NET_EINVAL);
	h.route_fail = true;
	CHECK_EQ(tcp_connect(&h.t, 0, TH_PEER, 80, th_cb, &h, &c), -NET_ENETUNREACH);
	h.route_fail = false;
	/* An explicit local address (MUST-43). */
	REQUIRE(tcp_connect(&h.t, 0x0a000063u, TH_PEER, 80, th_cb, &h, &c) == 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.src, 0x0a000063u);
	tcp_close(c);
	th_fini(&h);
}

/* ip_output that hands the segment straight back to the same stack (loopback done
 * wrong): TCP must queue it, not recurse. */
static void loop_hook(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct th *h = ctx;
	tcp_input(&h->t, p, src, dst, h->now);
}

struct closer {
	struct th *h;
	int calls;
};

static void close_in_callback(void *user, struct tcp_sock *s, unsigned ev)
{
	struct closer *k = user;
	k->calls++;
	if (ev & TCP_EV_RECV) {
		char b[16];
		while (tcp_recv(s, b, sizeof(b)) > 0)
			;
		tcp_close(s);                   /* from inside the callback */
	}
}

TEST(tcp_conn_loopback_reentrant_and_close_in_callback)
{
	struct th h;
	th_init(&h, NULL);
	h.hook = loop_hook;
	h.hctx = &h;
	struct tcp_sock *l, *c, *srv;
	struct closer k = { &h, 0 };
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, close_in_callback, &k, &l) == 0);
	REQUIRE(tcp_connect(&h.t, 0, TH_ADDR, 80, th_cb, &h, &c) == 0);
	/* The whole handshake ran inside tcp_connect's return path. */
	REQUIRE(tcp_accept(l, &srv) == 0);
	CHECK(tcp_ready(c) & TCP_EV_CONNECTED);
	CHECK_EQ(tcp_send(c, "hi", 2), 2);
	th_advance(&h, 100 * TH_MS);                    /* events, the callback closes */
	CHECK(k.calls >= 1);
	CHECK(h.events & TCP_EV_RECV);                  /* the client saw the server's FIN */
	CHECK_EQ(tcp_recv(c, &(char){ 0 }, 1), 0);
	tcp_close(c);
	th_advance(&h, 100 * TH_MS);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_malformed_options_dropped_safely)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	/* MUST-7: zero-length, one-length, overlong and truncated options: the segment is
	 * dropped and counted, the connection is untouched. */
	static const uint8_t bad[][8] = {
		{ 2, 0, 5, 0xb4, 1, 1, 1, 1 },          /* length 0 */
		{ 8, 1, 1, 1, 1, 1, 1, 1 },             /* length 1 */
		{ 1, 1, 1, 1, 1, 1, 5, 40 },            /* SACK claims 40 bytes */
		{ 1, 1, 1, 1, 1, 1, 1, 3 },             /* WS kind in the last byte */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t seg[32];
		struct tcp_hdr hdr = { .sport = p.port, .dport = 80, .seq = p.seq, .ack = p.ack,
				       .flags = TCP_ACK | TCP_RST, .wnd = 1000 };
		tcp_wire_emit(&hdr, seg, sizeof(seg));
		seg[12] = 7 << 4;                       /* 28-byte header */
		memcpy(seg + 20, bad[i], 8);
		memcpy(seg + 28, "data", 4);
		th_inject_raw(&h, TH_PEER, TH_ADDR, seg, sizeof(seg), true);
	}
	NONE(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_BadOpt], 4);
	CHECK_EQ(tcp_error(c), 0);                      /* the RST bit inside was never seen */
	CHECK_EQ(tcp_recv(c, &(char[8]){ 0 }, 8), -NET_EAGAIN);
	/* A data offset past the segment, and one below 5 words. */
	uint8_t seg[24] = { 0 };
	struct tcp_hdr hdr = { .sport = p.port, .dport = 80, .seq = p.seq, .ack = p.ack, .flags = TCP_ACK };
	tcp_wire_emit(&hdr, seg, sizeof(seg));
	seg[12] = 15 << 4;
	th_inject_raw(&h, TH_PEER, TH_ADDR, seg, sizeof(seg), true);
	seg[12] = 4 << 4;
	th_inject_raw(&h, TH_PEER, TH_ADDR, seg, sizeof(seg), true);
	th_inject_raw(&h, TH_PEER, TH_ADDR, seg, 12, true);            /* shorter than a header */
	CHECK_EQ(h.t.mib[TCP_MIB_BadHdr], 3);
	NONE(&h);
	/* Still fine afterwards. */
	peer_send(&h, &p, TCP_ACK, "ok", 2);
	CHECK_EQ(tcp_recv(c, &(char[8]){ 0 }, 8), 2);
	th_drain(&h);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

TEST(tcp_conn_config_defaults_and_clamps)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	CHECK_EQ(cfg.keepalive_idle_s, 7200);           /* MUST-28: at least two hours */
	CHECK_EQ(cfg.rto_min_ms, 200);
	CHECK_EQ(cfg.delack_ms, 40);
	CHECK_EQ(cfg.cc, TCP_CC_CUBIC);
	CHECK(cfg.syncookies && cfg.sack && cfg.timestamps && cfg.window_scaling);
	cfg.delack_ms = 900;                            /* MUST-40: < 0.5 s whatever is asked */
	cfg.rcvbuf = 100000;                            /* rounded to a power of two */
	struct th h;
	th_init(&h, &cfg);
	CHECK_EQ(h.t.cfg.delack_ms, 40);
	CHECK_EQ(h.t.cfg.rcvbuf, 65536);
	th_fini(&h);
}

TEST(tcp_conn_tos_passed_to_ip)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	CHECK_EQ(tcp_setopt(c, TCP_OPT_TOS, 256), -NET_EINVAL);
	REQUIRE(tcp_setopt(c, TCP_OPT_TOS, 0xb8) == 0);     /* EF (MUST-48), unchanged (SHLD-22) */
	CHECK_EQ(tcp_send(c, "x", 1), 1);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(h.last_tos, 0xb8);
	tcp_abort(c);
	tcp_close(l);
	th_fini(&h);
}

/* Brings a fresh passive connection into state st (by name, as ss spells it). */
/* RFC 5961 in every synchronized state: an in-window RST or any SYN gets a challenge
 * ACK and changes nothing; a RST at exactly RCV.NXT ends the connection. */
TEST(tcp_conn_rfc5961_in_every_state)
{
	static const char *const states[] = { "SYN-RECV", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2",
					      "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT" };
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		struct th h;
		th_init(&h, NULL);
		struct th_peer p;
		struct tcp_sock *l = NULL, *c = th_into_state(&h, &p, &l, states[k], NULL);
		REQUIRE(c);
		struct tcp_conn_info i;
		tcp_get_info(c, &i);
		CHECK_STR(i.state, states[k]);
		uint32_t nxt = p.seq;
		struct th_seg s;
		/* In-window, not exact: challenge ACK, state kept. */
		h.now += TH_SEC;
		p.seq = nxt + 10;
		peer_send(&h, &p, TCP_RST, NULL, 0);
		if (!th_pop(&h, &s) || s.h.flags != TCP_ACK || s.h.ack != nxt)
			test_fail(__FILE__, __LINE__, states[k]);
		tcp_get_info(c, &i);
		CHECK_STR(i.state, states[k]);
		/* A SYN: challenge ACK, except that a passive SYN-RECEIVED goes back to
		 * LISTEN (RFC 9293 §3.10.7.4 fourth). */
		h.now += TH_SEC;
		bool tw = !strcmp(states[k], "TIME-WAIT");
		p.seq = tw ? nxt - 5 : nxt + 5;         /* a newer SYN would reopen TIME-WAIT */
		peer_send(&h, &p, TCP_SYN, NULL, 0);
		if (!strcmp(states[k], "SYN-RECV")) {
			CHECK_EQ(th_pending(&h), 0);
			CHECK_EQ(h.t.nestab, 0);
			th_advance(&h, TH_MS);
			CHECK_EQ(h.t.nconns, 0);
			c = NULL;                       /* freed: it was never the app's */
		} else {
			if (!th_pop(&h, &s) || s.h.flags != TCP_ACK || s.h.ack != nxt)
				test_fail(__FILE__, __LINE__, states[k]);
			/* Exactly RCV.NXT: gone (an orphan's TCB is freed at once). */
			bool owned = c->app_owned;
			p.seq = nxt;
			peer_send(&h, &p, TCP_RST, NULL, 0);
			CHECK_EQ(th_pending(&h), 0);
			CHECK_EQ(h.t.nconns, 0);
			if (owned) {
				tcp_get_info(c, &i);
				CHECK_STR(i.state, "UNCONN");
			} else {
				c = NULL;
			}
			p.seq = nxt;
			peer_send(&h, &p, TCP_ACK, "x", 1);     /* no TCB now: RST */
			if (!th_pop(&h, &s) || !(s.h.flags & TCP_RST))
				test_fail(__FILE__, __LINE__, states[k]);
		}
		if (c && c->app_owned)
			tcp_close(c);
		if (l)
			tcp_close(l);
		th_fini(&h);
	}
}

TEST(tcp_conn_straddling_segment_trimmed)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l, *c = th_estab(&h, &p, &l, NULL, 0);
	REQUIRE(c);
	peer_send(&h, &p, TCP_ACK, "abcdef", 6);
	p.seq -= 3;                                     /* resend "def" + new "ghi" */
	peer_send(&h, &p, TCP_ACK | TCP_FIN, "defghi", 6);
	struct th_seg s;
	POP(&h, s);                                     /* old data: ACK at once */
	CHECK_EQ(s.h.ack, p.seq);                       /* FIN taken too */
	char b[16];
	CHECK_EQ(tcp_recv(c, b, sizeof(b)), 9);
	CHECK_MEM(b, "abcdefghi", 9);
	CHECK_EQ(tcp_recv(c, b, sizeof(b)), 0);
	th_drain(&h);
	tcp_close(c);
	tcp_close(l);
	th_fini(&h);
}

/* TIME-WAIT TCBs expire from their FIFO in expiry order, and a restarted 2*MSL moves a
 * TCB behind younger ones: the younger goes first, the restarted one 2*MSL after its
 * restart, not before. */
static void close_into_time_wait(struct th *h, struct tcp_sock *c, struct th_peer *p)
{
	tcp_close(c);
	th_drain(h);
	p->ack++;                                       /* our FIN */
	peer_send(h, p, TCP_ACK, NULL, 0);
	peer_send(h, p, TCP_ACK | TCP_FIN, NULL, 0);
	th_drain(h);
}

TEST(tcp_conn_time_wait_fifo_order_and_restart)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer p1, p2;
	struct tcp_sock *c1 = th_handshake(&h, l, &p1, 0, 40001);
	struct tcp_sock *c2 = th_handshake(&h, l, &p2, 0, 40002);
	REQUIRE(c1 && c2);
	close_into_time_wait(&h, c1, &p1);              /* expires at 60 s */
	th_advance(&h, TH_SEC);
	close_into_time_wait(&h, c2, &p2);              /* expires at 61 s */
	CHECK_EQ(h.t.ntw, 2);
	th_advance(&h, 30 * TH_SEC);
	p1.seq--;
	peer_send(&h, &p1, TCP_ACK | TCP_FIN, NULL, 0); /* the first restarts: 91 s */
	th_drain(&h);
	th_advance(&h, 29 * TH_SEC + TH_SEC / 2);       /* 60.5 s */
	CHECK_EQ(h.t.ntw, 2);
	th_advance(&h, TH_SEC);                         /* 61.5 s: the second goes */
	CHECK_EQ(h.t.ntw, 1);
	th_advance(&h, 29 * TH_SEC);                    /* 90.5 s */
	CHECK_EQ(h.t.ntw, 1);
	th_advance(&h, TH_SEC);                         /* 91.5 s */
	CHECK_EQ(h.t.ntw, 0);
	CHECK_EQ(h.t.mib[TCP_MIB_TW], 2);
	tcp_close(l);
	th_fini(&h);
}

/* tcp_pick_port remembers the last destination's hash: with destinations and ports
 * changing between connections it must pick exactly what recomputing every time
 * picks (a memo keyed on too little would hand one destination another's start). */
TEST(tcp_conn_port_hash_memo_exact)
{
	struct th h[2];
	th_init(&h[0], NULL);
	th_init(&h[1], NULL);
	static const uint32_t dst[3] = { TH_PEER, TH_PEER + 1, TH_PEER };
	static const uint16_t dport[4] = { 80, 80, 8080, 443 };
	struct tcp_sock *c[2][12];
	for (int i = 0; i < 12; i++) {
		uint16_t port[2];
		for (int k = 0; k < 2; k++) {
			if (k == 1)
				h[k].t.pmemo_ok = false;        /* always recomputed */
			REQUIRE(tcp_connect(&h[k].t, 0, dst[i % 3], dport[i % 4], th_cb, &h[k], &c[k][i]) == 0);
			struct th_seg s;
			POP(&h[k], s);
			port[k] = s.h.sport;
		}
		CHECK_EQ(port[0], port[1]);
	}
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 12; i++)
			tcp_abort(c[k][i]);
		th_fini(&h[k]);
	}
}
