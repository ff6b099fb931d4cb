/*
 * TCP (RFC 9293) for one stack instance: the interface the IPv4 layer, the shell and
 * applications (the HTTP server) use. Everything lives in struct tcp_stack; there are
 * no globals, so tests run two stacks side by side.
 *
 * Calls into TCP:
 *   IP layer:   tcp_input() per received segment, tcp_icmp_error() per ICMP error that
 *               quotes a TCP segment, tcp_poll() at least every 10 ms (timers).
 *   apps:       tcp_listen/accept/connect/send/send_ref/recv/shutdown/close/abort.
 *   shell:      tcp_show() (`ss`), tcp_nstat() (`nstat`).
 * Calls out of TCP go through struct tcp_env only.
 *
 * Callbacks into the application (tcp_event_fn, send_ref completions) run only from
 * tcp_input(), tcp_icmp_error() and tcp_poll(), never from inside an API call (user
 * calls queue events for the next of those), and they may call any API
 * function (including tcp_close() of the socket they were called for). A socket handle
 * stays valid until the application calls tcp_close() or tcp_abort() on it.
 *
 * Files: tcp.c (user calls), tcp_stack.c (instance, memory, call bracketing, entry
 * points), tcp_table.c (hash, lists, TCB lifetime), tcp_event.c (states, events,
 * shared transitions), tcp_sendq.c (send queue), tcp_in.c (SEGMENT ARRIVES), tcp_out.c
 * (segments out), tcp_timer.c, tcp_cc.c (Reno, CUBIC), tcp_sack.c (scoreboard, RFC 6675
 * recovery, receive-side blocks), tcp_listen.c (SYN queue, SYN cookies), tcp_isn.c
 * (SipHash, ISN, ports), tcp_show.c (ss, nstat), tcp_wire.c (bytes).
 */
#ifndef SKIFF_NET_TCP_H
#define SKIFF_NET_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/err.h"
#include "net/pkt.h"

struct net_dst;

/* Error codes TCP returns beyond net/err.h (Linux values, negated on return). */
#ifndef NET_EPIPE
#define NET_EPIPE 32
#endif
#ifndef NET_EOPNOTSUPP
#define NET_EOPNOTSUPP 95
#endif
#ifndef NET_ECONNABORTED
#define NET_ECONNABORTED 103
#endif
#ifndef NET_ECONNRESET
#define NET_ECONNRESET 104
#endif
#ifndef NET_EISCONN
#define NET_EISCONN 106
#endif
#ifndef NET_ENOTCONN
#define NET_ENOTCONN 107
#endif
#ifndef NET_ETIMEDOUT
#define NET_ETIMEDOUT 110
#endif
#ifndef NET_ECONNREFUSED
#define NET_ECONNREFUSED 111
#endif
#ifndef NET_EALREADY
#define NET_EALREADY 114
#endif

/* Largest super-segment payload: an IPv4 datagram of 65535 bytes with a TCP header of
 * up to 60 (Linux GSO_LEGACY_MAX_SIZE, minus headers). */
#define TCP_GSO_MAX (65535u - 20u - 60u)

/* Transmit offloads of the egress device (netdev.h NETDEV_F_*, seen from TCP). */
struct tcp_offload {
	bool csum;              /* completes PKT_F_CSUM_PARTIAL checksums (NETDEV_F_TX_CSUM) */
	uint32_t gso_max;       /* largest super-segment payload it takes (tso_max); 0: TCP_GSO_MAX */
	/* gathers a super-segment's payload from fragments (pkt.h): a NETDEV_F_SG device
	 * that also completes checksums, or software GSO (net/gso.c) for one without TSO */
	bool sg;
};

