/*
 * pfifo egress queue (qdisc.h; Linux net/sched/sch_fifo.c, sch_generic.c
 * sch_direct_xmit/dev_requeue_skb). The driver is asked how many TX slots are free
 * (tx_reclaim) and given at most that many frames per tx_burst; whatever it still
 * refuses goes back to the head in order, so a full ring delays packets instead of
 * losing them. Only a full queue drops. An empty pfifo is bypassed (bypass()).
 *
 * Byte queue limits (Linux netdev_tx_sent_queue / netdev_tx_completed_queue): toward a
 * device that reports finished bytes (NETDEV_F_BQL), frames go only while the bytes in
 * its ring are under dql's limit. Without it a 256-entry ring of 64 KiB TSO frames is a
 * deep FIFO below the qdisc that fq_codel can neither see nor drop from.
 */
#include "net/qdisc.h"
#include "net/core.h"
#include "net/netdev.h"
#include "net/err.h"
#include "lib/string.h"
#include "lib/fmt.h"

/* ---- the disciplines: one small table each --------------------------------------- */

struct qdisc_ops {
	const char *kind;
	int (*enqueue)(struct qdisc *qd, struct net_core *c, struct pkt *p);   /* 0 or dropped */
	struct pkt *(*dequeue)(struct qdisc *qd, struct net_core *c);
	void (*requeue)(struct qdisc *qd, struct pkt *p);     /* goes out next */
	uint32_t (*qlen)(const struct qdisc *qd);
};

static int pfifo_enqueue(struct qdisc *qd, struct net_core *c, struct pkt *p)
{
	if (qd->q.len >= qd->limit) {
		qd->st.drops++;
		net_drop(c, p, DROP_QDISC_FULL);
		return -NET_ENOBUFS;
	}
	p->ts_ns = c->now_ns;
	pktq_push(&qd->q, p);
	return 0;
}

static struct pkt *pfifo_dequeue(struct qdisc *qd, struct net_core *c)
{
	(void)c;
	return pktq_pop(&qd->q);
}

static void pfifo_requeue(struct qdisc *qd, struct pkt *p)
{
	pktq_push_front(&qd->q, p);
}

static uint32_t pfifo_qlen(const struct qdisc *qd)
{
	return qd->q.len;
}

static const struct qdisc_ops pfifo_ops = { "pfifo", pfifo_enqueue, pfifo_dequeue, pfifo_requeue,
					    pfifo_qlen };

static int fq_enqueue(struct qdisc *qd, struct net_core *c, struct pkt *p)
{
	uint64_t drops = qd->fq->fq.st.drops;
	int r = fq_codel_enqueue(&qd->fq->fq, p, c->now_ns);
	/* fq_codel frees what it cuts itself; count those as the qdisc's drops */
	c->drops[DROP_QDISC_FULL] += qd->fq->fq.st.drops - drops;
	return r;
}

static struct pkt *fq_dequeue(struct qdisc *qd, struct net_core *c)
{
	uint64_t drops = qd->fq->fq.st.codel_drops;
	struct pkt *p = fq_codel_dequeue(&qd->fq->fq, c->now_ns);
	c->drops[DROP_QDISC_CODEL] += qd->fq->fq.st.codel_drops - drops;
	return p;
}

static void fq_requeue(struct qdisc *qd, struct pkt *p)
{
	fq_codel_requeue(&qd->fq->fq, p);
}

static uint32_t fq_qlen(const struct qdisc *qd)
{
	return qd->fq->fq.qlen;
}

static const struct qdisc_ops fq_codel_ops = { "fq_codel", fq_enqueue, fq_dequeue, fq_requeue,
					       fq_qlen };

void qdisc_init(struct qdisc *qd, uint32_t limit)
{
	memset(qd, 0, sizeof(*qd));
	qd->ops = &pfifo_ops;
	qd->limit = limit;
	dql_init(&qd->dql, 0, QDISC_BQL_MAX, 0);
}

