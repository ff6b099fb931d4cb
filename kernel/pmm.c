/*
 * Bitmap page allocator (see pmm.h). A set bit means "in use or not RAM". The bitmap
 * itself lives in the first free run large enough for it, which is then marked used.
 * Allocation is next-fit from a hint, so repeated small allocations stay O(1) amortised.
 */
#include "kernel/pmm.h"
#include "kernel/bootinfo.h"
#include "lib/string.h"
#include "kernel/console.h"

#define LOW_RESERVED (1024 * 1024)      /* real-mode area: firmware and AP trampolines */

static uint64_t *bitmap;
static uint64_t base_page;      /* first page the bitmap covers */
static uint64_t npages;         /* pages the bitmap covers */
static uint64_t hint;
static struct pmm_stats stats;

static const struct boot_memdesc *desc_at(const uint8_t *map, size_t i, size_t dsize)
{
	return (const struct boot_memdesc *)(const void *)(map + i * dsize);
}

static int test_bit(uint64_t i) { return (bitmap[i / 64] >> (i % 64)) & 1; }
static void set_bit(uint64_t i) { bitmap[i / 64] |= 1ull << (i % 64); }
static void clear_bit(uint64_t i) { bitmap[i / 64] &= ~(1ull << (i % 64)); }

/* Marks [start, end) free, clipped to the bitmap and above LOW_RESERVED. */
static void release_range(uint64_t start, uint64_t end)
{
	if (start < LOW_RESERVED)
		start = LOW_RESERVED;
	start = (start + PAGE_SIZE - 1) / PAGE_SIZE;
	end /= PAGE_SIZE;
	for (uint64_t p = start; p < end; p++) {
		if (p < base_page || p >= base_page + npages)
			continue;
		if (test_bit(p - base_page)) {
			clear_bit(p - base_page);
			stats.free_pages++;
			stats.total_pages++;
		}
	}
}

static void reserve_range(uint64_t start, uint64_t end)
{
	for (uint64_t p = start / PAGE_SIZE; p < (end + PAGE_SIZE - 1) / PAGE_SIZE; p++) {
		if (p < base_page || p >= base_page + npages)
			continue;
		if (!test_bit(p - base_page)) {
			set_bit(p - base_page);
			stats.free_pages--;
		}
	}
}

static int is_free_type(uint32_t type, int with_bs)
{
	return type == MEM_CONVENTIONAL || (with_bs && (type == MEM_BS_CODE || type == MEM_BS_DATA));
}

int pmm_init(const uint8_t *map, size_t map_size, size_t dsize)
{
	size_t n = map_size / dsize;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		const struct boot_memdesc *d = desc_at(map, i, dsize);
		if (!is_free_type(d->type, 1))
			continue;
		uint64_t end = d->phys_start + d->num_pages * PAGE_SIZE;
		if (d->phys_start < lo)
			lo = d->phys_start;
		if (end > hi)
			hi = end;
	}
	if (hi <= lo)
		return -1;
	base_page = lo / PAGE_SIZE;
	npages = (hi - lo) / PAGE_SIZE;
	uint64_t bytes = (npages + 63) / 64 * 8;
	/* Place the bitmap in the first conventional run that holds it. */
	bitmap = NULL;
	for (size_t i = 0; i < n && !bitmap; i++) {
		const struct boot_memdesc *d = desc_at(map, i, dsize);
		if (d->type == MEM_CONVENTIONAL && d->phys_start >= LOW_RESERVED &&
		    d->num_pages * PAGE_SIZE >= bytes)
			bitmap = (uint64_t *)(uintptr_t)d->phys_start;
	}
	if (!bitmap)
		return -1;
	memset(bitmap, 0xff, bytes);
	memset(&stats, 0, sizeof(stats));
	for (size_t i = 0; i < n; i++) {
		const struct boot_memdesc *d = desc_at(map, i, dsize);
		if (is_free_type(d->type, 0))
			release_range(d->phys_start, d->phys_start + d->num_pages * PAGE_SIZE);
	}
	reserve_range((uint64_t)(uintptr_t)bitmap, (uint64_t)(uintptr_t)bitmap + bytes);
	hint = 0;
	return 0;
}

void pmm_add_boot_services(const uint8_t *map, size_t map_size, size_t dsize)
{
	for (size_t i = 0; i < map_size / dsize; i++) {
		const struct boot_memdesc *d = desc_at(map, i, dsize);
		if (d->type == MEM_BS_CODE || d->type == MEM_BS_DATA)
			release_range(d->phys_start, d->phys_start + d->num_pages * PAGE_SIZE);
	}
}

/* First index >= from whose absolute page number is a multiple of align. */
static uint64_t align_index(uint64_t from, uint64_t align)
{
	uint64_t abs = base_page + from;
	abs = (abs + align - 1) & ~(align - 1);
	return abs - base_page;
}

static int run_free(uint64_t start, uint64_t count)
{
	for (uint64_t i = start; i < start + count; i++)
		if (test_bit(i))
			return 0;
	return 1;
}

static uint64_t search(uint64_t from, uint64_t to, size_t count, size_t align)
{
	for (uint64_t i = align_index(from, align); i + count <= to; i = align_index(i + 1, align)) {
		if (test_bit(i))
			continue;
		if (run_free(i, count))
			return i;
	}
	return UINT64_MAX;
}

uint64_t pmm_alloc(size_t count, size_t align)
{
	if (!bitmap || count == 0 || count > npages || (align & (align - 1)))
		goto fail;
	if (align == 0)
		align = 1;
	uint64_t i = search(hint, npages, count, align);
	if (i == UINT64_MAX)
		i = search(0, npages, count, align);
	if (i == UINT64_MAX)
		goto fail;
	for (uint64_t j = i; j < i + count; j++)
		set_bit(j);
	stats.free_pages -= count;
	stats.allocs++;
	hint = i + count;
	return (base_page + i) * PAGE_SIZE;
fail:
	stats.failures++;
	return 0;
}

void pmm_free(uint64_t phys, size_t count)
{
	uint64_t first = phys / PAGE_SIZE;
	for (uint64_t p = first; p < first + count; p++) {
		if (p < base_page || p >= base_page + npages || !test_bit(p - base_page))
			panic("pmm_free of page 0x%lx that is not allocated", (unsigned long)(p * PAGE_SIZE));
		clear_bit(p - base_page);
		stats.free_pages++;
	}
	stats.frees++;
}

void pmm_get_stats(struct pmm_stats *s)
{
	*s = stats;
}
