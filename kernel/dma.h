/*
 * DMA memory for descriptor rings and packet buffers: physically contiguous, aligned,
 * zeroed, write-back cached (x86 DMA is cache coherent). Drivers program the returned
 * physical address into the device and use the pointer from the CPU side; they are
 * equal today (identity map) but drivers must not rely on that.
 */
#ifndef SKIFF_DMA_H
#define SKIFF_DMA_H

#include <stddef.h>
#include <stdint.h>

struct dma_stats {
	uint64_t allocs, frees, failures, bytes_live;
};

void *dma_alloc(size_t size, size_t align, uint64_t *phys);
void dma_free(void *p, size_t size);
void dma_get_stats(struct dma_stats *s);
/* The bus address of other kernel memory a device must read (a file's bytes sent by
 * scatter-gather, pkt.h ext): the identity map makes it the virtual address; this is
 * the one place to change if that ever ends. */
static inline uint64_t dma_addr_of(const void *p) { return (uint64_t)(uintptr_t)p; }

#endif
