/*
 * Timers, run from tcp_poll(): retransmission (RFC 6298: SRTT/RTTVAR, Karn, backoff,
 * RTO floor cfg.rto_min_ms), SYN and SYN-ACK retries (RFC 9293 §3.8.3 R1/R2, MUST-20..23),
 * persist (zero-window probes, §3.8.6.1), delayed ACK (§3.8.6.3, <= 500 ms), keep-alive
 * (§3.8.4, off by default) and the connection timer (TIME-WAIT 2*MSL, orphaned
 * FIN-WAIT-2).
 *
 * Each TCB has five deadlines (absolute ns, 0 = off): t_rtx (retransmit or persist),
 * t_delack, t_keep, t_conn, and t_pace (pacing held data: tcp_output again).
 */
#include "net/tcp_int.h"

/* RFC 6298 §2: alpha 1/8, beta 1/4, K 4; G is our 1 us clock, folded into the floor. */
void tcp_rtt_sample(struct tcp_sock *c, uint64_t rtt_ns)
{
	struct tcp_config *cfg = &c->t->cfg;
	uint64_t r64 = rtt_ns / TCP_NS_PER_US;
	uint32_t r = r64 == 0 ? 1 : r64 > 0x7fffffff ? 0x7fffffff : (uint32_t)r64;
	if (r < c->min_rtt_us)
		c->min_rtt_us = r;
	if (c->srtt_us == 0) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
	} else {
		uint32_t delta = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		c->rttvar_us = (uint32_t)(((uint64_t)3 * c->rttvar_us + delta) / 4);
		c->srtt_us = (uint32_t)(((uint64_t)7 * c->srtt_us + r) / 8);
	}
	uint64_t rto = (uint64_t)c->srtt_us + (c->rttvar_us * 4ull > 1000 ? c->rttvar_us * 4ull : 1000);
	uint64_t lo = (uint64_t)cfg->rto_min_ms * 1000, hi = (uint64_t)cfg->rto_max_ms * 1000;
	c->rto_us = (uint32_t)(rto < lo ? lo : rto > hi ? hi : rto);
	c->rtx_shift = 0;               /* Karn: a valid sample ends the backoff */
}

/* tcp_rto_ns with a backoff (rtx_shift > 0): doubled per timeout, up to rto_max. */
uint64_t tcp_rto_backoff_ns(const struct tcp_sock *c)
{
	uint64_t hi = (uint64_t)c->t->cfg.rto_max_ms * TCP_NS_PER_MS;
	uint64_t rto = (uint64_t)c->rto_us * TCP_NS_PER_US;
	for (uint8_t i = 0; i < c->rtx_shift && rto < hi; i++)
		rto <<= 1;
	return rto < hi ? rto : hi;
}

void tcp_delack_schedule(struct tcp_sock *c)
{
	c->ack_pending = true;
	if (!c->t_delack)
		tcp_arm(c, &c->t_delack, c->t->now + (uint64_t)c->t->cfg.delack_ms * TCP_NS_PER_MS);
}

void tcp_keepalive_reset(struct tcp_sock *c)
{
	c->kprobes = 0;
	if (!c->keepalive || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)) {
		c->t_keep = 0;
		return;
	}
	tcp_arm(c, &c->t_keep, c->t->now + (uint64_t)c->keep_idle_s * 1000000000ull);
}

static void give_up(struct tcp_sock *c, bool rst)
{
	struct tcp_stack *t = c->t;
	tcp_mib(t, TCP_MIB_TCPAbortOnTimeout);
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
		tcp_mib(t, TCP_MIB_EstabResets);
	if (rst)
		tcp_send_rst(c);
	tcp_done(c, c->soft_err ? c->soft_err : -NET_ETIMEDOUT);
}

/* SYN or SYN-ACK unanswered: resend with backoff, or give up after the retries
 * (MUST-22: the same mechanism as for data; MUST-23: >= 3 minutes by default). */
static void syn_timeout(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	uint8_t max = c->state == TCP_SYN_SENT ? t->cfg.syn_retries : t->cfg.synack_retries;
	if (c->rtx_count >= max) {
		tcp_mib(t, TCP_MIB_AttemptFails);
		tcp_mib(t, TCP_MIB_TCPTimeouts);
		tcp_done(c, c->soft_err ? c->soft_err : -NET_ETIMEDOUT);
		return;
	}
	tcp_mib(t, TCP_MIB_TCPTimeouts);
	c->rtx_count++;
	if (c->rtx_shift < 30)
		c->rtx_shift++;
	c->syn_rtx = true;
	c->rtt_timing = false;
	tcp_send_syn(c);
}

/* R2 for this connection: an orphan gets the shorter series (Linux tcp_orphan_retries). */
static uint8_t max_retries(const struct tcp_sock *c)
{
	const struct tcp_config *cfg = &c->t->cfg;
	return c->orphan && cfg->orphan_retries < cfg->retries2 ? cfg->orphan_retries : cfg->retries2;
}

static bool timed_out(struct tcp_sock *c, uint64_t now)
{
	if (c->user_timeout_ms && c->rtx_stamp_ns)
		return now - c->rtx_stamp_ns >= (uint64_t)c->user_timeout_ms * TCP_NS_PER_MS;
	return c->rtx_count >= max_retries(c);
}

/* An orphan that times out while memory is tight, or while there are too many
 * orphans, is reset instead of retried (Linux tcp_out_of_resources). */
static bool out_of_resources(struct tcp_sock *c)
{
	struct tcp_stack *t = c->t;
	if (!c->orphan || (!t->mem_pressure && t->norphans <= t->cfg.max_orphans))
		return false;
	tcp_mib(t, TCP_MIB_TCPAbortOnMemory);
	tcp_send_rst(c);
	tcp_done(c, -NET_ENOMEM);
	return true;
}

