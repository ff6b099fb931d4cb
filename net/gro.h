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
 *   verified first (the merged segment is marked PKT_F_CSUM_OK); at most GRO_SEGS_MAX
 *   segments per train.
 * Anything else flushes the flow's held segment first, so TCP sees every flow in order.
 *
 * How payload is merged (Linux skb frag_list, not a copy): the first segment's packet
 * becomes a chain head (PKT_F_GRO_CHAIN) whose header is the merged segment's; each
 * following segment's packet, its header pulled, hangs on p->next with its payload
 * only. Small payloads too: copying them into the last piece instead measured no
 * cheaper (docs/performance.md, round 7). With g->chain clear (the twin tests'
 * reference), every payload is copied into the head, moved to a big buffer when its
 * own slot is full: the merge copy of earlier rounds.
 *
 * A chain reaches only code that reads it through gro_seg_len/gro_seg_copy/
 * gro_seg_free (TCP's payload view, tcp_in.c); where the consumer cannot take one
 * (g->chain_ok says no: TCP re-entered, whose backlog links packets by p->next) the
 * chain is copied into one big buffer first (counted, linearized; nobuf when none).
 *
 * Ownership: gro_receive() consumes p (delivers, holds or merges it); gro_flush()
 * delivers everything held; whoever receives a chain head owns every packet of the
 * chain and frees them with gro_seg_free(). Calling context: the main loop.
 */
#ifndef SKIFF_NET_GRO_H
#define SKIFF_NET_GRO_H

#include <stdbool.h>
#include <stdint.h>
#include "net/pkt.h"

#define GRO_FLOWS 8             /* flows held per burst (Linux MAX_GRO_SKBS) */
#define GRO_MAX_LEN (65535u - 20u)      /* a merged segment stays one IPv4 datagram */
#define GRO_SEGS_MAX 64                 /* segments per train (Linux: gro_max_segs default) */

/* p->data at the TCP header (IP validated and stripped); consumes p. */
typedef void (*gro_deliver_fn)(void *ctx, struct pkt *p, uint32_t src, uint32_t dst);

struct gro_flow {
	struct pkt *p;          /* held: data at the TCP header; a chain head once chained */
	struct pkt *tail;       /* the chain's last packet (p itself before any link) */
	uint32_t len;           /* the merged segment's bytes, header included, all pieces */
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
	uint64_t chained;       /* of merged: linked as a piece (no copy) */
	uint64_t linearized;    /* chains copied into one buffer for a consumer that needs it */
};

struct gro {
	struct gro_flow flow[GRO_FLOWS];
	int nflows;
	bool open;              /* inside a burst: segments may be held */
	struct pkt_pool *big;   /* merged segments live here; NULL: never merge */
	bool chain;             /* link payloads (default); clear: copy them (the reference) */
	gro_deliver_fn deliver;
	/* NULL or true: deliver can take a chain now; false: it is linearized first.
	 * A TCP deliverer sets it (transport.c): a re-entered tcp_input cannot queue a
	 * chain and drops it, counted (docs/review-round7a.md A3). */
	bool (*chain_ok)(void *ctx);
	void *ctx;
	struct gro_stats st;
};

void gro_init(struct gro *g, struct pkt_pool *big, gro_deliver_fn deliver, void *ctx);
/* Outside a burst (g->open clear) p is delivered at once. */
void gro_receive(struct gro *g, struct pkt *p, uint32_t src, uint32_t dst);
void gro_flush(struct gro *g);

/* A delivered segment's bytes: p's own plus, for a chain head, every piece's. */
static inline uint32_t gro_seg_len(const struct pkt *p)
{
	uint32_t n = p->len;
	if (p->flags & PKT_F_GRO_CHAIN)
		for (const struct pkt *q = p->next; q; q = q->next)
			n += q->len;
	return n;
}

/* Frees p and, for a chain head, every piece: each packet exactly once. */
static inline void gro_seg_free(struct pkt *p)
{
	if (p && (p->flags & PKT_F_GRO_CHAIN)) {
		struct pkt *q = p->next;
		while (q) {
			struct pkt *n = q->next;
			pkt_free(q);
			q = n;
		}
		p->next = NULL;
	}
	pkt_free(p);
}

/* Copies n bytes of the segment from offset off (header at 0) into dst; the caller
 * keeps off + n <= gro_seg_len(p). For tests, fuzzers and linearizing. */
void gro_seg_copy(const struct pkt *p, uint32_t off, uint8_t *dst, uint32_t n);

#endif
