/*
 * kernel/pmm.c over a synthetic UEFI memory map. The allocator writes its bitmap into
 * the first conventional region, so the map describes a real, 2 MiB-aligned host arena;
 * it never touches the pages it hands out. Entries are desc_size (48, like real
 * firmware) apart with junk in the padding. A shadow array of page owners checks that
 * allocations are free RAM of the right type, aligned, contiguous and never shared.
 * The 1 MiB floor is tested with a second map placed at a low fixed host address.
 */
#define _GNU_SOURCE             /* MAP_FIXED_NOREPLACE, MAP_ANONYMOUS */
#include "tests/unit/test.h"
#include "kernel/pmm.h"
#include "kernel/bootinfo.h"
#include <stdlib.h>
#include <sys/mman.h>

#define PG PAGE_SIZE
#define MIB (1024 * 1024ull)
#define ARENA (64 * MIB)
#define ARENA_PAGES (ARENA / PG)
#define DESC 48

struct map {
	uint8_t buf[32 * DESC];
	size_t n, dsize;
};

static void map_add(struct map *m, uint32_t type, uint64_t start, uint64_t pages)
{
	uint8_t *e = m->buf + m->n * m->dsize;
	memset(e, 0xee, m->dsize);      /* junk in pad and past the struct */
	struct boot_memdesc d = { .type = type, .pad = 0xdeadbeef, .phys_start = start,
				  .virt_start = 0x1234000, .num_pages = pages, .attribute = 0xf };
	memcpy(e, &d, sizeof(d));
	m->n++;
}

static int map_init(const struct map *m)
{
	return pmm_init(m->buf, m->n * m->dsize, m->dsize);
}

static void map_boot_services(const struct map *m)
{
	pmm_add_boot_services(m->buf, m->n * m->dsize, m->dsize);
}

/*
 * The arena, in MiB from its (2 MiB-aligned) base:
 *   0-4 conventional, 4-5 reserved, 5-6 boot-services data, 6-7 runtime data,
 *   7-32 conventional, 32-33 boot-services code, 33-40 loader data, 40-64 conventional.
 * The map lists the regions out of address order, as firmware may: 40-64 comes first,
 * so that is where the bitmap goes (16384 pages -> 2 KiB -> its first page).
 */
#define BITMAP_MIB 40
static uint8_t *arena;
static uint64_t base;           /* arena address = its "physical" address */

enum { T_FREE = 1, T_BS = 2, T_OTHER = 3 };
static uint8_t kind[ARENA_PAGES];       /* per arena page: T_* */
static int32_t shadow[ARENA_PAGES];     /* per arena page: allocation id, 0 free, -1 bitmap */

#define CONV_PAGES ((4 + 25 + 24) * MIB / PG)  /* 13568 */
#define BS_PAGES (2 * MIB / PG)                 /* 512 */

static void mark(uint64_t from_mib, uint64_t to_mib, uint8_t k)
{
	for (uint64_t p = from_mib * MIB / PG; p < to_mib * MIB / PG; p++)
		kind[p] = k;
}

static int setup(struct map *m, size_t dsize)
{
	if (!arena) {
		arena = aligned_alloc(2 * MIB, ARENA);
		if (!arena)
			return -1;
	}
	base = (uint64_t)(uintptr_t)arena;
	memset(m, 0, sizeof(*m));
	m->dsize = dsize;
	map_add(m, MEM_CONVENTIONAL, base + 40 * MIB, 24 * MIB / PG);
	map_add(m, MEM_CONVENTIONAL, base, 4 * MIB / PG);
	map_add(m, MEM_RESERVED, base + 4 * MIB, MIB / PG);
	map_add(m, MEM_BS_DATA, base + 5 * MIB, MIB / PG);
	map_add(m, MEM_RT_DATA, base + 6 * MIB, MIB / PG);
	map_add(m, MEM_CONVENTIONAL, base + 7 * MIB, 25 * MIB / PG);
	map_add(m, MEM_BS_CODE, base + 32 * MIB, MIB / PG);
	map_add(m, MEM_LOADER_DATA, base + 33 * MIB, 7 * MIB / PG);
	mark(0, 64, T_OTHER);
	mark(0, 4, T_FREE);
	mark(7, 32, T_FREE);
	mark(40, 64, T_FREE);
	mark(5, 6, T_BS);
	mark(32, 33, T_BS);
	memset(shadow, 0, sizeof(shadow));
	shadow[BITMAP_MIB * MIB / PG] = -1;
	return map_init(m);
}

