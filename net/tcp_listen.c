/*
 * Passive open: the LISTEN state of RFC 9293 §3.10.7.2, the SYN queue (TCBs in
 * SYN-RECEIVED, bounded by cfg.syn_backlog) and the accept queue (bounded by the
 * listen backlog), and SYN cookies (RFC 4987 §3.6) when the SYN queue is full.
 *
 * Cookie layout (our ISS):  bits 31..27 time counter (64 s periods, mod 32)
 *                           bits 26..24 MSS index (cookie_mss[])
 *                           bits 23..0  SipHash(key, addresses, ports, peer ISN, counter)
 * A cookie is accepted for two periods, and only within two minutes of the last SYN
 * queue overflow (so stray ACKs cost no hashing otherwise). Window scale and SACK-
 * permitted ride in the low 6 bits of our SYN-ACK TSval as Linux does (bits 0-3 peer
 * wscale, 0xf none; bit 4 SACK; bit 5 "encoded"): a peer that does not send timestamps
 * gets a cookie connection without window scaling and SACK (and is offered neither).
 */
#include "net/tcp_int.h"
#include "lib/string.h"

#define COOKIE_PERIOD_NS (64ull * 1000000000ull)
#define COOKIE_VALID_NS (120ull * 1000000000ull)
#define TS_OPT_BITS 0x3f

static const uint16_t cookie_mss[8] = { 536, 1024, 1200, 1300, 1380, 1420, 1440, 1460 };

static uint32_t adv_mss_for(uint16_t mtu)
{
	uint32_t cap = PKT_BUF_SIZE - 14 - 60 - 60;
	if (mtu < TCP_MIN_PMTU)
		mtu = TCP_MIN_PMTU;
	uint32_t adv = (uint32_t)mtu - 40;
	return adv < cap ? adv : cap;
}

static uint8_t rcv_wscale_for(const struct tcp_config *cfg)
{
	uint8_t ws = 0;
	while (ws < TCP_MAX_WS && (cfg->rcvbuf >> ws) > 65535)
		ws++;
	return ws;
}

static uint32_t cookie_hash(struct tcp_stack *t, const struct tcp_seg *s, uint32_t peer_isn, uint32_t cnt)
{
	uint32_t w[5] = { s->src, s->dst, (uint32_t)s->h.sport << 16 | s->h.dport, peer_isn, cnt };
	return (uint32_t)tcp_siphash(t->cookie_key, w, 5) & 0xffffff;
}

static void send_cookie(struct tcp_sock *l, const struct tcp_seg *s)
{
	struct tcp_stack *t = l->t;
	const struct tcp_opts *po = &s->h.opt;
	uint32_t rsrc;
	uint16_t mtu;
	if (t->env.route(t->env.ctx, s->src, &rsrc, &mtu) != 0)
		return;
	uint32_t adv = adv_mss_for(mtu);
	uint32_t want = (po->has & TCP_HAS_MSS) ? po->mss : TCP_DEFAULT_MSS;
	if (want > adv)
		want = adv;
	uint32_t idx = 0;
	while (idx + 1 < 8 && cookie_mss[idx + 1] <= want)
		idx++;
	uint32_t cnt = (uint32_t)(t->now / COOKIE_PERIOD_NS);
	struct tcp_hdr h = {
		.sport = s->h.dport,
		.dport = s->h.sport,
		.seq = (cnt & 31) << 27 | idx << 24 | cookie_hash(t, s, s->h.seq, cnt),
		.ack = s->h.seq + 1,
		.flags = TCP_SYN | TCP_ACK,
		.wnd = (uint16_t)(t->cfg.rcvbuf > 65535 ? 65535 : t->cfg.rcvbuf),
	};
	h.opt.has = TCP_HAS_MSS;
	h.opt.mss = (uint16_t)adv;
	if ((po->has & TCP_HAS_TS) && t->cfg.timestamps) {
		bool ws = (po->has & TCP_HAS_WS) && t->cfg.window_scaling;
		bool sack = (po->has & TCP_HAS_SACK_PERM) && t->cfg.sack;
		uint32_t bits = 0x20 | (ws ? (po->ws > TCP_MAX_WS ? TCP_MAX_WS : po->ws) : 0xf) | (sack ? 0x10 : 0);
		uint32_t now_ts = (uint32_t)(t->now / TCP_NS_PER_MS) + tcp_ts_offset(t, s->dst, s->src);
		uint32_t ts = (now_ts & ~(uint32_t)TS_OPT_BITS) | bits;
		if (seq_gt(ts, now_ts))
			ts -= TS_OPT_BITS + 1;  /* never a timestamp from the future */
		h.opt.has |= TCP_HAS_TS;
		h.opt.tsval = ts;
		h.opt.tsecr = po->tsval;
		if (ws) {
			h.opt.has |= TCP_HAS_WS;
			h.opt.ws = rcv_wscale_for(&t->cfg);
		}
		if (sack)
			h.opt.has |= TCP_HAS_SACK_PERM;
	}
	tcp_mib(t, TCP_MIB_SyncookiesSent);
	tcp_mib(t, TCP_MIB_TCPReqQFullDoCookies);
	tcp_reply_raw(t, s->dst, s->src, &h);
}

