/*
 * TCP stack instance: configuration, the connection tables, TCB lifetime, event
 * delivery and the user calls of RFC 9293 §3.10.1-3.10.6 (OPEN, SEND, RECEIVE, CLOSE,
 * ABORT, STATUS).
 *
 * Call order: every entry point brackets its work with tcp_enter()/tcp_leave(). Only
 * the outermost leave of tcp_input()/tcp_poll() delivers events to applications and
 * frees closed TCBs ("reap"), so no callback ever runs while TCP is half-way through
 * a segment, and no TCB disappears under a caller. Segments that arrive re-entrantly
 * (ip_output looping back) are queued in t->backlog and processed before returning.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

#define BACKLOG_MAX 1024

void tcp_config_default(struct tcp_config *cfg)
{
	*cfg = (struct tcp_config){
		.max_conns = 1024,
		.max_listeners = 32,
		.syn_backlog = 128,
		.accept_backlog = 128,
		.max_time_wait = 512,
		.sndbuf = 64 * 1024,
		.rcvbuf = 64 * 1024,
		.max_refs = 64,
		.mem_max = 0,           /* 0: derived in tcp_init */
		.rto_min_ms = 200,
		.rto_max_ms = 120000,
		.rto_initial_ms = 1000,
		.delack_ms = 40,
		.time_wait_ms = 60000,
		.fin_wait2_ms = 60000,
		.syn_retries = 7,
		.synack_retries = 5,
		.retries1 = 3,
		.retries2 = 15,
		.cc = TCP_CC_CUBIC,
		.syncookies = true,
		.sack = true,
		.timestamps = true,
		.window_scaling = true,
		.keepalive_idle_s = 7200,
		.keepalive_intvl_s = 75,
		.keepalive_probes = 9,
		.challenge_ack_limit = 1000,
		.rst_limit = 1000,
	};
}

static uint32_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;
	while (p <= v / 2)
		p <<= 1;
	return p;
}

void tcp_init(struct tcp_stack *t, const struct tcp_env *env, const struct tcp_config *cfg, uint64_t now_ns)
{
	memset(t, 0, sizeof(*t));
	t->env = *env;
	if (cfg)
		t->cfg = *cfg;
	else
		tcp_config_default(&t->cfg);
	struct tcp_config *c = &t->cfg;
	/* Sanitise what the code relies on. */
	if (c->rcvbuf < 4096)
		c->rcvbuf = 4096;
	if (c->rcvbuf > (1u << 30))
		c->rcvbuf = 1u << 30;
	c->rcvbuf = pow2_floor(c->rcvbuf);
	if (c->sndbuf < 4096)
		c->sndbuf = 4096;
	if (c->delack_ms == 0 || c->delack_ms > 500)
		c->delack_ms = 40;              /* MUST-40: < 0.5 s */
	if (c->rto_min_ms == 0)
		c->rto_min_ms = 1;
	if (c->rto_max_ms < c->rto_min_ms)
		c->rto_max_ms = c->rto_min_ms;
	if (c->rto_initial_ms < c->rto_min_ms)
		c->rto_initial_ms = c->rto_min_ms;
	if (c->keepalive_idle_s == 0)
		c->keepalive_idle_s = 7200;
	if (c->keepalive_intvl_s == 0)
		c->keepalive_intvl_s = 75;
	if (c->mem_max == 0)
		c->mem_max = (uint64_t)c->max_conns * (c->rcvbuf + c->sndbuf + sizeof(struct tcp_sock)) +
			     (uint64_t)c->max_listeners * sizeof(struct tcp_sock);
	t->now = now_ns;
	uint64_t *keys[] = { t->isn_key, t->hash_key, t->cookie_key, t->ts_key, t->port_key };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		keys[i][0] = env->random(env->ctx);
		keys[i][1] = env->random(env->ctx);
	}
}

/* ---- memory -------------------------------------------------------------------------- */
void *tcp_alloc(struct tcp_stack *t, size_t n)
{
	if (t->mem_used + n > t->cfg.mem_max) {
		tcp_mib(t, TCP_MIB_MemLimit);
		return NULL;
	}
	void *p = t->env.mem_alloc(t->env.ctx, n);
	if (!p) {
		tcp_mib(t, TCP_MIB_MemLimit);
		return NULL;
	}
	t->mem_used += n;
	return p;
}

void tcp_free(struct tcp_stack *t, void *p, size_t n)
{
	if (!p)
		return;
	NET_ASSERT(t->mem_used >= n);
	t->mem_used -= n;
	t->env.mem_free(t->env.ctx, p);
}

/* ---- tables -------------------------------------------------------------------------- */
static struct tcp_sock **bucket(struct tcp_stack *t, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	return &t->hash[tcp_hash(t, la, lp, ra, rp) & (TCP_HASH_SIZE - 1)];
}

