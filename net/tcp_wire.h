/*
 * TCP header and options on the wire (RFC 9293 §3.1-3.2, RFC 7323 §2-3, RFC 2018 §2-3).
 * Bytes only: tcp_wire_check() makes every accessor safe, tcp_wire_parse() fills a
 * host-order struct, tcp_wire_emit() writes one. No state, no allocation.
 *
 * Validation order (STYLE): buffer holds the fixed header; data offset >= 5 words and
 * within the segment; then (the caller) the checksum; then the options.
 */
#ifndef SKIFF_NET_TCP_WIRE_H
#define SKIFF_NET_TCP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "net/wire.h"

#define TCP_HDR_LEN 20
#define TCP_MAX_HDR_LEN 60
#define TCP_MAX_OPT_LEN 40

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2           /* len 4, SYN only */
#define TCP_OPT_WS 3            /* len 3, SYN only */
#define TCP_OPT_SACK_PERM 4     /* len 2, SYN only */
#define TCP_OPT_SACK 5          /* len 2 + 8n, n 1..4 */
#define TCP_OPT_TS 8            /* len 10 */

#define TCP_MAX_SACK 4          /* blocks that fit in 40 bytes of options */
#define TCP_MAX_WS 14           /* RFC 7323 §2.3 */

/* Which options a struct tcp_opts carries. */
#define TCP_HAS_MSS 0x01
#define TCP_HAS_WS 0x02
#define TCP_HAS_SACK_PERM 0x04
#define TCP_HAS_TS 0x08
#define TCP_HAS_SACK 0x10

struct tcp_sack_block {
	uint32_t start, end;    /* [start, end) */
};

struct tcp_opts {
	uint8_t has;            /* TCP_HAS_* */
	uint8_t ws;             /* as received; clamp to TCP_MAX_WS is the caller's job */
	uint8_t nsack;
	uint16_t mss;
	uint32_t tsval, tsecr;
	struct tcp_sack_block sack[TCP_MAX_SACK];
};

struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff;           /* header length in bytes (20..60) */
	uint8_t flags;          /* TCP_FIN..TCP_CWR */
	uint16_t wnd, csum, urg;
	struct tcp_opts opt;
};

/* Options area (kind/length TLVs). Every iteration advances by >= 1 byte; a length
 * below 2 or past the area, a wrong fixed length, or a SACK length not 2+8n is
 * WIRE_BAD_OPTION. Unknown kinds are skipped (RFC 9293 MUST-6). */
enum wire_err tcp_wire_parse_opts(const uint8_t *opt, size_t len, struct tcp_opts *o);
/* tcp_wire_check() + fields + options. The checksum is not verified here. */
enum wire_err tcp_wire_parse(const uint8_t *buf, size_t len, struct tcp_hdr *h);

/* Bytes the options of o take on the wire (multiple of 4, at most 40; SACK blocks
 * beyond what fits are not counted). */
size_t tcp_wire_opts_len(const struct tcp_opts *o);
/* Writes header + options (h->doff and h->csum are ignored; checksum left 0).
 * Returns the header length, or 0 if cap is too small. */
size_t tcp_wire_emit(const struct tcp_hdr *h, uint8_t *buf, size_t cap);

/* The header most segments of a timestamped connection carry: no SYN or RST options, no
 * SACK blocks, just NOP NOP TS (RFC 7323 Appendix A's layout). The small struct spares
 * the sender building a whole struct tcp_hdr; tcp_wire_emit writes the same bytes for a
 * tcp_hdr whose only option is TCP_HAS_TS (and urg 0). */
struct tcp_hdr_ts {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	uint32_t tsval, tsecr;
};
#define TCP_HDR_TS_LEN (TCP_HDR_LEN + 12)

/* Writes TCP_HDR_TS_LEN bytes (checksum and urgent pointer 0); the caller has the room. */
static inline void tcp_wire_emit_ts(const struct tcp_hdr_ts *h, uint8_t *buf)
{
	wire_put16(buf, h->sport);
	wire_put16(buf + 2, h->dport);
	wire_put32(buf + 4, h->seq);
	wire_put32(buf + 8, h->ack);
	buf[12] = (uint8_t)((TCP_HDR_TS_LEN / 4) << 4);        /* reserved bits zero */
	buf[13] = h->flags;
	wire_put16(buf + 14, h->wnd);
	wire_put32(buf + 16, 0);                                /* checksum, urgent pointer */
	wire_put32(buf + 20, (uint32_t)TCP_OPT_NOP << 24 | TCP_OPT_NOP << 16 | TCP_OPT_TS << 8 | 10);
	wire_put32(buf + 24, h->tsval);
	wire_put32(buf + 28, h->tsecr);
}

/* Checksum with the IPv4 pseudo header (RFC 9293 §3.1); addresses in host order. */
int tcp_wire_csum_ok(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst);
void tcp_wire_set_csum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst);

static inline uint16_t tcp_wire_sport(const uint8_t *b) { return wire_get16(b); }
static inline uint16_t tcp_wire_dport(const uint8_t *b) { return wire_get16(b + 2); }
static inline uint32_t tcp_wire_seq(const uint8_t *b) { return wire_get32(b + 4); }
static inline uint8_t tcp_wire_flags(const uint8_t *b) { return b[13]; }
static inline size_t tcp_wire_doff(const uint8_t *b) { return (size_t)(b[12] >> 4) * 4; }

/* Fixed header present, data offset 5..15 words and within len. Inline: every segment
 * is checked here by TCP input and again by tcp_wire_parse. */
static inline enum wire_err tcp_wire_check(const uint8_t *buf, size_t len)
{
	if (len < TCP_HDR_LEN)
		return WIRE_TRUNCATED;
	size_t doff = tcp_wire_doff(buf);
	if (doff < TCP_HDR_LEN || doff > len)
		return WIRE_BAD_HDR_LEN;
	return WIRE_OK;
}

#endif
