/*
 * Hostile review of the scatter-gather transmit path, the nothing_to_send() early return
 * of tcp_output and the delayed ACK of a FIN (docs/review-sg.md). Each test states a
 * suspicion; a test named "..._bug" failed on main before its fix (the fix is named in
 * the doc), the others pin down behaviour found sound.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/trace.h"
#include "net/tcp_int.h"
#include <stdlib.h>

/* ==== (a) readers of a frame's bytes past its linear part =========================== */

struct rs_match {
	int calls;
	size_t len;
	int tail_ok;            /* the last byte the filter sees is the frame's real last byte */
};

static int rs_match_fn(void *ctx, const uint8_t *frame, size_t len)
{
	struct rs_match *m = ctx;
	m->calls++;
	m->len = len;
	m->tail_ok = len > 0 && frame[len - 1] == 0xa5;
	return 0;               /* not traced: nothing else to set up */
}

static void rs_done(void *ctx, const struct trace_rec *r, int n)
{
	(void)ctx, (void)r, (void)n;
}

/* Suspicion: net_trace_tx_start (ipv4 output, with a tracer attached) gives the filter
 * p->len bytes from the slot. With p->ext the slot holds only the headers: the filter
 * reads up to 64 KiB of whatever follows them (another slot's bytes, or past the pool)
 * and decides on garbage. The filter must see the frame's real bytes. */
TEST(review_sg_trace_tx_filter_reads_past_linear_part_bug)
{
	static struct test_net t;
	static struct net_tracer tr;
	static uint8_t tail[3000];
	struct rs_match m = { 0 };
	tn_init_peer(&t);
	net_trace_init(&tr);
	tr.match = rs_match_fn;
	tr.done = rs_done;
	tr.ctx = &m;
	net_trace_attach(&t.s.core, &tr);
	memset(tail, 0x11, sizeof(tail));
	tail[sizeof(tail) - 1] = 0xa5;
	struct pkt *p = pkt_alloc(&t.txbig);
	REQUIRE(p);
	uint8_t *h = pkt_put(p, 40);            /* IPv4 + TCP headers in the slot */
	memset(h, 0, 40);
	h[0] = 0x45;
	h[9] = 6;
	/* what lies in the slot behind the headers is not the frame */
	memset(h + 40, 0x5a, 4000);
	p->ext = tail;
	p->ext_len = sizeof(tail);
	p->len += sizeof(tail);
	net_trace_tx_start(&t.s.core, p);
	CHECK_EQ(m.calls, 1);
	CHECK_EQ(m.len, 14 + 40 + sizeof(tail));
	CHECK(m.tail_ok);
	pkt_free(p);
	net_trace_detach(&t.s.core);
	CHECK_EQ(tn_fini(&t), 0);
}
