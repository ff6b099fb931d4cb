/*
 * Hostile review of the stack-wide next deadline (core.wake_ns, net_poll, net_timers;
 * docs/review-deadline.md). Each test states a suspicion: some state change outside
 * net_poll gives a floor's poll work without lowering core.wake_ns, so the timer fires
 * late or never, or the bound sticks at 0 (every turn runs every poll). A test named
 * "..._bug" failed on main before its fix; the others pin down behaviour found sound.
 * Every tn_advance also checks core.wake_ns <= net_next_due (tn_check_wake).
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/tcp_int.h"
#include "net/inet.h"
#include "net/err.h"

#define SEC NET_NS_PER_SEC
#define MS NET_NS_PER_MS

/* Devices without link_up: no link check every second bounds core.wake_ns, so only the
 * timer under test can bring a due turn. */
static struct netdev_ops rd_ops[2];
static void rd_no_link(struct test_net *t, int k)
{
	rd_ops[k] = *t->f.dev.ops;
	rd_ops[k].link_up = NULL;
	t->f.dev.ops = &rd_ops[k];
}

/* Two TCP stacks, a connection a (cs) -> b (ss) established, then idle until nothing
 * is armed on either side. */
struct rd_pair {
	struct test_net a, b;
	struct tcp_sock *l, *cs, *ss;
};

static void rd_step(struct rd_pair *w, uint64_t ns)
{
	tn_pump(&w->a, &w->b);
	tn_advance(&w->a, ns);
	tn_advance(&w->b, ns);
	tn_pump(&w->a, &w->b);
}

static void rd_open(struct rd_pair *w)
{
	tn_init_tcp(&w->a, 1, "10.0.0.1/24");
	tn_init_tcp(&w->b, 2, "10.0.0.2/24");
	rd_no_link(&w->a, 0);
	rd_no_link(&w->b, 1);
	rd_step(w, MS);
	w->l = w->cs = w->ss = NULL;
	if (tcp_listen(&w->b.s.tcp, 0, 80, 0, NULL, NULL, &w->l) ||
	    tcp_connect(&w->a.s.tcp, 0, ip("10.0.0.2"), 80, NULL, NULL, &w->cs))
		return;
	for (int i = 0; i < 20 && !w->ss; i++) {
		rd_step(w, MS);
		tcp_accept(w->l, &w->ss);
	}
	for (int i = 0; i < 12; i++)            /* delayed ACKs, caches, announcements */
		rd_step(w, SEC);
}

static void rd_close(struct rd_pair *w)
{
	if (w->ss)
		tcp_abort(w->ss);
	if (w->cs)
		tcp_abort(w->cs);
	if (w->l)
		tcp_close(w->l);
	rd_step(w, MS);
	fake_netdev_drop_all(&w->a.f);
	fake_netdev_drop_all(&w->b.f);
	CHECK_EQ(tn_fini(&w->a), 0);
	CHECK_EQ(tn_fini(&w->b), 0);
}

/* Suspicion: tcp_setopt(KEEPALIVE/KEEPIDLE) arms t_keep with no tcp_enter/tcp_leave
 * around it, so if anything but tcp_arm were to tell the stack, the first probe would
 * wait for some other floor's timer. Sound: tcp_arm lowers env.wake_ns itself. */
TEST(review_deadline_keepalive_setopt_outside_enter_sound)
{
	static struct rd_pair w;
	rd_open(&w);
	REQUIRE(w.cs && w.ss);
	REQUIRE(w.a.s.core.wake_ns > w.a.s.core.now_ns + 2 * SEC);
	CHECK_EQ(tcp_setopt(w.cs, TCP_OPT_KEEPIDLE, 1), 0);
	CHECK_EQ(tcp_setopt(w.cs, TCP_OPT_KEEPALIVE, 1), 0);
	CHECK(w.a.s.core.wake_ns <= w.a.s.core.now_ns + SEC);
	tn_advance(&w.a, SEC - 1);
	CHECK_EQ(w.a.s.tcp.mib[TCP_MIB_TCPKeepAlive], 0);
	tn_advance(&w.a, 1);
	CHECK_EQ(w.a.s.tcp.mib[TCP_MIB_TCPKeepAlive], 1);   /* the first probe, on time */
	rd_close(&w);
}

/* Suspicion: tcp_close in FIN-WAIT-2 arms the orphan's t_conn (fin_wait2_ms) from a
 * user call; the orphan must go at that time, not at some later unrelated deadline. */
