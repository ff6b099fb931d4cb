/*
 * libFuzzer over tcp_input (make fuzz-tcp): arbitrary segments into an ESTABLISHED
 * connection. Each run builds a fresh stack (options on the handshake chosen by the
 * first input byte, data queued both by copy and by reference) and then interprets the
 * input as records:
 *   'S'-ish  a segment to the connection: flags, seq/ack relative to RCV.NXT/SND.UNA,
 *            window, urgent pointer, raw option bytes (any length 0..40, malformed
 *            ones included), payload; checksum right unless a bit says otherwise;
 *   raw      bytes as a whole TCP segment (ports patched to the connection's or not);
 *   time     advance the clock and run timers;
 *   app      send / send_ref / recv / shutdown / close / abort / setopt / connect;
 *   icmp     an ICMP error quoting a sequence number near SND.UNA;
 *   show     `ss -tnia` and nstat (the formatting paths);
 *   burst    open or close a receive burst: while open, segments go through GRO
 *            (net/gro.c), which holds trains and hands TCP chains of packets, and a
 *            segment record's sequence number is relative to where the previous one
 *            ended (offset 0 continues the train).
 * After the input: the stack is shut down and every allocation and packet must be back
 * (abort otherwise), so leaks on any path the fuzzer finds are crashes.
 */
#include "tests/host_panic.h"
#include "net/tcp_int.h"
#include "net/pkt.h"
#include "net/checksum.h"
#include "net/gro.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 256
#define BIG_SLOTS 4
#define US 0x0a000001u
#define PEER 0x0a000002u


#define FZ_HOLD 3               /* frames a lazy device keeps before completing them */

struct fz {
	struct tcp_stack t;
	struct pkt_pool pool, big;     /* big: super-segments (mode bit 0x08, also MSS 536) */
	uint8_t *mem, *big_mem;
	bool dev_csum;                  /* the device fills partial checksums (mode bit 0x04) */
	bool sg;                        /* it gathers fragments (mode bits 0x09 both set) */
	struct pkt *held[FZ_HOLD];      /* frames with fragments the "NIC" has not completed */
	int nheld;
	uint64_t now, rng;
	long live;
	uint32_t peer_seq;              /* the peer's next sequence number as we know it */
	struct tcp_sock *l, *c;
	int refs;
	struct gro gro;                 /* open: inside a receive burst */
	uint32_t train_end;             /* where the burst's last segment record ended */
	uint8_t file[8192];
};

#define FZ_MTU 1500             /* the route's MTU: every segment + IPv4 header fits */

static int f_output(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct fz *f = ctx;
	static uint8_t gathered[65536];
	uint8_t *seg = pkt_data(p);
	if (p->nfrags) {
		/* Fragments (pinned send-queue chunks) only in super-segments, only toward
		 * a device that gathers; read as it would DMA them. */
		if (!f->sg || !(p->flags & PKT_F_GSO_TCP4) || p->len > sizeof(gathered))
			abort();
		pkt_copy_out(p, 0, gathered, p->len);
		seg = gathered;
	}
	if (p->flags & PKT_F_CSUM_PARTIAL) {
		/* Only for super-segments or a device that fills them: do what it does. */
		if (!f->dev_csum && !(p->flags & PKT_F_GSO_TCP4))
			abort();
		if (p->csum_start != p->off || p->csum_off != 16 || p->len < 20)
			abort();
		wire_put16(seg + 16, csum_fold(csum_partial(seg, p->len, 0)));
	}
	if (!tcp_wire_csum_ok(seg, p->len, src, dst))
		abort();                /* everything we emit is well-formed */
	struct tcp_hdr h;
	if (tcp_wire_parse(seg, p->len, &h) != WIRE_OK)
		abort();
	/* No wire segment, new or retransmitted, exceeds the MTU: a super-segment's are
	 * its headers plus gso_size each (what net/gso.c or TSO cuts), and the whole
	 * fits one IPv4 datagram. */
	size_t hlen = (size_t)(seg[12] >> 4) * 4;
	size_t wire = p->flags & PKT_F_GSO_TCP4 ? hlen + p->gso_size : p->len;
	if (wire + 20u > FZ_MTU || p->len + 20u > 65535)
		abort();
	if ((p->flags & PKT_F_GSO_TCP4) && p->len - hlen <= p->gso_size)
		abort();                /* a super-segment carries more than one segment */
	if (!p->nfrags) {
		pkt_free(p);
		return 0;
	}
	/* A lazy device: completes the oldest held frame when a new one comes (ACKs,
	 * aborts and reuse of the data happen meanwhile; the rest after shutdown). */
	if (f->nheld == FZ_HOLD) {
		pkt_free(f->held[0]);
		memmove(f->held, f->held + 1, sizeof(f->held[0]) * (FZ_HOLD - 1));
		f->nheld--;
	}
	f->held[f->nheld++] = p;
	return 0;
}

