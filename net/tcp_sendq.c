/*
 * The TCP send queue: chunks of copied bytes (tcp_send) or application references
 * (tcp_send_ref) in sequence order from sq_seq to snd_buf_end. Acknowledged bytes are
 * released chunk by chunk; reference completions run at delivery time (tcp_leave),
 * never inside segment processing.
 *
 * Pins: a super-segment may carry a copy chunk's bytes by reference (tcp_out.c
 * sq_frags) until its packet is freed (TX completion, a drop, software GSO done, a
 * linearize), which may come after the bytes are acknowledged (drivers reclaim
 * lazily) or after the connection is gone. Such a chunk leaves the queue at its ACK
 * (sq_copied, the connection's budget, drops then) but stays allocated (mem_used) and
 * is never the spare until the last pin goes; whichever of ACK/flush and last unpin
 * comes second frees it, through the stack the chunk records.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

/* Out of line: the common chunk has no pins. The last unpin frees it. */
static __attribute__((noinline)) void chunk_orphan(struct tcp_chunk *k)
{
	k->acked = true;
	k->t->sg_held_bytes += k->cap;
}

static inline __attribute__((always_inline)) void chunk_finish(struct tcp_sock *c,
								   struct tcp_chunk *k, int err)
{
	struct tcp_stack *t = c->t;
	if (k->cap) {
		c->sq_copied -= k->len;
		if (__builtin_expect(k->pins != 0, 0)) {
			chunk_orphan(k);        /* a frame in flight still reads it */
			return;
		}
		/* One smallest chunk kept for the next tcp_send (still in mem_used): at most
		 * TCP_CHUNK_MIN held per connection, none under pressure or once closing. */
		if (!c->sq_spare && k->cap == TCP_CHUNK_MIN && !t->mem_pressure && !c->fin_queued &&
		    c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT) {
			c->sq_spare = k;
			return;
		}
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

static void chunk_unpin(struct pkt_frag_owner *o);

void tcp_sq_pin(struct tcp_sock *c, struct tcp_chunk *k)
{
	NET_ASSERT(k->cap && !k->acked);
	k->own.unpin = chunk_unpin;
	k->t = c->t;
	k->pins++;
	c->t->sg_pins++;
}

/* pkt_frag_owner.unpin: a packet holding part of k was freed (any context, TCP's
 * or a driver's; touches only k and the stack's allocator). */
static void chunk_unpin(struct pkt_frag_owner *o)
{
	struct tcp_chunk *k = (struct tcp_chunk *)(void *)((uint8_t *)o - offsetof(struct tcp_chunk, own));
	struct tcp_stack *t = k->t;
	NET_ASSERT(k->pins && t->sg_pins);
	k->pins--;
	t->sg_pins--;
	if (k->pins || !k->acked)
		return;
	size_t n = sizeof(*k) + k->cap;
	t->sg_held_bytes -= k->cap;
	/* Not tcp_free: this may run after tcp_shutdown_stack drained the object caches
	 * for good (drivers give their last frames back later), where a cached chunk
	 * would leak. Freeing only lowers mem_used, so pressure can only end here. */
	NET_ASSERT(t->mem_used >= n);
	t->mem_used -= n;
	t->env.mem_free(t->env.ctx, k);
	if (t->mem_pressure)
		t->mem_pressure = t->mem_used * 100 > t->cfg.mem_max * TCP_MEM_PRESSURE_PCT;
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
	tcp_sq_spare_free(c);
}

void tcp_sq_spare_free(struct tcp_sock *c)
{
	if (c->sq_spare) {
		tcp_free(c->t, c->sq_spare, sizeof(*c->sq_spare) + c->sq_spare->cap);
		c->sq_spare = NULL;
	}
}

/* Super-segments that point into the queue (tcp_out.c sq_frags) take at most
 * PKT_MAX_FRAGS chunks, so a streaming writer's pieces (the HTTP server's 4 KiB
 * generated ones) share chunks as large as the send buffer allows: a 64 KiB
 * super-segment then spans five 16 KiB chunks, not sixteen 4 KiB ones. Small writes
 * (at most TCP_CHUNK_MIN: requests, 1 KiB responses) keep the spare and never get
 * here. Out of line: most chunks are those.
 * Streaming only: behind data already queued (send_fill asks for a chunk once the tail
 * is full). A lone write gets the size it asked for: growing it charged a 3,000-byte
 * response 16 KiB of mem_used, and near mem_max refused a write that fitted
 * (docs/review-round7b.md #1). Neither under pressure nor past mem_max. */
static __attribute__((noinline)) uint32_t chunk_cap_stream(const struct tcp_sock *c, uint32_t cap)
{
	const struct tcp_stack *t = c->t;
	if (cap >= TCP_CHUNK_MAX || !c->tx_sg || !c->gso_max || !c->sq_tail || t->mem_pressure)
		return cap;
	uint32_t room = tcp_sndbuf_free(c);
	if (room <= cap)
		return cap;
	uint32_t grown = room < TCP_CHUNK_MAX ? room : TCP_CHUNK_MAX;
	if (t->mem_used + sizeof(struct tcp_chunk) + grown > t->cfg.mem_max)
		return cap;
	return grown;
}

/* An empty copy chunk of at least cap bytes: the connection's spare (the last
 * acknowledged chunk, so request/response traffic does not allocate per send), else
 * a new one; NULL at the memory limit. */
struct tcp_chunk *tcp_sq_chunk_new(struct tcp_sock *c, uint32_t cap)
{
	if (__builtin_expect(cap > TCP_CHUNK_MIN, 0))
		cap = chunk_cap_stream(c, cap);
	struct tcp_chunk *k = c->sq_spare;
	if (k && k->cap >= cap) {
		c->sq_spare = NULL;
		cap = k->cap;
	} else {
		k = tcp_alloc(c->t, sizeof(*k) + cap);
		if (!k)
			return NULL;
	}
	memset(k, 0, offsetof(struct tcp_chunk, own));
	k->cap = cap;
	k->data = (const uint8_t *)(k + 1);
	return k;
}

void tcp_sq_run_done(struct tcp_sock *c)
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

/* Queues a chunk behind the others; its bytes extend snd_buf_end. */
void tcp_sq_append(struct tcp_sock *c, struct tcp_chunk *k)
{
	k->next = NULL;
	if (c->sq_tail)
		c->sq_tail->next = k;
	else
		c->sq_head = k;
	c->sq_tail = k;
	c->snd_buf_end += k->len;
}
