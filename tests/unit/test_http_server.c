/*
 * net/http_server.c driven as the glue will drive it: bytes in, extents out, time in.
 * Responses are parsed back (status, fields, Content-Length or chunked bodies) and
 * /metrics is run through a small Prometheus text-format (0.0.4) checker.
 */
#define _GNU_SOURCE             /* memmem, strncasecmp */
#include "tests/unit/test.h"
#include "net/http_server.h"
#include "net/err.h"
#include <stdbool.h>
#include <stdlib.h>

#define SEC 1000000000ull

/* ---- fixture: a site, a server, a connection ------------------------------------- */

static const char index_html[] = "<!DOCTYPE html><h1>Skiff test</h1>\n";
static const char style_css[] = "body { color: black }\n";
static const char sub_index[] = "<p>sub</p>\n";
#define BIG_SIZE (1u << 20)

struct fx {
	struct http_site site;
	struct http_server srv;
	struct http_conn conn;
	uint8_t *big;
};

static struct fx *fx_new_cfg(const struct http_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->big = malloc(BIG_SIZE);
	for (uint32_t i = 0; i < BIG_SIZE; i++)
		f->big[i] = (uint8_t)(i * 7 + (i >> 11));
	http_site_init(&f->site);
	http_site_add(&f->site, "index.html", (const uint8_t *)index_html, sizeof(index_html) - 1);
	http_site_add(&f->site, "style.css", (const uint8_t *)style_css, sizeof(style_css) - 1);
	http_site_add(&f->site, "sub/index.html", (const uint8_t *)sub_index, sizeof(sub_index) - 1);
	http_site_add(&f->site, "big.bin", f->big, BIG_SIZE);
	http_site_add(&f->site, "empty.txt", (const uint8_t *)"", 0);
	http_server_init(&f->srv, cfg, &f->site);
	http_conn_init(&f->conn, &f->srv, 0);
	return f;
}

static struct fx *fx_new(void)
{
	struct http_config cfg;
	http_config_default(&cfg);
	return fx_new_cfg(&cfg);
}

static void fx_free(struct fx *f)
{
	http_conn_fini(&f->conn);
	free(f->big);
	free(f);
}

struct sink {
	uint8_t *p;
	size_t len, cap;
};

static void sink_put(struct sink *s, const uint8_t *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = 0;
}

/* Takes every extent offered, whole. */
static void drain(struct http_conn *c, struct sink *s)
{
	const uint8_t *p;
	size_t n;
	while (http_conn_peek(c, &p, &n)) {
		REQUIRE(n > 0);
		sink_put(s, p, n);
		http_conn_advance(c, n);
	}
}

/* Feeds n bytes in pieces of `step` (0: all at once), draining after each input call
 * and re-offering what was not taken, like the glue. */
static void feed_step(struct http_conn *c, const void *in, size_t n, size_t step, uint64_t now,
		      struct sink *s)
{
	const uint8_t *p = in;
	size_t off = 0;
	int stuck = 0;
	while (off < n) {
		size_t k = step && n - off > step ? step : n - off;
		size_t used = http_conn_input(c, p + off, k, now);
		off += used;
		size_t before = s->len;
		drain(c, s);
		if (used == 0 && s->len == before && ++stuck > 2) {
			test_fail(__FILE__, __LINE__, "input makes no progress");
			return;
		}
	}
	drain(c, s);
}

static void feed(struct http_conn *c, const char *in, struct sink *s)
{
	feed_step(c, in, strlen(in), 0, 0, s);
}

/* ---- parsing responses back ------------------------------------------------------- */

struct resp {
	int status;
	char head[4096];
	const uint8_t *body;
	size_t body_len;
	uint8_t *owned;         /* decoded chunked body */
};

/* Field value of the head (copied into out), NULL if absent. */
static const char *hdr(const struct resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = strstr(r->head, "\r\n");
	while (p && p[2] != '\r') {
		p += 2;
		const char *e = strstr(p, "\r\n");
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(e - v);
			if (vl >= cap)
				vl = cap - 1;
			memcpy(out, v, vl);
			out[vl] = 0;
			return out;
		}
		p = e;
	}
	return NULL;
}

static bool has_hdr(const struct resp *r, const char *name, const char *value)
{
	char v[512];
	const char *got = hdr(r, name, v, sizeof(v));
	return got && (!value || strcmp(got, value) == 0);
}

/* One response from s[*pos..len); head_only for HEAD. False if malformed. */
static bool next_resp(const uint8_t *s, size_t len, size_t *pos, bool head_only, struct resp *r)
{
	char v[64];
	memset(r, 0, sizeof(*r));
	const char *start = (const char *)s + *pos;
	const char *end = NULL;
	for (size_t i = *pos; i + 4 <= len; i++)
		if (memcmp(s + i, "\r\n\r\n", 4) == 0) {
			end = (const char *)s + i + 4;
			break;
		}
	if (!end || (size_t)(end - start) >= sizeof(r->head) || strncmp(start, "HTTP/1.1 ", 9) != 0)
		return false;
	memcpy(r->head, start, (size_t)(end - start));
	r->status = atoi(start + 9);
	size_t at = (size_t)(end - (const char *)s);
	if (head_only) {
		*pos = at;
		return true;
	}
	if (hdr(r, "Content-Length", v, sizeof(v))) {
		size_t cl = strtoull(v, NULL, 10);
		if (at + cl > len)
			return false;
		r->body = s + at;
		r->body_len = cl;
		*pos = at + cl;
	} else if (has_hdr(r, "Transfer-Encoding", "chunked")) {
		struct sink b = { 0 };
		for (;;) {
			char *e;
			if (at >= len)
				return false;
			unsigned long n = strtoul((const char *)s + at, &e, 16);
			if (e == (const char *)s + at || memcmp(e, "\r\n", 2) != 0)
				return false;
			at = (size_t)(e - (const char *)s) + 2;
			if (n == 0) {
				if (at + 2 > len || memcmp(s + at, "\r\n", 2) != 0)
					return false;
				at += 2;
				break;
			}
			if (at + n + 2 > len || memcmp(s + at + n, "\r\n", 2) != 0)
				return false;
			sink_put(&b, s + at, n);
			at += n + 2;
		}
		r->owned = b.p ? b.p : calloc(1, 1);
		r->body = r->owned;
		r->body_len = b.len;
		*pos = at;
	} else {
		r->body = s + at;       /* close-delimited */
		r->body_len = len - at;
		*pos = len;
	}
	return true;
}

static void resp_free(struct resp *r)
{
	free(r->owned);
	r->owned = NULL;
}

/* A whole exchange on a fresh connection: one request, one response. */
static int one(struct fx *f, const char *req, bool head_only, struct resp *r, struct sink *s)
{
	size_t pos = 0;
	feed(&f->conn, req, s);
	if (!next_resp(s->p, s->len, &pos, head_only, r))
		return -1;
	return pos == s->len ? r->status : -2;
}