/* ---- environment: how TCP reaches IP, memory, time and entropy ------------------- */
struct tcp_env {
	/* Send one segment. p->data starts at the TCP header (checksum already filled);
	 * IP prepends its header. Takes ownership of p on every path. Returns 0 or -errno.
	 * Must not call tcp_input() synchronously (loopback: queue it); if it does, TCP
	 * queues the segment itself and processes it before returning. */
	int (*ip_output)(void *ctx, struct pkt *p, uint32_t src, uint32_t dst);
	/* Route to dst: our source address and the path MTU; -1 if unreachable. */
	int (*route)(void *ctx, uint32_t dst, uint32_t *src, uint16_t *mtu);
	struct pkt *(*pkt_alloc)(void *ctx);       /* fresh packet, >= 128 B headroom */
	void *(*mem_alloc)(void *ctx, size_t n);   /* control blocks and buffers */
	void (*mem_free)(void *ctx, void *p);
	uint64_t (*random)(void *ctx);             /* RDRAND-backed in the kernel */
	/* Optional (may be NULL): the current time, so user calls (send, connect) stamp
	 * segments exactly; without it they use the time of the last input/poll. */
	uint64_t (*clock_ns)(void *ctx);
	/* Optional: ip_output with the IPv4 DS field/TOS byte to use (RFC 9293 MUST-48:
	 * the application picks it with TCP_OPT_TOS) and DF (set unless the path's MTU is
	 * below TCP's floor: tcp_pmtu_lower). NULL: ip_output, the IP default (DF). */
	int (*ip_output_tos)(void *ctx, struct pkt *p, uint32_t src, uint32_t dst, uint8_t tos,
			     bool df);
	/* Optional: R1 retransmissions went unanswered (RFC 1122 §4.2.3.5 "negative
	 * advice"): IP may re-validate its neighbour entry or route for dst. */
	void (*route_advice)(void *ctx, uint32_t dst);
	/* Optional: what the device toward dst does itself (struct tcp_offload); 0, or -1
	 * when unknown (then nothing). Asked once per connection, when its route is. */
	int (*tx_offload)(void *ctx, uint32_t dst, struct tcp_offload *o);
	/* Optional: a packet with room for a super-segment (TCP_GSO_MAX payload bytes plus
	 * headers), sent with PKT_F_GSO_TCP4 and gso_size = MSS and cut into wire segments
	 * below IP (device TSO or software GSO); NULL when none is free, and TCP sends
	 * MSS-sized segments instead (TcpExtSkiffGsoNoBuf). */
	struct pkt *(*pkt_alloc_big)(void *ctx);
	/* Optional: the stack's next deadline (net_core.wake_ns), lowered to every time
	 * tcp_poll must run by (a timer TCP arms, events a user call left queued). */
	uint64_t *wake_ns;
	void *ctx;
	/* Optional: ip_output_tos through the connection's cached route, neighbour and
	 * headers (net/dst.h). d lives in the TCB (zeroed with it) and only IP touches it.
	 * NULL: ip_output / ip_output_tos. */
	int (*ip_output_dst)(void *ctx, struct net_dst *d, struct pkt *p, uint32_t src,
			     uint32_t dst, uint8_t tos, bool df);
};

enum tcp_cc_algo { TCP_CC_CUBIC = 0, TCP_CC_RENO = 1 };