static struct pmm_stats stats(void)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	return s;
}

/* Checks that [phys, phys + n pages) is aligned, inside the arena, of an allowed kind
 * and owned by nobody, then records it as allocation id. */
static int take(uint64_t phys, size_t n, size_t align, int bs_ok, int32_t id)
{
	if (phys == 0 || phys % (align * PG) || phys < base || phys + n * PG > base + ARENA)
		return 0;
	uint64_t first = (phys - base) / PG;
	for (uint64_t p = first; p < first + n; p++)
		if (shadow[p] || !(kind[p] == T_FREE || (bs_ok && kind[p] == T_BS)))
			return 0;
	for (uint64_t p = first; p < first + n; p++)
		shadow[p] = id;
	return 1;
}

static void give_back(uint64_t phys, size_t n)
{
	for (uint64_t p = (phys - base) / PG; p < (phys - base) / PG + n; p++)
		shadow[p] = 0;
	pmm_free(phys, n);
}

TEST(pmm_init_stats)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	struct pmm_stats s = stats();
	CHECK_EQ(s.total_pages, CONV_PAGES);
	CHECK_EQ(s.free_pages, CONV_PAGES - 1);     /* one page of bitmap */
	CHECK_EQ(s.allocs, 0);
	CHECK_EQ(s.frees, 0);
	CHECK_EQ(s.failures, 0);
	/* The first page is free; the bitmap's page is not. */
	CHECK_EQ(pmm_alloc(1, 1), base);
	for (uint64_t p; (p = pmm_alloc(1, 1)) != 0;)
		CHECK(p != base + BITMAP_MIB * MIB);
	CHECK_EQ(stats().free_pages, 0);
	/* No free RAM at all, or none that can hold the bitmap: init fails. */
	struct map none = { .dsize = DESC };
	map_add(&none, MEM_RESERVED, base, 16);
	map_add(&none, MEM_LOADER_CODE, base + 16 * PG, 16);
	CHECK(map_init(&none) != 0);
	struct map only_bs = { .dsize = DESC };
	map_add(&only_bs, MEM_BS_DATA, base, 16);
	CHECK(map_init(&only_bs) != 0);
}

/* The same map with entries sizeof() apart gives the same allocator. */
TEST(pmm_desc_size)
{
	struct map m;
	REQUIRE(setup(&m, sizeof(struct boot_memdesc)) == 0);
	struct pmm_stats s = stats();
	CHECK_EQ(s.total_pages, CONV_PAGES);
	CHECK_EQ(s.free_pages, CONV_PAGES - 1);
	REQUIRE(setup(&m, 64) == 0);
	s = stats();
	CHECK_EQ(s.total_pages, CONV_PAGES);
	CHECK_EQ(s.free_pages, CONV_PAGES - 1);
}

/* Allocates page by page until failure: every page must be conventional (or
 * boot-services when bs_ok), unique, and the count must match the stats. */
static uint64_t drain(int bs_ok, uint64_t *bs_pages)
{
	uint64_t n = 0;
	*bs_pages = 0;
	for (;;) {
		uint64_t p = pmm_alloc(1, 1);
		if (!p)
			break;
		if (!take(p, 1, 1, bs_ok, (int32_t)(n + 1))) {
			test_fail(__FILE__, __LINE__, "page of the wrong kind or handed out twice");
			break;
		}
		if (kind[(p - base) / PG] == T_BS)
			(*bs_pages)++;
		n++;
	}
	return n;
}