void tcp_hash_insert(struct tcp_stack *t, struct tcp_sock *c)
{
	NET_ASSERT(!c->hashed);
	struct tcp_sock **b = bucket(t, c->laddr, c->lport, c->raddr, c->rport);
	c->hnext = *b;
	*b = c;
	c->hashed = true;
}

void tcp_hash_remove(struct tcp_stack *t, struct tcp_sock *c)
{
	if (!c->hashed)
		return;
	struct tcp_sock **pp = bucket(t, c->laddr, c->lport, c->raddr, c->rport);
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	NET_ASSERT(*pp == c);
	*pp = c->hnext;
	c->hashed = false;
	if (t->last_hit == c)
		t->last_hit = NULL;
}

struct tcp_sock *tcp_lookup(struct tcp_stack *t, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	struct tcp_sock *c = t->last_hit;
	if (c && c->lport == lp && c->rport == rp && c->laddr == la && c->raddr == ra)
		return c;
	for (c = *bucket(t, la, lp, ra, rp); c; c = c->hnext) {
		if (c->lport == lp && c->rport == rp && c->laddr == la && c->raddr == ra) {
			t->last_hit = c;
			return c;
		}
	}
	return NULL;
}

/* An exact-address listener wins over a wildcard one. */
struct tcp_sock *tcp_lookup_listener(struct tcp_stack *t, uint32_t la, uint16_t lp)
{
	struct tcp_sock *wild = NULL;
	for (struct tcp_sock *l = t->listeners; l; l = l->next) {
		if (l->lport != lp || l->state != TCP_LISTEN)
			continue;
		if (l->laddr == la)
			return l;
		if (l->laddr == 0)
			wild = l;
	}
	return wild;
}

