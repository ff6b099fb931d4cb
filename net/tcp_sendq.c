/*
 * The TCP send queue: chunks of copied bytes (tcp_send) or application references
 * (tcp_send_ref) in sequence order from sq_seq to snd_buf_end. Acknowledged bytes are
 * released chunk by chunk; reference completions run at delivery time (tcp_leave),
 * never inside segment processing.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

static void chunk_finish(struct tcp_sock *c, struct tcp_chunk *k, int err)
{
	struct tcp_stack *t = c->t;
	if (k->cap) {
		c->sq_copied -= k->len;
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

/* An empty copy chunk of at least cap bytes: the connection's spare (the last
 * acknowledged chunk, so request/response traffic does not allocate per send), else
 * a new one; NULL at the memory limit. */
struct tcp_chunk *tcp_sq_chunk_new(struct tcp_sock *c, uint32_t cap)
{
	struct tcp_chunk *k = c->sq_spare;
	if (k && k->cap >= cap) {
		c->sq_spare = NULL;
		cap = k->cap;
	} else {
		k = tcp_alloc(c->t, sizeof(*k) + cap);
		if (!k)
			return NULL;
	}
	memset(k, 0, sizeof(*k));
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
