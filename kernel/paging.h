/*
 * Kernel page tables: 4-level, identity mapped (virtual == physical). RAM is
 * write-back and non-executable except the kernel's text (read-only, executable) and
 * UEFI runtime code; MMIO is mapped uncached on request. Page 0 and each stack guard
 * page are left unmapped so null dereferences and stack overflows fault.
 */
#ifndef SKIFF_PAGING_H
#define SKIFF_PAGING_H

#include <stdint.h>
#include "kernel/bootinfo.h"

struct paging_stats {
	uint64_t table_pages, pages_2m, pages_4k, mmio_bytes;
};

void paging_init(const struct boot_info *bi);
/* Identity-maps [phys, phys+size) uncached and non-executable; NULL on failure. */
volatile void *map_mmio(uint64_t phys, uint64_t size);
void paging_unmap_page(uint64_t va);
void paging_get_stats(struct paging_stats *s);

#endif
