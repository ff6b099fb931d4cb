/*
 * The /debug/ endpoints of the HTTP server (an http_handler, net/http_server.h):
 *   /debug/pcap?f=EXPR&c=N   pcapng (SHB, one IDB per interface with its name, EPBs with
 *                            direction flags) from the capture ring, the capturing
 *                            connection's own packets left out; without c= it streams
 *                            until the client goes away (an Interface Statistics Block
 *                            every HTTP_DEBUG_IDLE_NS keeps an idle stream alive).
 *   /debug/trace?f=EXPR&c=N  the next N (default 10) traced packets as JSON lines, each
 *                            {"id","total_ns","steps":[{"ns","layer","event","text"}]}
 *   /debug/stats.json        the pipeline's counters per stage (nic, qdisc, neigh, ip, icmp,
 *                            udp, tcp, http), drops by reason, connections as `ss -tn`
 *                            prints them, the last traced packets (www/debug.html draws it)
 * Who may look (debug = off|local|on in skiff.conf): off answers 403 to everyone, local
 * only to clients on a directly connected subnet, on to anyone. Refusals are counted
 * (forbidden). Other paths under /debug/ are 404; everything else is not ours.
 */
#ifndef SKIFF_NET_HTTP_DEBUG_H
#define SKIFF_NET_HTTP_DEBUG_H

#include <stdint.h>
#include "net/http_server.h"
#include "net/pcapng.h"

struct net_stack;

enum http_debug_mode { HTTP_DEBUG_OFF, HTTP_DEBUG_LOCAL, HTTP_DEBUG_ON };

#define HTTP_DEBUG_TRACE_DEFAULT 10
#define HTTP_DEBUG_STATS_MAX 24576
#define HTTP_DEBUG_IDLE_NS (5ull * 1000000000ull)

struct http_debug_stats {
	uint64_t forbidden;             /* 403: not allowed by the debug setting */
	uint64_t pcap_started, pcap_busy, pcap_bad_filter;
	uint64_t trace_started, trace_busy;
};

struct http_debug {
	struct net_stack *net;
	int mode;                       /* enum http_debug_mode */
	struct http_handler handler;    /* give &handler to http_server.handler */
	struct http_debug_stats st;
	/* the one pcap download at a time */
	struct http_conn *pcap_conn;
	struct pcap_ring_cursor cur;
	uint8_t pcap_phase;             /* 0: headers next, 1: records */
	uint64_t pcap_last_ns;          /* last bytes written */
	uint32_t peer_addr, local_addr; /* the capturing connection, left out */
	uint16_t peer_port, local_port;
	/* /debug/stats.json: rendered whole for one reader at a time, then sent in pieces */
	struct http_conn *stats_conn;
	uint32_t stats_len, stats_off;
	char stats[HTTP_DEBUG_STATS_MAX];
	/* the one trace reader */
	struct http_conn *trace_conn;
	uint64_t trace_next;            /* next finished trace (capture_trace.seq) to send */
};

void http_debug_init(struct http_debug *d, struct net_stack *net, int mode);

#endif