static void list_unlink(struct tcp_sock **head, struct tcp_sock *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (*head == c)
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void list_push(struct tcp_sock **head, struct tcp_sock *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void tw_unlink(struct tcp_stack *t, struct tcp_sock *c)
{
	if (!c->in_tw)
		return;
	struct tcp_sock **pp = &t->tw_head, *prev = NULL;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->tw_next;
	}
	NET_ASSERT(*pp == c);
	*pp = c->tw_next;
	if (t->tw_tail == c)
		t->tw_tail = prev;
	c->tw_next = NULL;
	c->in_tw = false;
	t->ntw--;
}

/* A fresh TCB in CLOSED, linked on t->conns; NULL at the connection or memory limit.
 * At the limit the oldest TIME-WAIT TCB is recycled first. */
struct tcp_sock *tcp_sock_new(struct tcp_stack *t)
{
	if (t->nconns >= t->cfg.max_conns && t->tw_head) {
		tcp_mib(t, TCP_MIB_TWRecycled);
		tcp_done(t->tw_head, 0);
	}
	if (t->nconns >= t->cfg.max_conns) {
		tcp_mib(t, TCP_MIB_ConnLimit);
		return NULL;
	}
	struct tcp_sock *c = tcp_alloc(t, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->state = TCP_CLOSED;
	list_push(&t->conns, c);
	t->nconns++;
	c->counted = true;
	return c;
}

static void sock_free(struct tcp_stack *t, struct tcp_sock *c)
{
	NET_ASSERT(!c->hashed && !c->on_events && !c->in_tw && !c->sq_head && !c->sq_done);
	if (c->is_listener) {
		list_unlink(&t->listeners, c);
		t->nlisteners--;
	} else {
		list_unlink(&t->conns, c);
		if (c->counted)
			t->nconns--;
	}
	tcp_free(t, c->rbuf, c->rbuf_size);
	tcp_free(t, c, sizeof(*c));
}

/* Sizes derived from the route's MTU and the configuration (RFC 9293 §3.7.1: MUST-67
 * the MSS we announce follows MMS_R; MUST-15 536 until the peer tells us). */
void tcp_conn_setup(struct tcp_sock *c, uint16_t mtu)
{
	struct tcp_stack *t = c->t;
	uint32_t cap = PKT_BUF_SIZE - 14 - 60 - 60;     /* a frame with any headers fits a slot */
	if (mtu < TCP_MIN_PMTU)
		mtu = TCP_MIN_PMTU;
	c->pmtu = mtu;
	uint32_t adv = (uint32_t)mtu - 40;
	c->adv_mss = (uint16_t)(adv < cap ? adv : cap);
	c->peer_mss = TCP_DEFAULT_MSS;
	c->mss = TCP_DEFAULT_MSS < c->adv_mss ? TCP_DEFAULT_MSS : c->adv_mss;
	c->rcv_mss = c->mss;
	c->rto_us = t->cfg.rto_initial_ms * 1000;
	c->ssthresh = UINT32_MAX;
	c->cwnd = TCP_INIT_CWND * c->mss;
	c->cc = t->cfg.cc == TCP_CC_RENO ? &tcp_cc_reno : &tcp_cc_cubic;
	c->rbuf_size = t->cfg.rcvbuf;
	c->rcv_wscale = 0;
	if (t->cfg.window_scaling)
		while (c->rcv_wscale < TCP_MAX_WS && (c->rbuf_size >> c->rcv_wscale) > 65535)
			c->rcv_wscale++;
	c->keep_idle_s = t->cfg.keepalive_idle_s;
	c->keep_intvl_s = t->cfg.keepalive_intvl_s;
	c->keep_cnt = t->cfg.keepalive_probes;
	c->min_rtt_us = UINT32_MAX;
	c->cc->init(c);
}

/* ---- states and events --------------------------------------------------------------- */
static bool counts_estab(uint8_t st) { return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT; }

void tcp_set_state(struct tcp_sock *c, enum tcp_state st)
{
	struct tcp_stack *t = c->t;
	if (counts_estab(c->state) && !counts_estab(st))
		t->nestab--;
	if (!counts_estab(c->state) && counts_estab(st))
		t->nestab++;
	if (c->state == TCP_TIME_WAIT && st != TCP_TIME_WAIT)
		tw_unlink(t, c);
	c->state = (uint8_t)st;
}

void tcp_event(struct tcp_sock *c, unsigned ev)
{
	struct tcp_stack *t = c->t;
	c->events |= ev;
	if (!c->on_events) {
		c->on_events = true;
		c->ev_next = t->events;
		t->events = c;
	}
}

static void events_unlink(struct tcp_stack *t, struct tcp_sock *c)
{
	if (!c->on_events)
		return;
	struct tcp_sock **pp = &t->events;
	while (*pp && *pp != c)
		pp = &(*pp)->ev_next;
	NET_ASSERT(*pp == c);
	*pp = c->ev_next;
	c->on_events = false;
}

static void reap_later(struct tcp_sock *c)
{
	if (c->on_reap)
		return;
	c->on_reap = true;
	c->reap_next = c->t->reap;
	c->t->reap = c;
}

/* Enter CLOSED (RFC 9293 "delete the TCB"): off the hash so new segments meet the
 * CLOSED rules, timers off, queues flushed. The memory goes once the application has
 * let go of the handle. */
void tcp_done(struct tcp_sock *c, int err)
{
	struct tcp_stack *t = c->t;
	if (c->state == TCP_CLOSED) {
		if (!c->app_owned)
			reap_later(c);          /* e.g. a TCB that never left CLOSED */
		return;
	}
	tcp_set_state(c, TCP_CLOSED);
	if (c->counted) {
		c->counted = false;     /* the limit counts live TCBs */
		t->nconns--;
	}
	tcp_hash_remove(t, c);
	c->t_rtx = c->t_delack = c->t_keep = c->t_conn = 0;
	if (err && !c->err)
		c->err = err;
	if (err)
		c->rcv_user = c->rcv_nxt - c->fin_rcvd;   /* received data is discarded */
	tcp_sq_flush(c, err ? err : -NET_ECONNABORTED);
	if (c->listener)
		tcp_listener_child_gone(c);
	if (c->app_owned)
		tcp_event(c, TCP_EV_CLOSED);
	else
		reap_later(c);
}

void tcp_enter_time_wait(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	tcp_set_state(c, TCP_TIME_WAIT);
	c->t_rtx = c->t_delack = c->t_keep = 0;
	c->persist = false;
	c->t_conn = t->now + (uint64_t)t->cfg.time_wait_ms * TCP_NS_PER_MS;
	tcp_sq_flush(c, 0);
	if (!c->in_tw) {
		c->in_tw = true;
		c->tw_next = NULL;
		if (t->tw_tail)
			t->tw_tail->tw_next = c;
		else
			t->tw_head = c;
		t->tw_tail = c;
		t->ntw++;
	}
	if (!c->app_owned && c->rbuf) {
		tcp_free(t, c->rbuf, c->rbuf_size);
		c->rbuf = NULL;
	}
	if (t->ntw > t->cfg.max_time_wait) {
		tcp_mib(t, TCP_MIB_TCPTimeWaitOverflow);
		tcp_done(t->tw_head, 0);
	}
}

/* Transition into ESTABLISHED: the receive buffer exists from here on. */
int tcp_established(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	if (!c->rbuf) {
		c->rbuf = tcp_alloc(t, c->rbuf_size);
		if (!c->rbuf)
			return -NET_ENOMEM;
	}
	tcp_set_state(c, TCP_ESTABLISHED);
	c->rcv_user = c->rcv_nxt;
	c->cwnd = TCP_INIT_CWND * c->mss;
	if (c->syn_rtx && c->srtt_us == 0 && c->rto_us < TCP_SYN_RTO_AFTER_LOSS_MS * 1000)
		c->rto_us = TCP_SYN_RTO_AFTER_LOSS_MS * 1000;     /* RFC 6298 §5.7 */
	c->rtx_shift = 0;
	c->rtx_count = 0;
	c->last_rcv_ns = c->last_ack_ns = t->now;
	c->idle_since_ns = t->now;
	tcp_keepalive_reset(c);
	return 0;
}

bool tcp_challenge_allowed(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	uint64_t now = t->now;
	/* Per connection: spacing (Linux tcp_invalid_ratelimit). */
	if (c->chack_last_ns && now - c->chack_last_ns < TCP_CHACK_CONN_NS) {
		tcp_mib(t, TCP_MIB_TCPACKSkippedChallenge);
		return false;
	}
	/* Whole stack: a budget per second, randomised so the count leaks nothing about
	 * other connections (CVE-2016-5696). */
	uint64_t sec = now / 1000000000ull;
	if (sec != t->chack_sec || t->chack_left == 0xffffffffu) {
		uint32_t lim = t->cfg.challenge_ack_limit ? t->cfg.challenge_ack_limit : 1;
		t->chack_sec = sec;
		t->chack_left = lim / 2 + (uint32_t)(t->env.random(t->env.ctx) % lim);
	}
	if (t->chack_left == 0) {
		tcp_mib(t, TCP_MIB_TCPACKSkippedChallenge);
		return false;
	}
	t->chack_left--;
	c->chack_last_ns = now ? now : 1;
	return true;
}

/* ---- send queue ---------------------------------------------------------------------- */
static void chunk_finish(struct tcp_sock *c, struct tcp_chunk *k, int err)
{
	struct tcp_stack *t = c->t;
	if (k->cap) {
		c->sq_copied -= k->len;
		tcp_free(t, k, sizeof(*k) + k->cap);
		return;
	}
	/* Reference: completion runs at delivery time. */
	c->nrefs--;
	k->err = err;
	k->next = c->sq_done;
	c->sq_done = k;
	tcp_event(c, 0);
}

/* Everything before ack is acknowledged: release whole chunks, advance the head. */
void tcp_sq_ack(struct tcp_sock *c, uint32_t ack)
{
	if (!c->sq_head || !seq_gt(ack, c->sq_seq))
		return;
	uint32_t n = seq_min(ack, c->snd_buf_end) - c->sq_seq;
	while (n && c->sq_head) {
		struct tcp_chunk *k = c->sq_head;
		uint32_t left = k->len - c->sq_off;
		if (n < left) {
			c->sq_off += n;
			c->sq_seq += n;
			break;          /* copy bytes stay until the whole chunk is acknowledged */
		}
		n -= left;
		c->sq_seq += left;
		c->sq_off = 0;
		c->sq_head = k->next;
		if (!c->sq_head)
			c->sq_tail = NULL;
		if (c->cur_chunk == k)
			c->cur_chunk = NULL;
		chunk_finish(c, k, 0);
	}
}

void tcp_sq_flush(struct tcp_sock *c, int err)
{
	while (c->sq_head) {
		struct tcp_chunk *k = c->sq_head;
		c->sq_head = k->next;
		chunk_finish(c, k, err);
	}
	c->sq_tail = NULL;
	c->cur_chunk = NULL;
	c->sq_off = 0;
}

static void run_done(struct tcp_sock *c)
{
	while (c->sq_done) {
		struct tcp_chunk *k = c->sq_done;
		c->sq_done = k->next;
		tcp_done_fn fn = k->done;
		void *arg = k->arg;
		int err = k->err;
		tcp_free(c->t, k, sizeof(*k));
		if (fn)
			fn(arg, err);
	}
}

/* ---- call bracketing ----------------------------------------------------------------- */
void tcp_enter(struct tcp_stack *t)
{
	t->depth++;
}

static void drain_backlog(struct tcp_stack *t)
{
	while (t->backlog) {
		struct pkt *p = t->backlog;
		t->backlog = p->next;
		if (!t->backlog)
			t->backlog_tail = NULL;
		p->next = NULL;
		uint32_t a[2];
		memcpy(a, pkt_data(p) - 8, 8);
		tcp_input_one(t, p, a[0], a[1]);
	}
}

static void deliver(struct tcp_stack *t)
{
	while (t->events) {
		struct tcp_sock *c = t->events;
		t->events = c->ev_next;
		c->on_events = false;
		unsigned ev = c->events;
		c->events = 0;
		run_done(c);
		if (ev && c->app_owned && c->cb)
			c->cb(c->user, c, ev);
	}
}

static void reap_all(struct tcp_stack *t)
{
	while (t->reap) {
		struct tcp_sock *c = t->reap;
		t->reap = c->reap_next;
		c->on_reap = false;
		if (c->app_owned) {
			continue;       /* re-owned (cannot happen today); keep it */
		}
		run_done(c);
		events_unlink(t, c);
		sock_free(t, c);
	}
}

void tcp_leave(struct tcp_stack *t, bool deliver_events)
{
	NET_ASSERT(t->depth > 0);
	if (t->depth == 1) {
		for (;;) {
			drain_backlog(t);
			if (!deliver_events || !t->events)
				break;
			deliver(t);
		}
		if (deliver_events)
			reap_all(t);
	}
	t->depth--;
}

/* ---- entry points from IP ------------------------------------------------------------ */
void tcp_input(struct tcp_stack *t, struct pkt *p, uint32_t src, uint32_t dst, uint64_t now_ns)
{
	if (t->depth > 0) {
		/* Re-entered from ip_output: keep it for the outermost call. The addresses
		 * ride in the headroom just before the TCP header. */
		if (p->off < PKT_HDR_SIZE + 8 || t->depth > 8) {
			tcp_mib(t, TCP_MIB_InErrs);
			pkt_free(p);
			return;
		}
		uint32_t n = 0;
		for (struct pkt *q = t->backlog; q; q = q->next)
			n++;
		if (n >= BACKLOG_MAX) {
			tcp_mib(t, TCP_MIB_InErrs);
			pkt_free(p);
			return;
		}
		uint32_t a[2] = { src, dst };
		memcpy(pkt_data(p) - 8, a, 8);
		p->next = NULL;
		if (t->backlog_tail)
			t->backlog_tail->next = p;
		else
			t->backlog = p;
		t->backlog_tail = p;
		return;
	}
	tcp_enter(t);
	if (now_ns > t->now)
		t->now = now_ns;
	tcp_input_one(t, p, src, dst);
	tcp_leave(t, true);
}

void tcp_poll(struct tcp_stack *t, uint64_t now_ns)
{
	tcp_enter(t);
	if (now_ns > t->now)
		t->now = now_ns;
	for (struct tcp_sock *c = t->conns; c; c = c->next)
		tcp_timers(c, t->now);
	tcp_leave(t, true);
}

uint64_t tcp_next_deadline(const struct tcp_stack *t)
{
	uint64_t d = UINT64_MAX;
	for (const struct tcp_sock *c = t->conns; c; c = c->next) {
		const uint64_t tm[4] = { c->t_rtx, c->t_delack, c->t_keep, c->t_conn };
		for (int i = 0; i < 4; i++)
			if (tm[i] && tm[i] < d)
				d = tm[i];
	}
	return d;
}

void tcp_shutdown_stack(struct tcp_stack *t)
{
	tcp_enter(t);
	for (struct tcp_sock *l = t->listeners; l; l = l->next) {
		l->app_owned = false;
		if (l->state == TCP_LISTEN) {
			tcp_listener_close(l);
			tcp_set_state(l, TCP_CLOSED);
		}
		reap_later(l);
	}
	for (struct tcp_sock *c = t->conns; c; c = c->next) {
		c->app_owned = false;
		c->listener = NULL;
		if (c->state == TCP_CLOSED)
			reap_later(c);
		else
			tcp_done(c, -NET_ECONNABORTED);
	}
	while (t->backlog) {
		struct pkt *p = t->backlog;
		t->backlog = p->next;
		pkt_free(p);
	}
	t->backlog_tail = NULL;
	tcp_leave(t, true);
	NET_ASSERT(t->nconns == 0 && t->nlisteners == 0 && t->conns == NULL);
}

/* ---- user calls ---------------------------------------------------------------------- */
static bool bad_remote(uint32_t a)
{
	/* MUST-46: no OPEN to broadcast or multicast; 0/8 and 240/4 are not hosts either. */
	return a == 0xffffffffu || (a >> 28) == 0xe || (a >> 28) == 0xf || (a >> 24) == 0;
}

int tcp_listen(struct tcp_stack *t, uint32_t addr, uint16_t port, uint32_t backlog,
	       tcp_event_fn cb, void *user, struct tcp_sock **out)
{
	if (port == 0 || !out)
		return -NET_EINVAL;
	for (struct tcp_sock *l = t->listeners; l; l = l->next)
		if (l->lport == port && l->laddr == addr && l->state == TCP_LISTEN)
			return -NET_EADDRINUSE;
	if (t->nlisteners >= t->cfg.max_listeners)
		return -NET_ENOBUFS;
	struct tcp_sock *l = tcp_alloc(t, sizeof(*l));
	if (!l)
		return -NET_ENOMEM;
	memset(l, 0, sizeof(*l));
	l->t = t;
	l->state = TCP_LISTEN;
	l->is_listener = true;
	l->laddr = addr;
	l->lport = port;
	l->backlog = backlog && backlog < t->cfg.accept_backlog ? backlog : t->cfg.accept_backlog;
	if (l->backlog == 0)
		l->backlog = 1;
	l->cb = cb;
	l->user = user;
	l->app_owned = true;
	list_push(&t->listeners, l);
	t->nlisteners++;
	*out = l;
	return 0;
}

int tcp_accept(struct tcp_sock *l, struct tcp_sock **out)
{
	if (l->state != TCP_LISTEN)
		return -NET_EINVAL;
	struct tcp_sock *c = l->acc_head;
	if (!c)
		return -NET_EAGAIN;
	l->acc_head = c->q_next;
	if (!l->acc_head)
		l->acc_tail = NULL;
	l->acc_len--;
	c->q_next = NULL;
	c->listener = NULL;
	c->app_owned = true;
	c->cb = l->cb;
	c->user = l->user;
	*out = c;
	return 0;
}

int tcp_connect(struct tcp_stack *t, uint32_t src, uint32_t dst, uint16_t dport,
		tcp_event_fn cb, void *user, struct tcp_sock **out)
{
	if (bad_remote(dst) || dport == 0 || !out)
		return -NET_EINVAL;
	uint32_t rsrc;
	uint16_t mtu;
	if (t->env.route(t->env.ctx, dst, &rsrc, &mtu) != 0)
		return -NET_ENETUNREACH;
	if (src == 0)
		src = rsrc;                             /* MUST-44 */
	tcp_enter(t);
	tcp_now(t);
	int err = 0;
	uint16_t lport;
	struct tcp_sock *c = NULL;
	if ((err = tcp_pick_port(t, src, dst, dport, &lport)) != 0)
		goto out;
	c = tcp_sock_new(t);
	if (!c) {
		err = -NET_ENOBUFS;
		goto out;
	}
	c->laddr = src;
	c->raddr = dst;
	c->lport = lport;
	c->rport = dport;
	tcp_conn_setup(c, mtu);
	c->rbuf = tcp_alloc(t, c->rbuf_size);
	if (!c->rbuf) {
		err = -NET_ENOMEM;
		c->app_owned = false;
		tcp_done(c, err);
		c = NULL;
		goto out;
	}
	c->cb = cb;
	c->user = user;
	c->app_owned = true;
	c->iss = tcp_isn(t, src, lport, dst, dport);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_end = c->sq_seq = c->iss + 1;
	c->recover = c->iss;
	c->ts_offset = tcp_ts_offset(t, src, dst);
	tcp_hash_insert(t, c);
	tcp_set_state(c, TCP_SYN_SENT);
	tcp_mib(t, TCP_MIB_ActiveOpens);
	tcp_send_syn(c);
	*out = c;
out:
	tcp_leave(t, false);
	return err;
}

void tcp_set_callback(struct tcp_sock *s, tcp_event_fn cb, void *user)
{
	s->cb = cb;
	s->user = user;
}

static int send_check(const struct tcp_sock *c)
{
	if (c->err)
		return c->err;
	if (c->fin_queued)
		return -NET_EPIPE;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		return 0;
	case TCP_LISTEN:
	case TCP_CLOSED:
		return -NET_ENOTCONN;
	default:
		return -NET_EPIPE;
	}
}

static void sq_append(struct tcp_sock *c, struct tcp_chunk *k)
{
	k->next = NULL;
	if (c->sq_tail)
		c->sq_tail->next = k;
	else
		c->sq_head = k;
	c->sq_tail = k;
	c->snd_buf_end += k->len;
}

uint32_t tcp_sndbuf_free(const struct tcp_sock *c)
{
	uint32_t sb = c->t->cfg.sndbuf;
	return c->sq_copied >= sb ? 0 : sb - c->sq_copied;
}

static void output_if_open(struct tcp_sock *c)
{
	if (c->state >= TCP_ESTABLISHED)
		tcp_output(c);
}

long tcp_send(struct tcp_sock *c, const void *buf, size_t len)
{
	struct tcp_stack *t = c->t;
	int err = send_check(c);
	if (err)
		return err;
	if (len == 0)
		return 0;
	uint32_t space = tcp_sndbuf_free(c);
	if (space == 0) {
		c->want_send = true;
		return -NET_EAGAIN;
	}
	tcp_enter(t);
	tcp_now(t);
	size_t n = len < space ? len : space;
	size_t done = 0;
	const uint8_t *src = buf;
	while (done < n) {
		struct tcp_chunk *k = c->sq_tail;
		if (k && k->cap && k->len < k->cap) {
			uint32_t room = k->cap - k->len;
			uint32_t m = (uint32_t)(n - done < room ? n - done : room);
			memcpy((uint8_t *)(k + 1) + k->len, src + done, m);
			k->len += m;
			c->snd_buf_end += m;
			c->sq_copied += m;
			done += m;
			continue;
		}
		uint32_t want = (uint32_t)(n - done);
		uint32_t cap = want < TCP_CHUNK_MIN ? TCP_CHUNK_MIN : want > TCP_CHUNK_MAX ? TCP_CHUNK_MAX : want;
		k = tcp_alloc(t, sizeof(*k) + cap);
		if (!k)
			break;
		memset(k, 0, sizeof(*k));
		k->cap = cap;
		k->data = (const uint8_t *)(k + 1);
		sq_append(c, k);        /* len 0: snd_buf_end unchanged */
	}
	if (done < len)
		c->want_send = true;
	output_if_open(c);
	tcp_leave(t, false);
	return done ? (long)done : -NET_ENOMEM;
}

int tcp_send_ref(struct tcp_sock *c, const void *buf, size_t len, tcp_done_fn done, void *arg)
{
	struct tcp_stack *t = c->t;
	int err = send_check(c);
	if (err)
		return err;
	if (len == 0 || !buf)
		return -NET_EINVAL;
	/* The unacknowledged span must stay far below 2^31 for sequence arithmetic. */
	if (len > (1u << 30))
		return -NET_EMSGSIZE;
	if (c->nrefs >= t->cfg.max_refs || (uint64_t)(c->snd_buf_end - c->snd_una) + len > (1u << 30)) {
		c->want_send = true;
		return -NET_EAGAIN;
	}
	tcp_enter(t);
	tcp_now(t);
	struct tcp_chunk *k = tcp_alloc(t, sizeof(*k));
	if (!k) {
		tcp_leave(t, false);
		return -NET_ENOMEM;
	}
	memset(k, 0, sizeof(*k));
	k->data = buf;
	k->len = (uint32_t)len;
	k->done = done;
	k->arg = arg;
	c->nrefs++;
	sq_append(c, k);
	output_if_open(c);
	tcp_leave(t, false);
	return 0;
}

static uint32_t unread(const struct tcp_sock *c)
{
	if (!c->rbuf)
		return 0;
	return c->rcv_nxt - c->rcv_user - (c->fin_rcvd ? 1 : 0);
}

/* After the application read: announce the opened window if it is worth it (receiver
 * SWS avoidance, RFC 9293 §3.8.6.2.2: only in steps of min(RCV.BUFF/2, MSS), and here
 * only when it at least doubles what the peer may send). */
static void window_update(struct tcp_sock *c)
{
	if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_1 && c->state != TCP_FIN_WAIT_2)
		return;
	uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t now_wnd = tcp_rcv_wnd(c);
	uint32_t sws = c->rbuf_size / 2 < c->rcv_mss ? c->rbuf_size / 2 : c->rcv_mss;
	if (now_wnd >= cur + sws && now_wnd >= 2 * cur)
		tcp_send_ack(c);
}

