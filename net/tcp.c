/*
 * The TCP user calls of RFC 9293 §3.10.1-3.10.6 (OPEN, SEND, RECEIVE, CLOSE, ABORT,
 * STATUS) and the socket options. The stack instance is in tcp_stack.c, the tables in
 * tcp_table.c, events in tcp_event.c, the send queue in tcp_sendq.c.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

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
	struct tcp_sock *l = tcp_listener_new(t);
	if (!l)
		return -NET_ENOMEM;
	l->laddr = addr;
	l->lport = port;
	l->backlog = backlog && backlog < t->cfg.accept_backlog ? backlog : t->cfg.accept_backlog;
	if (l->backlog == 0)
		l->backlog = 1;
	l->cb = cb;
	l->user = user;
	l->app_owned = true;
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

uint32_t tcp_accept_pending(const struct tcp_sock *l)
{
	return l->state == TCP_LISTEN ? l->acc_len : 0;
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

/* The copy budget of one connection: cfg.sndbuf, or TCP_SNDBUF_MIN under memory
 * pressure (Linux tcp_wmem[0]), so peers that never read cannot fill the budget. */
uint32_t tcp_sndbuf(const struct tcp_sock *c)
{
	uint32_t sb = c->sndbuf ? c->sndbuf : c->t->cfg.sndbuf;
	return c->t->mem_pressure && sb > TCP_SNDBUF_MIN ? TCP_SNDBUF_MIN : sb;
}

/*
 * Send-buffer autotuning (Linux tcp_sndbuf_expand): called on an ACK while the
 * application waits for room. If the congestion window has room the buffer, not the
 * network, is what limits the flow (64 KiB in flight is 330 MB/s at 200 us), so it
 * grows towards twice the window: one window in flight, one queued behind it.
 * Growth is granted from a stack-wide allowance: TCP's memory plus every growth granted
 * so far (used or not) stays under half the pressure mark. Linux checks only the memory
 * in use, so a few senders that grow together, or stall once grown, can push it into
 * pressure and shrink every newcomer's buffers; here autotuning alone never can.
 * The growth goes back once the FIN is queued or the connection ends
 * (tcp_sndbuf_release).
 */
void tcp_sndbuf_expand(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	if (t->mem_pressure || c->fin_queued || c->sndbuf >= t->cfg.sndbuf_max ||
	    tcp_flight(c) >= c->cwnd)
		return;
	uint64_t want = 2ull * c->cwnd;
	if (want > t->cfg.sndbuf_max)
		want = t->cfg.sndbuf_max;
	if (want <= c->sndbuf)
		return;
	uint64_t cap = t->cfg.mem_max * TCP_MEM_PRESSURE_PCT / 200;
	uint64_t held = t->mem_used + t->sndbuf_grown;
	if (held >= cap)
		return;
	uint64_t grow = want - c->sndbuf;
	if (grow > cap - held)
		grow = cap - held;
	if (grow < c->mss)
		return;                 /* not worth a wake-up */
	c->sndbuf += (uint32_t)grow;
	c->sndbuf_grown += (uint32_t)grow;
	t->sndbuf_grown += grow;
	tcp_mib(t, TCP_MIB_SndbufExpand);
}

void tcp_sndbuf_release(struct tcp_sock *c)
{
	c->t->sndbuf_grown -= c->sndbuf_grown;
	c->sndbuf -= c->sndbuf_grown;
	c->sndbuf_grown = 0;
}

uint32_t tcp_sndbuf_free(const struct tcp_sock *c)
{
	uint32_t sb = tcp_sndbuf(c);
	return c->sq_copied >= sb ? 0 : sb - c->sq_copied;
}

/* After the application queued data. Corked, it waits for the uncork: an application
 * writing a response in pieces then leaves one batch for TCP to cut into full-sized
 * (super-)segments instead of a frame per piece. ACKs still clock out what is queued. */
static void output_if_open(struct tcp_sock *c)
{
	if (c->state >= TCP_ESTABLISHED && !c->cork)
		tcp_output(c);
}

/* Up to len bytes into copy chunks, written by fill; inline so tcp_send's memcpy
 * callback becomes a direct copy. */
