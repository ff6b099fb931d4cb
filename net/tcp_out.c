/*
 * Segments out: building one segment (tcp_xmit), deciding what to send (tcp_output:
 * window, congestion window, Nagle and sender SWS avoidance, FIN, persist), ACKs,
 * RSTs and the receive window we advertise.
 *
 * Call order: tcp_output -> send_new -> tcp_xmit -> env.ip_output. New data may go as
 * one super-segment of up to 64 KiB (PKT_F_GSO_TCP4, cut into MSS-sized wire segments
 * below IP); retransmissions always go MSS by MSS. Checksums: partial when the device
 * or net/gso.c completes them, else summed during the copy (csum_copy).
 * Specs: RFC 9293 §3.7.4 (Nagle), §3.8.6.2 (SWS, both sides), §3.8.6.1 (zero window),
 * §3.5.2 (reset generation); RFC 7323 §2-3 (window scale, timestamps); RFC 2018 §4
 * (SACK option on ACKs); RFC 5681 §4.1 (restart after idle).
 *
 * Pacing (Linux tcp_update_pacing_rate, tcp_update_skb_after_send, tcp_pacing_check,
 * tcp_tso_autosize): every data segment moves the connection's earliest departure time
 * (pace_ns) on by its length at pacing_rate; tcp_output stops while that time lies
 * ahead and arms t_pace, whose expiry (tcp_timers) resumes it. Super-segments carry
 * about 1 ms of data at the pacing rate (at least two segments), so a slow path gets
 * small bursts and a fast one still gets 64 KiB.
 */
#include "net/tcp_int.h"
#include "net/checksum.h"
#include "lib/string.h"

/* ---- receive window ------------------------------------------------------------------ */

/* What the buffer could take now, minus the rounding slack of the window scale so a
 * rounded-up advertisement never exceeds the buffer. */
uint32_t tcp_rcv_wnd(const struct tcp_sock *c)
{
	uint32_t used = c->rbuf ? c->rcv_nxt - c->rcv_user : 0;
	uint32_t freeb = used < c->rbuf_size ? c->rbuf_size - used : 0;
	uint32_t slack = (1u << c->rcv_wscale) - 1;
	return freeb > slack ? freeb - slack : 0;
}

/* The window field of the next segment; moves rcv_adv (the right edge the peer sees).
 * Receiver SWS avoidance: the edge moves right only in steps of min(RCV.BUFF/2, MSS);
 * it never moves left (RFC 9293 SHLD-14), except by less than one scale unit when the
 * buffer is exactly full. */
static inline uint16_t rcv_wnd_next(const struct tcp_sock *c);

uint16_t tcp_rcv_wnd_field(struct tcp_sock *c, bool syn)
{
	if (syn) {
		uint32_t avail = tcp_rcv_wnd(c);
		uint32_t w = avail > 65535 ? 65535 : avail;
		c->rcv_adv = c->rcv_nxt + w;
		return (uint16_t)w;
	}
	uint16_t field = rcv_wnd_next(c);
	c->rcv_adv = c->rcv_nxt + ((uint32_t)field << c->rcv_wscale);
	return field;
}

/* The window field the next non-SYN segment will carry (no side effects). */
uint16_t tcp_rcv_wnd_next(const struct tcp_sock *c)
{
	return rcv_wnd_next(c);
}

/* Inline in tcp_rcv_wnd_field: every segment sent asks. */
static inline uint16_t rcv_wnd_next(const struct tcp_sock *c)
{
	uint32_t used = c->rbuf ? c->rcv_nxt - c->rcv_user : 0;
	uint32_t phys = used < c->rbuf_size ? c->rbuf_size - used : 0;
	uint32_t ws = c->rcv_wscale, slack = (1u << ws) - 1;
	uint32_t avail = phys > slack ? phys - slack : 0;       /* tcp_rcv_wnd() */
	uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t sws = c->rbuf_size / 2 < c->rcv_mss ? c->rbuf_size / 2 : c->rcv_mss;
	uint32_t w = avail >= cur + sws ? avail : cur;
	uint32_t field = (uint32_t)(((uint64_t)w + (1u << ws) - 1) >> ws);
	if (((uint64_t)field << ws) > phys)
		field = phys >> ws;
	if (field > 65535)
		field = 65535;
	return (uint16_t)field;
}

/* ---- one segment --------------------------------------------------------------------- */

/* The chunk and offset holding seq: the cursor when it is there, else a walk. */
static struct tcp_chunk *sq_find(const struct tcp_sock *c, uint32_t seq, uint32_t *off)
{
	if (c->cur_chunk && c->cur_seq == seq) {
		*off = c->cur_off;
		return c->cur_chunk;
	}
	NET_ASSERT(seq_geq(seq, c->sq_seq));
	struct tcp_chunk *k = c->sq_head;
	uint32_t o = c->sq_off, skip = seq - c->sq_seq;
	while (skip) {
		NET_ASSERT(k);
		uint32_t left = k->len - o;
		if (skip < left) {
			o += skip;
			break;
		}
		skip -= left;
		k = k->next;
		o = 0;
	}
	*off = o;
	return k;
}

