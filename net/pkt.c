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

void pkt_free_slow(struct pkt *p)
{
	if (p->flags & PKT_F_FREE)
		pkt_bad(p, "pkt_free: double free");
	pkt_frags_release(p);
}

void pkt_frags_release(struct pkt *p)
{
	unsigned n = p->nfrags;
	/* Cleared first: an unpin that frees memory never sees p still pointing at it. */
	p->nfrags = 0;
	p->ext_len = 0;
	p->flags &= (uint16_t)~PKT_F_FRAGS;
	for (unsigned i = 0; i < n; i++) {
		struct pkt_frag_owner *o = pkt_frag_owner(p, i);
		if (o)
			o->unpin(o);
	}
}

int pkt_frag_add(struct pkt *p, const uint8_t *ptr, uint32_t n, struct pkt_frag_owner *own)
{
	uintptr_t back = own ? (uintptr_t)ptr - (uintptr_t)own : 0;
	if (p->nfrags >= PKT_MAX_FRAGS || n == 0 || n > UINT16_MAX ||
	    p->ext_len + n > UINT16_MAX || back > UINT16_MAX || (own && !back))
		return -1;
	unsigned i = p->nfrags++;
	p->flags |= PKT_F_FRAGS;
	p->frag[i] = ptr;
	p->frag_len[i] = (uint16_t)n;
	p->frag_own[i] = (uint16_t)back;
	p->ext_len = (uint16_t)(p->ext_len + n);
	p->len += n;
	return 0;
}

void pkt_copy_out(const struct pkt *p, uint32_t off, uint8_t *dst, uint32_t n)
{
	uint32_t lin = pkt_linear_len(p);
	NET_ASSERT(off <= p->len && n <= p->len - off);
	if (off < lin) {
		uint32_t m = lin - off < n ? lin - off : n;
		memcpy(dst, (const uint8_t *)p + p->off + off, m);
		dst += m;
		n -= m;
		off = lin;
	}
	off -= lin;
	for (unsigned i = 0; n; i++) {
		NET_ASSERT(i < p->nfrags);
		if (off >= p->frag_len[i]) {
			off -= p->frag_len[i];
			continue;
		}
		uint32_t m = p->frag_len[i] - off < n ? p->frag_len[i] - off : n;
		memcpy(dst, p->frag[i] + off, m);
		dst += m;
		n -= m;
		off = 0;
	}
}

int pkt_linearize(struct pkt *p)
{
	if (!p->ext_len)
		return 0;
	uint32_t lin = pkt_linear_len(p);
	size_t room = (size_t)PKT_HDR_SIZE + PKT_HEADROOM + p->pool->buf_size - p->off - lin;
	if (p->ext_len > room)
		return -1;
	pkt_copy_out(p, lin, pkt_data(p) + lin, p->ext_len);
	pkt_frags_release(p);   /* the bytes are ours now (len unchanged): the owners may go */
	return 0;
}