/* Tunables; tcp_config_default() gives Linux's defaults where Linux has the knob. */
struct tcp_config {
	uint32_t max_conns;       /* TCBs of every state but LISTEN (incl. TIME-WAIT) */
	uint32_t max_listeners;
	uint32_t syn_backlog;     /* SYN queue per listener (tcp_max_syn_backlog) */
	uint32_t accept_backlog;  /* accept queue cap, also when listen(backlog=0) (somaxconn) */
	uint32_t max_time_wait;   /* tcp_max_tw_buckets */
	uint32_t sndbuf;          /* bytes tcp_send() may queue per connection at first
				   * (Linux tcp_wmem[1]) */
	uint32_t sndbuf_max;      /* autotuning ceiling (tcp_wmem[2]): a connection whose
				   * application waits on a full buffer while the congestion
				   * window has room grows to 2 x cwnd; 0 or <= sndbuf: none */
	uint32_t rcvbuf;          /* receive buffer (= largest window) per connection */
	uint32_t max_refs;        /* tcp_send_ref() buffers queued per connection */
	uint64_t heap_bytes;      /* size of the allocator behind mem_alloc (the kernel heap) */
	uint64_t mem_max;         /* all TCP allocations together; 0: heap_bytes / 2 */
	uint32_t max_orphans;     /* closed by the app, not yet acknowledged (tcp_max_orphans);
				   * one more is reset at close. 0: a quarter of max_conns
				   * (all of a table under 16) */
	uint8_t orphan_retries;   /* RTO or probe series of an orphan (tcp_orphan_retries: 8) */
	uint32_t max_conns_per_peer; /* TCBs per remote address (SYNs beyond are dropped);
				      * 0: like max_orphans */
	uint32_t rto_min_ms;      /* 200 (TCP_RTO_MIN) */
	uint32_t rto_max_ms;      /* 120000 (TCP_RTO_MAX) */
	uint32_t rto_initial_ms;  /* 1000 (RFC 6298 §2.1) */
	uint32_t delack_ms;       /* delayed ACK timer, <= 500 (RFC 9293 MUST-40); 40 */
	uint32_t time_wait_ms;    /* 2*MSL; 60000 (TCP_TIMEWAIT_LEN) */
	uint32_t fin_wait2_ms;    /* orphaned FIN-WAIT-2 lifetime (tcp_fin_timeout) */
	uint8_t syn_retries;      /* 7: 255 s, >= 3 min (RFC 9293 MUST-23) */
	uint8_t synack_retries;   /* 5 */
	uint8_t retries1;         /* 3: R1, negative advice to IP */
	uint8_t retries2;         /* 15: R2, give up */
	uint8_t cc;               /* enum tcp_cc_algo */
	bool syncookies;          /* when the SYN queue is full (RFC 4987) */
	bool sack;                /* RFC 2018 */
	bool timestamps;          /* RFC 7323 */
	bool window_scaling;      /* RFC 7323 */
	uint32_t keepalive_idle_s;   /* 7200 (MUST-28: >= 2 h) */
	uint32_t keepalive_intvl_s;  /* 75 */
	uint32_t keepalive_probes;   /* 9 */
	uint32_t challenge_ack_limit; /* per second, whole stack, randomised (RFC 5961 §7) */
	uint32_t rst_limit;       /* RSTs without a TCB per second (closed ports) */
	bool gso;                 /* super-segments when env.pkt_alloc_big is set (default on) */
	bool obj_cache;           /* keep a few freed TCBs/buffers for reuse (default on) */
	/* Pacing (tcp_out.c): each connection spreads its data over the RTT at
	 * pacing_ss_ratio% (slow start) or pacing_ca_ratio% (congestion avoidance) of
	 * cwnd/srtt, as Linux's internal pacing; off: bursts as the windows allow. */
	bool pacing;              /* default on */
	uint16_t pacing_ss_ratio; /* 200 (tcp_pacing_ss_ratio) */
	uint16_t pacing_ca_ratio; /* 120 (tcp_pacing_ca_ratio) */
	/* Header prediction (tcp_in.c, default on): the common ESTABLISHED segment skips
	 * the checklist steps that cannot apply to it. Off: every segment takes the whole
	 * checklist (tests run both and compare). */
	bool hdr_predict;
};

