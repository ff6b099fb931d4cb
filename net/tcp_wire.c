/*
 * TCP header and options: check, parse, emit (RFC 9293 §3.1-3.2, RFC 7323, RFC 2018).
 * The option loop (parse_opts) is the place stacks have died (AMNESIA:33, URGENT/11):
 * it never reads a length byte it has not bounds-checked, rejects lengths 0 and 1 so
 * every step advances, and never steps past the data offset.
 */
#include "net/tcp_wire.h"
#include "net/checksum.h"
#include "lib/string.h"

/* Fixed lengths of the options we understand; 0 = variable or unknown. */
static size_t opt_fixed_len(uint8_t kind)
{
	switch (kind) {
	case TCP_OPT_MSS: return 4;
	case TCP_OPT_WS: return 3;
	case TCP_OPT_SACK_PERM: return 2;
	case TCP_OPT_TS: return 10;
	default: return 0;
	}
}

static enum wire_err parse_one(uint8_t kind, const uint8_t *v, size_t olen, struct tcp_opts *o)
{
	size_t fixed = opt_fixed_len(kind);
	if (fixed && olen != fixed)
		return WIRE_BAD_OPTION;
	switch (kind) {
	case TCP_OPT_MSS:
		o->has |= TCP_HAS_MSS;
		o->mss = wire_get16(v);
		break;
	case TCP_OPT_WS:
		o->has |= TCP_HAS_WS;
		o->ws = v[0];
		break;
	case TCP_OPT_SACK_PERM:
		o->has |= TCP_HAS_SACK_PERM;
		break;
	case TCP_OPT_TS:
		o->has |= TCP_HAS_TS;
		o->tsval = wire_get32(v);
		o->tsecr = wire_get32(v + 4);
		break;
	case TCP_OPT_SACK: {
		/* olen >= 2 here; (olen - 2) is a whole number of 8-byte blocks, 1..4. */
		size_t body = olen - 2;
		if (body == 0 || body % 8 || body / 8 > TCP_MAX_SACK)
			return WIRE_BAD_OPTION;
		o->has |= TCP_HAS_SACK;
		o->nsack = (uint8_t)(body / 8);
		for (size_t i = 0; i < o->nsack; i++) {
			o->sack[i].start = wire_get32(v + 8 * i);
			o->sack[i].end = wire_get32(v + 8 * i + 4);
		}
		break;
	}
	default:
		break;          /* unknown: skipped by its length (MUST-6) */
	}
	return WIRE_OK;
}

/* The SYN layout's fixed bytes: MSS kind/len; SACK_PERM kind/len, TS kind/len; NOP, WS
 * kind/len (the value bytes between are read as fields). */
#define SYN_W0 ((TCP_OPT_MSS << 8) | 4)
#define SYN_W1 (((uint32_t)TCP_OPT_SACK_PERM << 24) | (2u << 16) | (TCP_OPT_TS << 8) | 10u)
#define SYN_W4 (((uint32_t)TCP_OPT_NOP << 16) | (TCP_OPT_WS << 8) | 3u)

enum wire_err tcp_wire_parse_opts(const uint8_t *opt, size_t len, struct tcp_opts *o)
{
	/* Every segment of a connection with timestamps carries exactly NOP NOP TS
	 * (RFC 7323 Appendix A's layout; Linux tcp_parse_aligned_timestamp): taken
	 * whole, it gives what the loop below would. */
	if (len == 12 && opt[0] == TCP_OPT_NOP && opt[1] == TCP_OPT_NOP && opt[2] == TCP_OPT_TS &&
	    opt[3] == 10) {
		o->has = TCP_HAS_TS;
		o->ws = o->nsack = 0;
		o->mss = 0;
		o->tsval = wire_get32(opt + 4);
		o->tsecr = wire_get32(opt + 8);
		return WIRE_OK;
	}
	/* A SYN or SYN-ACK from Linux, or from us (emit_opts): MSS, SACK_PERM, TS, NOP, WS
	 * in exactly this layout, also taken whole. */
	if (len == 20 && wire_get16(opt) == SYN_W0 && wire_get32(opt + 4) == SYN_W1 &&
	    wire_get32(opt + 16) >> 8 == SYN_W4) {
		o->has = TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS | TCP_HAS_WS;
		o->nsack = 0;
		o->mss = wire_get16(opt + 2);
		o->tsval = wire_get32(opt + 8);
		o->tsecr = wire_get32(opt + 12);
		o->ws = opt[19];
		return WIRE_OK;
	}
	memset(o, 0, sizeof(*o));
	size_t i = 0;
	while (i < len) {
		uint8_t kind = opt[i];
		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return WIRE_BAD_OPTION;         /* no room for the length byte */
		size_t olen = opt[i + 1];
		if (olen < 2 || olen > len - i)
			return WIRE_BAD_OPTION;         /* would not advance, or overlong */
		enum wire_err e = parse_one(kind, opt + i + 2, olen, o);
		if (e != WIRE_OK)
			return e;
		i += olen;                              /* >= 2: the loop advances */
	}
	return WIRE_OK;
}

enum wire_err tcp_wire_parse(const uint8_t *buf, size_t len, struct tcp_hdr *h)
{
	enum wire_err e = tcp_wire_check(buf, len);
	if (e != WIRE_OK)
		return e;
	h->sport = wire_get16(buf);
	h->dport = wire_get16(buf + 2);
	h->seq = wire_get32(buf + 4);
	h->ack = wire_get32(buf + 8);
	h->doff = (uint8_t)tcp_wire_doff(buf);
	h->flags = buf[13];
	h->wnd = wire_get16(buf + 14);
	h->csum = wire_get16(buf + 16);
	h->urg = wire_get16(buf + 18);
	return tcp_wire_parse_opts(buf + TCP_HDR_LEN, h->doff - TCP_HDR_LEN, &h->opt);
}

