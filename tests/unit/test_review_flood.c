/*
 * Hostile review of the connection-flood fixes (commit 8093410, docs/review-flood.md):
 * receive buffers taken at the first byte, the per-host accept-queue share, and the
 * HTTP shedding grace. Each test states a suspicion; those named "..._bug" failed
 * before their fix, the others pin down behaviour the review found sound.
 */
#include "tests/unit/http_app_fx.h"
#include "net/tcp_int.h"

/* A handshake whose final ACK the peer holds back for `delay`: the server's RTT sample
 * (and so the grace derived from it) is whatever the peer chooses, up to the SYN-ACK
 * timeout. */
static bool open_slow(struct app_fx *f, struct th_peer *p, uint32_t addr, uint16_t port, uint64_t delay)
{
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
	struct th_seg s;
	bool got = false;
	peer_init(p, port, 80, 5000u + port);
	p->addr = addr;
	th_drain(&f->h);
	peer_send_opts(&f->h, p, TCP_SYN, &o, NULL, 0);
	while (!got && th_pop(&f->h, &s))
		got = s.h.flags == (TCP_SYN | TCP_ACK) && s.h.dport == port;
	if (!got)
		return false;
	p->ack = s.h.seq + 1;
	th_advance(&f->h, delay);
	th_drain(&f->h);
	peer_send(&f->h, p, TCP_ACK, NULL, 0);
	th_drain(&f->h);
	return true;
}

/* Suspicion: "capped at a second" holds for the silent grace too. It did not: the RTT
 * was capped, then doubled, so a peer that held its handshake ACK back for 0.9 s kept a
 * silent slot for 1.8 s. */
TEST(review_flood_silent_grace_capped_at_one_second_bug)
{
	struct app_fx f;
	struct th_peer a, q;
	fx_start_cfg(&f, 1, 0);
	uint64_t base = f.h.t.mem_used;
	REQUIRE(open_slow(&f, &a, 0x0b000001u, 30000, 900 * TH_MS));
	CHECK_EQ(f.a.nopen, 1);
	CHECK(f.a.conns[0].rtt_ns >= 800 * TH_MS);
	fx_advance(&f, 1100 * TH_MS);                   /* past any 1 s cap, silent all along */
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 60000, 50));
	CHECK_EQ(f.a.stats.shed, 1);
	fx_finish(&f, base, 600);
}

/* Suspicion: a peer that sends its request and its FIN, then never reads (zero window),
 * is not "stalled" (http_conn_stalled_since refused every half-closed connection), so
 * no newcomer could shed it: a handful of them held every slot for the send timeout
 * (30 s) while newcomers waited in the backlog. */
TEST(review_flood_half_closed_nonreader_is_sheddable_bug)
{
	static const char big[] = "GET /bytes/1000000 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct app_fx f;
	struct th_peer p[4], q;
	fx_start_cfg(&f, 4, 0);
	uint64_t base = f.h.t.mem_used;
	for (int i = 0; i < 4; i++) {
		REQUIRE(th_peer_open(&f.h, 80, &p[i], 0x0b000001u + (uint32_t)i, (uint16_t)(30000 + i)));
		p[i].wnd = 0;
		peer_send(&f.h, &p[i], TCP_ACK | TCP_PSH | TCP_FIN, big, sizeof(big) - 1);
		th_drain(&f.h);
	}
	CHECK_EQ(f.a.nopen, 4);
	fx_advance(&f, 2 * TH_SEC);
	th_drain(&f.h);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 60000, 1000));
	CHECK(f.a.stats.shed >= 1);
	fx_finish(&f, base, 600);
}

/* Suspicion: since + grace overflows for a huge (but not "never") shed_after_ns, and the
 * retry time lands in the past: http_app_poll would then retry on every call. */
TEST(review_flood_retry_time_never_in_the_past_bug)
{
	struct app_fx f;
	struct th_peer a, q;
	fx_start_cfg(&f, 1, UINT64_MAX - 1);
	uint64_t base = f.h.t.mem_used;
	REQUIRE(th_peer_open(&f.h, 80, &a, 0x0b000001u, 30000));
	peer_send(&f.h, &a, TCP_ACK | TCP_PSH, "GET", 3);       /* not silent */
	th_drain(&f.h);
	fx_advance(&f, 10 * TH_MS);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	CHECK(f.a.accept_waiting);
	CHECK(f.a.accept_retry_ns >= f.h.now);
	peer_send(&f.h, &a, TCP_RST, NULL, 0);  /* end it: the slot frees, q gets it */
	fx_advance(&f, TH_MS);
	th_drain(&f.h);
	fx_finish(&f, base, 600);
}

