/*
 * Page tables (Intel SDM Vol. 3 ch. 4, 4-level paging). 2 MiB pages where a range
 * covers whole aligned 2 MiB blocks, 4 KiB pages elsewhere; a 2 MiB page is split
 * when part of it needs other permissions. EFER.NXE and CR0.WP are set so NX and
 * read-only hold in ring 0 too.
 */
#include "kernel/paging.h"
#include "kernel/pmm.h"
#include "kernel/cpu.h"
#include "kernel/pte.h"
#include "kernel/console.h"
#include "lib/string.h"


#define MSR_EFER 0xC0000080
#define EFER_NXE (1ull << 11)
#define CR0_WP (1ull << 16)

#define F_RAM (PTE_P | PTE_RW | PTE_NX)
#define F_CODE (PTE_P)
#define F_RODATA (PTE_P | PTE_NX)
#define F_MMIO (PTE_P | PTE_RW | PTE_PCD | PTE_PWT | PTE_NX)

extern char ImageBase[], _text[], _etext[], _data[], _end[];

static uint64_t *pml4;
static struct paging_stats stats;

static uint64_t *new_table(void)
{
	uint64_t pa = pmm_alloc(1, 1);
	if (!pa)
		panic("paging: out of memory for page tables");
	memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	stats.table_pages++;
	return (uint64_t *)(uintptr_t)pa;
}

/* Returns the next-level table under entry e, creating it if absent. */
static uint64_t *next_level(uint64_t *e)
{
	if (!(*e & PTE_P))
		*e = (uint64_t)(uintptr_t)new_table() | PTE_P | PTE_RW;
	return (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
}

static uint64_t *pd_entry(uint64_t va)
{
	uint64_t *pdpt = next_level(&pml4[(va >> 39) & 511]);
	uint64_t *pd = next_level(&pdpt[(va >> 30) & 511]);
	return &pd[(va >> 21) & 511];
}

/* Turns a 2 MiB mapping into 512 4 KiB ones with the same flags. */
static void split_2m(uint64_t *pde)
{
	uint64_t *pt = new_table();
	uint64_t base = *pde & PTE_ADDR & ~0x1fffffull, flags = *pde & ~PTE_ADDR & ~PTE_PS;
	for (int i = 0; i < 512; i++)
		pt[i] = (base + (uint64_t)i * PAGE_SIZE) | flags;
	*pde = (uint64_t)(uintptr_t)pt | PTE_P | PTE_RW;
	stats.pages_2m--;
	stats.pages_4k += 512;
}

static void map_4k(uint64_t va, uint64_t flags)
{
	uint64_t *pde = pd_entry(va);
	if (*pde & PTE_PS)
		split_2m(pde);
	uint64_t *pt = next_level(pde);
	uint64_t *pte = &pt[(va >> 12) & 511];
	if (!(*pte & PTE_P))
		stats.pages_4k++;
	*pte = va | flags;
	invlpg(va);
}

static void map_range(uint64_t start, uint64_t end, uint64_t flags)
{
	start &= ~(PAGE_SIZE - 1);
	end = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	for (uint64_t va = start; va < end;) {
		uint64_t *pde = pd_entry(va);
		if (!(va & 0x1fffff) && end - va >= 0x200000 && !(*pde & PTE_P)) {
			*pde = va | flags | PTE_PS;
			stats.pages_2m++;
			va += 0x200000;
		} else {
			map_4k(va, flags);
			va += PAGE_SIZE;
		}
	}
}

void paging_unmap_page(uint64_t va)
{
	uint64_t *pde = pd_entry(va);
	if (!(*pde & PTE_P))
		return;
	if (*pde & PTE_PS)
		split_2m(pde);
	uint64_t *pt = next_level(pde);
	if (pt[(va >> 12) & 511] & PTE_P)
		stats.pages_4k--;
	pt[(va >> 12) & 511] = 0;
	invlpg(va);
}

static int is_ram(uint32_t type)
{
	return type == MEM_LOADER_CODE || type == MEM_LOADER_DATA || type == MEM_BS_CODE ||
	       type == MEM_BS_DATA || type == MEM_RT_CODE || type == MEM_RT_DATA ||
	       type == MEM_CONVENTIONAL || type == MEM_ACPI_RECLAIM || type == MEM_ACPI_NVS ||
	       type == MEM_PERSISTENT;
}

static void map_memmap(const struct boot_info *bi)
{
	for (uint64_t off = 0; off + bi->memdesc_size <= bi->memmap_size; off += bi->memdesc_size) {
		const struct boot_memdesc *d = (const void *)(bi->memmap + off);
		uint64_t end = d->phys_start + d->num_pages * PAGE_SIZE;
		if (d->type == MEM_RT_CODE)
			map_range(d->phys_start, end, PTE_P | PTE_RW);   /* firmware ResetSystem runs here */
		else if (is_ram(d->type))
			map_range(d->phys_start, end, F_RAM);
		else if (d->type == MEM_MMIO)
			map_range(d->phys_start, end, F_MMIO);   /* runtime services' flash, etc. */
	}
}

static void map_image(void)
{
	uint64_t base = (uint64_t)(uintptr_t)ImageBase, end = (uint64_t)(uintptr_t)_end;
	map_range(base, end, F_RODATA);
	map_range((uint64_t)(uintptr_t)_text, (uint64_t)(uintptr_t)_etext, F_CODE);
	map_range((uint64_t)(uintptr_t)_data, end, F_RAM);
}

void paging_init(const struct boot_info *bi)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	pml4 = new_table();
	map_memmap(bi);
	map_image();
	paging_unmap_page(0);
	write_cr3((uint64_t)(uintptr_t)pml4);
	write_cr0(read_cr0() | CR0_WP);
	log_info("paging: identity map, %lu x 2 MiB + %lu x 4 KiB pages, %lu table pages; "
		 "text RO+X, data NX, page 0 unmapped",
		 (unsigned long)stats.pages_2m, (unsigned long)stats.pages_4k,
		 (unsigned long)stats.table_pages);
}

volatile void *map_mmio(uint64_t phys, uint64_t size)
{
	if (!pml4 || size == 0 || phys + size < phys || phys + size > (1ull << 46))
		return NULL;
	map_range(phys, phys + size, F_MMIO);
	stats.mmio_bytes += size;
	return (volatile void *)(uintptr_t)phys;
}

void paging_get_stats(struct paging_stats *s)
{
	*s = stats;
}