/* 0 and the MSS if the ACK carries a cookie we issued lately. */
static int cookie_check(struct tcp_stack *t, const struct tcp_seg *s, uint16_t *mss)
{
	uint32_t iss = s->h.ack - 1, irs = s->h.seq - 1;
	uint32_t now_cnt = (uint32_t)(t->now / COOKIE_PERIOD_NS);
	for (uint32_t age = 0; age < 2; age++) {
		uint32_t cnt = now_cnt - age;
		if ((cnt & 31) != iss >> 27)
			continue;
		if (cookie_hash(t, s, irs, cnt) == (iss & 0xffffff)) {
			*mss = cookie_mss[(iss >> 24) & 7];
			return 0;
		}
	}
	return -1;
}

/* Fills in a passive TCB from the peer's SYN (or what a cookie remembers of it). */
static struct tcp_sock *child_new(struct tcp_sock *l, const struct tcp_seg *s, uint32_t irs,
				  const struct tcp_opts *o)
{
	struct tcp_stack *t = l->t;
	uint32_t rsrc;
	uint16_t mtu;
	if (t->env.route(t->env.ctx, s->src, &rsrc, &mtu) != 0)
		return NULL;
	struct tcp_sock *c = tcp_sock_new(t);
	if (!c)
		return NULL;
	c->laddr = s->dst;
	c->raddr = s->src;
	c->lport = s->h.dport;
	c->rport = s->h.sport;
	tcp_conn_setup(c, mtu);
	c->passive = true;
	c->listener = l;
	l->syn_len++;
	c->irs = irs;
	c->rcv_nxt = c->rcv_user = c->rcv_up = irs + 1;
	c->last_ack_sent = c->rcv_nxt;
	c->ts_offset = tcp_ts_offset(t, c->laddr, c->raddr);
	tcp_rcv_options_syn(c, o, true);        /* we offer what the peer offered */
	tcp_hash_insert(t, c);
	t->last_hit = c;        /* the handshake's ACK is next: no bucket walk for it */
	tcp_set_state(c, TCP_SYN_RECEIVED);
	tcp_mib(t, TCP_MIB_PassiveOpens);
	return c;
}

/* The accept queue is full, or full for this peer: one host may hold a quarter of
 * it (all of a small one), so a flood from a few hosts, with the application taking
 * connections only as fast as it can serve them, leaves room for everyone else's
 * handshakes. Walks the queue only when it is past that share. */
bool tcp_acceptq_full(const struct tcp_sock *l, uint32_t addr)
{
	uint32_t cap = l->backlog / 4 > 16 ? l->backlog / 4 : (l->backlog < 16 ? l->backlog : 16);
	uint32_t n = 0;
	if (l->acc_len >= l->backlog)
		return true;
	if (l->acc_len < cap)
		return false;
	for (const struct tcp_sock *c = l->acc_head; c && n < cap; c = c->q_next)
		n += c->raddr == addr;
	return n >= cap;
}

/* The third step of §3.10.7.2: a SYN. */
static void syn_input(struct tcp_sock *l, struct tcp_seg *s)
{
	struct tcp_stack *t = l->t;
	if (tcp_acceptq_full(l, s->src)) {
		tcp_mib(t, TCP_MIB_ListenOverflows);
		tcp_mib(t, TCP_MIB_ListenDrops);
		return;
	}
	if (tcp_peer_full(t, s->src)) {
		tcp_mib(t, TCP_MIB_PeerConnLimit);      /* one host cannot take every TCB */
		tcp_mib(t, TCP_MIB_ListenDrops);
		return;
	}
	bool full = l->syn_len >= t->cfg.syn_backlog ||
		    (t->nconns >= t->cfg.max_conns && !t->tw_head);
	if (full) {
		l->synq_overflow_ns = t->now ? t->now : 1;
		if (t->cfg.syncookies) {
			send_cookie(l, s);
		} else {
			tcp_mib(t, TCP_MIB_TCPReqQFullDrop);
			tcp_mib(t, TCP_MIB_ListenDrops);
		}
		return;
	}
	struct tcp_sock *c = child_new(l, s, s->h.seq, &s->h.opt);
	if (!c) {
		tcp_mib(t, TCP_MIB_ListenDrops);
		return;
	}
	c->iss = tcp_isn(t, c->laddr, c->lport, c->raddr, c->rport);
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	c->snd_buf_end = c->sq_seq = c->iss + 1;
	c->snd_wnd = c->max_snd_wnd = s->h.wnd;
	c->snd_wl1 = s->h.seq;
	if (s->dlen || (s->flags & TCP_FIN))
		tcp_mib(t, TCP_MIB_SynDataIgnored);     /* not ACKed: the peer resends it */
	tcp_send_syn(c);
}

