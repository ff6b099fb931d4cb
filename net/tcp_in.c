/*
 * SEGMENT ARRIVES (RFC 9293 §3.10.7): validation, then one handler per state. Each
 * handler is the numbered checklist of §3.10.7.4 (first sequence number, second RST,
 * fourth SYN, fifth ACK, sixth URG, seventh text, eighth FIN; the third, security, does
 * not apply: no IP security options); the shared steps are the step*() helpers.
 *
 * Call order: tcp_input (tcp_stack.c) -> tcp_input_one -> validate -> lookup ->
 *   tcp_listen_input (tcp_listen.c) | closed_input | tcp_input_conn -> in_<state>
 *   -> tcp_output (tcp_out.c) for whatever the segment made sendable.
 * Also: tcp_icmp_error (RFC 1191 PMTU, RFC 5927 checks, RFC 9293 §3.9.2.2 soft errors).
 * Other specs: RFC 5961 (§3 RST, §4 SYN, §5 ACK), RFC 7323 §5 (PAWS), RFC 5681 §4.2
 * (immediate ACKs), RFC 2018 (SACK, via tcp_sack.c).
 */
#include "net/tcp_int.h"
#include "net/gro.h"
#include "lib/string.h"

static void seg_ack_now(struct tcp_sock *c) { c->ack_now = true; }

/* MUST-57, MUST-63: never talk to broadcast/multicast, never accept such sources.
 * (Directed broadcasts are the IP layer's to filter; it knows the subnets.) */
static bool bad_addr(uint32_t src, uint32_t dst)
{
	if (dst == 0xffffffffu || (dst >> 28) == 0xe || dst == 0)
		return true;
	return src == 0xffffffffu || (src >> 28) == 0xe || (src >> 28) == 0xf || (src >> 24) == 0;
}

/* ---- options on SYN and SYN-ACK (RFC 9293 §3.7.1, RFC 7323 §2.2/§3.2, RFC 2018 §2) ---- */
void tcp_rcv_options_syn(struct tcp_sock *c, const struct tcp_opts *o, bool we_offered_ws)
{
	struct tcp_config *cfg = &c->t->cfg;
	uint32_t pm = (o->has & TCP_HAS_MSS) ? o->mss : TCP_DEFAULT_MSS;
	if (pm < TCP_MIN_MSS) {
		pm = TCP_MIN_MSS;               /* tiny MSS = segment storm (CVE-2019-11479) */
		tcp_mib(c->t, TCP_MIB_PeerMssClamped);
	}
	c->peer_mss = (uint16_t)(pm > 65535 ? 65535 : pm);
	if ((o->has & TCP_HAS_WS) && we_offered_ws && cfg->window_scaling) {
		c->ws_ok = true;
		c->snd_wscale = o->ws > TCP_MAX_WS ? TCP_MAX_WS : o->ws;   /* RFC 7323 §2.3 */
	} else {
		c->ws_ok = false;
		c->snd_wscale = c->rcv_wscale = 0;
	}
	c->sack_ok = cfg->sack && (o->has & TCP_HAS_SACK_PERM);
	c->ts_ok = cfg->timestamps && (o->has & TCP_HAS_TS);
	if (c->ts_ok) {
		c->ts_recent = o->tsval;
		c->ts_recent_ns = c->t->now;
	}
	/* MUST-16: effective send MSS = min(SendMSS, MTU - 40) - TCP options we always send. */
	uint32_t m = c->peer_mss < (uint32_t)c->pmtu - 40 ? c->peer_mss : (uint32_t)c->pmtu - 40;
	if (c->ts_ok)
		m -= 12;
	if (m < TCP_MIN_MSS)
		m = TCP_MIN_MSS;
	c->mss = (uint16_t)m;
	c->rcv_mss = c->adv_mss < c->mss ? c->adv_mss : c->mss;
}

/* ---- shared checklist steps ------------------------------------------------------------ */

/* RCV.WND of Table 6: what we advertised, or what our next segment will advertise if
 * that is more (the application read: a window probe is taken at once). Never the raw
 * buffer room, which a window field may not be able to say (65536 > 65535) or SWS
 * avoidance holds back: the edge is exact. */
static uint32_t accept_wnd(const struct tcp_sock *c)
{
	uint32_t adv = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t next = c->rbuf || !c->orphan ? (uint32_t)tcp_rcv_wnd_next(c) << c->rcv_wscale : 0;
	return adv > next ? adv : next;
}

/* RFC 9293 Table 6. */
static bool seq_acceptable(const struct tcp_sock *c, const struct tcp_seg *s, uint32_t wnd)
{
	uint32_t len = seg_len(s);
	uint32_t nxt = c->rcv_nxt;
	if (len == 0)
		return wnd == 0 ? s->seq == nxt : seq_in(s->seq, nxt, nxt + wnd);
	if (wnd == 0)
		return false;
	return seq_in(s->seq, nxt, nxt + wnd) || seq_in(s->seq + len - 1, nxt, nxt + wnd);
}

/* RFC 7323 §5.5: after 24 days idle TS.Recent says nothing (the peer's clock may have
 * run more than 2^31 ticks since): it judges no segment and any new value replaces it. */
static bool ts_recent_stale(const struct tcp_sock *c)
{
	return c->t->now - c->ts_recent_ns > TCP_PAWS_IDLE_NS;
}

/* RFC 7323 §5.3 R1: a timestamp older than TS.Recent marks an old duplicate. */
static bool paws_reject(struct tcp_sock *c, const struct tcp_seg *s)
{
	if (!c->ts_ok || !(s->h.opt.has & TCP_HAS_TS) || (s->flags & TCP_RST))
		return false;
	if (!seq_lt(s->h.opt.tsval, c->ts_recent))
		return false;
	if (ts_recent_stale(c))
		return false;                   /* §5.5: TS.Recent too old to judge by */
	tcp_mib(c->t, TCP_MIB_PAWSEstab);
	return true;
}

