/*
 * Round 7's per-connection fast paths (branch conn), each against what it must not
 * change: the lookup's one-entry cache aimed at a new passive child, ...
 * Every test here failed once against a deliberately broken version of its fast path.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"

static void syn_from(struct th *h, struct th_peer *p, uint16_t port)
{
	peer_init(p, port, 80, 1000u * port);
	peer_send(h, p, TCP_SYN, NULL, 0);
}

/* The SYN-ACK's number, for the peer's next segments. */
static void take_synack(struct th *h, struct th_peer *p)
{
	struct th_seg s;
	POP(h, s);
	CHECK_EQ(s.h.flags, TCP_SYN | TCP_ACK);
	CHECK_EQ(s.h.dport, p->port);
	p->ack = s.h.seq + 1;
}

/* A new passive child is the lookup's first guess (t->last_hit). Once an RST took
 * it away, a segment on its 4-tuple must meet the listener (LISTEN: an ACK gets a
 * RST, RFC 9293 §3.10.7.2), not the freed TCB; and with two children half-open the
 * guess must never answer for the other's tuple. */
TEST(tcp_conn7_child_guess_never_outlives_the_child)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_sock *l;
	REQUIRE(tcp_listen(&h.t, 0, 80, 8, th_cb, &h, &l) == 0);
	struct th_peer a, b;
	syn_from(&h, &a, 1001);
	take_synack(&h, &a);
	CHECK(h.t.last_hit != NULL);
	peer_send(&h, &a, TCP_RST, NULL, 0);            /* in window: the child goes */
	CHECK(h.t.last_hit == NULL);
	CHECK_EQ(h.t.nconns, 0);
	peer_send(&h, &a, TCP_ACK, NULL, 0);
	struct th_seg s;
	POP(&h, s);
	CHECK_EQ(s.h.flags, TCP_RST);
	CHECK_EQ(s.h.seq, a.ack);
	NONE(&h);

	syn_from(&h, &a, 1002);
	take_synack(&h, &a);
	syn_from(&h, &b, 1003);                         /* b's child is the guess now */
	take_synack(&h, &b);
	peer_send(&h, &a, TCP_ACK, "x", 1);            /* completes a, not b */
	struct tcp_sock *c;
	REQUIRE(tcp_accept(l, &c) == 0);
	CHECK_EQ(c->rport, 1002);
	CHECK_EQ(c->state, TCP_ESTABLISHED);
	CHECK_EQ(tcp_accept(l, &c), -NET_EAGAIN);       /* b is still half-open */
	th_fini(&h);
}

struct ref_log { int calls, err; };
static void ref_done(void *arg, int err)
{
	struct ref_log *r = arg;
	r->calls++;
	r->err = err;
}

/* deliver() and reap_all() call tcp_sq_run_done only when completions wait
 * (c->sq_done). A closed connection's unacknowledged reference still completes once,
 * with the error, when the TCB goes: after the peer's RST (an event carries it), and
 * after the orphan's retransmissions give up (only the reap list does). */
static void orphan_with_ref(struct th *h, struct th_peer *p, struct tcp_sock **l,
			    struct ref_log *r)
{
	static const uint8_t body[3000];
	struct tcp_sock *c = th_estab(h, p, l, NULL, 65535);
	REQUIRE(c);
	REQUIRE(tcp_send_ref(c, body, sizeof(body), ref_done, r) == 0);
	th_drain(h);
	tcp_close(c);                   /* orphan: FIN queued behind the unacked data */
	th_drain(h);
	CHECK_EQ(r->calls, 0);
}

TEST(tcp_conn7_completion_runs_when_an_orphan_goes)
{
	struct th h;
	th_init(&h, NULL);
	struct th_peer p;
	struct tcp_sock *l;
	struct ref_log r = { 0 };
	orphan_with_ref(&h, &p, &l, &r);
	peer_send(&h, &p, TCP_RST, NULL, 0);
	CHECK_EQ(r.calls, 1);
	CHECK_EQ(r.err, -NET_ECONNRESET);
	CHECK_EQ(h.t.nconns, 0);
	tcp_close(l);
	th_fini(&h);

	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.orphan_retries = 2;
	th_init(&h, &cfg);
	r = (struct ref_log){ 0 };
	orphan_with_ref(&h, &p, &l, &r);
	for (int i = 0; i < 200 && h.t.nconns; i++) {
		th_advance(&h, 1000 * TH_MS);
		th_drain(&h);
	}
	CHECK_EQ(h.t.nconns, 0);
	CHECK_EQ(r.calls, 1);
	CHECK(r.err < 0);
	tcp_close(l);
	th_fini(&h);
}

/* The object caches go back TCP_CACHE_IDLE_NS after their last use, not after their
 * first: tcp_alloc/tcp_free only stamp the use, and a trim deadline reached early
 * moves on to last use + idle, lowering the stack's bound (env.wake_ns) to it. */