static void free_fq(struct qdisc *qd, struct net_core *c)
{
	if (!qd->fq)
		return;
	fq_codel_purge(&qd->fq->fq);
	if (c->cfg.mem_free)
		c->cfg.mem_free(c->cfg.ctx, qd->fq);
	qd->fq = NULL;
}

void qdisc_purge(struct qdisc *qd, struct net_core *c)
{
	pktq_purge(&qd->q);
	free_fq(qd, c);
	qd->ops = &pfifo_ops;
}

int qdisc_set_fq_codel(struct qdisc *qd, struct net_core *c, const struct fq_codel_params *prm)
{
	if (!c->cfg.mem_alloc)
		return -NET_ENOMEM;
	size_t n = sizeof(struct qdisc_fq) + (size_t)prm->flows * sizeof(struct fq_codel_flow);
	struct qdisc_fq *fq = c->cfg.mem_alloc(c->cfg.ctx, n);
	if (!fq)
		return -NET_ENOMEM;
	if (fq_codel_init(&fq->fq, prm, fq->flows, prm->flows, (uint32_t)net_random(c))) {
		c->cfg.mem_free(c->cfg.ctx, fq);
		return -NET_EINVAL;
	}
	const struct qdisc_ops *old = qd->ops;
	struct qdisc_fq *old_fq = qd->fq;
	struct qdisc keep = *qd;        /* the old discipline's queue, to drain */
	qd->fq = fq;
	qd->ops = &fq_codel_ops;
	keep.fq = old_fq;
	struct pkt *p;
	while ((p = old->dequeue(&keep, c)) != NULL)
		fq_enqueue(qd, c, p);
	qd->q = keep.q;                 /* empty now */
	if (old_fq) {
		qd->fq = old_fq;
		free_fq(qd, c);
		qd->fq = fq;
	}
	memset(&qd->st, 0, sizeof(qd->st));
	return 0;
}

void qdisc_set_pfifo(struct qdisc *qd, struct net_core *c, uint32_t limit)
{
	const struct qdisc_ops *old = qd->ops;
	qd->limit = limit;
	qd->ops = &pfifo_ops;
	if (old != &pfifo_ops) {
		struct qdisc keep = *qd;
		keep.ops = old;
		struct pkt *p;
		while ((p = old->dequeue(&keep, c)) != NULL)
			pfifo_enqueue(qd, c, p);
		free_fq(qd, c);
	}
	memset(&qd->st, 0, sizeof(qd->st));
}

const char *qdisc_kind(const struct qdisc *qd)
{
	return qd->ops->kind;
}

uint32_t qdisc_qlen(const struct qdisc *qd)
{
	return qd->ops == &pfifo_ops ? qd->q.len : qd->ops->qlen(qd);  /* the run asks every turn */
}

int qdisc_show(const struct qdisc *qd, const char *dev, int stats, char *buf, size_t cap)
{
	if (qd->ops == &fq_codel_ops) {
		if (stats)
			return fq_codel_show(&qd->fq->fq, dev, buf, cap);
		const struct fq_codel_params *p = &qd->fq->fq.prm;
		return ksnprintf(buf, cap, "qdisc fq_codel 0: dev %s root refcnt 2 limit %up flows %u "
				 "quantum %u\n", dev, p->limit, p->flows, p->quantum);
	}
	int n = ksnprintf(buf, cap, "qdisc pfifo 0: dev %s root refcnt 2 limit %up\n", dev, qd->limit);
	if (!stats || n < 0 || (size_t)n >= cap)
		return n;
	return n + ksnprintf(buf + n, cap - (size_t)n,
			     " Sent %lu bytes %lu pkt (dropped %lu, overlimits %lu requeues %lu)\n"
			     " backlog %lub %up requeues %lu\n",
			     (unsigned long)qd->st.bytes, (unsigned long)qd->st.packets,
			     (unsigned long)qd->st.drops, (unsigned long)qd->st.overlimits,
			     (unsigned long)qd->st.requeues, (unsigned long)qd->q.bytes, qd->q.len,
			     (unsigned long)qd->st.requeues);
}