/* ---- TCP: receive buffers at the first byte ------------------------------------------ */

/* A listener on 80 and one accepted connection from the default peer; mem_max 0: the
 * default budget. */
static struct tcp_sock *one_conn(struct th *h, struct th_peer *p, struct tcp_sock **l, uint64_t mem_max)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	if (mem_max)
		cfg.mem_max = mem_max;
	th_init(h, &cfg);
	if (tcp_listen(&h->t, 0, 80, 0, th_cb, h, l) != 0)
		return NULL;
	return th_handshake(h, *l, p, 0, 40000);
}

/* Suspicion: a first segment dropped for want of memory is acknowledged after all, or
 * the FIN riding on it is taken (the peer would believe bytes delivered that were not).
 * Verdict: sound. Nothing is sent, not even at the delayed-ACK timer, the state stays
 * ESTABLISHED; the retransmission is taken whole and ACKed with its FIN. */
TEST(review_flood_dropped_first_data_and_fin_not_acked)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct th_seg s;
	REQUIRE((c = one_conn(&h, &p, &l, 0)) != NULL);
	uint64_t base = h.t.mem_used;
	CHECK(c->rbuf == NULL);
	uint32_t nxt = c->rcv_nxt;
	h.mem_fail_after = 0;
	peer_send(&h, &p, TCP_ACK | TCP_PSH | TCP_FIN, "GET", 3);
	th_advance(&h, 500 * TH_MS);
	NONE(&h);
	CHECK_EQ(c->state, TCP_ESTABLISHED);
	CHECK(!c->fin_rcvd);
	CHECK_EQ(c->rcv_nxt, nxt);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPRcvQDrop], 1);
	CHECK_EQ(h.t.mem_used, base);
	char buf[8];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), -NET_EAGAIN);
	h.mem_fail_after = -1;
	p.seq -= 4;                                     /* the peer resends data and FIN */
	peer_send(&h, &p, TCP_ACK | TCP_PSH | TCP_FIN, "GET", 3);
	th_advance(&h, 40 * TH_MS);                     /* a FIN's ACK is delayed */
	POP(&h, s);
	CHECK_EQ(s.h.ack, nxt + 4);
	CHECK_EQ(c->state, TCP_CLOSE_WAIT);
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 3);
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 0);
	tcp_close(c);
	tcp_close(l);
	th_drain(&h);
	th_fini(&h);
}

/* Suspicion: tcp_rbuf_trim frees a buffer that still holds out-of-order data (all the
 * application could read is read, yet bytes past a hole are in the ring). Verdict:
 * sound (nooo == 0 is required); the hole, once filled, delivers every byte. */
TEST(review_flood_trim_keeps_out_of_order_data)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	REQUIRE((c = one_conn(&h, &p, &l, 100 * 1024)) != NULL);
	uint64_t base = h.t.mem_used;
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "a", 1);
	REQUIRE(c->rbuf != NULL);
	REQUIRE(h.t.mem_pressure);                      /* 64 KiB of a 100 KiB budget */
	p.seq += 1;                                     /* "b" lost: a hole */
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "c", 1);
	CHECK_EQ(c->nooo, 1);
	char buf[8];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 1);
	CHECK(c->rbuf != NULL);                         /* "c" is in it */
	p.seq -= 2;
	peer_send(&h, &p, TCP_ACK | TCP_PSH, "b", 1);
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 2);
	CHECK(!memcmp(buf, "bc", 2));
	CHECK(c->rbuf == NULL);                         /* now empty: back under pressure */
	CHECK_EQ(h.t.mem_used, base);
	tcp_close(c);
	tcp_close(l);
	th_drain(&h);
	th_fini(&h);
}

/* Suspicion: an URG segment whose text is dropped for want of memory leaves urgent
 * state pointing into a buffer that does not exist, or a trimmed buffer loses unread
 * urgent bytes. Verdict: sound. The pointer is remembered (step six precedes the text,
 * as for the zero-window allowance), tcp_urgent_pending() says 0 until the bytes come,
 * and trimming needs everything read. */
