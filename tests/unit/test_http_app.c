/*
 * The HTTP glue (http_app.c) over the TCP harness: hostile clients by the thousand
 * (idle, trickling headers, never reading, never acknowledging, half-open) and a new
 * client still gets "/" within a second; afterwards memory returns to the baseline.
 */
#include "tests/unit/http_app_fx.h"
#include "net/tcp_int.h"
#include "net/http_endpoints.h"

/* Slots full of idle connections: the newest client is served, the idlest goes. */
TEST(http_app_full_slots_shed_idlest)
{
	struct app_fx f;
	struct th_peer p[5], q;
	fx_start(&f, 4);
	uint64_t base = f.h.t.mem_used;
	for (int i = 0; i < 4; i++) {
		REQUIRE(th_peer_open(&f.h, 80, &p[i], 0, (uint16_t)(41000 + i)));
		fx_advance(&f, 100 * TH_MS);
	}
	CHECK_EQ(f.a.nopen, 4);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0, 42000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 42000, 1000));
	CHECK_EQ(f.a.stats.shed, 1);
	CHECK_EQ(f.a.srv.stats.conns_shed, 1);
	CHECK_EQ(f.a.stats.rejected_503, 0);
	fx_finish(&f, base, 400);
}

enum hostile { IDLE, TRICKLE, NO_READ, NO_ACK, HALF_OPEN, NKIND };

/* One hostile client of the given kind from addr:port; its peer state stays in *p. */
static void hostile(struct app_fx *f, struct th_peer *p, enum hostile k, uint32_t addr, uint16_t port)
{
	static const char trickle[] = "GET / HTTP/1.1\r\nHo";
	static const char big[] = "GET /bytes/1000000 HTTP/1.1\r\nHost: x\r\n\r\n";
	if (k == HALF_OPEN) {
		peer_init(p, port, 80, 7000u + port);
		p->addr = addr;
		peer_send(&f->h, p, TCP_SYN, NULL, 0);  /* and never the ACK */
		th_drain(&f->h);
		return;
	}
	if (!th_peer_open(&f->h, 80, p, addr, port))
		return;
	if (k == TRICKLE)
		peer_send(&f->h, p, TCP_ACK | TCP_PSH, trickle, sizeof(trickle) - 1);
	if (k == NO_READ) {
		p->wnd = 0;                             /* reads nothing, ever */
		peer_send(&f->h, p, TCP_ACK | TCP_PSH, big, sizeof(big) - 1);
	}
	if (k == NO_ACK)
		peer_send(&f->h, p, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	th_drain(&f->h);
}

#define FLOOD 2000

/* The goal of the hardening issue: thousands of hostile connections from many hosts,
 * and a new client still gets "/" within a second; once they stop, every TCB, slot and
 * byte of TCP memory is back. */
TEST(http_app_hostile_flood_new_client_served)
{
	static struct th_peer peers[FLOOD];
	struct app_fx f;
	struct th_peer q;
	fx_start(&f, 64);
	uint64_t base = f.h.t.mem_used, peak = 0;
	for (int i = 0; i < FLOOD; i++) {
		uint32_t addr = 0x0b000000u + (uint32_t)(i % 200);
		hostile(&f, &peers[i], (enum hostile)(i % NKIND), addr, (uint16_t)(20000 + i));
		if (i % 10 == 0) {
			/* tricklers send one more byte now and then (a head never completes) */
			for (int j = i - 50; j < i; j++)
				if (j >= 0 && j % NKIND == TRICKLE)
					peer_send(&f.h, &peers[j], TCP_ACK | TCP_PSH, "s", 1);
			fx_advance(&f, 2 * TH_MS);
			th_drain(&f.h);
		}
		peak = f.h.t.mem_used > peak ? f.h.t.mem_used : peak;
	}
	CHECK(peak <= f.h.t.cfg.mem_max);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 60000, 1000));
	fprintf(stderr, "    %d hostile: shed %llu, 503 %llu, TCBs %u, orphans %u, TCP memory peak %llu of %llu\n",
		FLOOD, (unsigned long long)f.a.stats.shed, (unsigned long long)f.a.stats.rejected_503,
		f.h.t.nconns, f.h.t.norphans, (unsigned long long)peak,
		(unsigned long long)f.h.t.cfg.mem_max);
	CHECK(f.a.stats.shed > 0);
	fx_finish(&f, base, 600);
}

