/*
 * fq_codel: Flow Queue CoDel as an egress queueing discipline (RFC 8290; CoDel itself is
 * RFC 8289). The same shape as the pfifo in net/qdisc.h, but hardware-free and
 * stack-free: the caller owns struct fq_codel and the flow array, and passes the time.
 *
 * Call order:
 *   fq_codel_params_default(&p)  -> tweak -> fq_codel_init(fq, &p, flows, nflows, perturb)
 *   fq_codel_enqueue(fq, p, now)    per frame handed down by IP (takes ownership)
 *   fq_codel_dequeue(fq, now)       per frame the driver has room for
 *   fq_codel_requeue(fq, p)         a frame the driver handed back goes out next
 *   fq_codel_purge(fq)              device going away; frees everything queued
 *
 * Frames start with their Ethernet header (what qdisc_enqueue receives). Flows are
 * hashed over the IPv4 5-tuple with a per-instance perturbation (RFC 8290 §4.1.1);
 * other frames hash by EtherType. Scheduling is DRR with new/old flow lists (§4.2,
 * §4.3); each flow runs its own CoDel state machine (RFC 8289 §5). The statistics are
 * the ones `tc -s qdisc show` prints for fq_codel (Linux net/sched/sch_fq_codel.c).
 */
#ifndef SKIFF_NET_FQ_CODEL_H
#define SKIFF_NET_FQ_CODEL_H

#include <stddef.h>
#include <stdint.h>
#include "net/pkt.h"

#define FQ_CODEL_NS_PER_MS 1000000ull

struct fq_codel_params {
	uint32_t limit;         /* packets in all flows (Linux default 10240) */
	uint32_t flows;         /* hash buckets; must equal the flow array the caller gives */
	uint32_t quantum;       /* DRR bytes per round (RFC 8290 §4.2: one MTU + header) */
	uint64_t target_ns;     /* CoDel target sojourn (RFC 8289 §4.3: 5 ms) */
	uint64_t interval_ns;   /* CoDel interval (RFC 8289 §4.4: 100 ms) */
	uint32_t memory_limit;  /* bytes of packet memory (slots) across all flows */
	uint32_t mtu;           /* a backlog at or under this never drops (RFC 8289 §5.2) */
	uint32_t drop_batch;    /* packets dropped at most per overlimit event */
	int ecn;                /* mark ECT packets CE instead of dropping them */
};

/* RFC 8289 §5 per-queue CoDel state. */
struct codel_vars {
	uint64_t first_above_time;      /* when sojourn stayed above target for an interval */
	uint64_t drop_next;             /* next drop while dropping */
	uint32_t count;                 /* drops since entering the dropping state */
	uint32_t lastcount;             /* count when last leaving it */
	int dropping;
};

struct fq_codel_flow {
	struct pkt_queue q;
	struct fq_codel_flow *next;     /* link in the new or old flow list */
	int32_t deficit;                /* DRR credit in bytes (RFC 8290 §4.2) */
	uint8_t list;                   /* FQ_LIST_* the flow is on */
	struct codel_vars cv;
};

enum { FQ_LIST_NONE, FQ_LIST_NEW, FQ_LIST_OLD };

struct fq_flow_list {
	struct fq_codel_flow *head, *tail;
	uint32_t len;
};

/* What `tc -s qdisc` shows. Sent = handed out by dequeue; drops count every packet the
 * qdisc freed (CoDel drops and overlimit drops). */
struct fq_codel_stats {
	uint64_t bytes, packets;
	uint64_t drops;
	uint64_t overlimits;            /* enqueues that found the queue over limit/memory */
	uint64_t requeues;
	uint32_t maxpacket;             /* largest packet dequeued */
	uint64_t drop_overlimit;        /* dropped because of limit or memory_limit */
	uint64_t drop_overmemory;       /* the part of those due to memory_limit */
	uint64_t new_flow_count;        /* times an idle flow became a new flow */
	uint64_t ecn_mark;              /* CE marks instead of drops */
	uint64_t codel_drops;           /* dropped by CoDel at dequeue */
};

struct fq_codel {
	struct fq_codel_params prm;
	struct fq_codel_flow *flows;
	uint32_t perturb;
	struct fq_flow_list new_flows, old_flows;
	struct pkt_queue requeued;      /* handed back by the driver; served first */
	uint32_t qlen;                  /* packets in all flows and requeued */
	uint64_t backlog;               /* bytes in all flows and requeued */
	uint64_t memory_usage;          /* PKT_SLOT_SIZE per queued packet */
	struct fq_codel_stats st;
};

/* Linux defaults: limit 10240, flows 1024, quantum 1514, target 5 ms, interval 100 ms,
 * memory_limit 32 MiB, ECN on, drop_batch 64. */
void fq_codel_params_default(struct fq_codel_params *p);
/* flows: nflows entries owned by the caller for the life of fq (nflows must equal
 * p->flows, and be >= 1); perturb: a random value from the platform's entropy source so
 * a remote sender cannot aim at one bucket. 0, or -NET_EINVAL on bad parameters. */
int fq_codel_init(struct fq_codel *fq, const struct fq_codel_params *p,
		  struct fq_codel_flow *flows, uint32_t nflows, uint32_t perturb);
/* Takes ownership of p (stamps p->ts_ns = now). Over limit or memory_limit, drops up
 * to drop_batch packets from the head of the fattest flow (RFC 8290 §4.1). Returns 0,
 * or -NET_ENOBUFS when p's own flow was the one cut (the sender is congested). */
int fq_codel_enqueue(struct fq_codel *fq, struct pkt *p, uint64_t now_ns);
/* The next packet to transmit (caller owns it), or NULL when empty. CoDel drops and
 * ECN marks happen here. */
struct pkt *fq_codel_dequeue(struct fq_codel *fq, uint64_t now_ns);
/* A packet dequeued but refused by the driver: it goes out first, before any flow. */
void fq_codel_requeue(struct fq_codel *fq, struct pkt *p);
/* Frees every queued packet; the flows become idle. */
void fq_codel_purge(struct fq_codel *fq);
/* Bucket index a frame would go to (tests, and `tc` style dumps). */
uint32_t fq_codel_classify(const struct fq_codel *fq, const struct pkt *p);

/* `tc -s qdisc show` text for fq_codel (handle 0:, root), NUL-terminated; returns the
 * length it wanted like ksnprintf. */
int fq_codel_show(const struct fq_codel *fq, const char *dev, char *buf, size_t cap);

#endif