/* Copies [seq, seq+len) of the send queue to dst, through the cursor when it fits; with
 * sum, adds the bytes' checksum sum to *sum (dst is at an even offset of the segment). */
static void sq_copy(struct tcp_sock *c, uint32_t seq, uint8_t *dst, uint32_t len, uint32_t *sum)
{
	uint32_t off, done = 0;
	struct tcp_chunk *k = sq_find(c, seq, &off);
	while (len) {
		NET_ASSERT(k);
		uint32_t left = k->len - off;
		if (left == 0) {
			k = k->next;
			off = 0;
			continue;
		}
		uint32_t m = left < len ? left : len;
		if (sum) {
			uint32_t part = csum_copy(dst, k->data + off, m, 0);    /* <= 0xffff */
			/* A piece at an odd offset has its bytes in the other lanes. */
			*sum += done & 1 ? (uint16_t)(part << 8 | part >> 8) : part;
		} else {
			memcpy(dst, k->data + off, m);
		}
		dst += m;
		len -= m;
		off += m;
		seq += m;
		done += m;
	}
	c->cur_chunk = k;
	c->cur_off = off;
	c->cur_seq = seq;
}

/* [seq, seq+len) as p's fragments, pointing into the send queue (pkt.h), when every
 * piece lies in memory that outlives the packet: a copy chunk, pinned until p is freed
 * (tcp_sendq.c), or a reference with no completion (tcp_send_ref's "lives for ever",
 * files in the image). A reference with a completion is the application's again once
 * acknowledged, which may come before a queued frame's DMA: copied. Also copied when
 * the range needs more than PKT_MAX_FRAGS pieces. True: p's len includes the bytes and
 * the copy chunks are pinned; false: p is as it was. */
static bool sq_frags(struct tcp_sock *c, struct pkt *p, uint32_t seq, uint32_t len)
{
	uint32_t off, left = len;
	struct tcp_chunk *k = sq_find(c, seq, &off);
	while (left) {
		NET_ASSERT(k);
		uint32_t m = k->len - off < left ? k->len - off : left;
		if (m && ((!k->cap && k->done) ||
			  pkt_frag_add(p, k->data + off, m, k->cap ? &k->own : NULL))) {
			p->len -= p->ext_len;   /* not pinned yet: no unpin either */
			p->ext_len = 0;
			p->nfrags = 0;
			p->flags &= (uint16_t)~PKT_F_FRAGS;
			return false;
		}
		left -= m;
		off += m;
		if (left) {
			k = k->next;
			off = 0;
		}
	}
	bool copied = false;
	for (unsigned i = 0; i < p->nfrags; i++) {
		struct pkt_frag_owner *o = pkt_frag_owner(p, i);
		if (o) {
			tcp_sq_pin(c, (struct tcp_chunk *)(void *)((uint8_t *)o - offsetof(struct tcp_chunk, own)));
			copied = true;
		}
	}
	tcp_mib(c->t, TCP_MIB_SgSegs);
	if (copied)
		tcp_mib(c->t, TCP_MIB_SgCopySegs);
	c->cur_chunk = k;
	c->cur_off = off;
	c->cur_seq = seq + len;
	return true;
}

static uint32_t sack_room(const struct tcp_sock *c)
{
	if (!c->sack_ok || c->nooo == 0)
		return 0;
	uint32_t n = c->nooo < (c->ts_ok ? 3u : 4u) ? c->nooo : (c->ts_ok ? 3u : 4u);
	return 4 + 8 * n;
}

/* Payload that fits one segment now: c->mss already leaves room for timestamps; SACK
 * blocks on our ACKs take more (RFC 9293 §3.7.1: SMSS excludes options, so the
 * options of this segment come off it). Every data segment, new or retransmitted, is
 * sized by this, so none exceeds the path MTU. */
uint32_t tcp_payload_max(const struct tcp_sock *c)
{
	uint32_t room = sack_room(c);
	return c->mss > room + 1 ? c->mss - room : 1;
}

static void syn_opts(struct tcp_sock *c, struct tcp_opts *o)
{
	struct tcp_config *cfg = &c->t->cfg;
	bool active = c->state == TCP_SYN_SENT;
	o->has = TCP_HAS_MSS;
	o->mss = c->adv_mss;
	if (active ? cfg->window_scaling : c->ws_ok) {
		o->has |= TCP_HAS_WS;
		o->ws = c->rcv_wscale;
	}
	if (active ? cfg->sack : c->sack_ok)
		o->has |= TCP_HAS_SACK_PERM;
	if (active ? cfg->timestamps : c->ts_ok) {
		o->has |= TCP_HAS_TS;
		o->tsval = tcp_ts_now(c->t, c);
		o->tsecr = active ? 0 : c->ts_recent;
	}
}