static void tap_batch(struct net_core *c, struct netdev *dev, struct pkt **batch, int n);
static inline void bql_complete(struct qdisc *qd, struct net_core *c, struct netdev *dev);

/* An empty pfifo hands p straight to the driver (Linux TCQ_F_CAN_BYPASS, which pfifo
 * has and fq_codel has not), with the counters queueing and running it would give;
 * 1 if the driver took it. Otherwise p is queued as usual, and the run finds the same
 * full ring and counts it. Not while tracing: a refused frame would be traced twice. */
static int bypass(struct qdisc *qd, struct net_core *c, struct netdev *dev, struct pkt *p)
{
	if (qd->ops != &pfifo_ops || qd->q.len || c->tracer)
		return 0;
	int room = dev->ops->tx_reclaim ? dev->ops->tx_reclaim(dev) : -1;
	if (room == 0)
		return 0;
	bql_complete(qd, c, dev);
	if (qd->bql && dql_avail(&qd->dql) < 0)
		return 0;               /* the byte limit holds it: queued like any other */
	if (__builtin_expect(c->tap != NULL, 0))
		tap_batch(c, dev, &p, 1);
	uint32_t len = p->len;          /* the driver may free p before returning */
	if (dev->ops->tx_burst(dev, &p, 1) != 1)
		return 0;
	qd->st.packets++;
	qd->st.bytes += len;
	if (qd->bql)
		dql_queued(&qd->dql, len);
	return 1;
}

int qdisc_show_bql(const struct qdisc *qd, char *buf, size_t cap)
{
	if (!qd->bql) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	return ksnprintf(buf, cap, " byte_queue_limits limit %ub inflight %ub stops %lu\n",
			 qd->dql.limit, dql_inflight(&qd->dql), (unsigned long)qd->bql_stops);
}

int qdisc_enqueue(struct qdisc *qd, struct net_core *c, struct netdev *dev, struct pkt *p)
{
	/* the trace record goes first: the discipline may free p on the way in */
	NET_TRACE(c, p, TL_QDISC, TE_QDISC_ENQ, qdisc_qlen(qd) + 1, 0);
	if (bypass(qd, c, dev, p))
		return 0;
	int r = qd->ops->enqueue(qd, c, p);
	if (r == 0)
		qdisc_run(qd, c, dev);
	return r;
}

/* Frames go to the tap once, even when the driver hands them back and they are
 * offered again (PKT_F_TAPPED). */
static void tap_batch(struct net_core *c, struct netdev *dev, struct pkt **batch, int n)
{
	for (int i = 0; i < n; i++) {
		if (batch[i]->flags & PKT_F_TAPPED)
			continue;
		batch[i]->flags |= PKT_F_TAPPED;
		/* The tap reads the frame's bytes: a scatter-gather tail joins the rest
		 * (only while something captures; a slot too small is not shown). */
		if (c->tap && pkt_linearize(batch[i]))
			continue;
		net_tap(c, dev, batch[i], NET_TAP_OUT);
	}
}

/* The device's completions since the last look go to dql (Linux
 * netdev_tx_completed_queue), whoever reclaimed them. */
static __attribute__((noinline)) void bql_complete_dev(struct qdisc *qd, struct net_core *c,
						       struct netdev *dev)
{
	if (!qd->bql) {
		qd->bql = 1;
		qd->done_seen = dev->tx_done_bytes;
	}
	uint64_t n = dev->tx_done_bytes - qd->done_seen;
	qd->done_seen = dev->tx_done_bytes;
	/* Frames sent around the qdisc (the shell's `nic send` test frames) complete
	 * too: never more than we posted. */
	if (n > dql_inflight(&qd->dql))
		n = dql_inflight(&qd->dql);
	if (n)
		dql_completed(&qd->dql, (uint32_t)n, c->now_ns);
}

