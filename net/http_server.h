/*
 * The HTTP/1.1 server, sans-IO: request bytes in, response extents out, time in. It
 * knows nothing of sockets; the glue moves bytes between a TCP connection and a
 * struct http_conn, and owns all memory (no allocation here, no globals).
 *
 * Glue call order, per listening port (http_config.port):
 *   boot:     http_site_init(site); http_site_add_table(site, www_files, www_nfiles);
 *             http_site_add(site, bf->name, bf->data, bf->size) for every boot_file
 *             (boot volume overrides built-in); http_server_init(srv, cfg, site);
 *             optionally srv->clock / srv->metrics (+ their ctx).
 *   accept:   over cfg.max_conns: reset the conn whose http_conn_stalled_since() is the
 *             oldest and past its grace (at least cfg.shed_after_ns unless it is still
 *             http_conn_silent(); count srv->stats.conns_shed) and take its place; if none,
 *             leave the newcomer queued, or (shedding off) n = http_server_reject(srv,
 *             buf, cap), send buf[0..n), close. Else http_conn_init(conn, srv, now).
 *   data in:  used = http_conn_input(conn, data, len, now); used < len means "later":
 *             keep the rest in the socket (window closes) and offer it again once
 *             output has drained.
 *   peer FIN: http_conn_eof(conn): queued responses still go out, then close.
 *   output:   while (http_conn_peek(conn, &p, &n)) { k = send(p, n);
 *             http_conn_advance(conn, k); if (k < n) break; }
 *             (optionally first, each turn: g = http_conn_gen_pending(conn); if g,
 *             fill the send buffer with http_conn_gen instead of peeking)
 *             p points into the conn (heads, generated chunks) or into file data (valid
 *             for ever: sites never free); only p[0..n) is valid, and only until the
 *             next call on this conn unless it is file data.
 *   timers:   http_conn_poll(conn, now) == HTTP_POLL_CLOSE: close the TCP connection
 *             (FIN after output drained) and call http_conn_fini(conn). Call poll after
 *             every input/output step and at least every 100 ms.
 *   reset:    http_conn_fini(conn). The struct may then be reused with http_conn_init.
 * Times are nanoseconds from any monotonic clock.
 *
 * Responses (site: http_site.h; generated endpoints: http_endpoints.h): GET/HEAD of site files (Range: one range -> 206, unsatisfiable -> 416),
 * /bytes/N (N deterministic pseudo-random bytes, see http_bytes_fill), /metrics
 * (Prometheus text 0.0.4, chunked in 1.1, close-delimited in 1.0). Errors from
 * http_parse_head() with their status; a 4xx/5xx for a malformed request closes the
 * connection after it (its framing cannot be trusted), except 404, 416, and 405/501-
 * method for requests that carried no body. Up to cfg.max_pipeline responses are
 * queued in request order (RFC 9112 §9.3.2); later requests wait in the head buffer
 * and http_conn_peek() takes them up as responses complete. "Connection: close" (or
 * 1.0 without keep-alive) ends the connection after its response, and later bytes are
 * dropped (§9.6).
 */
#ifndef SKIFF_NET_HTTP_SERVER_H
#define SKIFF_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/http_parse.h"
#include "net/http_site.h"
#include "net/http_endpoints.h"

#define HTTP_PIPELINE_MAX 8             /* responses queued per connection */
#define HTTP_OUT_MAX 4096               /* per-connection buffer: heads, generated chunks */

/* ---- server and connections ----------------------------------------------------- */

struct http_config {
	uint16_t port;                  /* listening port (the glue's business) */
	uint32_t max_conns;             /* enforced by the glue with http_server_reject() */
	uint64_t header_timeout_ns;     /* a request head must arrive within this (slowloris) */
	uint64_t idle_timeout_ns;       /* keep-alive: idle connection closed after this */
	uint64_t send_timeout_ns;       /* no output progress for this long: closed */
	uint64_t shed_after_ns;         /* all slots busy: the connection stalled longest, if at
					 * least this long (http_app: or 3 RTTs), is reset for a
					 * new one (UINT64_MAX: never, 503 instead) */
	uint32_t max_head;              /* <= HTTP_HEAD_MAX; over it 431 */
	uint32_t max_target;            /* <= max_head - HTTP_LINE_SLACK; over it 414 */
	uint32_t max_pipeline;          /* 1..HTTP_PIPELINE_MAX */
};