static inline long send_fill(struct tcp_sock *c, size_t len, tcp_fill_fn fill, void *arg)
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
	while (done < n) {
		struct tcp_chunk *k = c->sq_tail;
		if (k && k->cap && k->len < k->cap) {
			uint32_t room = k->cap - k->len;
			uint32_t m = (uint32_t)(n - done < room ? n - done : room);
			fill(arg, (uint8_t *)(k + 1) + k->len, m);
			k->len += m;
			c->snd_buf_end += m;
			c->sq_copied += m;
			done += m;
			continue;
		}
		uint32_t want = (uint32_t)(n - done);
		uint32_t cap = want < TCP_CHUNK_MIN ? TCP_CHUNK_MIN : want > TCP_CHUNK_MAX ? TCP_CHUNK_MAX : want;
		k = tcp_sq_chunk_new(c, cap);
		if (!k)
			break;
		tcp_sq_append(c, k);        /* len 0: snd_buf_end unchanged */
	}
	if (done < len)
		c->want_send = true;
	output_if_open(c);
	tcp_leave(t, false);
	return done ? (long)done : -NET_ENOMEM;
}

static void fill_copy(void *arg, uint8_t *dst, size_t n)
{
	const uint8_t **src = arg;
	memcpy(dst, *src, n);
	*src += n;
}

long tcp_send(struct tcp_sock *c, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	return send_fill(c, len, fill_copy, &src);
}

long tcp_send_fill(struct tcp_sock *c, size_t len, tcp_fill_fn fill, void *arg)
{
	return send_fill(c, len, fill, arg);
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
	tcp_sq_append(c, k);
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
	if (n > first)
		memcpy((uint8_t *)buf + first, c->rbuf, n - first);     /* wrapped */
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
	if (t->mem_pressure)
		tcp_rbuf_trim(c);       /* only under pressure */
	tcp_leave(t, false);
}

/* No more data after the FIN: growth of the send buffer goes back to the allowance
 * now (the queued bytes stay counted in mem_used until acknowledged), not when the
 * peer's FIN finally comes. */
static void queue_fin(struct tcp_sock *c)
{
	c->fin_queued = true;
	tcp_sndbuf_release(c);
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
		queue_fin(c);           /* sent once established */
		return 0;
	case TCP_ESTABLISHED:
		queue_fin(c);
		tcp_set_state(c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		queue_fin(c);
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
	if (tcp_counts_estab(c->state))
		tcp_mib(c->t, TCP_MIB_EstabResets);
	tcp_done(c, err);
}

/* Closing c would make one orphan too many (Linux tcp_too_many_orphans): reset it
 * instead, before any FIN goes out. */
static bool too_many_orphans(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	bool live = c->state != TCP_CLOSED && c->state != TCP_LISTEN && c->state != TCP_SYN_SENT &&
		    c->state != TCP_TIME_WAIT;
	if (!live || c->orphan || t->norphans < t->cfg.max_orphans)
		return false;
	tcp_mib(t, TCP_MIB_TCPAbortOnMemory);
	abort_conn(c, -NET_ECONNABORTED);
	return true;
}

/* The application let go of a connection that is still closing: an orphan (Linux
 * tcp_close). It keeps only what it still has to send: the receive buffer goes, new
 * data from the peer is answered with a RST (TCPAbortOnData), and its retransmission
 * series is the shorter orphan one. */
static void orphan(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	if (c->orphan)
		return;
	c->orphan = true;
	t->norphans++;
	tcp_rbuf_owe(c, false);
	if (c->rbuf) {
		tcp_free(t, c->rbuf, c->rbuf_size);
		c->rbuf = NULL;
	}
}

int tcp_close(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	tcp_enter(t);
	tcp_now(t);
	c->app_owned = false;
	c->cb = NULL;
	if (too_many_orphans(c)) {
		tcp_leave(t, false);
		return 0;
	}
	switch (c->state) {
	case TCP_LISTEN:
		tcp_listener_close(c);
		tcp_set_state(c, TCP_CLOSED);
		tcp_reap_later(c);
		break;
	case TCP_CLOSED:
		tcp_reap_later(c);
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
		queue_fin(c);
		if (c->state == TCP_ESTABLISHED)
			tcp_set_state(c, TCP_FIN_WAIT_1);
		else if (c->state == TCP_CLOSE_WAIT)
			tcp_set_state(c, TCP_LAST_ACK);
		tcp_output(c);
		break;
	case TCP_FIN_WAIT_2:
		tcp_arm(c, &c->t_conn, t->now + (uint64_t)t->cfg.fin_wait2_ms * TCP_NS_PER_MS);
		break;
	default:
		break;                  /* FIN-WAIT-1, CLOSING, LAST-ACK, TIME-WAIT: carry on */
	}
	if (c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT && c->state != TCP_LISTEN)
		orphan(c);
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
		tcp_reap_later(c);
	} else if (c->state == TCP_CLOSED) {
		tcp_reap_later(c);
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
	case TCP_OPT_CORK:
		c->cork = val != 0;
		if (!c->cork && c->state >= TCP_ESTABLISHED) {
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

