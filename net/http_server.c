/*
 * The HTTP/1.1 connection state machine (see http_server.h); the site lives in
 * http_site.c, /bytes and /metrics in http_endpoints.c.
 *
 * Input: bytes collect in conn->in (one request head, HTTP_HEAD_MAX, plus whatever
 * of the next ones fits); each complete head is parsed, resolved against the site at
 * once into a small struct http_resp (no pointer into conn->in survives), queued, and
 * its bytes dropped. Output: the response at the queue's front goes PH_START ->
 * PH_HEAD (head rendered into conn->out) -> PH_BODY (file data by reference, or
 * /bytes and /metrics generated one conn->out-sized chunk at a time) -> popped.
 * Statistics are counted when a response completes, so they do not depend on how
 * far parsing ran ahead of output.
 */
#include "net/http_server.h"
#include "net/http_int.h"
#include "net/err.h"
#include "net/platform.h"
#include "lib/fmt.h"
#include "lib/string.h"

enum http_body { BODY_NONE, BODY_STATIC, BODY_BYTES, BODY_METRICS, BODY_HANDLER };

#define RF_HEAD 0x01            /* HEAD: no body */
#define RF_CLOSE 0x02           /* Connection: close; the last response */
#define RF_KEEPALIVE 0x04       /* 1.0 client asked for keep-alive: say yes */
#define RF_CHUNKED 0x08         /* Transfer-Encoding: chunked (metrics in 1.1) */
#define RF_ALLOW 0x10           /* 405: Allow */
#define RF_RANGES 0x20          /* Accept-Ranges: bytes */
#define RF_NOSTORE 0x40         /* Cache-Control: no-store */

enum { PH_START, PH_HEAD, PH_BODY };

