/*
 * What the shell shows: `ss` (-t -n -i -l -a, Linux iproute2 layout), `nstat` (Linux
 * counter names) and tcp_get_info() (the per-connection numbers behind `ss -i`).
 * Read-only over the stack; no floating point (rates and times are printed with integer
 * arithmetic in the style of ss's %g).
 */
#include "net/tcp_int.h"
#include "lib/fmt.h"
#include "lib/string.h"

static const char *const state_names[] = {
	[TCP_CLOSED] = "UNCONN",
	[TCP_LISTEN] = "LISTEN",
	[TCP_SYN_SENT] = "SYN-SENT",
	[TCP_SYN_RECEIVED] = "SYN-RECV",
	[TCP_ESTABLISHED] = "ESTAB",
	[TCP_FIN_WAIT_1] = "FIN-WAIT-1",
	[TCP_FIN_WAIT_2] = "FIN-WAIT-2",
	[TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	[TCP_CLOSING] = "CLOSING",
	[TCP_LAST_ACK] = "LAST-ACK",
	[TCP_TIME_WAIT] = "TIME-WAIT",
};

static uint32_t ms_since(uint64_t now, uint64_t then)
{
	if (!then || then > now)
		return 0;
	uint64_t d = (now - then) / TCP_NS_PER_MS;
	return d > 0xffffffffu ? 0xffffffffu : (uint32_t)d;
}

static uint32_t div_up(uint32_t a, uint32_t b)
{
	return b ? (a + b - 1) / b : 0;
}

int tcp_get_info(const struct tcp_sock *c, struct tcp_conn_info *o)
{
	const struct tcp_stack *t = c->t;
	memset(o, 0, sizeof(*o));
	o->state = c->state <= TCP_TIME_WAIT ? state_names[c->state] : "UNKNOWN";
	o->laddr = c->laddr;
	o->raddr = c->raddr;
	o->lport = c->lport;
	o->rport = c->rport;
	o->err = c->err;
	if (c->state == TCP_LISTEN) {
		o->recv_q = c->acc_len;
		o->send_q = c->backlog;
		return 0;
	}
	o->recv_q = c->rbuf ? c->rcv_nxt - c->rcv_user - (c->fin_rcvd ? 1 : 0) : 0;
	uint32_t data_una = seq_max(c->snd_una, c->iss + 1);
	o->send_q = seq_gt(c->snd_buf_end, data_una) ? c->snd_buf_end - data_una : 0;
	o->cc = c->cc ? c->cc->name : "cubic";
	o->ts = c->ts_ok;
	o->sack = c->sack_ok;
	o->wscale = c->ws_ok;
	o->snd_wscale = c->snd_wscale;
	o->rcv_wscale = c->rcv_wscale;
	o->rto_ms = (uint32_t)(tcp_rto_ns(c) / TCP_NS_PER_MS);
	o->backoff = c->rtx_shift;
	o->ato_ms = t->cfg.delack_ms;
	o->rtt_us = c->srtt_us;
	o->rttvar_us = c->rttvar_us;
	o->min_rtt_us = c->min_rtt_us == UINT32_MAX ? 0 : c->min_rtt_us;
	o->mss = c->mss;
	o->pmtu = c->pmtu;
	o->rcv_mss = c->rcv_mss;
	o->advmss = c->adv_mss;
	o->cwnd = div_up(c->cwnd, c->mss);
	o->ssthresh = c->ssthresh >= 0x7fffffff ? UINT32_MAX : div_up(c->ssthresh, c->mss);
	o->bytes_sent = c->bytes_sent;
	o->bytes_retrans = c->bytes_retrans;
	o->bytes_acked = c->bytes_acked;
	o->bytes_received = c->bytes_received;
	o->segs_out = c->segs_out;
	o->segs_in = c->segs_in;
	o->data_segs_out = c->data_segs_out;
	o->data_segs_in = c->data_segs_in;
	o->send_bps = c->srtt_us ? (uint64_t)c->cwnd * 8 * 1000000ull / c->srtt_us : 0;
	o->delivery_bps = c->delivery_bps;
	o->pacing_bps = c->pacing_rate * 8;
	o->delivered = div_up((uint32_t)(c->delivered > 0xffffffffu ? 0xffffffffu : c->delivered), c->mss);
	o->lastsnd_ms = ms_since(t->now, c->last_snd_ns);
	o->lastrcv_ms = ms_since(t->now, c->last_rcv_ns);
	o->lastack_ms = ms_since(t->now, c->last_ack_ns);
	o->unacked = div_up(tcp_flight(c), c->mss);
	o->sacked = div_up(tcp_sb_sacked_bytes(c), c->mss);
	o->lost = div_up(tcp_sb_lost_bytes(c), c->mss);
	o->retrans = c->ca_state != TCP_CA_OPEN && seq_gt(c->high_rxt, c->snd_una) ?
		div_up(c->high_rxt - c->snd_una, c->mss) : 0;
	o->total_retrans = c->total_retrans;
	o->rcv_space = c->rbuf_size;
	o->snd_wnd = c->snd_wnd;
	o->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	return 0;
}

/* ---- formatting helpers ------------------------------------------------------------- */
struct line {
	char buf[512];
	size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	if (l->len >= sizeof(l->buf) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n : sizeof(l->buf) - 1 - l->len;
}

/* Microseconds as milliseconds the way %g prints them: up to 3 decimals, no trailing zeros. */
static void put_ms(struct line *l, uint32_t us)
{
	uint32_t ip = us / 1000, frac = us % 1000;
	if (frac == 0) {
		put(l, "%u", ip);
		return;
	}
	char d[4] = { (char)('0' + frac / 100), (char)('0' + frac / 10 % 10), (char)('0' + frac % 10), 0 };
	for (int i = 2; i > 0 && d[i] == '0'; i--)
		d[i] = 0;
	put(l, "%u.%s", ip, d);
}

/* iproute2 sprint_bw: one decimal and a unit. */
static void put_bw(struct line *l, uint64_t bps)
{
	static const struct { uint64_t div; const char *unit; } u[] = {
		{ 1000000000ull, "Gbps" }, { 1000000ull, "Mbps" }, { 1000ull, "Kbps" },
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (bps >= u[i].div) {
			uint64_t tenths = bps * 10 / u[i].div;
			put(l, "%llu.%llu%s", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10), u[i].unit);
			return;
		}
	}
	put(l, "%llubps", (unsigned long long)bps);
}

static void fmt_addr(char *buf, size_t cap, uint32_t a)
{
	ksnprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static void show_row(const struct tcp_conn_info *i, bool listen,
		     void (*out)(void *ctx, const char *text), void *ctx)
{
	struct line l = { .len = 0 };
	char la[16], ra[16], lp[8], rp[8];
	fmt_addr(la, sizeof(la), i->laddr);
	fmt_addr(ra, sizeof(ra), listen ? 0 : i->raddr);
	ksnprintf(lp, sizeof(lp), "%u", i->lport);
	if (listen)
		ksnprintf(rp, sizeof(rp), "*");
	else
		ksnprintf(rp, sizeof(rp), "%u", i->rport);
	put(&l, "%-10s %-6u %-6u %20s:%-6s %20s:%-6s", i->state, i->recv_q, i->send_q, la, lp, ra, rp);
	out(ctx, l.buf);
}

static void show_info(const struct tcp_conn_info *i, void (*out)(void *ctx, const char *text), void *ctx)
{
	struct line l = { .len = 0 };
	put(&l, "\t");
	if (i->ts)
		put(&l, " ts");
	if (i->sack)
		put(&l, " sack");
	put(&l, " %s", i->cc);
	if (i->wscale)
		put(&l, " wscale:%u,%u", i->snd_wscale, i->rcv_wscale);
	put(&l, " rto:%u", i->rto_ms);
	if (i->backoff)
		put(&l, " backoff:%u", i->backoff);
	if (i->rtt_us) {
		put(&l, " rtt:");
		put_ms(&l, i->rtt_us);
		put(&l, "/");
		put_ms(&l, i->rttvar_us);
	}
	put(&l, " ato:%u mss:%u pmtu:%u rcvmss:%u advmss:%u cwnd:%u", i->ato_ms, i->mss, i->pmtu,
	    i->rcv_mss, i->advmss, i->cwnd);
	if (i->ssthresh != UINT32_MAX)
		put(&l, " ssthresh:%u", i->ssthresh);
	put(&l, " bytes_sent:%llu", (unsigned long long)i->bytes_sent);
	if (i->bytes_retrans)
		put(&l, " bytes_retrans:%llu", (unsigned long long)i->bytes_retrans);
	put(&l, " bytes_acked:%llu bytes_received:%llu segs_out:%llu segs_in:%llu",
	    (unsigned long long)i->bytes_acked, (unsigned long long)i->bytes_received,
	    (unsigned long long)i->segs_out, (unsigned long long)i->segs_in);
	if (i->data_segs_out)
		put(&l, " data_segs_out:%llu", (unsigned long long)i->data_segs_out);
	if (i->data_segs_in)
		put(&l, " data_segs_in:%llu", (unsigned long long)i->data_segs_in);
	if (i->send_bps) {
		put(&l, " send ");
		put_bw(&l, i->send_bps);
	}
	put(&l, " lastsnd:%u lastrcv:%u lastack:%u", i->lastsnd_ms, i->lastrcv_ms, i->lastack_ms);
	if (i->pacing_bps) {
		put(&l, " pacing_rate ");
		put_bw(&l, i->pacing_bps);
	}
	if (i->delivery_bps) {
		put(&l, " delivery_rate ");
		put_bw(&l, i->delivery_bps);
	}
	if (i->delivered)
		put(&l, " delivered:%u", (uint32_t)i->delivered);
	if (i->unacked)
		put(&l, " unacked:%u", i->unacked);
	if (i->retrans || i->total_retrans)
		put(&l, " retrans:%u/%u", i->retrans, i->total_retrans);
	if (i->lost)
		put(&l, " lost:%u", i->lost);
	if (i->sacked)
		put(&l, " sacked:%u", i->sacked);
	put(&l, " rcv_space:%u", i->rcv_space);
	if (i->min_rtt_us) {
		put(&l, " minrtt:");
		put_ms(&l, i->min_rtt_us);
	}
	out(ctx, l.buf);
}

/* t->conns, then the TIME-WAIT FIFO (TIME-WAIT TCBs are on that alone). */
static struct tcp_sock *conn_next(struct tcp_stack *t, const struct tcp_sock *c)
{
	if (c->next)
		return c->next;
	return c->in_tw ? NULL : t->tw_head;
}

void tcp_show(struct tcp_stack *t, int argc, char **argv,
	      void (*out)(void *ctx, const char *text), void *ctx)
{
	bool info = false, listening = false, all = false;
	for (int a = 0; a < argc; a++) {
		const char *s = argv[a];
		if (s[0] != '-')
			continue;
		for (s++; *s; s++) {
			switch (*s) {
			case 'i': info = true; break;
			case 'l': listening = true; break;
			case 'a': all = true; break;
			case 't': case 'n': case 'e': case '4': break;
			default:
				out(ctx, "usage: ss [-tnilae]");
				return;
			}
		}
	}
	struct line h = { .len = 0 };
	put(&h, "%-10s %-6s %-6s %20s:%-6s %20s:%-6s", "State", "Recv-Q", "Send-Q",
	    "Local Address", "Port", "Peer Address", "Port");
	out(ctx, h.buf);
	struct tcp_conn_info i;
	if (listening || all) {
		for (struct tcp_sock *l = t->listeners; l; l = l->next) {
			if (l->state != TCP_LISTEN)
				continue;
			tcp_get_info(l, &i);
			show_row(&i, true, out, ctx);
		}
	}
	if (listening && !all)
		return;
	for (struct tcp_sock *c = t->conns ? t->conns : t->tw_head; c; c = conn_next(t, c)) {
		/* ss's default filter: connected states only. */
		if (!all && (c->state == TCP_SYN_RECEIVED || c->state == TCP_TIME_WAIT || c->state == TCP_CLOSED))
			continue;
		if (c->state == TCP_CLOSED)
			continue;
		tcp_get_info(c, &i);
		show_row(&i, false, out, ctx);
		if (info && c->state != TCP_TIME_WAIT && c->state != TCP_SYN_SENT)
			show_info(&i, out, ctx);
	}
}

void tcp_nstat(struct tcp_stack *t, void (*emit)(void *ctx, const char *name, uint64_t v), void *ctx)
{
	static const char *const names[TCP_MIB_COUNT] = {
#define TCP_MIB_NAME(id, name) [TCP_MIB_##id] = name,
		TCP_MIB_LIST(TCP_MIB_NAME)
#undef TCP_MIB_NAME
	};
	emit(ctx, "TcpRtoAlgorithm", 1);
	emit(ctx, "TcpRtoMin", t->cfg.rto_min_ms);
	emit(ctx, "TcpRtoMax", t->cfg.rto_max_ms);
	emit(ctx, "TcpMaxConn", t->cfg.max_conns);
	for (int i = 0; i < TCP_MIB_COUNT; i++) {
		emit(ctx, names[i], t->mib[i]);
		if (i == TCP_MIB_EstabResets)
			emit(ctx, "TcpCurrEstab", t->nestab);
	}
	emit(ctx, "TcpExtSkiffObjCacheBytes", t->cache_bytes);  /* a level, not a count */
	emit(ctx, "TcpExtSkiffSgPins", t->sg_pins);             /* levels: 0 when idle */
	emit(ctx, "TcpExtSkiffSgHeldBytes", t->sg_held_bytes);
}
