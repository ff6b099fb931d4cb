/*
 * TCP stack instance: configuration, the memory budget, call bracketing and the entry
 * points from IP (segments in, timers, shutdown). The tables live in tcp_table.c,
 * state changes and event delivery in tcp_event.c, the send queue in tcp_sendq.c and
 * the user calls of RFC 9293 §3.10 in tcp.c.
 *
 * Call order: every entry point brackets its work with tcp_enter()/tcp_leave(). Only
 * the outermost leave of tcp_input()/tcp_poll() delivers events to applications and
 * frees closed TCBs ("reap"), so no callback ever runs while TCP is half-way through
 * a segment, and no TCB disappears under a caller. Segments that arrive re-entrantly
 * (ip_output looping back) are queued in t->backlog and processed before returning.
 */
#include "net/tcp_int.h"
#include "net/gro.h"
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
		.sndbuf_max = 1024 * 1024,
		.rcvbuf = 64 * 1024,
		.max_refs = 64,
		.heap_bytes = TCP_HEAP_DEFAULT, /* the kernel sets its real heap size */
		.mem_max = 0,           /* 0: derived in tcp_init */
		.max_orphans = 0,       /* 0: derived in tcp_init */
		.orphan_retries = TCP_ORPHAN_RETRIES,
		.max_conns_per_peer = 0, /* 0: derived in tcp_init */
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
		.gso = true,
		.obj_cache = true,
		.pacing = true,
		.pacing_ss_ratio = 200,
		.pacing_ca_ratio = 120,
		.hdr_predict = true,
	};
}

static uint32_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;
	while (p <= v / 2)
		p <<= 1;
	return p;
}

/* A quarter of the connections, but all of a small table (at least one). */
static uint32_t share(uint32_t max_conns)
{
	uint32_t q = max_conns / 4, small = max_conns < 16 ? max_conns : 16;
	q = q > small ? q : small;
	return q ? q : 1;
}

/* The memory budget comes from the heap that really backs mem_alloc (half of it: the
 * HTTP slots and the rest of the kernel live there too), never more than every
 * connection at full buffers could use. Orphan and per-peer limits follow max_conns
 * (Linux scales tcp_max_orphans with memory; here max_conns already does). */
static void tcp_limits_derive(struct tcp_config *c)
{
	if (c->heap_bytes == 0)
		c->heap_bytes = TCP_HEAP_DEFAULT;
	if (c->mem_max == 0) {
		uint64_t all = (uint64_t)c->max_conns * (c->rcvbuf + c->sndbuf + sizeof(struct tcp_sock)) +
			       (uint64_t)c->max_listeners * sizeof(struct tcp_sock);
		c->mem_max = c->heap_bytes / 2 < all ? c->heap_bytes / 2 : all;
	}
	if (c->max_orphans == 0)
		c->max_orphans = share(c->max_conns);
	if (c->orphan_retries == 0)
		c->orphan_retries = TCP_ORPHAN_RETRIES;
	if (c->max_conns_per_peer == 0)
		c->max_conns_per_peer = share(c->max_conns);
}

/* mem_used > mem_mark <=> mem_used * 100 > mem_max * TCP_MEM_PRESSURE_PCT (integers):
 * the pressure test without the multiplications on every allocation. */
static void mem_mark_set(struct tcp_stack *t)
{
	t->mem_mark = t->cfg.mem_max * TCP_MEM_PRESSURE_PCT / 100;
}

void tcp_init(struct tcp_stack *t, const struct tcp_env *env, const struct tcp_config *cfg, uint64_t now_ns)
{
	memset(t, 0, sizeof(*t));
	t->tw_due = UINT64_MAX;         /* the TIME-WAIT FIFO is empty */
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
	if (c->sndbuf_max < c->sndbuf)
		c->sndbuf_max = c->sndbuf;
	if (c->sndbuf_max > (1u << 30))
		c->sndbuf_max = 1u << 30;
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
	tcp_limits_derive(c);
	if (c->obj_cache) {
		t->cache[0] = (struct tcp_cache){ .size = sizeof(struct tcp_sock), .max = TCP_CACHE_TCBS };
		t->cache[1] = (struct tcp_cache){ .size = c->rcvbuf, .max = TCP_CACHE_RBUFS };
		t->cache[2] = (struct tcp_cache){ .size = sizeof(struct tcp_chunk) + TCP_CHUNK_MIN,
						  .max = TCP_CACHE_CHUNKS };
	}
	t->now = now_ns;
	t->cache_trim_at = UINT64_MAX;
	mem_mark_set(t);
	uint64_t *keys[] = { t->isn_key, t->cookie_key, t->ts_key, t->port_key };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		keys[i][0] = env->random(env->ctx);
		keys[i][1] = env->random(env->ctx);
	}
}


