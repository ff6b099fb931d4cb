/*
 * Two complete Skiff stacks (Ethernet, ARP, IPv4, TCP, qdisc: struct net_stack) joined
 * by an in-memory NIC pair (memlink.h), and the three workloads of issue 11 run over
 * them. Shared by the benchmark (tests/bench/net_bench.c: timing, callgrind) and by a
 * unit test that runs each workload tiny under ASan (tests/unit/test_net_bench.c).
 *
 * A (10.0.0.1) is the client, B (10.0.0.2) the server, listening on port 80. Time is
 * virtual: every pump (one NAPI poll of each NIC, then net_poll() of each stack, as the
 * kernel loop turns) advances it BP_TICK_NS; when nothing is in flight and the workload
 * still waits, it jumps to the next TCP timer (counted in idle_jumps). So a run is
 * deterministic, and callgrind's slowness cannot fire timers a real run would not.
 *
 * Every workload checks what it moved: each byte received is compared with the byte
 * sent at that stream offset (bp_verify(), kept out of line so callgrind can leave it
 * out of the count). A failure returns -1 with the reason in bp->err.
 */
#ifndef SKIFF_TESTS_BENCH_BENCH_PAIR_H
#define SKIFF_TESTS_BENCH_BENCH_PAIR_H

#include <stdint.h>
#include "net/stack.h"
#include "tests/bench/memlink.h"

#define BP_TICK_NS 1000u        /* virtual time per pump */
#define BP_BUDGET 64            /* NAPI budget per poll, as the kernel loop's */
#define BP_SLOTS 2048           /* packet buffers per side */
#define BP_REQ 64               /* request size of rr and crr */
#define BP_RESP 1024            /* response size */

struct bench_pair {
	uint64_t now;           /* the virtual clock */
	struct memnic na, nb;
	struct net_stack a, b;
	struct tcp_sock *listener;      /* on b, port 80 */
	uint64_t rng_a, rng_b;
	uint64_t pumps, idle_jumps;
	int plain;              /* BP_PLAIN */
	struct pkt_pool big_a, big_b;   /* TCP super-segments and GRO trains (not BP_PLAIN) */
	uint8_t *big_mem_a, *big_mem_b;
	char err[160];
};

/* What a workload did (counters are deltas over the run). */
struct bp_result {
	uint64_t bytes;         /* verified payload bytes received, both directions */
	uint64_t ops;           /* transactions or connections completed */
	uint64_t frames;        /* frames over the link, both directions */
	uint64_t retrans;       /* TcpRetransSegs, both stacks */
	uint64_t drops;         /* net_drop() calls, both stacks */
	uint64_t idle_jumps;
	uint64_t pumps;
};

/* bp_init options. By default the pair runs as the kernel configures its stack
 * (kernel/main_net.c): each stack has a pool of 64 KiB buffers (NET_TX_BIG_*), so TCP
 * sends super-segments that net/gso.c cuts, and the NAPI poll hands frames up with
 * net_input_burst(), so received segments are coalesced (net/gro.h). */
#define BP_CSUM_OFFLOAD 1       /* the NICs verify (PKT_F_CSUM_OK) and fill checksums (memlink.h) */
#define BP_PLAIN 2              /* no big buffers, net_input(): no GSO, no GRO */
/* opts: BP_* bits. 0 or -1. */
int bp_init(struct bench_pair *bp, int opts);
/* Tears both stacks down; returns packets not back in their pools, big ones included
 * (0 = no leak). */
int bp_fini(struct bench_pair *bp);

/* One connection, A sends total bytes (tcp_send, MSS 1460 on the 1500-byte link), B reads
 * them in place (tcp_recv_peek/consume) as fast as they arrive. */
int bp_bulk(struct bench_pair *bp, uint64_t total, struct bp_result *r);
/* n transactions on one connection: A sends BP_REQ bytes, B reads them and answers
 * BP_RESP bytes, A reads them. */
int bp_rr(struct bench_pair *bp, uint32_t n, struct bp_result *r);
/* n times: connect, BP_REQ, BP_RESP, B closes, A reads to EOF and closes. */
int bp_crr(struct bench_pair *bp, uint32_t n, struct bp_result *r);

/* The measured loops, exported by name for callgrind's --toggle-collect (they exclude
 * connection setup of bulk/rr and the final drain); bp_verify for the inverse. */
int bp_bulk_loop(struct bench_pair *bp, struct tcp_sock *c, struct tcp_sock *s, uint64_t total);
int bp_rr_loop(struct bench_pair *bp, struct tcp_sock *c, struct tcp_sock *s, uint32_t n);
int bp_crr_loop(struct bench_pair *bp, uint32_t n);
int bp_verify(uint64_t stream_off, const uint8_t *data, size_t len);
/* The bytes every sender sends from stream offset off on (BP_PERIOD of them are
 * contiguous); valid after bp_init(). */
const uint8_t *bp_stream(uint64_t off);
#define BP_PERIOD 65521u        /* pattern period: prime, so it never lines up with MSS */

/* 1 if B's TCP skips checksum verification of frames marked PKT_F_CSUM_OK (probed with
 * one bad-checksum SYN; use a pair made for the probe alone). */
int bp_csum_ok_honoured(struct bench_pair *bp);

#endif