/* ---- plain requests -------------------------------------------------------------- */

TEST(http_server_get_index)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	REQUIRE(one(f, "GET / HTTP/1.1\r\nHost: skiff\r\n\r\n", false, &r, &s) == 200);
	CHECK(has_hdr(&r, "Server", "Skiff"));
	CHECK(has_hdr(&r, "Content-Type", "text/html; charset=utf-8"));
	CHECK(has_hdr(&r, "Accept-Ranges", "bytes"));
	CHECK(!has_hdr(&r, "Date", NULL));      /* no clock */
	CHECK(!has_hdr(&r, "Connection", NULL));
	CHECK_EQ(r.body_len, sizeof(index_html) - 1);
	CHECK_MEM(r.body, index_html, r.body_len);
	CHECK_EQ(http_conn_poll(&f->conn, 1 * SEC), HTTP_POLL_OK);     /* keep-alive */
	CHECK_EQ(f->srv.stats.responses[0], 1);                         /* code 200 */
	CHECK(f->srv.stats.response_bytes == s.len);
	free(s.p);
	fx_free(f);
}

TEST(http_server_paths)
{
	static const struct {
		const char *target;
		int status;
		const char *ctype;
	} v[] = {
		{ "/index.html", 200, "text/html; charset=utf-8" },
		{ "/style.css", 200, "text/css; charset=utf-8" },
		{ "/sub/", 200, "text/html; charset=utf-8" },
		{ "/sub/index.html", 200, "text/html; charset=utf-8" },
		{ "/st%79le.css?v=2", 200, "text/css; charset=utf-8" },
		{ "http://skiff/style.css", 200, "text/css; charset=utf-8" },
		{ "/empty.txt", 200, "text/plain; charset=utf-8" },
		{ "/sub", 404, "text/plain; charset=utf-8" },
		{ "/nope", 404, "text/plain; charset=utf-8" },
		{ "/INDEX.HTML", 404, "text/plain; charset=utf-8" },
		{ "//index.html", 404, "text/plain; charset=utf-8" },
	};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct fx *f = fx_new();
		struct sink s = { 0 };
		struct resp r;
		char req[256];
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: skiff\r\n\r\n", v[i].target);
		CHECK_EQ(one(f, req, false, &r, &s), v[i].status);
		CHECK(has_hdr(&r, "Content-Type", v[i].ctype));
		CHECK(!has_hdr(&r, "Connection", NULL));        /* 404 keeps the connection */
		CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_OK);
		free(s.p);
		fx_free(f);
	}
}

TEST(http_server_head)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	char v[64];
	/* HEAD: same fields, no body; the next pipelined response follows at once */
	feed(&f->conn, "HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
		       "HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n"
		       "GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, true, &r));
	CHECK_EQ(r.status, 200);
	snprintf(v, sizeof(v), "%zu", sizeof(index_html) - 1);
	CHECK(has_hdr(&r, "Content-Length", v));
	REQUIRE(next_resp(s.p, s.len, &pos, true, &r));
	CHECK_EQ(r.status, 404);
	CHECK(has_hdr(&r, "Content-Length", "14"));
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 200);
	CHECK_EQ(r.body_len, sizeof(style_css) - 1);
	CHECK_EQ(pos, s.len);
	free(s.p);
	fx_free(f);
}

TEST(http_server_pipelining)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	feed(&f->conn, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
		       "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
		       "\r\n"   /* an empty line between requests is ignored (RFC 9112 §2.2) */
		       "GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n"
		       "GET /bytes/5 HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	static const int want[] = { 200, 404, 200, 200 };
	for (unsigned i = 0; i < 4; i++) {
		REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
		CHECK_EQ(r.status, want[i]);
	}
	CHECK_EQ(r.body_len, 5);
	CHECK_EQ(pos, s.len);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_OK);
	free(s.p);
	fx_free(f);
}

TEST(http_server_pipeline_bound)
{
	/* 400 requests (~16 KiB) at once: the queue holds max_pipeline, the head buffer the
	 * next ones, and input pushes back on the rest until output drains */
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t n = 0, cap = 400 * 64;
	char *in = malloc(cap);
	for (int i = 0; i < 400; i++)
		n += (size_t)snprintf(in + n, cap - n, "GET /bytes/%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
	size_t used = http_conn_input(&f->conn, in, n, 0);
	CHECK(used < n);
	CHECK(used >= HTTP_HEAD_MAX);
	CHECK_EQ(f->conn.q_count, HTTP_PIPELINE_MAX);
	drain(&f->conn, &s);
	feed_step(&f->conn, in + used, n - used, 0, 0, &s);
	size_t pos = 0;
	for (int i = 0; i < 400; i++) {
		REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
		CHECK_EQ(r.status, 200);
		CHECK_EQ(r.body_len, (size_t)i);
	}
	CHECK_EQ(pos, s.len);
	free(in);
	free(s.p);
	fx_free(f);
}

TEST(http_server_leading_crlf_and_split_crlf)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	const char *in = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	feed_step(&f->conn, in, strlen(in), 1, 0, &s);
	CHECK(s.len > 12 && memcmp(s.p, "HTTP/1.1 200", 12) == 0);
	free(s.p);
	fx_free(f);
}

/* ---- persistence ----------------------------------------------------------------- */

TEST(http_server_http10)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	REQUIRE(one(f, "GET / HTTP/1.0\r\n\r\n", false, &r, &s) == 200);
	CHECK(has_hdr(&r, "Connection", "close"));
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	free(s.p);
	fx_free(f);

	f = fx_new();
	s = (struct sink){ 0 };
	REQUIRE(one(f, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, &r, &s) == 200);
	CHECK(has_hdr(&r, "Connection", "keep-alive"));
	CHECK(has_hdr(&r, "Content-Length", NULL));
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_OK);
	free(s.p);
	fx_free(f);
}

TEST(http_server_connection_close)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	/* the request after "close" is never answered (RFC 9112 §9.6) */
	feed(&f->conn, "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
		       "GET /style.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
		       "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK(!has_hdr(&r, "Connection", NULL));
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK(has_hdr(&r, "Connection", "close"));
	CHECK_EQ(pos, s.len);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	/* anything later is swallowed */
	CHECK_EQ(http_conn_input(&f->conn, "GET / HTTP/1.1\r\n\r\n", 18, 0), 18);
	const uint8_t *p;
	size_t n;
	CHECK(!http_conn_peek(&f->conn, &p, &n));
	free(s.p);
	fx_free(f);
}

