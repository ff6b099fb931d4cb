/*
 * TCP tables and TCB lifetime: the connection hash (4-tuple, keyed by tcp_hash so
 * a peer cannot aim at one bucket), the listener, connection and TIME-WAIT lists,
 * allocation and freeing of TCBs and their per-route sizes. No protocol logic.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

static struct tcp_sock **bucket(struct tcp_stack *t, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	return &t->hash[tcp_hash(t, la, lp, ra, rp) & (TCP_HASH_SIZE - 1)];
}

void tcp_hash_insert(struct tcp_stack *t, struct tcp_sock *c)
{
	NET_ASSERT(!c->hashed);
	c->hash = tcp_hash(t, c->laddr, c->lport, c->raddr, c->rport);
	struct tcp_sock **b = &t->hash[c->hash & (TCP_HASH_SIZE - 1)];
	c->hnext = *b;
	*b = c;
	c->hashed = true;
}

void tcp_hash_remove(struct tcp_stack *t, struct tcp_sock *c)
{
	if (!c->hashed)
		return;
	struct tcp_sock **pp = &t->hash[c->hash & (TCP_HASH_SIZE - 1)];   /* the tuple is fixed while hashed */
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	NET_ASSERT(*pp == c);
	*pp = c->hnext;
	c->hashed = false;
	if (t->last_hit == c)
		t->last_hit = NULL;
}

static inline bool tuple_is(const struct tcp_sock *c, uint32_t la, uint16_t lp, uint32_t ra,
			    uint16_t rp)
{
	return c->lport == lp && c->rport == rp && c->laddr == la && c->raddr == ra;
}

/* The hash chain walk: out of line, so the hit below needs no stack frame. */
static __attribute__((noinline)) struct tcp_sock *lookup_chain(struct tcp_stack *t, uint32_t la,
							      uint16_t lp, uint32_t ra, uint16_t rp)
{
	for (struct tcp_sock *c = *bucket(t, la, lp, ra, rp); c; c = c->hnext) {
		if (tuple_is(c, la, lp, ra, rp)) {
			t->last_hit = c;
			return c;
		}
	}
	return NULL;
}

/* Consecutive segments mostly belong to one connection: the last one found is tried
 * first, before any stack frame is set up. */
struct tcp_sock *tcp_lookup(struct tcp_stack *t, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	struct tcp_sock *c = t->last_hit;
	if (c && tuple_is(c, la, lp, ra, rp))
		return c;
	return lookup_chain(t, la, lp, ra, rp);
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

/* TIME-WAIT TCBs leave t->conns for the TIME-WAIT FIFO (the same next/prev links),
 * so the timer scan never walks them: all TIME-WAIT TCBs wait the same 2*MSL, so
 * the FIFO is in expiry order and tcp_poll expires them from its head. */
void tcp_tw_unlink(struct tcp_stack *t, struct tcp_sock *c)
{
	if (!c->in_tw)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->tw_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->tw_tail = c->prev;
	c->in_tw = false;
	t->ntw--;
	t->tw_due = t->tw_head ? t->tw_head->t_conn : UINT64_MAX;
	list_push(&t->conns, c);
}

/* Moves c from t->conns to the tail of the TIME-WAIT FIFO (oldest first: the one
 * recycled at the limits, and the first to expire). */
void tcp_tw_push(struct tcp_stack *t, struct tcp_sock *c)
{
	if (c->in_tw)
		return;
	list_unlink(&t->conns, c);
	c->in_tw = true;
	c->next = NULL;
	c->prev = t->tw_tail;
	if (t->tw_tail)
		t->tw_tail->next = c;
	else
		t->tw_head = c;
	t->tw_tail = c;
	t->ntw++;
	t->tw_due = t->tw_head->t_conn;
	tcp_wake(t, t->tw_due);
}

/* A fresh TCB in CLOSED, linked on t->conns; NULL at the connection or memory limit.
 * At the limit the oldest TIME-WAIT TCB is recycled first, then an orphan is shed. */
struct tcp_sock *tcp_sock_new(struct tcp_stack *t)
{
	if (t->nconns >= t->cfg.max_conns && t->tw_head) {
		tcp_mib(t, TCP_MIB_TWRecycled);
		tcp_done(t->tw_head, 0);
	}
	if (t->nconns >= t->cfg.max_conns && !tcp_shed_orphan(t)) {
		tcp_mib(t, TCP_MIB_ConnLimit);
		return NULL;
	}
	struct tcp_sock *c = tcp_alloc(t, sizeof(*c));
	if (!c && tcp_shed_orphan(t))
		c = tcp_alloc(t, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, TCP_TCB_ZERO_LEN);
	c->t = t;
	c->state = TCP_CLOSED;
	list_push(&t->conns, c);
	t->nconns++;
	c->counted = true;
	return c;
}

/* A fresh listening TCB, linked on t->listeners; NULL at the memory limit (the caller
 * checks max_listeners). */
struct tcp_sock *tcp_listener_new(struct tcp_stack *t)
{
	struct tcp_sock *l = tcp_alloc(t, sizeof(*l));
	if (!l)
		return NULL;
	memset(l, 0, TCP_TCB_ZERO_LEN);
	l->t = t;
	l->state = TCP_LISTEN;
	l->is_listener = true;
	list_push(&t->listeners, l);
	t->nlisteners++;
	return l;
}

void tcp_sock_free(struct tcp_stack *t, struct tcp_sock *c)
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
	NET_ASSERT(!c->rbuf_owed);      /* settled when it left the synchronized states */
	tcp_sndbuf_release(c);
	tcp_sq_spare_free(c);
	tcp_free(t, c->rbuf, c->rbuf_size);
	tcp_free(t, c, sizeof(*c));
}

