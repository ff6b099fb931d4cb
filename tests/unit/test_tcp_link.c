/*
 * Two TCP stacks over an in-memory link with a fixed-seed random loss, reordering
 * (per-packet jitter) and duplication; several megabytes must arrive byte-exact, in
 * every loss-recovery configuration (SACK/CUBIC, NewReno/Reno), and both stacks must
 * return every byte of memory and every packet.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/tcp_int.h"
#include <stdlib.h>

#define LINK_MAX 8192

struct frame {
	uint64_t due;
	uint32_t src, dst;
	uint16_t len;
	uint8_t to_b;
	uint8_t data[1600];
};

struct link {
	struct th *a, *b;
	struct frame *q;
	int n;
	uint64_t rng;
	uint32_t loss_ppm, dup_ppm, jitter_us, delay_us;
	uint64_t sent, lost, dups;
};

static uint64_t lrand(struct link *k)
{
	k->rng ^= k->rng << 13;
	k->rng ^= k->rng >> 7;
	k->rng ^= k->rng << 17;
	return k->rng;
}

static void enqueue(struct link *k, const uint8_t *d, uint16_t len, uint32_t src, uint32_t dst, bool to_b, uint64_t now)
{
	if (k->n >= LINK_MAX || len > sizeof(k->q[0].data))
		return;                         /* a full link drops, like a queue */
	struct frame *f = &k->q[k->n++];
	f->due = now + (uint64_t)k->delay_us * 1000 + (k->jitter_us ? lrand(k) % k->jitter_us * 1000 : 0);
	f->src = src;
	f->dst = dst;
	f->len = len;
	f->to_b = to_b;
	memcpy(f->data, d, len);
}

static void link_out(struct link *k, struct pkt *p, uint32_t src, uint32_t dst, bool to_b, uint64_t now)
{
	k->sent++;
	if (lrand(k) % 1000000 < k->loss_ppm) {
		k->lost++;
	} else {
		enqueue(k, pkt_data(p), p->len, src, dst, to_b, now);
		if (lrand(k) % 1000000 < k->dup_ppm) {
			k->dups++;
			enqueue(k, pkt_data(p), p->len, src, dst, to_b, now);
		}
	}
	pkt_free(p);
}

static struct link *the_link;   /* test-only glue for the hook context */

static void hook_a(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct link *k = ctx;
	link_out(k, p, src, dst, true, k->a->now);
}

static void hook_b(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct link *k = ctx;
	link_out(k, p, src, dst, false, k->b->now);
}

/* Delivers every frame due by now, earliest first. */
static void link_deliver(struct link *k, uint64_t now)
{
	for (;;) {
		int best = -1;
		for (int i = 0; i < k->n; i++)
			if (k->q[i].due <= now && (best < 0 || k->q[i].due < k->q[best].due))
				best = i;
		if (best < 0)
			return;
		struct frame f = k->q[best];
		k->q[best] = k->q[--k->n];
		struct th *to = f.to_b ? k->b : k->a;
		th_inject_raw(to, f.src, f.dst, f.data, f.len, false);
	}
}

static uint8_t stream_byte(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;
	return (uint8_t)(x >> 56 ^ x >> 29);
}

struct xfer_result {
	uint64_t received, retrans, sack_rec, reno_rec, timeouts;
	bool intact, eof, done;
	uint64_t sim_ms;
};

static uint8_t refbuf[1 << 16];

static void refs_done(void *arg, int err)
{
	(void)err;
	(*(int *)arg)--;
}