/* Inline: asked before every transmit, and most devices do not count bytes. */
static inline void bql_complete(struct qdisc *qd, struct net_core *c, struct netdev *dev)
{
	if (dev->features & NETDEV_F_BQL)
		bql_complete_dev(qd, c, dev);
}

/* One tx_burst of up to max frames, and no more bytes than dql allows (the frame that
 * crosses the limit still goes, as in Linux); returns 1 if the driver took all. */
static int xmit_batch(struct qdisc *qd, struct net_core *c, struct netdev *dev, int max)
{
	struct pkt *batch[QDISC_BURST];
	uint32_t lens[QDISC_BURST];     /* a GSO frame may exceed 64 KiB with its headers */
	int n = 0;
	int64_t avail = qd->bql ? dql_avail(&qd->dql) : INT64_MAX;
	while (n < max && n < QDISC_BURST && avail >= 0 &&
	       (batch[n] = qd->ops->dequeue(qd, c)) != NULL) {
		lens[n] = batch[n]->len;        /* the driver may free them before returning */
		avail -= lens[n];
		n++;
	}
	if (!n)
		return 1;       /* CoDel dropped what there was */
	if (__builtin_expect(c->tap != NULL, 0))
		tap_batch(c, dev, batch, n);
	if (__builtin_expect(c->tracer != NULL, 0))
		for (int i = 0; i < n; i++)
			NET_TRACE(c, batch[i], TL_DRV, TE_TX, dev->ifindex, batch[i]->len);
	int sent = dev->ops->tx_burst(dev, batch, n);
	if (sent < 0)
		sent = 0;
	if (sent > n)
		sent = n;
	for (int i = 0; i < sent; i++) {
		qd->st.packets++;
		qd->st.bytes += lens[i];
		if (qd->bql)
			dql_queued(&qd->dql, lens[i]);
	}
	for (int i = n - 1; i >= sent; i--)
		qd->ops->requeue(qd, batch[i]);
	qd->st.requeues += (uint64_t)(n - sent);
	return sent == n;
}

/* The byte limit is reached with frames still queued: wait for completions. */
static int bql_stopped(struct qdisc *qd)
{
	if (!qd->bql || dql_avail(&qd->dql) >= 0)
		return 0;
	qd->bql_stops++;
	return 1;
}

void qdisc_run(struct qdisc *qd, struct net_core *c, struct netdev *dev)
{
	bql_complete(qd, c, dev);
	if (!qdisc_qlen(qd)) {
		/* Idle: still hand finished TX buffers back to their pool now and then;
		 * they are RX buffers too. */
		if (dev->ops->tx_reclaim && c->now_ns >= qd->reclaim_ns) {
			dev->ops->tx_reclaim(dev);
			qd->reclaim_ns = c->now_ns + QDISC_RECLAIM_NS;
		}
		return;
	}
	int room = dev->ops->tx_reclaim ? dev->ops->tx_reclaim(dev) : -1;
	bql_complete(qd, c, dev);
	if (room < 0)
		room = QDISC_BURST;     /* the driver does not say: try, it returns what it took */
	while (qdisc_qlen(qd)) {
		if (bql_stopped(qd))
			return;
		if (room == 0) {
			qd->st.overlimits++;
			return;
		}
		int want = room < QDISC_BURST ? room : QDISC_BURST;
		if (!xmit_batch(qd, c, dev, want)) {
			qd->st.overlimits++;
			return;
		}
		room = dev->ops->tx_reclaim ? dev->ops->tx_reclaim(dev) : QDISC_BURST;
		bql_complete(qd, c, dev);
		if (room < 0)
			room = QDISC_BURST;
	}
}
