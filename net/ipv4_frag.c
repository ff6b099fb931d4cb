/*
 * IPv4 fragment reassembly and fragmentation (ipv4_frag.h has the rules and limits).
 * Reassembly order for each piece: length checks (empty, multiple of 8, 65535, tiny)
 * -> find or make its datagram -> end consistency -> duplicate/overlap -> copy -> done?
 */
#include "net/ipv4_frag.h"
#include "net/ipv4.h"
#include "net/link.h"
#include "net/icmp_wire.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"

#define IP_MAX_LEN 65535u
#define FIRST_MIN 8u            /* RFC 1858: the ports, at least */
#define FIRST_MIN_TCP 20u       /* RFC 1858 §3: TCP's flags, so its whole header */

static void kill(struct ipv4 *ip, struct reasm_dgram *d, enum net_drop_reason why)
{
	NET_INC(ip->core, IpReasmFails);
	net_drop(ip->core, d->buf, why);
	d->used = 0;
	d->buf = NULL;
	ip->reasm.nused--;
}

/* Drops a piece that cannot belong to any datagram; the datagram itself, if any, stays. */
static struct pkt *drop_piece(struct ipv4 *ip, struct pkt *p, enum net_drop_reason why)
{
	NET_INC(ip->core, IpReasmFails);
	net_drop(ip->core, p, why);
	return NULL;
}

static struct reasm_dgram *find(struct ipv4_reasm *r, const struct ipv4_hdr *h)
{
	for (int i = 0; i < IPV4_REASM_MAX; i++) {
		struct reasm_dgram *d = &r->d[i];
		if (d->used && d->id == h->id && d->src == h->src && d->dst == h->dst &&
		    d->proto == h->proto)
			return d;
	}
	return NULL;
}

/* The oldest datagram in progress, from src only when src != 0. */
static struct reasm_dgram *oldest(struct ipv4_reasm *r, uint32_t src, int *count)
{
	struct reasm_dgram *o = NULL;
	*count = 0;
	for (int i = 0; i < IPV4_REASM_MAX; i++) {
		struct reasm_dgram *d = &r->d[i];
		if (!d->used || (src && d->src != src))
			continue;
		(*count)++;
		if (!o || d->created_ns < o->created_ns)
			o = d;
	}
	return o;
}

static struct reasm_dgram *free_slot(struct ipv4_reasm *r)
{
	for (int i = 0; i < IPV4_REASM_MAX; i++)
		if (!r->d[i].used)
			return &r->d[i];
	return NULL;
}

/* A slot and a buffer for a new datagram from h->src, evicting as ipv4_frag.h says. */
static struct reasm_dgram *create(struct ipv4 *ip, const struct ipv4_rx *rx)
{
	struct ipv4_reasm *r = &ip->reasm;
	int n;
	struct reasm_dgram *victim = oldest(r, rx->ip.src, &n);
	if (n < IPV4_REASM_PER_SRC)
		victim = free_slot(r) ? NULL : oldest(r, 0, &n);
	if (victim)
		kill(ip, victim, DROP_IP_FRAG_EVICTED);
	struct reasm_dgram *d = free_slot(r);
	struct pkt *buf = pkt_alloc(r->pool);
	if (!buf && (victim = oldest(r, 0, &n))) {      /* a pool smaller than the table */
		kill(ip, victim, DROP_IP_FRAG_EVICTED);
		d = free_slot(r);
		buf = pkt_alloc(r->pool);
	}
	if (!buf) {
		NET_INC(ip->core, PktAllocFails);
		return NULL;
	}
	/* r[] (last) needs no clearing: nranges says how much of it is valid. */
	memset(d, 0, sizeof(*d) - sizeof(d->r));
	d->used = 1;
	r->nused++;
	d->proto = rx->ip.proto;
	d->ifi = rx->ifi;
	d->id = rx->ip.id;
	d->src = rx->ip.src;
	d->dst = rx->ip.dst;
	d->created_ns = ip->core->now_ns;
	net_core_arm(ip->core, d->created_ns + IPV4_REASM_TIMEOUT_NS);
	d->buf = buf;
	return d;
}

/* Length checks that need no datagram; DROP_COUNT when the piece may go on. */
static enum net_drop_reason piece_check(const struct ipv4_hdr *h, uint32_t off, uint32_t plen)
{
	int more = (h->frag & IPV4_MF) != 0;
	uint32_t first_min = h->proto == IPV4_PROTO_TCP ? FIRST_MIN_TCP : FIRST_MIN;
	if (plen == 0)
		return DROP_IP_FRAG_BAD_LEN;
	if (off == 0 && more && plen < first_min)
		return DROP_IP_FRAG_TINY;
	if (off == 8 && h->proto == IPV4_PROTO_TCP)
		return DROP_IP_FRAG_TINY;       /* RFC 1858 §4: would rewrite TCP's flags */
	if (more && plen % 8)
		return DROP_IP_FRAG_BAD_LEN;
	if (h->hdr_len + off + plen > IP_MAX_LEN)
		return DROP_IP_FRAG_TOO_BIG;
	return DROP_COUNT;
}