/* A sends total bytes to B (half copied, half by reference); B verifies. */
static struct xfer_result transfer(const struct tcp_config *cfg, uint64_t total, uint32_t loss_ppm,
				   uint32_t dup_ppm, uint32_t jitter_us, uint64_t seed)
{
	static struct th a, b;
	struct link k = { .a = &a, .b = &b, .rng = seed, .loss_ppm = loss_ppm, .dup_ppm = dup_ppm,
			  .jitter_us = jitter_us, .delay_us = 5000 };
	k.q = calloc(LINK_MAX, sizeof(*k.q));
	the_link = &k;
	th_init(&a, cfg);
	th_init(&b, cfg);
	b.addr = TH_PEER;
	b.rng ^= seed;
	a.rng ^= seed * 3;
	tcp_init(&b.t, &b.env, cfg, b.now);
	tcp_init(&a.t, &a.env, cfg, a.now);
	a.hook = hook_a;
	a.hctx = &k;
	b.hook = hook_b;
	b.hctx = &k;
	for (size_t i = 0; i < sizeof(refbuf); i++)
		refbuf[i] = stream_byte(i);
	struct xfer_result r = { .intact = true };
	struct tcp_sock *l, *sa = NULL, *sb = NULL;
	if (tcp_listen(&b.t, 0, 5001, 8, th_cb, &b, &l) != 0 ||
	    tcp_connect(&a.t, 0, TH_PEER, 5001, th_cb, &a, &sa) != 0) {
		r.intact = false;
		goto out;
	}
	uint64_t sent = 0;
	int refs_out = 0;
	bool shut = false;
	uint64_t t0 = a.now;
	for (uint64_t ms = 0; ms < 600000 && !r.done; ms++) {
		a.now += TH_MS;
		b.now = a.now;
		link_deliver(&k, a.now);
		tcp_poll(&a.t, a.now);
		tcp_poll(&b.t, b.now);
		if (!sb && tcp_accept(l, &sb) == 0)
			tcp_set_callback(sb, th_cb, &b);
		/* Sender: alternate copies and references (of a 64 KiB window of the
		 * stream, aligned so stream offsets match). */
		while (sa && !shut && sent < total && (tcp_ready(sa) & TCP_EV_CONNECTED)) {
			uint64_t off = sent % sizeof(refbuf);
			uint64_t n = sizeof(refbuf) - off;
			if (n > total - sent)
				n = total - sent;
			if (n > 3000)
				n = 3000;
			if ((sent / 3000) % 2) {
				if (tcp_send_ref(sa, refbuf + off, n, refs_done, &refs_out) != 0)
					break;
				refs_out++;
				sent += n;
			} else {
				long w = tcp_send(sa, refbuf + off, n);
				if (w <= 0)
					break;
				sent += (uint64_t)w;
			}
		}
		if (sa && !shut && sent == total) {
			tcp_shutdown(sa, TCP_SHUT_WR);
			shut = true;
		}
		/* Receiver: read and compare. */
		if (sb) {
			uint8_t buf[8192];
			long n;
			while ((n = tcp_recv(sb, buf, sizeof(buf))) > 0) {
				for (long i = 0; i < n; i++)
					if (buf[i] != refbuf[(r.received + (uint64_t)i) % sizeof(refbuf)])
						r.intact = false;
				r.received += (uint64_t)n;
			}
			if (n == 0 && !r.eof) {
				r.eof = true;
				tcp_close(sb);          /* FIN back */
				sb = NULL;
			}
		}
		if (r.eof && sa && (tcp_ready(sa) & TCP_EV_RECV) && tcp_recv(sa, (uint8_t[1]){ 0 }, 1) == 0) {
			tcp_close(sa);
			sa = NULL;
		}
		if (r.eof && !sa && refs_out == 0)
			r.done = true;
	}
	r.sim_ms = (a.now - t0) / TH_MS;
	r.retrans = a.t.mib[TCP_MIB_RetransSegs];
	r.sack_rec = a.t.mib[TCP_MIB_TCPSackRecovery];
	r.reno_rec = a.t.mib[TCP_MIB_TCPRenoRecovery];
	r.timeouts = a.t.mib[TCP_MIB_TCPTimeouts];
	/* Let both finish their closes, then nothing may be left but TIME-WAIT. */
	for (int i = 0; i < 200; i++) {
		a.now += 10 * TH_MS;
		b.now = a.now;
		link_deliver(&k, a.now);
		tcp_poll(&a.t, a.now);
		tcp_poll(&b.t, b.now);
	}
	CHECK_EQ(b.t.nestab, 0);
	CHECK_EQ(a.t.nestab, 0);
	CHECK_EQ(a.t.nconns, a.t.ntw);                  /* only TIME-WAIT is left */
	CHECK_EQ(b.t.nconns, b.t.ntw);
	CHECK(a.t.ntw + b.t.ntw <= 1);
	CHECK_EQ(refs_out, 0);
	tcp_close(l);
out:
	if (sa)
		tcp_abort(sa);
	if (sb)
		tcp_abort(sb);
	th_fini(&a);
	th_fini(&b);
	free(k.q);
	if (k.sent)
		printf("    link: %llu frames, %llu lost, %llu duplicated, %llu ms simulated; "
		       "sender: %llu retransmitted, %llu SACK / %llu NewReno recoveries, %llu timeouts\n",
		       (unsigned long long)k.sent, (unsigned long long)k.lost,
		       (unsigned long long)k.dups, (unsigned long long)r.sim_ms,
		       (unsigned long long)r.retrans, (unsigned long long)r.sack_rec,
		       (unsigned long long)r.reno_rec, (unsigned long long)r.timeouts);
	return r;
}

TEST(tcp_link_4mb_sack_cubic_lossy)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 256 * 1024;
	cfg.sndbuf = 256 * 1024;
	struct xfer_result r = transfer(&cfg, 4u << 20, 20000, 5000, 3000, 1);
	CHECK(r.done);
	CHECK(r.sack_rec > 0);
	CHECK(r.intact);
	CHECK_EQ(r.received, 4u << 20);
}

TEST(tcp_link_3mb_newreno_reno_lossy)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.sack = false;
	cfg.timestamps = false;
	cfg.cc = TCP_CC_RENO;
	struct xfer_result r = transfer(&cfg, 3u << 20, 15000, 5000, 3000, 7);
	CHECK(r.done);
	CHECK(r.reno_rec > 0 && r.sack_rec == 0);
	CHECK(r.intact);
	CHECK_EQ(r.received, 3u << 20);
}

TEST(tcp_link_2mb_heavy_loss_reorder)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	struct xfer_result r = transfer(&cfg, 2u << 20, 80000, 20000, 8000, 42);
	CHECK(r.done);
	CHECK(r.intact);
	CHECK_EQ(r.received, 2u << 20);
}

TEST(tcp_link_clean_fast)
{
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.rcvbuf = 1 << 20;
	cfg.sndbuf = 1 << 20;
	struct xfer_result r = transfer(&cfg, 8u << 20, 0, 0, 0, 3);
	CHECK(r.done);
	CHECK(r.intact);
	CHECK(r.sim_ms < 2000);         /* no loss: window-limited, ~100 MB/s at 10 ms RTT */
}