/* The checksum: partial (the pseudo-header sum, for the device or net/gso.c to finish)
 * for super-segments and when the device completes checksums; otherwise whole, with
 * the payload summed as sq_copy copied it (data_sum). */
static void set_csum(struct tcp_sock *c, struct pkt *p, uint8_t *seg, size_t hlen, uint32_t len,
		     bool partial, uint32_t data_sum)
{
	uint32_t pseudo = csum_pseudo_v4(c->laddr, c->raddr, 6, (uint16_t)(hlen + len));
	if (partial) {
		wire_put16(seg + 16, csum_fold(pseudo) ^ 0xffff);
		pkt_csum_partial(p, seg, 16);
		return;
	}
	wire_put16(seg + 16, 0);
	wire_put16(seg + 16, csum_fold(csum_hdr_words(seg, hlen, pseudo + data_sum)));   /* hlen: 4n <= 60 */
}

/* Wire segments of a packet: one, or what gso_size cuts a super-segment into. */
static uint32_t wire_segs(const struct pkt *p, uint32_t len)
{
	if (!(p->flags & PKT_F_GSO_TCP4))
		return 1;
	return (len + p->gso_size - 1) / p->gso_size;
}

static void xmit_count(struct tcp_sock *c, uint32_t seq, uint32_t len, uint8_t flags, uint32_t segs)
{
	struct tcp_stack *t = c->t;
	t->mib[TCP_MIB_OutSegs] += segs;        /* wire segments, as Linux (tcp_skb_pcount) */
	c->segs_out += segs;
	c->bytes_sent += len;
	if (segs > 1) {
		tcp_mib(t, TCP_MIB_GsoSegs);
		t->mib[TCP_MIB_GsoWireSegs] += segs;
	}
	if (len || (flags & (TCP_SYN | TCP_FIN))) {
		if (seq_lt(seq, c->snd_max)) {
			c->bytes_retrans += len;
			c->total_retrans++;
			tcp_mib(t, TCP_MIB_RetransSegs);
		} else if (len) {
			t->mib[TCP_MIB_TCPOrigDataSent] += segs;
		}
		c->last_snd_ns = t->now;
	}
	if (len)
		c->data_segs_out += segs;
	if (flags & TCP_RST)
		tcp_mib(t, TCP_MIB_OutRsts);
	if (flags & TCP_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->ack_now = c->ack_pending = false;
		c->t_delack = 0;
		c->rcv_unacked = 0;
	}
}

/* ---- pacing -------------------------------------------------------------------------- */

/* Linux tcp_update_pacing_rate: rate = ratio% * max(cwnd, in flight) / srtt (bytes per
 * second; our cwnd counts bytes, Linux's segments of mss), with the slow-start ratio
 * while cwnd < ssthresh/2 (it will at least double this RTT) and the congestion-
 * avoidance ratio after. No RTT sample yet: no rate (no pacing). */
void tcp_update_pacing_rate(struct tcp_sock *c)
{
	const struct tcp_config *cfg = &c->t->cfg;
	if (!c->srtt_us) {
		c->pacing_rate = 0;
		return;
	}
	uint32_t w = c->cwnd > tcp_flight(c) ? c->cwnd : tcp_flight(c);
	uint32_t ratio = c->cwnd < c->ssthresh / 2 ? cfg->pacing_ss_ratio : cfg->pacing_ca_ratio;
	/* A ratio of 0 (sysctl allows it, as Linux does) gives 0: no pacing, as Linux's
	 * tcp_update_skb_after_send skips a zero rate; never a 1 B/s crawl. */
	c->pacing_rate = (uint64_t)w * (10000u * ratio) / c->srtt_us;  /* w * 1e6 * ratio/100 */
}

static bool pacing_on(const struct tcp_sock *c)
{
	return c->t->cfg.pacing && c->pacing_rate;
}

/* Linux tcp_pacing_check: true while the next data segment's departure time is more
 * than the timer slack ahead; then t_pace is armed for it (tcp_poll resumes output). */
bool tcp_pacing_hold(struct tcp_sock *c)
{
	if (!pacing_on(c) || c->pace_ns <= c->t->now + TCP_PACING_SLACK_NS ||
	    !(seq_gt(c->snd_buf_end, c->snd_nxt) || c->fin_queued || c->ca_state == TCP_CA_RECOVERY)) {
		c->t_pace = 0;          /* not paced, due, or nothing to send */
		return false;
	}
	if (!c->t_pace)
		tcp_mib(c->t, TCP_MIB_PacingHeld);
	tcp_arm(c, &c->t_pace, c->pace_ns - TCP_PACING_SLACK_NS);
	return true;
}

