/*
 * TCP state changes and events: the state counters, the event list that tcp_leave()
 * delivers to applications, the reap list of TCBs to free, and the transitions shared
 * by several handlers (CLOSED = "delete the TCB", TIME-WAIT, ESTABLISHED), plus the
 * RFC 5961 §7 challenge-ACK budget.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

void tcp_set_state(struct tcp_sock *c, enum tcp_state st)
{
	struct tcp_stack *t = c->t;
	if (tcp_counts_estab(c->state) && !tcp_counts_estab(st))
		t->nestab--;
	if (!tcp_counts_estab(c->state) && tcp_counts_estab(st))
		t->nestab++;
	if (c->state == TCP_TIME_WAIT && st != TCP_TIME_WAIT)
		tcp_tw_unlink(t, c);
	if (c->orphan && (st == TCP_CLOSED || st == TCP_TIME_WAIT)) {
		c->orphan = false;
		t->norphans--;
	}
	if (st == TCP_CLOSED || st == TCP_TIME_WAIT)
		tcp_sndbuf_release(c);  /* nothing more will be queued */
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

void tcp_events_unlink(struct tcp_stack *t, struct tcp_sock *c)
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

void tcp_reap_later(struct tcp_sock *c)
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
			tcp_reap_later(c);          /* e.g. a TCB that never left CLOSED */
		return;
	}
	tcp_set_state(c, TCP_CLOSED);
	tcp_rbuf_owe(c, false);
	if (c->counted) {
		c->counted = false;     /* the limit counts live TCBs */
		t->nconns--;
	}
	tcp_hash_remove(t, c);
	c->t_rtx = c->t_delack = c->t_keep = c->t_conn = c->t_pace = 0;
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
		tcp_reap_later(c);
}

void tcp_enter_time_wait(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	tcp_set_state(c, TCP_TIME_WAIT);
	tcp_rbuf_owe(c, false);
	c->t_rtx = c->t_delack = c->t_keep = 0;
	c->persist = false;
	/* Not tcp_arm: TIME-WAIT expires from the FIFO's head (tcp_poll), not the scan. */
	c->t_conn = t->now + (uint64_t)t->cfg.time_wait_ms * TCP_NS_PER_MS;
	tcp_sq_flush(c, 0);
	tcp_tw_push(t, c);
	if (!c->app_owned && c->rbuf) {
		tcp_free(t, c->rbuf, c->rbuf_size);
		c->rbuf = NULL;
	}
	if (t->ntw > t->cfg.max_time_wait) {
		tcp_mib(t, TCP_MIB_TCPTimeWaitOverflow);
		tcp_done(t->tw_head, 0);
	}
}

/* The receive buffer is taken when the first byte arrives (tcp_in.c step 7), not at
 * the handshake: a connection that never sends costs its TCB only, as in Linux, which
 * charges socket memory per buffered segment. Under memory pressure a buffer the
 * application has emptied goes back (tcp_rbuf_trim) and comes again with the next data.
 * The window was announced for rbuf_size bytes, so the size never changes. */
int tcp_rbuf_get(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	if (c->rbuf)
		return 0;
	if (c->orphan)
		return -NET_ENOMEM;     /* an orphan never reads: it gets no buffer */
	c->rbuf = tcp_alloc(t, c->rbuf_size);
	if (!c->rbuf && tcp_shed_orphan(t))
		c->rbuf = tcp_alloc(t, c->rbuf_size);
	if (!c->rbuf)
		return -NET_ENOMEM;
	tcp_rbuf_owe(c, false);
	return 0;
}

void tcp_rbuf_trim(struct tcp_sock *c)
{
	if (c->rbuf && c->t->mem_pressure && c->rcv_user == c->rcv_nxt && c->nooo == 0) {
		tcp_free(c->t, c->rbuf, c->rbuf_size);
		c->rbuf = NULL;
		tcp_rbuf_owe(c, true);
	}
}

/* A window announced without its buffer still counts when new connections are sized
 * (tcp_conn_setup): otherwise a wave of connections silent until all are open never
 * raises pressure, each then claims a full cfg.rcvbuf for its first byte, and the
 * budget is gone after a few of them. Counted from ESTABLISHED (when the buffer used
 * to be taken) until the buffer is taken, or the connection can get no more data. */
void tcp_rbuf_owe(struct tcp_sock *c, bool owe)
{
	if (c->rbuf_owed == owe)
		return;
	c->rbuf_owed = owe;
	if (owe) {
		c->t->rbuf_owed += c->rbuf_size;
	} else {
		NET_ASSERT(c->t->rbuf_owed >= c->rbuf_size);
		c->t->rbuf_owed -= c->rbuf_size;
	}
}

void tcp_established(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	tcp_set_state(c, TCP_ESTABLISHED);
	tcp_rbuf_owe(c, !c->rbuf && !c->orphan);
	c->rcv_user = c->rcv_nxt;
	c->cwnd = TCP_INIT_CWND * c->mss;
	if (c->syn_rtx && c->srtt_us == 0 && c->rto_us < TCP_SYN_RTO_AFTER_LOSS_MS * 1000)
		c->rto_us = TCP_SYN_RTO_AFTER_LOSS_MS * 1000;     /* RFC 6298 §5.7 */
	c->rtx_shift = 0;
	c->rtx_count = 0;
	c->last_rcv_ns = c->last_ack_ns = t->now;
	c->idle_since_ns = t->now;
	tcp_keepalive_reset(c);
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

