/*
 * TCP internals shared by the tcp_*.c files: the TCB (RFC 9293 §3.3.1 names), the
 * sequence-number type, the parsed incoming segment, and the functions one file offers
 * another. Applications see none of this (net/tcp.h).
 */
#ifndef SKIFF_NET_TCP_INT_H
#define SKIFF_NET_TCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/tcp.h"
#include "net/tcp_wire.h"
#include "net/platform.h"
#include "net/dst.h"

/* ---- sequence numbers: modulo 2^32, compared by signed difference (RFC 9293 §3.4) --- */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }
/* lo <= a < hi */
static inline bool seq_in(uint32_t a, uint32_t lo, uint32_t hi) { return seq_geq(a, lo) && seq_lt(a, hi); }

#define TCP_NS_PER_MS 1000000ull
#define TCP_NS_PER_US 1000ull
#define TCP_DEFAULT_MSS 536     /* RFC 9293 MUST-15: no MSS option received */
#define TCP_MIN_MSS 88          /* below this a segment is mostly headers (Linux tcp_min_snd_mss 48) */
/* How long a path MTU report below TCP_MIN_PMTU keeps DF off: RFC 1191 §6.3 ages a
 * learnt PMTU after about 10 minutes, Linux's locked route MTU expires then too
 * (ip_rt_mtu_expires); a forged report's effect ends, a true one comes again. */
#define TCP_NO_DF_NS (600ull * 1000000000ull)
#define TCP_MIN_PMTU 576        /* floor for frag-needed (RFC 1191 plateau; Linux min_pmtu 552) */
#define TCP_INIT_CWND 10        /* segments, RFC 6928 */
#define TCP_OOO_MAX 16          /* out-of-order ranges kept per connection */
#define TCP_SB_MAX 16           /* SACK scoreboard ranges per connection */
#define TCP_DUPTHRESH 3
#define TCP_CHUNK_MIN 2048      /* copy chunk sizes in the send queue */
#define TCP_CHUNK_MAX 16384
#define TCP_CACHE_TCBS 16       /* freed objects kept per stack for reuse (tcp_alloc) */
#define TCP_CACHE_RBUFS 2
#define TCP_CACHE_CHUNKS 4
#define TCP_CACHE_IDLE_NS 1000000000ull /* unused this long: the caches go back to the heap */
#define TCP_CHACK_CONN_NS (500 * TCP_NS_PER_MS) /* per-connection challenge ACK spacing (tcp_invalid_ratelimit) */
#define TCP_PAWS_IDLE_NS (24ull * 24 * 3600 * 1000000000ull) /* RFC 7323 §5.5: 24 days */
#define TCP_SYN_RTO_AFTER_LOSS_MS 3000  /* RFC 6298 §5.7 */
#define TCP_PERSIST_MIN_MS 200
/* Pacing's timer granularity: the kernel loop wakes on the 1 ms APIC tick (or sooner on
 * a packet), so a held connection resumes up to a tick late. Data due within one tick
 * goes now, else a path needing more than one segment per tick could not get it. */
#define TCP_PACING_SLACK_NS (1 * TCP_NS_PER_MS)
/* One segment's pacing delay is at most 1 s (Linux fq_dequeue clamps a packet's delay to
 * NSEC_PER_SEC, stat_pkts_too_long): a peer that inflates srtt by delaying ACKs, or a
 * tiny cwnd, slows a connection to a couple of segments a second, never to a stop. */
#define TCP_PACING_MAX_GAP_NS (1000 * TCP_NS_PER_MS)
#define TCP_HEAP_DEFAULT (8ull << 20)    /* the kernel heap (kernel/main.c HEAP_PAGES) */
#define TCP_MEM_PRESSURE_PCT 50 /* of mem_max: new connections get TCP_RBUF_MIN */
#define TCP_RBUF_MIN 4096       /* receive buffer under pressure (Linux tcp_rmem[0]) */
#define TCP_SNDBUF_MIN 4096     /* copy budget under pressure (Linux tcp_wmem[0]) */
#define TCP_ORPHAN_RETRIES 8    /* Linux tcp_orphan_retries = 0 means 8 */
#define TCP_SEQ_NONE 0          /* tsecr/rtt markers use flags, not this */