TEST(pmm_drain_only_conventional)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	uint64_t bs;
	uint64_t n = drain(0, &bs);
	CHECK_EQ(n, CONV_PAGES - 1);
	CHECK_EQ(bs, 0);
	struct pmm_stats s = stats();
	CHECK_EQ(s.free_pages, 0);
	CHECK_EQ(s.allocs, n);
	CHECK_EQ(s.failures, 1);
	CHECK_EQ(pmm_alloc(1, 1), 0);
	CHECK_EQ(stats().failures, 2);
	/* Freeing one page in the middle: the next allocation is exactly that page. */
	uint64_t mid = base + 20 * MIB;
	give_back(mid, 1);
	CHECK_EQ(stats().free_pages, 1);
	CHECK_EQ(pmm_alloc(1, 1), mid);
	CHECK_EQ(pmm_alloc(1, 1), 0);
	/* Free everything: back to the initial state, and all of it allocatable again. */
	give_back(mid, 1);
	for (uint64_t p = 0; p < ARENA_PAGES; p++)
		if (shadow[p] > 0)
			give_back(base + p * PG, 1);
	s = stats();
	CHECK_EQ(s.free_pages, CONV_PAGES - 1);
	CHECK_EQ(s.total_pages, CONV_PAGES);
	CHECK_EQ(s.frees, s.allocs);
	CHECK_EQ(drain(0, &bs), CONV_PAGES - 1);
}

TEST(pmm_boot_services)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	/* The largest conventional run is 7-32 MiB (6400 pages); boot-services code at
	 * 32-33 MiB extends it to 6656 pages once released. */
	CHECK_EQ(pmm_alloc(6401, 1), 0);
	uint64_t big = pmm_alloc(6400, 1);
	CHECK_EQ(big, base + 7 * MIB);
	pmm_free(big, 6400);
	map_boot_services(&m);
	struct pmm_stats s = stats();
	CHECK_EQ(s.total_pages, CONV_PAGES + BS_PAGES);
	CHECK_EQ(s.free_pages, CONV_PAGES + BS_PAGES - 1);
	big = pmm_alloc(6656, 1);
	CHECK_EQ(big, base + 7 * MIB);
	CHECK_EQ(pmm_alloc(6657, 1), 0);
	pmm_free(big, 6656);
	/* Everything, boot-services pages included, but nothing reserved/runtime/loader. */
	uint64_t bs;
	CHECK_EQ(drain(1, &bs), CONV_PAGES + BS_PAGES - 1);
	CHECK_EQ(bs, BS_PAGES);
	CHECK_EQ(stats().free_pages, 0);
}

TEST(pmm_aligned_alloc)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	static const struct { size_t n, align; } req[] = {
		{ 1, 1 }, { 3, 1 }, { 1, 2 }, { 3, 2 }, { 2, 2 }, { 1, 16 }, { 5, 16 }, { 16, 16 },
		{ 17, 16 }, { 1, 512 }, { 512, 512 }, { 100, 512 }, { 7, 1 }, { 1, 2 }, { 1, 16 },
		{ 1024, 512 }, { 1, 1 }, { 9, 2 }, { 33, 16 }, { 511, 512 }, { 1, 0 },
	};
	int32_t id = 0;
	uint64_t pages = 0;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
			uint64_t p = pmm_alloc(req[i].n, req[i].align);
			size_t align = req[i].align ? req[i].align : 1;    /* 0 means 1 */
			if (!take(p, req[i].n, align, 0, ++id)) {
				char msg[128];
				snprintf(msg, sizeof(msg), "round %d: pmm_alloc(%zu, %zu) = base + 0x%llx",
					 round, req[i].n, req[i].align, (unsigned long long)(p - base));
				test_fail(__FILE__, __LINE__, msg);
			}
			pages += req[i].n;
		}
	struct pmm_stats s = stats();
	CHECK_EQ(s.free_pages, CONV_PAGES - 1 - pages);
	CHECK_EQ(s.allocs, (uint64_t)id);
	CHECK_EQ(s.failures, 0);
	/* Every 2 MiB-aligned 2 MiB stretch of free RAM the rounds above left whole (of 24
	 * at first: 0, 2, 8..30 and 42..62 MiB) can be had, and then no more. */
	int whole = 0, got = 0;
	for (uint64_t run = 0; run < ARENA_PAGES; run += 512) {
		int ok = 1;
		for (uint64_t p = run; p < run + 512; p++)
			ok &= kind[p] == T_FREE && shadow[p] == 0;
		whole += ok;
	}
	CHECK(whole > 0);
	uint64_t p;
	while ((p = pmm_alloc(512, 512)) != 0) {
		CHECK(take(p, 512, 512, 0, ++id));
		got++;
	}
	CHECK_EQ(got, whole);
	CHECK_EQ(stats().failures, 1);
	/* Small requests still succeed from the leftovers between. */
	p = pmm_alloc(1, 2);
	CHECK(take(p, 1, 2, 0, ++id));
}