TEST(http_server_close_waits_for_output)
{
	struct fx *f = fx_new();
	const uint8_t *p;
	size_t n;
	http_conn_input(&f->conn, "GET /big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 53, 0);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_OK);   /* response still queued */
	while (http_conn_peek(&f->conn, &p, &n))
		http_conn_advance(&f->conn, n);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	fx_free(f);
}

TEST(http_server_eof)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	http_conn_input(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HT", 34, 0);
	http_conn_eof(&f->conn);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_OK);   /* the answer goes out first */
	drain(&f->conn, &s);
	CHECK(s.len > 12 && memcmp(s.p, "HTTP/1.1 200", 12) == 0);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	free(s.p);
	fx_free(f);
}

/* ---- errors ---------------------------------------------------------------------- */

static const struct {
	const char *req;
	int status;
	enum http_perr why;
} bad[] = {
	{ "GET / HTTP/1.1\r\n\r\n", 400, HTTP_PERR_HOST },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, HTTP_PERR_HOST },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, HTTP_PERR_FIELD },
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400, HTTP_PERR_OBS_FOLD },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400, HTTP_PERR_CONTENT_LENGTH },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, HTTP_PERR_CONTENT_LENGTH },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, HTTP_PERR_CONTENT_LENGTH },
	{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501, HTTP_PERR_TRANSFER_ENCODING },
	{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, HTTP_PERR_TRANSFER_ENCODING },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 400, HTTP_PERR_BODY },
	{ "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n", 413, HTTP_PERR_BODY },
	{ "GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_TRAVERSAL },
	{ "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_TRAVERSAL },
	{ "GET /index.html%00.png HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_TARGET },
	{ "GET /a%0d%0aX:1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_TARGET },
	{ "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_TARGET },
	{ "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_TARGET },
	{ "BREW / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", 501, HTTP_PERR_METHOD },
	{ "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, HTTP_PERR_VERSION },
	{ "GET / HTTP/1.1\nHost: a\n\n", 400, HTTP_PERR_REQUEST_LINE },
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, HTTP_PERR_REQUEST_LINE },
	/* a TLS ClientHello: no SP within a method's length */
	{ "\x16\x03\x01\x02\x01\x01\x01\xfc\x03\x03\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x21",
	  400, HTTP_PERR_REQUEST_LINE },
};

TEST(http_server_malformed_classes)
{
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct fx *f = fx_new();
			struct sink s = { 0 };
			struct resp r;
			size_t pos = 0;
			feed_step(&f->conn, bad[i].req, strlen(bad[i].req), bytewise ? 1 : 0, 0, &s);
			bool head = strncmp(bad[i].req, "HEAD", 4) == 0;
			REQUIRE(next_resp(s.p, s.len, &pos, head, &r));
			CHECK_EQ(pos, s.len);
			if (r.status != bad[i].status)
				printf("    case %u: %.40s\n", i, bad[i].req);
			CHECK_EQ(r.status, bad[i].status);
			CHECK(has_hdr(&r, "Connection", "close"));
			CHECK(has_hdr(&r, "Content-Type", "text/plain; charset=utf-8"));
			CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
			CHECK_EQ(f->srv.stats.parse_errors[bad[i].why], 1);
			free(s.p);
			fx_free(f);
		}
	}
}

TEST(http_server_limits_414_431)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	char *in = malloc(20000);
	/* never terminated: the verdict comes from the bytes so far */
	size_t n = (size_t)sprintf(in, "GET /");
	memset(in + n, 'a', 3000);
	feed_step(&f->conn, in, n + 3000, 100, 0, &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 414);
	CHECK(has_hdr(&r, "Connection", "close"));
	CHECK_EQ(f->srv.stats.parse_errors[HTTP_PERR_TARGET_TOO_LONG], 1);
	free(s.p);
	fx_free(f);

	f = fx_new();
	s = (struct sink){ 0 };
	pos = 0;
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; n < 12000; i++)
		n += (size_t)sprintf(in + n, "X-Field-%d: %0100d\r\n", i, i);
	feed_step(&f->conn, in, n, 1000, 0, &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 431);
	CHECK_EQ(f->srv.stats.parse_errors[HTTP_PERR_HEAD_TOO_LARGE], 1);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	free(in);
	free(s.p);
	fx_free(f);
}

TEST(http_server_405)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	/* without a body the connection survives a refused method */
	feed(&f->conn, "POST / HTTP/1.1\r\nHost: a\r\n\r\nDELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
		       "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
		       "GET / HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 405);
	CHECK(has_hdr(&r, "Allow", "GET, HEAD"));
	CHECK(!has_hdr(&r, "Connection", NULL));
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 405);
	CHECK(!has_hdr(&r, "Connection", NULL));
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 405);
	CHECK(has_hdr(&r, "Connection", "close"));     /* its body was not read */
	CHECK_EQ(pos, s.len);                           /* so the GET is not answered */
	CHECK_EQ(f->srv.stats.responses[4], 3);         /* code 405 */
	free(s.p);
	fx_free(f);
}

/* ---- ranges and extents ---------------------------------------------------------- */

TEST(http_server_ranges)
{
	static const struct {
		const char *range;
		int status;
		const char *content_range;
		uint32_t off, len;
	} v[] = {
		{ "bytes=0-9", 206, "bytes 0-9/1048576", 0, 10 },
		{ "bytes=1000-1999", 206, "bytes 1000-1999/1048576", 1000, 1000 },
		{ "bytes=1048570-", 206, "bytes 1048570-1048575/1048576", 1048570, 6 },
		{ "bytes=-100", 206, "bytes 1048476-1048575/1048576", 1048476, 100 },
		{ "bytes=1048000-9999999", 206, "bytes 1048000-1048575/1048576", 1048000, 576 },
		{ "bytes=-0", 416, "bytes */1048576", 0, 0 },
		{ "bytes=1048576-", 416, "bytes */1048576", 0, 0 },
		{ "bytes=0-1,4-5", 200, NULL, 0, BIG_SIZE },
		{ "bytes=9-1", 200, NULL, 0, BIG_SIZE },
		{ "pages=1-2", 200, NULL, 0, BIG_SIZE },
	};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct fx *f = fx_new();
		struct sink s = { 0 };
		struct resp r;
		char req[256];
		snprintf(req, sizeof(req), "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: %s\r\n\r\n", v[i].range);
		CHECK_EQ(one(f, req, false, &r, &s), v[i].status);
		if (v[i].content_range)
			CHECK(has_hdr(&r, "Content-Range", v[i].content_range));
		else
			CHECK(!has_hdr(&r, "Content-Range", NULL));
		if (v[i].status != 416) {
			CHECK_EQ(r.body_len, v[i].len);
			CHECK(r.body_len == v[i].len && memcmp(r.body, f->big + v[i].off, v[i].len) == 0);
		}
		CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_OK);
		free(s.p);
		fx_free(f);
	}
}

