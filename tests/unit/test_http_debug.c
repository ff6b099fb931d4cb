/* /debug/ endpoints through the HTTP server's handler hook: who may look, pcapng from the
 * capture ring (counted and streaming), the trace as JSON lines, stats.json, and the
 * capture released however the response ends. */
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/http_debug.h"

struct dbg_fx {
	struct test_net t;
	struct http_server srv;
	struct http_debug dbg;
	struct http_conn conn;
	void *ring;
	char out[65536];
	size_t out_len;
};

static struct dbg_fx *dfx_new(int mode)
{
	struct dbg_fx *f = calloc(1, sizeof(*f));
	struct http_config cfg;
	tn_init_peer(&f->t);
	f->ring = malloc(CAPTURE_RING_BYTES);
	capture_ring_setup(&f->t.s.cap, f->ring, CAPTURE_RING_BYTES);
	http_config_default(&cfg);
	http_server_init(&f->srv, &cfg, NULL);
	http_debug_init(&f->dbg, &f->t.s, mode);
	f->srv.handler = &f->dbg.handler;
	http_conn_init(&f->conn, &f->srv, 0);
	f->conn.peer_addr = ip("10.0.0.2");
	f->conn.peer_port = 40000;
	f->conn.local_addr = ip("10.0.0.1");
	f->conn.local_port = 80;
	return f;
}

static int dfx_free(struct dbg_fx *f)
{
	http_conn_fini(&f->conn);
	int leaks = tn_fini(&f->t);
	free(f->ring);
	free(f);
	return leaks;
}

static void pump(struct dbg_fx *f)
{
	const uint8_t *p;
	size_t n;
	while (http_conn_peek(&f->conn, &p, &n)) {
		if (f->out_len + n > sizeof(f->out))
			n = sizeof(f->out) - f->out_len;
		memcpy(f->out + f->out_len, p, n);
		f->out_len += n;
		http_conn_advance(&f->conn, n);
		if (!n)
			break;
	}
}

static void get(struct dbg_fx *f, const char *target)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: skiff\r\n\r\n", target);
	http_conn_input(&f->conn, req, (size_t)n, 0);
	pump(f);
}

/* The body of a chunked response in f->out (after the head), into body; -1 if the
 * chunked framing is broken; *ended = the last-chunk was seen. */