static int f_route(void *ctx, uint32_t dst, uint32_t *src, uint16_t *mtu)
{
	(void)ctx;
	(void)dst;
	*src = US;
	*mtu = FZ_MTU;
	return 0;
}

static struct pkt *f_pkt(void *ctx)
{
	return pkt_alloc(&((struct fz *)ctx)->pool);
}

static struct pkt *f_pkt_big(void *ctx)
{
	return pkt_alloc(&((struct fz *)ctx)->big);
}

static int f_offload(void *ctx, uint32_t dst, struct tcp_offload *o)
{
	(void)dst;
	o->csum = ((struct fz *)ctx)->dev_csum;
	o->sg = ((struct fz *)ctx)->sg;
	o->gso_max = 0;
	return 0;
}

static void *f_alloc(void *ctx, size_t n)
{
	((struct fz *)ctx)->live++;
	return malloc(n);
}

static void f_free(void *ctx, void *p)
{
	((struct fz *)ctx)->live--;
	free(p);
}

static uint64_t f_random(void *ctx)
{
	struct fz *f = ctx;
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static uint64_t f_clock(void *ctx)
{
	return ((struct fz *)ctx)->now;
}

static void ref_done(void *arg, int err)
{
	(void)err;
	((struct fz *)arg)->refs--;
}

static void inject(struct fz *f, const uint8_t *seg, size_t len, bool fix_csum)
{
	struct pkt *p = pkt_alloc(&f->pool);
	if (!p)
		return;
	if (len > pkt_tailroom(p))
		len = pkt_tailroom(p);
	memcpy(pkt_data(p), seg, len);
	p->len = (uint16_t)len;
	if (fix_csum && len >= TCP_HDR_LEN)
		tcp_wire_set_csum(pkt_data(p), len, PEER, US);
	if (f->gro.open)
		gro_receive(&f->gro, p, PEER, US);
	else
		tcp_input(&f->t, p, PEER, US, f->now);
}

static void gro_to_tcp(void *ctx, struct pkt *p, uint32_t src, uint32_t dst)
{
	struct fz *f = ctx;
	tcp_input(&f->t, p, src, dst, f->now);
}

static bool gro_chain_ok(void *ctx)
{
	return ((struct fz *)ctx)->t.depth == 0;
}

static void op_burst(struct fz *f)
{
	if (f->gro.open) {
		gro_flush(&f->gro);
		f->gro.open = false;
	} else {
		f->gro.open = true;
		f->train_end = f->c ? f->c->rcv_nxt : f->peer_seq;
	}
}

/* A tiny cursor over the input. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct rd *r)
{
	uint16_t hi = u8(r);
	return (uint16_t)(hi << 8 | u8(r));
}

static void handshake(struct fz *f, uint8_t mode)
{
	uint8_t seg[60] = { 0 };
	struct tcp_hdr h = { .sport = 40000, .dport = 80, .seq = 1000, .flags = TCP_SYN, .wnd = 65535 };
	h.opt.has = TCP_HAS_MSS;
	h.opt.mss = (mode & 8) ? 536 : 1460;
	if (mode & 1)
		h.opt.has |= TCP_HAS_TS, h.opt.tsval = 1;
	if (mode & 2)
		h.opt.has |= TCP_HAS_SACK_PERM;
	if (mode & 4)
		h.opt.has |= TCP_HAS_WS, h.opt.ws = 7;
	size_t n = tcp_wire_emit(&h, seg, sizeof(seg));
	inject(f, seg, n, true);
	struct tcp_sock *c = NULL;
	for (struct tcp_sock *x = f->t.conns; x; x = x->next)
		c = x;
	if (!c)
		return;
	h.flags = TCP_ACK;
	h.seq = 1001;
	h.ack = c->iss + 1;
	h.opt.has &= TCP_HAS_TS;
	h.opt.tsval = 2;
	n = tcp_wire_emit(&h, seg, sizeof(seg));
	inject(f, seg, n, true);
	tcp_accept(f->l, &f->c);
	f->peer_seq = 1001;
}

static void op_segment(struct fz *f, struct rd *r)
{
	uint8_t flags = u8(r);
	int16_t ds = (int16_t)u16(r), da = (int16_t)u16(r);
	uint16_t wnd = u16(r), urg = u16(r);
	uint8_t ctl = u8(r);
	size_t olen = (size_t)(ctl & 0x3f) % 41;
	uint8_t seg[TCP_MAX_HDR_LEN + 1500];
	memset(seg, 0, TCP_MAX_HDR_LEN);
	struct tcp_sock *c = f->c;
	uint32_t rcv_nxt = c ? c->rcv_nxt : f->peer_seq, una = c ? c->snd_una : 0;
	if (f->gro.open)
		rcv_nxt = f->train_end;
	wire_put16(seg, (ctl & 0x40) ? 40001 : 40000);
	wire_put16(seg + 2, 80);
	wire_put32(seg + 4, rcv_nxt + (uint32_t)(int32_t)ds);
	wire_put32(seg + 8, una + (uint32_t)(int32_t)da);
	size_t hl = TCP_HDR_LEN + (olen + 3) / 4 * 4;
	seg[12] = (uint8_t)(hl / 4 << 4);
	seg[13] = flags;
	wire_put16(seg + 14, wnd);
	wire_put16(seg + 18, urg);
	for (size_t i = 0; i < olen; i++)
		seg[TCP_HDR_LEN + i] = u8(r);
	size_t dlen = u8(r);
	if (dlen & 0x80)
		dlen = (dlen & 0x7f) * 12;      /* up to 1524: full segments too */
	for (size_t i = 0; i < dlen && hl + i < sizeof(seg); i++)
		seg[hl + i] = (uint8_t)(i * 7);
	size_t len = hl + dlen < sizeof(seg) ? hl + dlen : sizeof(seg);
	f->train_end = rcv_nxt + (uint32_t)(int32_t)ds + (uint32_t)(len - hl);
	inject(f, seg, len, !(ctl & 0x80));
}

