/*
 * Packet buffers: one fixed slot per packet, no chains (xv6 mbuf, ixy pkt_buf).
 *
 *   slot: [ struct pkt (128 B) | headroom (128 B) | data area (PKT_BUF_SIZE) | pad ]
 *
 * A pool is a caller-provided array of slots in DMA-able memory (the kernel passes
 * dma_alloc() memory, host tests pass malloc() memory and a fake physical base), so
 * net/ allocates nothing itself. A device may write up to PKT_BUF_SIZE bytes at
 * pkt_dma_addr(p) of a fresh packet.
 *
 * Ownership: whoever holds a struct pkt * owns it. Every *_input() consumes its packet
 * on every path; every *_output() and netdev tx takes ownership and frees on failure.
 */
#ifndef SKIFF_NET_PKT_H
#define SKIFF_NET_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_SLOT_SIZE 2304
#define PKT_HDR_SIZE 128
#define PKT_HEADROOM 128
#define PKT_BUF_SIZE 2048

struct pkt_pool;

#define PKT_MAX_FRAGS 5

/* A buffer that packets may point into while in flight (pkt.h frag): the owner embeds
 * this in front of the bytes and frees itself in unpin() once nothing else holds it
 * (the owner counts its pins; net/ keeps no global state, so the owner finds its own
 * allocator). */
struct pkt_frag_owner {
	void (*unpin)(struct pkt_frag_owner *o);
};

struct pkt {
	struct pkt *next;       /* link for the free list and packet queues */
	struct pkt_pool *pool;
	uint64_t phys;          /* physical address of this slot */
	uint64_t ts_ns;         /* receive or enqueue time */
	uint32_t off;           /* data start, from the slot start */
	uint32_t len;           /* data length */
	uint16_t flags;
	uint16_t ifindex;       /* receiving device's netdev.ifindex (1-based, as Linux); 0: unknown */
	uint32_t mark;          /* free for the layer that holds the packet */
	/* Offloads (PKT_F_CSUM_PARTIAL, PKT_F_GSO_TCP4; netdev.h NETDEV_F_*): */
	uint32_t csum_start;    /* slot offset (like off) where the L4 checksum's sum starts */
	uint16_t csum_off;      /* the checksum field, from csum_start */
	uint16_t gso_size;      /* payload bytes per wire segment */
	uint32_t trace_id;      /* net/trace.h: nonzero while the tracer follows it */
	/* TX scatter-gather: the frame's last ext_len bytes (counted in len) are not in the
	 * slot but in nfrags external fragments, in order: frag[i] holds frag_len[i] bytes.
	 * A fragment is lasting memory (frag_own[i] == 0: a file in the image) or lies in
	 * an owner's buffer (a TCP copy chunk) that stays pinned while this packet holds
	 * it: frag_own[i] is then the distance back from frag[i] to its struct
	 * pkt_frag_owner, whose unpin() pkt_free/pkt_linearize call exactly once. Only a
	 * device with NETDEV_F_SG and software GSO (net/gso.c) read fragments where they
	 * lie; every other reader of the bytes calls pkt_linearize() first, and nothing
	 * appends to such a frame. Five fit in the header: a 64 KiB super-segment over
	 * 16 KiB chunks spans at most five (tcp_out.c sq_frags). */
	uint16_t ext_len;
	uint8_t nfrags;
	uint8_t pad_;
	const uint8_t *frag[PKT_MAX_FRAGS];
	uint16_t frag_len[PKT_MAX_FRAGS];
	uint16_t frag_own[PKT_MAX_FRAGS];
	uint8_t reserved[PKT_HDR_SIZE - 64 - PKT_MAX_FRAGS * 12];
};
_Static_assert(sizeof(struct pkt) == PKT_HDR_SIZE, "packet header is 128 bytes");
_Static_assert(offsetof(struct pkt, frag) == 64, "the fragment table fills the header's tail");
_Static_assert(PKT_HDR_SIZE + PKT_HEADROOM + PKT_BUF_SIZE <= PKT_SLOT_SIZE, "slot holds a full buffer");

#define PKT_F_CSUM_OK 0x0001    /* RX: a device verified the L4 checksum (never trusted by default) */
/* TX: the L4 checksum field holds only the pseudo-header sum; the sum over csum_start..end
 * is left to the device (NETDEV_F_TX_CSUM) or to link_output() in software, as Linux's
 * CHECKSUM_PARTIAL. */
