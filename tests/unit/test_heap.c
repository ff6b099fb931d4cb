/*
 * kernel/heap.c over a malloc'ed arena: alignment, splitting, coalescing in every
 * order, exhaustion, kcalloc overflow, panics on double and wild frees, and a seeded
 * random stress run that checks, after every step, that live blocks never overlap
 * (a per-16-byte owner map of the arena) and that their contents survive.
 */
#include "tests/unit/test.h"
#include "kernel/heap.h"
#include <stdlib.h>

#define HDR 16u         /* the block header heap.c puts before every payload */

static uint8_t *arena_new(size_t size)
{
	uint8_t *a = aligned_alloc(64, size);
	if (a) {
		memset(a, 0, size);
		heap_init(a, size);
	}
	return a;
}

static struct heap_stats stats(void)
{
	struct heap_stats s;
	heap_get_stats(&s);
	return s;
}

/* The accounting identities that hold after any sequence of calls. */
static void check_stats_consistent(const char *file, int line)
{
	struct heap_stats s = stats();
	if (s.used_bytes + s.free_bytes != s.arena_bytes || s.allocs - s.frees != s.live ||
	    s.largest_free > s.free_bytes || s.arena_bytes % 16 || s.used_bytes % 16)
		test_fail(file, line, "heap stats inconsistent");
}
#define CHECK_STATS() check_stats_consistent(__FILE__, __LINE__)

TEST(heap_init_and_alignment)
{
	uint8_t *a = malloc(4096 + 64);
	REQUIRE(a);
	/* A misaligned arena is trimmed to 16-byte boundaries at both ends. */
	heap_init(a + 3, 4000);
	struct heap_stats s = stats();
	uintptr_t lo = ((uintptr_t)a + 3 + 15) & ~(uintptr_t)15, hi = ((uintptr_t)a + 3 + 4000) & ~(uintptr_t)15;
	CHECK_EQ(s.arena_bytes, hi - lo);
	CHECK_EQ(s.free_bytes, hi - lo);
	CHECK_EQ(s.largest_free, hi - lo);
	CHECK_EQ(s.used_bytes, 0);
	CHECK_EQ(s.live, 0);
	static const size_t sizes[] = { 1, 2, 7, 8, 15, 16, 17, 24, 31, 32, 33, 47, 48, 100, 255 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = kmalloc(sizes[i]);
		REQUIRE(p);
		CHECK_EQ((uintptr_t)p % 16, 0);
		CHECK((uintptr_t)p >= lo + HDR && (uintptr_t)p + sizes[i] <= hi);
		memset(p, 0xcc, sizes[i]);
	}
	CHECK_EQ(stats().live, 15);
	CHECK_STATS();
	free(a);
}

TEST(heap_split_layout)
{
	uint8_t *a = arena_new(4096);
	REQUIRE(a);
	/* First fit from the start; each block is the request plus header rounded to 16. */
	uint8_t *p1 = kmalloc(100);     /* 128-byte block */
	uint8_t *p2 = kmalloc(1);       /* 32 */
	uint8_t *p3 = kmalloc(16);      /* 32 */
	uint8_t *p4 = kmalloc(17);      /* 48 */
	uint8_t *p5 = kmalloc(1);
	CHECK(p1 == a + HDR);
	CHECK(p2 == p1 + 128);
	CHECK(p3 == p2 + 32);
	CHECK(p4 == p3 + 32);
	CHECK(p5 == p4 + 48);
	struct heap_stats s = stats();
	CHECK_EQ(s.used_bytes, 128 + 32 + 32 + 48 + 32);
	CHECK_EQ(s.free_bytes, 4096 - s.used_bytes);
	CHECK_EQ(s.largest_free, 4096 - s.used_bytes);     /* the tail, split off each time */
	CHECK_EQ(s.allocs, 5);
	CHECK_EQ(s.live, 5);
	/* A freed hole is reused by the next request that fits it, first fit. */
	kfree(p2);
	CHECK(kmalloc(8) == p2);
	kfree(p1);
	uint8_t *q = kmalloc(40);       /* 64 of p1's 128, the rest stays a free block */
	CHECK(q == p1);
	CHECK(kmalloc(48) == p1 + 64);  /* 64 more: exactly the remainder */
	CHECK_STATS();
	free(a);
}