static void urgent_consumed(struct tcp_sock *c)
{
	if (c->urg_signalled && seq_geq(c->rcv_user, c->rcv_up))
		c->urg_signalled = false;
}

long tcp_recv(struct tcp_sock *c, void *buf, size_t len)
{
	uint32_t avail = unread(c);
	if (avail == 0) {
		if (c->err)
			return c->err;
		if (c->fin_rcvd)
			return 0;
		if (c->state == TCP_LISTEN || (c->state == TCP_CLOSED && !c->rbuf))
			return -NET_ENOTCONN;
		return -NET_EAGAIN;
	}
	uint32_t n = (uint32_t)(len < avail ? len : avail);
	uint32_t mask = c->rbuf_size - 1;
	uint32_t off = c->rcv_user & mask;
	uint32_t first = c->rbuf_size - off < n ? c->rbuf_size - off : n;
	memcpy(buf, c->rbuf + off, first);
	memcpy((uint8_t *)buf + first, c->rbuf, n - first);
	tcp_recv_consume(c, n);
	return n;
}

size_t tcp_recv_peek(struct tcp_sock *c, const uint8_t **data)
{
	uint32_t avail = unread(c);
	if (avail == 0) {
		*data = NULL;
		return 0;
	}
	uint32_t off = c->rcv_user & (c->rbuf_size - 1);
	*data = c->rbuf + off;
	return c->rbuf_size - off < avail ? c->rbuf_size - off : avail;
}