/* port 80, 64 connections, 10 s head, 30 s idle, 30 s send, shed the longest waiting
 * connection for a new one (no minimum), 8 KiB head, 2 KiB target, 8 pipelined requests. */
void http_config_default(struct http_config *cfg);

/* Status codes the server counts (skiff_http_requests_total{code}); others go to "other". */
#define HTTP_CODES { 200, 206, 400, 404, 405, 413, 414, 416, 431, 501, 503, 505, 403, 500 }
#define HTTP_NCODES 15                  /* the list above + "other" */

enum http_timeout { HTTP_TIMEOUT_HEADER, HTTP_TIMEOUT_IDLE, HTTP_TIMEOUT_SEND, HTTP_TIMEOUT_COUNT };

struct http_stats {
	uint64_t responses[HTTP_NCODES];        /* completed responses by status */
	uint64_t response_bytes;                /* advanced to the glue */
	uint64_t parse_errors[HTTP_PERR_COUNT];
	uint64_t timeouts[HTTP_TIMEOUT_COUNT];
	uint64_t conns_total, conns_open, conns_rejected;
	uint64_t conns_shed;                    /* reset by the glue to make room */
	uint64_t metrics_dropped;
};

struct http_conn;

/* Endpoints the glue generates (e.g. /debug/..., net/http_debug.c), asked before the
 * site. route() runs when the request is parsed: 0 = not ours; else the status (an
 * error status sends the standard error body; one the server has none for is sent as
 * 500, the handler's bug). For 200, *ctype is set and body() then
 * fills the body in pieces: it returns the bytes written into buf (at most cap) and
 * sets *end after the last; 0 without *end means "nothing yet" (a stream: asked again
 * at the next poll). done() follows every 200 once: response finished or connection
 * gone. The body is chunked in HTTP/1.1, close-delimited in 1.0. */
struct http_handler {
	int (*route)(void *ctx, struct http_conn *c, const struct http_request *req,
		     const char **ctype);
	size_t (*body)(void *ctx, struct http_conn *c, uint8_t *buf, size_t cap, bool *end);
	void (*done)(void *ctx, struct http_conn *c);
	void *ctx;
};

struct http_server {
	struct http_config cfg;         /* effective (clamped) configuration */
	const struct http_site *site;
	http_clock_fn clock;            /* NULL: no Date field */
	void *clock_ctx;
	http_metrics_fn metrics;        /* NULL: /metrics shows the HTTP counters only */
	void *metrics_ctx;
	const struct http_handler *handler;     /* NULL: none */
	struct http_stats stats;
	uint64_t date_secs;             /* the second date[] shows (formatted once per second) */
	char date[32];                  /* "" until the first head with a clock */
};

/* Copies cfg (clamping out-of-range limits, zero timeouts take the defaults). */
void http_server_init(struct http_server *srv, const struct http_config *cfg,
		      const struct http_site *site);

/* One queued response; private to http_server.c (here for the struct's size). */
struct http_resp {
	const uint8_t *data;            /* static body: the whole representation (or error text) */
	const char *ctype;
	uint64_t total;                 /* representation size: Content-Range, /bytes/N */
	uint64_t off, len;              /* the body: bytes [off, off+len) of it */
	uint16_t status;
	uint8_t body;                   /* enum http_body */
	uint8_t flags;                  /* HTTP_RF_* */
	uint8_t perr;                   /* enum http_perr, counted when done */
};

