/*
 * 4-level page-table entry bits (Intel SDM Vol. 3 §4.5, Table 4-15..4-20) and a walk
 * of the live tables. Header-only and dependent on nothing but cpu.h, so that both
 * paging.c (which builds the tables) and backtrace.c (which must not fault while
 * following frame pointers) can use it without depending on each other.
 */
#ifndef SKIFF_PTE_H
#define SKIFF_PTE_H

#include <stdint.h>
#include "kernel/cpu.h"

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* 1 when va is mapped in the tables CR3 points at (ours, or the firmware's before
 * paging_init); tables are identity mapped, so their physical address is usable. */
static inline int pte_is_mapped(uint64_t va)
{
	const uint64_t *t = (const uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
	for (int level = 3; level >= 0; level--) {
		uint64_t e = t[(va >> (12 + 9 * level)) & 511];
		if (!(e & PTE_P))
			return 0;
		if (level == 0 || (level < 3 && (e & PTE_PS)))
			return 1;
		t = (const uint64_t *)(uintptr_t)(e & PTE_ADDR);
	}
	return 1;
}

#endif