/* ---- counters (nstat names) --------------------------------------------------------- */
#define TCP_MIB_LIST(X)                                                         \
	X(ActiveOpens, "TcpActiveOpens")                                        \
	X(PassiveOpens, "TcpPassiveOpens")                                      \
	X(AttemptFails, "TcpAttemptFails")                                      \
	X(EstabResets, "TcpEstabResets")                                        \
	X(InSegs, "TcpInSegs")                                                  \
	X(OutSegs, "TcpOutSegs")                                                \
	X(RetransSegs, "TcpRetransSegs")                                        \
	X(InErrs, "TcpInErrs")                                                  \
	X(OutRsts, "TcpOutRsts")                                                \
	X(InCsumErrors, "TcpInCsumErrors")                                      \
	X(SyncookiesSent, "TcpExtSyncookiesSent")                               \
	X(SyncookiesRecv, "TcpExtSyncookiesRecv")                               \
	X(SyncookiesFailed, "TcpExtSyncookiesFailed")                           \
	X(EmbryonicRsts, "TcpExtEmbryonicRsts")                                 \
	X(TW, "TcpExtTW")                                                       \
	X(TWRecycled, "TcpExtTWRecycled")                                       \
	X(PAWSEstab, "TcpExtPAWSEstab")                                         \
	X(DelayedACKs, "TcpExtDelayedACKs")                                     \
	X(ListenOverflows, "TcpExtListenOverflows")                             \
	X(ListenDrops, "TcpExtListenDrops")                                     \
	X(TCPRenoRecovery, "TcpExtTCPRenoRecovery")                             \
	X(TCPSackRecovery, "TcpExtTCPSackRecovery")                             \
	X(TCPLossUndo, "TcpExtTCPLossUndo")                                     \
	X(TCPFastRetrans, "TcpExtTCPFastRetrans")                               \
	X(TCPSlowStartRetrans, "TcpExtTCPSlowStartRetrans")                     \
	X(TCPTimeouts, "TcpExtTCPTimeouts")                                     \
	X(TCPOFOQueue, "TcpExtTCPOFOQueue")                                     \
	X(TCPOFODrop, "TcpExtTCPOFODrop")                                       \
	X(TCPOFOMerge, "TcpExtTCPOFOMerge")                                     \
	X(TCPAbortOnData, "TcpExtTCPAbortOnData")                               \
	X(TCPAbortOnClose, "TcpExtTCPAbortOnClose")                             \
	X(TCPAbortOnMemory, "TcpExtTCPAbortOnMemory")                           \
	X(TCPAbortOnTimeout, "TcpExtTCPAbortOnTimeout")                         \
	X(TCPAbortOnLinger, "TcpExtTCPAbortOnLinger")                           \
	X(TCPSACKReneging, "TcpExtTCPSACKReneging")                             \
	X(TCPSackShifted, "TcpExtTCPSackShifted")                               \
	X(TCPSACKDiscard, "TcpExtTCPSACKDiscard")                               \
	X(TCPChallengeACK, "TcpExtTCPChallengeACK")                             \
	X(TCPSYNChallenge, "TcpExtTCPSYNChallenge")                             \
	X(TCPACKSkippedChallenge, "TcpExtTCPACKSkippedChallenge")               \
	X(TCPWinProbe, "TcpExtTCPWinProbe")                                     \
	X(TCPKeepAlive, "TcpExtTCPKeepAlive")                                   \
	X(TCPZeroWindowDrop, "TcpExtTCPZeroWindowDrop")                         \
	X(TCPRcvQDrop, "TcpExtTCPRcvQDrop")                                     \
	X(TCPTimeWaitOverflow, "TcpExtTCPTimeWaitOverflow")                     \
	X(TCPReqQFullDoCookies, "TcpExtTCPReqQFullDoCookies")                   \
	X(TCPReqQFullDrop, "TcpExtTCPReqQFullDrop")                             \
	X(TCPOrigDataSent, "TcpExtTCPOrigDataSent")                             \
	X(TCPDelivered, "TcpExtTCPDelivered")                                   \
	X(OutOfWindowIcmps, "TcpExtOutOfWindowIcmps")                           \
	X(TCPMTUPFail, "TcpExtTCPMTUPFail")                                     \
	X(TCPPureAcks, "TcpExtTCPPureAcks")                                     \
	X(BadHdr, "TcpExtSkiffBadHeader")                                       \
	X(BadOpt, "TcpExtSkiffBadOption")                                       \
	X(BadAddr, "TcpExtSkiffBadAddress")                                     \
	X(NoConnDrop, "TcpExtSkiffNoConnDrop")                                  \
	X(RstRateLimited, "TcpExtSkiffRstRateLimited")                          \
	X(ConnLimit, "TcpExtSkiffConnLimit")                                    \
	X(MemLimit, "TcpExtSkiffMemLimit")                                      \
	X(NoPktBuf, "TcpExtSkiffNoPktBuf")                                      \
	X(OutErrs, "TcpExtSkiffOutErrs")                                        \
	X(UrgIgnored, "TcpExtSkiffUrgIgnored")                                  \
	X(SynDataIgnored, "TcpExtSkiffSynDataIgnored")                          \
	X(TCPMemoryPressures, "TcpExtTCPMemoryPressures")                       \
	X(OrphanShed, "TcpExtSkiffOrphanShed")                                  \
	X(PeerConnLimit, "TcpExtSkiffPeerConnLimit")                            \
	X(PeerMssClamped, "TcpExtSkiffPeerMssClamped")                          \
	X(GsoSegs, "TcpExtSkiffGsoSegs")                                        \
	X(GsoWireSegs, "TcpExtSkiffGsoWireSegs")                                \
	X(GsoNoBuf, "TcpExtSkiffGsoNoBuf")                                      \
	X(SgSegs, "TcpExtSkiffSgSegs")                                          \
	X(SgCopySegs, "TcpExtSkiffSgCopySegs")                                  \
	X(PacingHeld, "TcpExtSkiffPacingHeld")                                  \
	X(SndbufExpand, "TcpExtSkiffSndbufExpand")                              \
	X(TCPHPHits, "TcpExtTCPHPHits")                                         \
	X(TCPHPAcks, "TcpExtTCPHPAcks")