/* An ACK at the listener: maybe the third packet of a cookie handshake. */
static bool cookie_ack(struct tcp_sock *l, struct tcp_seg *s)
{
	struct tcp_stack *t = l->t;
	if (!t->cfg.syncookies || !l->synq_overflow_ns || t->now - l->synq_overflow_ns > COOKIE_VALID_NS ||
	    (s->flags & (TCP_SYN | TCP_RST | TCP_FIN)))
		return false;
	uint16_t mss;
	if (cookie_check(t, s, &mss) != 0) {
		tcp_mib(t, TCP_MIB_SyncookiesFailed);
		return false;
	}
	tcp_mib(t, TCP_MIB_SyncookiesRecv);
	if (tcp_acceptq_full(l, s->src)) {
		tcp_mib(t, TCP_MIB_ListenOverflows);
		tcp_mib(t, TCP_MIB_ListenDrops);
		return true;
	}
	if (tcp_peer_full(t, s->src)) {
		tcp_mib(t, TCP_MIB_PeerConnLimit);
		tcp_mib(t, TCP_MIB_ListenDrops);
		return true;
	}
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = mss };
	uint32_t bits = s->h.opt.tsecr & TS_OPT_BITS;
	if ((s->h.opt.has & TCP_HAS_TS) && (bits & 0x20)) {
		o.has |= TCP_HAS_TS;
		o.tsval = s->h.opt.tsval;
		if ((bits & 0xf) != 0xf) {
			o.has |= TCP_HAS_WS;
			o.ws = (uint8_t)(bits & 0xf);
		}
		if (bits & 0x10)
			o.has |= TCP_HAS_SACK_PERM;
	}
	struct tcp_sock *c = child_new(l, s, s->h.seq - 1, &o);
	if (!c) {
		tcp_mib(t, TCP_MIB_ListenDrops);
		return true;
	}
	c->syncookie = true;
	c->iss = s->h.ack - 1;
	c->snd_una = c->recover = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_buf_end = c->sq_seq = c->iss + 1;
	c->snd_wnd = c->max_snd_wnd = (uint32_t)s->h.wnd << c->snd_wscale;
	c->snd_wl1 = s->h.seq;
	c->rcv_adv = c->rcv_nxt + (t->cfg.rcvbuf > 65535 ? 65535 : t->cfg.rcvbuf);
	tcp_input_conn(c, s);                   /* completes the handshake as SYN-RECEIVED */
	return true;
}

void tcp_listen_input(struct tcp_sock *l, struct tcp_seg *s)
{
	struct tcp_stack *t = l->t;
	if (s->flags & TCP_RST)
		return;                                 /* first: a RST cannot be valid here */
	if (s->flags & TCP_ACK) {                       /* second: any ACK is bad... */
		if (cookie_ack(l, s))
			return;                         /* ...unless it carries our cookie */
		tcp_reply_rst(t, s);
		return;
	}
	if (s->flags & TCP_SYN)                         /* third */
		syn_input(l, s);
	/* fourth: anything else is dropped */
}

void tcp_listener_child_ready(struct tcp_sock *c)
{
	struct tcp_sock *l = c->listener;
	NET_ASSERT(l && !c->in_acceptq && l->syn_len > 0);
	l->syn_len--;
	c->in_acceptq = true;
	c->q_next = NULL;
	if (l->acc_tail)
		l->acc_tail->q_next = c;
	else
		l->acc_head = c;
	l->acc_tail = c;
	l->acc_len++;
	tcp_event(l, TCP_EV_ACCEPT);
}

void tcp_listener_child_gone(struct tcp_sock *c)
{
	struct tcp_sock *l = c->listener;
	if (!l)
		return;
	if (c->in_acceptq) {
		struct tcp_sock **pp = &l->acc_head, *prev = NULL;
		while (*pp && *pp != c) {
			prev = *pp;
			pp = &(*pp)->q_next;
		}
		NET_ASSERT(*pp == c);
		*pp = c->q_next;
		if (l->acc_tail == c)
			l->acc_tail = prev;
		l->acc_len--;
	} else {
		NET_ASSERT(l->syn_len > 0);
		l->syn_len--;
	}
	c->q_next = NULL;
	c->in_acceptq = false;
	c->listener = NULL;
}

/* Closing a listener aborts what it has not handed out yet (RFC 9293 §3.10.4). */
void tcp_listener_close(struct tcp_sock *l)
{
	struct tcp_stack *t = l->t;
	for (struct tcp_sock *c = t->tw_head, *next; c; c = next) {
		next = c->next;         /* tcp_done moves c back to t->conns */
		if (c->listener == l) {
			c->app_owned = false;
			tcp_done(c, -NET_ECONNABORTED);
		}
	}
	for (struct tcp_sock *c = t->conns; c; c = c->next) {
		if (c->listener != l)
			continue;
		c->app_owned = false;
		if (c->state == TCP_CLOSED) {
			tcp_listener_child_gone(c);
			continue;
		}
		if (c->state != TCP_SYN_RECEIVED)
			tcp_send_rst(c);
		tcp_done(c, -NET_ECONNABORTED);
	}
	NET_ASSERT(l->acc_len == 0 && l->syn_len == 0);
}
