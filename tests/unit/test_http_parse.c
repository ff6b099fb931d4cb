/*
 * net/http_parse.c: request heads, every refusal class with its exact status and
 * reason, ranges, and "a head gives the same answer however its bytes are split".
 * Heads are copied into exactly-sized heap buffers so ASan catches any over-read.
 */
#include "tests/unit/test.h"
#include "net/http_parse.h"
#include <stdlib.h>

static const struct http_limits lim = { HTTP_HEAD_MAX, HTTP_TARGET_MAX };

/* One parsed head; the buffer lives until the next call (req views point into it). */
static char *held;
static struct http_request req;
static enum http_perr why;

/* Scans then parses s (which must be one whole head): the status (0 = accepted). */
static int parse_n(const char *s, size_t n)
{
	free(held);
	held = malloc(n ? n : 1);
	memcpy(held, s, n);
	struct http_scan scan = { 0, 0 };
	size_t head_len = 0;
	int st = http_head_scan(held, n, &scan, &lim, &head_len, &why);
	if (st == HTTP_HEAD_MORE)
		return -1;
	if (st != HTTP_HEAD_DONE)
		return st;
	if (head_len != n)
		return -2;
	return http_parse_head(held, n, &lim, &req, &why);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* "GET <target> HTTP/1.1" with Host, for target tests. */
static int target(const char *t)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", t);
	return parse(buf);
}

/* A request with one extra field line. */
static int field(const char *line)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n", line);
	return parse(buf);
}

#define EXPECT(call, status, reason)                                            \
	do {                                                                    \
		CHECK_EQ((call), (status));                                     \
		CHECK_EQ(why, (reason));                                        \
	} while (0)

TEST(http_parse_simple_get)
{
	REQUIRE(parse("GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n") == 0);
	CHECK_EQ(req.method, HTTP_M_GET);
	CHECK_EQ(req.minor, 1);
	CHECK(req.keep_alive);
	CHECK_EQ(req.path_len, 11);
	CHECK_MEM(req.path, "/index.html", 11);
	CHECK_EQ(req.query_len, 3);
	CHECK_MEM(req.query, "x=1", 3);
	CHECK(req.has_host);
	CHECK_EQ(req.host_len, 11);
	CHECK_MEM(req.host, "example.com", 11);
	CHECK(!req.has_content_length);
	CHECK_EQ(req.range.kind, HTTP_RANGE_NONE);
	CHECK_EQ(req.method_len, 3);
}

