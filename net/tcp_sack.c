/*
 * Selective acknowledgments and loss recovery.
 *   Sender: the SACK scoreboard (RFC 2018; a sorted array of at most TCP_SB_MAX ranges,
 *   so a peer's blocks cannot make us allocate or walk without bound, cf. CVE-2019-11477),
 *   RFC 6675 loss recovery (IsLost, SetPipe, NextSeg with the rescue retransmission) and
 *   NewReno (RFC 6582) for peers without SACK; the entry and exit of fast recovery.
 *   Receiver: the out-of-order ranges of the receive buffer (at most TCP_OOO_MAX) and
 *   the SACK blocks we report, most recent first (RFC 2018 §4).
 *
 * Call order: step5_ack (tcp_in.c) -> tcp_sb_update, tcp_ack_recovery ->
 *   tcp_enter_recovery; tcp_output (tcp_out.c) -> tcp_sack_recovery_xmit -> next_seg.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

/* ---- sorted range arrays --------------------------------------------------------------- */

/* Adds [s, e) to a sorted array of disjoint ranges, merging what touches it. Returns
 * 1 if bytes were added, 0 if already covered, -1 if the array is full. */
static int ranges_add(struct tcp_range *r, uint8_t *n, uint8_t max, uint32_t s, uint32_t e, uint32_t stamp)
{
	int i = 0;
	while (i < *n && seq_lt(r[i].end, s))
		i++;
	int j = i;
	uint32_t ns = s, ne = e, covered = 0;
	while (j < *n && seq_leq(r[j].start, e)) {
		ns = seq_min(ns, r[j].start);
		ne = seq_max(ne, r[j].end);
		covered += r[j].end - r[j].start;
		j++;
	}
	if (j > i) {
		r[i] = (struct tcp_range){ ns, ne, stamp };
		if (j - i > 1)
			memmove(&r[i + 1], &r[j], (size_t)(*n - j) * sizeof(*r));
		*n = (uint8_t)(*n - (j - i - 1));
		return ne - ns > covered ? 1 : 0;
	}
	if (*n >= max)
		return -1;
	memmove(&r[i + 1], &r[i], (size_t)(*n - i) * sizeof(*r));
	r[i] = (struct tcp_range){ s, e, stamp };
	(*n)++;
	return 1;
}

static void ranges_remove(struct tcp_range *r, uint8_t *n, int i)
{
	memmove(&r[i], &r[i + 1], (size_t)(*n - i - 1) * sizeof(*r));
	(*n)--;
}

/* ---- sender scoreboard --------------------------------------------------------------- */

void tcp_sb_update(struct tcp_sock *c, const struct tcp_opts *o, bool *newly)
{
	struct tcp_stack *t = c->t;
	*newly = false;
	for (int b = 0; b < o->nsack && b < TCP_MAX_SACK; b++) {
		uint32_t s = o->sack[b].start, e = o->sack[b].end;
		/* Only blocks inside what is outstanding; D-SACKs (RFC 2883) and junk go. */
		if (!seq_lt(s, e) || seq_gt(e, c->snd_max) || !seq_gt(e, c->snd_una) ||
		    e - s > c->snd_max - c->snd_una) {
			tcp_mib(t, TCP_MIB_TCPSACKDiscard);
			continue;
		}
		if (seq_lt(s, c->snd_una))
			s = c->snd_una;
		int r = ranges_add(c->sb, &c->nsb, TCP_SB_MAX, s, e, 0);
		if (r > 0)
			*newly = true;
		else if (r < 0)
			tcp_mib(t, TCP_MIB_TCPSACKDiscard);
	}
}

void tcp_sb_clear(struct tcp_sock *c)
{
	c->nsb = 0;
}

void tcp_sb_trim(struct tcp_sock *c)
{
	while (c->nsb && seq_leq(c->sb[0].end, c->snd_una))
		ranges_remove(c->sb, &c->nsb, 0);
	if (c->nsb && seq_lt(c->sb[0].start, c->snd_una))
		c->sb[0].start = c->snd_una;
}

uint32_t tcp_sb_sacked_bytes(const struct tcp_sock *c)
{
	uint32_t n = 0;
	for (int i = 0; i < c->nsb; i++)
		n += c->sb[i].end - c->sb[i].start;
	return n;
}

/* The hole before sb[k] (k == nsb: the tail after the last block, never lost) is lost
 * when DupThresh blocks, or more than (DupThresh-1)*SMSS SACKed bytes, lie above it
 * (RFC 6675 §4 IsLost). Every octet of a hole has the same blocks above it. */
static bool hole_lost(const struct tcp_sock *c, int k)
{
	if (k >= c->nsb)
		return false;
	uint64_t bytes = 0;
	for (int j = k; j < c->nsb; j++)
		bytes += c->sb[j].end - c->sb[j].start;
	return c->nsb - k >= TCP_DUPTHRESH || bytes > (uint64_t)(TCP_DUPTHRESH - 1) * c->mss;
}