TEST(http_server_range_ignored)
{
	/* HEAD and If-Range (we have no validators) answer with the whole file */
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	CHECK_EQ(one(f, "HEAD /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n\r\n", true, &r, &s), 200);
	CHECK(has_hdr(&r, "Content-Length", "1048576"));
	free(s.p);
	fx_free(f);
	f = fx_new();
	s = (struct sink){ 0 };
	CHECK_EQ(one(f, "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\nIf-Range: \"x\"\r\n\r\n",
		     false, &r, &s), 200);
	CHECK_EQ(r.body_len, BIG_SIZE);
	free(s.p);
	fx_free(f);
}

TEST(http_server_file_extents_not_copied)
{
	struct fx *f = fx_new();
	const uint8_t *p;
	size_t n;
	const char *in = "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"
			 "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=4096-\r\n\r\n";
	CHECK_EQ(http_conn_input(&f->conn, in, strlen(in), 0), strlen(in));
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	CHECK(p >= f->conn.out && p < f->conn.out + sizeof(f->conn.out));     /* the head */
	http_conn_advance(&f->conn, n);
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	CHECK(p == f->big);                     /* the file itself, whole */
	CHECK_EQ(n, BIG_SIZE);
	http_conn_advance(&f->conn, 1000);      /* a partial send */
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	CHECK(p == f->big + 1000);
	CHECK_EQ(n, BIG_SIZE - 1000);
	http_conn_advance(&f->conn, n);
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	REQUIRE(n > 12 && memcmp(p, "HTTP/1.1 206", 12) == 0);
	http_conn_advance(&f->conn, n);
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	CHECK(p == f->big + 4096);
	CHECK_EQ(n, BIG_SIZE - 4096);
	http_conn_advance(&f->conn, n);
	CHECK(!http_conn_peek(&f->conn, &p, &n));
	fx_free(f);
}

static void advance_too_far(void *arg)
{
	struct fx *f = arg;
	const uint8_t *p;
	size_t n;
	if (http_conn_peek(&f->conn, &p, &n))
		http_conn_advance(&f->conn, n + 1);
}

TEST(http_server_advance_past_extent_panics)
{
	struct fx *f = fx_new();
	http_conn_input(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 0);
	CHECK(test_expect_panic(advance_too_far, f));
	fx_free(f);
}

/* ---- /bytes/N -------------------------------------------------------------------- */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

TEST(http_server_bytes_vectors)
{
	/* vectors from tests/system/bytesgen.py, the Python twin */
	static const uint8_t b16[] = { 0x64, 0x87, 0x73, 0x59, 0xd9, 0x71, 0x0a, 0x50,
				       0x95, 0xa0, 0x13, 0xaf, 0xd6, 0x09, 0xee, 0x5a };
	static const uint8_t b7[] = { 0x42, 0xf9, 0x0e, 0xa9, 0x84, 0xbc, 0x15 };
	static const uint8_t b1000_3_11[] = { 0x51, 0x67, 0x7d, 0xbe, 0xeb, 0x3c, 0x2b, 0x30, 0x43, 0x10, 0xfe };
	uint8_t buf[16];
	http_bytes_fill(16, 0, buf, 16);
	CHECK_MEM(buf, b16, 16);
	http_bytes_fill(7, 0, buf, 7);
	CHECK_MEM(buf, b7, 7);
	http_bytes_fill(1000, 3, buf, 11);
	CHECK_MEM(buf, b1000_3_11, 11);
	/* any offset and length (head bytes, whole words, tail) is a slice of the whole */
	uint8_t whole[64], part[64];
	http_bytes_fill(99, 0, whole, sizeof whole);
	for (size_t off = 0; off < 17; off++)
		for (size_t len = 0; off + len <= sizeof whole; len += 7) {
			memset(part, 0xEE, sizeof part);
			http_bytes_fill(99, off, part, len);
			CHECK_MEM(part, whole + off, len);
			CHECK(len == sizeof part || part[len] == 0xEE);
		}

	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	REQUIRE(one(f, "GET /bytes/16 HTTP/1.1\r\nHost: a\r\n\r\n", false, &r, &s) == 200);
	CHECK(has_hdr(&r, "Content-Type", "application/octet-stream"));
	CHECK_EQ(r.body_len, 16);
	CHECK(r.body_len == 16 && memcmp(r.body, b16, 16) == 0);
	free(s.p);
	fx_free(f);

	/* 1 MiB streams through the 4 KiB buffer; hash agrees with the Python twin */
	f = fx_new();
	s = (struct sink){ 0 };
	REQUIRE(one(f, "GET /bytes/1048576 HTTP/1.1\r\nHost: a\r\n\r\n", false, &r, &s) == 200);
	CHECK_EQ(r.body_len, 1048576);
	CHECK(fnv1a(r.body, r.body_len) == 0x46d6d5c4890a59c3ull);
	free(s.p);
	fx_free(f);

	/* a range of it is the same bytes */
	f = fx_new();
	s = (struct sink){ 0 };
	REQUIRE(one(f, "GET /bytes/1000 HTTP/1.1\r\nHost: a\r\nRange: bytes=995-\r\n\r\n", false, &r, &s) == 206);
	CHECK(has_hdr(&r, "Content-Range", "bytes 995-999/1000"));
	static const uint8_t tail[] = { 0x70, 0x35, 0xe7, 0x59, 0xc8 };
	CHECK(r.body_len == 5 && memcmp(r.body, tail, 5) == 0);
	free(s.p);
	fx_free(f);
}

TEST(http_server_bytes_fill_offsets)
{
	/* any (offset, length) window equals the slice of the whole */
	static uint8_t whole[300], part[300];
	http_bytes_fill(12345, 0, whole, sizeof(whole));
	for (size_t off = 0; off < 40; off++)
		for (size_t len = 0; len < 40; len++) {
			memset(part, 0xaa, sizeof(part));
			http_bytes_fill(12345, off, part, len);
			CHECK(memcmp(part, whole + off, len) == 0);
			CHECK(part[len] == 0xaa);
		}
}

TEST(http_server_bytes_names)
{
	static const struct {
		const char *req;
		int status;
		const char *len;
	} v[] = {
		{ "HEAD /bytes/0 HTTP/1.1\r\nHost: a\r\n\r\n", 200, "0" },
		{ "HEAD /bytes/67108864 HTTP/1.1\r\nHost: a\r\n\r\n", 200, "67108864" },
		{ "HEAD /bytes/67108865 HTTP/1.1\r\nHost: a\r\n\r\n", 404, "14" },
		{ "HEAD /bytes/01 HTTP/1.1\r\nHost: a\r\n\r\n", 404, "14" },
		{ "HEAD /bytes/-1 HTTP/1.1\r\nHost: a\r\n\r\n", 404, "14" },
		{ "HEAD /bytes/ HTTP/1.1\r\nHost: a\r\n\r\n", 404, "14" },
		{ "HEAD /bytes/1e3 HTTP/1.1\r\nHost: a\r\n\r\n", 404, "14" },
		{ "HEAD /bytes/999999999 HTTP/1.1\r\nHost: a\r\n\r\n", 404, "14" },
		{ "HEAD /bytes/12?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 200, "12" },
	};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct fx *f = fx_new();
		struct sink s = { 0 };
		struct resp r;
		CHECK_EQ(one(f, v[i].req, true, &r, &s), v[i].status);
		CHECK(has_hdr(&r, "Content-Length", v[i].len));
		free(s.p);
		fx_free(f);
	}
}

