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
#include "lib/fmt.h"
#include <stdarg.h>

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

/* The f= (filter expression, empty when absent) and c= (count, 1..max; *limit
 * unchanged when absent) query fields: 0, or 400 when either is malformed. */
static int filter_query(const struct http_request *req, char *expr, size_t cap, uint32_t *limit,
			uint32_t max)
{
	char num[16];
	int r = query_get(req->query, req->query_len, "f", expr, cap);
	if (r < 0)
		return 400;
	if (r == 0)
		expr[0] = 0;
	r = query_get(req->query, req->query_len, "c", num, sizeof(num));
	if (r < 0 || (r == 1 && (cmd_parse_uint(num, max, limit) || !*limit)))
		return 400;
	return 0;
}

static int pcap_route(struct http_debug *d, struct http_conn *c, const struct http_request *req)
{
	char expr[256], err[PKT_FILTER_ERR_LEN];
	uint32_t limit = 0;
	int r;
	if (filter_query(req, expr, sizeof(expr), &limit, 1000000000u))
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
	char expr[256], err[PKT_FILTER_ERR_LEN];
	uint32_t limit = HTTP_DEBUG_TRACE_DEFAULT;
	int r;
	if (filter_query(req, expr, sizeof(expr), &limit, 100000u))
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

/* ---- /debug/stats.json ----------------------------------------------------------- */

static const char CT_JSON[] = "application/json";

static void jstr(struct fmt_buf *b, const char *s)
{
	fmt_put(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fmt_put(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fmt_put(b, "\\u%04x", (unsigned char)*s);
		else
			fmt_put(b, "%c", *s);
	}
	fmt_put(b, "\"");
}

static void stats_nics(struct http_debug *d, struct fmt_buf *b)
{
	const struct net_link *l = &d->net->link;
	fmt_put(b, "\"ifaces\":[");
	for (int i = 0; i < l->nifs; i++) {
		const struct net_if *ifc = &l->ifs[i];
		struct netdev_stats st;
		memset(&st, 0, sizeof(st));
		ifc->dev->ops->get_stats(ifc->dev, &st);
		const struct qdisc *qd = &ifc->qdisc;
		uint64_t qsent = qd->fq ? qd->fq->fq.st.packets : qd->st.packets;
		uint64_t qdrop = qd->fq ? qd->fq->fq.st.drops : qd->st.drops;
		fmt_put(b, "%s{\"name\":", i ? "," : "");
		jstr(b, ifc->dev->name);
		fmt_put(b, ",\"link_up\":%u,\"rx_packets\":%lu,\"rx_dropped\":%lu,\"rx_errors\":%lu,"
			"\"tx_packets\":%lu,\"tx_dropped\":%lu,\"qdisc\":\"%s\",\"qdisc_sent\":%lu,"
			"\"qdisc_drops\":%lu,\"qdisc_backlog\":%u}",
		     ifc->link_up, (unsigned long)st.rx_packets,
		     (unsigned long)(st.rx_dropped + st.rx_missed), (unsigned long)st.rx_errors,
		     (unsigned long)st.tx_packets, (unsigned long)st.tx_dropped, qdisc_kind(qd),
		     (unsigned long)qsent, (unsigned long)qdrop, qdisc_qlen(qd));
	}
	fmt_put(b, "]");
}

struct nstat_json {
	struct fmt_buf *b;
	int n;
};

static void tcp_counter(void *ctx, const char *name, uint64_t v)
{
	struct nstat_json *x = ctx;
	static const char *const want[] = { "TcpActiveOpens", "TcpPassiveOpens", "TcpCurrEstab",
					    "TcpInSegs", "TcpOutSegs", "TcpRetransSegs", "TcpInErrs" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strcmp(name, want[i]) == 0)
			fmt_put(x->b, "%s\"%s\":%lu", x->n++ ? "," : "", name, (unsigned long)v);
}

static void stats_mib(struct http_debug *d, struct fmt_buf *b)
{
	static const char *const names[] = {
		"IpInReceives", "IpInDelivers", "IpInAddrErrors", "IpInHdrErrors", "IpOutRequests",
		"IpOutNoRoutes", "IcmpInMsgs", "IcmpOutMsgs", "IcmpInEchos", "IcmpOutEchoReps",
		"UdpInDatagrams", "UdpOutDatagrams", "UdpNoPorts", "NeighLookups", "NeighHits",
		"NeighUnresolvedDiscards", "NeighResFailed", "PktAllocFails",
	};
	fmt_put(b, ",\"mib\":{");
	int n = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (int k = 0; k < MIB_COUNT; k++)
			if (strcmp(net_mib_names[k], names[i]) == 0)
				fmt_put(b, "%s\"%s\":%lu", n++ ? "," : "", names[i],
				     (unsigned long)d->net->core.mib[k]);
	if (d->net->tcp_on) {
		struct nstat_json x = { b, n };
		tcp_nstat(&d->net->tcp, tcp_counter, &x);
	}
	fmt_put(b, "},\"drops\":{");
	n = 0;
	for (int k = 0; k < DROP_COUNT; k++)
		if (d->net->core.drops[k])
			fmt_put(b, "%s\"%s\":%lu", n++ ? "," : "", net_drop_names[k],
			     (unsigned long)d->net->core.drops[k]);
	fmt_put(b, "},\"debug\":{\"forbidden\":%lu}", (unsigned long)d->st.forbidden);
}

static void ss_line(void *ctx, const char *text)
{
	struct nstat_json *x = ctx;
	fmt_put(x->b, "%s", x->n++ ? "," : "");
	jstr(x->b, text);
}

/* Connections as `ss -tn` shows them, and the last finished traces. */
static void stats_conns_traces(struct http_debug *d, struct fmt_buf *b)
{
	fmt_put(b, ",\"ss\":[");
	if (d->net->tcp_on) {
		char a0[] = "ss", a1[] = "-tn";
		char *argv[] = { a0, a1, NULL };
		struct nstat_json x = { b, 0 };
		tcp_show(&d->net->tcp, 2, argv, ss_line, &x);
	}
	fmt_put(b, "],\"traces\":[");
	const struct capture_trace *t = &d->net->cap.trace;
	uint64_t first = t->seq > 8 ? t->seq - 8 : 0;
	for (uint64_t q = first; q < t->seq; q++) {
		uint32_t k = (uint32_t)(q % CAPTURE_TRACE_KEEP);
		char line[2048];
		int n = capture_trace_json(&d->net->cap, t->keep[k], t->keep_n[k], line, sizeof(line));
		if (n <= 0 || (size_t)n >= sizeof(line))
			continue;
		line[n - 1] = 0;        /* the newline */
		fmt_put(b, "%s%s", q > first ? "," : "", line);
	}
	fmt_put(b, "],\"tracing\":%u", t->active);
}

static void stats_render(struct http_debug *d)
{
	struct fmt_buf b = { d->stats, sizeof(d->stats), 0 };
	fmt_put(&b, "{\"now_ms\":%lu,", (unsigned long)(d->net->core.now_ns / 1000000u));
	stats_nics(d, &b);
	stats_mib(d, &b);
	stats_conns_traces(d, &b);
	fmt_put(&b, "}\n");
	if (b.len >= sizeof(d->stats)) {        /* never cut JSON: say so instead */
		struct fmt_buf e = { d->stats, sizeof(d->stats), 0 };
		fmt_put(&e, "{\"error\":\"stats larger than %u bytes\"}\n", (unsigned)sizeof(d->stats));
		b.len = e.len;
	}
	d->stats_len = (uint32_t)b.len;
	d->stats_off = 0;
}

static size_t stats_body(struct http_debug *d, struct http_conn *c, uint8_t *buf, size_t cap,
			 bool *end)
{
	if (d->stats_conn != c) {
		if (d->stats_conn)
			return 0;       /* another reader's copy is going out: next poll */
		d->stats_conn = c;
		stats_render(d);
	}
	size_t n = d->stats_len - d->stats_off;
	if (n > cap)
		n = cap;
	memcpy(buf, d->stats + d->stats_off, n);
	d->stats_off += (uint32_t)n;
	if (d->stats_off >= d->stats_len) {
		*end = true;
		d->stats_conn = NULL;
	}
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
	if (req->path_len == 17 && memcmp(req->path, "/debug/stats.json", 17) == 0) {
		*ctype = CT_JSON;
		return 200;
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
	return stats_body(d, c, buf, cap, end);
}

static void done(void *ctx, struct http_conn *c)
{
	struct http_debug *d = ctx;
	if (c == d->pcap_conn) {
		capture_ring_put(&d->net->cap);
		d->pcap_conn = NULL;
	}
	if (c == d->stats_conn)
		d->stats_conn = NULL;
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
