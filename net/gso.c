/*
 * Software fallbacks for transmit offloads (gso.h): the checksum a device would fill
 * (Linux skb_checksum_help) and the segmentation it would do (Linux tcp_gso_segment), so
 * the floors above can always hand down one large TCP frame with a partial checksum and
 * pay for cutting it once per frame here, below the per-packet work of TCP and IP.
 */
#include "net/gso.h"
#include "net/eth.h"
#include "net/ipv4_wire.h"
#include "net/tcp_wire.h"
#include "net/inet.h"
#include "net/err.h"
#include "net/platform.h"
#include "lib/string.h"

int gso_csum_help(struct pkt *p)
{
	uint32_t start = p->csum_start;
	if (p->ext_len || start < p->off || start + p->csum_off + 2 > p->off + p->len)
		return -NET_EINVAL;
	uint8_t *l4 = (uint8_t *)p + start;
	size_t n = p->off + p->len - start;
	/* The field holds the pseudo-header sum already: summing over it completes it. */
	uint16_t c = inet_csum_fold(inet_csum_add(0, l4, n));
	wire_put16(l4 + p->csum_off, c ? c : 0xffff);  /* UDP: 0 means "none" (RFC 768) */
	p->flags &= (uint16_t)~PKT_F_CSUM_PARTIAL;
	return 0;
}

struct frame_hdrs {
	size_t ip_off, tcp_off, hlen;   /* from the frame start */
	struct ipv4_hdr ip;
	uint32_t seq;
	uint8_t flags;
};

/* len: the frame; lin: its bytes at f (less than len while a scatter-gather tail,
 * pkt.h fragments, lies elsewhere), which must hold every header read here. */
static int parse(const uint8_t *f, size_t len, size_t lin, struct frame_hdrs *h)
{
	if (lin < ETH_HLEN + IPV4_HDR_MIN || wire_get16(f + 12) != ETH_P_IP)
		return -NET_EINVAL;
	h->ip_off = ETH_HLEN;
	ipv4_parse(f + ETH_HLEN, &h->ip);
	if (h->ip.proto != IPV4_PROTO_TCP || h->ip.hdr_len < IPV4_HDR_MIN)
		return -NET_EINVAL;
	h->tcp_off = h->ip_off + h->ip.hdr_len;
	if (lin < h->tcp_off + TCP_HDR_LEN)
		return -NET_EINVAL;
	size_t doff = (size_t)(f[h->tcp_off + 12] >> 4) * 4;
	h->hlen = h->tcp_off + doff;
	/* The IP total length says where the datagram ends: Ethernet padding after it is
	 * no one's data. */
	if (doff < TCP_HDR_LEN || h->hlen > lin || h->ip.tot_len < h->hlen - h->ip_off ||
	    h->ip_off + h->ip.tot_len > len)
		return -NET_EINVAL;
	h->seq = wire_get32(f + h->tcp_off + 4);
	h->flags = f[h->tcp_off + 13];
	return 0;
}

int gso_hdr_len(const struct pkt *p)
{
	struct frame_hdrs h;
	int err = parse((const uint8_t *)p + p->off, p->len, pkt_linear_len(p), &h);
	return err ? err : (int)h.hlen;
}

/* Fixes segment k's headers (copied from the big frame) for payload n, whose one's
 * complement sum gather() took while copying it (data_sum; unused when partial). */
static void fix_headers(struct pkt *s, const struct frame_hdrs *h, uint32_t k, size_t n,
			uint32_t mss, int last, int partial, uint32_t data_sum)
{
	uint8_t *f = pkt_data(s), *ip = f + h->ip_off, *tcp = f + h->tcp_off;
	wire_put16(ip + 2, (uint16_t)(h->hlen - h->ip_off + n));
	wire_put16(ip + 4, (uint16_t)(h->ip.id + k));
	wire_put16(ip + 10, 0);
	wire_put16(ip + 10, inet_csum_hdr(ip, h->ip.hdr_len));   /* hdr_len: 4n, 20..60 */
	wire_put32(tcp + 4, h->seq + k * mss);
	uint8_t flags = h->flags;
	if (!last)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (k)
		flags &= (uint8_t)~TCP_CWR;     /* RFC 3168 §6.1.2: CWR on the first only */
	tcp[13] = flags;
	size_t thlen = h->hlen - h->tcp_off, tlen = thlen + n;
	uint32_t pseudo = inet_csum_pseudo(h->ip.src, h->ip.dst, IPV4_PROTO_TCP, (uint16_t)tlen);
	wire_put16(tcp + 16, 0);
	if (partial) {
		wire_put16(tcp + 16, inet_csum_fold(pseudo) ^ 0xffff);
		pkt_csum_partial(s, tcp, 16);
	} else {
		/* The header is 4 x doff bytes (parse: 20..60), so the payload starts on an
		 * even offset of the sum and its sum adds in as it is (RFC 1071 §2(A)). */
		wire_put16(tcp + 16, csum_fold(csum_hdr_words(tcp, thlen, pseudo + data_sum)));
	}
}