/* RFC 6298 §5.4-5.6 and RFC 5681 §3.1 (loss window, ssthresh once per series). */
static void rto_expired(struct tcp_sock *c, uint64_t now)
{
	struct tcp_stack *t = c->t;
	if (c->snd_una == c->snd_max) {
		c->t_rtx = 0;
		return;
	}
	if (out_of_resources(c))
		return;
	if (timed_out(c, now)) {
		give_up(c, false);
		return;
	}
	if (c->rtx_count == t->cfg.retries1 && t->env.route_advice)
		t->env.route_advice(t->env.ctx, c->raddr);      /* MUST-20: negative advice */
	tcp_mib(t, TCP_MIB_TCPTimeouts);
	if (c->rtx_count == 0) {
		c->rtx_stamp_ns = now;
		c->ssthresh = c->cc->ssthresh(c);
		c->cc->on_rto(c);
	}
	c->rtx_count++;
	if (c->rtx_shift < 30)
		c->rtx_shift++;
	c->cwnd = c->mss;
	c->cwnd_acc = 0;
	c->ca_state = TCP_CA_LOSS;
	c->recover = c->snd_max;
	c->dupacks = 0;
	tcp_sb_clear(c);                /* RFC 2018 §8: the receiver may have reneged */
	c->high_rxt = c->snd_una;
	c->snd_nxt = c->snd_una;        /* go back N from the hole */
	c->rtt_timing = false;
	if (tcp_retransmit_head(c))
		tcp_mib(t, TCP_MIB_TCPSlowStartRetrans);
	c->persist = false;
	tcp_arm(c, &c->t_rtx, now + tcp_rto_ns(c));
	tcp_update_pacing_rate(c);
}

static void persist_expired(struct tcp_sock *c, uint64_t now)
{
	struct tcp_stack *t = c->t;
	/* MUST-37: a window may stay shut as long as the peer answers; give up only
	 * when retries2 probes in a row went unanswered (orphans: in total). */
	if (out_of_resources(c))
		return;
	if (c->probes >= max_retries(c) ||
	    (c->user_timeout_ms && now - c->last_ack_ns >= (uint64_t)c->user_timeout_ms * TCP_NS_PER_MS)) {
		give_up(c, !c->app_owned);
		return;
	}
	c->probes++;
	if (c->persist_shift < 30)
		c->persist_shift++;
	tcp_mib(t, TCP_MIB_TCPWinProbe);
	tcp_persist_probe(c);
	uint64_t iv = (uint64_t)c->rto_us * TCP_NS_PER_US;
	uint64_t hi = (uint64_t)t->cfg.rto_max_ms * TCP_NS_PER_MS;
	for (uint8_t i = 0; i < c->persist_shift && iv < hi; i++)
		iv <<= 1;                               /* SHLD-30: exponential backoff */
	if (iv < TCP_PERSIST_MIN_MS * TCP_NS_PER_MS)
		iv = TCP_PERSIST_MIN_MS * TCP_NS_PER_MS;
	c->persist = true;
	tcp_arm(c, &c->t_rtx, now + (iv < hi ? iv : hi));
}

static void keepalive_expired(struct tcp_sock *c, uint64_t now)
{
	struct tcp_stack *t = c->t;
	if (!c->keepalive || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)) {
		c->t_keep = 0;
		return;
	}
	if (c->snd_una != c->snd_max || c->snd_buf_end != c->snd_max) {
		/* Data outstanding or queued: retransmission/persist watch the peer. */
		tcp_arm(c, &c->t_keep, now + (uint64_t)c->keep_intvl_s * 1000000000ull);
		return;
	}
	if (c->kprobes >= c->keep_cnt) {
		give_up(c, true);
		return;
	}
	/* <SEQ=SND.UNA-1><ACK=RCV.NXT>, no data (SHLD-12): the peer must answer. */
	c->kprobes++;
	tcp_mib(t, TCP_MIB_TCPKeepAlive);
	tcp_xmit(c, c->snd_una - 1, 0, TCP_ACK);
	tcp_arm(c, &c->t_keep, now + (uint64_t)c->keep_intvl_s * 1000000000ull);
}

static void conn_expired(struct tcp_sock *c)
{
	c->t_conn = 0;
	if (c->state == TCP_TIME_WAIT) {
		tcp_mib(c->t, TCP_MIB_TW);
		tcp_done(c, 0);
	} else if (c->state == TCP_FIN_WAIT_2 && !c->app_owned) {
		tcp_done(c, 0);
	}
}

void tcp_timers(struct tcp_sock *c, uint64_t now)
{
	if (c->state == TCP_CLOSED)
		return;
	if (c->t_conn && now >= c->t_conn) {
		conn_expired(c);
		if (c->state == TCP_CLOSED)
			return;
	}
	if (c->t_rtx && now >= c->t_rtx) {
		c->t_rtx = 0;
		if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
			syn_timeout(c);
		else if (c->persist)
			persist_expired(c, now);
		else
			rto_expired(c, now);
		if (c->state == TCP_CLOSED)
			return;
	}
	if (c->t_delack && now >= c->t_delack) {
		c->t_delack = 0;
		if (c->ack_pending) {
			tcp_mib(c->t, TCP_MIB_DelayedACKs);
			tcp_send_ack(c);
		}
	}
	if (c->t_keep && now >= c->t_keep)
		keepalive_expired(c, now);
	if (c->t_pace && (now >= c->t_pace || !c->t->cfg.pacing) && c->state != TCP_CLOSED) {
		c->t_pace = 0;
		tcp_output(c);          /* held data's departure time came (or pacing went off) */
	}
}
