/*
 * /debug/ endpoints (http_debug.h). route() runs when a request is parsed: the access
 * check, then the path; body() produces the response in pieces the server frames.
 * Query strings are application/x-www-form-urlencoded ('+' is a space, %XX a byte);
 * every value is copied with its length checked, never truncated.
 */
#include "net/http_debug.h"
#include "net/stack.h"
#include "net/eth.h"
#include "net/cmd_util.h"
#include "lib/string.h"

static const char CT_PCAPNG[] = "application/vnd.tcpdump.pcap";

/* ---- access ---------------------------------------------------------------------- */

/* A client on a subnet of one of our interfaces. */
static int is_local(const struct net_stack *s, uint32_t peer)
{
	for (int i = 0; i < s->link.nifs; i++) {
		const struct net_if *ifc = &s->link.ifs[i];
		if (ifc->addr && ((ifc->addr ^ peer) & inet_mask(ifc->prefix_len)) == 0)
			return 1;
	}
	return 0;
}

static int allowed(const struct http_debug *d, const struct http_conn *c)
{
	if (d->mode == HTTP_DEBUG_ON)
		return 1;
	return d->mode == HTTP_DEBUG_LOCAL && is_local(d->net, c->peer_addr);
}

/* ---- query strings --------------------------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The decoded value of key in q[0..n) into out (cap with the NUL): 1 found, 0 absent,
 * -1 malformed or too long. */
static int query_get(const char *q, size_t n, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && q[end] != '&')
			end++;
		if (end - i > klen && memcmp(q + i, key, klen) == 0 && q[i + klen] == '=') {
			size_t o = 0;
			for (size_t k = i + klen + 1; k < end; k++) {
				char ch = q[k];
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					if (k + 2 >= end)
						return -1;
					int hi = hexval(q[k + 1]), lo = hexval(q[k + 2]);
					if (hi < 0 || lo < 0)
						return -1;
					ch = (char)(hi << 4 | lo);
					k += 2;
				}
				if (ch == 0 || o + 1 >= cap)
					return -1;
				out[o++] = ch;
			}
			out[o] = 0;
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

/* ---- /debug/pcap ----------------------------------------------------------------- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* The capturing connection's own segments (either direction) stay out of its file:
 * it would otherwise capture itself sending the capture. */
static int own_segment(void *ctx, const uint8_t *f, size_t len)
{
	const struct http_debug *d = ctx;
	if (len < ETH_HLEN + 20 || be16(f + 12) != ETH_P_IP || f[ETH_HLEN + 9] != 6)
		return 0;
	size_t ihl = (size_t)(f[ETH_HLEN] & 0x0f) * 4;
	if (ihl < 20 || len < ETH_HLEN + ihl + 4)
		return 0;
	uint32_t src = be32(f + ETH_HLEN + 12), dst = be32(f + ETH_HLEN + 16);
	uint16_t sp = be16(f + ETH_HLEN + ihl), dp = be16(f + ETH_HLEN + ihl + 2);
	return (src == d->peer_addr && sp == d->peer_port && dst == d->local_addr && dp == d->local_port) ||
	       (dst == d->peer_addr && dp == d->peer_port && src == d->local_addr && sp == d->local_port);
}

static int pcap_route(struct http_debug *d, struct http_conn *c, const struct http_request *req)
{
	char expr[256], num[16], err[PKT_FILTER_ERR_LEN];
	uint32_t limit = 0;
	int r = query_get(req->query, req->query_len, "f", expr, sizeof(expr));
	if (r < 0)
		return 400;
	if (r == 0)
		expr[0] = 0;
	r = query_get(req->query, req->query_len, "c", num, sizeof(num));
	if (r < 0 || (r == 1 && (cmd_parse_uint(num, 1000000000u, &limit) || !limit)))
		return 400;
	d->peer_addr = c->peer_addr;
	d->peer_port = c->peer_port;
	d->local_addr = c->local_addr;
	d->local_port = c->local_port;
	r = capture_ring_get(&d->net->cap, expr, limit, own_segment, d, err, sizeof(err));
	if (r == -1) {
		d->st.pcap_bad_filter++;
		return 400;
	}
	if (r < 0) {
		d->st.pcap_busy++;
		return 503;
	}
	d->st.pcap_started++;
	d->pcap_conn = c;
	d->pcap_phase = 0;
	d->pcap_last_ns = d->net->core.now_ns;
	pcap_ring_cursor_oldest(&d->net->cap.ring, &d->cur);
	return 200;
}

/* SHB, then one IDB per interface: interface id = link index, as capture.c records. */
static size_t pcap_headers(struct http_debug *d, uint8_t *buf, size_t cap)
{
	size_t n = pcapng_shb(buf, cap, "Skiff");
	for (int i = 0; i < d->net->link.nifs; i++)
		n += pcapng_idb(buf + n, cap - n, d->net->link.ifs[i].dev->name, CAPTURE_SNAPLEN);
	return n;
}