/* ---- memory -------------------------------------------------------------------------- */
/* Hands every kept object back to the allocator. */
static void cache_drain(struct tcp_stack *t)
{
	for (int i = 0; i < TCP_NCACHE; i++) {
		struct tcp_cache *k = &t->cache[i];
		while (k->head) {
			void *p = k->head;
			memcpy(&k->head, p, sizeof(void *));
			t->env.mem_free(t->env.ctx, p);
		}
		k->n = 0;
	}
	t->cache_bytes = 0;
	t->cache_trim_at = UINT64_MAX;
}

/* The trim deadline came: give everything back if the caches have been idle that
 * long, else wait TCP_CACHE_IDLE_NS from their last use. */
static void cache_trim(struct tcp_stack *t)
{
	uint64_t due = t->cache_used_ns + TCP_CACHE_IDLE_NS;
	if (t->now >= due)
		cache_drain(t);
	else
		tcp_wake(t, t->cache_trim_at = due);
}

/* Memory pressure (Linux tcp_memory_pressure): past TCP_MEM_PRESSURE_PCT of the
 * budget new connections get the smallest receive buffer and orphans are not retried;
 * counted once per entry. */
static inline void mem_account(struct tcp_stack *t)
{
	bool over = t->mem_used > t->mem_mark;
	if (__builtin_expect(over == t->mem_pressure, 1))
		return;
	if (over) {
		tcp_mib(t, TCP_MIB_TCPMemoryPressures);
		cache_drain(t);         /* give the heap back what is merely kept */
	}
	t->mem_pressure = over;
}

/* The cache for objects of n bytes, or NULL. A handful of sizes only: the TCB, the
 * configured receive buffer, the smallest send chunk (a slab per size, as Linux's
 * tcp_sock and skb caches; a connection's life needs no malloc/free here). */
static inline struct tcp_cache *cache_for(struct tcp_stack *t, size_t n)
{
	for (int i = 0; i < TCP_NCACHE; i++)
		if (t->cache[i].size == n)
			return &t->cache[i];
	return NULL;
}

/* The caches were used now: they go back TCP_CACHE_IDLE_NS after their last use. Only
 * an unarmed trim sets its deadline here; an armed one, reached before that, moves on
 * from cache_used_ns (cache_trim). The stack's bound is lowered then: a later trim
 * keeps it a lower bound. */
static inline void cache_used(struct tcp_stack *t)
{
	t->cache_used_ns = t->now;
	if (t->cache_trim_at == UINT64_MAX) {
		t->cache_trim_at = t->now + TCP_CACHE_IDLE_NS;
		tcp_wake(t, t->cache_trim_at);
	}
}

void *tcp_alloc(struct tcp_stack *t, size_t n)
{
	if (t->mem_used + n > t->cfg.mem_max) {
		tcp_mib(t, TCP_MIB_MemLimit);
		return NULL;
	}
	struct tcp_cache *k = cache_for(t, n);
	void *p;
	if (k && k->head) {
		p = k->head;
		memcpy(&k->head, p, sizeof(void *));
		k->n--;
		t->cache_bytes -= n;
		cache_used(t);
	} else if (!(p = t->env.mem_alloc(t->env.ctx, n))) {
		tcp_mib(t, TCP_MIB_MemLimit);
		return NULL;
	}
	t->mem_used += n;
	mem_account(t);
	return p;
}

void tcp_free(struct tcp_stack *t, void *p, size_t n)
{
	if (!p)
		return;
	NET_ASSERT(t->mem_used >= n);
	t->mem_used -= n;
	struct tcp_cache *k = cache_for(t, n);
	if (k && k->n < k->max && !t->mem_pressure) {
		memcpy(p, &k->head, sizeof(void *));
		k->head = p;
		k->n++;
		t->cache_bytes += n;
		cache_used(t);
	} else {
		t->env.mem_free(t->env.ctx, p);
	}
	mem_account(t);
}

/* Room for a new connection: the orphan whose peer has been silent longest goes (RST).
 * Its queued copies are freed now, the TCB at the end of this call. */
bool tcp_shed_orphan(struct tcp_stack *t)
{
	struct tcp_sock *v = NULL;
	for (struct tcp_sock *c = t->conns; c; c = c->next)
		if (c->orphan && (!v || c->last_ack_ns < v->last_ack_ns))
			v = c;
	if (!v)
		return false;
	tcp_mib(t, TCP_MIB_OrphanShed);
	tcp_send_rst(v);
	tcp_done(v, -NET_ECONNABORTED);
	return true;
}


/* ---- call bracketing ----------------------------------------------------------------- */
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
		if (c->sq_done)         /* most events finish no send: no call */
			tcp_sq_run_done(c);
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
		if (c->sq_done)
			tcp_sq_run_done(c);
		tcp_events_unlink(t, c);
		tcp_sock_free(t, c);
	}
}

/* The outermost leave with work (tcp_leave): looped-back input, then events and the
 * reap list for the entry points that deliver. */