/* An unacceptable segment gets an ACK; a pure ACK only at a limited rate so two
 * confused peers cannot ping-pong ACKs forever (Linux tcp_oow_rate_limited). */
static void oow_ack(struct tcp_sock *c, const struct tcp_seg *s)
{
	if (seg_len(s) == 0) {
		uint64_t now = c->t->now;
		if (c->chack_last_ns && now - c->chack_last_ns < TCP_CHACK_CONN_NS)
			return;
		c->chack_last_ns = now ? now : 1;
	}
	tcp_send_ack(c);
}

/* Drops the text's first n bytes (n <= s->dlen), across a chain's pieces. Out of line:
 * only old (retransmitted) data comes here. */
static __attribute__((noinline)) void seg_pull(struct tcp_seg *s, uint32_t n)
{
	uint32_t left = s->dlen;        /* from s->data on, this piece and the next ones */
	s->dlen -= n;
	while (n >= s->dlen0 && left > s->dlen0) {
		n -= s->dlen0;
		left -= s->dlen0;
		s->data = (const uint8_t *)s->more + s->more->off;
		s->dlen0 = s->more->len;
		s->more = s->more->next;
	}
	if (n > s->dlen0)
		n = s->dlen0;           /* (cannot happen: n <= dlen) */
	s->data += n;
	s->dlen0 -= n;
}

/* Cut the segment to [RCV.NXT, RCV.NXT + wnd), SYN and FIN included (§3.10.7.4 "the
 * idealized segment"). Old data means our ACK was lost: ACK at once. */
static void trim_to_window(struct tcp_sock *c, struct tcp_seg *s, uint32_t wnd)
{
	if (seq_lt(s->seq, c->rcv_nxt)) {
		uint32_t d = c->rcv_nxt - s->seq;
		if (s->flags & TCP_SYN) {
			s->flags &= (uint8_t)~TCP_SYN;
			s->seq++;
			d--;
		}
		if (d > s->dlen)
			s->flags &= (uint8_t)~TCP_FIN;  /* the FIN too is old */
		uint32_t cut = d < s->dlen ? d : s->dlen;
		seg_pull(s, cut);
		s->seq += cut;
		if (!s->dlen)
			s->seq = c->rcv_nxt;
		seg_ack_now(c);
	}
	uint32_t right = c->rcv_nxt + wnd;
	if (seq_gt(s->seq + s->dlen, right)) {
		uint32_t over = s->seq + s->dlen - right;
		s->dlen -= over < s->dlen ? over : s->dlen;
		s->flags &= (uint8_t)~TCP_FIN;
		seg_ack_now(c);
	} else if ((s->flags & TCP_FIN) && !seq_lt(s->seq + s->dlen, right)) {
		s->flags &= (uint8_t)~TCP_FIN;          /* no room for the FIN's octet */
		seg_ack_now(c);
	}
}

/* accept_wnd, skipping the next-window computation when the segment starts at
 * RCV.NXT and ends inside what we advertised: any larger window accepts it the same
 * and trims nothing (the common in-order case). */
static uint32_t accept_wnd_for(const struct tcp_sock *c, const struct tcp_seg *s)
{
	uint32_t adv = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (adv && s->seq == c->rcv_nxt && seg_len(s) <= adv && !(s->flags & TCP_RST))
		return adv;
	return accept_wnd(c);
}

/* First: check the sequence number. false: dropped (an ACK went out if due). */
static bool step1_seq(struct tcp_sock *c, struct tcp_seg *s)
{
	uint32_t wnd = accept_wnd_for(c, s);
	if (s->flags & TCP_RST)                 /* RFC 5961 §3.2 rule 1 */
		return seq_in(s->seq, c->rcv_nxt, c->rcv_nxt + (wnd ? wnd : 1));
	if (paws_reject(c, s)) {
		oow_ack(c, s);
		return false;
	}
	if (!seq_acceptable(c, s, wnd)) {
		if (!(wnd == 0 && s->seq == c->rcv_nxt)) {
			oow_ack(c, s);
			return false;
		}
		/* Zero window: still take the ACK, URG and RST of a segment at RCV.NXT
		 * (§3.10.7.4 "special allowance"), not its text. */
		if (s->dlen)
			tcp_mib(c->t, TCP_MIB_TCPZeroWindowDrop);
		s->dlen = 0;
		s->flags &= (uint8_t)~(TCP_FIN | TCP_SYN);
		seg_ack_now(c);
	}
	/* RFC 7323 §4.3 (R3): remember the newest timestamp of an in-sequence segment; a
	 * stale TS.Recent (§5.5) is replaced by whatever comes, as Linux does
	 * (tcp_store_ts_recent after tcp_paws_check), or PAWS stays off for good. */
	if (c->ts_ok && (s->h.opt.has & TCP_HAS_TS) && seq_leq(s->seq, c->last_ack_sent) &&
	    (!seq_lt(s->h.opt.tsval, c->ts_recent) || ts_recent_stale(c))) {
		c->ts_recent = s->h.opt.tsval;
		c->ts_recent_ns = c->t->now;
	}
	trim_to_window(c, s, wnd);
	return true;
}

/* Second: RST (RFC 5961 §3.2). true: reset the connection; else a challenge ACK went
 * out (rules 1 and 3). */
static bool step2_rst(struct tcp_sock *c, const struct tcp_seg *s)
{
	if (s->seq == c->rcv_nxt)
		return true;
	tcp_send_challenge_ack(c);
	return false;
}

/* Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 §4.2). */
static void step4_syn(struct tcp_sock *c)
{
	tcp_mib(c->t, TCP_MIB_TCPSYNChallenge);
	tcp_send_challenge_ack(c);
}