TEST(review_flood_urgent_with_dropped_text)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	struct tcp_hdr hd;
	REQUIRE((c = one_conn(&h, &p, &l, 0)) != NULL);
	memset(&hd, 0, sizeof(hd));
	hd.sport = p.port;
	hd.dport = 80;
	hd.seq = p.seq;
	hd.ack = p.ack;
	hd.flags = TCP_ACK | TCP_PSH | TCP_URG;
	hd.wnd = 65535;
	hd.urg = 2;
	h.mem_fail_after = 0;
	th_inject(&h, p.addr, TH_ADDR, &hd, "ab", 2);
	CHECK(c->rbuf == NULL);
	CHECK_EQ(tcp_urgent_pending(c), 0);
	char buf[4];
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), -NET_EAGAIN);
	h.mem_fail_after = -1;
	th_inject(&h, p.addr, TH_ADDR, &hd, "ab", 2);
	CHECK_EQ(tcp_urgent_pending(c), 2);
	CHECK_EQ(tcp_recv(c, buf, sizeof(buf)), 2);
	CHECK_EQ(tcp_urgent_pending(c), 0);
	p.seq += 2;
	tcp_close(c);                                   /* all read: FIN, not RST */
	struct th_seg s;
	POP(&h, s);
	CHECK(s.h.flags & TCP_FIN);
	CHECK(!(s.h.flags & TCP_RST));
	tcp_close(l);
	th_drain(&h);
	th_fini(&h);
}

/* Suspicion: buffers are sized at the SYN (TCP_RBUF_MIN under pressure) but taken at the
 * first byte, so a wave of connections that stay silent until all are open never
 * raises pressure: each then claims a full cfg.rcvbuf for one byte, and past a budget's
 * worth of them the data of every later connection is dropped. Before 8093410 the
 * buffers taken at the handshake raised pressure and the later connections got
 * TCP_RBUF_MIN; 20 one-byte connections fit in 400 KiB. */
TEST(review_flood_silent_wave_gets_small_buffers_bug)
{
	struct tcp_config cfg;
	struct th h;
	struct th_peer p[20];
	struct tcp_sock *l, *c[20];
	tcp_config_default(&cfg);
	cfg.mem_max = 400 * 1024;
	th_init(&h, &cfg);
	REQUIRE(tcp_listen(&h.t, 0, 80, 0, th_cb, &h, &l) == 0);
	uint64_t base = h.t.mem_used;
	for (int i = 0; i < 20; i++)
		REQUIRE((c[i] = th_handshake(&h, l, &p[i], 0, (uint16_t)(40000 + i))) != NULL);
	for (int i = 0; i < 20; i++)
		peer_send(&h, &p[i], TCP_ACK | TCP_PSH, "x", 1);
	th_drain(&h);
	CHECK_EQ(h.t.mib[TCP_MIB_TCPRcvQDrop], 0);
	int held = 0;
	for (int i = 0; i < 20; i++)
		held += c[i]->rbuf != NULL;
	CHECK_EQ(held, 20);
	CHECK(h.t.mem_used <= cfg.mem_max);
	for (int i = 0; i < 20; i++)
		tcp_abort(c[i]);
	th_advance(&h, TH_MS);
	CHECK_EQ(h.t.mem_used, base);
	CHECK_EQ(h.t.rbuf_owed, 0);
	tcp_close(l);
	th_fini(&h);
}

/* ---- the accept queue as the waiting room -------------------------------------------- */

/* Suspicion: the per-host share starves a single legitimate host: listen(backlog=1) or a
 * small backlog, or a host past its share whose handshake is never completed. Verdict:
 * sound. Small backlogs (< 16) are all one host's; past its share a host's SYNs are
 * dropped (ListenOverflows, as Linux does for a full queue) while another host's get in,
 * and once the application takes one connection the retransmitted SYN does too. */
TEST(review_flood_accept_share_small_backlogs_and_recovery)
{
	struct th h;
	struct th_peer p;
	struct tcp_sock *l, *c;
	int opened = 0;
	th_init(&h, NULL);
	REQUIRE(tcp_listen(&h.t, 0, 80, 1, th_cb, &h, &l) == 0);
	opened += th_peer_open(&h, 80, &p, 0x0b000001u, 20000);
	CHECK_EQ(tcp_accept_pending(l), 1);
	REQUIRE(tcp_accept(l, &c) == 0);
	tcp_abort(c);
	tcp_close(l);
	th_drain(&h);
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	for (int i = 0; i < 8; i++)
		opened += th_peer_open(&h, 80, &p, 0x0b000001u, (uint16_t)(21000 + i));
	CHECK_EQ(opened, 9);
	CHECK_EQ(tcp_accept_pending(l), 8);             /* all of a small queue */
	while (tcp_accept(l, &c) == 0)
		tcp_abort(c);
	tcp_close(l);
	th_drain(&h);
	REQUIRE(tcp_listen(&h.t, 0, 80, 128, th_cb, &h, &l) == 0);
	for (int i = 0; i < 32; i++)
		th_peer_open(&h, 80, &p, 0x0b000001u, (uint16_t)(22000 + i));
	CHECK(!th_peer_open(&h, 80, &p, 0x0b000001u, 22032));  /* its SYN is dropped */
	CHECK_EQ(tcp_accept_pending(l), 32);
	CHECK(th_peer_open(&h, 80, &p, 0x0a000002u, 22033));   /* another host's is not */
	REQUIRE(tcp_accept(l, &c) == 0);
	tcp_abort(c);
	th_drain(&h);
	th_advance(&h, 1000 * TH_MS);
	CHECK(th_peer_open(&h, 80, &p, 0x0b000001u, 22032));   /* the SYN again: room now */
	CHECK_EQ(tcp_accept_pending(l), 33);
	while (tcp_accept(l, &c) == 0)
		tcp_abort(c);
	tcp_close(l);
	th_drain(&h);
	th_fini(&h);
}