/* SACK blocks that fit after the other options (each 8 bytes, 2 bytes kind/len, 2 NOPs). */
static size_t sack_fit(const struct tcp_opts *o, size_t used)
{
	if (!(o->has & TCP_HAS_SACK) || o->nsack == 0 || used + 4 + 8 > TCP_MAX_OPT_LEN)
		return 0;
	size_t n = (TCP_MAX_OPT_LEN - used - 4) / 8;
	return n < o->nsack ? n : o->nsack;
}

/* Layout as Linux sends it, so captures look familiar:
 *   MSS(4) | SACK_PERM+TS (04 02 08 0a ..) or NOP NOP TS or NOP NOP SACK_PERM |
 *   NOP WS | NOP NOP SACK(2+8n). */
static size_t opts_fixed_len(const struct tcp_opts *o)
{
	size_t n = 0;
	if (o->has & TCP_HAS_MSS)
		n += 4;
	if (o->has & TCP_HAS_TS)
		n += 12;
	else if (o->has & TCP_HAS_SACK_PERM)
		n += 4;
	if (o->has & TCP_HAS_WS)
		n += 4;
	return n;
}

size_t tcp_wire_opts_len(const struct tcp_opts *o)
{
	size_t n = opts_fixed_len(o);
	size_t ns = sack_fit(o, n);
	return ns ? n + 4 + 8 * ns : n;
}

static uint8_t *emit_opts(const struct tcp_opts *o, uint8_t *p)
{
	if (o->has & TCP_HAS_MSS) {
		*p++ = TCP_OPT_MSS;
		*p++ = 4;
		wire_put16(p, o->mss);
		p += 2;
	}
	if (o->has & TCP_HAS_TS) {
		if (o->has & TCP_HAS_SACK_PERM) {
			*p++ = TCP_OPT_SACK_PERM;
			*p++ = 2;
		} else {
			*p++ = TCP_OPT_NOP;
			*p++ = TCP_OPT_NOP;
		}
		*p++ = TCP_OPT_TS;
		*p++ = 10;
		wire_put32(p, o->tsval);
		wire_put32(p + 4, o->tsecr);
		p += 8;
	} else if (o->has & TCP_HAS_SACK_PERM) {
		*p++ = TCP_OPT_NOP;
		*p++ = TCP_OPT_NOP;
		*p++ = TCP_OPT_SACK_PERM;
		*p++ = 2;
	}
	if (o->has & TCP_HAS_WS) {
		*p++ = TCP_OPT_NOP;
		*p++ = TCP_OPT_WS;
		*p++ = 3;
		*p++ = o->ws;
	}
	return p;
}

static void emit_fixed(const struct tcp_hdr *h, uint8_t *buf, size_t hlen)
{
	wire_put16(buf, h->sport);
	wire_put16(buf + 2, h->dport);
	wire_put32(buf + 4, h->seq);
	wire_put32(buf + 8, h->ack);
	buf[12] = (uint8_t)((hlen / 4) << 4);   /* reserved bits zero */
	buf[13] = h->flags;
	wire_put16(buf + 14, h->wnd);
	wire_put16(buf + 16, 0);
	wire_put16(buf + 18, h->urg);
}

size_t tcp_wire_emit(const struct tcp_hdr *h, uint8_t *buf, size_t cap)
{
	/* Most segments of a connection with timestamps: NOP NOP TS and nothing else
	 * (what emit_opts writes for it), without the general layout's walk. */
	if (h->opt.has == TCP_HAS_TS && cap >= TCP_HDR_LEN + 12) {
		emit_fixed(h, buf, TCP_HDR_LEN + 12);
		uint8_t *p = buf + TCP_HDR_LEN;
		p[0] = TCP_OPT_NOP;
		p[1] = TCP_OPT_NOP;
		p[2] = TCP_OPT_TS;
		p[3] = 10;
		wire_put32(p + 4, h->opt.tsval);
		wire_put32(p + 8, h->opt.tsecr);
		return TCP_HDR_LEN + 12;
	}
	size_t olen = tcp_wire_opts_len(&h->opt);
	size_t hlen = TCP_HDR_LEN + olen;
	if (cap < hlen)
		return 0;
	emit_fixed(h, buf, hlen);
	uint8_t *p = emit_opts(&h->opt, buf + TCP_HDR_LEN);
	size_t ns = sack_fit(&h->opt, opts_fixed_len(&h->opt));
	if (ns) {
		*p++ = TCP_OPT_NOP;
		*p++ = TCP_OPT_NOP;
		*p++ = TCP_OPT_SACK;
		*p++ = (uint8_t)(2 + 8 * ns);
		for (size_t i = 0; i < ns; i++, p += 8) {
			wire_put32(p, h->opt.sack[i].start);
			wire_put32(p + 4, h->opt.sack[i].end);
		}
	}
	/* Every layout above is a multiple of 4; nothing to pad (MUST-69 holds trivially). */
	return hlen;
}

int tcp_wire_csum_ok(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	if (len > 0xffff)
		return 0;
	uint32_t s = csum_pseudo_v4(src, dst, 6, (uint16_t)len);
	return csum_fold(csum_partial(seg, len, s)) == 0;
}

void tcp_wire_set_csum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	wire_put16(seg + 16, 0);
	uint32_t s = csum_pseudo_v4(src, dst, 6, (uint16_t)len);
	wire_put16(seg + 16, csum_fold(csum_partial(seg, len, s)));
}
