/*
 * The per-packet tracer (trace.h). Records go into one ring; a packet's records are
 * gathered when it reaches a terminal event by walking the ring back to its start
 * record, at most TRACE_RING records, so the cost is paid only by traced packets.
 */
#include "net/trace.h"
#include "net/core.h"
#include "lib/string.h"

#define ETH_HDR 14              /* the wire floor's ETH_HDR; the core sits below it */

const char *const trace_layer_names[TL_COUNT] = { "drv", "eth", "arp", "neigh", "ip", "icmp", "udp",
						  "tcp", "qdisc", "app" };
const char *const trace_event_names[TE_COUNT] = {
	"rx", "eth-ok", "ip-local", "l4", "deliver", "drop", "ip-out", "route", "neigh-hit",
	"neigh-park", "neigh-release", "link-out", "qdisc-enq", "qdisc-deq", "tx",
};

void net_trace_init(struct net_tracer *t)
{
	memset(t, 0, sizeof(*t));
}

void net_trace_attach(struct net_core *c, struct net_tracer *t)
{
	c->tracer = t;
}

void net_trace_detach(struct net_core *c)
{
	c->tracer = NULL;
}

static int active_slot(const struct net_tracer *t, uint32_t id)
{
	for (int i = 0; i < TRACE_ACTIVE; i++)
		if (t->active[i] == id)
			return i;
	return -1;
}

static uint64_t now(const struct net_core *c, const struct net_tracer *t)
{
	return t->clock_ns ? t->clock_ns(t->clock_ctx) : c->now_ns;
}

static int is_start(const struct trace_rec *r)
{
	return r->event == TE_RX || r->event == TE_IP_OUT;
}

/* The id's records, oldest first, from its start record on. */
static void finish(struct net_tracer *t, uint32_t id)
{
	struct trace_rec recs[TRACE_MAX_RECS];
	int n = 0, found = 0;
	for (uint32_t k = 1; k <= TRACE_RING && k <= t->head; k++) {
		const struct trace_rec *r = &t->ring[(t->head - k) % TRACE_RING];
		if (r->id != id)
			continue;
		if (n < TRACE_MAX_RECS)
			recs[n++] = *r;
		else            /* keep the start and the newest: drop the one before the start */
			recs[n - 1] = *r;
		if (is_start(r)) {
			found = 1;
			break;
		}
	}
	if (!found) {
		t->lost++;
		return;
	}
	for (int i = 0; i < n / 2; i++) {
		struct trace_rec x = recs[i];
		recs[i] = recs[n - 1 - i];
		recs[n - 1 - i] = x;
	}
	t->finished++;
	t->done(t->ctx, recs, n);
}

void net_trace_add(struct net_core *c, uint32_t id, int layer, int event, uint32_t a, uint32_t b)
{
	struct net_tracer *t = c->tracer;
	int slot;
	if (!t || !id || (slot = active_slot(t, id)) < 0)
		return;         /* finished, evicted, or from before this trace */
	struct trace_rec *r = &t->ring[t->head++ % TRACE_RING];
	*r = (struct trace_rec){ now(c, t), id, (uint8_t)layer, (uint8_t)event, 0, a, b };
	if (event == TE_DELIVER || event == TE_DROP || event == TE_TX) {
		t->active[slot] = 0;
		finish(t, id);
	}
}

/* A fresh id in a free slot; the oldest id is evicted when all are busy (counted). */
static uint32_t start(struct net_tracer *t)
{
	uint32_t id = ++t->next_id ? t->next_id : ++t->next_id;
	int free_slot = active_slot(t, 0), oldest = 0;
	if (free_slot < 0) {
		for (int i = 1; i < TRACE_ACTIVE; i++)
			if (t->active[i] < t->active[oldest])
				oldest = i;
		free_slot = oldest;
		t->lost++;
	}
	t->active[free_slot] = id;
	t->started++;
	return id;
}

void net_trace_rx_start(struct net_core *c, struct pkt *p)
{
	struct net_tracer *t = c->tracer;
	p->trace_id = 0;
	if (!t->match(t->ctx, pkt_data(p), p->len))
		return;
	p->trace_id = start(t);
	net_trace_add(c, p->trace_id, TL_DRV, TE_RX, p->ifindex, p->len);
}

void net_trace_tx_start(struct net_core *c, struct pkt *p)
{
	struct net_tracer *t = c->tracer;
	p->trace_id = 0;
	if (p->off < ETH_HDR + PKT_HDR_SIZE || pkt_linear_len(p) < 20)
		return;
	/* The filter reads len bytes: a scatter-gather tail (pkt.h ext) joins the frame
	 * first, as at the tap (qdisc.c); where it cannot, the frame is not traced
	 * (docs/review-sg.md). Only while a tracer is attached. */
	if (pkt_linearize(p))
		return;
	/* A stand-in Ethernet header in the headroom, so the filter sees a frame; the
	 * link floor writes the real one over it later. */
	uint8_t *f = pkt_data(p) - ETH_HDR;
	memset(f, 0, 12);
	f[12] = 0x08;           /* EtherType IPv4 */
	f[13] = 0x00;
	if (!t->match(t->ctx, f, p->len + ETH_HDR))
		return;
	const uint8_t *h = pkt_data(p);
	uint32_t dst = (uint32_t)h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19];
	p->trace_id = start(t);
	net_trace_add(c, p->trace_id, TL_IP, TE_IP_OUT, dst, h[9]);
}