TEST(review_deadline_fin_wait2_orphan_timer_sound)
{
	static struct rd_pair w;
	rd_open(&w);
	REQUIRE(w.cs && w.ss);
	CHECK_EQ(tcp_shutdown(w.cs, TCP_SHUT_WR), 0);
	for (int i = 0; i < 12; i++)
		rd_step(&w, SEC);                        /* FIN acked: FIN-WAIT-2, idle */
	REQUIRE(w.cs->state == TCP_FIN_WAIT_2);
	REQUIRE(w.a.s.core.wake_ns > w.a.s.core.now_ns + 2 * SEC);
	uint64_t fw2 = (uint64_t)w.a.s.tcp.cfg.fin_wait2_ms * MS;
	uint32_t n = w.a.s.tcp.nconns;
	CHECK_EQ(tcp_close(w.cs), 0);
	w.cs = NULL;
	CHECK(w.a.s.core.wake_ns <= w.a.s.core.now_ns + fw2);
	tn_advance(&w.a, fw2 - 1);
	CHECK_EQ(w.a.s.tcp.nconns, n);
	tn_advance(&w.a, 1);
	CHECK_EQ(w.a.s.tcp.nconns, n - 1);              /* gone on time */
	rd_close(&w);
}

/* Suspicion: a repeated FIN in TIME-WAIT restarts 2*MSL by writing t_conn directly (not
 * tcp_arm) and moving the TCB to the FIFO's tail; if it was the head and alone, the old
 * tw_due is dropped. The TCB must live exactly time_wait_ms after the repeat. */
TEST(review_deadline_time_wait_restart_by_repeated_fin_sound)
{
	static struct rd_pair w;
	static uint8_t fin[2048];
	size_t fin_len = 0;
	rd_open(&w);
	REQUIRE(w.cs && w.ss);
	CHECK_EQ(tcp_close(w.cs), 0);                  /* a: FIN-WAIT-1 -> FIN-WAIT-2 */
	w.cs = NULL;
	rd_step(&w, MS);
	CHECK_EQ(tcp_close(w.ss), 0);                  /* b: LAST-ACK, its FIN */
	w.ss = NULL;
	struct pkt *p;
	while ((p = fake_netdev_pop(&w.b.f))) {         /* keep a copy of b's FIN */
		const uint8_t *d = pkt_data(p);
		if (p->len >= 54 && p->len <= sizeof(fin) && d[23] == 6 && (d[47] & 0x01)) {
			memcpy(fin, d, p->len);
			fin_len = p->len;
		}
		fake_netdev_rx(&w.a.f, &w.a.s, d, p->len);
		pkt_free(p);
		fake_netdev_complete(&w.b.f, 1);
	}
	REQUIRE(fin_len);
	rd_step(&w, MS);
	REQUIRE(w.a.s.tcp.ntw == 1);
	uint64_t tw = (uint64_t)w.a.s.tcp.cfg.time_wait_ms * MS;
	tn_advance(&w.a, tw / 2);                      /* half of 2*MSL gone */
	fake_netdev_drop_all(&w.a.f);
	fake_netdev_rx(&w.a.f, &w.a.s, fin, fin_len);  /* the peer repeats its FIN */
	CHECK_EQ(w.a.s.tcp.ntw, 1);
	CHECK_EQ(w.a.f.wire.len, 1);                   /* re-ACKed */
	fake_netdev_drop_all(&w.a.f);
	uint64_t restart = w.a.s.core.now_ns;
	tn_advance(&w.a, tw / 2);                      /* the old expiry: still there */
	CHECK_EQ(w.a.s.tcp.ntw, 1);
	tn_advance(&w.a, restart + tw - 1 - w.a.s.core.now_ns);
	CHECK_EQ(w.a.s.tcp.ntw, 1);
	tn_advance(&w.a, 1);
	CHECK_EQ(w.a.s.tcp.ntw, 0);                    /* restart + 2*MSL, on time */
	rd_close(&w);
}

/* Suspicion: the clock. (1) A net_poll whose clock steps back must neither skip a due
 * timer nor run one early. (2) A received frame's driver stamp moves core.now_ns ahead
 * of the last net_poll (link_input); a timer armed from it is due at stamp + delay, and
 * the next net_poll (loop clock at or past the stamp) must still see it. */
TEST(review_deadline_clock_steps_back_and_stamp_ahead_sound)
{
	struct test_net t;
	uint8_t f[256], l4[64] = { 0 };
	tn_init_peer(&t);
	rd_no_link(&t, 0);
	for (int i = 0; i < 4; i++)
		tn_advance(&t, 2 * SEC);
	fake_netdev_drop_all(&t.f);
	/* (1) arping armed for now; the next poll's clock is 5 s behind. */
	uint64_t now = t.s.core.now_ns;
	CHECK_EQ(arping_start(&t.s.arping, 0, ip("10.0.0.9"), 1, tn_out, &t), 0);
	tn_check_wake(&t);
	net_poll(&t.s, now - 5 * SEC);
	CHECK_EQ(t.s.core.now_ns, now);                /* the clock did not go back */
	CHECK_EQ(t.f.wire.len, 1);                     /* and the request still left */
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, SEC);
	CHECK_EQ(t.s.arping.active, 0);
	/* (2) a first fragment stamped 0.5 s ahead of the last poll. */
	size_t n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
			      IPV4_PROTO_UDP, l4, sizeof(l4));
	uint8_t *iph = f + ETH_HLEN;
	iph[6] = 0x20;                                  /* MF, offset 0 */
	iph[10] = iph[11] = 0;
	uint16_t c = inet_csum(iph, 20);
	iph[10] = (uint8_t)(c >> 8);
	iph[11] = (uint8_t)c;
	uint64_t stamp = t.s.core.now_ns + SEC / 2;
	fake_netdev_rx_at(&t.f, &t.s, f, n, stamp);
	CHECK_EQ(t.s.ip.reasm.nused, 1);
	tn_check_wake(&t);
	net_poll(&t.s, stamp + IPV4_REASM_TIMEOUT_NS - 1);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 0);
	tn_check_wake(&t);
	net_poll(&t.s, stamp + IPV4_REASM_TIMEOUT_NS);
	CHECK_EQ(t.s.core.mib[MIB_IpReasmTimeout], 1);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}