enum tcp_mib {
#define TCP_MIB_ENUM(id, name) TCP_MIB_##id,
	TCP_MIB_LIST(TCP_MIB_ENUM)
#undef TCP_MIB_ENUM
	TCP_MIB_COUNT
};

/* ---- the stack ---------------------------------------------------------------------- */
struct tcp_sock;                 /* a TCB or a listener; opaque to applications */

#define TCP_HASH_SIZE 1024       /* connection hash buckets (power of two) */
#define TCP_PORT_PERTURB 256     /* RFC 6056 Algorithm 4 table */
#define TCP_NCACHE 3             /* object caches: TCBs, receive buffers, send chunks */

struct tcp_stack {
	struct tcp_env env;
	struct tcp_config cfg;
	uint64_t now;                /* of the last tcp_input/tcp_poll, ns */
	uint64_t isn_key[2], cookie_key[2], ts_key[2], port_key[2];   /* isn_key: the table's too */
	uint16_t port_perturb[TCP_PORT_PERTURB];
	struct tcp_sock *hash[TCP_HASH_SIZE];
	struct tcp_sock *last_hit;   /* one-entry lookup cache (bulk flows skip the hash) */
	uint32_t hmemo[3];           /* the last tuple hashed (table and ISN), and its PRF */
	uint64_t hmemo_val;
	bool hmemo_ok;
	uint32_t tsmemo[2], tsmemo_val; /* tcp_ts_offset's last address pair */
	bool tsmemo_ok;
	uint32_t pmemo[3];           /* tcp_pick_port's last destination, and its hash */
	uint64_t pmemo_val;
	bool pmemo_ok;
	struct tcp_sock *conns;      /* every TCB but listeners and TIME-WAIT (timers, ss) */
	struct tcp_sock *listeners;
	struct tcp_sock *tw_head, *tw_tail;    /* TIME-WAIT FIFO, oldest first (not on conns) */
	uint64_t timer_lb;           /* no timer on conns is due before this (tcp_arm) */
	uint64_t sndbuf_grown;       /* send-buffer growth granted to live TCBs (tcp_sndbuf_expand) */
	uint64_t tw_due;             /* tw_head's t_conn, UINT64_MAX when the FIFO is empty */
	struct tcp_sock *events;     /* TCBs with events not yet delivered */
	struct tcp_sock *reap;       /* closed TCBs to free at the end of this call */
	struct pkt *backlog, *backlog_tail;    /* input that arrived re-entrantly */
	uint32_t nconns, nlisteners, ntw, nestab;
	uint32_t norphans;           /* TCBs with c->orphan */
	uint64_t mem_used;
	uint64_t rbuf_owed;          /* receive windows announced, buffers not yet taken */
	/* Freed TCBs, receive buffers and small send chunks kept for reuse (tcp_alloc):
	 * out of mem_used, dropped under memory pressure and at shutdown. */
	struct tcp_cache { void *head; uint32_t size, n, max; } cache[3];
	uint64_t cache_bytes;         /* kept in cache[] now */
	uint64_t cache_trim_at;       /* caches unused until then: given back (tcp_poll) */
	uint64_t cache_used_ns;       /* the caches' last use (trim_at moves on from it) */
	/* Copy chunks pinned by packets in flight (tcp_sendq.c): levels that return to 0
	 * once every such packet is freed (nstat TcpExtSkiffSgPins, ...SgHeldBytes). */
	uint64_t sg_pins;             /* packets' fragment references to copy chunks */
	uint64_t sg_held_bytes;       /* acknowledged chunks (cap) kept only by such packets */
	bool mem_pressure;           /* over TCP_MEM_PRESSURE_PCT of mem_max */
	uint64_t mem_mark;           /* that share in bytes (tcp_init, tcp_config_changed) */
	int depth;                   /* nesting of calls into TCP */
	uint64_t chack_sec;          /* challenge ACK limiter: current second */
	uint32_t chack_left;
	uint64_t rst_sec;            /* stateless RST limiter */
	uint32_t rst_left;
	uint64_t mib[TCP_MIB_COUNT];
};