static const struct {
	uint16_t code;
	const char *reason;
	const char *body;       /* for error responses */
} statuses[] = {
	{ 200, "OK", NULL },
	{ 206, "Partial Content", NULL },
	{ 400, "Bad Request", "400 Bad Request\n" },
	{ 404, "Not Found", "404 Not Found\n" },
	{ 405, "Method Not Allowed", "405 Method Not Allowed\n" },
	{ 413, "Content Too Large", "413 Content Too Large\n" },
	{ 414, "URI Too Long", "414 URI Too Long\n" },
	{ 416, "Range Not Satisfiable", "416 Range Not Satisfiable\n" },
	{ 431, "Request Header Fields Too Large", "431 Request Header Fields Too Large\n" },
	{ 501, "Not Implemented", "501 Not Implemented\n" },
	{ 503, "Service Unavailable", "503 Service Unavailable\n" },
	{ 505, "HTTP Version Not Supported", "505 HTTP Version Not Supported\n" },
	{ 403, "Forbidden", "403 Forbidden\n" },     /* appended: indexes above are stable */
	{ 500, "Internal Server Error", "500 Internal Server Error\n" },
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
_Static_assert(NSTATUS + 1 == HTTP_NCODES, "HTTP_NCODES: the status table plus other");

static const uint16_t codes[] = HTTP_CODES;
#define NCODES (sizeof(codes) / sizeof(codes[0]))
_Static_assert(NCODES + 1 == HTTP_NCODES, "HTTP_NCODES: HTTP_CODES plus other");

static const char *const timeout_names[HTTP_TIMEOUT_COUNT] = { "header", "idle", "send" };

/* The HTTP module's own rows, then the glue's. */
static void metrics_rows(void *ctx, struct http_metrics_out *w)
{
	const struct http_server *srv = ctx;
	const struct http_stats *st = &srv->stats;
	char lab[48];
	for (unsigned i = 0; i < HTTP_NCODES; i++) {
		if (i < NCODES)
			ksnprintf(lab, sizeof(lab), "code=\"%u\"", codes[i]);
		else
			ksnprintf(lab, sizeof(lab), "code=\"other\"");
		http_metrics_row(w, "skiff_http_requests_total", "HTTP responses completed, by status code.",
				 HTTP_METRIC_COUNTER, lab, st->responses[i]);
	}
	http_metrics_row(w, "skiff_http_response_bytes_total", "HTTP response bytes handed to TCP (heads and bodies).",
			 HTTP_METRIC_COUNTER, NULL, st->response_bytes);
	for (unsigned i = 1; i < HTTP_PERR_COUNT; i++) {
		ksnprintf(lab, sizeof(lab), "reason=\"%s\"", http_perr_name((enum http_perr)i));
		http_metrics_row(w, "skiff_http_parse_errors_total", "Malformed or refused HTTP requests, by reason.",
				 HTTP_METRIC_COUNTER, lab, st->parse_errors[i]);
	}
	for (unsigned i = 0; i < HTTP_TIMEOUT_COUNT; i++) {
		ksnprintf(lab, sizeof(lab), "kind=\"%s\"", timeout_names[i]);
		http_metrics_row(w, "skiff_http_timeouts_total", "HTTP connections closed by a timeout, by kind.",
				 HTTP_METRIC_COUNTER, lab, st->timeouts[i]);
	}
	http_metrics_row(w, "skiff_http_connections_total", "HTTP connections accepted.",
			 HTTP_METRIC_COUNTER, NULL, st->conns_total);
	http_metrics_row(w, "skiff_http_connections_open", "HTTP connections open now.",
			 HTTP_METRIC_GAUGE, NULL, st->conns_open);
	http_metrics_row(w, "skiff_http_connections_rejected_total", "HTTP connections refused with 503 at the cap.",
			 HTTP_METRIC_COUNTER, NULL, st->conns_rejected);
	http_metrics_row(w, "skiff_http_connections_shed_total", "Idle or slow HTTP connections reset to serve a new one.",
			 HTTP_METRIC_COUNTER, NULL, st->conns_shed);
	http_metrics_row(w, "skiff_http_metrics_rows_dropped_total", "Invalid /metrics rows left out.",
			 HTTP_METRIC_COUNTER, NULL, st->metrics_dropped);
	if (srv->metrics)
		srv->metrics(srv->metrics_ctx, w);
}

/* The next /metrics chunk of c into c->out (the writer is http_endpoints.c). */
static void metrics_chunk(struct http_conn *c, bool chunked)
{
	struct http_metrics_cursor cur = { c->metrics_row, c->metrics_end, 0 };
	c->out_len = (uint32_t)http_metrics_chunk(c->out, sizeof(c->out), chunked, &cur,
						  metrics_rows, (void *)c->srv);
	c->out_off = 0;
	c->metrics_row = cur.row;
	c->metrics_end = cur.end;
	c->srv->stats.metrics_dropped += cur.dropped;
}


static unsigned status_index(unsigned code)
{
	for (unsigned i = 0; i < NSTATUS; i++)
		if (statuses[i].code == code)
			return i;
	return NSTATUS;
}

static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

/* ---- date ------------------------------------------------------------------------- */

size_t http_date_format(char *buf, size_t cap, uint64_t t)
{
	static const char wd[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	uint64_t days = t / 86400, secs = t % 86400;
	/* days -> civil date (H. Hinnant, "chrono-compatible low-level date algorithms") */
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	uint64_t d = doy - (153 * mp + 2) / 5 + 1;
	uint64_t m = mp < 10 ? mp + 3 : mp - 9;
	uint64_t y = yoe + era * 400 + (m <= 2);
	if (cap < 30 || y > 9999)
		return 0;
	ksnprintf(buf, cap, "%s, %02u %s %04u %02u:%02u:%02u GMT", wd[days % 7], (unsigned)d,
		  mon[m - 1], (unsigned)y, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
		  (unsigned)(secs % 60));
	return 29;
}


/* ---- server ----------------------------------------------------------------------- */

void http_config_default(struct http_config *cfg)
{
	*cfg = (struct http_config){
		.port = 80,
		.max_conns = 64,
		.header_timeout_ns = 10000000000ull,
		.idle_timeout_ns = 30000000000ull,
		.send_timeout_ns = 30000000000ull,
		/* The least a connection lives before it may be shed for a newer one
		 * (http_app.c: at least three handshake RTTs): a burst of handshakes
		 * released together must not push out the client accepted just before. */
		.shed_after_ns = 20000000ull,
		.max_head = HTTP_HEAD_MAX,
		.max_target = HTTP_TARGET_MAX,
		.max_pipeline = HTTP_PIPELINE_MAX,
	};
}

void http_server_init(struct http_server *srv, const struct http_config *cfg,
		      const struct http_site *site)
{
	struct http_config d;
	http_config_default(&d);
	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->site = site;
	struct http_config *c = &srv->cfg;
	if (c->max_head < 256 || c->max_head > HTTP_HEAD_MAX)
		c->max_head = HTTP_HEAD_MAX;
	if (c->max_target < 16 || c->max_target > c->max_head - HTTP_LINE_SLACK)
		c->max_target = c->max_head - HTTP_LINE_SLACK < HTTP_TARGET_MAX ?
					c->max_head - HTTP_LINE_SLACK : HTTP_TARGET_MAX;
	if (c->max_pipeline < 1 || c->max_pipeline > HTTP_PIPELINE_MAX)
		c->max_pipeline = HTTP_PIPELINE_MAX;
	if (!c->header_timeout_ns)
		c->header_timeout_ns = d.header_timeout_ns;
	if (!c->idle_timeout_ns)
		c->idle_timeout_ns = d.idle_timeout_ns;
	if (!c->send_timeout_ns)
		c->send_timeout_ns = d.send_timeout_ns;
}

size_t http_reject_503(char *buf, size_t cap)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
				  "Server: Skiff\r\n"
				  "Content-Type: " CT_TEXT "\r\n"
				  "Content-Length: 24\r\n"
				  "Retry-After: 1\r\n"
				  "Connection: close\r\n"
				  "\r\n"
				  "503 Service Unavailable\n";
	if (cap < sizeof(msg) - 1)
		return 0;
	memcpy(buf, msg, sizeof(msg) - 1);
	return sizeof(msg) - 1;
}

size_t http_server_reject(struct http_server *srv, char *buf, size_t cap)
{
	srv->stats.conns_rejected++;
	srv->stats.responses[status_index(503)]++;
	size_t n = http_reject_503(buf, cap);
	srv->stats.response_bytes += n;
	return n;
}

/* ---- connection: queueing responses ----------------------------------------------- */

void http_conn_init(struct http_conn *c, struct http_server *srv, uint64_t now)
{
	memset(c, 0, offsetof(struct http_conn, q));
	c->srv = srv;
	c->t_input = c->t_progress = c->t_head = c->now = now;
	c->open = true;
	srv->stats.conns_total++;
	srv->stats.conns_open++;
}

static struct http_resp *push(struct http_conn *c, uint64_t now)
{
	NET_ASSERT(c->q_count < HTTP_PIPELINE_MAX);
	if (c->q_count == 0)
		c->t_progress = now;    /* the send timeout runs from here */
	struct http_resp *r = &c->q[(c->q_head + c->q_count++) % HTTP_PIPELINE_MAX];
	memset(r, 0, sizeof(*r));
	return r;
}

static void set_error_body(struct http_resp *r, unsigned status)
{
	NET_ASSERT(status_index(status) < NSTATUS);
	const char *body = statuses[status_index(status)].body;
	NET_ASSERT(body);
	r->status = (uint16_t)status;
	r->body = BODY_STATIC;
	r->data = (const uint8_t *)body;
	r->off = 0;
	r->len = strlen(body);
	r->ctype = CT_TEXT;
}

static void set_persistence(struct http_conn *c, struct http_resp *r, bool keep, uint8_t minor)
{
	if (!keep) {
		r->flags |= RF_CLOSE;
		c->closing = true;
	} else if (minor == 0) {
		r->flags |= RF_KEEPALIVE;
	}
}

static void queue_error(struct http_conn *c, int status, enum http_perr why,
			const struct http_request *req, uint64_t now)
{
	struct http_resp *r = push(c, now);
	bool keep = false;
	set_error_body(r, (unsigned)status);
	r->perr = (uint8_t)why;
	if (status == 405)
		r->flags |= RF_ALLOW;
	if (req) {
		if (req->method == HTTP_M_HEAD)
			r->flags |= RF_HEAD;
		/* A refused method without a body leaves the framing intact. */
		bool bodyless = !req->has_transfer_encoding &&
				!(req->has_content_length && req->content_length > 0);
		keep = (status == 405 || (status == 501 && why == HTTP_PERR_METHOD)) && bodyless &&
		       req->keep_alive;
	}
	set_persistence(c, r, keep, req ? req->minor : 1);
}

/* The glue's handler claims the request, or not (false). */
static bool queue_handler(struct http_conn *c, struct http_resp *r, const struct http_request *req,
			  bool keep)
{
	const struct http_handler *h = c->srv->handler;
	const char *ctype = NULL;
	int st = h->route(h->ctx, c, req, &ctype);
	if (st == 0)
		return false;
	if (st != 200 && (st < 0 || status_index((unsigned)st) == NSTATUS ||
			  !statuses[status_index((unsigned)st)].body))
		st = 500;               /* a status without an error body: the handler's bug */
	if (st != 200) {
		set_error_body(r, (unsigned)st);
		set_persistence(c, r, keep, req->minor);
		return true;
	}
	r->status = 200;
	r->body = BODY_HANDLER;
	r->ctype = ctype;
	r->flags |= RF_NOSTORE;
	if (req->minor == 0)
		keep = false;   /* no chunked coding in 1.0: the close ends the body */
	else
		r->flags |= RF_CHUNKED;
	set_persistence(c, r, keep, req->minor);
	return true;
}

static void queue_request(struct http_conn *c, const struct http_request *req, uint64_t now)
{
	struct http_resp *r = push(c, now);
	const struct http_site_entry *e;
	bool keep = req->keep_alive;
	uint64_t n;
	if (req->method == HTTP_M_HEAD)
		r->flags |= RF_HEAD;
	if (c->srv->handler && queue_handler(c, r, req, keep))
		return;
	if (req->path_len == 8 && memcmp(req->path, "/metrics", 8) == 0) {
		r->status = 200;
		r->body = BODY_METRICS;
		r->ctype = CT_PROM;
		r->flags |= RF_NOSTORE;
		if (req->minor == 0)
			keep = false;   /* no chunked coding in 1.0: the close ends the body */
		else
			r->flags |= RF_CHUNKED;
		set_persistence(c, r, keep, req->minor);
		return;
	}
	if (req->path_len > 7 && memcmp(req->path, "/bytes/", 7) == 0 &&
	    http_bytes_parse(req->path + 7, req->path_len - 7, &n)) {
		r->body = BODY_BYTES;
		r->total = n;
		r->ctype = CT_OCTET;
	} else if (c->srv->site && (e = http_site_find(c->srv->site, req->path, req->path_len)) != NULL) {
		r->body = BODY_STATIC;
		r->data = e->data;
		r->total = e->size;
		r->ctype = e->content_type;
	} else {
		set_error_body(r, 404);
		set_persistence(c, r, keep, req->minor);
		return;
	}
	r->flags |= RF_RANGES;
	/* Range is defined for GET only (RFC 9110 §14.2); with If-Range it needs a
	 * validator we do not have, so the whole representation is sent (§13.1.5). */
	struct http_range none = { HTTP_RANGE_NONE, 0, 0 };
	const struct http_range *rg = req->method == HTTP_M_GET && !req->if_range ? &req->range : &none;
	int st = http_range_resolve(rg, r->total, &r->off, &r->len);
	if (st == 416) {
		set_error_body(r, 416);         /* keeps r->total for Content-Range */
	} else {
		r->status = (uint16_t)st;
	}
	set_persistence(c, r, keep, req->minor);
}

static void consume(struct http_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= (uint32_t)n;
	c->scan = (struct http_scan){ 0, 0 };
}

/* Frames and handles one request from conn->in; true if another may follow now. */
static bool parse_one(struct http_conn *c, uint64_t now)
{
	struct http_limits lim = { c->srv->cfg.max_head, c->srv->cfg.max_target };
	struct http_request req;
	enum http_perr why;
	size_t skip = 0, head_len = 0;

	/* RFC 9112 §2.2: ignore empty lines before a request line. */
	while (c->in_len - skip >= 2 && c->in[skip] == '\r' && c->in[skip + 1] == '\n')
		skip += 2;
	if (skip)
		consume(c, skip);
	if (c->in_len == 0 || (c->in_len == 1 && c->in[0] == '\r'))
		return false;
	int st = http_head_scan(c->in, c->in_len, &c->scan, &lim, &head_len, &why);
	if (st == HTTP_HEAD_MORE)
		return false;
	if (st != HTTP_HEAD_DONE) {
		queue_error(c, st, why, NULL, now);
		return false;
	}
	st = http_parse_head(c->in, head_len, &lim, &req, &why);
	if (st)
		queue_error(c, st, why, &req, now);
	else
		queue_request(c, &req, now);
	consume(c, head_len);
	c->head_started = c->in_len > 0;
	c->t_head = now;
	return !c->closing;
}

size_t http_conn_input(struct http_conn *c, const void *data, size_t len, uint64_t now)
{
	size_t used = 0;
	c->now = now;
	if (len) {
		c->t_input = now;
		c->heard = true;
	}
	for (;;) {
		if (c->closing || c->eof) {
			c->in_len = 0;  /* RFC 9112 §9.6: nothing after a close is processed */
			return len;
		}
		while (c->q_count < c->srv->cfg.max_pipeline && parse_one(c, now))
			;
		if (c->closing)
			continue;
		size_t room = sizeof(c->in) - c->in_len;
		size_t n = len - used < room ? len - used : room;
		if (n == 0)
			return used;
		if (!c->head_started) {
			c->head_started = true;
			c->t_head = now;
		}
		memcpy(c->in + c->in_len, (const uint8_t *)data + used, n);
		c->in_len += (uint32_t)n;
		used += n;
	}
}

void http_conn_eof(struct http_conn *c)
{
	c->eof = true;
	c->in_len = 0;
	c->head_started = false;
}

/* ---- connection: output ----------------------------------------------------------- */

/* The Date field's value, formatted at most once per second; NULL without a clock. */
static const char *head_date(struct http_server *srv)
{
	uint64_t secs;
	if (!srv->clock || !srv->clock(srv->clock_ctx, &secs))
		return NULL;
	if (secs != srv->date_secs || !srv->date[0]) {
		if (!http_date_format(srv->date, sizeof(srv->date), secs))
			return NULL;
		srv->date_secs = secs;
	}
	return srv->date;
}

/* Fixed fields are appended as they are; only numbers are converted (no formatter:
 * every response has a head). */
static void render_head(struct http_conn *c, const struct http_resp *r)
{
	struct http_tbuf b = { (char *)c->out, sizeof(c->out), 0, false };
	const char *reason = status_index(r->status) < NSTATUS ?
		statuses[status_index(r->status)].reason : "Unknown";
	const char *date = head_date(c->srv);

	HTTP_TPUT_LIT(&b, "HTTP/1.1 ");
	http_tputu(&b, r->status);
	http_tputc(&b, ' ');
	http_tputs(&b, reason, strlen(reason));
	HTTP_TPUT_LIT(&b, "\r\nServer: Skiff\r\n");
	if (date) {
		HTTP_TPUT_LIT(&b, "Date: ");
		http_tputs(&b, date, strlen(date));
		HTTP_TPUT_LIT(&b, "\r\n");
	}
	if (r->ctype) {
		HTTP_TPUT_LIT(&b, "Content-Type: ");
		http_tputs(&b, r->ctype, strlen(r->ctype));
		HTTP_TPUT_LIT(&b, "\r\nX-Content-Type-Options: nosniff\r\n");
	}
	if (r->flags & RF_CHUNKED) {
		HTTP_TPUT_LIT(&b, "Transfer-Encoding: chunked\r\n");
	} else if (r->body != BODY_METRICS && r->body != BODY_HANDLER) {
		HTTP_TPUT_LIT(&b, "Content-Length: ");
		http_tputu(&b, r->len);
		HTTP_TPUT_LIT(&b, "\r\n");
	}
	if (r->status == 206) {
		HTTP_TPUT_LIT(&b, "Content-Range: bytes ");
		http_tputu(&b, r->off);
		http_tputc(&b, '-');
		http_tputu(&b, r->off + r->len - 1);
		http_tputc(&b, '/');
		http_tputu(&b, r->total);
		HTTP_TPUT_LIT(&b, "\r\n");
	} else if (r->status == 416) {
		HTTP_TPUT_LIT(&b, "Content-Range: bytes */");
		http_tputu(&b, r->total);
		HTTP_TPUT_LIT(&b, "\r\n");
	}
	if (r->flags & RF_RANGES)
		HTTP_TPUT_LIT(&b, "Accept-Ranges: bytes\r\n");
	if (r->flags & RF_ALLOW)
		HTTP_TPUT_LIT(&b, "Allow: GET, HEAD\r\n");
	if (r->flags & RF_NOSTORE)
		HTTP_TPUT_LIT(&b, "Cache-Control: no-store\r\n");
	if (r->flags & RF_CLOSE)
		HTTP_TPUT_LIT(&b, "Connection: close\r\n");
	else if (r->flags & RF_KEEPALIVE)
		HTTP_TPUT_LIT(&b, "Connection: keep-alive\r\n");
	HTTP_TPUT_LIT(&b, "\r\n");
	NET_ASSERT(!b.over);    /* a head is a few hundred bytes */
	c->out_len = (uint32_t)b.len;
	c->out_off = 0;
}

/* The front response is complete: count it, pop it. */
static void finish(struct http_conn *c)
{
	struct http_resp *r = &c->q[c->q_head];
	c->srv->stats.responses[status_index(r->status)]++;
	if (r->body == BODY_HANDLER)
		c->srv->handler->done(c->srv->handler->ctx, c);
	if (r->perr)
		c->srv->stats.parse_errors[r->perr]++;
	c->served++;
	c->q_head = (uint8_t)((c->q_head + 1) % HTTP_PIPELINE_MAX);
	c->q_count--;
	if (r->flags & RF_CLOSE)
		c->q_count = 0;         /* nothing is queued after a close (parsing stopped) */
	c->phase = PH_START;
	c->out_len = c->out_off = 0;
}

/* The handler's next piece into conn->out, framed as one chunk when chunked (the
 * last-chunk after the end). False when it has nothing yet. */
static bool handler_chunk(struct http_conn *c, bool chunked)
{
	const struct http_handler *h = c->srv->handler;
	size_t pre = chunked ? 6 : 0, post = chunked ? 2 + 5 : 0, pos;
	bool end = false;
	size_t n = h->body(h->ctx, c, c->out + pre, sizeof(c->out) - pre - post, &end);
	NET_ASSERT(n <= sizeof(c->out) - pre - post);
	if (!n && !end)
		return false;
	pos = n;
	if (chunked && n) {
		static const char hex[] = "0123456789abcdef";
		for (int i = 0; i < 4; i++)
			c->out[i] = (uint8_t)hex[(n >> (12 - 4 * i)) & 0xf];
		memcpy(c->out + 4, "\r\n", 2);
		memcpy(c->out + pre + n, "\r\n", 2);
		pos = pre + n + 2;
	}
	if (end) {
		c->handler_end = true;
		if (chunked) {
			memcpy(c->out + pos, "0\r\n\r\n", 5);
			pos += 5;
		}
	}
	c->out_len = (uint32_t)pos;
	c->out_off = 0;
	return true;
}

/* The head has gone out: the body next, or for HEAD the next response (false). */
static bool head_sent(struct http_conn *c, const struct http_resp *r)
{
	c->phase = PH_BODY;
	c->out_len = c->out_off = 0;
	if (r->flags & RF_HEAD) {
		finish(c);
		return false;
	}
	return true;
}

bool http_conn_peek(struct http_conn *c, const uint8_t **ptr, size_t *len)
{
	for (;;) {
		c->ext_len = 0;
		/* requests held back by a full queue go on as soon as there is room */
		while (c->q_count < c->srv->cfg.max_pipeline && !c->closing && !c->eof &&
		       parse_one(c, c->now))
			;
		if (c->q_count == 0)
			return false;
		const struct http_resp *r = &c->q[c->q_head];
		if (c->phase == PH_START) {
			render_head(c, r);
			c->phase = PH_HEAD;
			c->body_done = 0;
			c->metrics_row = 0;
			c->metrics_end = false;
			c->handler_end = false;
		}
		if (c->out_off < c->out_len) {
			*ptr = c->out + c->out_off;
			*len = c->ext_len = c->out_len - c->out_off;
			return true;
		}
		if (c->phase == PH_HEAD && !head_sent(c, r))
			continue;
		if (r->body == BODY_STATIC && c->body_done < r->len) {
			*ptr = r->data + r->off + c->body_done;
			*len = c->ext_len = (size_t)(r->len - c->body_done);
			return true;
		}
		if (r->body == BODY_BYTES && c->body_done < r->len) {
			uint64_t left = r->len - c->body_done;
			size_t k = left < sizeof(c->out) ? (size_t)left : sizeof(c->out);
			http_bytes_fill(r->total, r->off + c->body_done, c->out, k);
			c->out_len = (uint32_t)k;
			c->out_off = 0;
			continue;
		}
		if (r->body == BODY_METRICS && !c->metrics_end) {
			metrics_chunk(c, r->flags & RF_CHUNKED);
			continue;
		}
		if (r->body == BODY_HANDLER && !c->handler_end) {
			if (!handler_chunk(c, r->flags & RF_CHUNKED))
				return false;   /* a stream with nothing new yet */
			continue;
		}
		finish(c);
	}
}

void http_conn_advance(struct http_conn *c, size_t n)
{
	NET_ASSERT(n <= c->ext_len);
	if (n == 0)
		return;
	c->ext_len -= n;
	c->out_total += n;
	c->srv->stats.response_bytes += n;
	if (c->out_off < c->out_len) {
		c->out_off += (uint32_t)n;
		if (c->phase == PH_BODY)
			c->body_done += n;      /* /bytes chunks; unused for metrics */
	} else {
		c->body_done += n;              /* file data */
	}
}

size_t http_conn_gen_pending(struct http_conn *c)
{
	if (c->q_count == 0 || c->out_off < c->out_len)
		return 0;
	const struct http_resp *r = &c->q[c->q_head];
	if (r->body != BODY_BYTES || c->phase == PH_START ||
	    (c->phase == PH_HEAD && !head_sent(c, r)))
		return 0;
	uint64_t left = r->len - c->body_done;
	return left > SIZE_MAX ? SIZE_MAX : (size_t)left;
}

void http_conn_gen(struct http_conn *c, uint8_t *dst, size_t n)
{
	NET_ASSERT(n <= http_conn_gen_pending(c));
	const struct http_resp *r = &c->q[c->q_head];
	http_bytes_fill(r->total, r->off + c->body_done, dst, n);
	c->ext_len = 0;
	c->body_done += n;
	c->out_total += n;
	c->srv->stats.response_bytes += n;
}

/* ---- connection: time ------------------------------------------------------------- */

static int timed_out(struct http_conn *c, enum http_timeout kind)
{
	c->srv->stats.timeouts[kind]++;
	c->dead = true;
	return HTTP_POLL_CLOSE;
}

int http_conn_poll(struct http_conn *c, uint64_t now)
{
	const struct http_config *cfg = &c->srv->cfg;
	if (c->dead)
		return HTTP_POLL_CLOSE;
	c->now = now;
	if (c->out_total != c->out_seen) {
		c->out_seen = c->out_total;
		c->t_progress = now;
	}
	if (c->q_count)
		return elapsed(now, c->t_progress) >= cfg->send_timeout_ns ?
			       timed_out(c, HTTP_TIMEOUT_SEND) : HTTP_POLL_OK;
	if (c->closing || c->eof) {
		c->dead = true;
		return HTTP_POLL_CLOSE;
	}
	if (c->head_started) {
		/* the head clock starts again once the previous response has gone out */
		uint64_t since = c->t_head > c->t_progress ? c->t_head : c->t_progress;
		if (elapsed(now, since) >= cfg->header_timeout_ns)
			return timed_out(c, HTTP_TIMEOUT_HEADER);
	} else {
		uint64_t since = c->t_input > c->t_progress ? c->t_input : c->t_progress;
		uint64_t limit = c->served ? cfg->idle_timeout_ns : cfg->header_timeout_ns;
		if (elapsed(now, since) >= limit)
			return timed_out(c, c->served ? HTTP_TIMEOUT_IDLE : HTTP_TIMEOUT_HEADER);
	}
	return HTTP_POLL_OK;
}

bool http_conn_stalled_since(const struct http_conn *c, uint64_t *since)
{
	/* A half-closed peer with answers still queued is stalled on output like any
	 * other (it may not be reading them at all); one with nothing queued is about to
	 * be closed by http_conn_poll. */
	if (!c->open || c->dead || c->closing || (c->eof && !c->q_count))
		return false;
	if (c->q_count)
		*since = c->out_total != c->out_seen ? c->now : c->t_progress;
	else if (c->head_started)
		*since = c->t_head;
	else
		*since = c->t_input > c->t_progress ? c->t_input : c->t_progress;
	return true;
}

bool http_conn_silent(const struct http_conn *c)
{
	return c->open && !c->heard && !c->eof;
}

void http_conn_fini(struct http_conn *c)
{
	if (!c->open)
		return;
	c->open = false;
	c->dead = true;
	/* a refused request whose answer never went out still counts as a parse error */
	for (unsigned i = 0; i < c->q_count; i++) {
		const struct http_resp *r = &c->q[(c->q_head + i) % HTTP_PIPELINE_MAX];
		c->srv->stats.parse_errors[r->perr]++;
		if (r->body == BODY_HANDLER)
			c->srv->handler->done(c->srv->handler->ctx, c);
	}
	c->q_count = 0;
	c->in_len = 0;
	c->closing = true;      /* input and peek do nothing more */
	c->srv->stats.conns_open--;
}