/* Suspicion: a finished session or a drained TCP leaves a floor's *_next_ns at 0 (or
 * in the past), so core.wake_ns stays <= now and every turn runs every poll: a busy
 * loop that no test of "fires on time" would notice. After each ending the bound must
 * be in the future again. */
TEST(review_deadline_no_busy_loop_after_sessions_end_sound)
{
	static struct rd_pair w;
	uint8_t f[256], buf[2048];
	struct frame fr;
	rd_open(&w);
	REQUIRE(w.cs && w.ss);
	struct test_net *t = &w.a;
	fake_netdev_drop_all(&w.b.f);
	/* ping: one request, answered: ends at the next turn. */
	CHECK_EQ(ping_start(&t->s.ping, ip("10.0.0.2"), 1, 8, tn_out, t), 0);
	tn_advance(t, 1);
	REQUIRE(tn_next(t, &fr, buf) && fr.is_icmp && fr.icmp.type == ICMP_ECHO);
	size_t n = frame_icmp_echo(f, t->f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO_REPLY, fr.icmp.id, fr.icmp.seq, 8);
	fake_netdev_rx(&t->f, &t->s, f, n);
	CHECK_EQ(t->s.core.wake_ns, 0);                /* the last answer: at once */
	tn_advance(t, 1);
	CHECK_EQ(t->s.ping.active, 0);
	CHECK(t->s.core.wake_ns > t->s.core.now_ns);
	/* tracepath stopped from the shell (Ctrl-C) while waiting for an answer. */
	CHECK_EQ(tracepath_start(&t->s.tracepath, ip("10.0.0.2"), tn_out, t), 0);
	tn_advance(t, 1);
	tracepath_stop(&t->s.tracepath);
	tn_advance(t, TRACEPATH_WAIT_NS);
	CHECK(t->s.core.wake_ns > t->s.core.now_ns);
	/* arping to an address that goes away before its first request. */
	CHECK_EQ(arping_start(&t->s.arping, 0, ip("10.0.0.9"), 3, tn_out, t), 0);
	uint32_t addr = t->s.link.ifs[0].addr;
	t->s.link.ifs[0].addr = 0;
	tn_advance(t, 1);
	t->s.link.ifs[0].addr = addr;
	CHECK_EQ(t->s.arping.active, 0);
	CHECK(t->s.core.wake_ns > t->s.core.now_ns);
	/* TCP: an abort leaves a TCB to reap (bound 0), the next turn frees it. */
	tcp_abort(w.cs);
	w.cs = NULL;
	CHECK_EQ(t->s.core.wake_ns, 0);
	tn_advance(t, 1);
	CHECK(t->s.tcp.reap == NULL && t->s.tcp.events == NULL);
	CHECK(t->s.core.wake_ns > t->s.core.now_ns);
	fake_netdev_drop_all(&t->f);
	rd_close(&w);
}

/* Suspicion: a link notification (down, then up) is seen by link_check inside a due
 * turn; the up side starts ARP announcements (arp_announce_start) after arp_poll already
 * ran in that turn. The announcement must leave at the next turn, not a second later at
 * the next link check. */
TEST(review_deadline_link_up_announces_at_next_turn_sound)
{
	struct test_net t;
	tn_init_peer(&t);
	for (int i = 0; i < 4; i++)
		tn_advance(&t, 2 * SEC);
	fake_netdev_drop_all(&t.f);
	t.f.link = 0;
	tn_advance(&t, NET_LINK_CHECK_NS);
	REQUIRE(t.s.link.ifs[0].link_up == 0);
	fake_netdev_drop_all(&t.f);
	t.f.link = 1;
	tn_advance(&t, NET_LINK_CHECK_NS);              /* the check sees it up */
	REQUIRE(t.s.link.ifs[0].link_up == 1);
	tn_advance(&t, 1);
	CHECK_EQ(t.f.wire.len, 1);                      /* the gratuitous ARP, no later */
	CHECK(t.s.core.wake_ns > t.s.core.now_ns);
	CHECK(t.s.core.wake_ns <= t.s.core.now_ns + ARP_ANNOUNCE_INTERVAL_NS);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}
