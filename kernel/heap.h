/*
 * Kernel heap: first-fit over one arena, address-ordered free list, neighbours merged
 * on free. For control blocks and tables, not packets (net/ has its own pool) and not
 * DMA memory (kernel/dma.h). Double and wild frees panic: they are kernel bugs.
 */
#ifndef SKIFF_HEAP_H
#define SKIFF_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_stats {
	uint64_t arena_bytes, used_bytes, free_bytes, largest_free;
	uint64_t allocs, frees, failures, live;
};

void heap_init(void *arena, size_t size);
void *kmalloc(size_t size);
void *kcalloc(size_t n, size_t size);
void kfree(void *p);
void heap_get_stats(struct heap_stats *s);

#endif