bool tcp_sb_is_lost(const struct tcp_sock *c, uint32_t seq)
{
	int k = 0;
	while (k < c->nsb && seq_leq(c->sb[k].start, seq)) {
		if (seq_lt(seq, c->sb[k].end))
			return false;           /* SACKed */
		k++;
	}
	return hole_lost(c, k);
}

uint32_t tcp_sb_lost_bytes(const struct tcp_sock *c)
{
	uint32_t lost = 0, a = c->snd_una;
	for (int k = 0; k < c->nsb; k++) {
		if (seq_lt(a, c->sb[k].start) && hole_lost(c, k))
			lost += c->sb[k].start - a;
		a = seq_max(a, c->sb[k].end);
	}
	return lost;
}

/* RFC 6675 §4 SetPipe: per unSACKed octet, +1 unless lost, +1 more if retransmitted. */
uint32_t tcp_sb_pipe(const struct tcp_sock *c)
{
	uint32_t pipe = 0, a = c->snd_una;
	for (int k = 0; k <= c->nsb; k++) {
		uint32_t b = k < c->nsb ? c->sb[k].start : c->snd_max;
		if (seq_lt(a, b)) {
			if (!hole_lost(c, k))
				pipe += b - a;
			if (seq_gt(c->high_rxt, a))
				pipe += seq_min(b, c->high_rxt) - a;
		}
		if (k < c->nsb)
			a = seq_max(a, c->sb[k].end);
	}
	return pipe;
}

/* Resends one segment of [seq, end) (FIN included if it lies there). */
static bool rtx_range(struct tcp_sock *c, uint32_t seq, uint32_t end, bool move_high)
{
	uint32_t mss = tcp_payload_max(c);
	if (seq_gt(end, seq + mss))
		end = seq + mss;
	uint32_t dend = seq_min(end, c->snd_buf_end);
	uint32_t len = seq_gt(dend, seq) ? dend - seq : 0;
	bool fin = c->fin_queued && seq_gt(end, c->snd_buf_end) && seq_gt(c->snd_max, c->snd_buf_end);
	if (!len && !fin)
		return false;
	uint8_t flags = TCP_ACK | (fin ? TCP_FIN : 0);
	if (len && dend == c->snd_buf_end)
		flags |= TCP_PSH;
	c->rtt_timing = false;          /* Karn */
	if (tcp_xmit(c, seq, len, flags) != 0)
		return false;
	if (move_high && seq_gt(end, c->high_rxt))
		c->high_rxt = end;
	return true;
}

/* RFC 6675 §4 NextSeg, and send it. */
static bool next_seg(struct tcp_sock *c)
{
	uint32_t a = c->snd_una;
	for (int k = 0; k < c->nsb; k++) {                     /* rule 1: lost holes */
		uint32_t s = seq_max(a, c->high_rxt);
		if (seq_lt(s, c->sb[k].start) && hole_lost(c, k))
			return rtx_range(c, s, c->sb[k].start, true);
		a = seq_max(a, c->sb[k].end);
	}
	if (tcp_send_new(c, false, true))                       /* rule 2: new data */
		return true;
	a = c->snd_una;
	for (int k = 0; k < c->nsb; k++) {                     /* rule 3: any hole */
		uint32_t s = seq_max(a, c->high_rxt);
		if (seq_lt(s, c->sb[k].start))
			return rtx_range(c, s, c->sb[k].start, true);
		a = seq_max(a, c->sb[k].end);
	}
	if (!c->rescue_done && c->snd_max != c->snd_una) {     /* rule 4: rescue, once */
		uint32_t hs = c->nsb ? c->sb[c->nsb - 1].end : c->snd_una, he = c->snd_max;
		if (!seq_lt(hs, he)) {
			/* Everything above the last block is SACKed: the last hole below it. */
			hs = c->snd_una;
			he = c->nsb ? c->sb[c->nsb - 1].start : c->snd_max;
			for (int k = 0; k + 1 < c->nsb; k++)
				if (seq_lt(c->sb[k].end, c->sb[k + 1].start))
					hs = c->sb[k].end;
		}
		c->rescue_done = true;
		if (seq_lt(hs, he)) {
			uint32_t mss = tcp_payload_max(c);
			uint32_t s = seq_gt(he - hs, mss) ? he - mss : hs;
			return rtx_range(c, s, he, false);      /* HighRxt not updated */
		}
	}
	return false;
}

void tcp_sack_recovery_xmit(struct tcp_sock *c)
{
	for (int i = 0; i < 256; i++) {
		if ((uint64_t)tcp_sb_pipe(c) + c->mss > c->cwnd)
			break;                  /* cwnd - pipe < 1 SMSS */
		if (tcp_pacing_hold(c))
			break;                  /* Linux paces recovery too */
		if (!next_seg(c))
			break;
	}
}

/* Fast retransmit and entry to fast recovery (RFC 5681 §3.2, RFC 6582 §3.2 step 2,
 * RFC 6675 §5 step 4). */