TEST(pmm_bad_requests)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	struct pmm_stats before = stats();
	CHECK_EQ(pmm_alloc(0, 1), 0);
	CHECK_EQ(pmm_alloc(1, 3), 0);           /* not a power of two */
	CHECK_EQ(pmm_alloc(1, 12), 0);
	CHECK_EQ(pmm_alloc(ARENA_PAGES + 1, 1), 0);
	CHECK_EQ(pmm_alloc(SIZE_MAX, 1), 0);
	CHECK_EQ(pmm_alloc(1, (size_t)1 << 40), 0);     /* no page that aligned in the span */
	CHECK_EQ(pmm_alloc(CONV_PAGES, 1), 0);          /* fits the span, no run that long */
	struct pmm_stats s = stats();
	CHECK_EQ(s.failures, 7);
	CHECK_EQ(s.free_pages, before.free_pages);
	CHECK_EQ(s.allocs, 0);
}

/* Random alloc/free with a fixed seed, checked against the shadow after each step. */
TEST(pmm_random_stress)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	map_boot_services(&m);
	struct { uint64_t phys; size_t n; } live[256];
	memset(live, 0, sizeof(live));
	uint64_t x = 0x9e3779b97f4a7c15ull, used = 0;
	int32_t id = 0;
	int bad = 0, failures = 0;
	for (int step = 0; step < 20000 && !bad; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t slot = x % 256;
		if (live[slot].phys) {
			give_back(live[slot].phys, live[slot].n);
			used -= live[slot].n;
			live[slot].phys = 0;
			continue;
		}
		size_t n = (x >> 8) % 4 == 0 ? 1 + (x >> 16) % 600 : 1 + (x >> 16) % 8;
		size_t align = (size_t)1 << ((x >> 32) % 10);
		uint64_t p = pmm_alloc(n, align);
		if (!p) {
			failures++;
			continue;
		}
		if (!take(p, n, align, 1, ++id))
			bad = 1;
		live[slot].phys = p;
		live[slot].n = n;
		used += n;
		struct pmm_stats s = stats();
		if (s.free_pages + used + 1 != CONV_PAGES + BS_PAGES)
			bad = 1;
	}
	CHECK(!bad);
	CHECK(failures > 0);
	CHECK_EQ(stats().failures, failures);
	for (int i = 0; i < 256; i++)
		if (live[i].phys)
			give_back(live[i].phys, live[i].n);
	CHECK_EQ(stats().free_pages, CONV_PAGES + BS_PAGES - 1);
	/* Fully merged again: the longest run is whole. */
	CHECK_EQ(pmm_alloc(6656, 1), base + 7 * MIB);
}

struct freeing {
	uint64_t phys;
	size_t n;
};

static void do_free(void *arg)
{
	struct freeing *f = arg;
	pmm_free(f->phys, f->n);
}