static void rate_sample(struct tcp_sock *c)
{
	uint64_t now = c->t->now;
	if (!c->rate_start_ns) {
		c->rate_start_ns = now;
		c->rate_delivered0 = c->delivered;
		return;
	}
	uint64_t span = now - c->rate_start_ns;
	uint64_t min_span = (uint64_t)(c->srtt_us ? c->srtt_us : 1000) * TCP_NS_PER_US;
	if (span < min_span || span == 0)
		return;
	c->delivery_bps = (c->delivered - c->rate_delivered0) * 8 * 1000000000ull / span;
	c->rate_start_ns = now;
	c->rate_delivered0 = c->delivered;
}

/* SND.UNA advances to ack: free the queue, take the RTT sample, count. */
static void ack_advance(struct tcp_sock *c, uint32_t ack)
{
	struct tcp_stack *t = c->t;
	uint32_t acked = ack - c->snd_una;
	if (c->rtt_timing && seq_geq(ack, c->rtt_seq)) {
		c->rtt_timing = false;
		tcp_rtt_sample(c, t->now - c->rtt_start_ns);
	}
	bool syn_acked = c->snd_una == c->iss;
	bool fin_acked = c->fin_queued && seq_gt(ack, c->snd_buf_end) && !seq_gt(c->snd_una, c->snd_buf_end);
	c->snd_una = ack;
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	tcp_sq_ack(c, ack);
	if (c->nsb)
		tcp_sb_trim(c);
	uint32_t data = acked - syn_acked - fin_acked;
	c->bytes_acked += data;
	c->delivered += data;
	t->mib[TCP_MIB_TCPDelivered] += (data + c->mss - 1) / c->mss;     /* segments, roughly */
	c->rtx_count = 0;
	c->rtx_stamp_ns = 0;
	c->soft_err = 0;
	rate_sample(c);
	if (c->want_send)
		tcp_sndbuf_expand(c);
	if (c->want_send && (tcp_sndbuf_free(c) >= tcp_sndbuf(c) / 2 || c->sq_head == NULL) &&
	    c->nrefs < t->cfg.max_refs) {
		c->want_send = false;
		tcp_event(c, TCP_EV_SEND);
	}
}

/* The fifth step's work once the ACK is acceptable: SND.UNA, the send window (WL1/WL2
 * rule, §3.10.7.4), congestion control and recovery, pacing, the retransmission timer. */
static void ack_take(struct tcp_sock *c, const struct tcp_seg *s, uint32_t acked, bool dup,
		     bool sack_new)
{
	uint32_t ack = s->h.ack;
	uint32_t wnd = (uint32_t)s->h.wnd << c->snd_wscale;
	c->last_ack_ns = c->t->now;
	if (c->app_owned)
		c->probes = 0;
	if (acked)
		ack_advance(c, ack);
	/* §3.10.7.4: only an ACK in [SND.UNA, SND.NXT] may set the window (after
	 * ack_advance, SND.UNA is this ACK when it acknowledged anything): an old ACK
	 * riding on newer data would otherwise pass the WL1 test with a stale window. */
	if (!seq_lt(ack, c->snd_una) &&
	    (seq_lt(c->snd_wl1, s->h.seq) || (c->snd_wl1 == s->h.seq && seq_leq(c->snd_wl2, ack)))) {
		c->snd_wnd = wnd;
		c->snd_wl1 = s->h.seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
	}
	if (!acked && s->dlen == 0 && !(s->flags & TCP_FIN))
		tcp_mib(c->t, TCP_MIB_TCPPureAcks);
	tcp_ack_recovery(c, acked, dup, sack_new);
	tcp_update_pacing_rate(c);      /* Linux: per ACK, after congestion control */
	if (acked)
		tcp_rearm_rtx(c);
}

/* Fifth, for the synchronized states past SYN-RECEIVED: RFC 5961 §5.2 acceptability,
 * then SND.UNA, the send window (WL1/WL2 rule), RTT, congestion control, recovery.
 * false: dropped. */
static bool step5_ack(struct tcp_sock *c, struct tcp_seg *s)
{
	if (!(s->flags & TCP_ACK))
		return false;
	uint32_t ack = s->h.ack;
	if (seq_gt(ack, c->snd_max) || seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
		tcp_send_challenge_ack(c);
		return false;
	}
	bool sack_new = false;
	if (c->sack_ok && (s->h.opt.has & TCP_HAS_SACK))
		tcp_sb_update(c, &s->h.opt, &sack_new);
	uint32_t wnd = (uint32_t)s->h.wnd << c->snd_wscale;
	uint32_t acked = seq_gt(ack, c->snd_una) ? ack - c->snd_una : 0;
	/* RFC 5681 §2; answers to window probes are not duplicates of anything. */
	bool dup = !acked && s->dlen == 0 && !(s->flags & (TCP_SYN | TCP_FIN)) &&
		   wnd == c->snd_wnd && c->snd_max != c->snd_una && wnd && !c->persist;
	ack_take(c, s, acked, dup, sack_new);
	return true;
}

/* Sixth: URG. Urgent data stays inline; we remember where it ends (RCV.UP, the first
 * non-urgent octet, MUST-62) and tell the application when the pointer advances
 * (MUST-32). No arithmetic on the pointer beyond one sequence add (HARDENING #2). */
static void step6_urg(struct tcp_sock *c, const struct tcp_seg *s)
{
	if (!(s->h.flags & TCP_URG) || s->h.urg == 0)
		return;
	uint32_t up = s->h.seq + s->h.urg;
	if (seq_gt(up, c->rcv_nxt + c->rbuf_size)) {
		tcp_mib(c->t, TCP_MIB_UrgIgnored);      /* points past any window we offered */
		return;
	}
	if (!seq_gt(up, c->rcv_up))
		return;
	c->rcv_up = up;
	if (seq_gt(up, c->rcv_user)) {
		c->urg_signalled = true;
		tcp_event(c, TCP_EV_URGENT);
	}
}