/* Linux tcp_update_skb_after_send: the departure time moves on by the bytes just sent
 * (headers included) at the pacing rate, at most TCP_PACING_MAX_GAP_NS (fq's clamp), so
 * a forged slow RTT or a rate that recovers later cannot hold data for minutes. A sender that was late (the loop woke after
 * pace_ns) gets up to half of this segment's time back as credit, so timer granularity
 * does not cost rate. */
static void pace_after_send(struct tcp_sock *c, uint64_t bytes)
{
	uint64_t now = c->t->now;
	if (!pacing_on(c))
		return;
	uint64_t prior = c->pace_ns;
	if (c->pace_ns < now)
		c->pace_ns = now;
	uint64_t len_ns = bytes * 1000000000ull / c->pacing_rate;
	if (len_ns > TCP_PACING_MAX_GAP_NS)
		len_ns = TCP_PACING_MAX_GAP_NS;
	uint64_t credit = c->pace_ns - prior;
	len_ns -= credit < len_ns / 2 ? credit : len_ns / 2;
	c->pace_ns += len_ns;
}

static void xmit_header(struct tcp_sock *c, struct tcp_hdr *h)
{
	struct tcp_stack *t = c->t;
	if (h->flags & TCP_SYN) {
		syn_opts(c, &h->opt);
	} else {
		if (c->ts_ok) {
			h->opt.has |= TCP_HAS_TS;
			h->opt.tsval = tcp_ts_now(t, c);
			h->opt.tsecr = c->ts_recent;
		}
		if ((h->flags & TCP_ACK) && c->sack_ok && c->nooo) {
			h->opt.nsack = (uint8_t)tcp_rcv_sack_blocks(c, h->opt.sack, TCP_MAX_SACK);
			if (h->opt.nsack)
				h->opt.has |= TCP_HAS_SACK;
		}
	}
	if (!(h->flags & TCP_RST))
		h->wnd = tcp_rcv_wnd_field(c, h->flags & TCP_SYN);
}

/* Whether the segment's only option is the timestamp: not SYN (its options) or RST (no
 * window), no SACK blocks to report (the same tests xmit_header makes). */
static bool xmit_ts_only(const struct tcp_sock *c, uint8_t flags)
{
	return c->ts_ok && !(flags & (TCP_SYN | TCP_RST)) &&
	       !((flags & TCP_ACK) && c->sack_ok && c->nooo);
}

/* The header of most segments, written from the TCB without a struct tcp_hdr: the same
 * fields, in the same order, as xmit_header and tcp_wire_emit give them. */
static size_t xmit_emit_ts(struct tcp_sock *c, uint8_t *buf, uint32_t seq, uint8_t flags)
{
	struct tcp_hdr_ts h = {
		.sport = c->lport,
		.dport = c->rport,
		.seq = seq,
		.ack = (flags & TCP_ACK) ? c->rcv_nxt : 0,
		.flags = flags,
		.tsval = tcp_ts_now(c->t, c),
		.tsecr = c->ts_recent,
	};
	h.wnd = tcp_rcv_wnd_field(c, false);
	tcp_wire_emit_ts(&h, buf);
	return TCP_HDR_TS_LEN;
}

/* Any other header (SYN options, SACK blocks, no timestamps, RST). 0 if room is short. */
static size_t xmit_emit(struct tcp_sock *c, uint8_t *buf, size_t room, uint32_t seq, uint8_t flags)
{
	struct tcp_hdr h = {
		.sport = c->lport,
		.dport = c->rport,
		.seq = seq,
		.ack = (flags & TCP_ACK) ? c->rcv_nxt : 0,
		.flags = flags,
	};
	xmit_header(c, &h);
	return tcp_wire_emit(&h, buf, room);
}

/* IP refused a segment with DF over our own link's MTU (lowered under a connection:
 * `ip link set mtu`). No router will say so; Linux learns it from the route's MTU at the
 * next send (tcp_current_mss) or its own ICMP error. Here: the route's MTU now, kept
 * for the end of tcp_output, which lowers the MSS and re-sends from SND.UNA as an ICMP
 * "fragmentation needed" would (RFC 1191 §6.3); not now, inside the send loop. */
static __attribute__((noinline)) void local_too_big(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	uint32_t src;
	uint16_t mtu;
	if (t->env.route && t->env.route(t->env.ctx, c->raddr, &src, &mtu) == 0 && mtu < c->pmtu &&
	    (!c->pmtu_local || mtu < c->pmtu_local))
		c->pmtu_local = mtu;
}