void tcp_enter_recovery(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	c->ssthresh = c->cc->ssthresh(c);
	c->recover = c->snd_max;
	c->ca_state = TCP_CA_RECOVERY;
	c->rtt_timing = false;
	c->rescue_done = false;
	c->high_rxt = c->snd_una;
	tcp_mib(t, TCP_MIB_TCPFastRetrans);
	if (c->sack_ok) {
		tcp_mib(t, TCP_MIB_TCPSackRecovery);
		c->cwnd = c->ssthresh;
		uint32_t end = c->nsb ? c->sb[0].start : c->snd_max;
		rtx_range(c, c->snd_una, end, true);            /* the first hole, now */
		tcp_sack_recovery_xmit(c);
	} else {
		tcp_mib(t, TCP_MIB_TCPRenoRecovery);
		tcp_retransmit_head(c);
		c->cwnd = c->ssthresh + TCP_DUPTHRESH * c->mss;
	}
}

static void exit_recovery(struct tcp_sock *c)
{
	/* RFC 6582 §3.2 step 4 (full ACK): min(ssthresh, max(FlightSize, SMSS) + SMSS). */
	uint32_t flight = tcp_flight(c);
	uint32_t w = (flight > c->mss ? flight : c->mss) + c->mss;
	c->cwnd = w < c->ssthresh ? w : c->ssthresh;
	c->ca_state = TCP_CA_OPEN;
	c->dupacks = 0;
	c->high_rxt = c->snd_una;
}

/* Flight before this ACK used the window, so growing it means something (RFC 7661). */
static bool cwnd_limited(const struct tcp_sock *c, uint32_t acked)
{
	uint64_t fb = (uint64_t)tcp_flight(c) + acked;
	if (c->cwnd < c->ssthresh)
		return 2 * fb >= c->cwnd;
	return fb + c->mss >= c->cwnd;
}

void tcp_ack_recovery(struct tcp_sock *c, uint32_t acked, bool dup, bool sack_new)
{
	uint64_t now = c->t->now;
	switch (c->ca_state) {
	case TCP_CA_RECOVERY:
		if (seq_geq(c->snd_una, c->recover)) {
			exit_recovery(c);
			return;
		}
		if (seq_lt(c->high_rxt, c->snd_una))
			c->high_rxt = c->snd_una;
		if (c->sack_ok)
			return;                 /* tcp_output runs the pipe loop */
		if (acked) {
			/* NewReno partial ACK (RFC 6582 §3.2 step 5): the next hole now;
			 * deflate by what was acknowledged, add back one SMSS. */
			tcp_retransmit_head(c);
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : c->mss;
			if (acked >= c->mss)
				c->cwnd += c->mss;
		} else if (dup) {
			c->cwnd += c->mss;      /* step 3: inflate per duplicate */
		}
		return;
	case TCP_CA_LOSS:
		if (seq_geq(c->snd_una, c->recover)) {
			c->ca_state = TCP_CA_OPEN;
			c->dupacks = 0;
		}
		if (acked)
			c->cc->cong_avoid(c, acked, now);
		return;
	default:
		break;
	}
	if (acked) {
		c->dupacks = 0;
		if (cwnd_limited(c, acked))
			c->cc->cong_avoid(c, acked, now);
	} else if (dup || (c->sack_ok && sack_new && c->snd_max != c->snd_una)) {
		c->dupacks++;
	} else {
		return;
	}
	bool lost = c->sack_ok && c->nsb && tcp_sb_is_lost(c, c->snd_una);
	if ((c->dupacks >= TCP_DUPTHRESH || lost) && seq_geq(c->snd_una, c->recover) &&
	    c->snd_max != c->snd_una)
		tcp_enter_recovery(c);
}

/* ---- receiver: out-of-order ranges and the SACK blocks we send ---------------------- */

int tcp_rcv_ooo_add(struct tcp_sock *c, uint32_t start, uint32_t end)
{
	c->ooo_stamp++;
	int r = ranges_add(c->ooo, &c->nooo, TCP_OOO_MAX, start, end, c->ooo_stamp);
	return r < 0 ? -1 : 0;
}

void tcp_rcv_ooo_advance(struct tcp_sock *c)
{
	while (c->nooo && seq_leq(c->ooo[0].start, c->rcv_nxt)) {
		if (seq_gt(c->ooo[0].end, c->rcv_nxt))
			c->rcv_nxt = c->ooo[0].end;
		ranges_remove(c->ooo, &c->nooo, 0);
	}
}

size_t tcp_rcv_sack_blocks(struct tcp_sock *c, struct tcp_sack_block *out, size_t max)
{
	bool used[TCP_OOO_MAX] = { false };
	size_t n = 0;
	while (n < max && n < c->nooo) {
		int best = -1;
		for (int i = 0; i < c->nooo; i++)
			if (!used[i] && (best < 0 || c->ooo[i].age > c->ooo[best].age))
				best = i;
		used[best] = true;
		out[n].start = c->ooo[best].start;
		out[n].end = c->ooo[best].end;
		n++;
	}
	return n;
}