/* Where [off, end) may go in d: DROP_COUNT, or why the piece (DUP) or d must go. */
static enum net_drop_reason place_check(const struct reasm_dgram *d, uint32_t off, uint32_t end,
					int last)
{
	if (last && d->total && d->total != end)
		return DROP_IP_FRAG_BAD_LEN;
	if (d->total && end > d->total)
		return DROP_IP_FRAG_BAD_LEN;
	for (int i = 0; i < d->nranges; i++) {
		const struct reasm_range *r = &d->r[i];
		if (off == r->start && end == r->end)
			return DROP_IP_FRAG_DUP;
		if (off < r->end && end > r->start)
			return DROP_IP_FRAG_OVERLAP;
		if (last && r->end > end)
			return DROP_IP_FRAG_BAD_LEN;
	}
	if (d->nranges == IPV4_REASM_MAX_FRAGS)
		return DROP_IP_FRAG_TOO_MANY;
	return DROP_COUNT;
}

/* The whole datagram must fit 65535 bytes with the header it will carry: the first
 * piece's, which may arrive before or after the piece that reaches furthest. */
static int too_big(const struct reasm_dgram *d, const struct ipv4_hdr *h, uint32_t off,
		   uint32_t end)
{
	uint32_t hl = off == 0 ? h->hdr_len : d->have_first ? d->hdr_len : IPV4_HDR_MIN;
	uint32_t far = end > d->maxend ? end : d->maxend;
	if (d->total > far)
		far = d->total;
	return hl + far > IP_MAX_LEN;
}

/* The datagram is whole: its buffer becomes the packet, with the first piece's header
 * in front (total length and fragment field rewritten, checksum recomputed). */
static struct pkt *complete(struct ipv4 *ip, struct reasm_dgram *d, struct ipv4_rx *rx)
{
	struct pkt *p = d->buf;
	p->len = d->total;
	uint8_t *h = pkt_push(p, d->hdr_len);
	memcpy(h, d->hdr, d->hdr_len);
	wire_put16(h + 2, (uint16_t)(d->hdr_len + d->total));
	wire_put16(h + 6, 0);
	wire_put16(h + 10, 0);
	wire_put16(h + 10, inet_csum(h, d->hdr_len));
	ipv4_parse(h, &rx->ip);
	rx->ifi = d->ifi;
	rx->l2_bcast = d->l2_bcast;
	rx->ip_bcast = d->ip_bcast;
	d->used = 0;
	d->buf = NULL;
	ip->reasm.nused--;
	NET_INC(ip->core, IpReasmOKs);
	return p;
}

static void copy_in(struct reasm_dgram *d, const uint8_t *hdr, const uint8_t *data,
		    uint32_t off, uint32_t plen, int last, const struct ipv4_rx *rx)
{
	memcpy(pkt_data(d->buf) + off, data, plen);
	d->r[d->nranges++] = (struct reasm_range){ off, off + plen };
	d->have += plen;
	if (off + plen > d->maxend)
		d->maxend = off + plen;
	if (last)
		d->total = off + plen;
	if (off == 0) {
		d->hdr_len = (uint8_t)((hdr[0] & 0xf) * 4);
		memcpy(d->hdr, hdr, d->hdr_len);
		d->have_first = 1;
		d->l2_bcast = rx->l2_bcast;
		d->ip_bcast = rx->ip_bcast;
	}
}

