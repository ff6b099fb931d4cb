/* DMA allocator over pmm: whole pages, alignment rounded up to a page multiple. */
#include "kernel/dma.h"
#include "kernel/pmm.h"
#include "lib/string.h"

static struct dma_stats st;

void *dma_alloc(size_t size, size_t align, uint64_t *phys)
{
	size_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	size_t align_pages = align <= PAGE_SIZE ? 1 : (align + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t pa = pmm_alloc(pages, align_pages);
	if (!pa) {
		st.failures++;
		return NULL;
	}
	void *va = (void *)(uintptr_t)pa;
	memset(va, 0, pages * PAGE_SIZE);
	st.allocs++;
	st.bytes_live += pages * PAGE_SIZE;
	*phys = pa;
	return va;
}

void dma_free(void *p, size_t size)
{
	size_t pages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	pmm_free((uint64_t)(uintptr_t)p, pages);
	st.frees++;
	st.bytes_live -= pages * PAGE_SIZE;
}

void dma_get_stats(struct dma_stats *s)
{
	*s = st;
}
