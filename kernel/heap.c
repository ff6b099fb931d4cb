/*
 * First-fit heap (see heap.h). Every block starts with a 16-byte header; free blocks
 * also hold the next-free pointer in their payload. Sizes are multiples of 16.
 */
#include "kernel/heap.h"
#include "kernel/console.h"
#include "lib/string.h"

#define ALIGN 16u
#define MAGIC_USED 0x5ea1u
#define MAGIC_FREE 0xf4eeu

struct hdr {
	uint64_t size;          /* whole block, header included */
	uint32_t magic;
	uint32_t pad;
};
_Static_assert(sizeof(struct hdr) == ALIGN, "header keeps payloads aligned");

struct free_blk {
	struct hdr h;
	struct free_blk *next;
};

static struct free_blk *free_list;
static uint8_t *arena_lo, *arena_hi;
static struct heap_stats st;

void heap_init(void *arena, size_t size)
{
	uintptr_t lo = ((uintptr_t)arena + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
	uintptr_t hi = ((uintptr_t)arena + size) & ~(uintptr_t)(ALIGN - 1);
	memset(&st, 0, sizeof(st));
	arena_lo = (uint8_t *)lo;
	arena_hi = (uint8_t *)hi;
	free_list = (struct free_blk *)lo;
	free_list->h = (struct hdr){ hi - lo, MAGIC_FREE, 0 };
	free_list->next = NULL;
	st.arena_bytes = st.free_bytes = hi - lo;
}

void *kmalloc(size_t size)
{
	if (size == 0 || size > (1ull << 40))
		goto fail;
	uint64_t need = (size + sizeof(struct hdr) + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
	if (need < sizeof(struct free_blk))
		need = sizeof(struct free_blk);
	for (struct free_blk **pp = &free_list; *pp; pp = &(*pp)->next) {
		struct free_blk *b = *pp;
		if (b->h.size < need)
			continue;
		if (b->h.size - need >= sizeof(struct free_blk) + ALIGN) {
			/* Split: the tail stays free in b's place. */
			struct free_blk *rest = (struct free_blk *)((uint8_t *)b + need);
			rest->h = (struct hdr){ b->h.size - need, MAGIC_FREE, 0 };
			rest->next = b->next;
			*pp = rest;
			b->h.size = need;
		} else {
			*pp = b->next;
		}
		b->h.magic = MAGIC_USED;
		st.used_bytes += b->h.size;
		st.free_bytes -= b->h.size;
		st.allocs++;
		st.live++;
		return (uint8_t *)b + sizeof(struct hdr);
	}
fail:
	st.failures++;
	return NULL;
}

void *kcalloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		st.failures++;
		return NULL;
	}
	void *p = kmalloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void merge_next(struct free_blk *b)
{
	if (b->next && (uint8_t *)b + b->h.size == (uint8_t *)b->next) {
		b->h.size += b->next->h.size;
		b->next = b->next->next;
	}
}

void kfree(void *p)
{
	if (!p)
		return;
	struct free_blk *b = (struct free_blk *)((uint8_t *)p - sizeof(struct hdr));
	if ((uint8_t *)b < arena_lo || (uint8_t *)b >= arena_hi || ((uintptr_t)p & (ALIGN - 1)))
		panic("kfree(%p): not a heap pointer", p);
	if (b->h.magic != MAGIC_USED)
		panic("kfree(%p): double free or corrupted header (magic 0x%x)", p, b->h.magic);
	b->h.magic = MAGIC_FREE;
	st.used_bytes -= b->h.size;
	st.free_bytes += b->h.size;
	st.frees++;
	st.live--;
	struct free_blk *prev = NULL, *cur = free_list;
	while (cur && cur < b) {
		prev = cur;
		cur = cur->next;
	}
	b->next = cur;
	if (prev)
		prev->next = b;
	else
		free_list = b;
	merge_next(b);
	if (prev)
		merge_next(prev);
}

void heap_get_stats(struct heap_stats *s)
{
	*s = st;
	s->largest_free = 0;
	for (struct free_blk *b = free_list; b; b = b->next)
		if (b->h.size > s->largest_free)
			s->largest_free = b->h.size;
}
