/*
 * HTTP over TCP (see http_app.h for the call order). Callbacks arrive from inside
 * tcp_input()/tcp_poll(); tcp.h allows any socket call from there, including closing
 * the socket the callback is for.
 */
#include "net/http_app.h"
#include "lib/string.h"

#define POLL_INTERVAL_NS (50ull * 1000000ull)
#define DISCARD_CHUNK 65536

static void conn_event(void *user, struct tcp_sock *s, unsigned ev);

size_t http_app_mem_size(const struct http_config *cfg)
{
	return (size_t)cfg->max_conns * sizeof(struct http_app_conn);
}

static uint64_t now_of(const struct http_app *a)
{
	return a->tcp->now;
}

/* The slot is free again; the socket handle must already be closed or aborted. */
static void slot_release(struct http_app_conn *c)
{
	http_conn_fini(&c->http);
	c->sock = NULL;
	c->linger_until = 0;
	c->app->nopen--;
}

/* No more callbacks for this handle (its slot may be reused at once), then close. */
static void sock_close(struct http_app_conn *c, int abort)
{
	tcp_set_callback(c->sock, NULL, NULL);
	if (abort)
		tcp_abort(c->sock);
	else
		tcp_close(c->sock);
}

/* True if p points into the connection's own buffers (valid only until the next call),
 * false for file data, which lives as long as the site and may be sent by reference. */
static int is_transient(const struct http_app_conn *c, const uint8_t *p)
{
	const uint8_t *lo = (const uint8_t *)&c->http, *hi = lo + sizeof(c->http);
	return p >= lo && p < hi;
}

static void gen_fill(void *arg, uint8_t *dst, size_t n)
{
	http_conn_gen(arg, dst, n);
}

/* Sends as much queued output as TCP takes now: generated bodies are written straight
 * into TCP's send buffer, file data goes by reference, the rest is copied. */
static void pump_extents(struct http_app *a, struct http_app_conn *c)
{
	const uint8_t *p;
	size_t n;
	for (;;) {
		size_t g = http_conn_gen_pending(&c->http);
		if (g) {
			long k = tcp_send_fill(c->sock, g, gen_fill, &c->http);
			if (k <= 0)
				return;
			a->stats.send_fills++;
			if ((size_t)k < g)
				return;
			continue;
		}
		if (!http_conn_peek(&c->http, &p, &n))
			return;
		if (!is_transient(c, p)) {
			/* File data is immutable and outlives every connection: no
			 * completion, which also lets a scatter-gather device read it
			 * in place (tcp_out.c sq_frags). */
			if (tcp_send_ref(c->sock, p, n, NULL, NULL) != 0)
				return;
			a->stats.send_refs++;
			http_conn_advance(&c->http, n);
			continue;
		}
		long k = tcp_send(c->sock, p, n);
		if (k <= 0)
			return;
		a->stats.send_copies++;
		http_conn_advance(&c->http, (size_t)k);
		if ((size_t)k < n)
			return;
	}
}

/* Corked around the pieces (a head, 4 KiB generated chunks, file extents), so TCP sends
 * them as full-sized super-segments, not a frame per piece. */
static void pump_out(struct http_app *a, struct http_app_conn *c)
{
	tcp_setopt(c->sock, TCP_OPT_CORK, 1);
	pump_extents(a, c);
	tcp_setopt(c->sock, TCP_OPT_CORK, 0);
}

/* Feeds received bytes to HTTP; returns 1 when the peer has finished sending. */
static int pump_in(struct http_app_conn *c, uint64_t now)
{
	const uint8_t *data;
	size_t n;
	while ((n = tcp_recv_peek(c->sock, &data)) > 0) {
		size_t used = http_conn_input(&c->http, data, n, now);
		tcp_recv_consume(c->sock, used);
		if (used < n)
			return 0;       /* HTTP is full: the window closes until output drains */
	}
	return (tcp_ready(c->sock) & TCP_EV_RECV) && tcp_error(c->sock) == 0;
}

/* Linger: our FIN is out; swallow whatever the peer still sends until its FIN. */
static void linger(struct http_app *a, struct http_app_conn *c, uint64_t now)
{
	uint8_t sink[512];
	long k;
	int guard = DISCARD_CHUNK / (int)sizeof(sink);
	while (guard-- > 0 && (k = tcp_recv(c->sock, sink, sizeof(sink))) > 0)
		;
	int eof = tcp_recv_peek(c->sock, &(const uint8_t *){ NULL }) == 0 &&
		  (tcp_ready(c->sock) & TCP_EV_RECV);
	if (eof || now >= c->linger_until) {
		if (!eof)
			a->stats.linger_timeouts++;
		sock_close(c, 0);
		slot_release(c);
	}
}

