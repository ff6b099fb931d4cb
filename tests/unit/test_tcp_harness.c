/* The TCP capture environment (see test_tcp_harness.h). */
#include "tests/unit/test_tcp_harness.h"
#include "tests/unit/test.h"
#include "net/tcp_int.h"
#include <stdlib.h>

#define TH_SLOTS 1024

static int h_capture(void *ctx, struct pkt *p, uint32_t src, uint32_t dst, bool df)
{
	struct th *h = ctx;
	const uint8_t *b = pkt_data(p);
	CHECK(tcp_wire_csum_ok(b, p->len, src, dst));
	struct tcp_hdr hdr;
	CHECK(tcp_wire_parse(b, p->len, &hdr) == WIRE_OK);
	CHECK(p->len <= (size_t)h->mtu - 20 || h->hook);
	h->out_total++;
	if (h->hook) {
		h->hook(h->hctx, p, src, dst);
		return 0;
	}
	if (!h->drop_output) {
		int next = (h->out_tail + 1) % TH_MAXOUT;
		if (next == h->out_head) {
			test_fail(__FILE__, __LINE__, "capture queue full");
			pkt_free(p);
			return 0;
		}
		struct th_seg *s = &h->out[h->out_tail];
		s->h = hdr;
		s->src = src;
		s->dst = dst;
		s->df = df;
		s->dlen = p->len - hdr.doff;
		memcpy(s->data, b + hdr.doff, s->dlen);
		h->out_tail = next;
	}
	pkt_free(p);
	return 0;
}

static int h_ip_output(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	return h_capture(ctx, p, src, dst, true);
}

static int h_ip_output_tos(void *ctx, struct pkt *p, uint32_t src, uint32_t dst, uint8_t tos,
			   bool df)
{
	((struct th *)ctx)->last_tos = tos;
	return h_capture(ctx, p, src, dst, df);
}

static int h_route(void *ctx, uint32_t dst, uint32_t *src, uint16_t *mtu)
{
	struct th *h = ctx;
	(void)dst;
	if (h->route_fail)
		return -1;
	*src = h->addr;
	*mtu = h->mtu;
	return 0;
}

static struct pkt *h_pkt_alloc(void *ctx)
{
	struct th *h = ctx;
	return pkt_alloc(&h->pool);
}

static void *h_mem_alloc(void *ctx, size_t n)
{
	struct th *h = ctx;
	if (h->mem_fail_after == 0)
		return NULL;
	if (h->mem_fail_after > 0)
		h->mem_fail_after--;
	uint64_t *m = malloc(n + 16);
	if (!m)
		return NULL;
	m[0] = n;
	h->mem_live++;
	h->mem_bytes += n;
	return m + 2;
}

static void h_mem_free(void *ctx, void *p)
{
	struct th *h = ctx;
	uint64_t *m = (uint64_t *)p - 2;
	h->mem_live--;
	h->mem_bytes -= m[0];
	free(m);
}