static void op_raw(struct fz *f, struct rd *r)
{
	size_t len = u8(r);
	uint8_t seg[256] = { 0 };
	for (size_t i = 0; i < len; i++)
		seg[i] = u8(r);
	if (len >= 4 && (seg[0] & 1)) {
		wire_put16(seg, 40000);
		wire_put16(seg + 2, 80);
	}
	inject(f, seg, len, len & 1);
}

static void op_app(struct fz *f, struct rd *r)
{
	uint8_t k = u8(r);
	struct tcp_sock *c = f->c;
	uint8_t buf[4096];
	switch (k % 10) {
	case 0:
		if (c)
			tcp_send(c, f->file, (size_t)u16(r) % sizeof(f->file));
		break;
	case 1:
		if (c && tcp_send_ref(c, f->file, 1 + (size_t)u16(r) % sizeof(f->file), ref_done, f) == 0)
			f->refs++;
		break;
	case 2:
		if (c)
			tcp_recv(c, buf, (size_t)u16(r) % sizeof(buf));
		break;
	case 3:
		if (c)
			tcp_shutdown(c, TCP_SHUT_WR);
		break;
	case 4:
		if (c) {
			tcp_close(c);
			f->c = NULL;
		}
		break;
	case 5:
		if (c) {
			tcp_abort(c);
			f->c = NULL;
		}
		break;
	case 6:
		if (c)
			tcp_setopt(c, (enum tcp_opt)(u8(r) % 6), u16(r));
		break;
	case 7:
		if (!c)
			tcp_accept(f->l, &f->c);
		break;
	case 8: {
		struct tcp_sock *n;
		if (tcp_connect(&f->t, 0, PEER, u16(r), NULL, NULL, &n) == 0 && (u8(r) & 1))
			tcp_abort(n);
		break;
	}
	default:
		if (c) {
			const uint8_t *d;
			size_t n = tcp_recv_peek(c, &d);
			if (n)
				tcp_recv_consume(c, n / 2 + 1);
		}
		break;
	}
}

static void op_icmp(struct fz *f, struct rd *r)
{
	uint8_t q[28] = { 0x45 };
	uint8_t type = u8(r), code = u8(r);
	uint16_t mtu = u16(r);
	int16_t d = (int16_t)u16(r);
	wire_put16(q + 2, u16(r));
	q[9] = 6;
	wire_put32(q + 12, US);
	wire_put32(q + 16, PEER);
	wire_put16(q + 20, 80);
	wire_put16(q + 22, 40000);
	wire_put32(q + 24, (f->c ? f->c->snd_una : 0) + (uint32_t)(int32_t)d);
	tcp_icmp_error(&f->t, type, code, mtu, q, 20 + u8(r) % 9);
}