#define PKT_F_CSUM_PARTIAL 0x0002
/* TX: a TCP/IPv4 frame larger than one wire segment, cut into gso_size-byte payloads by
 * the device (NETDEV_F_TSO4) or by link_output() in software (net/gso.c). */
#define PKT_F_GSO_TCP4 0x0004
#define PKT_F_TAPPED 0x0008    /* shown to the capture tap on transmit (qdisc.c) */
/* TX: nfrags != 0 (pkt_frag_add): pkt_free's one flags test also catches fragments. */
#define PKT_F_FRAGS 0x0010
/* RX: the head of a GRO chain (net/gro.h): p->next is the next piece (payload only), and
 * so on to NULL; only TCP's input reads it (gro_seg_free frees it whole). */
#define PKT_F_GRO_CHAIN 0x0100
#define PKT_F_FREE 0x8000       /* on the pool's free list: pkt_free() of it is a double free */

struct pkt_pool_stats {
	uint32_t slots, free;
	uint64_t allocs, frees, alloc_failures;
};

struct pkt_pool {
	uint8_t *base;
	uint64_t phys_base;
	uint32_t nslots;
	uint32_t slot_size;     /* bytes per slot: PKT_SLOT_SIZE, or larger (pkt_pool_init_sized) */
	uint32_t buf_size;      /* data area per slot: PKT_BUF_SIZE, or larger */
	struct pkt *free_list;
	struct pkt_pool_stats stats;
};

/* mem holds nslots * PKT_SLOT_SIZE bytes at physical address phys. */
void pkt_pool_init(struct pkt_pool *pool, void *mem, uint64_t phys, uint32_t nslots);
/* Slots with a data area of buf_size bytes (>= PKT_BUF_SIZE) instead: mem holds
 * nslots * pkt_slot_size(buf_size) bytes. For buffers no device sees (reassembled
 * datagrams). */
void pkt_pool_init_sized(struct pkt_pool *pool, void *mem, uint64_t phys, uint32_t nslots,
			 uint32_t buf_size);
/* A slot's size for a data area of buf_size bytes, rounded to 64. */
static inline size_t pkt_slot_size(uint32_t buf_size)
{
	return ((size_t)PKT_HDR_SIZE + PKT_HEADROOM + buf_size + 63) & ~(size_t)63;
}
/* Panics (a stack bug): p freed twice, freed into no pool, or a free slot not marked. */
void pkt_bad(const struct pkt *p, const char *what);

/* A packet with off = PKT_HDR_SIZE + PKT_HEADROOM and len 0; NULL when empty (counted).
 * Inline, as pkt_free: every packet passes both. */
static inline struct pkt *pkt_alloc(struct pkt_pool *pool)
{
	struct pkt *p = pool->free_list;
	if (!p) {
		pool->stats.alloc_failures++;
		return NULL;
	}
	if (!(p->flags & PKT_F_FREE))
		pkt_bad(p, "pkt_alloc: free list slot in use");
	pool->free_list = p->next;
	pool->stats.free--;
	pool->stats.allocs++;
	p->next = NULL;
	p->ts_ns = 0;
	p->off = PKT_HDR_SIZE + PKT_HEADROOM;
	p->len = 0;
	p->flags = 0;
	p->ifindex = 0;
	p->mark = 0;
	p->trace_id = 0;
	p->ext_len = 0;         /* with nfrags and pad_: one 4-byte store */
	p->nfrags = 0;
	p->pad_ = 0;
	return p;
}

/* Drops the fragments' pins (unpin once per owned fragment) and the fragments. */
void pkt_frags_release(struct pkt *p);
/* pkt_free's rare cases: a double free (panics) or fragments to release. */
void pkt_free_slow(struct pkt *p);

static inline void pkt_free(struct pkt *p)
{
	if (!p)
		return;
	struct pkt_pool *pool = p->pool;
	if (!pool)
		pkt_bad(p, "pkt_free: belongs to no pool");
	if (__builtin_expect(p->flags & (PKT_F_FREE | PKT_F_FRAGS), 0))
		pkt_free_slow(p);
	p->flags = PKT_F_FREE;
	p->next = pool->free_list;
	pool->free_list = p;
	pool->stats.free++;
	pool->stats.frees++;
}