/* n bytes from src into the receive ring at seq's place. */
static inline void rbuf_put(struct tcp_sock *c, uint32_t seq, const uint8_t *src, uint32_t n)
{
	uint32_t mask = c->rbuf_size - 1;
	for (uint32_t end = seq + n; seq != end;) {
		uint32_t off = seq & mask;
		uint32_t k = end - seq;
		if (k > c->rbuf_size - off)
			k = c->rbuf_size - off;
		memcpy(c->rbuf + off, src, k);
		src += k;
		seq += k;
	}
}

/* A chain's text from s->seq up to end into the ring: the first piece, then each
 * following piece, each byte copied once (as Linux copies a frag_list skb,
 * skb_copy_datagram_iter). Out of line: bulk transfers only. */
static __attribute__((noinline)) void text_copy_chain(struct tcp_sock *c, const struct tcp_seg *s,
						       uint32_t end)
{
	const uint8_t *d = s->data;
	uint32_t k = s->dlen0;
	const struct pkt *q = s->more;
	for (uint32_t seq = s->seq; seq != end;) {
		if (k > end - seq)
			k = end - seq;
		rbuf_put(c, seq, d, k);
		seq += k;
		if (seq == end || !q)
			break;
		d = (const uint8_t *)q + q->off;
		k = q->len;
		q = q->next;
	}
}

/* The text from s->seq up to end (inside the text) into the ring. */
static inline void text_copy(struct tcp_sock *c, const struct tcp_seg *s, uint32_t end)
{
	if (__builtin_expect(s->dlen <= s->dlen0, 1))
		rbuf_put(c, s->seq, s->data, end - s->seq);     /* one buffer holds it all */
	else
		text_copy_chain(c, s, end);
}

/* Seventh: text. In-order data extends RCV.NXT (then whatever out-of-order data now
 * joins it); out-of-order data goes into the buffer at its place and into the range
 * table. The window already bounds the copy; the buffer bound is rechecked anyway. */
static void step7_text(struct tcp_sock *c, struct tcp_seg *s)
{
	struct tcp_stack *t = c->t;
	if (s->dlen == 0 || c->orphan)
		return;
	if (tcp_rbuf_get(c) != 0) {
		/* No memory for the bytes: dropped unacknowledged (the peer sends them
		 * again), as Linux does when it cannot charge a segment (TCPRcvQDrop);
		 * the FIN behind them waits too. */
		tcp_mib(t, TCP_MIB_TCPRcvQDrop);
		s->flags &= (uint8_t)~TCP_FIN;
		return;
	}
	c->data_segs_in++;
	if (s->dlen > c->rcv_mss)
		c->rcv_mss = (uint16_t)(s->dlen < c->adv_mss ? s->dlen : c->adv_mss);
	uint32_t start = s->seq, end = s->seq + s->dlen;
	uint32_t limit = c->rcv_user + c->rbuf_size;
	if (seq_gt(end, limit)) {
		tcp_mib(t, TCP_MIB_TCPRcvQDrop);
		end = limit;
		s->flags &= (uint8_t)~TCP_FIN;
		seg_ack_now(c);
	}
	if (!seq_lt(start, end))
		return;
	text_copy(c, s, end);
	if (start != c->rcv_nxt) {
		if (tcp_rcv_ooo_add(c, start, end) == 0)
			tcp_mib(t, TCP_MIB_TCPOFOQueue);
		else
			tcp_mib(t, TCP_MIB_TCPOFODrop);
		seg_ack_now(c);                 /* RFC 5681 §4.2: out of order, ACK at once */
		return;
	}
	uint32_t before = c->rcv_nxt;
	bool had_ooo = c->nooo > 0;
	c->rcv_nxt = end;
	if (had_ooo)
		tcp_rcv_ooo_advance(c);
	c->bytes_received += c->rcv_nxt - before;
	c->rcv_unacked += c->rcv_nxt - before;
	if (had_ooo || c->rcv_unacked >= 2u * c->rcv_mss)
		seg_ack_now(c);                 /* hole filled, or every 2nd full segment */
	else
		tcp_delack_schedule(c);
	tcp_event(c, TCP_EV_RECV);
}

/* Eighth: FIN, once everything before it has arrived. true: the FIN was taken. */
static bool step8_fin(struct tcp_sock *c, const struct tcp_seg *s)
{
	bool fin = (s->flags & TCP_FIN) && s->seq + s->dlen == c->rcv_nxt;
	if (!fin && (s->flags & TCP_FIN) && seq_gt(s->seq + s->dlen, c->rcv_nxt)) {
		c->ooo_fin = true;              /* out of order: remember where it is */
		c->ooo_fin_seq = s->seq + s->dlen;
	}
	if (!fin && c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt)
		fin = true;
	if (!fin)
		return false;
	c->ooo_fin = false;
	c->rcv_nxt++;
	c->fin_rcvd = true;
	/* A FIN that closes an open connection (to CLOSE-WAIT) is ACKed late, as Linux
	 * does (pingpong mode): an application that closes within the delayed-ACK time
	 * sends FIN and ACK in one segment, a three-segment close. Once our own FIN is
	 * out the peer waits on this ACK alone, so it goes at once. */
	if (c->state == TCP_ESTABLISHED && !c->fin_queued && !c->ack_now)
		tcp_delack_schedule(c);
	else
		seg_ack_now(c);
	tcp_event(c, TCP_EV_RECV);
	return true;
}

static bool our_fin_acked(const struct tcp_sock *c)
{
	return c->fin_queued && seq_gt(c->snd_una, c->snd_buf_end);
}

/* The connection is reset by the peer (RST accepted). */
static void peer_reset(struct tcp_sock *c)
{
	int err = -NET_ECONNRESET;
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
		tcp_mib(c->t, TCP_MIB_EstabResets);
	if (c->state == TCP_CLOSING || c->state == TCP_LAST_ACK || c->state == TCP_TIME_WAIT)
		err = 0;                        /* we were closing anyway */
	tcp_done(c, err);
}

