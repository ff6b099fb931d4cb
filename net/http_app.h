/*
 * The HTTP server as a TCP application: moves bytes between TCP sockets
 * (net/tcp.h) and sans-IO HTTP connections (net/http_server.h). Hardware-free.
 *
 * Per connection: accept -> (no free slot: the longest-stalled past its grace is shed,
 * else the newcomer waits in TCP's accept queue; shedding off: 503 and close) ->
 * recv_peek into http_conn_input -> output extents out, file bodies by reference
 * (tcp_send_ref, no copy), heads and generated chunks copied (tcp_send) ->
 * http_conn_poll says close -> shutdown(WR), read and discard until the peer's FIN, a
 * linger timeout, or a newcomer needing the slot (RFC 9112 §9.6: a reset must not cut
 * the last response) -> tcp_close.
 * A reset or timeout from TCP ends the connection at once.
 */
#ifndef SKIFF_NET_HTTP_APP_H
#define SKIFF_NET_HTTP_APP_H

#include <stdint.h>
#include "net/http_server.h"
#include "net/tcp.h"

#define HTTP_APP_LINGER_NS (2ull * 1000000000ull)

struct http_app_conn {
	struct tcp_sock *sock;          /* NULL: slot free */
	struct http_conn http;
	uint64_t linger_until;          /* nonzero: closing, waiting for the peer's FIN */
	uint64_t rtt_ns;                /* handshake round trip: the grace before shedding */
	struct http_app *app;
};

struct http_app_stats {
	uint64_t accepted, rejected_503, resets, lingers, linger_timeouts, send_refs, send_copies;
	uint64_t shed;                  /* idle or slow connections reset for a new one */
};

struct http_app {
	struct tcp_stack *tcp;
	struct http_server srv;
	struct tcp_sock *listener;
	struct http_app_conn *conns;    /* srv.cfg.max_conns slots, from the caller */
	uint32_t nslots, nopen;
	uint64_t last_poll;
	bool accept_waiting;            /* connections queued in TCP, no slot for them yet */
	uint64_t accept_retry_ns;       /* when a busy slot's probation ends (shed_slot) */
	struct http_app_stats stats;
};

/* Bytes of slot memory http_app_start() needs for cfg->max_conns connections. */
size_t http_app_mem_size(const struct http_config *cfg);

/* Listens on cfg->port of every local address; mem (http_app_mem_size bytes) holds the
 * connection slots. The site must outlive the app. 0 or -errno from tcp_listen. */
int http_app_start(struct http_app *a, struct tcp_stack *tcp, const struct http_config *cfg,
		   const struct http_site *site, void *mem);

/* Timeouts and lingering closes; call every main-loop turn (it rate-limits itself). */
void http_app_poll(struct http_app *a, uint64_t now_ns);

#endif