/* DF for the next segment: set, unless a path MTU below TCP's floor was reported in
 * the last TCP_NO_DF_NS (tcp_pmtu_lower). */
static bool xmit_df(struct tcp_sock *c)
{
	if (__builtin_expect(!c->no_df, 1))
		return true;
	if (c->t->now < c->no_df_until)
		return false;
	c->no_df = false;       /* aged out: try DF again; a router still too small says so */
	return true;
}

/* tcp_xmit into p (NULL: a fresh packet). gso_mss non-zero (the caller's
 * tcp_payload_max, below len) makes p a super-segment (PKT_F_GSO_TCP4, gso_size =
 * gso_mss), so p must be big; 0: one wire segment. */
static int xmit(struct tcp_sock *c, struct pkt *p, uint32_t seq, uint32_t len, uint8_t flags,
		uint32_t gso_mss)
{
	struct tcp_stack *t = c->t;
	if (!p && !(p = t->env.pkt_alloc(t->env.ctx))) {
		tcp_mib(t, TCP_MIB_NoPktBuf);
		return -NET_ENOBUFS;
	}
	bool gso = gso_mss != 0;
	size_t room = gso ? pkt_tailroom(p) : PKT_BUF_SIZE - p->len;
	if (pkt_tailroom(p) < room)
		room = pkt_tailroom(p);
	uint8_t *buf = pkt_data(p) + p->len;
	size_t hlen = xmit_ts_only(c, flags) && room >= TCP_HDR_TS_LEN ?
		      xmit_emit_ts(c, buf, seq, flags) : xmit_emit(c, buf, room, seq, flags);
	NET_ASSERT(hlen && hlen + len <= room);
	/* Control segments (SYN, SYN-ACK, bare ACK, FIN, RST) carry no payload to sum: their
	 * checksum is done here, so they never depend on a device's offload (QEMU's e1000e
	 * and igb behind a vnet_hdr tap were seen losing handshake segments left partial). */
	bool partial = gso || (c->tx_csum && len);
	uint32_t data_sum = 0;
	p->len = (uint32_t)(p->len + hlen);
	/* A super-segment's payload goes by reference when the layers below gather it
	 * (c->tx_sg); one wire segment is cheaper copied than pinned. */
	if (!(gso && c->tx_sg && sq_frags(c, p, seq, len))) {
		if (len)
			sq_copy(c, seq, buf + hlen, len, partial ? NULL : &data_sum);
		p->len += len;
	}
	if (gso) {
		p->flags |= PKT_F_GSO_TCP4;
		p->gso_size = (uint16_t)gso_mss;
	}
	set_csum(c, p, buf, hlen, len, partial, data_sum);
	uint32_t segs = wire_segs(p, len);
	xmit_count(c, seq, len, flags, segs);
	if (len)
		pace_after_send(c, len + (uint64_t)segs * (hlen + 20));    /* + IPv4 header */
	bool df = xmit_df(c);
	int err = t->env.ip_output_dst ?
		t->env.ip_output_dst(t->env.ctx, &c->dst, p, c->laddr, c->raddr, c->tos, df) :
		(c->tos || !df) && t->env.ip_output_tos ?
		t->env.ip_output_tos(t->env.ctx, p, c->laddr, c->raddr, c->tos, df) :
		t->env.ip_output(t->env.ctx, p, c->laddr, c->raddr);
	if (err != 0) {
		tcp_mib(t, TCP_MIB_OutErrs);
		if (err == -NET_EMSGSIZE)
			local_too_big(c);
	}
	return 0;
}

/* Builds and sends one segment from the TCB: [seq, seq+len) of the send queue with
 * flags, len at most tcp_payload_max(). Sequence variables are the caller's business.
 * 0 or -errno. */
int tcp_xmit(struct tcp_sock *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	uint32_t mss = len ? tcp_payload_max(c) : 0;
	return xmit(c, NULL, seq, len, flags, len > mss ? mss : 0);
}

/* ---- what to send -------------------------------------------------------------------- */

void tcp_rearm_rtx(struct tcp_sock *c)
{
	if (c->snd_max == c->snd_una) {
		if (!c->persist)
			c->t_rtx = 0;
		return;
	}
	c->persist = false;
	tcp_arm(c, &c->t_rtx, c->t->now + tcp_rto_ns(c));
}

/* Effective congestion window: RFC 3042 limited transmit allows two extra segments on
 * the first two duplicate ACKs; NewReno recovery inflates cwnd itself. */
static uint32_t cwnd_eff(const struct tcp_sock *c)
{
	uint32_t w = c->cwnd;
	if (c->ca_state == TCP_CA_OPEN && c->dupacks > 0 && c->dupacks < TCP_DUPTHRESH)
		w += c->dupacks * c->mss;
	return w;
}