/* One connection; the glue allocates it (sizeof is about 13 KiB). All fields private. */
struct http_conn {
	struct http_server *srv;
	uint64_t t_input;               /* last input */
	uint64_t t_progress;            /* last output progress seen, or last queueing */
	uint64_t t_head;                /* first byte of the request head being received */
	uint64_t now;                   /* latest time from input or poll */
	uint64_t out_total;             /* bytes advanced, ever */
	uint64_t out_seen;              /* out_total at the last poll */
	uint64_t body_done;             /* body bytes of the current response advanced */
	size_t ext_len;                 /* what is left of the extent last peeked */
	struct http_scan scan;
	uint32_t in_len;
	uint32_t out_len, out_off;      /* the extent in out[] */
	uint32_t metrics_row;           /* next /metrics row to send */
	uint32_t served;
	uint8_t q_head, q_count;
	uint8_t phase;
	bool open, head_started, closing, eof, dead, metrics_end;
	bool heard;                     /* the peer sent at least one byte */
	bool handler_end;               /* the handler's body is complete */
	/* The TCP endpoints, set by the glue after http_conn_init (handlers may look). */
	uint32_t peer_addr, local_addr;
	uint16_t peer_port, local_port;
	struct http_resp q[HTTP_PIPELINE_MAX];
	char in[HTTP_HEAD_MAX];
	uint8_t out[HTTP_OUT_MAX];
};

void http_conn_init(struct http_conn *c, struct http_server *srv, uint64_t now);

/* Takes request bytes; returns how many it took (all of them, unless max_pipeline
 * responses are waiting and the head buffer is full). Never fails: bad requests become
 * error responses. */
size_t http_conn_input(struct http_conn *c, const void *data, size_t len, uint64_t now);

/* True while the peer has sent nothing at all (not even a FIN) since accept. */
bool http_conn_silent(const struct http_conn *c);

/* The peer sent FIN: no more input. */
void http_conn_eof(struct http_conn *c);

/* The next output extent; false when there is nothing to send right now. */
bool http_conn_peek(struct http_conn *c, const uint8_t **ptr, size_t *len);

/* n bytes of the last peeked extent were sent (n <= its length; panics otherwise). */
void http_conn_advance(struct http_conn *c, size_t n);

/* Generated output without staging: how many of the next output bytes are generated
 * (a /bytes body past its head, nothing staged in the conn), 0 if the next output is
 * anything else (then peek). http_conn_gen writes the next n (<= that) into dst and
 * counts them as sent: pass it to a send that fills its own buffer (tcp_send_fill). */
size_t http_conn_gen_pending(struct http_conn *c);
void http_conn_gen(struct http_conn *c, uint8_t *dst, size_t n);

#define HTTP_POLL_OK 0
#define HTTP_POLL_CLOSE 1

/* HTTP_POLL_CLOSE when the connection is finished (close requested and output sent,
 * peer EOF and output sent) or timed out (counted); else HTTP_POLL_OK. */
int http_conn_poll(struct http_conn *c, uint64_t now);

/* Since when the connection has made no progress (false once it is closing, or half-
 * closed by the peer with nothing left to answer): waiting
 * for request bytes, since the head being received started (a trickle does not count
 * as progress) or since the last input/output; with responses queued, since output
 * last moved (a peer that does not read). The glue sheds the oldest when full. */
bool http_conn_stalled_since(const struct http_conn *c, uint64_t *since);

/* The connection is gone (closed or reset); idempotent. */
void http_conn_fini(struct http_conn *c);

/* A complete "503 Service Unavailable" response with Connection: close, for the glue
 * to send before closing a connection over the cap. Returns its length, 0 if cap is
 * too small. http_server_reject() also counts it. */
size_t http_reject_503(char *buf, size_t cap);
size_t http_server_reject(struct http_server *srv, char *buf, size_t cap);

/* ---- helpers (also for tests and the glue) -------------------------------------- */

/* IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7): 29 chars and
 * a NUL. Returns 29, or 0 if cap < 30 or the year is past 9999. */
size_t http_date_format(char *buf, size_t cap, uint64_t unix_seconds);


#endif
