/* Packet pool and buffer operations (net/pkt.h). */
#include "tests/unit/test.h"
#include "net/pkt.h"
#include <stdlib.h>

int test_expect_panic(void (*fn)(void *), void *arg);

struct pool_fixture {
	struct pkt_pool pool;
	void *mem;
};

static void fixture(struct pool_fixture *f, uint32_t n)
{
	f->mem = aligned_alloc(64, (size_t)n * PKT_SLOT_SIZE);
	pkt_pool_init(&f->pool, f->mem, 0x200000, n);
}

TEST(net_pkt_pool_alloc_free)
{
	struct pool_fixture f;
	fixture(&f, 3);
	CHECK_EQ(f.pool.stats.slots, 3);
	CHECK_EQ(f.pool.stats.free, 3);
	struct pkt *a = pkt_alloc(&f.pool), *b = pkt_alloc(&f.pool), *c = pkt_alloc(&f.pool);
	REQUIRE(a && b && c);
	CHECK((uint8_t *)a == (uint8_t *)f.mem);        /* slot 0 first */
	CHECK_EQ(a->phys, 0x200000);
	CHECK_EQ(b->phys, 0x200000 + PKT_SLOT_SIZE);
	CHECK_EQ(a->off, PKT_HDR_SIZE + PKT_HEADROOM);
	CHECK_EQ(a->len, 0);
	CHECK_EQ(pkt_dma_addr(a), 0x200000 + PKT_HDR_SIZE + PKT_HEADROOM);
	CHECK_EQ(pkt_tailroom(a), PKT_BUF_SIZE);
	CHECK(pkt_alloc(&f.pool) == NULL);
	CHECK_EQ(f.pool.stats.alloc_failures, 1);
	CHECK_EQ(f.pool.stats.free, 0);
	pkt_free(b);
	CHECK_EQ(f.pool.stats.free, 1);
	CHECK(pkt_alloc(&f.pool) == b);                 /* LIFO: the warm slot again */
	pkt_free(a);
	pkt_free(b);
	pkt_free(c);
	pkt_free(NULL);
	CHECK_EQ(f.pool.stats.free, 3);
	CHECK_EQ(f.pool.stats.allocs, 4);
	CHECK_EQ(f.pool.stats.frees, 4);
	free(f.mem);
}

TEST(net_pkt_push_pull_put_trim)
{
	struct pool_fixture f;
	fixture(&f, 1);
	struct pkt *p = pkt_alloc(&f.pool);
	REQUIRE(p);
	uint8_t *d = pkt_put(p, 100);
	REQUIRE(d == pkt_data(p));
	memset(d, 0x5a, 100);
	CHECK_EQ(p->len, 100);
	CHECK(pkt_put(p, PKT_BUF_SIZE - 100 + 1) == NULL);      /* one byte too many */
	CHECK(pkt_put(p, PKT_BUF_SIZE - 100) != NULL);
	CHECK_EQ(p->len, PKT_BUF_SIZE);
	pkt_trim(p, 100);
	CHECK_EQ(p->len, 100);
	pkt_trim(p, 5000);                      /* already shorter: no-op */
	CHECK_EQ(p->len, 100);
	uint8_t *h = pkt_push(p, 14);
	REQUIRE(h == d - 14);
	CHECK_EQ(p->len, 114);
	CHECK(pkt_push(p, PKT_HEADROOM - 14 + 1) == NULL);
	CHECK(pkt_push(p, PKT_HEADROOM - 14) != NULL);
	CHECK_EQ(p->off, PKT_HDR_SIZE);
	CHECK(pkt_pull(p, PKT_HEADROOM) == d);
	CHECK(pkt_pull(p, 101) == NULL);        /* longer than the data */
	CHECK_EQ(p->len, 100);
	CHECK(pkt_pull(p, 100) != NULL);
	CHECK_EQ(p->len, 0);
	pkt_free(p);
	free(f.mem);
}

TEST(net_pkt_queue)
{
	struct pool_fixture f;
	fixture(&f, 4);
	struct pkt_queue q = { 0 };
	struct pkt *p[4];
	for (int i = 0; i < 4; i++) {
		p[i] = pkt_alloc(&f.pool);
		pkt_put(p[i], (size_t)(i + 1) * 10);
	}
	pktq_push(&q, p[1]);
	pktq_push(&q, p[2]);
	pktq_push_front(&q, p[0]);
	CHECK_EQ(q.len, 3);
	CHECK_EQ(q.bytes, 60);
	CHECK(pktq_pop(&q) == p[0]);
	CHECK(pktq_pop(&q) == p[1]);
	CHECK(pktq_pop(&q) == p[2]);
	CHECK(pktq_pop(&q) == NULL);
	CHECK(q.head == NULL && q.tail == NULL && q.len == 0 && q.bytes == 0);
	pktq_push_front(&q, p[3]);              /* into an empty queue */
	CHECK(q.tail == p[3]);
	pktq_push(&q, p[0]);
	pktq_push(&q, p[1]);
	pktq_push(&q, p[2]);
	pktq_purge(&q);
	CHECK_EQ(q.len, 0);
	CHECK_EQ(f.pool.stats.free, 4);
	free(f.mem);
}

static void double_free(void *arg)
{
	struct pkt *p = arg;
	pkt_free(p);
	pkt_free(p);
}

TEST(net_pkt_double_free_panics)
{
	struct pool_fixture f;
	fixture(&f, 2);
	struct pkt *p = pkt_alloc(&f.pool);
	CHECK(test_expect_panic(double_free, p));
	CHECK_EQ(f.pool.stats.free, 2);         /* the first free went through */
	free(f.mem);
}