/* No slot may be shed (a grace longer than the test): the newcomer waits in the backlog
 * and gets the slot as soon as one frees, by the peer's FIN ending a linger (event
 * path) or by the linger timeout (poll path). Suspicion: accept_waiting is retried only
 * at the poll rate limit, or never once nothing can be shed. Verdict: sound. */
TEST(review_flood_waiting_newcomer_takes_freed_slot)
{
	static const char bad[] = "BREW / HTCPCP/1.0\r\n\r\n";
	struct app_fx f;
	struct th_peer a, q, r;
	fx_start_cfg(&f, 1, UINT64_MAX - 1);
	uint64_t base = f.h.t.mem_used;
	REQUIRE(th_peer_open(&f.h, 80, &a, 0x0b000001u, 30000));
	peer_send(&f.h, &a, TCP_ACK | TCP_PSH, bad, sizeof(bad) - 1);
	th_drain(&f.h);
	REQUIRE(f.a.conns[0].linger_until != 0);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(f.a.accept_waiting);
	fx_advance(&f, 100 * TH_MS);
	th_drain(&f.h);
	CHECK_EQ(f.a.stats.accepted, 1);                /* still waiting */
	peer_send(&f.h, &a, TCP_ACK | TCP_FIN, NULL, 0);        /* linger ends by FIN */
	CHECK(served_within(&f, 60000, 10));
	CHECK_EQ(f.a.stats.accepted, 2);
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, bad, sizeof(bad) - 1);   /* q lingers now */
	th_drain(&f.h);
	uint64_t until = f.a.conns[0].linger_until;
	REQUIRE(until != 0);
	REQUIRE(th_peer_open(&f.h, 80, &r, 0x0a000003u, 60001));
	peer_send(&f.h, &r, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(f.a.accept_waiting);
	while (f.h.now < until)
		fx_advance(&f, 10 * TH_MS);
	th_drain(&f.h);
	CHECK(served_within(&f, 60001, 70));            /* linger timeout: poll rate + one turn */
	CHECK_EQ(f.a.stats.linger_timeouts, 1);
	fx_finish(&f, base, 600);
}

/* Suspicion: lingering connections are never shedding candidates, so a peer that sends
 * a bad request (400, close) and never its FIN holds a slot for the whole linger
 * (2 s): nslots / 2 such connections a second keep every newcomer waiting. A lingering
 * connection has its answer and our FIN out; past its grace it is handed to TCP as an
 * orphan (a graceful close, no RST that could destroy the answer) and its slot goes
 * to the newcomer. */
TEST(review_flood_lingering_slot_released_for_newcomer_bug)
{
	static const char bad[] = "BREW / HTCPCP/1.0\r\n\r\n";
	struct app_fx f;
	struct th_peer a[4], q;
	struct th_seg s;
	fx_start_cfg(&f, 4, 0);
	uint64_t base = f.h.t.mem_used;
	for (int i = 0; i < 4; i++) {
		REQUIRE(th_peer_open(&f.h, 80, &a[i], 0x0b000001u, (uint16_t)(30000 + i)));
		peer_send(&f.h, &a[i], TCP_ACK | TCP_PSH, bad, sizeof(bad) - 1);
	}
	th_drain(&f.h);
	for (int i = 0; i < 4; i++)
		REQUIRE(f.a.conns[i].linger_until != 0);
	fx_advance(&f, 100 * TH_MS);
	th_drain(&f.h);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	bool served = false, rst = false;
	for (int t = 0; t <= 200 && !served; t += 10) {
		while (th_pop(&f.h, &s)) {
			served |= s.h.dport == 60000 && s.dlen >= 12 && !memcmp(s.data, "HTTP/1.1 200", 12);
			rst |= s.h.dport != 60000 && (s.h.flags & TCP_RST);
		}
		if (!served)
			fx_advance(&f, 10 * TH_MS);
	}
	CHECK(served);
	CHECK(!rst);                                    /* the lingerer was closed, not reset */
	CHECK_EQ(f.a.stats.shed, 1);
	fx_finish(&f, base, 600);
}