/* RFC 5681 §4.1: after an idle period longer than the RTO, restart from the initial
 * window (slow start after idle). */
static void restart_after_idle(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	if (c->snd_max != c->snd_una || c->ca_state != TCP_CA_OPEN || !c->last_snd_ns)
		return;
	if (t->now - c->last_snd_ns <= tcp_rto_ns(c))
		return;
	uint32_t iw = TCP_INIT_CWND * c->mss;
	if (c->cwnd > iw) {
		c->cwnd = iw;
		c->cubic.epoch_ns = 0;
	}
}

/* Super-segment size (Linux tcp_tso_autosize): as much as the device and a 64 KiB
 * datagram allow, in whole MSS units; paced, no more than about 1 ms of data at the
 * pacing rate (rate >> 10, Linux sk_pacing_shift), but at least two segments
 * (tcp_min_tso_segs). The windows cut it later. New data only: retransmissions and
 * RFC 6675 recovery go one MSS-sized segment at a time. */
static uint32_t gso_size(const struct tcp_sock *c, uint32_t mss)
{
	if (!c->gso_max || c->gso_max < 2 * mss)
		return mss;
	uint32_t max = c->gso_max - c->gso_max % mss;
	if (!pacing_on(c))
		return max;
	uint64_t segs = (c->pacing_rate >> 10) / mss;
	if (segs < 2)
		segs = 2;
	return segs * mss < max ? (uint32_t)segs * mss : max;
}

/* len (> mss) of new data fits the windows: trimmed to whole segments unless it is the
 * tail of the queue that Nagle lets go now (nothing in flight, TCP_NODELAY or FIN
 * queued: RFC 9293 §3.7.4 judged at the start of the burst, as Minshall's variant),
 * and given a big buffer (*big); none free: one MSS-sized segment (counted). */
static uint32_t super_len(struct tcp_sock *c, uint32_t len, uint32_t data_left, uint32_t mss,
			  struct pkt **big)
{
	struct tcp_stack *t = c->t;
	bool tail_ok = len == data_left && (c->snd_max == c->snd_una || c->nodelay || c->fin_queued);
	if (!tail_ok)
		len -= len % mss;
	if (len <= mss)
		return len;
	*big = t->env.pkt_alloc_big(t->env.ctx);
	if (!*big) {
		tcp_mib(t, TCP_MIB_GsoNoBuf);
		return mss;
	}
	return len;
}

/* Sends one new-data (or FIN) segment at snd_nxt if the rules allow; force: the persist
 * timer fired (send even into a closed window, one octet); recovery: RFC 6675 NextSeg
 * rule 2, only the receiver's window limits (the pipe loop did the cwnd check). */
bool tcp_send_new(struct tcp_sock *c, bool force, bool recovery)
{
	uint32_t data_left = seq_gt(c->snd_buf_end, c->snd_nxt) ? c->snd_buf_end - c->snd_nxt : 0;
	bool fin_due = c->fin_queued && seq_leq(c->snd_nxt, c->snd_buf_end);
	if (data_left == 0 && !fin_due)
		return false;
	uint32_t mss = tcp_payload_max(c);
	uint32_t wnd = recovery || c->snd_wnd < cwnd_eff(c) ? c->snd_wnd : cwnd_eff(c);
	uint32_t inflight = c->snd_nxt - c->snd_una;
	uint32_t room = wnd > inflight ? wnd - inflight : 0;
	bool fresh = !seq_lt(c->snd_nxt, c->snd_max);
	uint32_t max = fresh && !recovery && !force ? gso_size(c, mss) : mss;
	uint32_t len = data_left < max ? data_left : max;
	if (len > room)
		len = room;
	struct pkt *big = NULL;
	if (len > mss)
		len = super_len(c, len, data_left, mss, &big);
	if (force && len == 0 && data_left)
		len = 1;                                /* zero-window probe (RFC 9293 §3.8.6.1) */
	bool all = len == data_left;
	bool fin = fin_due && all;
	if (len == 0 && !fin)
		return false;
	if (len && len < mss && !force && !seq_lt(c->snd_nxt, c->snd_max)) {
		/* Nagle (§3.7.4) + sender SWS (§3.8.6.2.1): a short segment goes only when
		 * it is all we have and nothing is outstanding (or Nagle is off / FIN is
		 * queued), or when it is at least half the largest window ever offered.
		 * Retransmissions (go-back-N after an RTO or a PMTU drop) are never held. */
		bool idle = c->snd_max == c->snd_una;
		bool half = c->max_snd_wnd && len >= c->max_snd_wnd / 2;
		if (!(all && (idle || c->nodelay || c->fin_queued)) && !half)
			return false;
	}
	uint8_t flags = TCP_ACK;
	if (len && seq_geq(c->snd_nxt + len, c->snd_buf_end))
		flags |= TCP_PSH;                       /* MUST-61: push the last segment */
	if (fin)
		flags |= TCP_FIN;
	uint32_t seq = c->snd_nxt;
	if (xmit(c, big, seq, len, flags, len > mss ? mss : 0) != 0)
		return false;
	c->snd_nxt = seq + len + (fin ? 1 : 0);
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	if (fresh && !c->rtt_timing && !force) {
		c->rtt_timing = true;
		c->rtt_seq = c->snd_nxt;
		c->rtt_start_ns = c->t->now;
	} else if (!fresh) {
		c->rtt_timing = false;                  /* Karn: never time a retransmission */
	}
	if (!force && (c->t_rtx == 0 || c->persist)) {
		c->persist = false;
		c->persist_shift = 0;
		tcp_arm(c, &c->t_rtx, c->t->now + tcp_rto_ns(c));
	}
	return true;
}