void tcp_config_default(struct tcp_config *cfg);
/* cfg may be NULL (defaults). Draws the secrets (ISN, hash, cookie keys) from env. */
void tcp_init(struct tcp_stack *t, const struct tcp_env *env, const struct tcp_config *cfg,
	      uint64_t now_ns);
/* Aborts every connection (RST), frees every TCB and buffer. Send-queue chunks that
 * frames still in a device pin (pkt.h fragments) go when those frames are freed: t
 * must stay in memory until then. */
void tcp_shutdown_stack(struct tcp_stack *t);

/* p->data at the TCP header, p->len = TCP length (IP already validated and trimmed).
 * Verifies the checksum itself. Consumes p on every path. */
void tcp_input(struct tcp_stack *t, struct pkt *p, uint32_t src, uint32_t dst, uint64_t now_ns);
/* ICMP destination unreachable / fragmentation needed (RFC 1191) / time exceeded /
 * parameter problem quoting our segment: quoted_ip is the quoted IP header and at
 * least 8 bytes of TCP header, len the bytes available. */
void tcp_icmp_error(struct tcp_stack *t, uint8_t type, uint8_t code, uint16_t next_mtu,
		    const uint8_t *quoted_ip, size_t len);
/* Timers; called often (>= every 10 ms). Inline: most calls find nothing due and nothing
 * left for tcp_leave to deliver or free, and return; tcp_poll_due does the rest. */
void tcp_poll_due(struct tcp_stack *t);
/* TCP's clock without its timers: the stack calls it on turns it knows nothing is due
 * (env.wake_ns), so user calls still stamp with the turn's time (env.clock_ns). */
static inline void tcp_tick(struct tcp_stack *t, uint64_t now_ns)
{
	if (now_ns > t->now)
		t->now = now_ns;
}
static inline void tcp_poll(struct tcp_stack *t, uint64_t now_ns)
{
	tcp_tick(t, now_ns);
	if (t->now < t->timer_lb && t->now < t->tw_due && !t->events && !t->reap &&
	    !t->backlog && t->depth == 0 && t->now < t->cache_trim_at)
		return;
	tcp_poll_due(t);
}
/* Earliest timer deadline (ns), UINT64_MAX when none: lets the loop sleep. */
uint64_t tcp_next_deadline(const struct tcp_stack *t);