static void start_close(struct http_app *a, struct http_app_conn *c, uint64_t now)
{
	http_conn_fini(&c->http);
	tcp_shutdown(c->sock, TCP_SHUT_WR);
	c->linger_until = now + HTTP_APP_LINGER_NS;
	a->stats.lingers++;
	linger(a, c, now);
}

static void service(struct http_app *a, struct http_app_conn *c)
{
	uint64_t now = now_of(a);
	if (tcp_error(c->sock)) {
		a->stats.resets++;
		sock_close(c, 1);
		slot_release(c);
		return;
	}
	if (c->linger_until) {
		linger(a, c, now);
		return;
	}
	if (pump_in(c, now))
		http_conn_eof(&c->http);
	pump_out(a, c);
	if (http_conn_poll(&c->http, now) == HTTP_POLL_CLOSE)
		start_close(a, c, now);
}

static void conn_event(void *user, struct tcp_sock *s, unsigned ev)
{
	struct http_app_conn *c = user;
	(void)s;
	(void)ev;
	if (c->sock)
		service(c->app, c);
}

static struct http_app_conn *free_slot(struct http_app *a)
{
	for (uint32_t i = 0; i < a->nslots; i++)
		if (!a->conns[i].sock)
			return &a->conns[i];
	return NULL;
}

static void reject(struct http_app *a, struct tcp_sock *s)
{
	char buf[256];
	size_t n = http_server_reject(&a->srv, buf, sizeof(buf));
	tcp_send(s, buf, n);            /* fits any send buffer; copied */
	tcp_close(s);
	a->stats.rejected_503++;
}

#define PROBATION_RTTS 3
#define PROBATION_MAX_NS 1000000000ull
#define SILENT_RTTS 2
#define SILENT_MIN_NS 2000000ull

/* What a connection gets before it may be shed, from its handshake round-trip time
 * (capped at a second, so a peer that delays its handshake ACK on purpose buys little):
 *  - one that has sent something: cfg.shed_after_ns or three RTTs, the longer (its
 *    request completes, its answer goes out and is acknowledged);
 *  - one that has sent nothing: two RTTs, at least 2 ms. A client sends its request
 *    right behind its handshake ACK; a connection still silent after that is idle. */
static uint64_t grace(const struct http_app_conn *c)
{
	uint64_t rtt = c->rtt_ns < PROBATION_MAX_NS ? c->rtt_ns : PROBATION_MAX_NS;
	if (http_conn_silent(&c->http)) {
		uint64_t g = rtt * SILENT_RTTS;
		if (g > PROBATION_MAX_NS)
			g = PROBATION_MAX_NS;   /* the cap is on the grace, not the RTT */
		return g > SILENT_MIN_NS ? g : SILENT_MIN_NS;
	}
	uint64_t g = rtt * PROBATION_RTTS, floor = c->app->srv.cfg.shed_after_ns;
	if (g > PROBATION_MAX_NS)
		g = PROBATION_MAX_NS;
	return g > floor ? g : floor;
}

/* Since when a slot has made no progress: a lingering connection since its linger
 * began (its answer and our FIN are out), any other as http_conn_stalled_since(). */
static bool slot_stalled_since(const struct http_app_conn *c, uint64_t *since)
{
	if (c->linger_until) {
		*since = c->linger_until - HTTP_APP_LINGER_NS;
		return true;
	}
	return http_conn_stalled_since(&c->http, since);
}

/* No free slot: the connection stalled longest (idle, a head trickling in, a peer
 * that does not read, or one lingering without its FIN) makes room: reset, counted;
 * a lingering one is closed instead (TCP finishes it as an orphan), so the answer it
 * already has is not destroyed by a RST. A new client is the youngest, so a
 * flood of idle, slow or non-reading clients cannot lock it out until their timeouts.
 * A connection is a candidate only past its grace (grace()): otherwise a burst of
 * handshakes released together (a wave of retransmitted SYNs) would shed the client
 * accepted just before it, whose request is still on its way or whose answer is not yet
 * delivered. With no candidate, NULL; a->accept_retry_ns says when one will be. */
