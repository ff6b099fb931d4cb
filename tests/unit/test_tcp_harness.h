/*
 * TCP test harness (smoltcp send!/recv! style): one struct tcp_stack on a simulated
 * clock with a capture environment. Segments we inject are built with tcp_wire_emit()
 * and a correct checksum; every segment TCP emits is checked (checksum, parse) and
 * queued parsed, for th_pop() to assert on. Memory and packets are counted, so
 * th_fini() checks that everything returned to the baseline.
 *
 * A "peer" is the remote end we play by hand: its address/port and the next sequence
 * number it sends (seq) and acknowledges (ack).
 */
#ifndef SKIFF_TEST_TCP_HARNESS_H
#define SKIFF_TEST_TCP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/tcp.h"
#include "net/tcp_wire.h"
#include "net/pkt.h"

#define TH_MS 1000000ull
#define TH_SEC 1000000000ull
#define TH_ADDR 0x0a000001u             /* 10.0.0.1: us */
#define TH_PEER 0x0a000002u             /* 10.0.0.2: the peer */
#define TH_MAXOUT 4096
#define TH_PEER_PORT 40000              /* the default peer: 10.0.0.2:40000 -> :80, ISN 1000 */

/* Assertions on what TCP emitted: the next segment must exist; nothing is pending. */
#define POP(h, s) REQUIRE(th_pop((h), &(s)))
#define NONE(h) CHECK_EQ(th_pending(h), 0)

struct th_seg {
	struct tcp_hdr h;
	uint32_t src, dst;
	bool df;                 /* IPv4 DF: what TCP asked IP for */
	uint32_t dlen;
	uint8_t data[PKT_BUF_SIZE];
};

struct th {
	struct tcp_stack t;
	struct tcp_env env;
	struct pkt_pool pool;
	void *pool_mem;
	uint64_t now;
	uint32_t addr;
	uint16_t mtu;
	bool route_fail;
	bool drop_output;        /* emitted segments vanish (still checked) */
	long mem_live;           /* allocations not yet freed */
	uint64_t mem_bytes;
	long mem_fail_after;     /* >= 0: that many more allocations succeed, then NULL */
	uint64_t rng;
	struct th_seg *out;      /* captured segments (ring) */
	int out_head, out_tail;
	int out_total;
	/* application side */
	unsigned events;         /* OR of every callback's events */
	int nevents;
	struct tcp_sock *last_ev_sock;
	int route_advice;
	uint8_t last_tos;        /* from the last ip_output_tos call */
	/* optional output hook (link tests): takes ownership of p */
	void (*hook)(void *hctx, struct pkt *p, uint32_t src, uint32_t dst);
	void *hctx;
};

struct th_peer {
	uint32_t addr;
	uint16_t port, lport;    /* peer's port, our port */
	uint32_t seq, ack;
	uint16_t wnd;
	bool ts;                 /* send timestamps */
	uint32_t tsval, tsecr;
	bool sack_blocks;        /* include sack[] below in the next segment */
	uint8_t nsack;
	struct tcp_sack_block sack[4];
};

void th_init(struct th *h, const struct tcp_config *cfg);
/* Shuts the stack down and checks memory and packets are back to zero. */
void th_fini(struct th *h);
uint64_t th_rand(struct th *h);
void th_advance(struct th *h, uint64_t ns);           /* clock += ns, then tcp_poll */
/* Builds and injects a segment; opts may be NULL. */
void th_inject(struct th *h, uint32_t src, uint32_t dst, const struct tcp_hdr *hdr,
	       const void *data, size_t len);
/* Raw bytes, checksum filled when fix_csum. */
void th_inject_raw(struct th *h, uint32_t src, uint32_t dst, const void *bytes, size_t len, bool fix_csum);
bool th_pop(struct th *h, struct th_seg *s);
int th_pending(const struct th *h);
void th_drain(struct th *h);
void th_cb(void *user, struct tcp_sock *s, unsigned ev);
/* The 28 bytes an ICMP error quotes about c's segment at seq (RFC 792: the IPv4 header,
 * total length 1500, and the first 64 bits of TCP), for tcp_icmp_error. */
void th_icmp_quote(uint8_t *q, const struct tcp_sock *c, uint32_t seq);

/* Peer helpers: flags sent with p->seq/p->ack; seq advances by len (+SYN, +FIN). */
void peer_init(struct th_peer *p, uint16_t port, uint16_t lport, uint32_t isn);
void peer_send(struct th *h, struct th_peer *p, uint8_t flags, const void *data, size_t len);
void peer_send_opts(struct th *h, struct th_peer *p, uint8_t flags, const struct tcp_opts *o,
		    const void *data, size_t len);

/* Handshakes: a listener on lport and an accepted connection (passive), or a connect
 * (active). opts: the peer's SYN options (NULL: MSS 1460 only). The SYN-ACK/SYN was
 * popped and checked; p->ack is set from it. */
struct tcp_sock *th_open_passive(struct th *h, struct th_peer *p, struct tcp_sock **listener,
				 const struct tcp_opts *opts);
struct tcp_sock *th_open_active(struct th *h, struct th_peer *p, const struct tcp_opts *opts);

/* The usual fixture: the default peer (TH_PEER_PORT -> 80, ISN 1000; window wnd, 0:
 * 65535) opens a connection to a new listener on 80 with opts (a TS option in opts
 * makes the peer keep sending timestamps from opts->tsval); events are cleared. */
struct tcp_sock *th_estab(struct th *h, struct th_peer *p, struct tcp_sock **listener,
			  const struct tcp_opts *opts, uint16_t wnd);

/* A passive connection from the default peer brought into state st (ss names:
 * "SYN-RECV", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK",
 * "TIME-WAIT"); opts: the peer's SYN options (NULL: MSS only). Closing states are
 * reached through tcp_close() (the TCB is then an orphan). Output is drained. */
struct tcp_sock *th_into_state(struct th *h, struct th_peer *p, struct tcp_sock **l, const char *st,
			       const struct tcp_opts *opts);

/* One more passive handshake on listener l from addr (0: TH_PEER) port `port` (ISN
 * 5000+port, MSS 1460), then tcp_accept(). Pending output is dropped. NULL if any step
 * fails. */
struct tcp_sock *th_handshake(struct th *h, struct tcp_sock *l, struct th_peer *p, uint32_t addr,
			      uint16_t port);
/* The peer's half of it alone (for listeners an application accepts from): true once
 * the SYN-ACK came and the ACK went. */
bool th_peer_open(struct th *h, uint16_t lport, struct th_peer *p, uint32_t addr, uint16_t port);

/* CHECKs that two TCBs agree on every field the input path writes (fast path vs slow). */
void th_same_tcb(const struct tcp_sock *a, const struct tcp_sock *b);
/* CHECKs that a and b emitted the same segments since the last call, and pops them. */
void th_same_segs(struct th *a, struct th *b);

#endif