/* A remainder too small to hold a free block is handed out with the block. */
TEST(heap_no_tiny_split)
{
	uint8_t *a = arena_new(256);
	REQUIRE(a);
	uint8_t *p = kmalloc(200);      /* needs 224: remainder 32 cannot stand alone */
	REQUIRE(p);
	struct heap_stats s = stats();
	CHECK_EQ(s.used_bytes, 256);
	CHECK_EQ(s.free_bytes, 0);
	CHECK_EQ(s.largest_free, 0);
	CHECK(kmalloc(1) == NULL);
	kfree(p);
	s = stats();
	CHECK_EQ(s.free_bytes, 256);
	CHECK_EQ(s.largest_free, 256);
	CHECK_STATS();
	free(a);
}

/* Frees four neighbours a, b, c, d in the given order; after each free the largest
 * free block must be what merging predicts, and at the end the whole arena. */
static void coalesce_order(const int order[4])
{
	uint8_t *a = arena_new(4096);
	REQUIRE(a);
	uint8_t *p[5];
	for (int i = 0; i < 4; i++) {
		p[i] = kmalloc(1000);   /* 1024-byte blocks: the arena is exactly full */
		REQUIRE(p[i]);
	}
	CHECK(kmalloc(1) == NULL);
	int freed[4] = { 0 };
	for (int k = 0; k < 4; k++) {
		kfree(p[order[k]]);
		freed[order[k]] = 1;
		int best = 0, run = 0;
		for (int i = 0; i < 4; i++) {
			run = freed[i] ? run + 1 : 0;
			if (run > best)
				best = run;
		}
		struct heap_stats s = stats();
		CHECK_EQ(s.largest_free, best * 1024);
		CHECK_EQ(s.free_bytes, (k + 1) * 1024);
		/* A request of the merged size fits only if the merge happened. */
		if (best >= 2) {
			uint8_t *q = kmalloc((size_t)best * 1024 - HDR);
			CHECK(q != NULL);
			kfree(q);
		}
		CHECK_STATS();
	}
	CHECK_EQ(stats().largest_free, 4096);
	CHECK_EQ(stats().live, 0);
	CHECK(kmalloc(4096 - HDR) == a + HDR);
	free(a);
}

TEST(heap_coalesce_every_order)
{
	int order[4] = { 0, 1, 2, 3 };
	/* All 24 permutations: merges with the previous block, the next, and both. */
	for (int n = 0; n < 24; n++) {
		int pool[4] = { 0, 1, 2, 3 }, left = 4, r = n;
		for (int i = 0; i < 4; i++) {
			int f = 1;
			for (int j = 1; j < left; j++)
				f *= j;
			int pick = r / f;
			r %= f;
			order[i] = pool[pick];
			for (int j = pick; j < left - 1; j++)
				pool[j] = pool[j + 1];
			left--;
		}
		coalesce_order(order);
	}
}

TEST(heap_free_all_one_block)
{
	size_t size = 64 * 1024;
	uint8_t *a = arena_new(size);
	REQUIRE(a);
	void *p[200];
	int n = 0;
	for (size_t i = 0; i < 200; i++) {
		p[n] = kmalloc(1 + (i * 37) % 300);
		if (p[n])
			n++;
	}
	CHECK_EQ(n, 200);
	/* Free the odd ones, then the even ones backwards: holes, then merges on both sides. */
	for (int i = 1; i < n; i += 2)
		kfree(p[i]);
	CHECK(stats().largest_free < size);
	CHECK_STATS();
	for (int i = (n - 1) & ~1; i >= 0; i -= 2)
		kfree(p[i]);
	struct heap_stats s = stats();
	CHECK_EQ(s.largest_free, size);
	CHECK_EQ(s.free_bytes, size);
	CHECK_EQ(s.used_bytes, 0);
	CHECK_EQ(s.live, 0);
	CHECK_EQ(s.allocs, 200);
	CHECK_EQ(s.frees, 200);
	CHECK(kmalloc(size - HDR) == a + HDR);
	free(a);
}