void tcp_leave_outer(struct tcp_stack *t, bool deliver_events)
{
	NET_ASSERT(t->depth == 1);
	for (;;) {
		drain_backlog(t);
		if (!deliver_events || !t->events)
			break;
		deliver(t);
	}
	if (deliver_events)
		reap_all(t);
	/* Whatever is left (a user call's events; or, from a completion run by reap_all,
	 * anything it caused) is for the next tcp_poll: make sure that poll comes
	 * (docs/review-deadline.md). */
	if (t->events || t->reap || t->backlog)
		tcp_wake(t, 0);
	t->depth--;
}

/* ---- entry points from IP ------------------------------------------------------------ */
void tcp_input(struct tcp_stack *t, struct pkt *p, uint32_t src, uint32_t dst, uint64_t now_ns)
{
	if (t->depth > 0) {
		/* Re-entered from ip_output: keep it for the outermost call. The addresses
		 * ride in the headroom just before the TCP header. A GRO chain cannot wait
		 * here: the backlog links by p->next, the chain's own link (GRO linearizes
		 * for us, gro.h chain_ok; a deliverer that did not ask loses the segment,
		 * counted, every piece freed: the peer resends). */
		if (p->off < PKT_HDR_SIZE + 8 || t->depth > 8 || (p->flags & PKT_F_GRO_CHAIN)) {
			tcp_mib(t, TCP_MIB_InErrs);
			gro_seg_free(p);
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

static uint64_t conn_deadline(const struct tcp_sock *c)
{
	const uint64_t tm[5] = { c->t_rtx, c->t_delack, c->t_keep, c->t_conn, c->t_pace };
	uint64_t d = UINT64_MAX;
	for (int i = 0; i < 5; i++)
		if (tm[i] && tm[i] < d)
			d = tm[i];
	return d;
}

/* TIME-WAIT TCBs from the FIFO's head while theirs is due (2*MSL, MUST-13), as
 * tcp_timers' conn_expired would. tcp_done takes each off the FIFO, so this advances. */
static void tw_expire(struct tcp_stack *t)
{
	while (t->tw_head && t->tw_head->t_conn <= t->now) {
		struct tcp_sock *c = t->tw_head;
		NET_ASSERT(c->state == TCP_TIME_WAIT);
		tcp_mib(t, TCP_MIB_TW);
		tcp_done(c, 0);
	}
}

/* Every main-loop turn: the TIME-WAIT FIFO's head, and the other TCBs only when one
 * of their timers may be due (t->timer_lb), rebuilding the bound as they are run. A
 * timer armed during the scan lowers the bound through tcp_arm. */
void tcp_poll_due(struct tcp_stack *t)
{
	/* tcp_tw_push/unlink keep it; a TCB's t_conn changes only off the FIFO. */
	NET_ASSERT(t->tw_due == (t->tw_head ? t->tw_head->t_conn : UINT64_MAX));
	/* Kept objects nobody has asked for in a while go back: once the load is gone the
	 * heap returns to its baseline. */
	if (t->now >= t->cache_trim_at)
		cache_trim(t);
	tcp_enter(t);
	tw_expire(t);
	if (t->now >= t->timer_lb) {
		t->timer_lb = UINT64_MAX;
		for (struct tcp_sock *c = t->conns, *next; c; c = next) {
			next = c->next;         /* a timer may move c to the TIME-WAIT FIFO */
			tcp_timers(c, t->now);
			uint64_t d = c->in_tw ? UINT64_MAX : conn_deadline(c);
			if (d < t->timer_lb)
				t->timer_lb = d;
		}
	}
	tcp_leave(t, true);
}

void tcp_config_changed(struct tcp_stack *t)
{
	mem_mark_set(t);
	mem_account(t);         /* mem_max moved: pressure starts or ends now, not at the next allocation */
	t->timer_lb = 0;
	tcp_wake(t, 0);
}

uint64_t tcp_next_deadline(const struct tcp_stack *t)
{
	uint64_t d = t->tw_head ? t->tw_head->t_conn : UINT64_MAX;
	for (const struct tcp_sock *c = t->conns; c; c = c->next) {
		uint64_t e = conn_deadline(c);
		if (e < d)
			d = e;
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
		tcp_reap_later(l);
	}
	while (t->tw_head) {            /* back onto t->conns, CLOSED */
		struct tcp_sock *c = t->tw_head;
		c->app_owned = false;
		c->listener = NULL;
		tcp_done(c, -NET_ECONNABORTED);
	}
	for (struct tcp_sock *c = t->conns; c; c = c->next) {
		c->app_owned = false;
		c->listener = NULL;
		if (c->state == TCP_CLOSED)
			tcp_reap_later(c);
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
	cache_drain(t);
	NET_ASSERT(t->nconns == 0 && t->nlisteners == 0 && t->conns == NULL);
}