enum tcp_state {
	TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

enum tcp_ca_state {
	TCP_CA_OPEN,            /* normal; dupacks may be counting */
	TCP_CA_RECOVERY,        /* fast recovery: NewReno (RFC 6582) or SACK (RFC 6675) */
	TCP_CA_LOSS,            /* after an RTO until snd_una passes recover */
};

/* One piece of the send queue: copied bytes (owned, data points just past the struct)
 * or a reference to application memory (send_ref). A copy chunk may be pinned by
 * super-segments in flight that point into it (pkt.h fragments, tcp_out.c sq_frags):
 * then it outlives its acknowledgement, its connection and the TCB's memory, and the
 * last of tcp_sq_ack/flush and its last unpin frees it (tcp_sendq.c). */
struct tcp_chunk {
	struct tcp_chunk *next;
	const uint8_t *data;
	uint32_t len;           /* bytes queued in this chunk */
	uint32_t cap;           /* copy chunks: capacity; refs: 0 */
	tcp_done_fn done;
	void *arg;
	int err;                /* completion status once finished */
	uint32_t pins;          /* copy chunks: packets in flight holding a fragment of it */
	bool acked;             /* left the send queue while pinned: the last unpin frees it */
	/* Set by tcp_sq_pin (not cleared for a new chunk: only read while pinned). */
	struct pkt_frag_owner own;      /* the packets' way back (unpin) */
	struct tcp_stack *t;    /* whose allocator frees it */
};

struct tcp_range {
	uint32_t start, end;    /* [start, end) */
	uint32_t age;           /* receive side: stamp of the last segment that touched it */
};

struct tcp_cubic {
	uint32_t w_max;         /* bytes, window before the last reduction */
	uint32_t k_ms;          /* time to reach w_max again */
	uint64_t epoch_ns;      /* start of this congestion-avoidance epoch, 0 = unset */
	uint32_t w_est;         /* Reno-friendly estimate, bytes (RFC 9438 §4.3) */
	uint32_t cwnd_prior;    /* cwnd at the last reduction */
	uint64_t acc;           /* fractional growth, bytes * cwnd */
	uint64_t est_acc;
};

struct tcp_sock {
	struct tcp_sock *hnext;          /* hash chain */
	struct tcp_sock *next, *prev;    /* t->conns, t->listeners or the TIME-WAIT FIFO */
	struct tcp_sock *ev_next;        /* t->events */
	struct tcp_sock *reap_next;      /* t->reap */
	struct tcp_sock *q_next;         /* listener accept queue */
	struct tcp_stack *t;
	struct tcp_sock *listener;       /* passive opens until accepted */

	uint8_t state;                   /* enum tcp_state */
	uint8_t ca_state;                /* enum tcp_ca_state */
	bool passive;                    /* came from LISTEN (MUST-11) */
	bool is_listener;
	bool app_owned;                  /* the application holds a handle */
	bool hashed, on_events, on_reap, in_tw;
	uint32_t hash;                   /* tcp_hash of the 4-tuple, while hashed */
	bool counted;                    /* in t->nconns: from creation until CLOSED */
	bool orphan;                     /* app closed it; not CLOSED/TIME-WAIT (t->norphans) */
	bool nodelay, keepalive;
	bool cork;                       /* TCP_OPT_CORK: sends queue, uncorking sends */
	bool ts_ok, sack_ok, ws_ok;      /* negotiated options */
	bool fin_queued;                 /* shutdown/close: FIN after the data */
	bool fin_rcvd;                   /* the peer's FIN is in sequence (rcv_nxt passed it) */
	bool ooo_fin;                    /* a FIN arrived out of order at ooo_fin_seq */
	bool ack_now, ack_pending;       /* send an ACK at the end of this input / delayed */
	bool persist;                    /* rtx timer is the persist timer */
	bool rtt_timing;                 /* timing rtt_seq */
	bool want_send;                  /* app saw -EAGAIN: report TCP_EV_SEND */
	bool cwnd_limited;
	bool syn_rtx;                    /* SYN was retransmitted (RFC 6298 §5.7) */
	bool partial_ack_seen;           /* NewReno: first partial ACK reset the timer */
	bool rescue_done;
	bool urg_signalled;
	bool syncookie;                  /* created from a SYN cookie */
	bool in_acceptq;                 /* passive child: accept queue, else SYN queue */