/* A burst of connections right behind a new client (a backlog of handshakes released
 * at once): every slot then holds a connection as young as the client, and the client
 * must not be the one shed to make room for them; they wait or get 503. */
TEST(http_app_burst_behind_new_client_does_not_shed_it)
{
	static struct th_peer peers[64];
	struct app_fx f;
	struct th_peer old[4], q;
	fx_start(&f, 8);
	uint64_t base = f.h.t.mem_used;
	for (int i = 0; i < 4; i++)
		hostile(&f, &old[i], IDLE, 0x0b000001u, (uint16_t)(30000 + i));
	fx_advance(&f, 500 * TH_MS);
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	for (int i = 0; i < 64; i++) {
		th_advance(&f.h, 10000);        /* 10 us apart, as one loop turn takes them */
		hostile(&f, &peers[i], IDLE, 0x0b000002u + (uint32_t)(i % 8), (uint16_t)(20000 + i));
	}
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK(served_within(&f, 60000, 1000));
	CHECK(f.a.stats.shed >= 4);             /* the four old idle ones made room */
	fx_finish(&f, base, 600);
}

/* Every slot within its grace: the newcomer is not refused but waits in TCP's accept
 * queue, and takes the slot of the longest-stalled once that one's grace is over. */
TEST(http_app_newcomer_waits_for_grace_not_503)
{
	struct app_fx f;
	struct th_peer p[4], q;
	fx_start(&f, 4);
	uint64_t base = f.h.t.mem_used;
	for (int i = 0; i < 4; i++)
		hostile(&f, &p[i], TRICKLE, 0x0b000001u, (uint16_t)(30000 + i));
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	peer_send(&f.h, &q, TCP_ACK | TCP_PSH, get_root, sizeof(get_root) - 1);
	CHECK_EQ(f.a.stats.accepted, 4);        /* queued: every trickler is in its grace */
	CHECK_EQ(f.a.stats.shed, 0);
	CHECK(served_within(&f, 60000, 100));
	CHECK_EQ(f.a.stats.shed, 1);
	CHECK_EQ(f.a.stats.rejected_503, 0);
	fx_finish(&f, base, 600);
}

/* A generated body is written straight into TCP's send buffer (tcp_send_fill, no staging
 * copy): every byte of a 300 kB /bytes body and of a ranged one arrives, in order,
 * equal to http_bytes_fill's, and only the heads went through tcp_send. */
TEST(http_app_generated_body_filled_in_place)
{
	static uint8_t got[300000 + 1024], want[300000];
	static const char *req[] = {
		"GET /bytes/300000 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /bytes/300000 HTTP/1.1\r\nHost: a\r\nRange: bytes=12345-99999\r\n\r\n",
	};
	static const uint64_t off[] = { 0, 12345 }, len[] = { 300000, 99999 - 12345 + 1 };
	struct app_fx f;
	struct th_peer q;
	struct th_seg s;
	fx_start(&f, 8);
	uint64_t base = f.h.t.mem_used;
	REQUIRE(th_peer_open(&f.h, 80, &q, 0x0a000002u, 60000));
	for (int r = 0; r < 2; r++) {
		size_t n = 0, body = 0, head = 0;
		peer_send(&f.h, &q, TCP_ACK | TCP_PSH, req[r], strlen(req[r]));
		for (int turn = 0; turn < 20000 && (!head || n < head + len[r]); turn++) {
			while (th_pop(&f.h, &s)) {
				REQUIRE(s.h.seq == q.ack);      /* no loss here: in order */
				REQUIRE(n + s.dlen <= sizeof(got));
				memcpy(got + n, s.data, s.dlen);
				n += s.dlen;
				q.ack += s.dlen;
			}
			for (size_t i = 3; !head && i < n; i++)
				if (!memcmp(got + i - 3, "\r\n\r\n", 4))
					head = i + 1;
			peer_send(&f.h, &q, TCP_ACK, NULL, 0);
			fx_advance(&f, 100000);
		}
		REQUIRE(head);
		body = n - head;
		CHECK_EQ(body, len[r]);
		http_bytes_fill(300000, off[r], want, (size_t)len[r]);
		CHECK(body == len[r] && memcmp(got + head, want, body) == 0);
	}
	CHECK(f.a.stats.send_fills > 0);
	CHECK_EQ(f.a.stats.send_copies, 2);             /* the two heads */
	fx_finish(&f, base, 400);
}