/* Persist timer (RFC 9293 §3.8.6.1, BSD tcp_setpersist): data waits, nothing is in
 * flight, and either the window is closed or SWS avoidance holds a short segment. */
static void persist_check(struct tcp_sock *c)
{
	if (c->snd_wnd == 0 && seq_gt(c->snd_nxt, c->snd_una) && !c->persist) {
		/* Window closed with data sent into it: pull back and probe instead of
		 * retransmitting into a closed window (BSD tcp_output, "len < 0"). */
		c->snd_nxt = c->snd_una;
		c->rtx_shift = 0;
		c->t_rtx = 0;
	}
	uint32_t data_left = seq_gt(c->snd_buf_end, c->snd_nxt) ? c->snd_buf_end - c->snd_nxt : 0;
	bool fin_due = c->fin_queued && seq_leq(c->snd_nxt, c->snd_buf_end);
	if ((data_left || fin_due) && c->t_rtx == 0) {
		uint64_t iv = tcp_rto_ns(c);
		if (iv < TCP_PERSIST_MIN_MS * TCP_NS_PER_MS)
			iv = TCP_PERSIST_MIN_MS * TCP_NS_PER_MS;
		c->persist = true;
		tcp_arm(c, &c->t_rtx, c->t->now + iv);
	}
}

/* Most calls come with an ACK that left nothing new to send (request/response: the
 * reply is read before anything else is written). Nothing unsent, no FIN due, no
 * recovery, no probe and an open window: the loop below would find nothing either. */
static bool nothing_to_send(const struct tcp_sock *c)
{
	return c->snd_nxt == c->snd_buf_end && !c->fin_queued && !c->persist &&
	       c->snd_wnd != 0 && c->ca_state != TCP_CA_RECOVERY;
}

/* After a segment went out: nothing unsent, no FIN queued, no recovery. The loop's next
 * turn would find exactly that (tcp_pacing_hold: nothing to send, t_pace off; then
 * tcp_send_new: no data, no FIN due) and stop, so it stops here instead. */
static bool sent_all(const struct tcp_sock *c)
{
	return c->snd_nxt == c->snd_buf_end && !c->fin_queued && c->ca_state != TCP_CA_RECOVERY;
}

void tcp_output(struct tcp_sock *c)
{
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	case TCP_FIN_WAIT_2:
	case TCP_TIME_WAIT:
	case TCP_SYN_RECEIVED:
		if (c->ack_now)
			tcp_send_ack(c);
		return;
	default:
		return;
	}
	if (nothing_to_send(c)) {
		c->t_pace = 0;          /* as tcp_pacing_hold: nothing is held */
		if (c->ack_now)
			tcp_send_ack(c);
		return;
	}
	restart_after_idle(c);
	if (c->persist)
		c->snd_nxt = c->snd_una;        /* re-send the probe octet if it was refused */
	if (c->ca_state == TCP_CA_RECOVERY && c->sack_ok) {
		tcp_sack_recovery_xmit(c);
	} else {
		for (int i = 0; i < 1024 && !tcp_pacing_hold(c) && tcp_send_new(c, false, false); i++) {
			if (sent_all(c)) {
				c->t_pace = 0;  /* what the next turn's tcp_pacing_hold would do */
				break;
			}
		}
	}
	if (!c->t_pace)
		persist_check(c);       /* held by pacing is not a closed window */
	if (c->ack_now)
		tcp_send_ack(c);
	if (__builtin_expect(c->pmtu_local != 0, 0)) {
		uint16_t mtu = c->pmtu_local;
		c->pmtu_local = 0;
		tcp_pmtu_lower(c, mtu, 0);      /* may call tcp_output again: the loop is done */
	}
}

/* The persist timer fired: one probe, into the closed window if need be. */
void tcp_persist_probe(struct tcp_sock *c)
{
	c->snd_nxt = c->snd_una;
	bool sent = tcp_send_new(c, true, false);
	if (!sent && c->ack_now)
		tcp_send_ack(c);
}