/* ---- sockets ------------------------------------------------------------------------ */
/* Event bits, for callbacks and tcp_ready(). */
#define TCP_EV_ACCEPT    0x01    /* listener: a connection waits in tcp_accept() */
#define TCP_EV_CONNECTED 0x02    /* handshake completed (active open) */
#define TCP_EV_RECV      0x04    /* data, or end of stream, to tcp_recv() */
#define TCP_EV_SEND      0x08    /* send space available again */
#define TCP_EV_CLOSED    0x10    /* reset/timeout/refused (tcp_error()) or fully closed */
#define TCP_EV_URGENT    0x20    /* the peer's urgent pointer advanced (data stays inline) */

/* Called with the events that happened; user is what the app registered. */
typedef void (*tcp_event_fn)(void *user, struct tcp_sock *s, unsigned events);
/* send_ref completion: the memory is no longer referenced. err 0: all of it was
 * acknowledged; else -NET_ECONNRESET/-NET_ECONNABORTED/-NET_ETIMEDOUT. */
typedef void (*tcp_done_fn)(void *arg, int err);

/* After t->cfg changed at run time (the shell's sysctl): the next tcp_poll looks at
 * every connection, so e.g. data held by pacing goes out once pacing is off. */
void tcp_config_changed(struct tcp_stack *t);

/* Passive open on addr (0 = any local address):port. backlog caps the accept queue
 * (0 or above cfg.accept_backlog: cfg.accept_backlog). Accepted sockets inherit cb/user. */
int tcp_listen(struct tcp_stack *t, uint32_t addr, uint16_t port, uint32_t backlog,
	       tcp_event_fn cb, void *user, struct tcp_sock **out);
/* 0 and *out, or -NET_EAGAIN when no connection is waiting. */
int tcp_accept(struct tcp_sock *listener, struct tcp_sock **out);
/* Connections waiting in the accept queue (poll()'s POLLIN on a listener), 0 if none. */
uint32_t tcp_accept_pending(const struct tcp_sock *listener);
/* Active open to dst:dport from src (0: the route's source address), from a random
 * ephemeral port. Completion is reported with TCP_EV_CONNECTED or TCP_EV_CLOSED. */
int tcp_connect(struct tcp_stack *t, uint32_t src, uint32_t dst, uint16_t dport,
		tcp_event_fn cb, void *user, struct tcp_sock **out);
void tcp_set_callback(struct tcp_sock *s, tcp_event_fn cb, void *user);

/* Copies up to len bytes into the send buffer: bytes taken (maybe fewer than len), or
 * -NET_EAGAIN (buffer full), -NET_EPIPE (after shutdown/close), -errno (connection
 * failed). Allowed from SYN-SENT on (sent once established). */
long tcp_send(struct tcp_sock *s, const void *buf, size_t len);
/* As tcp_send, but TCP has fill(arg, dst, n) write the bytes straight into the send
 * buffer, in order, in pieces that add up to the returned count: generated data costs
 * no staging copy. fill must not call into TCP. */
typedef void (*tcp_fill_fn)(void *arg, uint8_t *dst, size_t n);
long tcp_send_fill(struct tcp_sock *s, size_t len, tcp_fill_fn fill, void *arg);
/* Zero-copy send: queues a reference to buf, which must stay valid and unchanged until
 * done(arg, err) runs (exactly once, from tcp_input/tcp_poll, also on reset/abort;
 * done may be NULL for memory that lives for ever, e.g. files compiled into the image).
 * 0, -NET_EAGAIN (cfg.max_refs references queued), -NET_EPIPE, -errno. */
int tcp_send_ref(struct tcp_sock *s, const void *buf, size_t len, tcp_done_fn done, void *arg);
/* Bytes copied, 0 at end of stream, -NET_EAGAIN when nothing is buffered, -errno. */
long tcp_recv(struct tcp_sock *s, void *buf, size_t len);
/* Zero-copy receive: the contiguous readable bytes at the read position (maybe not all
 * of them); then tcp_recv_consume(). Returns the count; *data valid until the next call. */
size_t tcp_recv_peek(struct tcp_sock *s, const uint8_t **data);
void tcp_recv_consume(struct tcp_sock *s, size_t n);

