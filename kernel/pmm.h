/*
 * Physical page allocator: one bit per 4 KiB page over the span of usable RAM in the
 * UEFI memory map. Allocations are physically contiguous runs with a power-of-two page
 * alignment, which is what DMA rings need. Hardware-free: the host tests hand it a
 * synthetic memory map over a malloc'ed arena.
 */
#ifndef SKIFF_PMM_H
#define SKIFF_PMM_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096ull

struct pmm_stats {
	uint64_t total_pages;   /* usable RAM the allocator manages */
	uint64_t free_pages;
	uint64_t allocs, frees, failures;
};

/* Builds the bitmap from a UEFI memory map; only conventional memory (and, with
 * with_boot_services, boot-services memory) is free. Memory below 1 MiB is kept. */
int pmm_init(const uint8_t *map, size_t map_size, size_t desc_size);
/* Frees boot-services code/data pages once nothing runs on the firmware's stack. */
void pmm_add_boot_services(const uint8_t *map, size_t map_size, size_t desc_size);

/* Returns the physical address of npages contiguous pages aligned to align_pages
 * (a power of two), or 0 when no run is free. */
uint64_t pmm_alloc(size_t npages, size_t align_pages);
void pmm_free(uint64_t phys, size_t npages);
void pmm_get_stats(struct pmm_stats *s);

#endif