/* Retransmits the segment at snd_una (fast retransmit, RTO, NewReno partial ACK). */
bool tcp_retransmit_head(struct tcp_sock *c)
{
	uint32_t seq = c->snd_una;
	uint32_t data_left = seq_gt(c->snd_buf_end, seq) ? c->snd_buf_end - seq : 0;
	uint32_t mss = tcp_payload_max(c);
	uint32_t len = data_left < mss ? data_left : mss;
	bool fin = c->fin_queued && len == data_left && seq_lt(c->snd_buf_end, c->snd_max);
	if (len == 0 && !fin)
		return false;
	uint8_t flags = TCP_ACK | (fin ? TCP_FIN : 0);
	if (len && seq_geq(seq + len, c->snd_buf_end))
		flags |= TCP_PSH;
	c->rtt_timing = false;
	if (tcp_xmit(c, seq, len, flags) != 0)
		return false;
	uint32_t end = seq + len + (fin ? 1 : 0);
	if (seq_gt(end, c->snd_nxt))
		c->snd_nxt = end;
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	return true;
}

void tcp_send_ack(struct tcp_sock *c)
{
	tcp_xmit(c, c->snd_nxt, 0, TCP_ACK);
}

void tcp_send_challenge_ack(struct tcp_sock *c)
{
	if (!tcp_challenge_allowed(c))
		return;
	tcp_mib(c->t, TCP_MIB_TCPChallengeACK);
	tcp_send_ack(c);
}

void tcp_send_syn(struct tcp_sock *c)
{
	uint8_t flags = c->state == TCP_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
	if (tcp_xmit(c, c->iss, 0, flags) == 0 && !c->syn_rtx && !c->rtt_timing) {
		c->rtt_timing = true;
		c->rtt_seq = c->iss + 1;
		c->rtt_start_ns = c->t->now;
	}
	if (seq_lt(c->snd_nxt, c->iss + 1))
		c->snd_nxt = c->iss + 1;
	if (seq_lt(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	tcp_arm(c, &c->t_rtx, c->t->now + tcp_rto_ns(c));
}

/* RST for an existing TCB: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>. */
void tcp_send_rst(struct tcp_sock *c)
{
	uint8_t flags = TCP_RST | (c->state == TCP_SYN_SENT ? 0 : TCP_ACK);
	tcp_xmit(c, c->snd_nxt, 0, flags);
}

/* A segment without a TCB behind it (RST replies, SYN cookie SYN-ACKs). */
void tcp_reply_raw(struct tcp_stack *t, uint32_t src, uint32_t dst, const struct tcp_hdr *h)
{
	struct pkt *p = t->env.pkt_alloc(t->env.ctx);
	if (!p) {
		tcp_mib(t, TCP_MIB_NoPktBuf);
		return;
	}
	uint8_t *buf = pkt_data(p) + p->len;
	size_t hlen = tcp_wire_emit(h, buf, pkt_tailroom(p));
	NET_ASSERT(hlen);
	p->len = (uint16_t)(p->len + hlen);
	tcp_wire_set_csum(buf, hlen, src, dst);
	tcp_mib(t, TCP_MIB_OutSegs);
	if (h->flags & TCP_RST)
		tcp_mib(t, TCP_MIB_OutRsts);
	if (t->env.ip_output(t->env.ctx, p, src, dst) != 0)
		tcp_mib(t, TCP_MIB_OutErrs);
}

/* RFC 9293 §3.10.7.1: the RST that makes the offender's segment unacceptable to it. Never
 * in answer to a RST. Rate-limited (HARDENING #7). */
void tcp_reply_rst(struct tcp_stack *t, const struct tcp_seg *s)
{
	if (s->h.flags & TCP_RST)
		return;
	uint64_t sec = t->now / 1000000000ull;
	if (sec != t->rst_sec || t->rst_left == 0xffffffffu) {
		t->rst_sec = sec;
		t->rst_left = t->cfg.rst_limit;
	}
	if (t->rst_left == 0) {
		tcp_mib(t, TCP_MIB_RstRateLimited);
		return;
	}
	t->rst_left--;
	struct tcp_hdr h = { .sport = s->h.dport, .dport = s->h.sport };
	if (s->h.flags & TCP_ACK) {
		h.seq = s->h.ack;
		h.flags = TCP_RST;
	} else {
		uint32_t len = s->dlen + !!(s->h.flags & TCP_SYN) + !!(s->h.flags & TCP_FIN);
		h.seq = 0;
		h.ack = s->h.seq + len;
		h.flags = TCP_RST | TCP_ACK;
	}
	tcp_reply_raw(t, s->dst, s->src, &h);
}