	uint32_t laddr, raddr;
	uint16_t lport, rport;

	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint32_t snd_buf_end;            /* seq after the last byte queued (FIN goes here) */
	uint32_t snd_up;                 /* unused for sending: no urgent send API */
	uint8_t snd_wscale, rcv_wscale;
	uint16_t mss;                    /* effective send MSS (data bytes, TS excluded) */
	uint16_t peer_mss;               /* from the peer's MSS option */
	uint16_t adv_mss;                /* what we announced */
	uint16_t pmtu;
	uint16_t pmtu_local;             /* our own link's MTU, below pmtu: a segment IP refused
					  * (EMSGSIZE), applied once tcp_output's loop is done */
	uint16_t rcv_mss;                /* largest segment seen from the peer */
	bool no_df;                      /* the path's MTU is below TCP_MIN_PMTU: segments of
					  * that floor go without DF, for routers to fragment */
	uint64_t no_df_until;            /* ... until then (TCP_NO_DF_NS after the last report) */
	bool tx_csum;                    /* the device completes partial checksums */
	uint32_t gso_max;                /* super-segment payload cap; 0: MSS-sized segments */
	bool tx_sg;                      /* super-segments may point into the send queue (sq_frags) */

	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv;  /* rcv_adv: right edge last advertised */
	uint32_t rcv_user;               /* next seq the application reads */
	uint32_t rcv_up;                 /* urgent pointer (first non-urgent octet) */
	uint32_t ooo_fin_seq;
	uint32_t rcv_unacked;            /* bytes received since the last ACK we sent */

	/* RTT (RFC 6298), microseconds */
	uint32_t srtt_us, rttvar_us, rto_us, min_rtt_us;
	uint32_t rtt_seq;
	uint64_t rtt_start_ns;
	uint8_t rtx_shift;               /* RTO backoff exponent */
	uint8_t rtx_count;               /* consecutive timeouts without progress */
	uint8_t probes;                  /* zero-window probes unanswered */
	uint8_t kprobes;                 /* keepalive probes unanswered */
	uint8_t persist_shift;           /* persist backoff exponent (until the window opens) */
	uint64_t rtx_stamp_ns;           /* first retransmission of this series */

	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_offset, last_ack_sent;
	uint64_t ts_recent_ns;

	/* congestion control */
	uint32_t cwnd, ssthresh, recover, high_rxt, rescue_rxt;
	uint32_t dupacks, cwnd_acc;
	uint64_t idle_since_ns;
	struct tcp_cubic cubic;
	const struct tcp_cc_ops *cc;

	/* SACK scoreboard (sender) and out-of-order ranges (receiver): counts; the ranges
	 * themselves are the last fields */
	uint8_t nsb;
	uint8_t nooo;
	uint32_t ooo_stamp;

	/* timers: absolute ns, 0 = off */
	uint64_t t_rtx, t_delack, t_keep, t_conn;   /* t_conn: TIME-WAIT / FIN-WAIT-2 / SYN give-up */
	uint64_t t_pace;                 /* pacing held data back: resume output then */

	/* pacing (tcp_out.c; Linux sk_pacing_rate, tcp_wstamp_ns) */
	uint64_t pacing_rate;            /* bytes per second; 0: not paced (no RTT sample, ratio 0) */
	uint64_t pace_ns;                /* earliest departure time of the next data segment */
	uint64_t last_rcv_ns, last_snd_ns, last_ack_ns;

	/* buffers */
	uint8_t *rbuf;
	uint32_t rbuf_size;              /* power of two */
	bool rbuf_owed;                  /* counted in t->rbuf_owed (tcp_rbuf_owe) */
	struct tcp_chunk *sq_head, *sq_tail, *sq_done;
	struct tcp_chunk *sq_spare;      /* one acknowledged copy chunk kept for reuse */
	uint32_t sq_seq;                 /* seq of the first byte in sq_head at sq_off */
	uint32_t sq_off;
	uint32_t sq_copied;              /* bytes in copy chunks (counts against sndbuf) */
	uint32_t sndbuf;                 /* copy budget: cfg.sndbuf, grown by tcp_sndbuf_expand */
	uint32_t sndbuf_grown;           /* of which granted by autotuning (in t->sndbuf_grown) */
	uint32_t nrefs;
	struct tcp_chunk *cur_chunk;     /* cursor for the next send: chunk, offset, seq */
	uint32_t cur_off, cur_seq;

	/* listener */
	struct tcp_sock *acc_head, *acc_tail;
	uint32_t acc_len, syn_len, backlog;
	uint64_t synq_overflow_ns;       /* last time the SYN queue overflowed (cookies valid) */

	/* application */
	tcp_event_fn cb;
	void *user;
	unsigned events;
	int err, soft_err;
	uint32_t keep_idle_s, keep_intvl_s, keep_cnt, user_timeout_ms;
	uint8_t tos;
	uint64_t chack_last_ns;