/* The payload's reading position: the rest of the slot, then p's fragments (pkt.h) in
 * order; each segment's bytes are gathered from here, so no walk starts over. */
struct gather {
	const uint8_t *src;
	uint32_t left;          /* bytes at src before the next fragment */
	unsigned next;          /* index of the next fragment */
};

/* n bytes to dst; the caller never asks past the frame's end (parse checked tot_len
 * against p->len, which counts every fragment). With sum, also the one's complement
 * sum of the n bytes, each piece summed as it is copied (csum_copy: the payload is read
 * once, not once to copy and once to sum). A piece that starts at an odd offset of dst
 * has its bytes in the other halves of the 16-bit words: its sum is byte-swapped
 * (RFC 1071 §2(B)), as tcp_out.c sq_copy does. At most 1 + PKT_MAX_FRAGS pieces of at
 * most 0xffff each: the 32-bit sum cannot overflow. */
static void gather(const struct pkt *p, struct gather *g, uint8_t *dst, size_t n, uint32_t *sum)
{
	size_t done = 0;
	while (n) {
		if (!g->left) {
			NET_ASSERT(g->next < p->nfrags);
			g->src = p->frag[g->next];
			g->left = p->frag_len[g->next++];
		}
		size_t m = g->left < n ? g->left : n;
		if (sum) {
			uint32_t part = csum_copy(dst, g->src, m, 0);   /* <= 0xffff */
			*sum += done & 1 ? (uint16_t)(part << 8 | part >> 8) : part;
		} else {
			memcpy(dst, g->src, m);
		}
		dst += m;
		n -= m;
		done += m;
		g->src += m;
		g->left -= (uint32_t)m;
	}
}

int gso_segment(struct pkt *p, uint32_t max_frame, int partial, gso_alloc_fn alloc,
		gso_out_fn out, void *ctx)
{
	struct frame_hdrs h;
	if (!p->gso_size || parse(pkt_data(p), p->len, pkt_linear_len(p), &h) || h.hlen >= max_frame)
		return -NET_EINVAL;
	/* Never a segment over the link's frame size, whatever gso_size the floor above
	 * passed (options it did not count, a path MTU that shrank meanwhile). */
	uint32_t mss = p->gso_size;
	if (h.hlen + mss > max_frame)
		mss = (uint32_t)(max_frame - h.hlen);
	size_t payload = h.ip_off + h.ip.tot_len - h.hlen;
	uint32_t nseg = payload ? (uint32_t)((payload + mss - 1) / mss) : 1;
	struct gather g = { pkt_data(p) + h.hlen, pkt_linear_len(p) - (uint32_t)h.hlen, 0 };
	for (uint32_t k = 0; k < nseg; k++) {
		size_t off = (size_t)k * mss, n = payload - off < mss ? payload - off : mss;
		struct pkt *s = alloc(ctx);
		if (!s || pkt_tailroom(s) < h.hlen + n) {
			pkt_free(s);
			return -NET_ENOBUFS;
		}
		uint8_t *d = pkt_put(s, h.hlen + n);
		memcpy(d, pkt_data(p), h.hlen);
		/* Gathered from the slot and the fragments (pkt.h) where they lie: a
		 * super-segment pointing into the send queue is copied once, here. */
		uint32_t data_sum = 0;
		gather(p, &g, d + h.hlen, n, partial ? NULL : &data_sum);
		fix_headers(s, &h, k, n, mss, k + 1 == nseg, partial, data_sum);
		s->ts_ns = p->ts_ns;
		out(ctx, s);
	}
	pkt_free(p);
	return (int)nseg;
}