TEST(heap_exhaustion)
{
	uint8_t *a = arena_new(4096);
	REQUIRE(a);
	void *p[64];
	int n = 0;
	while (n < 64 && (p[n] = kmalloc(48)) != NULL)   /* 64-byte blocks */
		n++;
	CHECK_EQ(n, 64);
	CHECK(kmalloc(1) == NULL);
	struct heap_stats s = stats();
	CHECK_EQ(s.failures, 1);
	CHECK_EQ(s.free_bytes, 0);
	CHECK_EQ(s.live, 64);
	kfree(p[10]);
	CHECK(kmalloc(49) == NULL);     /* needs 80 > the 64-byte hole */
	CHECK(kmalloc(48) == p[10]);
	CHECK_EQ(stats().failures, 2);
	/* Requests that can never fit, and size 0, fail and count. */
	heap_init(a, 4096);
	CHECK(kmalloc(4096) == NULL);
	CHECK(kmalloc(4096 - HDR + 1) == NULL);
	CHECK(kmalloc(SIZE_MAX) == NULL);
	CHECK(kmalloc(SIZE_MAX - 8) == NULL);
	CHECK(kmalloc(0) == NULL);
	s = stats();
	CHECK_EQ(s.failures, 5);
	CHECK_EQ(s.allocs, 0);
	CHECK_EQ(s.largest_free, 4096);
	CHECK(kmalloc(4096 - HDR) != NULL);    /* the largest request that fits */
	CHECK_STATS();
	free(a);
}

TEST(heap_kcalloc)
{
	uint8_t *a = arena_new(8192);
	REQUIRE(a);
	uint8_t *p = kmalloc(1000);
	REQUIRE(p);
	memset(p, 0xab, 1000);
	kfree(p);
	uint32_t *z = kcalloc(250, sizeof(uint32_t));     /* the same, dirty, memory */
	REQUIRE(z);
	CHECK((uint8_t *)z == p);
	for (int i = 0; i < 250; i++)
		CHECK_EQ(z[i], 0);
	/* n * size overflowing size_t must fail, not allocate the wrapped product. */
	uint64_t before = stats().failures;
	CHECK(kcalloc(SIZE_MAX / 2 + 1, 2) == NULL);            /* product wraps to 0 */
	CHECK(kcalloc((SIZE_MAX >> 4) + 2, 16) == NULL);        /* wraps to 16 */
	CHECK(kcalloc((size_t)1 << 33, (size_t)1 << 31) == NULL);  /* wraps to 0 */
	CHECK(kcalloc(3, SIZE_MAX / 2) == NULL);
	CHECK(kcalloc(SIZE_MAX, SIZE_MAX) == NULL);
	CHECK_EQ(stats().failures, before + 5);
	CHECK_EQ(stats().live, 1);
	/* Large but not overflowing: simply too big for the arena. */
	CHECK(kcalloc(1024, 1024) == NULL);
	CHECK_EQ(stats().failures, before + 6);
	CHECK_STATS();
	free(a);
}

static void do_free(void *p)
{
	kfree(p);
}

/* Each bad free panics before touching the heap: the stats stay as they were. */
static void expect_free_panics(const char *file, int line, void *p)
{
	struct heap_stats before = stats(), after;
	if (!test_expect_panic(do_free, p))
		test_fail(file, line, "kfree did not panic");
	after = stats();
	if (memcmp(&before, &after, sizeof(before)) != 0)
		test_fail(file, line, "a panicking kfree changed the heap");
}
#define FREE_PANICS(p) expect_free_panics(__FILE__, __LINE__, (p))

TEST(heap_double_free_panics)
{
	uint8_t *a = arena_new(4096);
	REQUIRE(a);
	uint8_t *p = kmalloc(64), *q = kmalloc(64), *r = kmalloc(64);
	REQUIRE(p && q && r);
	kfree(q);
	FREE_PANICS(q);
	CHECK(strstr(test_panic_msg, "double free") != NULL);
	/* Freed and merged into a neighbour: still caught. */
	kfree(p);
	FREE_PANICS(q);
	FREE_PANICS(p);
	kfree(r);                       /* merges with everything: one block again */
	FREE_PANICS(r);
	FREE_PANICS(p);
	CHECK_EQ(stats().largest_free, 4096);
	kfree(NULL);                    /* not an error */
	CHECK_EQ(stats().frees, 3);
	CHECK_STATS();
	free(a);
}

