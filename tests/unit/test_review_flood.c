/*
 * Hostile review of the connection-flood fixes (commit 8093410, docs/review-flood.md):
 * receive buffers taken at the first byte, the per-host accept-queue share, and the
 * HTTP shedding grace. Each test states a suspicion; those named "..._bug" failed
 * before their fix, the others pin down behaviour the review found sound.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_tcp_harness.h"
#include "net/http_app.h"
#include "net/tcp_int.h"
#include <stdlib.h>

static const char index_html[] = "<!DOCTYPE html><h1>Skiff</h1>\n";
static const char get_root[] = "GET / HTTP/1.1\r\nHost: skiff\r\n\r\n";

/* ---- HTTP fixture (as test_http_app.c) ------------------------------------------------ */

struct app_fx {
	struct th h;
	struct http_site site;
	struct http_app a;
	void *mem;
};

static void fx_start_cfg(struct app_fx *f, uint32_t max_conns, uint64_t shed_after_ns)
{
	struct http_config cfg;
	th_init(&f->h, NULL);
	http_site_init(&f->site);
	REQUIRE(http_site_add(&f->site, "index.html", (const uint8_t *)index_html,
			      sizeof(index_html) - 1) == 0);
	http_config_default(&cfg);
	cfg.max_conns = max_conns;
	if (shed_after_ns)
		cfg.shed_after_ns = shed_after_ns;
	f->mem = calloc(1, http_app_mem_size(&cfg));
	REQUIRE(f->mem);
	REQUIRE(http_app_start(&f->a, &f->h.t, &cfg, &f->site, f->mem) == 0);
}

static void fx_advance(struct app_fx *f, uint64_t ns)
{
	th_advance(&f->h, ns);
	http_app_poll(&f->a, f->h.now);
}

static void fx_finish(struct app_fx *f, uint64_t base, int secs)
{
	for (int s = 0; s < secs && (f->h.t.nconns || f->a.nopen); s++) {
		fx_advance(f, TH_SEC);
		th_drain(&f->h);
	}
	CHECK_EQ(f->a.nopen, 0);
	CHECK_EQ(f->h.t.nconns, 0);
	CHECK_EQ(f->h.t.mem_used, base);
	tcp_close(f->a.listener);
	th_fini(&f->h);
	free(f->mem);
}

/* Steps of 10 ms for up to `ms`; true once a segment to port carries "HTTP/1.1 200". */
static bool served_within(struct app_fx *f, uint16_t port, int ms)
{
	struct th_seg s;
	for (int t = 0; t <= ms; t += 10) {
		while (th_pop(&f->h, &s))
			if (s.h.dport == port && s.dlen >= 12 && !memcmp(s.data, "HTTP/1.1 200", 12))
				return true;
		fx_advance(f, 10 * TH_MS);
	}
	return false;
}

/* A handshake whose final ACK the peer holds back for `delay`: the server's RTT sample
 * (and so the grace derived from it) is whatever the peer chooses, up to the SYN-ACK
 * timeout. */
static bool open_slow(struct app_fx *f, struct th_peer *p, uint32_t addr, uint16_t port, uint64_t delay)
{
	struct tcp_opts o = { .has = TCP_HAS_MSS, .mss = 1460 };
	struct th_seg s;
	bool got = false;
	peer_init(p, port, 80, 5000u + port);
	p->addr = addr;
	th_drain(&f->h);
	peer_send_opts(&f->h, p, TCP_SYN, &o, NULL, 0);
	while (!got && th_pop(&f->h, &s))
		got = s.h.flags == (TCP_SYN | TCP_ACK) && s.h.dport == port;
	if (!got)
		return false;
	p->ack = s.h.seq + 1;
	th_advance(&f->h, delay);
	th_drain(&f->h);
	peer_send(&f->h, p, TCP_ACK, NULL, 0);
	th_drain(&f->h);
	return true;
}

/* Suspicion: "capped at a second" holds for the silent grace too. It did not: the RTT
 * was capped, then doubled, so a peer that held its handshake ACK back for 0.9 s kept a
 * silent slot for 1.8 s. */
TEST(review_flood_silent_grace_capped_at_one_second_bug)
{
	struct app_fx f;
	struct th_peer a, q;
	fx_start_cfg(&f, 1, 0);
	uint64_t base = f.h.t.mem_used;
	REQUIRE(open_slow(&f, &a, 0x0b000001u, 30000, 900 * TH_MS));
	CHECK_EQ(f.a.nopen, 1);
	CHECK(f.a.conns[0].rtt_ns >= 800 * TH_MS);
	fx_advance(&f, 1100 * TH_MS);                   /* past any 1 s cap, silent all along */
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 60000, 50));
	CHECK_EQ(f.a.stats.shed, 1);
	fx_finish(&f, base, 600);
}

/* Suspicion: a peer that sends its request and its FIN, then never reads (zero window),
 * is not "stalled" (http_conn_stalled_since refused every half-closed connection), so
 * no newcomer could shed it: a handful of them held every slot for the send timeout
 * (30 s) while newcomers waited in the backlog. */
TEST(review_flood_half_closed_nonreader_is_sheddable_bug)
{
	static const char big[] = "GET /bytes/1000000 HTTP/1.1\r\nHost: x\r\n\r\n";
	struct app_fx f;
	struct th_peer p[4], q;
	fx_start_cfg(&f, 4, 0);
	uint64_t base = f.h.t.mem_used;
	for (int i = 0; i < 4; i++) {
		REQUIRE(th_peer_open(&f.h, 80, &p[i], 0x0b000001u + (uint32_t)i, (uint16_t)(30000 + i)));
		p[i].wnd = 0;
		peer_send(&f.h, &p[i], TCP_ACK | TCP_PSH | TCP_FIN, big, sizeof(big) - 1);
		th_drain(&f.h);
	}
	CHECK_EQ(f.a.nopen, 4);
	fx_advance(&f, 2 * TH_SEC);
	th_drain(&f.h);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 60000, 1000));
	CHECK(f.a.stats.shed >= 1);
	fx_finish(&f, base, 600);
}

/* Suspicion: since + grace overflows for a huge (but not "never") shed_after_ns, and the
 * retry time lands in the past: http_app_poll would then retry on every call. */
TEST(review_flood_retry_time_never_in_the_past_bug)
{
	struct app_fx f;
	struct th_peer a, q;
	fx_start_cfg(&f, 1, UINT64_MAX - 1);
	uint64_t base = f.h.t.mem_used;
	REQUIRE(th_peer_open(&f.h, 80, &a, 0x0b000001u, 30000));
	peer_send(&f.h, &a, TCP_ACK | TCP_PSH, "GET", 3);       /* not silent */
	th_drain(&f.h);
	fx_advance(&f, 10 * TH_MS);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	CHECK(f.a.accept_waiting);
	CHECK(f.a.accept_retry_ns >= f.h.now);
	peer_send(&f.h, &a, TCP_RST, NULL, 0);  /* end it: the slot frees, q gets it */
	fx_advance(&f, TH_MS);
	th_drain(&f.h);
	fx_finish(&f, base, 600);
}
