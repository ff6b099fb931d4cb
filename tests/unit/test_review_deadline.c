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

/* ==== differential: the deadline against a stack that runs every poll every turn ==== */

/* Suspicion (all floors at once): some arm site, present or missed above, lets a floor's
 * work wait past its time. Two identical stacks get the same script of user calls
 * (ping, arping, tracepath, DHCP, UDP to unresolved hosts, address and link changes,
 * TCP connects, closes, aborts, keep-alives, sysctl), frames (ARP and echo replies,
 * first fragments) and clock steps; the second has core.wake_ns forced to 0 before
 * every net_poll, so it runs every floor's poll every turn as the stack did before the
 * deadline. Any timer the deadline delays shows up as a frame, counter or output line
 * that differs at some step. */
struct rd_diff {
	uint64_t rng;
	struct tcp_sock *socks[8];
	int nsocks;
	int sparse;             /* few actions, no DHCP: one timer at a time, none masks it */
};

static uint64_t rd_rand(struct rd_diff *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static void rd_both_rx(struct test_net *a, struct test_net *b, const uint8_t *f, size_t n)
{
	fake_netdev_rx(&a->f, &a->s, f, n);
	fake_netdev_rx(&b->f, &b->s, f, n);
}

/* Compares and drops both wires; answers some echo requests (the same reply to both). */
static int rd_wires_same(struct test_net *a, struct test_net *b, struct rd_diff *d, int step)
{
	uint8_t reply[256];
	size_t rn = 0;
	int same = 1;
	for (;;) {
		struct pkt *p = fake_netdev_pop(&a->f), *q = fake_netdev_pop(&b->f);
		if (!p && !q)
			break;
		if (!p || !q || p->len != q->len || memcmp(pkt_data(p), pkt_data(q), p->len)) {
			printf("    step %d: frames differ (%u vs %u bytes)\n", step, p ? (unsigned)p->len : 0,
			       q ? (unsigned)q->len : 0);
			same = 0;
		}
		struct frame fr;
		if (p && !rn && frame_decode(p, &fr) && fr.is_icmp && fr.icmp.type == ICMP_ECHO &&
		    rd_rand(d) % 2)
			rn = frame_icmp_echo(reply, a->f.dev.mac, fr.eth.dst, fr.ip.dst, fr.ip.src,
					     ICMP_ECHO_REPLY, fr.icmp.id, fr.icmp.seq, fr.l4len);
		if (p) {
			pkt_free(p);
			fake_netdev_complete(&a->f, 1);
		}
		if (q) {
			pkt_free(q);
			fake_netdev_complete(&b->f, 1);
		}
		if (!same)
			return 0;
	}
	if (rn)
		rd_both_rx(a, b, reply, rn);
	return same;
}

static void rd_cmd(struct test_net *a, struct test_net *b, const char *line)
{
	tn_cmd(a, line);
	tn_cmd(b, line);
}

/* One scripted action, the same on both stacks. */
static void rd_action(struct test_net *a, struct test_net *b, struct rd_diff *d)
{
	char line[64];
	uint8_t f[256], l4[64] = { 0 };
	uint64_t r = rd_rand(d);
	unsigned host = 2 + (unsigned)(r >> 8) % 6;
	unsigned act = (unsigned)(r % 24);
	if (d->sparse && (r >> 40) % 8)
		act = 23;                       /* time passes */
	if (d->sparse && act == 7)
		act = 9;                        /* a connect instead of DHCP */
	switch (act) {
	case 0:
		snprintf(line, sizeof(line), "ping -c %u 10.0.0.%u", 1 + (unsigned)(r >> 16) % 3, host);
		rd_cmd(a, b, line);
		break;
	case 1:
		snprintf(line, sizeof(line), "arping 10.0.0.%u", host);
		rd_cmd(a, b, line);
		break;
	case 2:
		snprintf(line, sizeof(line), "tracepath 10.0.0.%u", host);
		rd_cmd(a, b, line);
		break;
	case 3: {                               /* a peer answers ARP */
		size_t n = frame_arp(f, a->f.dev.mac, ARP_OP_REPLY, test_mac((uint8_t)host),
				     ip("10.0.0.2") + host - 2, a->f.dev.mac, a->s.link.ifs[0].addr);
		rd_both_rx(a, b, f, n);
		break;
	}
	case 4: {                               /* a datagram's first piece */
		size_t n = frame_ipv4(f, a->f.dev.mac, test_mac((uint8_t)host), ip("10.0.0.2") + host - 2,
				      a->s.link.ifs[0].addr ? a->s.link.ifs[0].addr : ip("10.0.0.1"),
				      IPV4_PROTO_UDP, l4, sizeof(l4));
		uint8_t *iph = f + ETH_HLEN;
		iph[4] = (uint8_t)(r >> 24);
		iph[6] = 0x20;
		iph[10] = iph[11] = 0;
		uint16_t c = inet_csum(iph, 20);
		iph[10] = (uint8_t)(c >> 8);
		iph[11] = (uint8_t)c;
		rd_both_rx(a, b, f, n);
		break;
	}
	case 5:
		a->f.link = b->f.link = !a->f.link;
		break;
	case 6:
		rd_cmd(a, b, a->s.link.ifs[0].addr ? "ip addr del 10.0.0.1/24 dev eth0"
						    : "ip addr add 10.0.0.1/24 dev eth0");
		break;
	case 7:
		if (a->s.dhcp.state == DHCP_OFF) {
			dhcp_start(&a->s.dhcp, 0);
			dhcp_start(&b->s.dhcp, 0);
		} else {
			rd_cmd(a, b, "dhcp renew");
		}
		break;
	case 8:
		udp_send(&a->s.udp, 0, 5000, ip("10.0.0.2") + host - 2, 9, "x", 1);
		udp_send(&b->s.udp, 0, 5000, ip("10.0.0.2") + host - 2, 9, "x", 1);
		break;
	case 9:
		if (d->nsocks < 8 && a->s.link.ifs[0].addr) {
			struct tcp_sock *s = NULL, *u = NULL;
			int e1 = tcp_connect(&a->s.tcp, 0, ip("10.0.0.2") + host - 2, 80, NULL, NULL, &s);
			int e2 = tcp_connect(&b->s.tcp, 0, ip("10.0.0.2") + host - 2, 80, NULL, NULL, &u);
			CHECK_EQ(e1, e2);
			if (!e1 && !e2) {
				d->socks[d->nsocks++] = s;
				d->socks[d->nsocks++] = u;
			}
		}
		break;
	case 10:
	case 11:
		if (d->nsocks) {
			int k = (int)((r >> 16) % (unsigned)(d->nsocks / 2)) * 2;
			if (act == 10) {
				tcp_close(d->socks[k]);
				tcp_close(d->socks[k + 1]);
			} else {
				tcp_abort(d->socks[k]);
				tcp_abort(d->socks[k + 1]);
			}
			d->socks[k] = d->socks[d->nsocks - 2];
			d->socks[k + 1] = d->socks[d->nsocks - 1];
			d->nsocks -= 2;
		}
		break;
	case 12:
		rd_cmd(a, b, r & 0x100 ? "sysctl -w net.ipv4.tcp_pacing=1" : "sysctl -w net.ipv4.tcp_pacing=0");
		break;
	case 13:
		for (int k = 0; k < d->nsocks; k++) {
			tcp_setopt(d->socks[k], TCP_OPT_KEEPIDLE, 1);
			tcp_setopt(d->socks[k], TCP_OPT_KEEPALIVE, 1);
		}
		break;
	default: {                              /* time passes: mostly short steps */
		static const uint64_t steps[] = { 1, 1000, MS, 10 * MS, 100 * MS, SEC, 3 * SEC, 20 * SEC };
		uint64_t ns = steps[(r >> 16) % 8] + (r >> 32) % MS;
		tn_advance(a, ns);
		b->s.core.wake_ns = 0;          /* every poll, every turn */
		tn_advance(b, ns);
		break;
	}
	}
}

static int rd_same_state(const struct test_net *a, const struct test_net *b, int step)
{
	int same = memcmp(a->s.core.mib, b->s.core.mib, sizeof(a->s.core.mib)) == 0 &&
		   memcmp(a->s.core.drops, b->s.core.drops, sizeof(a->s.core.drops)) == 0 &&
		   memcmp(a->s.tcp.mib, b->s.tcp.mib, sizeof(a->s.tcp.mib)) == 0 &&
		   a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0;
	if (!same)
		printf("    step %d: counters or output differ\n", step);
	return same;
}

TEST(review_deadline_differential_against_every_poll_every_turn_sound)
{
	static struct test_net a, b;
	static struct rd_diff d;
	int steps = 0;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		tn_init_tcp(&a, 1, "10.0.0.1/24");
		tn_init_tcp(&b, 1, "10.0.0.1/24");
		if (seed % 2 == 0) {
			/* No link check each second: nothing masks a floor's late timer. */
			rd_no_link(&a, 0);
			rd_no_link(&b, 1);
		}
		memset(&d, 0, sizeof(d));
		d.rng = 0x9e3779b97f4a7c15ull * seed;
		d.sparse = seed > 4;
		for (uint8_t h = 2; d.sparse && h < 8; h++) {
			/* Peers known: a SYN's retransmission is TCP's timer alone. */
			uint8_t f[64];
			size_t n = frame_arp(f, a.f.dev.mac, ARP_OP_REPLY, test_mac(h),
					     ip("10.0.0.0") + h, a.f.dev.mac, ip("10.0.0.1"));
			rd_both_rx(&a, &b, f, n);
		}
		int ok = 1;
		for (int i = 0; i < 3000 && ok; i++, steps++) {
			rd_action(&a, &b, &d);
			if (a.out_len > sizeof(a.out) / 2)
				tn_clear(&a), tn_clear(&b);
			ok = rd_wires_same(&a, &b, &d, i) && rd_same_state(&a, &b, i);
		}
		CHECK(ok);
		for (int k = 0; k < d.nsocks; k++)
			tcp_abort(d.socks[k]);
		ping_stop(&a.s.ping);
		ping_stop(&b.s.ping);
		tracepath_stop(&a.s.tracepath);
		tracepath_stop(&b.s.tracepath);
		tn_advance(&a, SEC);
		tn_advance(&b, SEC);
		fake_netdev_drop_all(&a.f);
		fake_netdev_drop_all(&b.f);
		CHECK_EQ(tn_fini(&a), 0);
		CHECK_EQ(tn_fini(&b), 0);
	}
	CHECK_EQ(steps, 8 * 3000);
}