#define TCP_SHUT_WR 1
/* Half-close: sends FIN after the queued data. Only TCP_SHUT_WR is supported. */
int tcp_shutdown(struct tcp_sock *s, int how);
/* Graceful close; the handle is invalid afterwards. Unread received data turns this
 * into an abort (RST, RFC 2525 §2.17). Queued data and FIN are still delivered. */
int tcp_close(struct tcp_sock *s);
/* RST (in synchronized states), drop everything; the handle is invalid afterwards. */
void tcp_abort(struct tcp_sock *s);

enum tcp_opt {
	TCP_OPT_NODELAY,        /* 1: disable Nagle (RFC 9293 MUST-17) */
	TCP_OPT_KEEPALIVE,      /* 1: send keep-alives (off by default, MUST-25) */
	TCP_OPT_KEEPIDLE,       /* seconds idle before the first probe */
	TCP_OPT_KEEPINTVL,      /* seconds between probes */
	TCP_OPT_KEEPCNT,        /* unanswered probes before giving up */
	TCP_OPT_USER_TIMEOUT,   /* ms unacknowledged data may wait before abort (R2, MUST-21); 0 = retries2 */
	TCP_OPT_TOS,            /* IPv4 DS field (DSCP << 2) for what this connection sends (MUST-48) */
	TCP_OPT_CORK,           /* 1: tcp_send/send_ref only queue; 0: send what is queued (Linux TCP_CORK) */
};
int tcp_setopt(struct tcp_sock *s, enum tcp_opt opt, uint32_t val);

/* Level-triggered readiness (TCP_EV_* bits): RECV readable or EOF/error, SEND space,
 * ACCEPT queue non-empty, CONNECTED established, CLOSED failed or closed. */
unsigned tcp_ready(const struct tcp_sock *s);
/* 0, or the -errno the connection failed with (reset, timeout, refused). */
int tcp_error(const struct tcp_sock *s);
/* Bytes of urgent data not yet read (RFC 9293 MUST-33); 0 when none. */
uint32_t tcp_urgent_pending(const struct tcp_sock *s);

/* Per-connection state, what `ss -tni` prints (Linux struct tcp_info, in plain units). */
struct tcp_conn_info {
	const char *state;        /* "ESTAB", "SYN-SENT", ... as ss spells them */
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint32_t recv_q, send_q;  /* unread bytes / unacknowledged+unsent bytes (LISTEN: queue, backlog) */
	const char *cc;
	bool ts, sack, wscale;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t rto_ms, backoff, ato_ms;
	uint32_t rtt_us, rttvar_us, min_rtt_us;
	uint32_t mss, pmtu, rcv_mss, advmss;
	uint32_t cwnd, ssthresh;  /* segments; ssthresh UINT32_MAX while unset */
	uint64_t bytes_sent, bytes_retrans, bytes_acked, bytes_received;
	uint64_t segs_out, segs_in, data_segs_out, data_segs_in;
	uint64_t send_bps, delivery_bps, delivered;
	uint64_t pacing_bps;      /* 0: no rate yet (no RTT sample) */
	uint32_t lastsnd_ms, lastrcv_ms, lastack_ms;
	uint32_t unacked, retrans, total_retrans, lost, sacked;
	uint32_t rcv_space, snd_wnd, rcv_wnd;
	int err;
};
int tcp_get_info(const struct tcp_sock *s, struct tcp_conn_info *out);

/* ---- shell ---------------------------------------------------------------------------- */
/* `ss` with -t -n -i -l -a -e (any combination, e.g. "-tni", "-tl"); output in Linux's
 * layout, one out() call per line (no trailing newline in text). */
void tcp_show(struct tcp_stack *t, int argc, char **argv,
	      void (*out)(void *ctx, const char *text), void *ctx);
/* Every counter with its Linux nstat name, plus TcpCurrEstab. */
void tcp_nstat(struct tcp_stack *t, void (*emit)(void *ctx, const char *name, uint64_t v), void *ctx);

#endif