TEST(tcp_conn7_cache_trim_follows_the_last_use)
{
	struct th h;
	th_init(&h, NULL);
	uint64_t wake = UINT64_MAX;
	h.t.env.wake_ns = &wake;
	void *a = tcp_alloc(&h.t, sizeof(struct tcp_sock));
	REQUIRE(a);
	tcp_free(&h.t, a, sizeof(struct tcp_sock));     /* kept: the cache is armed */
	uint64_t first = h.t.cache_trim_at;
	CHECK_EQ(first, h.t.now + TCP_CACHE_IDLE_NS);
	CHECK(wake <= first);
	th_advance(&h, TCP_CACHE_IDLE_NS * 6 / 10);
	a = tcp_alloc(&h.t, sizeof(struct tcp_sock));  /* used again at 0.6 s */
	REQUIRE(a);
	tcp_free(&h.t, a, sizeof(struct tcp_sock));
	uint64_t used = h.t.now;
	CHECK_EQ(h.t.cache_trim_at, first);             /* a use only stamps */
	wake = UINT64_MAX;
	th_advance(&h, TCP_CACHE_IDLE_NS * 6 / 10);     /* 1.2 s: first trim, not idle */
	CHECK_EQ(h.t.cache[0].n, 1);
	CHECK_EQ(h.t.cache_trim_at, used + TCP_CACHE_IDLE_NS);
	CHECK(wake <= h.t.cache_trim_at);
	th_advance(&h, TCP_CACHE_IDLE_NS * 3 / 10);     /* 1.5 s: 0.9 s idle */
	CHECK_EQ(h.t.cache[0].n, 1);
	th_advance(&h, TCP_CACHE_IDLE_NS * 2 / 10);     /* 1.7 s: 1.1 s idle */
	CHECK_EQ(h.t.cache[0].n, 0);
	CHECK_EQ(h.t.cache_bytes, 0);
	CHECK_EQ(h.t.cache_trim_at, UINT64_MAX);
	h.t.env.wake_ns = NULL;
	th_fini(&h);
}

/* Memory pressure starts exactly where mem_used * 100 > mem_max * PCT, also after
 * mem_max changed at run time (tcp_config_changed keeps the mark). */
TEST(tcp_conn7_pressure_mark_is_the_percentage)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.obj_cache = false;
	cfg.mem_max = 100001;
	struct th h;
	th_init(&h, &cfg);
	for (int round = 0; round < 2; round++) {
		uint64_t max = h.t.cfg.mem_max;
		uint64_t edge = max * TCP_MEM_PRESSURE_PCT / 100;       /* the last calm byte */
		void *a = tcp_alloc(&h.t, edge);
		REQUIRE(a);
		CHECK_EQ(h.t.mem_used * 100 > max * TCP_MEM_PRESSURE_PCT, false);
		CHECK(!h.t.mem_pressure);
		void *b = tcp_alloc(&h.t, 1);
		REQUIRE(b);
		CHECK(h.t.mem_pressure);
		tcp_free(&h.t, b, 1);
		CHECK(!h.t.mem_pressure);
		tcp_free(&h.t, a, edge);
		h.t.cfg.mem_max = 60007;                /* as `sysctl` does */
		tcp_config_changed(&h.t);
	}
	CHECK_EQ(h.t.mib[TCP_MIB_TCPMemoryPressures], 2);
	th_fini(&h);
}

/* The table hash and the ISN are the two halves of one SipHash-2-4 of the tuple
 * (isn_key): whatever the memo holds, each equals the reference computed afresh, for
 * tuples that differ in one field only; the ISN still moves with the 4 us clock. */
TEST(tcp_conn7_hash_and_isn_share_one_prf)
{
	struct th h;
	th_init(&h, NULL);
	struct tcp_stack *t = &h.t;
	const uint32_t tup[5][4] = {
		{ 0x0a000001, 80, 0x0a000002, 40000 }, { 0x0a000001, 80, 0x0a000002, 40001 },
		{ 0x0a000001, 81, 0x0a000002, 40000 }, { 0x0a000001, 80, 0x0a000003, 40000 },
		{ 0x0a000004, 80, 0x0a000002, 40000 },
	};
	const int order[] = { 0, 0, 1, 0, 2, 2, 3, 4, 0, 4, 1 };
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		const uint32_t *u = tup[order[k]];
		uint32_t w[3] = { u[0], u[2], u[1] << 16 | u[3] };
		uint64_t want = tcp_siphash(t->isn_key, w, 3);
		uint32_t m = (uint32_t)(h.now / 4000);      /* tcp_now: the harness clock */
		if (k % 2) {
			CHECK_EQ(tcp_isn(t, u[0], (uint16_t)u[1], u[2], (uint16_t)u[3]), m + (uint32_t)want);
			CHECK_EQ(tcp_hash(t, u[0], (uint16_t)u[1], u[2], (uint16_t)u[3]), (uint32_t)(want >> 32));
		} else {
			CHECK_EQ(tcp_hash(t, u[0], (uint16_t)u[1], u[2], (uint16_t)u[3]), (uint32_t)(want >> 32));
			CHECK_EQ(tcp_isn(t, u[0], (uint16_t)u[1], u[2], (uint16_t)u[3]), m + (uint32_t)want);
		}
		h.now += 4000 * 7;                      /* 7 ticks */
	}
	th_fini(&h);
}