static struct http_app_conn *shed_slot(struct http_app *a)
{
	uint64_t now = now_of(a), best = 0, next = now + POLL_INTERVAL_NS;
	struct http_app_conn *v = NULL;
	for (uint32_t i = 0; i < a->nslots; i++) {
		struct http_app_conn *c = &a->conns[i];
		uint64_t since;
		if (!c->sock || !slot_stalled_since(c, &since) || since > now)
			continue;
		uint64_t g = grace(c);
		if (now - since < g) {
			/* since <= now < since + g: g - (now - since) cannot wrap, since + g can
			 * (a configured shed_after_ns near UINT64_MAX) */
			if (g - (now - since) < next - now)
				next = now + (g - (now - since));
			continue;
		}
		if (!v || since < best) {
			v = c;
			best = since;
		}
	}
	a->accept_retry_ns = next;
	if (!v)
		return NULL;
	a->stats.shed++;
	a->srv.stats.conns_shed++;
	sock_close(v, v->linger_until == 0);
	slot_release(v);
	return v;
}

/* Handlers (the /debug/ pages) see who asks; shedding needs the round-trip time. */
static void set_endpoints(struct http_app_conn *c, const struct tcp_sock *s)
{
	struct http_conn *h = &c->http;
	struct tcp_conn_info ti;
	c->rtt_ns = 0;
	if (tcp_get_info(s, &ti) != 0)
		return;
	c->rtt_ns = (uint64_t)ti.rtt_us * 1000u;
	h->peer_addr = ti.raddr;
	h->peer_port = ti.rport;
	h->local_addr = ti.laddr;
	h->local_port = ti.lport;
}

/* A slot for the next connection in TCP's accept queue: free, or shed. With none, the
 * connection stays queued (the listen backlog is the waiting room, as for any server
 * that stops calling accept(); past it TCP drops handshakes, ListenOverflows) until a
 * slot frees or a probation ends (http_app_poll); with shedding off it gets 503. */
static struct http_app_conn *slot_for_newcomer(struct http_app *a)
{
	struct http_app_conn *c = free_slot(a);
	if (!c && a->srv.cfg.shed_after_ns != UINT64_MAX)
		c = shed_slot(a);
	return c;
}

static void accept_all(struct http_app *a)
{
	struct tcp_sock *s;
	a->accept_waiting = false;
	while (tcp_accept_pending(a->listener)) {
		struct http_app_conn *c = slot_for_newcomer(a);
		if (!c && a->srv.cfg.shed_after_ns != UINT64_MAX) {
			a->accept_waiting = true;
			return;
		}
		if (tcp_accept(a->listener, &s) != 0)
			return;
		if (!c) {
			reject(a, s);
			continue;
		}
		c->sock = s;
		c->linger_until = 0;
		a->nopen++;
		a->stats.accepted++;
		http_conn_init(&c->http, &a->srv, now_of(a));
		set_endpoints(c, s);
		tcp_setopt(s, TCP_OPT_NODELAY, 1);
		tcp_set_callback(s, conn_event, c);
		service(a, c);
	}
}

static void listener_event(void *user, struct tcp_sock *s, unsigned ev)
{
	(void)s;
	if (ev & TCP_EV_ACCEPT)
		accept_all(user);
}

int http_app_start(struct http_app *a, struct tcp_stack *tcp, const struct http_config *cfg,
		   const struct http_site *site, void *mem)
{
	memset(a, 0, sizeof(*a));
	a->tcp = tcp;
	http_server_init(&a->srv, cfg, site);
	a->conns = mem;
	/* The server may clamp max_conns; never use more slots than mem holds. */
	a->nslots = cfg->max_conns < a->srv.cfg.max_conns ? cfg->max_conns : a->srv.cfg.max_conns;
	memset(mem, 0, http_app_mem_size(cfg));
	for (uint32_t i = 0; i < a->nslots; i++)
		a->conns[i].app = a;
	return tcp_listen(tcp, 0, cfg->port, 0, listener_event, a, &a->listener);
}

void http_app_poll(struct http_app *a, uint64_t now_ns)
{
	if (a->accept_waiting && (a->nopen < a->nslots || now_ns >= a->accept_retry_ns))
		accept_all(a);
	if (now_ns - a->last_poll < POLL_INTERVAL_NS)
		return;
	a->last_poll = now_ns;
	for (uint32_t i = 0; i < a->nslots; i++)
		if (a->conns[i].sock)
			service(a, &a->conns[i]);
}