TEST(http_parse_head_and_versions)
{
	REQUIRE(parse("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	CHECK_EQ(req.method, HTTP_M_HEAD);
	/* 1.0: Host optional, not persistent unless asked */
	REQUIRE(parse("GET / HTTP/1.0\r\n\r\n") == 0);
	CHECK_EQ(req.minor, 0);
	CHECK(!req.keep_alive);
	REQUIRE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") == 0);
	CHECK(req.keep_alive);
	REQUIRE(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n") == 0);
	CHECK(!req.keep_alive);
	REQUIRE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade,  CLOSE\r\n\r\n") == 0);
	CHECK(!req.keep_alive);
	REQUIRE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: te\r\nConnection: close\r\n\r\n") == 0);
	CHECK(!req.keep_alive);
	/* a later 1.x is answered as 1.1 (RFC 9112 §2.3) */
	REQUIRE(parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n") == 0);
	CHECK_EQ(req.minor, 1);
	EXPECT(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, HTTP_PERR_VERSION);
	EXPECT(parse("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505, HTTP_PERR_VERSION);
	EXPECT(parse("PRI * HTTP/2.0\r\n\r\n"), 505, HTTP_PERR_VERSION);
}

TEST(http_parse_request_line_errors)
{
	EXPECT(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET  HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);  /* no target */
	EXPECT(parse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET /\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET / http/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET / HTTP/1.x\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET / HTTP/11.\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("AAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);  /* bare LF */
	EXPECT(parse("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("\n"), 400, HTTP_PERR_REQUEST_LINE);
	EXPECT(parse("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_TARGET);  /* bare CR */
	/* a 24-byte method is still a token: unknown, so 501 */
	EXPECT(parse("AAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\nHost: a\r\n\r\n"), 501, HTTP_PERR_METHOD);
}

TEST(http_parse_methods)
{
	EXPECT(parse("get / HTTP/1.1\r\nHost: a\r\n\r\n"), 501, HTTP_PERR_METHOD);  /* case-sensitive */
	EXPECT(parse("BREW / HTTP/1.1\r\nHost: a\r\n\r\n"), 501, HTTP_PERR_METHOD);
	static const char *const refused[] = { "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH" };
	for (unsigned i = 0; i < 6; i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s /x HTTP/1.1\r\nHost: a\r\n\r\n", refused[i]);
		EXPECT(parse(buf), 405, HTTP_PERR_NONE);
		CHECK(req.method != HTTP_M_UNKNOWN && req.method != HTTP_M_GET);
	}
	/* authority-form and asterisk-form are the refused methods' business: still 405 */
	EXPECT(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 405, HTTP_PERR_NONE);
	EXPECT(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 405, HTTP_PERR_NONE);
	/* a refused method may carry a body: 405 says nothing of it */
	EXPECT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"), 405, HTTP_PERR_NONE);
	CHECK_EQ(req.content_length, 5);
}

TEST(http_parse_field_syntax)
{
	EXPECT(field("Accept : */*"), 400, HTTP_PERR_FIELD);            /* whitespace before colon */
	EXPECT(field("Accept\t: */*"), 400, HTTP_PERR_FIELD);
	EXPECT(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400, HTTP_PERR_FIELD);
	EXPECT(field("X-A: 1\r\n  continued"), 400, HTTP_PERR_OBS_FOLD);
	EXPECT(field("X-A: 1\r\n\tcontinued"), 400, HTTP_PERR_OBS_FOLD);
	EXPECT(parse("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400, HTTP_PERR_OBS_FOLD);  /* §2.2 */
	EXPECT(field("NoColon"), 400, HTTP_PERR_FIELD);
	EXPECT(field(": empty-name"), 400, HTTP_PERR_FIELD);
	EXPECT(field("X@Y: 1"), 400, HTTP_PERR_FIELD);
	EXPECT(field("X-A: a\rb"), 400, HTTP_PERR_FIELD);                /* bare CR in a value */
	EXPECT(field("X-A: a\x01" "b"), 400, HTTP_PERR_FIELD);
	EXPECT(field("X-A: a\x7f"), 400, HTTP_PERR_FIELD);
	EXPECT(parse_n("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35), 400, HTTP_PERR_FIELD);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n"), 400, HTTP_PERR_FIELD);  /* bare LF */
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400, HTTP_PERR_FIELD);
	/* legal: empty value, tabs and obs-text inside, OWS trimmed */
	REQUIRE(field("X-Empty:") == 0);
	REQUIRE(field("X-A: \t a \t b\xe9 \t") == 0);
	REQUIRE(field("!#$%&'*+-.^_`|~09azAZ: ok") == 0);
}

TEST(http_parse_host)
{
	EXPECT(parse("GET / HTTP/1.1\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(field("X: 1\r\nHOST: b"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n"), 400, HTTP_PERR_HOST);
	EXPECT(parse("GET / HTTP/1.1\r\nHost: []\r\n\r\n"), 400, HTTP_PERR_HOST);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a%41b:\r\n\r\n"), 0);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: 10.77.0.2:80\r\n\r\n"), 0);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n"), 0);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0);   /* empty is allowed (RFC 9110 §7.2) */
	CHECK_EQ(parse("GET / HTTP/1.0\r\n\r\n"), 0);
}

TEST(http_parse_content_length)
{
	CHECK_EQ(field("Content-Length: 0"), 0);
	CHECK(req.has_content_length);
	CHECK_EQ(field("Content-Length: 0\r\nContent-Length: 0"), 0);
	CHECK_EQ(field("Content-Length: 0, 0"), 0);
	EXPECT(field("Content-Length: abc"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: -1"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: +1"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 0x10"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 1 2"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length:"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 0,"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 18446744073709551616"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 99999999999999999999999"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 5\r\nContent-Length: 6"), 400, HTTP_PERR_CONTENT_LENGTH);
	EXPECT(field("Content-Length: 5, 6"), 400, HTTP_PERR_CONTENT_LENGTH);
	/* valid but a body on GET/HEAD: 400, or 413 when large */
	EXPECT(field("Content-Length: 10"), 400, HTTP_PERR_BODY);
	EXPECT(field("Content-Length: 5, 5"), 400, HTTP_PERR_BODY);
	EXPECT(field("Content-Length: 65536"), 400, HTTP_PERR_BODY);
	EXPECT(field("Content-Length: 65537"), 413, HTTP_PERR_BODY);
	EXPECT(field("Content-Length: 18446744073709551615"), 413, HTTP_PERR_BODY);
	EXPECT(parse("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n"), 400, HTTP_PERR_BODY);
	CHECK_EQ(req.method, HTTP_M_HEAD);
}

TEST(http_parse_transfer_encoding)
{
	EXPECT(field("Transfer-Encoding: chunked"), 501, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(field("Transfer-Encoding: gzip, chunked"), 501, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(field("Transfer-Encoding: chunked\r\nContent-Length: 5"), 400, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(field("Content-Length: 0\r\nTransfer-Encoding: chunked"), 400, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, HTTP_PERR_TRANSFER_ENCODING);
	/* smuggling classics are refused before the method is even looked at */
	EXPECT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
	       400, HTTP_PERR_TRANSFER_ENCODING);
}

/* RFC 9112 §6.1: a transfer coding the server does not understand is 501, whatever the
 * method (it was 405 for POST: the method was judged first). chunked is understood. */
TEST(http_parse_unknown_transfer_coding_501)
{
	EXPECT(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
	       501, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(parse("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, x-custom;q=1\r\n\r\n"),
	       501, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(parse("DELETE / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\nTransfer-Encoding: br\r\n\r\n"),
	       501, HTTP_PERR_TRANSFER_ENCODING);
	EXPECT(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"), 405,
	       HTTP_PERR_NONE);
	EXPECT(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n"), 405,
	       HTTP_PERR_NONE);
	EXPECT(field("Transfer-Encoding: gzip"), 501, HTTP_PERR_TRANSFER_ENCODING);
}

TEST(http_parse_targets)
{
	CHECK_EQ(target("/"), 0);
	CHECK_EQ(target("/a..b/c."), 0);
	CHECK_EQ(target("/a/..b/.c/...") , 0);
	CHECK_EQ(target("/~user/a-b_c.d!$&'()*+,;=:@x"), 0);
	REQUIRE(target("/a%2Fb%20c") == 0);
	CHECK_EQ(req.path_len, 6);
	CHECK_MEM(req.path, "/a/b c", 6);
	REQUIRE(target("/caf%C3%A9") == 0);     /* decoded UTF-8 is fine */
	CHECK_EQ(req.path_len, 6);
	CHECK_MEM(req.path, "/caf\xc3\xa9", 6);
	REQUIRE(target("/?a=b?c/d%20") == 0);
	CHECK_EQ(req.path_len, 1);
	CHECK_EQ(req.query_len, 10);
	/* absolute-form (RFC 9112 §3.2.2) */
	REQUIRE(target("http://example.com/x/y?z") == 0);
	CHECK_EQ(req.path_len, 4);
	CHECK_MEM(req.path, "/x/y", 4);
	CHECK_MEM(req.query, "z", 1);
	REQUIRE(target("HTTPS://example.com:8443") == 0);
	CHECK_EQ(req.path_len, 1);
	CHECK_MEM(req.path, "/", 1);
	EXPECT(target("http://user@example.com/"), 400, HTTP_PERR_TARGET);
	EXPECT(target("http:///x"), 400, HTTP_PERR_TARGET);
	EXPECT(target("http://:80/x"), 400, HTTP_PERR_TARGET);
	EXPECT(target("ftp://example.com/"), 400, HTTP_PERR_TARGET);
	EXPECT(target("*"), 400, HTTP_PERR_TARGET);
	EXPECT(target("example.com/"), 400, HTTP_PERR_TARGET);
	/* bad escapes, NUL and control bytes, characters outside RFC 3986 */
	EXPECT(target("/%zz"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/%4"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a%"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/%00"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a%00.html"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/%0d%0aSet-Cookie:x"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/%1f"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/%7f"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a\"b"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a<b>"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a#frag"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a|b"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a\\b"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/\xc3\xa9"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/a\tb"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/?q=%g0"), 400, HTTP_PERR_TARGET);
	EXPECT(target("/?q=a b"), 400, HTTP_PERR_REQUEST_LINE);
	/* traversal, raw or hidden by percent-encoding */
	EXPECT(target("/.."), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/../etc/passwd"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a/../b"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a/./b"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a/."), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/%2e%2e/x"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/%2E%2e"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a/.%2e/b"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a%2f..%2fb"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a%2F%2E%2E"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("/a%5c..%5cb"), 400, HTTP_PERR_TRAVERSAL);
	EXPECT(target("http://a/../x"), 400, HTTP_PERR_TRAVERSAL);
}

TEST(http_parse_limits)
{
	static char t[HTTP_TARGET_MAX + 2];
	memset(t, 'a', sizeof(t) - 1);
	t[0] = '/';
	t[HTTP_TARGET_MAX] = 0;
	CHECK_EQ(target(t), 0);                 /* exactly 2048 */
	t[HTTP_TARGET_MAX] = 'a';
	t[HTTP_TARGET_MAX + 1] = 0;
	EXPECT(target(t), 414, HTTP_PERR_TARGET_TOO_LONG);

	/* a head of exactly HTTP_HEAD_MAX is fine, one byte more is 431 */
	static char h[HTTP_HEAD_MAX + 2];
	const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t sl = strlen(start);
	memcpy(h, start, sl);
	memset(h + sl, 'v', HTTP_HEAD_MAX - sl - 4);
	memcpy(h + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	CHECK_EQ(parse_n(h, HTTP_HEAD_MAX), 0);
	memcpy(h, start, sl);
	memset(h + sl, 'v', HTTP_HEAD_MAX + 1 - sl - 4);
	memcpy(h + HTTP_HEAD_MAX + 1 - 4, "\r\n\r\n", 4);
	EXPECT(parse_n(h, HTTP_HEAD_MAX + 1), 431, HTTP_PERR_HEAD_TOO_LARGE);

	/* many small fields add up the same way */
	static char m[HTTP_HEAD_MAX * 2];
	size_t n = (size_t)snprintf(m, sizeof(m), "GET / HTTP/1.1\r\nHost: a\r\n");
	while (n < HTTP_HEAD_MAX)
		n += (size_t)snprintf(m + n, sizeof(m) - n, "X-%zu: y\r\n", n);
	n += (size_t)snprintf(m + n, sizeof(m) - n, "\r\n");
	EXPECT(parse_n(m, n), 431, HTTP_PERR_HEAD_TOO_LARGE);
}

TEST(http_parse_range_field)
{
	REQUIRE(field("Range: bytes=0-99") == 0);
	CHECK_EQ(req.range.kind, HTTP_RANGE_FROM_TO);
	CHECK_EQ(req.range.first, 0);
	CHECK_EQ(req.range.last, 99);
	REQUIRE(field("Range: Bytes=100-") == 0);
	CHECK_EQ(req.range.kind, HTTP_RANGE_FROM);
	CHECK_EQ(req.range.first, 100);
	REQUIRE(field("range: bytes=-50") == 0);
	CHECK_EQ(req.range.kind, HTTP_RANGE_SUFFIX);
	CHECK_EQ(req.range.last, 50);
	REQUIRE(field("Range: bytes=99999999999999999999999-") == 0);
	CHECK_EQ(req.range.kind, HTTP_RANGE_FROM);
	CHECK(req.range.first == UINT64_MAX);
	/* ignored: several ranges, another unit, bad syntax, last < first, repeated */
	static const char *const ignored[] = {
		"Range: bytes=0-1,5-6", "Range: bytes=0-1, 5-6", "Range: items=0-1", "Range: bytes=5-1",
		"Range: bytes=", "Range: bytes=-", "Range: bytes= 0-1", "Range: bytes=a-b", "Range: bytes=1",
		"Range: bytes=0-1x", "Range: bytes 0-1", "Range: bytes=0-1\r\nRange: bytes=0-1",
	};
	for (unsigned i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		CHECK_EQ(field(ignored[i]), 0);
		CHECK_EQ(req.range.kind, HTTP_RANGE_NONE);
	}
	REQUIRE(field("Range: bytes=0-1\r\nIf-Range: \"abc\"") == 0);
	CHECK(req.if_range);
}

TEST(http_parse_range_resolve)
{
	static const struct {
		enum http_range_kind kind;
		uint64_t first, last, size;
		int status;
		uint64_t off, len;
	} v[] = {
		{ HTTP_RANGE_NONE, 0, 0, 100, 200, 0, 100 },
		{ HTTP_RANGE_FROM_TO, 0, 9, 100, 206, 0, 10 },
		{ HTTP_RANGE_FROM_TO, 90, 200, 100, 206, 90, 10 },      /* clamped at the end */
		{ HTTP_RANGE_FROM_TO, 99, 99, 100, 206, 99, 1 },
		{ HTTP_RANGE_FROM_TO, 100, 200, 100, 416, 0, 0 },
		{ HTTP_RANGE_FROM_TO, 0, 0, 0, 416, 0, 0 },
		{ HTTP_RANGE_FROM, 10, 0, 100, 206, 10, 90 },
		{ HTTP_RANGE_FROM, 100, 0, 100, 416, 0, 0 },
		{ HTTP_RANGE_FROM, UINT64_MAX, 0, 100, 416, 0, 0 },
		{ HTTP_RANGE_SUFFIX, 0, 30, 100, 206, 70, 30 },
		{ HTTP_RANGE_SUFFIX, 0, 300, 100, 206, 0, 100 },
		{ HTTP_RANGE_SUFFIX, 0, UINT64_MAX, 100, 206, 0, 100 },
		{ HTTP_RANGE_SUFFIX, 0, 0, 100, 416, 0, 0 },
		{ HTTP_RANGE_SUFFIX, 0, 5, 0, 416, 0, 0 },
		{ HTTP_RANGE_FROM_TO, 0, UINT64_MAX, UINT64_MAX, 206, 0, UINT64_MAX },
	};
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct http_range r = { v[i].kind, v[i].first, v[i].last };
		uint64_t off = 7, len = 7;
		int st = http_range_resolve(&r, v[i].size, &off, &len);
		CHECK_EQ(st, v[i].status);
		if (st != 416) {
			CHECK(off == v[i].off);
			CHECK(len == v[i].len);
		}
	}
}

/* The verdict of feeding s in pieces of `step` bytes (scan after each), then parsing. */
static int split_verdict(const char *s, size_t n, size_t step, enum http_perr *w)
{
	char *buf = malloc(n ? n : 1);
	struct http_scan scan = { 0, 0 };
	size_t have = 0, head_len = 0;
	int st = HTTP_HEAD_MORE;
	while (st == HTTP_HEAD_MORE && have < n) {
		size_t k = n - have < step ? n - have : step;
		memcpy(buf + have, s + have, k);
		have += k;
		st = http_head_scan(buf, have, &scan, &lim, &head_len, w);
	}
	if (st == HTTP_HEAD_DONE)
		st = head_len == n ? http_parse_head(buf, head_len, &lim, &req, w) : -2;
	free(buf);
	return st;
}

TEST(http_parse_split_invariance)
{
	static char longt[3100], longv[9100], longm[200], vers[3100], edge[2100], edge2[2100];
	snprintf(longt, sizeof(longt), "GET /%02990d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	snprintf(longv, sizeof(longv), "GET / HTTP/1.1\r\nHost: a\r\nX: %08950d\r\n\r\n", 0);
	snprintf(longm, sizeof(longm), "%0100d / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	/* the target fits, then "HTTP/1.1" runs on: decided by the version length */
	snprintf(vers, sizeof(vers), "GET /a HTTP/1.1%03000d\r\nHost: a\r\n\r\n", 0);
	/* target of exactly max_target, then a CR that is (or is not) the line's end */
	snprintf(edge, sizeof(edge), "GET /%02047d\r\nHost: a\r\n\r\n", 0);
	snprintf(edge2, sizeof(edge2), "GET /%02047d\rX\r\nHost: a\r\n\r\n", 0);
	const char *cases[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/2.0\r\nHost : a\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n",
		"GET /%2e%2e HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\n",
		"\n",
		longt, longv, longm, vers, edge, edge2,
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i]);
		enum http_perr w1, w2;
		int whole = split_verdict(cases[i], n, n, &w1);
		for (size_t step = 1; step <= 7; step++) {
			int part = split_verdict(cases[i], n, step, &w2);
			CHECK_EQ(part, whole);
			CHECK_EQ(w2, w1);
		}
	}
	CHECK_EQ(split_verdict(longt, strlen(longt), 1, &why), 414);
	CHECK_EQ(split_verdict(longv, strlen(longv), 1, &why), 431);
	CHECK_EQ(split_verdict(longm, strlen(longm), 1, &why), 400);
	CHECK_EQ(split_verdict(vers, strlen(vers), 1, &why), 400);
	CHECK_EQ(split_verdict(edge, strlen(edge), 1, &why), 400);
	CHECK_EQ(split_verdict(edge2, strlen(edge2), 1, &why), 414);
}

TEST(http_parse_scan_early_verdicts)
{
	/* 414 and 431 are known before the head ends, so the buffer never fills up */
	static char b[HTTP_HEAD_MAX];
	struct http_scan scan = { 0, 0 };
	size_t head_len;
	memcpy(b, "GET /", 5);
	memset(b + 5, 'a', HTTP_TARGET_MAX);
	CHECK_EQ(http_head_scan(b, 5 + HTTP_TARGET_MAX - 1, &scan, &lim, &head_len, &why), HTTP_HEAD_MORE);
	CHECK_EQ(http_head_scan(b, 5 + HTTP_TARGET_MAX, &scan, &lim, &head_len, &why), 414);
	scan = (struct http_scan){ 0, 0 };
	memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
	memset(b + 19, 'v', sizeof(b) - 19);
	CHECK_EQ(http_head_scan(b, sizeof(b) - 1, &scan, &lim, &head_len, &why), HTTP_HEAD_MORE);
	CHECK_EQ(http_head_scan(b, sizeof(b), &scan, &lim, &head_len, &why), 431);
	CHECK_EQ(why, HTTP_PERR_HEAD_TOO_LARGE);
	/* a partial method is not judged until it is too long to be one */
	scan = (struct http_scan){ 0, 0 };
	CHECK_EQ(http_head_scan("GETGETGETGETGETGETGETGET", 24, &scan, &lim, &head_len, &why), HTTP_HEAD_MORE);
	CHECK_EQ(http_head_scan("GETGETGETGETGETGETGETGETG", 25, &scan, &lim, &head_len, &why), 400);
}

TEST(http_parse_perr_names)
{
	for (int i = 0; i < HTTP_PERR_COUNT; i++) {
		const char *n = http_perr_name((enum http_perr)i);
		REQUIRE(n != NULL);
		for (const char *p = n; *p; p++)
			CHECK((*p >= 'a' && *p <= 'z') || *p == '_');
	}
	CHECK_STR(http_perr_name(HTTP_PERR_COUNT), "unknown");
}

TEST(http_parse_head_unscanned_input)
{
	/* http_parse_head() re-checks what http_head_scan() guarantees */
	char a[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nXYZ";
	EXPECT(http_parse_head(a, strlen(a), &lim, &req, &why), 400, HTTP_PERR_FIELD);
	char b[] = "GET / HTTP/1.1";
	EXPECT(http_parse_head(b, strlen(b), &lim, &req, &why), 400, HTTP_PERR_REQUEST_LINE);
	char c[] = "GET / HTTP/1.1\r\nHost: a\r\n";
	EXPECT(http_parse_head(c, strlen(c), &lim, &req, &why), 400, HTTP_PERR_FIELD);
	char d[] = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n";
	struct http_limits small = { 32, 8 };
	EXPECT(http_parse_head(d, strlen(d), &small, &req, &why), 431, HTTP_PERR_HEAD_TOO_LARGE);
	struct http_limits narrow = { HTTP_HEAD_MAX, 8 };
	EXPECT(http_parse_head(d, strlen(d), &narrow, &req, &why), 414, HTTP_PERR_TARGET_TOO_LONG);
}