struct pkt *ipv4_reasm_input(struct ipv4 *ip, struct pkt *p, struct ipv4_rx *rx)
{
	const struct ipv4_hdr *h = &rx->ip;
	NET_INC(ip->core, IpReasmReqds);
	if (!ip->reasm.pool)
		return drop_piece(ip, p, DROP_IP_FRAGMENT);
	uint32_t off = ipv4_frag_offset(h), plen = p->len - h->hdr_len;
	int last = !(h->frag & IPV4_MF);
	struct reasm_dgram *d = find(&ip->reasm, h);
	enum net_drop_reason why = piece_check(h, off, plen);
	if (why != DROP_COUNT) {
		if (d && why == DROP_IP_FRAG_TOO_BIG)
			kill(ip, d, why);       /* the datagram can never be legal */
		return drop_piece(ip, p, why);
	}
	if (!d && !(d = create(ip, rx)))
		return drop_piece(ip, p, DROP_IP_FRAGMENT);
	why = place_check(d, off, off + plen, last);
	if (why == DROP_COUNT && too_big(d, h, off, off + plen))
		why = DROP_IP_FRAG_TOO_BIG;
	if (why == DROP_IP_FRAG_DUP) {
		net_drop(ip->core, p, why);     /* harmless: the datagram goes on */
		return NULL;
	}
	if (why != DROP_COUNT) {
		if (why == DROP_IP_FRAG_OVERLAP)
			NET_INC(ip->core, IpExtReasmOverlaps);
		kill(ip, d, why);
		net_drop(ip->core, p, why);
		return NULL;
	}
	copy_in(d, pkt_data(p), pkt_data(p) + h->hdr_len, off, plen, last, rx);
	pkt_free(p);
	if (d->total && d->have == d->total && d->have_first)
		return complete(ip, d, rx);
	return NULL;
}

/* RFC 792: time exceeded, code 1, quoting the first piece's header and 8 bytes. */
static void report_timeout(struct ipv4 *ip, struct reasm_dgram *d)
{
	uint8_t q[IPV4_HDR_MAX + 8];
	if (!ip->report || !d->have_first)
		return;
	memcpy(q, d->hdr, d->hdr_len);
	memcpy(q + d->hdr_len, pkt_data(d->buf), 8);
	struct ipv4_rx rx = { .ifi = d->ifi, .l2_bcast = d->l2_bcast, .ip_bcast = d->ip_bcast };
	ipv4_parse(q, &rx.ip);
	ip->report(ip->report_ctx, q, (size_t)d->hdr_len + 8, &rx, ICMP_TIME_EXCEEDED, 1);
}

void ipv4_reasm_poll(struct ipv4 *ip)
{
	if (!ip->reasm.nused)
		return;         /* the usual case, every main-loop turn: nothing to time out */
	for (int i = 0; i < IPV4_REASM_MAX; i++) {
		struct reasm_dgram *d = &ip->reasm.d[i];
		if (!d->used || ip->core->now_ns - d->created_ns < IPV4_REASM_TIMEOUT_NS)
			continue;
		NET_INC(ip->core, IpReasmTimeout);
		report_timeout(ip, d);
		kill(ip, d, DROP_IP_FRAG_TIMEOUT);
	}
}

uint64_t ipv4_reasm_next_ns(const struct ipv4 *ip)
{
	uint64_t d = UINT64_MAX;
	for (int i = 0; ip->reasm.nused && i < IPV4_REASM_MAX; i++) {
		const struct reasm_dgram *g = &ip->reasm.d[i];
		if (g->used && g->created_ns + IPV4_REASM_TIMEOUT_NS < d)
			d = g->created_ns + IPV4_REASM_TIMEOUT_NS;
	}
	return d;
}

void ipv4_reasm_flush(struct ipv4 *ip)
{
	for (int i = 0; i < IPV4_REASM_MAX; i++)
		if (ip->reasm.d[i].used)
			kill(ip, &ip->reasm.d[i], DROP_IP_FRAG_EVICTED);
}

/* ---- fragmentation ------------------------------------------------------------------ */

int ipv4_fragment(struct ipv4 *ip, int ifi, struct pkt *p, const struct ipv4_hdr *h,
		  uint32_t nexthop, uint16_t mtu)
{
	uint32_t step = ((uint32_t)mtu - IPV4_HDR_MIN) & ~7u;   /* RFC 791: 8-byte units */
	int err = 0;
	for (uint32_t off = 0; off < p->len && !err; off += step) {
		uint32_t n = p->len - off < step ? p->len - off : step;
		struct pkt *f = link_alloc(ip->link, ifi);
		if (!f) {
			err = -NET_ENOBUFS;
			break;
		}
		memcpy(pkt_put(f, n), pkt_data(p) + off, n);
		struct ipv4_hdr fh = *h;
		fh.tot_len = (uint16_t)(IPV4_HDR_MIN + n);
		fh.frag = (uint16_t)((off / 8) | (off + n < p->len ? IPV4_MF : 0));
		ipv4_emit(&fh, pkt_push(f, IPV4_HDR_MIN));
		NET_INC(ip->core, IpFragCreates);
		err = ipv4_xmit(ip, ifi, f, nexthop);
	}
	if (err)
		NET_INC(ip->core, IpFragFails);
	else
		NET_INC(ip->core, IpFragOKs);
	pkt_free(p);
	return err;
}