void tcp_recv_consume(struct tcp_sock *c, size_t n)
{
	struct tcp_stack *t = c->t;
	uint32_t avail = unread(c);
	if (n > avail)
		n = avail;
	if (n == 0)
		return;
	c->rcv_user += (uint32_t)n;
	urgent_consumed(c);
	tcp_enter(t);
	tcp_now(t);
	window_update(c);
	tcp_leave(t, false);
}

int tcp_shutdown(struct tcp_sock *c, int how)
{
	if (how != TCP_SHUT_WR)
		return -NET_EOPNOTSUPP;
	if (c->err)
		return c->err;
	if (c->fin_queued)
		return 0;
	struct tcp_stack *t = c->t;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		c->fin_queued = true;           /* sent once established */
		return 0;
	case TCP_ESTABLISHED:
		c->fin_queued = true;
		tcp_set_state(c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		c->fin_queued = true;
		tcp_set_state(c, TCP_LAST_ACK);
		break;
	default:
		return -NET_ENOTCONN;
	}
	tcp_enter(t);
	tcp_now(t);
	tcp_output(c);
	tcp_leave(t, false);
	return 0;
}

static void abort_conn(struct tcp_sock *c, int err)
{
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		tcp_send_rst(c);        /* RFC 9293 §3.10.5 */
		break;
	default:
		break;
	}
	if (counts_estab(c->state))
		tcp_mib(c->t, TCP_MIB_EstabResets);
	tcp_done(c, err);
}