/* What the egress device does for us (checksums, segmentation), asked once per
 * connection with its route: super-segments need big buffers from the environment. */
static void offload_setup(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	struct tcp_offload o = { 0 };
	if (!t->env.tx_offload || t->env.tx_offload(t->env.ctx, c->raddr, &o) != 0)
		o = (struct tcp_offload){ 0 };
	c->tx_csum = o.csum;
	c->tx_sg = o.sg;
	c->gso_max = 0;
	if (t->cfg.gso && t->env.pkt_alloc_big)
		c->gso_max = o.gso_max && o.gso_max < TCP_GSO_MAX ? o.gso_max : TCP_GSO_MAX;
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
	/* Under memory pressure the smallest buffer: it is fixed before the first window
	 * is announced, so it never shrinks one (RFC 9293 SHLD-14). Windows announced
	 * without their buffer yet count as taken here (tcp_rbuf_owe). */
	bool pressure = t->mem_pressure || t->mem_used + t->rbuf_owed > t->mem_mark;
	c->rbuf_size = pressure ? TCP_RBUF_MIN : t->cfg.rcvbuf;
	tcp_sndbuf_release(c);
	c->sndbuf = t->cfg.sndbuf;
	c->rcv_wscale = 0;
	if (t->cfg.window_scaling)
		while (c->rcv_wscale < TCP_MAX_WS && (c->rbuf_size >> c->rcv_wscale) > 65535)
			c->rcv_wscale++;
	c->keep_idle_s = t->cfg.keepalive_idle_s;
	c->keep_intvl_s = t->cfg.keepalive_intvl_s;
	c->keep_cnt = t->cfg.keepalive_probes;
	c->min_rtt_us = UINT32_MAX;
	c->cc->init(c);
	offload_setup(c);
}


/* The peer at addr already holds its share of TCBs (TIME-WAIT and CLOSED ones aside).
 * Walks the list only when the total is past the share, i.e. under load. */
bool tcp_peer_full(struct tcp_stack *t, uint32_t addr)
{
	uint32_t cap = t->cfg.max_conns_per_peer, n = 0;
	if (t->nconns < cap)
		return false;
	for (struct tcp_sock *c = t->conns; c && n < cap; c = c->next)
		n += c->raddr == addr && c->state != TCP_TIME_WAIT && c->state != TCP_CLOSED;
	return n >= cap;
}
