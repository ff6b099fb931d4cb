/*
 * Packet pool (pkt.h): a LIFO free list threaded through the slots' own headers, so a
 * pool is just the caller's memory. A LIFO reuses cache-warm slots first (ixy memory.c).
 * Freeing a packet twice or into no pool is a stack bug and panics; running out of
 * packets is load and is only counted.
 */
#include "net/pkt.h"
#include "net/platform.h"
#include "lib/string.h"

_Static_assert(PKT_SLOT_SIZE % 64 == 0, "slots stay cache-line aligned");

void pkt_pool_init(struct pkt_pool *pool, void *mem, uint64_t phys, uint32_t nslots)
{
	pkt_pool_init_sized(pool, mem, phys, nslots, PKT_BUF_SIZE);
}

void pkt_pool_init_sized(struct pkt_pool *pool, void *mem, uint64_t phys, uint32_t nslots,
			 uint32_t buf_size)
{
	NET_ASSERT(buf_size >= PKT_BUF_SIZE);
	size_t slot = buf_size == PKT_BUF_SIZE ? PKT_SLOT_SIZE : pkt_slot_size(buf_size);
	memset(pool, 0, sizeof(*pool));
	pool->base = mem;
	pool->phys_base = phys;
	pool->nslots = nslots;
	pool->slot_size = (uint32_t)slot;
	pool->buf_size = buf_size;
	pool->stats.slots = nslots;
	/* Push in reverse so the first allocation gets slot 0. */
	for (uint32_t i = nslots; i-- > 0;) {
		struct pkt *p = (struct pkt *)(pool->base + (size_t)i * slot);
		memset(p, 0, sizeof(*p));
		p->pool = pool;
		p->phys = phys + (uint64_t)i * slot;
		p->flags = PKT_F_FREE;
		p->next = pool->free_list;
		pool->free_list = p;
	}
	pool->stats.free = nslots;
}

/* The broken invariants pkt_alloc and pkt_free test inline: a stack bug, so panic. */
void pkt_bad(const struct pkt *p, const char *what)
{
	panic_at(__FILE__, __LINE__, "%s: %p", what, (const void *)p);
}

void pktq_push(struct pkt_queue *q, struct pkt *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->len++;
	q->bytes += p->len;
}

void pktq_push_front(struct pkt_queue *q, struct pkt *p)
{
	p->next = q->head;
	q->head = p;
	if (!q->tail)
		q->tail = p;
	q->len++;
	q->bytes += p->len;
}

struct pkt *pktq_pop(struct pkt_queue *q)
{
	struct pkt *p = q->head;
	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	p->next = NULL;
	q->len--;
	q->bytes -= p->len;
	return p;
}

void pktq_purge(struct pkt_queue *q)
{
	struct pkt *p;
	while ((p = pktq_pop(q)))
		pkt_free(p);
}

int pkt_linearize(struct pkt *p)
{
	if (!p->ext_len)
		return 0;
	uint32_t lin = pkt_linear_len(p);
	size_t room = (size_t)PKT_HDR_SIZE + PKT_HEADROOM + p->pool->buf_size - p->off - lin;
	if (p->ext_len > room)
		return -1;
	memcpy(pkt_data(p) + lin, p->ext, p->ext_len);
	p->ext_len = 0;
	p->ext = NULL;
	return 0;
}