static void sink_line(void *ctx, const char *s)
{
	(void)ctx;
	(void)s;
}

static void sink_kv(void *ctx, const char *n, uint64_t v)
{
	(void)ctx;
	(void)n;
	(void)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	memset(&f, 0, offsetof(struct fz, file));
	for (size_t i = 0; i < sizeof(f.file); i++)
		f.file[i] = (uint8_t)(i * 13);
	f.mem = aligned_alloc(64, (size_t)SLOTS * PKT_SLOT_SIZE);
	pkt_pool_init(&f.pool, f.mem, 0, SLOTS);
	f.big_mem = aligned_alloc(64, (size_t)BIG_SLOTS * pkt_slot_size(65536));
	pkt_pool_init_sized(&f.big, f.big_mem, 0, BIG_SLOTS, 65536);
	f.now = 1000000000000ull;
	f.rng = 0x1234567;
	struct rd r = { data, size };
	uint8_t mode = u8(&r);
	struct tcp_config cfg;
	tcp_config_default(&cfg);
	cfg.sack = !(mode & 0x10);
	cfg.cc = (mode & 0x20) ? TCP_CC_RENO : TCP_CC_CUBIC;
	cfg.rcvbuf = (mode & 0x40) ? 4096 : 65536;
	cfg.syn_backlog = (mode & 0x80) ? 0 : 8;        /* 0: everything via SYN cookies */
	cfg.max_conns = 16;
	f.dev_csum = mode & 0x04;
	f.sg = (mode & 0x09) == 0x09;
	struct tcp_env env = {
		.ip_output = f_output, .route = f_route, .pkt_alloc = f_pkt,
		.tx_offload = f_offload, .pkt_alloc_big = (mode & 0x08) ? f_pkt_big : NULL,
		.mem_alloc = f_alloc, .mem_free = f_free, .random = f_random,
		.clock_ns = f_clock, .ctx = &f,
	};
	tcp_init(&f.t, &env, &cfg, f.now);
	gro_init(&f.gro, &f.big, gro_to_tcp, &f);
	f.gro.chain_ok = gro_chain_ok;
	tcp_listen(&f.t, 0, 80, 4, NULL, NULL, &f.l);
	handshake(&f, mode);
	if (f.c) {
		tcp_send(f.c, f.file, 3000);
		if (tcp_send_ref(f.c, f.file, 5000, ref_done, &f) == 0)
			f.refs++;
	}
	while (r.n) {
		uint8_t op = u8(&r);
		switch (op % 8) {
		case 0: case 1: case 2:
			op_segment(&f, &r);
			break;
		case 3:
			op_raw(&f, &r);
			break;
		case 4:
			f.now += (uint64_t)u16(&r) * 1000000ull;
			tcp_poll(&f.t, f.now);
			break;
		case 5:
			op_app(&f, &r);
			break;
		case 6:
			op_icmp(&f, &r);
			break;
		default: {
			if (op & 0x08) {
				op_burst(&f);
				break;
			}
			char *argv[] = { "ss", "-tnia" };
			tcp_show(&f.t, 2, argv, sink_line, NULL);
			tcp_nstat(&f.t, sink_kv, NULL);
			break;
		}
		}
	}
	gro_flush(&f.gro);
	tcp_shutdown_stack(&f.t);
	for (int i = 0; i < f.nheld; i++)       /* completions after the stack is gone */
		pkt_free(f.held[i]);
	if (f.t.sg_pins != 0 || f.t.sg_held_bytes != 0) {
		fprintf(stderr, "pins left: %llu, %llu bytes\n", (unsigned long long)f.t.sg_pins,
			(unsigned long long)f.t.sg_held_bytes);
		abort();
	}
	if (f.live != 0 || f.pool.stats.free != SLOTS || f.big.stats.free != BIG_SLOTS ||
	    f.t.mem_used != 0 || f.t.rbuf_owed != 0 || f.refs != 0) {
		fprintf(stderr, "leak: %ld allocations, %u/%u packets, %d refs\n", f.live,
			f.pool.stats.free, SLOTS, f.refs);
		abort();
	}
	free(f.mem);
	free(f.big_mem);
	return 0;
}
