/*
 * Receive coalescing of TCP segments within a burst (gro.h has the rules). Order of
 * checks per segment: header present and its length within the segment; eligible flags
 * and options; checksum; then the flow: continue its train, or flush it and start anew.
 * Linux: tcp_gro_receive() (net/ipv4/tcp_offload.c), skb_gro_receive() (the frag_list
 * chaining, net/core/gro.c), napi_gro_flush().
 */
#include "net/gro.h"
#include "net/tcp_wire.h"
#include "net/wire.h"
#include "lib/string.h"

struct seg_view {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t hlen;
	uint32_t dlen;
};

void gro_init(struct gro *g, struct pkt_pool *big, gro_deliver_fn deliver, void *ctx)
{
	memset(g, 0, sizeof(*g));
	g->big = big;
	g->chain = true;
	g->deliver = deliver;
	g->ctx = ctx;
}

/* No options, or exactly the RFC 7323 Appendix A layout: NOP, NOP, TS (10 bytes). */
static bool ts_only(const uint8_t *tcp, uint16_t hlen)
{
	if (hlen == TCP_HDR_LEN)
		return true;
	return hlen == TCP_HDR_LEN + 12 && tcp[20] == TCP_OPT_NOP && tcp[21] == TCP_OPT_NOP &&
	       tcp[22] == TCP_OPT_TS && tcp[23] == 10;
}

/* Fills v; true when the segment may be merged at all (data, ACK, at most PSH). */
static bool view(struct pkt *p, struct seg_view *v)
{
	const uint8_t *b = pkt_data(p);
	v->sport = wire_get16(b);
	v->dport = wire_get16(b + 2);
	v->seq = wire_get32(b + 4);
	v->ack = wire_get32(b + 8);
	v->hlen = (uint16_t)((b[12] >> 4) * 4);
	v->flags = b[13];
	if (v->hlen < TCP_HDR_LEN || v->hlen > p->len || (b[12] & 0x0f))
		return false;           /* TCP reports the bad header itself */
	v->dlen = p->len - v->hlen;
	bool flags_ok = (v->flags & TCP_ACK) && !(v->flags & (uint8_t)~(TCP_ACK | TCP_PSH));
	return flags_ok && v->dlen > 0 && wire_get16(b + 18) == 0 && ts_only(b, v->hlen);
}

static struct gro_flow *find(struct gro *g, uint32_t src, uint32_t dst, const struct seg_view *v)
{
	for (int i = 0; i < g->nflows; i++) {
		struct gro_flow *f = &g->flow[i];
		if (f->src == src && f->dst == dst && f->sport == v->sport && f->dport == v->dport)
			return f;
	}
	return NULL;
}

void gro_seg_copy(const struct pkt *p, uint32_t off, uint8_t *dst, uint32_t n)
{
	bool chain = p->flags & PKT_F_GRO_CHAIN;
	for (const struct pkt *q = p; q && n; q = chain ? q->next : NULL) {
		if (off >= q->len) {
			off -= q->len;
			continue;
		}
		uint32_t k = q->len - off < n ? q->len - off : n;
		memcpy(dst, (const uint8_t *)q + q->off + off, k);
		dst += k;
		n -= k;
		off = 0;
	}
}

/* One buffer for a consumer that cannot take a chain; NULL (all freed, counted) when
 * no big buffer is free. */
static struct pkt *linearize(struct gro *g, struct pkt *p)
{
	uint32_t n = gro_seg_len(p);
	struct pkt *b = pkt_alloc(g->big);
	if (!b || pkt_tailroom(b) < n) {
		g->st.nobuf++;
		pkt_free(b);
		gro_seg_free(p);
		return NULL;
	}
	gro_seg_copy(p, 0, pkt_put(b, n), n);
	b->flags = (uint16_t)(p->flags & ~PKT_F_GRO_CHAIN);
	b->ts_ns = p->ts_ns;
	b->ifindex = p->ifindex;
	gro_seg_free(p);
	g->st.linearized++;
	return b;
}

static void flush_flow(struct gro *g, struct gro_flow *f)
{
	struct pkt *p = f->p;
	uint32_t src = f->src, dst = f->dst;
	int i = (int)(f - g->flow);
	memmove(f, f + 1, (size_t)(g->nflows - i - 1) * sizeof(*f));
	g->nflows--;
	g->st.flushed++;
	if ((p->flags & PKT_F_GRO_CHAIN) && g->chain_ok && !g->chain_ok(g->ctx)) {
		p = linearize(g, p);
		if (!p)
			return;
	}
	g->deliver(g->ctx, p, src, dst);
}

static bool continues(const struct gro_flow *f, const struct seg_view *v)
{
	return v->seq == f->next_seq && v->ack == f->ack && v->hlen == f->hlen &&
	       v->dlen <= f->mss && f->len + v->dlen <= GRO_MAX_LEN && f->segs < GRO_SEGS_MAX;
}