/* ==== sums near UINT64_MAX ============================================================= */

/* Suspicion: the largest addend any floor puts on the clock is a DHCP lease: option 51
 * of 0xffffffff ("infinity", RFC 2131 §3.3) is 2^32 s = 4.3e18 ns, a quarter of 2^64.
 * If now + lease wrapped, expire_ns and T1 would lie in the past: the address expires at
 * once and core.wake_ns sticks at "due". Sound for any clock below 2^64 - 2^32 s (447
 * years of uptime): checked here with the clock started 100 years in. Every other
 * deadline adds at most hours (keep-alive idle <= 32767 min) to the clock, and no floor
 * adds to a UINT64_MAX "none" value (each tests the sentinel first). */
TEST(review_deadline_infinite_dhcp_lease_does_not_wrap_sound)
{
	static struct test_net t;
	static uint8_t buf[2048];
	uint8_t msg[600], f[1024];
	struct frame fr;
	struct dhcp_msg m;
	const uint32_t srv = INET_ADDR(10, 0, 2, 2), offer = INET_ADDR(10, 0, 2, 15);
	tn_init(&t, 1, NULL, NULL, 1);
	rd_no_link(&t, 0);
	tn_advance(&t, 100ull * 365 * 24 * 3600 * SEC);
	for (int step = 0; step < 2; step++) {          /* OFFER, then ACK */
		int got = 0;
		while (!got && tn_next(&t, &fr, buf))
			got = fr.is_udp && fr.udp.dport == 67;
		REQUIRE(got && dhcp_check(fr.l4, fr.l4len) == WIRE_OK);
		dhcp_parse(fr.l4, fr.l4len, &m);
		struct dhcp_msg r = { .op = BOOTP_REPLY, .htype = 1, .hlen = 6, .xid = m.xid,
				      .flags = m.flags, .siaddr = srv, .yiaddr = offer };
		memcpy(r.chaddr, m.chaddr, 16);
		REQUIRE(dhcp_emit(&r, msg, sizeof(msg)) > 0);
		size_t p = DHCP_OPTS_OFF;
		msg[p++] = 53, msg[p++] = 1, msg[p++] = step ? DHCP_ACK : DHCP_OFFER;
		msg[p++] = 54, msg[p++] = 4, wire_put32(msg + p, srv), p += 4;
		msg[p++] = 51, msg[p++] = 4, wire_put32(msg + p, 0xffffffffu), p += 4;
		msg[p++] = 1, msg[p++] = 4, wire_put32(msg + p, 0xffffff00u), p += 4;
		msg[p++] = 255;
		while (p < DHCP_MIN_LEN)
			msg[p++] = 0;
		size_t n = frame_udp(f, eth_broadcast, test_mac(0x22), srv, INET_BCAST, 67, 68, msg, p);
		fake_netdev_rx(&t.f, &t.s, f, n);
	}
	REQUIRE(t.s.dhcp.state == DHCP_BOUND);
	uint64_t now = t.s.core.now_ns;
	CHECK(t.s.dhcp.expire_ns > now && t.s.dhcp.t1_ns > now && t.s.dhcp.t1_ns < t.s.dhcp.expire_ns);
	CHECK_EQ(t.s.dhcp.expire_ns - now, 0xffffffffull * SEC);
	for (int i = 0; i < 5; i++)
		tn_advance(&t, 3 * SEC);                /* announcements done */
	CHECK(t.s.core.wake_ns > t.s.core.now_ns);      /* not stuck at "due" */
	CHECK_EQ(t.s.link.ifs[0].addr, offer);
	tn_advance(&t, 1000 * SEC);
	CHECK_EQ(t.s.dhcp.state, DHCP_BOUND);           /* no early expiry or renewal */
	CHECK_EQ(t.s.core.mib[MIB_DhcpLeaseExpired], 0);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}