/* ---- handlers, one per state -------------------------------------------------------- */

static void in_syn_sent(struct tcp_sock *c, struct tcp_seg *s)
{
	struct tcp_stack *t = c->t;
	bool ack = s->flags & TCP_ACK;
	/* First: the ACK must cover our SYN and nothing we have not sent. */
	if (ack && (seq_leq(s->h.ack, c->iss) || seq_gt(s->h.ack, c->snd_max))) {
		tcp_reply_rst(t, s);            /* <SEQ=SEG.ACK><CTL=RST>, not for a RST */
		return;
	}
	/* Second: RST is believed only with an acceptable ACK. */
	if (s->flags & TCP_RST) {
		if (ack) {
			tcp_mib(t, TCP_MIB_AttemptFails);
			tcp_done(c, -NET_ECONNREFUSED);
		}
		return;
	}
	/* Fourth: SYN. */
	if (!(s->flags & TCP_SYN))
		return;                         /* fifth: neither SYN nor RST */
	c->irs = s->h.seq;
	c->rcv_nxt = c->rcv_user = c->rcv_up = c->irs + 1;
	tcp_rcv_options_syn(c, &s->h.opt, t->cfg.window_scaling);
	c->snd_wnd = s->h.wnd;                  /* a SYN's window is never scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->h.seq;
	c->snd_wl2 = s->h.ack;
	if (s->dlen) {
		tcp_mib(t, TCP_MIB_SynDataIgnored);     /* resent by the peer once we ACK */
		s->flags &= (uint8_t)~TCP_FIN;
	}
	if (!ack) {
		/* Simultaneous open (MUST-10): SYN-RECEIVED, our SYN again with an ACK. */
		tcp_set_state(c, TCP_SYN_RECEIVED);
		tcp_send_syn(c);
		return;
	}
	if (c->rtt_timing && !c->syn_rtx) {
		c->rtt_timing = false;
		tcp_rtt_sample(c, t->now - c->rtt_start_ns);
	}
	c->snd_una = s->h.ack;
	c->t_rtx = 0;
	tcp_established(c);
	tcp_event(c, TCP_EV_CONNECTED);
	if (c->fin_queued)
		tcp_set_state(c, TCP_FIN_WAIT_1);
	seg_ack_now(c);
	/* Text and FIN riding on the SYN-ACK continue at the sixth step; the text
	 * itself is not taken (we do not accept data on SYNs), the peer resends it. */
	s->flags &= (uint8_t)~TCP_SYN;
	s->seq = c->rcv_nxt;
	s->dlen = 0;
	if (s->flags & TCP_FIN) {
		if (step8_fin(c, s))
			tcp_set_state(c, c->state == TCP_FIN_WAIT_1 ? TCP_CLOSING : TCP_CLOSE_WAIT);
	}
}