/* ---- split invariance ------------------------------------------------------------ */

static const char script[] =
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	"HEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\n"
	"\r\n"
	"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
	"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=100-50000\r\n\r\n"
	"GET /bytes/20000 HTTP/1.1\r\nHost: a\r\nRange: bytes=-7000\r\n\r\n"
	"POST /x HTTP/1.1\r\nHost: a\r\n\r\n"
	"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
	"GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=2000000-\r\n\r\n"
	"GET /sub/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
	"GET /%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n"
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

static void run_script(size_t step, uint32_t seed, struct sink *s)
{
	struct fx *f = fx_new();
	size_t n = sizeof(script) - 1, off = 0;
	if (!seed) {
		feed_step(&f->conn, script, n, step, 0, s);
	} else {
		while (off < n) {      /* random piece sizes, 1..64 */
			seed = seed * 1103515245u + 12345u;
			size_t k = 1 + (seed >> 16) % 64;
			if (k > n - off)
				k = n - off;
			feed_step(&f->conn, script + off, k, 0, 0, s);
			off += k;
		}
	}
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	fx_free(f);
}

TEST(http_server_bytewise_equals_whole)
{
	struct sink whole = { 0 }, part = { 0 };
	run_script(0, 0, &whole);
	size_t pos = 0, count = 0;
	struct resp r;
	static const int want[] = { 200, 200, 404, 206, 206, 405, 200, 416, 200, 200, 400 };
	for (; count < 11; count++) {
		REQUIRE(next_resp(whole.p, whole.len, &pos, count == 1, &r));
		CHECK_EQ(r.status, want[count]);
		resp_free(&r);
	}
	CHECK_EQ(pos, whole.len);       /* the last GET follows the 400's close: unanswered */
	for (size_t step = 1; step <= 3; step++) {
		part.len = 0;
		run_script(step, 0, &part);
		CHECK(part.len == whole.len && memcmp(part.p, whole.p, whole.len) == 0);
	}
	for (uint32_t seed = 1; seed <= 20; seed++) {
		part.len = 0;
		run_script(0, seed, &part);
		CHECK(part.len == whole.len && memcmp(part.p, whole.p, whole.len) == 0);
	}
	free(whole.p);
	free(part.p);
}

/* ---- /metrics -------------------------------------------------------------------- */