/* Moves the held segment into a big buffer when its own slot has no room left. */
static bool make_room(struct gro *g, struct gro_flow *f, uint32_t n)
{
	struct pkt *m = f->p;
	if (pkt_tailroom(m) >= n)
		return true;
	struct pkt *b = pkt_alloc(g->big);
	if (!b) {
		g->st.nobuf++;
		return false;
	}
	memcpy(pkt_put(b, m->len), pkt_data(m), m->len);
	b->flags = m->flags;
	b->ts_ns = m->ts_ns;
	b->ifindex = m->ifindex;
	pkt_free(m);
	f->p = b;
	return true;
}

/* The merged segment takes p's header (window, timestamps, PSH: the newest), keeping
 * the first sequence number. */
static void take_header(struct pkt *m, const struct pkt *p, uint16_t hlen)
{
	uint8_t *h = pkt_data(m);
	uint32_t seq = wire_get32(h + 4);
	memcpy(h, (const uint8_t *)p + p->off, hlen);
	wire_put32(h + 4, seq);
	m->ts_ns = p->ts_ns;
}

/* The reference (g->chain clear): p's payload copied behind the held segment's. */
static bool merge_copy(struct gro *g, struct gro_flow *f, struct pkt *p, const struct seg_view *v)
{
	if (!make_room(g, f, v->dlen))
		return false;
	struct pkt *m = f->p;
	memcpy(pkt_put(m, v->dlen), pkt_data(p) + v->hlen, v->dlen);
	take_header(m, p, v->hlen);
	f->tail = m;
	pkt_free(p);
	return true;
}

/* p's packet becomes the chain's last piece, its payload only. Never fails. */
static void merge_chain(struct gro *g, struct gro_flow *f, struct pkt *p, const struct seg_view *v)
{
	take_header(f->p, p, v->hlen);
	pkt_pull(p, v->hlen);
	p->next = NULL;
	f->tail->next = p;
	f->tail = p;
	f->p->flags |= PKT_F_GRO_CHAIN;
	g->st.chained++;
}

static bool merge(struct gro *g, struct gro_flow *f, struct pkt *p, const struct seg_view *v)
{
	if (g->chain)
		merge_chain(g, f, p, v);
	else if (!merge_copy(g, f, p, v))
		return false;
	f->len += v->dlen;
	f->next_seq += v->dlen;
	f->segs++;
	g->st.merged++;
	return true;
}

static void hold(struct gro *g, struct pkt *p, uint32_t src, uint32_t dst, const struct seg_view *v)
{
	struct gro_flow *f = &g->flow[g->nflows++];
	*f = (struct gro_flow){ .p = p, .tail = p, .len = p->len,
				.src = src, .dst = dst, .sport = v->sport, .dport = v->dport,
				.next_seq = v->seq + v->dlen, .ack = v->ack, .hlen = v->hlen,
				.mss = (uint16_t)(v->dlen > 0xffff ? 0xffff : v->dlen), .segs = 1 };
	g->st.held++;
}

/* Whether p goes up at once without a look at the flows: no coalescing (outside a
 * burst, no big buffers, runt), or nothing held and a segment that would go up at once
 * below: PSH (a request, a response, a train's end), or one that cannot merge (no data;
 * SYN, FIN, RST or URG). TCP checks it as it does outside a burst; the counters stay
 * the same. */
static inline bool passes_through(struct gro *g, struct pkt *p)
{
	if (!g->open || !g->big || p->len < TCP_HDR_LEN)
		return true;
	if (g->nflows)
		return false;
	const uint8_t *b = pkt_data(p);
	uint8_t fl = tcp_wire_flags(b);
	bool never = (fl & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG)) || p->len <= tcp_wire_doff(b);
	g->st.not_eligible += never;
	return never || (fl & TCP_PSH);
}

/* The rest of gro_receive: out of line, so a segment that passes through costs no
 * stack frame (most of a request/response exchange's segments do). */
static __attribute__((noinline)) void receive_held(struct gro *g, struct pkt *p, uint32_t src,
						   uint32_t dst)
{
	struct seg_view v = { 0 };
	bool ok = view(p, &v);
	struct gro_flow *f = find(g, src, dst, &v);
	if (ok && !(p->flags & PKT_F_CSUM_OK)) {
		ok = tcp_wire_csum_ok(pkt_data(p), p->len, src, dst);
		if (ok)
			p->flags |= PKT_F_CSUM_OK;      /* verified here; TCP need not again */
	}
	if (!ok) {
		g->st.not_eligible++;
		if (f)
			flush_flow(g, f);
		g->deliver(g->ctx, p, src, dst);
		return;
	}
	if (f && continues(f, &v) && merge(g, f, p, &v)) {
		if ((v.flags & TCP_PSH) || v.dlen < f->mss)
			flush_flow(g, f);       /* the train ends here */
		return;
	}
	if (f)
		flush_flow(g, f);
	if ((v.flags & TCP_PSH) || g->nflows == GRO_FLOWS) {
		g->deliver(g->ctx, p, src, dst);
		return;
	}
	hold(g, p, src, dst, &v);
}

void gro_receive(struct gro *g, struct pkt *p, uint32_t src, uint32_t dst)
{
	if (passes_through(g, p))
		g->deliver(g->ctx, p, src, dst);
	else
		receive_held(g, p, src, dst);
}

void gro_flush(struct gro *g)
{
	while (g->nflows)
		flush_flow(g, &g->flow[0]);
}