int tcp_close(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	tcp_enter(t);
	tcp_now(t);
	c->app_owned = false;
	c->cb = NULL;
	switch (c->state) {
	case TCP_LISTEN:
		tcp_listener_close(c);
		tcp_set_state(c, TCP_CLOSED);
		reap_later(c);
		break;
	case TCP_CLOSED:
		reap_later(c);
		break;
	case TCP_SYN_SENT:
		tcp_done(c, -NET_ECONNABORTED);
		break;
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		if (unread(c)) {
			/* Data the application will never read: tell the peer (RFC 2525 §2.17). */
			tcp_mib(t, TCP_MIB_TCPAbortOnClose);
			abort_conn(c, -NET_ECONNABORTED);
			break;
		}
		c->fin_queued = true;
		if (c->state == TCP_ESTABLISHED)
			tcp_set_state(c, TCP_FIN_WAIT_1);
		else if (c->state == TCP_CLOSE_WAIT)
			tcp_set_state(c, TCP_LAST_ACK);
		tcp_output(c);
		break;
	case TCP_FIN_WAIT_2:
		c->t_conn = t->now + (uint64_t)t->cfg.fin_wait2_ms * TCP_NS_PER_MS;
		break;
	default:
		break;                  /* FIN-WAIT-1, CLOSING, LAST-ACK, TIME-WAIT: carry on */
	}
	if (c->state == TCP_TIME_WAIT && c->rbuf) {
		tcp_free(t, c->rbuf, c->rbuf_size);
		c->rbuf = NULL;
	}
	tcp_leave(t, false);
	return 0;
}