static inline uint8_t *pkt_slot(struct pkt *p) { return (uint8_t *)p; }
static inline uint8_t *pkt_data(struct pkt *p) { return (uint8_t *)p + p->off; }
static inline uint64_t pkt_dma_addr(const struct pkt *p) { return p->phys + p->off; }
/* Bytes of the frame in the slot (all of them unless fragments carry a tail). */
static inline uint32_t pkt_linear_len(const struct pkt *p) { return p->len - p->ext_len; }
/* Bytes available after the data, inside the slot's data area; none while fragments
 * hold the frame's tail (what is appended would land before it). */
static inline size_t pkt_tailroom(const struct pkt *p)
{
	if (p->ext_len)
		return 0;
	return (size_t)PKT_HDR_SIZE + PKT_HEADROOM + p->pool->buf_size - p->off - p->len;
}
/* Appends a fragment of n (> 0) bytes at ptr to p's tail; own: its owner, already
 * pinned for p (p's free unpins it), or NULL for lasting memory. -1 when p has
 * PKT_MAX_FRAGS already or the sizes do not fit the fields (p unchanged). */
int pkt_frag_add(struct pkt *p, const uint8_t *ptr, uint32_t n, struct pkt_frag_owner *own);
/* The owner of fragment i, or NULL (lasting memory). */
static inline struct pkt_frag_owner *pkt_frag_owner(const struct pkt *p, unsigned i)
{
	if (!p->frag_own[i])
		return NULL;
	return (struct pkt_frag_owner *)(uintptr_t)(p->frag[i] - p->frag_own[i]);
}
/* Copies n bytes of the frame from offset off (from pkt_data) to dst, reading the slot
 * and then the fragments; off + n <= p->len. */
void pkt_copy_out(const struct pkt *p, uint32_t off, uint8_t *dst, uint32_t n);
/* Copies the fragments' bytes into the slot behind the rest and releases them: the
 * frame is one buffer again. 0, or -1 when the slot has no room (p unchanged). */
int pkt_linearize(struct pkt *p);

/* Marks p's L4 checksum for the device: l4 points into p's data at the transport header,
 * whose checksum field (at field_off from it) already holds the pseudo-header sum. */
static inline void pkt_csum_partial(struct pkt *p, const uint8_t *l4, uint16_t field_off)
{
	p->flags |= PKT_F_CSUM_PARTIAL;
	p->csum_start = (uint32_t)(l4 - (const uint8_t *)p);
	p->csum_off = field_off;
}

/* Inline: every layer calls these on every packet, each a compare and two stores. */
/* Prepend n bytes of header; NULL if the headroom is exhausted. */
static inline uint8_t *pkt_push(struct pkt *p, size_t n)
{
	if (n > (size_t)p->off - PKT_HDR_SIZE)
		return NULL;
	p->off = (uint32_t)(p->off - n);
	p->len = (uint32_t)(p->len + n);
	return pkt_data(p);
}
/* Strip n bytes from the front; NULL if shorter than n. */
static inline uint8_t *pkt_pull(struct pkt *p, size_t n)
{
	if (n > p->len)
		return NULL;
	p->off = (uint32_t)(p->off + n);
	p->len = (uint32_t)(p->len - n);
	return pkt_data(p);
}
/* Append n bytes; NULL if they do not fit. */
static inline uint8_t *pkt_put(struct pkt *p, size_t n)
{
	if (n > pkt_tailroom(p))
		return NULL;
	uint8_t *tail = pkt_data(p) + p->len;
	p->len = (uint32_t)(p->len + n);
	return tail;
}
/* Cut to len bytes (link-layer padding); no-op if already shorter. */
static inline void pkt_trim(struct pkt *p, size_t len)
{
	if (len < p->len)
		p->len = (uint32_t)len;
}

/* A singly linked FIFO of packets with a length, for qdiscs and pending queues. */
struct pkt_queue {
	struct pkt *head, *tail;
	uint32_t len;
	uint64_t bytes;
};

void pktq_push(struct pkt_queue *q, struct pkt *p);
struct pkt *pktq_pop(struct pkt_queue *q);
void pktq_purge(struct pkt_queue *q);   /* frees every packet */
/* Puts p back at the head (a packet the driver did not take keeps its place). */
void pktq_push_front(struct pkt_queue *q, struct pkt *p);

#endif