uint64_t th_rand(struct th *h)
{
	/* xorshift64*: deterministic per test. */
	uint64_t x = h->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	h->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t h_random(void *ctx)
{
	return th_rand(ctx);
}

static uint64_t h_clock(void *ctx)
{
	return ((struct th *)ctx)->now;
}

static void h_advice(void *ctx, uint32_t dst)
{
	(void)dst;
	((struct th *)ctx)->route_advice++;
}

void th_init(struct th *h, const struct tcp_config *cfg)
{
	memset(h, 0, sizeof(*h));
	h->pool_mem = aligned_alloc(64, (size_t)TH_SLOTS * PKT_SLOT_SIZE);
	pkt_pool_init(&h->pool, h->pool_mem, 0x100000, TH_SLOTS);
	h->out = calloc(TH_MAXOUT, sizeof(*h->out));
	h->addr = TH_ADDR;
	h->mtu = 1500;
	h->rng = 0x9e3779b97f4a7c15ull;
	h->mem_fail_after = -1;
	h->now = 1000 * TH_SEC;
	h->env = (struct tcp_env){
		.ip_output = h_ip_output,
		.ip_output_tos = h_ip_output_tos,
		.route = h_route,
		.pkt_alloc = h_pkt_alloc,
		.mem_alloc = h_mem_alloc,
		.mem_free = h_mem_free,
		.random = h_random,
		.clock_ns = h_clock,
		.route_advice = h_advice,
		.ctx = h,
	};
	tcp_init(&h->t, &h->env, cfg, h->now);
	/* The state-machine tests assert on bursts sent at one instant; pacing spreads
	 * them and has its own tests (test_tcp_pacing.c), which turn it back on. */
	h->t.cfg.pacing = false;
}

void th_fini(struct th *h)
{
	tcp_shutdown_stack(&h->t);
	CHECK_EQ(h->mem_live, 0);
	CHECK_EQ(h->mem_bytes, 0);
	CHECK_EQ(h->t.mem_used, 0);
	CHECK_EQ(h->t.rbuf_owed, 0);    /* every announced-but-unallocated window settled */
	CHECK_EQ(h->pool.stats.free, TH_SLOTS);
	free(h->out);
	free(h->pool_mem);
}

void th_advance(struct th *h, uint64_t ns)
{
	h->now += ns;
	tcp_poll(&h->t, h->now);
}

void th_inject_raw(struct th *h, uint32_t src, uint32_t dst, const void *bytes, size_t len, bool fix_csum)
{
	struct pkt *p = pkt_alloc(&h->pool);
	REQUIRE(p);
	REQUIRE(len <= pkt_tailroom(p));
	memcpy(pkt_data(p), bytes, len);
	p->len = (uint16_t)len;
	if (fix_csum && len >= TCP_HDR_LEN)
		tcp_wire_set_csum(pkt_data(p), len, src, dst);
	tcp_input(&h->t, p, src, dst, h->now);
}

void th_inject(struct th *h, uint32_t src, uint32_t dst, const struct tcp_hdr *hdr,
	       const void *data, size_t len)
{
	uint8_t buf[PKT_BUF_SIZE];
	size_t hl = tcp_wire_emit(hdr, buf, sizeof(buf));
	REQUIRE(hl && hl + len <= sizeof(buf));
	if (len)
		memcpy(buf + hl, data, len);
	th_inject_raw(h, src, dst, buf, hl + len, true);
}

bool th_pop(struct th *h, struct th_seg *s)
{
	if (h->out_head == h->out_tail)
		return false;
	*s = h->out[h->out_head];
	h->out_head = (h->out_head + 1) % TH_MAXOUT;
	return true;
}

int th_pending(const struct th *h)
{
	return (h->out_tail - h->out_head + TH_MAXOUT) % TH_MAXOUT;
}

void th_drain(struct th *h)
{
	h->out_head = h->out_tail;
}

void th_cb(void *user, struct tcp_sock *s, unsigned ev)
{
	struct th *h = user;
	h->events |= ev;
	h->nevents++;
	h->last_ev_sock = s;
}

void peer_init(struct th_peer *p, uint16_t port, uint16_t lport, uint32_t isn)
{
	memset(p, 0, sizeof(*p));
	p->addr = TH_PEER;
	p->port = port;
	p->lport = lport;
	p->seq = isn;
	p->wnd = 65535;
}

void peer_send_opts(struct th *h, struct th_peer *p, uint8_t flags, const struct tcp_opts *o,
		    const void *data, size_t len)
{
	struct tcp_hdr hdr = {
		.sport = p->port,
		.dport = p->lport,
		.seq = p->seq,
		.ack = (flags & TCP_ACK) ? p->ack : 0,
		.flags = flags,
		.wnd = p->wnd,
	};
	if (o)
		hdr.opt = *o;
	if (p->ts && !(hdr.opt.has & TCP_HAS_TS)) {
		hdr.opt.has |= TCP_HAS_TS;
		hdr.opt.tsval = p->tsval;
		hdr.opt.tsecr = p->tsecr;
	}
	if (p->sack_blocks && p->nsack) {
		hdr.opt.has |= TCP_HAS_SACK;
		hdr.opt.nsack = p->nsack;
		memcpy(hdr.opt.sack, p->sack, sizeof(p->sack));
	}
	th_inject(h, p->addr, h->addr, &hdr, data, len);
	p->seq += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

void peer_send(struct th *h, struct th_peer *p, uint8_t flags, const void *data, size_t len)
{
	peer_send_opts(h, p, flags, NULL, data, len);
}

struct tcp_sock *th_open_passive(struct th *h, struct th_peer *p, struct tcp_sock **listener,
				 const struct tcp_opts *opts)
{
	struct tcp_opts def = { .has = TCP_HAS_MSS, .mss = 1460 };
	if (!opts)
		opts = &def;
	if (tcp_listen(&h->t, 0, p->lport, 16, th_cb, h, listener) != 0)
		return NULL;
	peer_send_opts(h, p, TCP_SYN, opts, NULL, 0);
	struct th_seg s;
	if (!th_pop(h, &s) || s.h.flags != (TCP_SYN | TCP_ACK) || s.h.ack != p->seq)
		return NULL;
	p->ack = s.h.seq + 1;
	if (p->ts && (s.h.opt.has & TCP_HAS_TS))
		p->tsecr = s.h.opt.tsval;
	peer_send(h, p, TCP_ACK, NULL, 0);
	struct tcp_sock *c = NULL;
	if (tcp_accept(*listener, &c) != 0)
		return NULL;
	return c;
}

struct tcp_sock *th_open_active(struct th *h, struct th_peer *p, const struct tcp_opts *opts)
{
	struct tcp_opts def = { .has = TCP_HAS_MSS, .mss = 1460 };
	if (!opts)
		opts = &def;
	struct tcp_sock *c = NULL;
	if (tcp_connect(&h->t, 0, p->addr, p->port, th_cb, h, &c) != 0)
		return NULL;
	struct th_seg s;
	if (!th_pop(h, &s) || s.h.flags != TCP_SYN)
		return NULL;
	p->lport = s.h.sport;
	p->ack = s.h.seq + 1;
	if (p->ts && (s.h.opt.has & TCP_HAS_TS))
		p->tsecr = s.h.opt.tsval;
	peer_send_opts(h, p, TCP_SYN | TCP_ACK, opts, NULL, 0);
	if (!th_pop(h, &s) || s.h.flags != TCP_ACK || s.h.ack != p->seq)
		return NULL;
	return c;
}

struct tcp_sock *th_estab(struct th *h, struct th_peer *p, struct tcp_sock **listener,
			  const struct tcp_opts *opts, uint16_t wnd)
{
	peer_init(p, TH_PEER_PORT, 80, 1000);
	if (wnd)
		p->wnd = wnd;
	if (opts && (opts->has & TCP_HAS_TS)) {
		p->ts = true;
		p->tsval = opts->tsval;
	}
	struct tcp_sock *c = th_open_passive(h, p, listener, opts);
	h->events = 0;
	return c;
}

bool th_peer_open(struct th *h, uint16_t lport, struct th_peer *p, uint32_t addr, uint16_t port)
{
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
	struct th_seg s;
	bool got = false;
	peer_init(p, port, lport, 5000u + port);
	if (addr)
		p->addr = addr;
	th_drain(h);
	peer_send_opts(h, p, TCP_SYN, &o, NULL, 0);
	while (!got && th_pop(h, &s))
		got = s.h.flags == (TCP_SYN | TCP_ACK) && s.h.dport == port;
	if (!got)
		return false;
	p->ack = s.h.seq + 1;
	peer_send(h, p, TCP_ACK, NULL, 0);
	th_drain(h);
	return true;
}

struct tcp_sock *th_handshake(struct th *h, struct tcp_sock *l, struct th_peer *p, uint32_t addr,
			      uint16_t port)
{
	struct tcp_sock *c = NULL;
	if (!th_peer_open(h, l->lport, p, addr, port))
		return NULL;
	return tcp_accept(l, &c) == 0 ? c : NULL;
}

struct tcp_sock *th_into_state(struct th *h, struct th_peer *p, struct tcp_sock **l, const char *st,
			       const struct tcp_opts *opts)
{
	struct th_seg s;
	if (!strcmp(st, "SYN-RECV")) {
		peer_init(p, 40000, 80, 1000);
		if (tcp_listen(&h->t, 0, 80, 8, th_cb, h, l) != 0)
			return NULL;
		peer_send_opts(h, p, TCP_SYN, opts, NULL, 0);
		if (!th_pop(h, &s))
			return NULL;
		p->ack = s.h.seq + 1;
		return h->t.conns;
	}
	struct tcp_sock *c = th_estab(h, p, l, opts, 0);
	if (!c || !strcmp(st, "ESTAB"))
		return c;
	if (!strcmp(st, "CLOSE-WAIT") || !strcmp(st, "LAST-ACK")) {
		peer_send(h, p, TCP_ACK | TCP_FIN, NULL, 0);
		if (!strcmp(st, "LAST-ACK"))
			tcp_close(c);
		th_drain(h);
		return c;
	}
	tcp_close(c);                                   /* FIN-WAIT-1 */
	th_drain(h);
	if (!strcmp(st, "CLOSING"))
		peer_send(h, p, TCP_ACK | TCP_FIN, NULL, 0);
	if (!strcmp(st, "FIN-WAIT-2") || !strcmp(st, "TIME-WAIT")) {
		p->ack++;
		peer_send(h, p, TCP_ACK, NULL, 0);
	}
	if (!strcmp(st, "TIME-WAIT"))
		peer_send(h, p, TCP_ACK | TCP_FIN, NULL, 0);
	th_drain(h);
	return c;
}

/* Every TCB field the input path may write, by name (pointers differ by nature): two
 * stacks fed the same segments, one through a fast path and one without, must agree on
 * all of them (test_tcp_predict.c, test_review_round6.c). */
#define SAME(f) CHECK_EQ((uint64_t)a->f, (uint64_t)b->f)
void th_same_tcb(const struct tcp_sock *a, const struct tcp_sock *b)
{
	SAME(state); SAME(ca_state); SAME(ack_now); SAME(ack_pending); SAME(persist);
	SAME(rtt_timing); SAME(want_send); SAME(fin_rcvd); SAME(ooo_fin);
	SAME(snd_una); SAME(snd_nxt); SAME(snd_max); SAME(snd_wnd); SAME(snd_wl1); SAME(snd_wl2);
	SAME(max_snd_wnd); SAME(snd_buf_end); SAME(mss); SAME(rcv_mss);
	SAME(rcv_nxt); SAME(rcv_adv); SAME(rcv_user); SAME(rcv_up); SAME(rcv_unacked);
	SAME(srtt_us); SAME(rttvar_us); SAME(rto_us); SAME(min_rtt_us); SAME(rtt_seq);
	SAME(rtt_start_ns); SAME(rtx_shift); SAME(rtx_count); SAME(probes); SAME(kprobes);
	SAME(rtx_stamp_ns); SAME(ts_recent); SAME(ts_recent_ns); SAME(last_ack_sent);
	SAME(cwnd); SAME(ssthresh); SAME(recover); SAME(dupacks); SAME(cwnd_acc);
	SAME(cubic.w_max); SAME(cubic.epoch_ns); SAME(cubic.acc); SAME(cubic.w_est);
	SAME(nsb); SAME(nooo);
	SAME(t_rtx); SAME(t_delack); SAME(t_keep); SAME(t_conn); SAME(t_pace);
	SAME(pacing_rate); SAME(pace_ns); SAME(last_rcv_ns); SAME(last_snd_ns); SAME(last_ack_ns);
	SAME(sq_seq); SAME(sq_off); SAME(sq_copied); SAME(sndbuf); SAME(events); SAME(soft_err);
	SAME(bytes_sent); SAME(bytes_retrans); SAME(bytes_acked); SAME(bytes_received);
	SAME(segs_out); SAME(segs_in); SAME(data_segs_out); SAME(data_segs_in); SAME(delivered);
	SAME(total_retrans); SAME(rate_start_ns); SAME(rate_delivered0); SAME(delivery_bps);
}
#undef SAME

/* CHECKs that both stacks emitted the same segments since the last call, and takes
 * them: headers, options and payload. */
void th_same_segs(struct th *a, struct th *b)
{
	CHECK_EQ(th_pending(a), th_pending(b));
	struct th_seg s0, s1;
	while (th_pop(a, &s0)) {
		REQUIRE(th_pop(b, &s1));
		CHECK_EQ(s0.h.seq, s1.h.seq);
		CHECK_EQ(s0.h.ack, s1.h.ack);
		CHECK_EQ(s0.h.flags, s1.h.flags);
		CHECK_EQ(s0.h.wnd, s1.h.wnd);
		CHECK_EQ(s0.h.opt.has, s1.h.opt.has);
		CHECK_EQ(s0.h.opt.tsval, s1.h.opt.tsval);
		CHECK_EQ(s0.h.opt.tsecr, s1.h.opt.tsecr);
		CHECK_EQ(s0.h.opt.nsack, s1.h.opt.nsack);
		CHECK_EQ(s0.dlen, s1.dlen);
		CHECK(memcmp(s0.data, s1.data, s0.dlen) == 0);
	}
}

void th_icmp_quote(uint8_t *q, const struct tcp_sock *c, uint32_t seq)
{
	memset(q, 0, 28);
	q[0] = 0x45;
	wire_put16(q + 2, 1500);
	q[9] = 6;
	wire_put32(q + 12, c->laddr);
	wire_put32(q + 16, c->raddr);
	wire_put16(q + 20, c->lport);
	wire_put16(q + 22, c->rport);
	wire_put32(q + 24, seq);
}