static void in_syn_received(struct tcp_sock *c, struct tcp_seg *s)
{
	struct tcp_stack *t = c->t;
	/* The peer repeated its SYN: our SYN-ACK was lost. Answer it again. */
	if ((s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && s->h.seq == c->irs) {
		tcp_send_syn(c);
		return;
	}
	/* Simultaneous open: the peer's SYN-ACK repeats the SYN we know (seq = IRS). Table 6
	 * would refuse it (RFC 9293 Appendix A.2); take it as its ACK. */
	if ((s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && s->h.seq == c->irs && !c->passive) {
		s->flags &= (uint8_t)~TCP_SYN;
		s->seq++;
	}
	if (!step1_seq(c, s))
		return;
	if (s->flags & TCP_RST) {
		if (!step2_rst(c, s))
			return;
		/* Passive: back to LISTEN, i.e. this TCB goes (MUST-11); active: refused. */
		tcp_mib(t, TCP_MIB_AttemptFails);
		if (c->passive)
			tcp_mib(t, TCP_MIB_EmbryonicRsts);
		tcp_done(c, -NET_ECONNREFUSED);
		return;
	}
	if (s->flags & TCP_SYN) {
		if (c->passive) {
			tcp_mib(t, TCP_MIB_AttemptFails);
			tcp_done(c, -NET_ECONNRESET);
		} else {
			step4_syn(c);
		}
		return;
	}
	if (!(s->flags & TCP_ACK))
		return;
	if (!seq_gt(s->h.ack, c->snd_una) || seq_gt(s->h.ack, c->snd_max)) {
		tcp_reply_rst(t, s);            /* <SEQ=SEG.ACK><CTL=RST> */
		return;
	}
	if (c->passive && c->listener && tcp_acceptq_full(c->listener, c->raddr)) {
		tcp_mib(t, TCP_MIB_ListenOverflows);   /* keep SYN-RECEIVED; the SYN-ACK timer retries */
		tcp_mib(t, TCP_MIB_ListenDrops);
		return;
	}
	tcp_established(c);
	c->snd_wnd = (uint32_t)s->h.wnd << c->snd_wscale;
	c->snd_wl1 = s->h.seq;
	c->snd_wl2 = s->h.ack;
	if (c->snd_wnd > c->max_snd_wnd)
		c->max_snd_wnd = c->snd_wnd;
	if (c->passive)
		tcp_listener_child_ready(c);
	else
		tcp_event(c, TCP_EV_CONNECTED);
	if (c->fin_queued)
		tcp_set_state(c, TCP_FIN_WAIT_1);
	/* Continue as ESTABLISHED (§3.10.7.4 fifth, "continue processing"). */
	if (!step5_ack(c, s))
		return;
	step6_urg(c, s);
	step7_text(c, s);
	if (step8_fin(c, s))
		tcp_set_state(c, c->state == TCP_FIN_WAIT_1 ? TCP_CLOSING : TCP_CLOSE_WAIT);
}

/* Steps 1-5 of SEGMENT ARRIVES (RFC 9293 §3.10.7.4), the same in every synchronized
 * state that still takes data: false when the segment stops there. */
static bool steps_1_to_5(struct tcp_sock *c, struct tcp_seg *s)
{
	if (!step1_seq(c, s))
		return false;
	if (s->flags & TCP_RST) {
		if (step2_rst(c, s))
			peer_reset(c);
		return false;
	}
	if (s->flags & TCP_SYN) {
		step4_syn(c);
		return false;
	}
	return step5_ack(c, s);
}

/*
 * Header prediction (Van Jacobson's, as Linux tcp_rcv_established): the segment an
 * open connection mostly gets. Only ACK (PSH allowed), exactly at RCV.NXT and inside
 * the window we advertised, a timestamp PAWS accepts, no SACK blocks, an ACK in
 * [SND.UNA, SND.MAX] that acknowledges new data or comes with text (never a
 * duplicate or a pure window update), congestion control open, no SACK scoreboard,
 * nothing held out of order. For such a segment the checklist's first step accepts
 * it untrimmed, the second and fourth do not apply, the fifth's acceptability test
 * passes (RFC 5961 §5.2: the bounds below are inside it), recovery stays OPEN, the
 * sixth and eighth find no URG or FIN: what is left is TS.Recent, the ACK's work and
 * the text, done by the same helpers as the checklist.
 */
static bool predicted(const struct tcp_sock *c, const struct tcp_seg *s)
{
	uint32_t adv = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t ack = s->h.ack;
	if ((s->flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_ACK)) != TCP_ACK ||
	    s->seq != c->rcv_nxt || adv == 0 || s->dlen > adv || !c->t->cfg.hdr_predict)
		return false;
	if (c->ts_ok && (!(s->h.opt.has & TCP_HAS_TS) || seq_lt(s->h.opt.tsval, c->ts_recent)))
		return false;
	if (seq_lt(ack, c->snd_una) || seq_gt(ack, c->snd_max) || (ack == c->snd_una && !s->dlen))
		return false;
	return !(c->sack_ok && (s->h.opt.has & TCP_HAS_SACK)) && c->nsb == 0 &&
	       c->ca_state == TCP_CA_OPEN && c->nooo == 0 && !c->ooo_fin;
}

static bool established_fast(struct tcp_sock *c, struct tcp_seg *s)
{
	if (!predicted(c, s))
		return false;
	/* RFC 7323 §4.3 (R3), as step1_seq: in sequence and not older. */
	if (c->ts_ok && seq_leq(s->seq, c->last_ack_sent)) {
		c->ts_recent = s->h.opt.tsval;
		c->ts_recent_ns = c->t->now;
	}
	/* Linux's names: predicted segments with text, and without (ACKs of new data). */
	tcp_mib(c->t, s->dlen ? TCP_MIB_TCPHPHits : TCP_MIB_TCPHPAcks);
	ack_take(c, s, s->h.ack - c->snd_una, false, false);
	step7_text(c, s);
	return true;
}

static void in_established(struct tcp_sock *c, struct tcp_seg *s)
{
	if (established_fast(c, s))
		return;
	if (!steps_1_to_5(c, s))
		return;
	step6_urg(c, s);
	step7_text(c, s);
	if (step8_fin(c, s))
		tcp_set_state(c, TCP_CLOSE_WAIT);
}

/* New data for an orphan: nobody will read it. Linux resets the connection
 * (tcp_rcv_state_process, TCPAbortOnData) rather than ACK and drop it for ever. */
static bool orphan_data(struct tcp_sock *c, const struct tcp_seg *s)
{
	if (!c->orphan || s->dlen == 0)
		return false;
	tcp_mib(c->t, TCP_MIB_TCPAbortOnData);
	tcp_send_rst(c);
	tcp_done(c, -NET_ECONNRESET);
	return true;
}

static void in_fin_wait_1(struct tcp_sock *c, struct tcp_seg *s)
{
	if (!steps_1_to_5(c, s) || orphan_data(c, s))
		return;
	bool fin_acked = our_fin_acked(c);
	if (fin_acked) {
		tcp_set_state(c, TCP_FIN_WAIT_2);
		if (!c->app_owned)
			tcp_arm(c, &c->t_conn, c->t->now + (uint64_t)c->t->cfg.fin_wait2_ms * TCP_NS_PER_MS);
	}
	step6_urg(c, s);
	step7_text(c, s);
	if (step8_fin(c, s)) {
		if (fin_acked)
			tcp_enter_time_wait(c);
		else
			tcp_set_state(c, TCP_CLOSING);
	}
}

static void in_fin_wait_2(struct tcp_sock *c, struct tcp_seg *s)
{
	if (!steps_1_to_5(c, s) || orphan_data(c, s))
		return;
	step6_urg(c, s);
	step7_text(c, s);
	if (step8_fin(c, s))
		tcp_enter_time_wait(c);
}

/* CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN is in; only ACKs matter (URG, text and
 * FIN "should not occur" and are ignored; a repeated FIN was trimmed in step 1 and
 * re-ACKed). */
static void in_closing_states(struct tcp_sock *c, struct tcp_seg *s)
{
	if (!steps_1_to_5(c, s))
		return;
	if (!our_fin_acked(c))
		return;
	if (c->state == TCP_CLOSING)
		tcp_enter_time_wait(c);
	else if (c->state == TCP_LAST_ACK)
		tcp_done(c, 0);
}

/* TIME-WAIT: re-ACK a repeated FIN and restart 2MSL; a new SYN may reopen (MAY-2, RFC
 * 6191 as Linux applies it: not PAWS-old, and sequence or timestamp newer). */
static bool in_time_wait(struct tcp_sock *c, struct tcp_seg *s)
{
	struct tcp_stack *t = c->t;
	if ((s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
		bool ts = c->ts_ok && (s->h.opt.has & TCP_HAS_TS);
		bool older = ts && seq_lt(s->h.opt.tsval, c->ts_recent);
		bool newer = seq_gt(s->h.seq, c->rcv_nxt) || (ts && seq_gt(s->h.opt.tsval, c->ts_recent));
		if (newer && !older) {
			tcp_mib(t, TCP_MIB_TWRecycled);
			tcp_done(c, 0);
			return true;            /* hand the SYN to the listener */
		}
	}
	if ((s->flags & TCP_FIN) && !(s->flags & TCP_RST) && s->h.seq + s->dlen + 1 == c->rcv_nxt) {
		/* Restart 2*MSL (RFC 9293 §3.10.7.4): to the FIFO's tail, which stays in expiry order. */
		c->t_conn = t->now + (uint64_t)t->cfg.time_wait_ms * TCP_NS_PER_MS;
		tcp_tw_unlink(t, c);
		tcp_tw_push(t, c);
		tcp_send_ack(c);
		return false;
	}
	if (!step1_seq(c, s))
		return false;
	if (s->flags & TCP_RST) {
		if (step2_rst(c, s))
			peer_reset(c);
		return false;
	}
	if (s->flags & TCP_SYN)
		step4_syn(c);
	return false;
}

/* RFC 9293 §3.10.7.1: no TCB. */
static void closed_input(struct tcp_stack *t, const struct tcp_seg *s)
{
	tcp_mib(t, TCP_MIB_NoConnDrop);
	tcp_reply_rst(t, s);
}

/* Bookkeeping every accepted-for-processing segment shares. */
static void conn_rcv_stamp(struct tcp_sock *c)
{
	c->segs_in++;
	c->last_rcv_ns = c->t->now;
	if (c->keepalive)
		tcp_keepalive_reset(c);
}

/* Dispatch to the state's handler, then send what became sendable. true: the TCB
 * left TIME-WAIT for a new SYN, which the caller gives to the listener. */
static bool input_conn(struct tcp_sock *c, struct tcp_seg *s)
{
	conn_rcv_stamp(c);
	bool reopen = false;
	switch (c->state) {
	case TCP_SYN_SENT: in_syn_sent(c, s); break;
	case TCP_SYN_RECEIVED: in_syn_received(c, s); break;
	case TCP_ESTABLISHED: in_established(c, s); break;
	case TCP_FIN_WAIT_1: in_fin_wait_1(c, s); break;
	case TCP_FIN_WAIT_2: in_fin_wait_2(c, s); break;
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK: in_closing_states(c, s); break;
	case TCP_TIME_WAIT: reopen = in_time_wait(c, s); break;
	default: break;
	}
	if (c->state != TCP_CLOSED)
		tcp_output(c);
	return reopen;
}

void tcp_input_conn(struct tcp_sock *c, struct tcp_seg *s)
{
	input_conn(c, s);
}

static void input_chain(struct tcp_stack *t, struct pkt *p, uint32_t src, uint32_t dst);

/* Validation, lookup and dispatch of one segment; chain: p is a GRO chain head (gro.h),
 * whose text goes on in its pieces and which is freed whole. Inlined twice; the common
 * case tests for a chain only where a packet says its checksum was verified, as every
 * chain head does (one that did not would fail the checksum of its first piece alone:
 * dropped, and freed whole as every drop before that test frees). */
static inline __attribute__((always_inline)) void input_seg(struct tcp_stack *t, struct pkt *p,
							   uint32_t src, uint32_t dst, bool chain)
{
	const uint8_t *b = pkt_data(p);
	size_t len = p->len;
	struct tcp_seg s;
	if (!chain)
		tcp_mib(t, TCP_MIB_InSegs);     /* (a chain: counted where it was found) */
	if (tcp_wire_check(b, len) != WIRE_OK) {
		tcp_mib(t, TCP_MIB_BadHdr);
		tcp_mib(t, TCP_MIB_InErrs);
		goto drop_any;
	}
	/* A device that verified the checksum said so (PKT_F_CSUM_OK); nothing else is
	 * trusted (a frame it did not verify is checked here whatever it carries). */
	if (!(p->flags & PKT_F_CSUM_OK)) {
		if (!tcp_wire_csum_ok(b, len, src, dst)) {
			tcp_mib(t, TCP_MIB_InCsumErrors);
			tcp_mib(t, TCP_MIB_InErrs);
			goto drop_any;
		}
	} else if (!chain && __builtin_expect(p->flags & PKT_F_GRO_CHAIN, 0)) {
		input_chain(t, p, src, dst);    /* a chain head always carries CSUM_OK (gro.h) */
		return;
	}
	if (bad_addr(src, dst)) {
		tcp_mib(t, TCP_MIB_BadAddr);
		goto drop;
	}
	if (tcp_wire_parse(b, len, &s.h) != WIRE_OK) {
		tcp_mib(t, TCP_MIB_BadOpt);
		tcp_mib(t, TCP_MIB_InErrs);
		goto drop;
	}
	if (s.h.sport == 0 || s.h.dport == 0) {
		tcp_mib(t, TCP_MIB_BadHdr);
		tcp_mib(t, TCP_MIB_InErrs);
		goto drop;
	}
	s.src = src;
	s.dst = dst;
	s.seq = s.h.seq;
	s.flags = s.h.flags;
	s.data = b + s.h.doff;
	s.dlen = s.dlen0 = (uint32_t)(len - s.h.doff);
	if (chain) {
		s.more = p->next;       /* pieces whose checksums GRO verified, one by one */
		s.dlen = gro_seg_len(p) - s.h.doff;
	}
	struct tcp_sock *c = tcp_lookup(t, dst, s.h.dport, src, s.h.sport);
	if (c && !input_conn(c, &s))
		goto drop;
	struct tcp_sock *l = tcp_lookup_listener(t, dst, s.h.dport);
	if (l)
		tcp_listen_input(l, &s);
	else
		closed_input(t, &s);
drop:
	if (chain)
		gro_seg_free(p);
	else
		pkt_free(p);
	return;
drop_any:               /* before the chain test: whatever p is, all of it goes */
	gro_seg_free(p);
}

static __attribute__((noinline)) void input_chain(struct tcp_stack *t, struct pkt *p, uint32_t src,
						  uint32_t dst)
{
	input_seg(t, p, src, dst, true);
}

void tcp_input_one(struct tcp_stack *t, struct pkt *p, uint32_t src, uint32_t dst)
{
	input_seg(t, p, src, dst, false);
}

/* ---- ICMP errors (RFC 9293 §3.9.2.2, RFC 1122 §4.2.3.9, RFC 1191, RFC 5927) ---------- */

/* RFC 1191 §7: next plateau below a datagram of size len, for routers that do not
 * report the next-hop MTU. */
static uint16_t mtu_plateau(uint16_t len)
{
	static const uint16_t plateaus[] = { 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68 };
	for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
		if (plateaus[i] < len)
			return plateaus[i];
	return 68;
}

/* Resend what went out too big, now in smaller pieces or without DF; no congestion
 * response (the loss was not congestion). In recovery (or loss) the holes went out
 * the old way too and no SACK will come for them: only the RTO, a congestion event,
 * would resend them. So go back N from SND.UNA as the RTO does (tcp_timer.c), cwnd and
 * ssthresh left as they are (Linux tcp_simple_retransmit enters Loss the same way). */
static void pmtu_resend(struct tcp_sock *c)
{
	if (c->state < TCP_ESTABLISHED || c->snd_una == c->snd_max)
		return;
	if (c->ca_state != TCP_CA_OPEN) {
		c->ca_state = TCP_CA_LOSS;
		c->recover = c->snd_max;
		c->dupacks = 0;
		tcp_sb_clear(c);
		c->high_rxt = c->snd_una;
	}
	c->snd_nxt = c->snd_una;
	c->rtt_timing = false;
	tcp_output(c);
}

/* A path MTU below TCP_MIN_PMTU is not followed down (a forged report must not cut
 * segments to a few bytes each), but it is believed: segments of the floor's size go
 * without DF from then on, so the router that reported it fragments them instead of
 * dropping them for good (Linux: ip_rt_min_pmtu locks the route's MTU, and
 * ip_dont_fragment() is false on a locked route). */
void tcp_pmtu_lower(struct tcp_sock *c, uint16_t mtu, uint16_t quoted_len)
{
	if (mtu == 0)
		mtu = mtu_plateau(quoted_len);
	bool df_dropped = false;
	if (mtu < TCP_MIN_PMTU) {
		tcp_mib(c->t, TCP_MIB_TCPMTUPFail);
		mtu = TCP_MIN_PMTU;
		df_dropped = !c->no_df;
		c->no_df = true;
		c->no_df_until = c->t->now + TCP_NO_DF_NS;
	}
	if (mtu >= c->pmtu && !df_dropped)
		return;
	if (mtu < c->pmtu) {
		c->pmtu = mtu;
		uint32_t m = (uint32_t)mtu - 40 - (c->ts_ok ? 12 : 0);
		if (m < c->mss)
			c->mss = (uint16_t)(m < TCP_MIN_MSS ? TCP_MIN_MSS : m);
	}
	pmtu_resend(c);
}

void tcp_icmp_error(struct tcp_stack *t, uint8_t type, uint8_t code, uint16_t next_mtu,
		    const uint8_t *q, size_t len)
{
	if (len < 20 || (q[0] >> 4) != 4)
		return;
	size_t ihl = (size_t)(q[0] & 0xf) * 4;
	if (ihl < 20 || len < ihl + 8 || q[9] != 6)
		return;
	uint32_t src = wire_get32(q + 12), dst = wire_get32(q + 16);
	const uint8_t *th = q + ihl;
	uint16_t sport = wire_get16(th), dport = wire_get16(th + 2);
	uint32_t seq = wire_get32(th + 4);
	tcp_enter(t);
	tcp_now(t);
	struct tcp_sock *c = tcp_lookup(t, src, sport, dst, dport);
	if (!c || c->state == TCP_TIME_WAIT)
		goto out;
	/* RFC 5927 §4.1: only an error about data in flight is believed. A frag-needed
	 * must quote SND.UNA <= SEG.SEQ < SND.MAX strictly: a segment too big for a link
	 * carried data (or SYN/FIN), so it began below SND.MAX; SEG.SEQ == SND.MAX is a
	 * zero-length segment no MTU >= 68 refuses, i.e. a forgery (with nothing in flight,
	 * one guessed number would turn DF off for good: tcp_pmtu_lower). */
	bool too_big = type == 3 && code == 4;
	if (!seq_geq(seq, c->snd_una) || !seq_leq(seq, c->snd_max) ||
	    (too_big && seq == c->snd_max)) {
		tcp_mib(t, TCP_MIB_OutOfWindowIcmps);
		goto out;
	}
	if (too_big) {
		tcp_pmtu_lower(c, next_mtu, wire_get16(q + 2));
	} else if (type == 3) {
		int err = code == 0 ? -NET_ENETUNREACH : code == 3 ? -NET_ECONNREFUSED : -NET_EHOSTUNREACH;
		/* Codes 2-4 are hard errors (SHLD-26) but only while connecting; in a
		 * synchronized state they are soft (RFC 5461), 0/1/5 always are (MUST-56). */
		if (c->state == TCP_SYN_SENT && (code == 2 || code == 3)) {
			tcp_mib(t, TCP_MIB_AttemptFails);
			tcp_done(c, err);
		} else {
			c->soft_err = err;      /* reported if the connection times out */
		}
	} else if (type == 11 || type == 12) {
		c->soft_err = -NET_EHOSTUNREACH;        /* MUST-56: never abort */
	}
	/* type 4 (source quench): silently ignored (MUST-55). */
out:
	tcp_leave(t, true);
}