void tcp_abort(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	tcp_enter(t);
	tcp_now(t);
	c->app_owned = false;
	c->cb = NULL;
	if (c->state == TCP_LISTEN) {
		tcp_listener_close(c);
		tcp_set_state(c, TCP_CLOSED);
		reap_later(c);
	} else if (c->state == TCP_CLOSED) {
		reap_later(c);
	} else {
		abort_conn(c, -NET_ECONNABORTED);
	}
	tcp_leave(t, false);
}

int tcp_setopt(struct tcp_sock *c, enum tcp_opt opt, uint32_t val)
{
	switch (opt) {
	case TCP_OPT_NODELAY:
		c->nodelay = val != 0;
		if (c->nodelay && c->state >= TCP_ESTABLISHED) {
			tcp_enter(c->t);
			tcp_now(c->t);
			tcp_output(c);
			tcp_leave(c->t, false);
		}
		return 0;
	case TCP_OPT_KEEPALIVE:
		c->keepalive = val != 0;
		tcp_keepalive_reset(c);
		return 0;
	case TCP_OPT_KEEPIDLE:
		if (val == 0 || val > 32767 * 60)
			return -NET_EINVAL;
		c->keep_idle_s = val;
		tcp_keepalive_reset(c);
		return 0;
	case TCP_OPT_KEEPINTVL:
		if (val == 0 || val > 32767 * 60)
			return -NET_EINVAL;
		c->keep_intvl_s = val;
		return 0;
	case TCP_OPT_KEEPCNT:
		if (val == 0 || val > 127)
			return -NET_EINVAL;
		c->keep_cnt = val;
		return 0;
	case TCP_OPT_USER_TIMEOUT:
		c->user_timeout_ms = val;
		return 0;
	case TCP_OPT_TOS:
		if (val > 255)
			return -NET_EINVAL;
		c->tos = (uint8_t)val;
		return 0;
	}
	return -NET_EINVAL;
}

