/*
 * Receive coalescing of TCP segments at the IPv4 -> TCP seam (Linux GRO, cut down): within
 * one receive burst (the frames one main-loop turn's NAPI polls deliver), in-sequence data
 * segments of one flow are merged into one large segment in a big buffer, so TCP's input
 * processing and its ACK run once per burst instead of once per segment.
 *
 * Only what is safe is merged (each rule has a test in test_tcp_gro.c):
 *   same 4-tuple; the next segment starts where the held one ends; ACK set and the same
 *   acknowledgment number; flags ACK only, PSH allowed on the last (it ends the train);
 *   no SYN/FIN/RST/URG/ECE/CWR; options none or timestamps only, on all of them or on
 *   none (the last segment's header is kept: its TS value, echo and window); payload
 *   never larger than the first segment's (a shorter one ends the train); the checksum
 *   verified first (the merged segment is marked PKT_F_CSUM_OK).
 * Anything else flushes the flow's held segment first, so TCP sees every flow in order.
 *
 * Ownership: gro_receive() consumes p (delivers, holds or merges it); gro_flush()
 * delivers everything held. Calling context: the main loop.
 */
#ifndef SKIFF_NET_GRO_H
#define SKIFF_NET_GRO_H

#include <stdbool.h>
#include <stdint.h>
#include "net/pkt.h"

#define GRO_FLOWS 8             /* flows held per burst (Linux MAX_GRO_SKBS) */
#define GRO_MAX_LEN (65535u - 20u)      /* a merged segment stays one IPv4 datagram */

/* p->data at the TCP header (IP validated and stripped); consumes p. */
typedef void (*gro_deliver_fn)(void *ctx, struct pkt *p, uint32_t src, uint32_t dst);

struct gro_flow {
	struct pkt *p;          /* held: data at the TCP header */
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t next_seq;      /* sequence number the next segment must start at */
	uint32_t ack;
	uint16_t hlen;          /* TCP header length (all merged segments share it) */
	uint16_t mss;           /* payload of the first segment */
	uint16_t segs;
};

struct gro_stats {
	uint64_t held, merged, flushed, not_eligible, nobuf;
};

struct gro {
	struct gro_flow flow[GRO_FLOWS];
	int nflows;
	bool open;              /* inside a burst: segments may be held */
	struct pkt_pool *big;   /* merged segments live here; NULL: never merge */
	gro_deliver_fn deliver;
	void *ctx;
	struct gro_stats st;
};

void gro_init(struct gro *g, struct pkt_pool *big, gro_deliver_fn deliver, void *ctx);
/* Outside a burst (g->open clear) p is delivered at once. */
void gro_receive(struct gro *g, struct pkt *p, uint32_t src, uint32_t dst);
void gro_flush(struct gro *g);

#endif