static int free_panics(uint64_t phys, size_t n)
{
	struct freeing f = { phys, n };
	return test_expect_panic(do_free, &f);
}

/*
 * Double frees and frees of pages that were never allocated (free, or outside the
 * span) panic. Not caught: freeing a page that is in use without being allocated
 * (the bitmap, reserved holes inside the span) — one bit per page cannot tell
 * "allocated" from "not RAM".
 */
TEST(pmm_bad_free_panics)
{
	struct map m;
	REQUIRE(setup(&m, DESC) == 0);
	uint64_t p = pmm_alloc(4, 1);
	REQUIRE(p);
	pmm_free(p, 4);
	CHECK(free_panics(p, 4));
	CHECK(strstr(test_panic_msg, "not allocated") != NULL);
	CHECK(free_panics(p + 2 * PG, 1));
	CHECK(free_panics(base + 50 * MIB, 1));          /* free, never allocated */
	CHECK(free_panics(base - PG, 1));                 /* below the span */
	CHECK(free_panics(base + ARENA, 1));              /* above it */
	CHECK(free_panics(0x100000, 1));
	/* A run whose tail was never allocated. */
	uint64_t q = pmm_alloc(2, 1);
	REQUIRE(q);
	CHECK(free_panics(q, 3));
	CHECK_EQ(stats().frees, 1);
}

/*
 * Memory below 1 MiB is never handed out, even when the map calls it conventional.
 * Only the bitmap's region must be real memory, and the bitmap spans from the lowest
 * free address, so the map needs a real region at a low address: a fixed mapping at
 * 512 MiB. If the host refuses that address the test says so and checks nothing.
 */
TEST(pmm_low_memory_kept)
{
	const uint64_t real = 512 * MIB, real_len = 4 * MIB;
	void *r = mmap((void *)(uintptr_t)real, real_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r == MAP_FAILED || r != (void *)(uintptr_t)real) {
		if (r != MAP_FAILED)
			munmap(r, real_len);
		printf("    skipped: cannot map host memory at 0x%llx\n", (unsigned long long)real);
		return;
	}
	struct map m = { .dsize = DESC };
	map_add(&m, MEM_CONVENTIONAL, 0, 0x80000 / PG);                  /* 0-512 KiB */
	map_add(&m, MEM_BS_CODE, 0x80000, 0x20000 / PG);                 /* 512-640 KiB */
	map_add(&m, MEM_RESERVED, 0xa0000, 0x20000 / PG);
	map_add(&m, MEM_CONVENTIONAL, 0xc0000, (0x180000 - 0xc0000) / PG);  /* straddles 1 MiB */
	map_add(&m, MEM_RESERVED, 0x180000, (real - 0x180000) / PG);
	map_add(&m, MEM_CONVENTIONAL, real, real_len / PG);
	REQUIRE(map_init(&m) == 0);
	/* Span 0 .. real + 4 MiB: 132096 pages, a 16512-byte bitmap (5 pages) at real. */
	const uint64_t usable = 0x80000 / PG + real_len / PG;    /* 1-1.5 MiB, and the real region */
	struct pmm_stats s = stats();
	CHECK_EQ(s.total_pages, usable);
	CHECK_EQ(s.free_pages, usable - 5);
	map_boot_services(&m);                  /* boot-services code below 1 MiB stays kept */
	CHECK_EQ(stats().total_pages, usable);
	uint64_t n = 0, low = 0, straddle = 0;
	for (uint64_t p; (p = pmm_alloc(1, 1)) != 0; n++) {
		if (p < MIB)
			low++;
		else if (p < 0x180000)
			straddle++;
		else if (p < real + 5 * PG || p >= real + real_len)
			low++;  /* the bitmap or outside any region: as wrong as low memory */
	}
	CHECK_EQ(n, usable - 5);
	CHECK_EQ(low, 0);
	CHECK_EQ(straddle, 0x80000 / PG);
	munmap(r, real_len);
}