unsigned tcp_ready(const struct tcp_sock *c)
{
	unsigned r = 0;
	if (c->state == TCP_LISTEN)
		return c->acc_head ? TCP_EV_ACCEPT : 0;
	if (unread(c) || c->fin_rcvd || c->err)
		r |= TCP_EV_RECV;
	if (c->err || c->state == TCP_CLOSED)
		r |= TCP_EV_CLOSED;
	if (c->state >= TCP_ESTABLISHED && c->state != TCP_CLOSED)
		r |= TCP_EV_CONNECTED;
	if (send_check(c) == 0 && c->state != TCP_SYN_SENT &&
	    c->state != TCP_SYN_RECEIVED && tcp_sndbuf_free(c) > 0)
		r |= TCP_EV_SEND;
	if (tcp_urgent_pending(c))
		r |= TCP_EV_URGENT;
	return r;
}

int tcp_error(const struct tcp_sock *c)
{
	return c->err;
}

uint32_t tcp_urgent_pending(const struct tcp_sock *c)
{
	if (!c->rbuf || !seq_gt(c->rcv_up, c->rcv_user))
		return 0;
	uint32_t end = seq_min(c->rcv_up, c->rcv_nxt - (c->fin_rcvd ? 1 : 0));
	return seq_gt(end, c->rcv_user) ? end - c->rcv_user : 0;
}