static long dechunk(const struct dbg_fx *f, uint8_t *body, size_t cap, int *ended)
{
	const char *s = strstr(f->out, "\r\n\r\n");
	size_t at, len = 0;
	*ended = 0;
	if (!s)
		return -1;
	at = (size_t)(s + 4 - f->out);
	while (at < f->out_len) {
		size_t sz = 0, k = at;
		while (k < f->out_len && f->out[k] != '\r') {
			char c = f->out[k++];
			sz = sz * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		if (k + 2 > f->out_len)
			return -1;
		at = k + 2;
		if (sz == 0) {
			*ended = 1;
			return (long)len;
		}
		if (at + sz + 2 > f->out_len || len + sz > cap)
			return -1;
		memcpy(body + len, f->out + at, sz);
		len += sz;
		at += sz + 2;
	}
	return (long)len;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* pcapng block types in order; returns the count. */
static int blocks(const uint8_t *b, long len, uint32_t *types, int max)
{
	int n = 0;
	for (long at = 0; at + 12 <= len && n < max; n++) {
		types[n] = le32(b + at);
		at += le32(b + at + 4);
	}
	return n;
}

static void echo(struct dbg_fx *f, uint16_t seq)
{
	uint8_t buf[128];
	size_t n = frame_icmp_echo(buf, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				   ICMP_ECHO, 7, seq, 8);
	fake_netdev_rx(&f->t.f, &f->t.s, buf, n);
	tn_advance(&f->t, NET_NS_PER_MS);
	fake_netdev_drop_all(&f->t.f);
}

TEST(http_debug_pcap_counted)
{
	struct dbg_fx *f = dfx_new(HTTP_DEBUG_LOCAL);
	static uint8_t body[65536];
	uint32_t types[8];
	int ended;
	get(f, "/debug/pcap?f=icmp&c=3");
	CHECK(strncmp(f->out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(f->out, "Content-Type: application/vnd.tcpdump.pcap\r\n") != NULL);
	CHECK(strstr(f->out, "Transfer-Encoding: chunked\r\n") != NULL);
	CHECK(f->t.s.cap.ring_busy);
	echo(f, 1);
	echo(f, 2);
	pump(f);
	long n = dechunk(f, body, sizeof(body), &ended);
	CHECK_EQ(ended, 1);                     /* the third frame ended it */
	REQUIRE(n > 0);
	CHECK_EQ(blocks(body, n, types, 8), 5);
	CHECK_EQ(types[0], 0x0A0D0D0Au);        /* SHB, IDB, then 3 EPBs */
	CHECK_EQ(types[1], 1);
	CHECK_EQ(types[2], 6);
	CHECK_EQ(types[4], 6);
	CHECK(!f->t.s.cap.ring_busy);           /* released when the response finished */
	CHECK(f->t.s.core.tap == NULL);
	CHECK_EQ(f->dbg.st.pcap_started, 1);
	CHECK_EQ(dfx_free(f), 0);
}

TEST(http_debug_pcap_streams_and_releases_on_close)
{
	struct dbg_fx *f = dfx_new(HTTP_DEBUG_LOCAL);
	static uint8_t body[65536];
	uint32_t types[16];
	int ended;
	get(f, "/debug/pcap?f=icmp");
	echo(f, 1);
	pump(f);
	long n = dechunk(f, body, sizeof(body), &ended);
	CHECK_EQ(ended, 0);
	CHECK_EQ(blocks(body, n, types, 16), 4);        /* SHB, IDB, request, reply */
	/* Idle: an Interface Statistics Block now and then keeps the stream moving. */
	tn_advance(&f->t, HTTP_DEBUG_IDLE_NS);
	pump(f);
	n = dechunk(f, body, sizeof(body), &ended);
	CHECK_EQ(blocks(body, n, types, 16), 5);
	CHECK_EQ(types[4], 5);
	/* A second capture meanwhile: 503. */
	struct http_conn other;
	http_conn_init(&other, &f->srv, 0);
	other.peer_addr = ip("10.0.0.2");
	const char *req = "GET /debug/pcap HTTP/1.1\r\nHost: x\r\n\r\n";
	http_conn_input(&other, req, strlen(req), 0);
	const uint8_t *p;
	size_t len;
	CHECK(http_conn_peek(&other, &p, &len) && memcmp(p, "HTTP/1.1 503", 12) == 0);
	http_conn_fini(&other);
	CHECK_EQ(f->dbg.st.pcap_busy, 1);
	/* The client goes away: the ring is free again. */
	http_conn_fini(&f->conn);
	CHECK(!f->t.s.cap.ring_busy);
	CHECK(f->t.s.core.tap == NULL);
	CHECK_EQ(dfx_free(f), 0);
}

TEST(http_debug_own_connection_left_out)
{
	struct dbg_fx *f = dfx_new(HTTP_DEBUG_LOCAL);
	get(f, "/debug/pcap?c=1&f=tcp");
	/* A segment of the capturing connection itself, then one of another. */
	uint8_t tcp[20] = { 0x9c, 0x40, 0x00, 0x50 };   /* 40000 -> 80 */
	tcp[12] = 0x50;
	uint8_t buf[128];
	size_t n = frame_ipv4(buf, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 6, tcp, 20);
	fake_netdev_rx(&f->t.f, &f->t.s, buf, n);
	CHECK_EQ(f->t.s.cap.ring_taken, 0);
	tcp[1] = 0x41;                                  /* 40001 -> 80 */
	n = frame_ipv4(buf, test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 6, tcp, 20);
	fake_netdev_rx(&f->t.f, &f->t.s, buf, n);
	CHECK_EQ(f->t.s.cap.ring_taken, 1);
	tn_advance(&f->t, NET_NS_PER_MS);
	fake_netdev_drop_all(&f->t.f);
	CHECK_EQ(dfx_free(f), 0);
}

TEST(http_debug_who_may_look_and_bad_queries)
{
	static const struct { int mode; const char *peer, *target; const char *status; } cases[] = {
		{ HTTP_DEBUG_LOCAL, "192.168.5.5", "/debug/pcap?c=1", "HTTP/1.1 403" },
		{ HTTP_DEBUG_OFF, "10.0.0.2", "/debug/stats.json", "HTTP/1.1 403" },
		{ HTTP_DEBUG_ON, "192.168.5.5", "/debug/stats.json", "HTTP/1.1 200" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/pcap?f=tcp+port+99999", "HTTP/1.1 400" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/pcap?f=%zz", "HTTP/1.1 400" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/pcap?f=%4", "HTTP/1.1 400" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/pcap?c=0", "HTTP/1.1 400" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/pcap?c=-1", "HTTP/1.1 400" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/trace?c=abc", "HTTP/1.1 400" },
		{ HTTP_DEBUG_LOCAL, "10.0.0.2", "/debug/nothing", "HTTP/1.1 404" },
		{ HTTP_DEBUG_OFF, "10.0.0.2", "/metrics", "HTTP/1.1 200" },     /* not ours */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dbg_fx *f = dfx_new(cases[i].mode);
		f->conn.peer_addr = ip(cases[i].peer);
		get(f, cases[i].target);
		CHECK(strncmp(f->out, cases[i].status, 12) == 0);
		if (strncmp(f->out, cases[i].status, 12) != 0)
			printf("    case %zu: %.40s\n", i, f->out);
		CHECK_EQ(f->dbg.st.forbidden, strcmp(cases[i].status, "HTTP/1.1 403") == 0 ? 1u : 0u);
		CHECK(!f->t.s.cap.ring_busy && !f->t.s.cap.trace.active);
		CHECK_EQ(dfx_free(f), 0);
	}
}

TEST(http_debug_trace_and_stats)
{
	struct dbg_fx *f = dfx_new(HTTP_DEBUG_LOCAL);
	static uint8_t body[65536];
	int ended;
	get(f, "/debug/trace?f=icmp&c=2");
	CHECK(strstr(f->out, "Content-Type: application/jsonl\r\n") != NULL);
	echo(f, 1);
	pump(f);
	long n = dechunk(f, body, sizeof(body) - 1, &ended);
	REQUIRE(n > 0);
	body[n] = 0;
	CHECK_EQ(ended, 1);
	CHECK(strstr((char *)body, "{\"id\":1,\"total_ns\":0,\"steps\":[{\"ns\":0,\"layer\":\"drv\",\"event\":\"rx\","
				   "\"text\":\"rx eth0 50B\"}") != NULL);
	CHECK(strstr((char *)body, "\"event\":\"tx\",\"text\":\"tx eth0 60B\"}]}\n") != NULL);
	CHECK(!f->t.s.cap.trace.active);
	CHECK(f->t.s.core.tracer == NULL);
	/* stats.json on the same (keep-alive) connection */
	f->out_len = 0;
	memset(f->out, 0, sizeof(f->out));
	get(f, "/debug/stats.json");
	n = dechunk(f, body, sizeof(body) - 1, &ended);
	REQUIRE(n > 0);
	body[n] = 0;
	CHECK_EQ(ended, 1);
	CHECK(strncmp((char *)body, "{\"now_ms\":", 10) == 0);
	CHECK(strstr((char *)body, "\"ifaces\":[{\"name\":\"eth0\",\"link_up\":1,") != NULL);
	CHECK(strstr((char *)body, "\"IcmpInEchos\":1") != NULL);
	/* the reply's trace ends first: it is sent from inside the request's delivery */
	CHECK(strstr((char *)body, "\"traces\":[{\"id\":2,") != NULL);
	CHECK(strstr((char *)body, "]},{\"id\":1,") != NULL);
	CHECK(strstr((char *)body, "}\n") != NULL);
	CHECK_EQ(dfx_free(f), 0);
}