	/* statistics for ss */
	uint64_t bytes_sent, bytes_retrans, bytes_acked, bytes_received;
	uint64_t segs_out, segs_in, data_segs_out, data_segs_in, delivered;
	uint32_t total_retrans, retrans_out;
	uint64_t rate_start_ns, rate_delivered0, delivery_bps;

	struct net_dst dst;              /* IP's cached route, neighbour, headers (env.ip_output_dst) */

	/* Sorted by seq; only sb[0, nsb) and ooo[0, nooo) are ever read, so a new TCB
	 * zeroes the fields above and leaves these (TCP_TCB_ZERO_LEN). */
	struct tcp_range sb[TCP_SB_MAX];
	struct tcp_range ooo[TCP_OOO_MAX];
};
/* What tcp_sock_new and tcp_listener_new zero: everything but the range arrays. */
#define TCP_TCB_ZERO_LEN offsetof(struct tcp_sock, sb)

/* An arriving segment after parsing; trimming to the window edits seq/data/flags. */
struct tcp_seg {
	struct tcp_hdr h;
	uint32_t src, dst;       /* IP addresses (peer, us) */
	uint32_t seq;
	uint8_t flags;
	/* The text: dlen bytes, the first dlen0 at data (dlen0 may exceed dlen once the
	 * end is trimmed); while dlen > dlen0 the rest is in the pieces of a GRO chain
	 * (net/gro.h) from more on, each piece's bytes at its data (more is read only
	 * then). Read it with tcp_in.c's seg_pull and text_copy. */
	const uint8_t *data;
	uint32_t dlen;
	uint32_t dlen0;
	const struct pkt *more;
};

static inline uint32_t seg_len(const struct tcp_seg *s)
{
	return s->dlen + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
}

/* Congestion control (tcp_cc.c). */
struct tcp_cc_ops {
	const char *name;
	void (*init)(struct tcp_sock *c);
	void (*cong_avoid)(struct tcp_sock *c, uint32_t acked, uint64_t now);
	uint32_t (*ssthresh)(struct tcp_sock *c);        /* on loss; also records w_max */
	void (*on_rto)(struct tcp_sock *c);
};
extern const struct tcp_cc_ops tcp_cc_reno, tcp_cc_cubic;
uint32_t tcp_cbrt(uint64_t x);

static inline void tcp_mib(struct tcp_stack *t, enum tcp_mib id) { t->mib[id]++; }
static inline uint64_t tcp_now(struct tcp_stack *t)
{
	if (t->env.clock_ns) {
		uint64_t n = t->env.clock_ns(t->env.ctx);
		if (n > t->now)
			t->now = n;
	}
	return t->now;
}
/* Sets one of c's timers. t->timer_lb stays a lower bound of every timer of the TCBs
 * on t->conns, so tcp_poll scans them only when one may be due (TIME-WAIT TCBs
 * expire from their FIFO instead). Every non-zero timer is set through here. */
/* tcp_poll must run by when: tells the stack's next deadline (env.wake_ns). */
static inline void tcp_wake(struct tcp_stack *t, uint64_t when)
{
	if (t->env.wake_ns && when < *t->env.wake_ns)
		*t->env.wake_ns = when;
}
static inline void tcp_arm(struct tcp_sock *c, uint64_t *tm, uint64_t when)
{
	*tm = when;
	if (when < c->t->timer_lb) {
		c->t->timer_lb = when;
		tcp_wake(c->t, when);   /* the stack's bound is <= timer_lb: lower it too */
	}
}
static inline bool tcp_synchronized(const struct tcp_sock *c)
{
	return c->state >= TCP_ESTABLISHED || c->state == TCP_SYN_RECEIVED;
}
/* The states RFC 1213 tcpCurrEstab counts. */
static inline bool tcp_counts_estab(uint8_t st) { return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT; }
static inline uint32_t tcp_flight(const struct tcp_sock *c) { return c->snd_max - c->snd_una; }
static inline uint32_t tcp_rcv_unread(const struct tcp_sock *c) { return c->rcv_nxt - c->rcv_user; }

/* tcp_table.c: tables and TCB lifetime */
struct tcp_sock *tcp_sock_new(struct tcp_stack *t);
struct tcp_sock *tcp_listener_new(struct tcp_stack *t);
void tcp_sock_free(struct tcp_stack *t, struct tcp_sock *c);   /* unlinked, unqueued TCBs */
void tcp_hash_insert(struct tcp_stack *t, struct tcp_sock *c);
void tcp_hash_remove(struct tcp_stack *t, struct tcp_sock *c);
struct tcp_sock *tcp_lookup(struct tcp_stack *t, uint32_t laddr, uint16_t lport,
			    uint32_t raddr, uint16_t rport);
struct tcp_sock *tcp_lookup_listener(struct tcp_stack *t, uint32_t laddr, uint16_t lport);
void tcp_tw_push(struct tcp_stack *t, struct tcp_sock *c);
void tcp_tw_unlink(struct tcp_stack *t, struct tcp_sock *c);
void tcp_conn_setup(struct tcp_sock *c, uint16_t mtu);
void tcp_pmtu_lower(struct tcp_sock *c, uint16_t mtu, uint16_t quoted_len);  /* tcp_in.c */  /* mss, cc, rto, buffers sizes */
bool tcp_peer_full(struct tcp_stack *t, uint32_t addr);

/* tcp_event.c: states, events, shared transitions */
void tcp_set_state(struct tcp_sock *c, enum tcp_state st);
void tcp_event(struct tcp_sock *c, unsigned ev);
void tcp_events_unlink(struct tcp_stack *t, struct tcp_sock *c);
void tcp_reap_later(struct tcp_sock *c);
void tcp_done(struct tcp_sock *c, int err);          /* -> CLOSED, report err */
void tcp_enter_time_wait(struct tcp_sock *c);
void tcp_established(struct tcp_sock *c);             /* ESTABLISHED: timers, cwnd, keepalive */
bool tcp_challenge_allowed(struct tcp_sock *c);

/* tcp_sendq.c */
void tcp_sq_append(struct tcp_sock *c, struct tcp_chunk *k);
void tcp_sq_ack(struct tcp_sock *c, uint32_t ack);    /* drop acknowledged bytes */
void tcp_sq_flush(struct tcp_sock *c, int err);
void tcp_sq_run_done(struct tcp_sock *c);             /* reference completions */
struct tcp_chunk *tcp_sq_chunk_new(struct tcp_sock *c, uint32_t cap);
void tcp_sq_spare_free(struct tcp_sock *c);
void tcp_sq_pin(struct tcp_sock *c, struct tcp_chunk *k);  /* a packet holds part of copy chunk k */

/* tcp_stack.c: instance, memory, bracketing */
/* Every API call and input enters; inline, it is one increment. */
static inline void tcp_enter(struct tcp_stack *t)
{
	t->depth++;
}
void tcp_leave_outer(struct tcp_stack *t, bool deliver);
/* Inline: most leaves are nested, or the outermost of a user call (deliver false)
 * with no segment looped back meanwhile, and have nothing to do but count down. */
static inline void tcp_leave(struct tcp_stack *t, bool deliver)
{
	NET_ASSERT(t->depth > 0);
	if (t->depth == 1 && (t->backlog || (deliver && (t->events || t->reap)))) {
		tcp_leave_outer(t, deliver);
		return;
	}
	if (t->depth == 1 && (t->events || t->reap))
		tcp_wake(t, 0);         /* a user call's events: the next tcp_poll */
	t->depth--;
}
void *tcp_alloc(struct tcp_stack *t, size_t n);
void tcp_free(struct tcp_stack *t, void *p, size_t n);
bool tcp_shed_orphan(struct tcp_stack *t);

/* tcp_isn.c */
uint64_t tcp_siphash(const uint64_t key[2], const uint32_t *w, size_t nw);
uint32_t tcp_isn(struct tcp_stack *t, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
uint32_t tcp_hash(struct tcp_stack *t, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
uint32_t tcp_ts_offset(struct tcp_stack *t, uint32_t laddr, uint32_t raddr);
int tcp_pick_port(struct tcp_stack *t, uint32_t laddr, uint32_t raddr, uint16_t rport, uint16_t *port);
static inline uint32_t tcp_ts_now(struct tcp_stack *t, const struct tcp_sock *c)
{
	return (uint32_t)(t->now / TCP_NS_PER_MS) + c->ts_offset;
}

/* tcp_in.c */
void tcp_input_one(struct tcp_stack *t, struct pkt *p, uint32_t src, uint32_t dst);
void tcp_input_conn(struct tcp_sock *c, struct tcp_seg *s);
void tcp_rcv_options_syn(struct tcp_sock *c, const struct tcp_opts *o, bool we_offered_ws);

/* tcp_out.c */
int tcp_xmit(struct tcp_sock *c, uint32_t seq, uint32_t len, uint8_t flags);
void tcp_output(struct tcp_sock *c);
bool tcp_send_new(struct tcp_sock *c, bool force, bool recovery);
void tcp_persist_probe(struct tcp_sock *c);
void tcp_send_ack(struct tcp_sock *c);
void tcp_send_syn(struct tcp_sock *c);
void tcp_send_rst(struct tcp_sock *c);
void tcp_send_challenge_ack(struct tcp_sock *c);
void tcp_reply_rst(struct tcp_stack *t, const struct tcp_seg *s);
void tcp_reply_raw(struct tcp_stack *t, uint32_t src, uint32_t dst, const struct tcp_hdr *h);
uint16_t tcp_rcv_wnd_field(struct tcp_sock *c, bool syn);
bool tcp_acceptq_full(const struct tcp_sock *l, uint32_t addr); /* tcp_listen.c: all, or addr's share */
int tcp_rbuf_get(struct tcp_sock *c);          /* tcp_event.c: 0, or -NET_ENOMEM */
void tcp_rbuf_trim(struct tcp_sock *c);        /* under memory pressure, an empty buffer goes */
void tcp_rbuf_owe(struct tcp_sock *c, bool owe); /* tcp_event.c: window without buffer, or not */
uint16_t tcp_rcv_wnd_next(const struct tcp_sock *c);
uint32_t tcp_rcv_wnd(const struct tcp_sock *c);
uint32_t tcp_sndbuf(const struct tcp_sock *c);
uint32_t tcp_sndbuf_free(const struct tcp_sock *c);
void tcp_sndbuf_expand(struct tcp_sock *c);
void tcp_sndbuf_release(struct tcp_sock *c);
void tcp_rearm_rtx(struct tcp_sock *c);
bool tcp_retransmit_head(struct tcp_sock *c);
uint32_t tcp_payload_max(const struct tcp_sock *c);   /* mss minus this segment's SACK room */
void tcp_update_pacing_rate(struct tcp_sock *c);      /* after cwnd or srtt changed */
bool tcp_pacing_hold(struct tcp_sock *c);             /* data must wait (t_pace armed) */

/* tcp_timer.c */
void tcp_timers(struct tcp_sock *c, uint64_t now);
void tcp_rtt_sample(struct tcp_sock *c, uint64_t rtt_ns);
uint64_t tcp_rto_backoff_ns(const struct tcp_sock *c);
/* The retransmission timeout now: RTO (RFC 6298 §2), doubled per backoff step (§5.5),
 * at most rto_max. Inline: every data segment sent asks, and rto_us <= rto_max
 * (tcp_rtt_sample clamps it) unless a backoff doubled it. */
static inline uint64_t tcp_rto_ns(const struct tcp_sock *c)
{
	uint64_t rto = (uint64_t)c->rto_us * TCP_NS_PER_US;
	if (c->rtx_shift == 0 && rto <= (uint64_t)c->t->cfg.rto_max_ms * TCP_NS_PER_MS)
		return rto;
	return tcp_rto_backoff_ns(c);
}
void tcp_keepalive_reset(struct tcp_sock *c);
void tcp_delack_schedule(struct tcp_sock *c);

/* tcp_sack.c */
void tcp_sb_update(struct tcp_sock *c, const struct tcp_opts *o, bool *newly);
void tcp_sb_clear(struct tcp_sock *c);
void tcp_sb_trim(struct tcp_sock *c);
bool tcp_sb_is_lost(const struct tcp_sock *c, uint32_t seq);
uint32_t tcp_sb_sacked_bytes(const struct tcp_sock *c);
uint32_t tcp_sb_lost_bytes(const struct tcp_sock *c);
uint32_t tcp_sb_pipe(const struct tcp_sock *c);
void tcp_sack_recovery_xmit(struct tcp_sock *c);
void tcp_enter_recovery(struct tcp_sock *c);
void tcp_ack_recovery(struct tcp_sock *c, uint32_t acked, bool dup, bool sack_new);
int tcp_rcv_ooo_add(struct tcp_sock *c, uint32_t start, uint32_t end);
void tcp_rcv_ooo_advance(struct tcp_sock *c);
size_t tcp_rcv_sack_blocks(struct tcp_sock *c, struct tcp_sack_block *out, size_t max);

/* tcp_listen.c */
void tcp_listen_input(struct tcp_sock *l, struct tcp_seg *s);
void tcp_listener_child_ready(struct tcp_sock *c);
void tcp_listener_child_gone(struct tcp_sock *c);
void tcp_listener_close(struct tcp_sock *l);

#endif
