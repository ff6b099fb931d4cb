/*
 * Egress queueing discipline between IP and the driver: one bounded FIFO per device,
 * Linux pfifo with limit = txqueuelen (sch_fifo.c), counters as `tc -s qdisc` shows.
 * A full TX ring is absorbed here: what tx_burst() did not take goes back to the head
 * of the queue (a requeue, dev_requeue_skb) and is retried on the next net_poll().
 */
#ifndef SKIFF_NET_QDISC_H
#define SKIFF_NET_QDISC_H

#include <stddef.h>
#include <stdint.h>
#include "net/pkt.h"
#include "net/fq_codel.h"
#include "net/dql.h"

struct net_core;
struct netdev;

struct qdisc_stats {
	uint64_t bytes, packets;        /* handed to the driver */
	uint64_t drops;                 /* refused at the limit */
	uint64_t overlimits;            /* runs that found the driver's TX ring full */
	uint64_t requeues;              /* packets tx_burst() handed back, put back at the head */
};

enum qdisc_kind { QDISC_PFIFO, QDISC_FQ_CODEL };

struct qdisc_ops;

/* fq_codel's state and flow table, one allocation from the core's mem_alloc. */
struct qdisc_fq {
	struct fq_codel fq;
	struct fq_codel_flow flows[];
};

struct qdisc {
	const struct qdisc_ops *ops;    /* the discipline: pfifo or fq_codel */
	struct pkt_queue q;             /* pfifo backlog: q.len packets, q.bytes bytes */
	uint32_t limit;                 /* packets (pfifo) */
	struct qdisc_fq *fq;            /* fq_codel, when it is the discipline */
	uint64_t reclaim_ns;            /* next idle tx_reclaim */
	struct qdisc_stats st;
	/* Byte queue limits toward a NETDEV_F_BQL device (Linux BQL, dql.h) */
	struct dql dql;
	uint64_t done_seen;             /* dev->tx_done_bytes already given to dql */
	int bql;                        /* the device reports completions */
	uint64_t bql_stops;             /* runs stopped by the byte limit, not the ring */
};

void qdisc_init(struct qdisc *qd, uint32_t limit);
/* Takes ownership of the frame p (Ethernet header included), queues it on interface ifi
 * and tries to transmit. 0, or -NET_ENOBUFS when the queue was full (p dropped, counted). */
/* Takes p; queues it for dev and runs the queue. 0 or -NET_ENOBUFS (dropped, counted). */
int qdisc_enqueue(struct qdisc *qd, struct net_core *c, struct netdev *dev, struct pkt *p);
/* Reclaims finished TX descriptors and hands queued frames to the driver, while the
 * ring has room and (NETDEV_F_BQL devices) the bytes in it are under the dynamic
 * limit. */
void qdisc_run(struct qdisc *qd, struct net_core *c, struct netdev *dev);
/* Frees everything queued (device going away), and fq_codel's memory. */
void qdisc_purge(struct qdisc *qd, struct net_core *c);

/* `tc qdisc replace`: the queued packets move to the new discipline. fq_codel takes its
 * memory from the core's mem_alloc: -NET_ENOMEM without it (nothing changes). */
int qdisc_set_fq_codel(struct qdisc *qd, struct net_core *c, const struct fq_codel_params *p);
void qdisc_set_pfifo(struct qdisc *qd, struct net_core *c, uint32_t limit);
const char *qdisc_kind(const struct qdisc *qd);         /* "pfifo", "fq_codel" */
uint32_t qdisc_qlen(const struct qdisc *qd);            /* packets queued */
/* `tc [-s] qdisc show dev` text for this discipline; the length wanted, like ksnprintf. */
int qdisc_show(const struct qdisc *qd, const char *dev, int stats, char *buf, size_t cap);
/* The byte_queue_limits line (limit, inflight) `tc -s qdisc` adds for a BQL device. */
int qdisc_show_bql(const struct qdisc *qd, char *buf, size_t cap);

#endif
