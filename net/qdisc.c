/*
 * pfifo egress queue (qdisc.h; Linux net/sched/sch_fifo.c, sch_generic.c
 * sch_direct_xmit/dev_requeue_skb). The driver is asked how many TX slots are free
 * (tx_reclaim) and given at most that many frames per tx_burst; whatever it still
 * refuses goes back to the head in order, so a full ring delays packets instead of
 * losing them. Only a full queue drops.
 */
#include "net/qdisc.h"
#include "net/core.h"
#include "net/netdev.h"
#include "net/err.h"
#include "lib/string.h"

void qdisc_init(struct qdisc *qd, uint32_t limit)
{
	memset(qd, 0, sizeof(*qd));
	qd->limit = limit;
}

void qdisc_purge(struct qdisc *qd)
{
	pktq_purge(&qd->q);
}

int qdisc_enqueue(struct qdisc *qd, struct net_core *c, struct netdev *dev, struct pkt *p)
{
	if (qd->q.len >= qd->limit) {
		qd->st.drops++;
		net_drop(c, p, DROP_QDISC_FULL);
		return -NET_ENOBUFS;
	}
	p->ts_ns = c->now_ns;
	pktq_push(&qd->q, p);
	NET_TRACE(c, p, TL_QDISC, TE_QDISC_ENQ, qd->q.len, qd->q.bytes);
	qdisc_run(qd, c, dev);
	return 0;
}

/* Frames go to the tap once, even when the driver hands them back and they are
 * offered again (PKT_F_TAPPED). */
static void tap_batch(struct net_core *c, struct netdev *dev, struct pkt **batch, int n)
{
	for (int i = 0; i < n; i++) {
		if (batch[i]->flags & PKT_F_TAPPED)
			continue;
		batch[i]->flags |= PKT_F_TAPPED;
		net_tap(c, dev, batch[i], NET_TAP_OUT);
	}
}

/* One tx_burst of up to max frames; returns 1 if the driver took all it was given. */
static int xmit_batch(struct qdisc *qd, struct net_core *c, struct netdev *dev, int max)
{
	struct pkt *batch[QDISC_BURST];
	uint16_t lens[QDISC_BURST];
	int n = 0;
	while (n < max && n < QDISC_BURST && qd->q.head) {
		batch[n] = pktq_pop(&qd->q);
		lens[n] = batch[n]->len;        /* the driver may free them before returning */
		n++;
	}
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
	}
	for (int i = n - 1; i >= sent; i--)
		pktq_push_front(&qd->q, batch[i]);
	qd->st.requeues += (uint64_t)(n - sent);
	return sent == n;
}

void qdisc_run(struct qdisc *qd, struct net_core *c, struct netdev *dev)
{
	if (!qd->q.len) {
		/* Idle: still hand finished TX buffers back to their pool now and then;
		 * they are RX buffers too. */
		if (dev->ops->tx_reclaim && c->now_ns >= qd->reclaim_ns) {
			dev->ops->tx_reclaim(dev);
			qd->reclaim_ns = c->now_ns + QDISC_RECLAIM_NS;
		}
		return;
	}
	int room = dev->ops->tx_reclaim ? dev->ops->tx_reclaim(dev) : -1;
	if (room < 0)
		room = QDISC_BURST;     /* the driver does not say: try, it returns what it took */
	while (qd->q.len) {
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
		if (room < 0)
			room = QDISC_BURST;
	}
}
