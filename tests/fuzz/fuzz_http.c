/*
 * libFuzzer over the HTTP server's input path (make fuzz-http). The input is request
 * bytes, exactly as a client would send them. Each run:
 *   1. frames and parses every head in an exactly-sized heap copy, so ASan sees any
 *      read past the bytes received (inside struct http_conn it could not);
 *   2. feeds the input to one connection all at once and to another in pieces whose
 *      sizes come from a hash of the input, drains both like the glue (peek/advance,
 *      re-offering what input did not take; the piecewise one also takes generated
 *      bodies through http_conn_gen), and requires byte-identical output: the answer
 *      must not depend on how TCP segmented the request or how the body was taken;
 *   3. checks the output starts with a status line and the connection state settles.
 * Output is capped (OUT_MAX) so /bytes/67108864 does not make runs slow; both sides
 * stop at the same byte. The server configuration also varies with the hash.
 */
#include "tests/host_panic.h"
#include "net/http_server.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX (256u << 10)
#define BIG 65536


struct out {
	uint8_t *p;
	size_t len;
	bool full;
};

/* Like the glue: the piecewise connection also takes generated bodies straight into
 * the output (http_conn_gen, in odd-sized pieces), so the comparison checks that path
 * against peek's staging. */
static void drain(struct http_conn *c, struct out *o, bool gen)
{
	const uint8_t *p;
	size_t n;
	while (!o->full) {
		size_t g = gen ? http_conn_gen_pending(c) : 0;
		if (g) {
			size_t k = 1 + o->len % 7001;
			k = k < g ? k : g;
			k = k < OUT_MAX - o->len ? k : OUT_MAX - o->len;
			http_conn_gen(c, o->p + o->len, k);
			o->len += k;
			o->full = o->len == OUT_MAX;
			continue;
		}
		if (!http_conn_peek(c, &p, &n))
			break;
		if (n == 0)
			abort();        /* an extent is never empty */
		size_t k = n < OUT_MAX - o->len ? n : OUT_MAX - o->len;
		memcpy(o->p + o->len, p, k);
		o->len += k;
		http_conn_advance(c, k);
		o->full = o->len == OUT_MAX;
	}
}

/* Feeds data[0..len) in pieces (piece == 0: all at once). */
static void run(struct http_conn *c, const uint8_t *data, size_t len, uint64_t seed, bool pieces,
		struct out *o)
{
	size_t off = 0;
	while (off < len && !o->full) {
		size_t k = len - off;
		if (pieces) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			size_t r = (size_t)(seed >> 33);
			k = 1 + (r % 4 == 0 ? r % 4096 : r % 17);
			if (k > len - off)
				k = len - off;
		}
		size_t used = http_conn_input(c, data + off, k, 0);
		off += used;
		size_t before = o->len;
		drain(c, o, pieces);
		if (used == 0 && o->len == before)
			abort();        /* input refused with nothing to send: a deadlock */
	}
	drain(c, o, pieces);
}

/* Every head in data, parsed from an exactly-sized copy. */
static void parse_heads(const uint8_t *data, size_t len, const struct http_limits *lim)
{
	size_t off = 0;
	while (off < len) {
		while (len - off >= 2 && data[off] == '\r' && data[off + 1] == '\n')
			off += 2;
		size_t n = len - off;
		if (n == 0)
			break;
		char *buf = malloc(n);
		memcpy(buf, data + off, n);
		struct http_scan scan = { 0, 0 };
		size_t head_len = 0;
		enum http_perr why;
		int st = http_head_scan(buf, n, &scan, lim, &head_len, &why);
		free(buf);
		if (st != HTTP_HEAD_DONE)
			break;
		char *head = malloc(head_len);
		memcpy(head, data + off, head_len);
		struct http_request req;
		st = http_parse_head(head, head_len, lim, &req, &why);
		if (st == 0) {
			if (req.path_len == 0 || req.path[0] != '/')
				abort();
			uint64_t o, l;
			if (http_range_resolve(&req.range, 1000, &o, &l) == 206 && (l == 0 || o + l > 1000))
				abort();
		} else if (st < 400 || st > 505 || (why == HTTP_PERR_NONE && st != 405)) {
			abort();
		}
		free(head);
		off += head_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t big[BIG];
	static struct http_site site;
	static struct http_server srv_a, srv_b;
	static uint8_t out_a[OUT_MAX], out_b[OUT_MAX];

	if (!site.n) {
		for (size_t i = 0; i < BIG; i++)
			big[i] = (uint8_t)(i * 31 + 7);
		http_site_init(&site);
		http_site_add(&site, "index.html", (const uint8_t *)"<h1>fuzz</h1>\n", 14);
		http_site_add(&site, "a/b.css", (const uint8_t *)"a{}", 3);
		http_site_add(&site, "a/index.html", (const uint8_t *)"sub", 3);
		http_site_add(&site, "big.bin", big, BIG);
		http_site_add(&site, "empty", (const uint8_t *)"", 0);
	}

	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;

	struct http_config cfg;
	http_config_default(&cfg);
	static const uint32_t heads[] = { HTTP_HEAD_MAX, 1024, 300 };
	cfg.max_head = heads[h % 3];
	cfg.max_target = cfg.max_head == HTTP_HEAD_MAX ? HTTP_TARGET_MAX : cfg.max_head / 2;
	cfg.max_pipeline = 1 + (uint32_t)((h >> 8) % HTTP_PIPELINE_MAX);
	http_server_init(&srv_a, &cfg, &site);
	http_server_init(&srv_b, &cfg, &site);

	struct http_limits lim = { srv_a.cfg.max_head, srv_a.cfg.max_target };
	parse_heads(data, len, &lim);

	struct http_conn *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct out oa = { out_a, 0, false }, ob = { out_b, 0, false };
	http_conn_init(a, &srv_a, 0);
	http_conn_init(b, &srv_b, 0);
	run(a, data, len, h, false, &oa);
	run(b, data, len, h, true, &ob);
	if (oa.len != ob.len || memcmp(out_a, out_b, oa.len) != 0) {
		fprintf(stderr, "split input changed the output (%zu vs %zu bytes)\n", oa.len, ob.len);
		abort();
	}
	if (oa.len && (oa.len < 9 || memcmp(out_a, "HTTP/1.1 ", 9) != 0))
		abort();
	if (!oa.full) {
		/* everything answered: either the connection ends, or it waits for more */
		http_conn_eof(a);
		if (http_conn_poll(a, 0) != HTTP_POLL_CLOSE)
			abort();
	}
	http_conn_fini(a);
	http_conn_fini(b);
	if (srv_a.stats.conns_open != 0)
		abort();
	free(a);
	free(b);
	return 0;
}