static bool metric_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
		      (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

struct family {
	char name[128];
	bool help, type, samples, closed;
};

/* Checks Prometheus text exposition format 0.0.4 (as we emit it: integer values, no
 * timestamps). Returns the number of samples, or -1 after printing the bad line. */
static int expo_check(const char *t, size_t len)
{
	static struct family fam[4096];
	int nfam = 0, samples = 0, cur = -1;
	if (len == 0 || t[len - 1] != '\n')
		return -1;
	for (size_t at = 0; at < len;) {
		const char *l = t + at;
		const char *nl = memchr(l, '\n', len - at);
		size_t n = (size_t)(nl - l);
		at += n + 1;
		char name[128];
		size_t nn = 0;
		bool ok = true;
		bool help = n > 7 && memcmp(l, "# HELP ", 7) == 0, type = n > 7 && memcmp(l, "# TYPE ", 7) == 0;
		const char *p = help || type ? l + 7 : l;
		const char *e = l + n;
		while (p + nn < e && p[nn] != ' ' && p[nn] != '{')
			nn++;
		if (!metric_name_ok(p, nn) || nn >= sizeof(name))
			ok = false;
		else
			memcpy(name, p, nn), name[nn] = 0;
		int fi = -1;
		for (int i = 0; ok && i < nfam; i++)
			if (strcmp(fam[i].name, name) == 0)
				fi = i;
		if (ok && fi < 0 && nfam < 4096) {
			fi = nfam++;
			memset(&fam[fi], 0, sizeof(fam[fi]));
			strcpy(fam[fi].name, name);
		}
		if (ok && fi != cur) {          /* a family's lines are consecutive */
			if (cur >= 0)
				fam[cur].closed = true;
			if (fam[fi].closed)
				ok = false;
			cur = fi;
		}
		p += nn;
		if (!ok) {
		} else if (help) {
			ok = !fam[fi].help && !fam[fi].type && !fam[fi].samples && p < e && *p == ' ';
			fam[fi].help = true;
			for (p++; ok && p < e; p++)       /* only \\ and \n escapes */
				if (*p == '\\')
					ok = ++p < e && (*p == '\\' || *p == 'n');
		} else if (type) {
			ok = !fam[fi].type && !fam[fi].samples && p < e && *p == ' ';
			fam[fi].type = true;
			if (ok) {
				size_t k = (size_t)(e - p - 1);
				ok = (k == 7 && memcmp(p + 1, "counter", 7) == 0) ||
				     (k == 5 && memcmp(p + 1, "gauge", 5) == 0);
			}
		} else {
			fam[fi].samples = true;
			if (p < e && *p == '{') {
				for (p++; ok && p < e && *p != '}';) {
					const char *ls = p;
					while (p < e && *p != '=')
						p++;
					ok = metric_name_ok(ls, (size_t)(p - ls)) && p + 1 < e && p[1] == '"';
					for (p += 2; ok && p < e && *p != '"'; p++)
						if (*p == '\\')
							ok = ++p < e && (*p == '\\' || *p == 'n' || *p == '"');
					p++;
					if (ok && p < e && *p == ',')
						p++;
				}
				ok = ok && p < e && *p == '}';
				p++;
			}
			ok = ok && p < e && *p == ' ' && p + 1 < e;
			for (p++; ok && p < e; p++)
				ok = *p >= '0' && *p <= '9';
			samples++;
		}
		if (!ok) {
			printf("    bad exposition line: %.*s\n", (int)n, l);
			return -1;
		}
	}
	return samples;
}

static void glue_metrics(void *ctx, struct http_metrics_out *w)
{
	const int *rows = ctx;
	char lab[64];
	http_metrics_row(w, "skiff_tcp_segments_total", "TCP segments.", HTTP_METRIC_COUNTER, "dir=\"in\"", 5);
	http_metrics_row(w, "skiff_tcp_segments_total", "TCP segments.", HTTP_METRIC_COUNTER, "dir=\"out\"", 7);
	http_metrics_row(w, "skiff_mem_free_bytes", "Free memory.\nIn bytes \\ pages.", HTTP_METRIC_GAUGE, NULL, 12345);
	http_metrics_row(w, "skiff_nic_info", "NIC.", HTTP_METRIC_GAUGE, "dev=\"eth0\",model=\"82540 \\\"EM\\\"\"", 1);
	/* invalid rows are dropped, not emitted */
	http_metrics_row(w, "bad name", "x", HTTP_METRIC_COUNTER, NULL, 1);
	http_metrics_row(w, "0bad", "x", HTTP_METRIC_COUNTER, NULL, 1);
	http_metrics_row(w, "skiff_bad_labels", "x", HTTP_METRIC_COUNTER, "dev=\"open", 1);
	http_metrics_row(w, "skiff_bad_labels2", "x", HTTP_METRIC_COUNTER, "dev=eth0", 1);
	http_metrics_row(w, NULL, "x", HTTP_METRIC_COUNTER, NULL, 1);
	http_metrics_row(w, "skiff_bad_escape", "x", HTTP_METRIC_COUNTER, "dev=\"a\\tb\"", 1);
	http_metrics_row(w, "skiff_bad_sep", "x", HTTP_METRIC_COUNTER, "a=\"1\";b=\"2\"", 1);
	http_metrics_row(w, "skiff_bad_type", "x", (enum http_metric_type)7, NULL, 1);
	static char huge[6000];         /* can never fit a chunk: dropped, not stuck */
	memset(huge, 'h', sizeof(huge) - 1);
	http_metrics_row(w, "skiff_huge", huge, HTTP_METRIC_GAUGE, NULL, 1);
	for (int i = 0; i < *rows; i++) {
		snprintf(lab, sizeof(lab), "queue=\"%d\"", i);
		http_metrics_row(w, "skiff_nic_rx_packets_total", "Frames received, by queue.",
				 HTTP_METRIC_COUNTER, lab, (uint64_t)i * 1000);
	}
	http_metrics_row(w, "skiff_last", "Last row.", HTTP_METRIC_GAUGE, NULL, 42);
}

/* Own rows: 13 codes + bytes + 13 reasons + 3 timeouts + 5 connection/metrics rows. */
#define OWN_ROWS (HTTP_NCODES + 1 + (HTTP_PERR_COUNT - 1) + HTTP_TIMEOUT_COUNT + 5)

TEST(http_server_metrics)
{
	struct fx *f = fx_new();
	int rows = 3;
	f->srv.metrics = glue_metrics;
	f->srv.metrics_ctx = &rows;
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	feed(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"
		       "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	for (int i = 0; i < 4; i++)
		REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 200);
	CHECK(has_hdr(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8"));
	CHECK(has_hdr(&r, "Transfer-Encoding", "chunked"));
	CHECK(!has_hdr(&r, "Content-Length", NULL));
	char *text = calloc(1, r.body_len + 1);
	memcpy(text, r.body, r.body_len);
	CHECK_EQ(expo_check(text, r.body_len), OWN_ROWS + 4 + 3 + 1);
	CHECK(strstr(text, "\nskiff_http_requests_total{code=\"200\"} 2\n"));
	CHECK(strstr(text, "\nskiff_http_requests_total{code=\"404\"} 1\n"));
	CHECK(strstr(text, "# TYPE skiff_http_requests_total counter\n"));
	CHECK(strstr(text, "# TYPE skiff_http_connections_open gauge\nskiff_http_connections_open 1\n"));
	CHECK(strstr(text, "skiff_http_parse_errors_total{reason=\"traversal\"} 0\n"));
	CHECK(strstr(text, "skiff_http_timeouts_total{kind=\"header\"} 0\n"));
	CHECK(strstr(text, "# HELP skiff_tcp_segments_total TCP segments.\n# TYPE skiff_tcp_segments_total counter\n"
			   "skiff_tcp_segments_total{dir=\"in\"} 5\nskiff_tcp_segments_total{dir=\"out\"} 7\n"));
	CHECK(strstr(text, "# HELP skiff_mem_free_bytes Free memory.\\nIn bytes \\\\ pages.\n"));
	CHECK(strstr(text, "skiff_nic_info{dev=\"eth0\",model=\"82540 \\\"EM\\\"\"} 1\n"));
	CHECK(!strstr(text, "bad"));
	CHECK(strstr(text, "skiff_last 42\n"));
	CHECK_EQ(f->srv.stats.metrics_dropped, 9);
	resp_free(&r);
	free(text);
	free(s.p);
	fx_free(f);
}

TEST(http_server_metrics_many_chunks)
{
	struct fx *f = fx_new();
	int rows = 3000;        /* ~150 KB: dozens of 4 KiB chunks */
	f->srv.metrics = glue_metrics;
	f->srv.metrics_ctx = &rows;
	struct sink s = { 0 };
	struct resp r;
	REQUIRE(one(f, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", false, &r, &s) == 200);
	CHECK(r.body_len > 100000);
	CHECK_EQ(expo_check((const char *)r.body, r.body_len), OWN_ROWS + 4 + rows + 1);
	CHECK_EQ(f->srv.stats.metrics_dropped, 9);
	resp_free(&r);
	/* byte-at-a-time gives the same text */
	struct sink s2 = { 0 };
	struct fx *g = fx_new();
	g->srv.metrics = glue_metrics;
	g->srv.metrics_ctx = &rows;
	const char *q = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	feed_step(&g->conn, q, strlen(q), 1, 0, &s2);
	CHECK(s2.len == s.len && memcmp(s2.p, s.p, s.len) == 0);
	fx_free(g);
	free(s2.p);
	free(s.p);
	fx_free(f);
}

TEST(http_server_metrics_http10_and_head)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	REQUIRE(one(f, "GET /metrics HTTP/1.0\r\n\r\n", false, &r, &s) == 200);
	CHECK(has_hdr(&r, "Connection", "close"));
	CHECK(!has_hdr(&r, "Transfer-Encoding", NULL));
	CHECK(!has_hdr(&r, "Content-Length", NULL));
	CHECK_EQ(expo_check((const char *)r.body, r.body_len), OWN_ROWS);
	CHECK_EQ(http_conn_poll(&f->conn, 0), HTTP_POLL_CLOSE);
	free(s.p);
	fx_free(f);

	f = fx_new();
	s = (struct sink){ 0 };
	feed(&f->conn, "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\nGET /style.css HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, true, &r));
	CHECK(has_hdr(&r, "Transfer-Encoding", "chunked"));
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK_EQ(r.status, 200);
	CHECK_EQ(pos, s.len);
	free(s.p);
	fx_free(f);
}

/* ---- time ------------------------------------------------------------------------ */

TEST(http_server_header_timeout)
{
	struct fx *f = fx_new();        /* connection opened at t = 0 */
	http_conn_input(&f->conn, "GET / HTTP/1.1\r\n", 16, 1 * SEC);
	CHECK_EQ(http_conn_poll(&f->conn, 10 * SEC), HTTP_POLL_OK);
	http_conn_input(&f->conn, "Host: a\r\n", 9, 10 * SEC);  /* trickling does not help */
	CHECK_EQ(http_conn_poll(&f->conn, 11 * SEC - 1), HTTP_POLL_OK);
	CHECK_EQ(http_conn_poll(&f->conn, 11 * SEC), HTTP_POLL_CLOSE);
	CHECK_EQ(http_conn_poll(&f->conn, 12 * SEC), HTTP_POLL_CLOSE);
	CHECK_EQ(f->srv.stats.timeouts[HTTP_TIMEOUT_HEADER], 1);      /* counted once */
	fx_free(f);
}

TEST(http_server_slowloris_bytes)
{
	struct fx *f = fx_new();
	int closed_at = -1;
	for (int t = 0; t < 30 && closed_at < 0; t++) {
		http_conn_input(&f->conn, "X", 1, (uint64_t)t * SEC);
		if (http_conn_poll(&f->conn, (uint64_t)t * SEC) == HTTP_POLL_CLOSE)
			closed_at = t;
	}
	CHECK_EQ(closed_at, 10);
	/* an endless run of empty lines is no better */
	fx_free(f);
	f = fx_new();
	closed_at = -1;
	for (int t = 0; t < 30 && closed_at < 0; t++) {
		http_conn_input(&f->conn, "\r\n", 2, (uint64_t)t * SEC);
		if (http_conn_poll(&f->conn, (uint64_t)t * SEC) == HTTP_POLL_CLOSE)
			closed_at = t;
	}
	CHECK_EQ(closed_at, 10);
	fx_free(f);
}

TEST(http_server_silent_connection)
{
	struct fx *f = fx_new();
	CHECK_EQ(http_conn_poll(&f->conn, 10 * SEC - 1), HTTP_POLL_OK);
	CHECK_EQ(http_conn_poll(&f->conn, 10 * SEC), HTTP_POLL_CLOSE);
	CHECK_EQ(f->srv.stats.timeouts[HTTP_TIMEOUT_HEADER], 1);
	fx_free(f);
}

TEST(http_server_idle_timeout)
{
	struct fx *f = fx_new();
	struct sink s = { 0 };
	feed_step(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 0, 1 * SEC, &s);
	CHECK_EQ(http_conn_poll(&f->conn, 2 * SEC), HTTP_POLL_OK);     /* sees the output */
	CHECK_EQ(http_conn_poll(&f->conn, 32 * SEC - 1), HTTP_POLL_OK);
	CHECK_EQ(http_conn_poll(&f->conn, 32 * SEC), HTTP_POLL_CLOSE);
	CHECK_EQ(f->srv.stats.timeouts[HTTP_TIMEOUT_IDLE], 1);
	free(s.p);
	fx_free(f);

	/* a new head after a response gets the header timeout, from its first byte */
	f = fx_new();
	s = (struct sink){ 0 };
	feed_step(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 0, 1 * SEC, &s);
	CHECK_EQ(http_conn_poll(&f->conn, 2 * SEC), HTTP_POLL_OK);
	http_conn_input(&f->conn, "GET", 3, 5 * SEC);
	CHECK_EQ(http_conn_poll(&f->conn, 15 * SEC - 1), HTTP_POLL_OK);
	CHECK_EQ(http_conn_poll(&f->conn, 15 * SEC), HTTP_POLL_CLOSE);
	CHECK_EQ(f->srv.stats.timeouts[HTTP_TIMEOUT_HEADER], 1);
	free(s.p);
	fx_free(f);
}

TEST(http_server_send_timeout)
{
	struct fx *f = fx_new();
	const uint8_t *p;
	size_t n;
	http_conn_input(&f->conn, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n", 34, 40 * SEC);
	CHECK_EQ(http_conn_poll(&f->conn, 69 * SEC), HTTP_POLL_OK);
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	http_conn_advance(&f->conn, n);
	CHECK_EQ(http_conn_poll(&f->conn, 69 * SEC), HTTP_POLL_OK);    /* progress */
	REQUIRE(http_conn_peek(&f->conn, &p, &n));
	http_conn_advance(&f->conn, 1000);
	CHECK_EQ(http_conn_poll(&f->conn, 90 * SEC), HTTP_POLL_OK);
	CHECK_EQ(http_conn_poll(&f->conn, 120 * SEC - 1), HTTP_POLL_OK);
	CHECK_EQ(http_conn_poll(&f->conn, 120 * SEC), HTTP_POLL_CLOSE);
	CHECK_EQ(f->srv.stats.timeouts[HTTP_TIMEOUT_SEND], 1);
	fx_free(f);
}

TEST(http_server_custom_timeouts)
{
	struct http_config cfg;
	http_config_default(&cfg);
	cfg.header_timeout_ns = 2 * SEC;
	cfg.idle_timeout_ns = 5 * SEC;
	struct fx *f = fx_new_cfg(&cfg);
	CHECK(f->srv.cfg.send_timeout_ns == 30 * SEC);
	CHECK_EQ(http_conn_poll(&f->conn, 2 * SEC), HTTP_POLL_CLOSE);
	fx_free(f);
}

/* ---- the rest of the API --------------------------------------------------------- */

static bool fixed_clock(void *ctx, uint64_t *t)
{
	const uint64_t *v = ctx;
	if (!*v)
		return false;
	*t = *v;
	return true;
}

TEST(http_server_date)
{
	static const struct {
		uint64_t t;
		const char *s;
	} v[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },         /* RFC 9110's example */
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 1709251199, "Thu, 29 Feb 2024 23:59:59 GMT" },
		{ 4107542400, "Mon, 01 Mar 2100 00:00:00 GMT" },
		{ 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT" },
	};
	char buf[64];
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_EQ(http_date_format(buf, sizeof(buf), v[i].t), 29);
		CHECK_STR(buf, v[i].s);
	}
	CHECK_EQ(http_date_format(buf, sizeof(buf), 253402300800ull), 0);
	CHECK_EQ(http_date_format(buf, 29, 0), 0);

	uint64_t now = 784111777;
	struct fx *f = fx_new();
	f->srv.clock = fixed_clock;
	f->srv.clock_ctx = &now;
	struct sink s = { 0 };
	struct resp r;
	size_t pos = 0;
	feed(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK(has_hdr(&r, "Date", "Sun, 06 Nov 1994 08:49:37 GMT"));
	now++;                          /* the per-second cache follows the clock */
	feed(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK(has_hdr(&r, "Date", "Sun, 06 Nov 1994 08:49:38 GMT"));
	now = 0;                        /* the clock is unknown: no Date */
	feed(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", &s);
	REQUIRE(next_resp(s.p, s.len, &pos, false, &r));
	CHECK(!has_hdr(&r, "Date", NULL));
	free(s.p);
	fx_free(f);
}

TEST(http_server_reject_503)
{
	char buf[512];
	struct resp r;
	size_t pos = 0;
	size_t n = http_reject_503(buf, sizeof(buf));
	REQUIRE(n > 0);
	REQUIRE(next_resp((const uint8_t *)buf, n, &pos, false, &r));
	CHECK_EQ(pos, n);
	CHECK_EQ(r.status, 503);
	CHECK(has_hdr(&r, "Connection", "close"));
	CHECK(r.body_len == 24 && memcmp(r.body, "503 Service Unavailable\n", 24) == 0);
	CHECK_EQ(http_reject_503(buf, n - 1), 0);

	struct fx *f = fx_new();
	CHECK_EQ(http_server_reject(&f->srv, buf, sizeof(buf)), n);
	CHECK_EQ(f->srv.stats.conns_rejected, 1);
	CHECK_EQ(f->srv.stats.responses[10], 1);        /* code 503 */
	fx_free(f);
}

TEST(http_server_connection_counts)
{
	struct fx *f = fx_new();
	CHECK_EQ(f->srv.stats.conns_open, 1);
	CHECK_EQ(f->srv.stats.conns_total, 1);
	/* an error answer that never went out still counts as a parse error */
	http_conn_input(&f->conn, "GET / HTTP/1.1\r\n\r\n", 18, 0);
	http_conn_fini(&f->conn);
	http_conn_fini(&f->conn);
	CHECK_EQ(f->srv.stats.conns_open, 0);
	CHECK_EQ(f->srv.stats.parse_errors[HTTP_PERR_HOST], 1);
	http_conn_init(&f->conn, &f->srv, 0);   /* reuse */
	CHECK_EQ(f->srv.stats.conns_open, 1);
	CHECK_EQ(f->srv.stats.conns_total, 2);
	/* nothing happens on a finished connection */
	const uint8_t *p;
	size_t n;
	http_conn_input(&f->conn, "GET / HTTP/1.1\r\nHost: a\r\n", 25, 0);
	http_conn_fini(&f->conn);
	CHECK_EQ(http_conn_input(&f->conn, "\r\n", 2, 0), 2);
	CHECK(!http_conn_peek(&f->conn, &p, &n));
	CHECK_EQ(f->srv.stats.conns_open, 0);
	http_conn_init(&f->conn, &f->srv, 0);
	fx_free(f);
}

TEST(http_server_config_clamped)
{
	struct http_config cfg = { 0 };
	struct http_server srv;
	struct http_site site;
	http_site_init(&site);
	cfg.max_head = 100000;
	cfg.max_target = 9000;
	cfg.max_pipeline = 99;
	http_server_init(&srv, &cfg, &site);
	CHECK_EQ(srv.cfg.max_head, HTTP_HEAD_MAX);
	CHECK_EQ(srv.cfg.max_target, HTTP_TARGET_MAX);
	CHECK_EQ(srv.cfg.max_pipeline, HTTP_PIPELINE_MAX);
	CHECK(srv.cfg.header_timeout_ns == 10 * SEC);
	cfg.max_head = 1024;
	cfg.max_target = 2000;
	http_server_init(&srv, &cfg, &site);
	CHECK_EQ(srv.cfg.max_target, 1024 - HTTP_LINE_SLACK);
}

TEST(http_server_site)
{
	static struct http_site site;
	static const uint8_t a[] = "A", b[] = "B";
	http_site_init(&site);
	CHECK_EQ(http_site_add_table(&site, www_files, www_nfiles), 0);
	const struct http_site_entry *e = http_site_find(&site, "/", 1);
	REQUIRE(e != NULL);     /* the repo's www/index.html, built in */
	CHECK_STR(e->content_type, "text/html; charset=utf-8");
	CHECK(e->size > 100 && memmem(e->data, e->size, "/metrics", 8) != NULL);
	REQUIRE(http_site_find(&site, "/style.css", 10) != NULL);
	uint32_t n = site.n;
	/* a boot-volume file replaces the built-in one of the same path */
	CHECK_EQ(http_site_add(&site, "index.html", a, 1), 0);
	CHECK_EQ(site.n, n);
	CHECK(http_site_find(&site, "/index.html", 11)->data == a);
	CHECK_EQ(http_site_add(&site, "/index.html", b, 1), 0);
	CHECK(http_site_find(&site, "", 0)->data == b);
	CHECK_EQ(http_site_add(&site, "img/logo.PNG", a, 1), 0);
	CHECK_EQ(site.n, n + 1);
	CHECK_STR(http_site_find(&site, "/img/logo.PNG", 13)->content_type, "image/png");
	CHECK(http_site_find(&site, "/img/logo.png", 13) == NULL);
	/* refused paths */
	CHECK_EQ(http_site_add(&site, "", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "/", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "../x", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "a/./x", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "a/..", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "a\\b", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "a\nb", a, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, "x", NULL, 1), -NET_EINVAL);
	CHECK_EQ(http_site_add(&site, NULL, a, 1), -NET_EINVAL);
	static char longp[HTTP_TARGET_MAX + 10];
	memset(longp, 'a', sizeof(longp) - 1);
	CHECK_EQ(http_site_add(&site, longp, a, 1), -NET_EINVAL);
	/* the table is bounded */
	static char names[HTTP_SITE_MAX][24];
	int err = 0;
	for (int i = 0; i < HTTP_SITE_MAX && !err; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d.txt", i);
		err = http_site_add(&site, names[i], a, 1);
	}
	CHECK_EQ(err, -NET_ENOSPC);
	CHECK_EQ(site.n, HTTP_SITE_MAX);
}

TEST(http_server_content_types)
{
	static const struct {
		const char *path, *type;
	} v[] = {
		{ "a.html", "text/html; charset=utf-8" }, { "a.HTM", "text/html; charset=utf-8" },
		{ "a.css", "text/css; charset=utf-8" }, { "a.js", "text/javascript; charset=utf-8" },
		{ "a.json", "application/json" }, { "a.txt", "text/plain; charset=utf-8" },
		{ "a.png", "image/png" }, { "a.jpg", "image/jpeg" }, { "a.jpeg", "image/jpeg" },
		{ "a.gif", "image/gif" }, { "a.svg", "image/svg+xml" }, { "favicon.ico", "image/x-icon" },
		{ "a.wasm", "application/wasm" }, { "a.pdf", "application/pdf" },
		{ "a.tar.gz", "application/octet-stream" }, { "README", "application/octet-stream" },
		{ "a.d/file", "application/octet-stream" }, { "a.", "application/octet-stream" },
		{ "x.htmlx", "application/octet-stream" },
	};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_STR(http_content_type(v[i].path, strlen(v[i].path)), v[i].type);
}