TEST(heap_wild_free_panics)
{
	uint8_t *a = arena_new(4096);
	REQUIRE(a);
	uint8_t *p = kmalloc(256);
	REQUIRE(p);
	int local;
	uint8_t *outside = malloc(64);
	REQUIRE(outside);
	FREE_PANICS(&local);            /* the stack */
	FREE_PANICS(outside + 16);      /* another allocator's memory */
	CHECK(strstr(test_panic_msg, "not a heap pointer") != NULL);
	FREE_PANICS(a);                 /* arena start: its header would lie before the arena */
	FREE_PANICS(a + 4096 + HDR);    /* just past the end */
	FREE_PANICS(p + 1);             /* misaligned */
	FREE_PANICS(p + 8);
	FREE_PANICS(p + 32);            /* aligned, inside a live block's payload */
	FREE_PANICS(p + 1024);          /* aligned, inside the free tail */
	/* The heap is intact: the real pointer still frees and the arena merges whole. */
	kfree(p);
	CHECK_EQ(stats().largest_free, 4096);
	CHECK_STATS();
	free(outside);
	free(a);
}

/* xorshift64*: a fixed seed makes every run the same. */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

#define SLOTS 512
#define STRESS_ARENA (512 * 1024)

struct slot {
	uint8_t *p;
	size_t size;
	uint8_t seed;
};

/* Owner of each 16-byte granule of the arena (slot + 1, 0 = nobody): a block owns
 * its header and payload, so any overlap between live blocks is seen at once. */
static uint16_t owner[STRESS_ARENA / 16];

/* Moves the slot's granules from owner `from` to `to`; 0 if one had another owner. */
static int transfer(uint8_t *arena, const struct slot *s, uint16_t from, uint16_t to)
{
	size_t first = (size_t)(s->p - HDR - arena) / 16, last = (size_t)(s->p + s->size - 1 - arena) / 16;
	for (size_t g = first; g <= last; g++)
		if (owner[g] != from)
			return 0;
	for (size_t g = first; g <= last; g++)
		owner[g] = to;
	return 1;
}

static int intact(const struct slot *s)
{
	for (size_t i = 0; i < s->size; i++)
		if (s->p[i] != (uint8_t)(s->seed + i * 7))
			return 0;
	return 1;
}

TEST(heap_random_stress)
{
	uint8_t *a = arena_new(STRESS_ARENA);
	REQUIRE(a);
	static struct slot slots[SLOTS];
	memset(slots, 0, sizeof(slots));
	memset(owner, 0, sizeof(owner));
	rng_state = 0x5eedf00dcafe1234ull;
	int live = 0, failures = 0, bad = 0;
	for (int step = 0; step < 200000 && !bad; step++) {
		struct slot *s = &slots[rng() % SLOTS];
		if (s->p) {
			if (!intact(s) || !transfer(a, s, (uint16_t)(s - slots + 1), 0))
				bad = 1;
			kfree(s->p);
			s->p = NULL;
			live--;
			continue;
		}
		/* Mostly small, sometimes big: big ones force splits, holes and failures. */
		uint64_t r = rng();
		size_t size = (r & 3) ? 1 + (r >> 8) % 256 : 1 + (r >> 8) % 16384;
		uint8_t *p = kmalloc(size);
		if (!p) {
			failures++;
			continue;
		}
		s->p = p;
		s->size = size;
		s->seed = (uint8_t)(r >> 40);
		if ((uintptr_t)p % 16 || p < a + HDR || p + size > a + STRESS_ARENA ||
		    !transfer(a, s, 0, (uint16_t)(s - slots + 1)))
			bad = 1;
		for (size_t i = 0; i < size; i++)
			p[i] = (uint8_t)(s->seed + i * 7);
		live++;
		if (step % 4096 == 0) {
			CHECK_EQ(stats().live, live);
			CHECK_STATS();
		}
	}
	CHECK(!bad);
	CHECK(failures > 0);            /* the run did reach exhaustion */
	struct heap_stats st = stats();
	CHECK_EQ(st.live, live);
	CHECK_EQ(st.failures, failures);
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].p) {
			CHECK(intact(&slots[i]));
			kfree(slots[i].p);
		}
	st = stats();
	CHECK_EQ(st.live, 0);
	CHECK_EQ(st.largest_free, STRESS_ARENA);
	CHECK_STATS();
	free(a);
}