static size_t pcap_body(struct http_debug *d, uint8_t *buf, size_t cap, bool *end)
{
	struct capture *cp = &d->net->cap;
	uint64_t now = d->net->core.now_ns;
	size_t n;
	if (d->pcap_phase == 0) {
		d->pcap_phase = 1;
		d->pcap_last_ns = now;
		return pcap_headers(d, buf, cap);
	}
	n = pcap_ring_read(&cp->ring, &d->cur, buf, cap);
	if (n) {
		d->pcap_last_ns = now;
		return n;
	}
	if (capture_ring_full(cp) && d->cur.seq >= cp->ring.seq_next) {
		*end = true;
		return 0;
	}
	if (now - d->pcap_last_ns >= HTTP_DEBUG_IDLE_NS && d->net->link.nifs) {
		d->pcap_last_ns = now;
		return pcapng_isb(buf, cap, 0, capture_now(cp));
	}
	return 0;
}

/* ---- /debug/trace ---------------------------------------------------------------- */

static const char CT_JSONL[] = "application/jsonl";

static int trace_route(struct http_debug *d, struct http_conn *c, const struct http_request *req)
{
	char expr[256], num[16], err[PKT_FILTER_ERR_LEN];
	uint32_t limit = HTTP_DEBUG_TRACE_DEFAULT;
	int r = query_get(req->query, req->query_len, "f", expr, sizeof(expr));
	if (r < 0)
		return 400;
	if (r == 0)
		expr[0] = 0;
	r = query_get(req->query, req->query_len, "c", num, sizeof(num));
	if (r < 0 || (r == 1 && (cmd_parse_uint(num, 100000u, &limit) || !limit)))
		return 400;
	r = capture_trace_start(&d->net->cap, expr, limit, NULL, NULL, err, sizeof(err));
	if (r == -1)
		return 400;
	if (r < 0) {
		d->st.trace_busy++;
		return 503;
	}
	d->st.trace_started++;
	d->trace_conn = c;
	d->trace_next = d->net->cap.trace.seq;
	return 200;
}

static size_t trace_body(struct http_debug *d, uint8_t *buf, size_t cap, bool *end)
{
	const struct capture_trace *t = &d->net->cap.trace;
	size_t n = 0;
	if (t->seq - d->trace_next > CAPTURE_TRACE_KEEP)
		d->trace_next = t->seq - CAPTURE_TRACE_KEEP;    /* fell behind: the oldest are gone */
	while (d->trace_next < t->seq) {
		uint32_t k = (uint32_t)(d->trace_next % CAPTURE_TRACE_KEEP);
		int len = capture_trace_json(&d->net->cap, t->keep[k], t->keep_n[k], (char *)buf + n,
					     cap - n);
		if (len < 0 || (size_t)len >= cap - n)
			break;          /* the next piece takes it */
		n += (size_t)len;
		d->trace_next++;
	}
	if (!n && (!t->active || t->ending) && d->trace_next >= t->seq)
		*end = true;
	return n;
}

/* ---- the handler ----------------------------------------------------------------- */

static int route(void *ctx, struct http_conn *c, const struct http_request *req, const char **ctype)
{
	struct http_debug *d = ctx;
	if (req->path_len < 7 || memcmp(req->path, "/debug/", 7) != 0)
		return 0;
	if (!allowed(d, c)) {
		d->st.forbidden++;
		return 403;
	}
	if (req->path_len == 11 && memcmp(req->path, "/debug/pcap", 11) == 0) {
		*ctype = CT_PCAPNG;
		return pcap_route(d, c, req);
	}
	if (req->path_len == 12 && memcmp(req->path, "/debug/trace", 12) == 0) {
		*ctype = CT_JSONL;
		return trace_route(d, c, req);
	}
	return 404;
}

static size_t body(void *ctx, struct http_conn *c, uint8_t *buf, size_t cap, bool *end)
{
	struct http_debug *d = ctx;
	if (c == d->pcap_conn)
		return pcap_body(d, buf, cap, end);
	if (c == d->trace_conn)
		return trace_body(d, buf, cap, end);
	*end = true;
	return 0;
}

static void done(void *ctx, struct http_conn *c)
{
	struct http_debug *d = ctx;
	if (c == d->pcap_conn) {
		capture_ring_put(&d->net->cap);
		d->pcap_conn = NULL;
	}
	if (c == d->trace_conn) {
		if (!d->net->cap.trace.out)     /* still ours, not a shell trace since */
			capture_trace_stop(&d->net->cap);
		d->trace_conn = NULL;
	}
}

void http_debug_init(struct http_debug *d, struct net_stack *net, int mode)
{
	memset(d, 0, sizeof(*d));
	d->net = net;
	d->mode = mode;
	d->handler = (struct http_handler){ route, body, done, d };
}
