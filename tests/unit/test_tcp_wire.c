/*
 * TCP wire module: golden bytes both ways, checksum with the pseudo header, and the
 * malformed cases the option loop must survive (zero/one length, overlong, truncated,
 * wrong fixed lengths, bad SACK lengths, data offset outside the segment).
 */
#include "tests/unit/test.h"
#include "net/tcp_wire.h"
#include "net/tcp_int.h"
#include <stdlib.h>
#include <string.h>

/* A Linux SYN: 50000 -> 80, MSS 1460, SACK-permitted, TS 1/0, WS 7. */
static const uint8_t linux_syn[] = {
	0xc3, 0x50, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfa, 0xf0, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* Reference checksum: RFC 1071 straight from the definition. */
static uint16_t ref_csum(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)len;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(seg[i] << 8 | seg[i + 1]);
	if (len & 1)
		sum += (uint32_t)seg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

TEST(tcp_wire_parse_golden_syn)
{
	struct tcp_hdr h;
	REQUIRE(tcp_wire_parse(linux_syn, sizeof(linux_syn), &h) == WIRE_OK);
	CHECK_EQ(h.sport, 50000);
	CHECK_EQ(h.dport, 80);
	CHECK_EQ(h.seq, 0x12345678);
	CHECK_EQ(h.doff, 40);
	CHECK_EQ(h.flags, TCP_SYN);
	CHECK_EQ(h.wnd, 64240);
	CHECK_EQ(h.opt.has, TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS | TCP_HAS_WS);
	CHECK_EQ(h.opt.mss, 1460);
	CHECK_EQ(h.opt.ws, 7);
	CHECK_EQ(h.opt.tsval, 1);
	CHECK_EQ(h.opt.tsecr, 0);
}

TEST(tcp_wire_emit_golden_syn)
{
	struct tcp_hdr h;
	REQUIRE(tcp_wire_parse(linux_syn, sizeof(linux_syn), &h) == WIRE_OK);
	uint8_t buf[60];
	CHECK_EQ(tcp_wire_opts_len(&h.opt), 20);
	REQUIRE(tcp_wire_emit(&h, buf, sizeof(buf)) == sizeof(linux_syn));
	CHECK_MEM(buf, linux_syn, sizeof(linux_syn));
	CHECK_EQ(tcp_wire_emit(&h, buf, 39), 0);        /* too small: nothing */
}

/* The template emitter writes what the general one writes for a timestamp-only header,
 * and the bytes parse back to the same fields. */
TEST(tcp_wire_emit_ts_matches_emit)
{
	uint8_t a[64], b[64];
	memset(a, 0xaa, sizeof(a));
	memset(b, 0x55, sizeof(b));
	struct tcp_hdr h = { .sport = 8080, .dport = 49152, .seq = 0x80000001u, .ack = 0xfffffffeu,
			     .flags = TCP_ACK | TCP_PSH, .wnd = 0x1234,
			     .opt = { .has = TCP_HAS_TS, .tsval = 0x01020304u, .tsecr = 0xa0b0c0d0u } };
	struct tcp_hdr_ts t = { .sport = 8080, .dport = 49152, .seq = 0x80000001u, .ack = 0xfffffffeu,
				.flags = TCP_ACK | TCP_PSH, .wnd = 0x1234,
				.tsval = 0x01020304u, .tsecr = 0xa0b0c0d0u };
	CHECK_EQ(tcp_wire_emit(&h, a, sizeof(a)), TCP_HDR_TS_LEN);
	tcp_wire_emit_ts(&t, b);
	CHECK(memcmp(a, b, TCP_HDR_TS_LEN) == 0);
	CHECK_EQ(b[TCP_HDR_TS_LEN], 0x55);      /* nothing written past the header */
	struct tcp_hdr p;
	REQUIRE(tcp_wire_parse(b, TCP_HDR_TS_LEN, &p) == WIRE_OK);
	CHECK_EQ(p.doff, TCP_HDR_TS_LEN);
	CHECK_EQ(p.seq, 0x80000001u);
	CHECK_EQ(p.ack, 0xfffffffeu);
	CHECK_EQ(p.wnd, 0x1234);
	CHECK_EQ(p.opt.has, TCP_HAS_TS);
	CHECK_EQ(p.opt.tsval, 0x01020304u);
	CHECK_EQ(p.opt.tsecr, 0xa0b0c0d0u);
}

TEST(tcp_wire_emit_sack_blocks)
{
	struct tcp_hdr h = { .sport = 1, .dport = 2, .seq = 3, .ack = 4, .flags = TCP_ACK, .wnd = 5 };
	h.opt.has = TCP_HAS_TS | TCP_HAS_SACK;
	h.opt.tsval = 0x01020304;
	h.opt.tsecr = 0x05060708;
	h.opt.nsack = 4;                /* only 3 fit next to a timestamp */
	for (int i = 0; i < 4; i++)
		h.opt.sack[i] = (struct tcp_sack_block){ 100u * i + 10, 100u * i + 20 };
	uint8_t buf[60];
	size_t n = tcp_wire_emit(&h, buf, sizeof(buf));
	REQUIRE(n == 20 + 12 + 4 + 24);
	static const uint8_t opts[] = { 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 5, 26 };
	CHECK_MEM(buf + 20, opts, sizeof(opts));
	struct tcp_hdr back;
	REQUIRE(tcp_wire_parse(buf, n, &back) == WIRE_OK);
	CHECK_EQ(back.opt.nsack, 3);
	CHECK_EQ(back.opt.sack[2].start, 210);
	CHECK_EQ(back.opt.sack[2].end, 220);
	CHECK_EQ(back.opt.tsecr, 0x05060708);
	/* Without timestamps all four fit. */
	h.opt.has = TCP_HAS_SACK;
	n = tcp_wire_emit(&h, buf, sizeof(buf));
	CHECK_EQ(n, 20 + 4 + 32);
	REQUIRE(tcp_wire_parse(buf, n, &back) == WIRE_OK);
	CHECK_EQ(back.opt.nsack, 4);
}

TEST(tcp_wire_checksum_pseudo_header)
{
	uint8_t seg[45];
	memcpy(seg, linux_syn, sizeof(linux_syn));
	memcpy(seg + 40, "hello", 5);           /* odd length */
	uint32_t src = 0xc0a80001, dst = 0xc0a80002;
	tcp_wire_set_csum(seg, sizeof(seg), src, dst);
	uint8_t copy[45];
	memcpy(copy, seg, sizeof(seg));
	copy[16] = copy[17] = 0;
	CHECK_EQ(wire_get16(seg + 16), ref_csum(copy, sizeof(copy), src, dst));
	CHECK(tcp_wire_csum_ok(seg, sizeof(seg), src, dst));
	CHECK(!tcp_wire_csum_ok(seg, sizeof(seg), src, dst + 1));       /* pseudo header counts */
	seg[44] ^= 1;
	CHECK(!tcp_wire_csum_ok(seg, sizeof(seg), src, dst));
}

TEST(tcp_wire_check_lengths)
{
	uint8_t b[64];
	memcpy(b, linux_syn, sizeof(linux_syn));
	CHECK_EQ(tcp_wire_check(b, 19), WIRE_TRUNCATED);
	CHECK_EQ(tcp_wire_check(b, 39), WIRE_BAD_HDR_LEN);      /* doff 40 > 39 */
	b[12] = 0x40;                                           /* doff 16 < 20 */
	CHECK_EQ(tcp_wire_check(b, 40), WIRE_BAD_HDR_LEN);
	b[12] = 0x00;
	CHECK_EQ(tcp_wire_check(b, 40), WIRE_BAD_HDR_LEN);
	b[12] = 0xf0;                                           /* 60 bytes */
	CHECK_EQ(tcp_wire_check(b, 59), WIRE_BAD_HDR_LEN);
	memset(b + 20, TCP_OPT_NOP, 40);
	CHECK_EQ(tcp_wire_check(b, 60), WIRE_OK);
	struct tcp_hdr h;
	CHECK_EQ(tcp_wire_parse(b, 60, &h), WIRE_OK);
	CHECK_EQ(h.opt.has, 0);
}

static enum wire_err opts(const uint8_t *o, size_t n, struct tcp_opts *out)
{
	return tcp_wire_parse_opts(o, n, out);
}

TEST(tcp_wire_opt_malformed)
{
	struct tcp_opts o;
	CHECK_EQ(opts((const uint8_t[]){ 2, 0, 5, 0xb4 }, 4, &o), WIRE_BAD_OPTION);      /* len 0 */
	CHECK_EQ(opts((const uint8_t[]){ 2, 1, 5, 0xb4 }, 4, &o), WIRE_BAD_OPTION);      /* len 1 */
	CHECK_EQ(opts((const uint8_t[]){ 99, 0 }, 2, &o), WIRE_BAD_OPTION);              /* unknown, len 0 */
	CHECK_EQ(opts((const uint8_t[]){ 2, 4, 5, 0xb4 }, 3, &o), WIRE_BAD_OPTION);      /* overlong */
	CHECK_EQ(opts((const uint8_t[]){ 1, 1, 1, 2 }, 4, &o), WIRE_BAD_OPTION);         /* kind w/o length */
	CHECK_EQ(opts((const uint8_t[]){ 2, 3, 5, 0 }, 4, &o), WIRE_BAD_OPTION);         /* MSS len 3 */
	CHECK_EQ(opts((const uint8_t[]){ 3, 4, 7, 0 }, 4, &o), WIRE_BAD_OPTION);         /* WS len 4 */
	CHECK_EQ(opts((const uint8_t[]){ 4, 3, 0, 0 }, 4, &o), WIRE_BAD_OPTION);         /* SACK-perm len 3 */
	CHECK_EQ(opts((const uint8_t[]){ 8, 8, 0, 0, 0, 0, 0, 0 }, 8, &o), WIRE_BAD_OPTION); /* TS len 8 */
	CHECK_EQ(opts((const uint8_t[]){ 5, 2, 0, 0 }, 4, &o), WIRE_BAD_OPTION);         /* SACK, no block */
	uint8_t sack9[9] = { 5, 9 };
	CHECK_EQ(opts(sack9, 9, &o), WIRE_BAD_OPTION);                                    /* 7-byte block */
	uint8_t big[40] = { 99, 40 };
	CHECK_EQ(opts(big, 40, &o), WIRE_OK);                                             /* unknown, whole area */
	CHECK_EQ(opts(big, 39, &o), WIRE_BAD_OPTION);
}

TEST(tcp_wire_opt_skip_eol_alignment)
{
	struct tcp_opts o;
	/* Unknown option skipped (MUST-6), unaligned MSS (MUST-64), EOL ends the list and
	 * what follows it is not looked at. */
	const uint8_t a[] = { 30, 4, 0xff, 0xff, 1, 2, 4, 0x02, 0x18, 0, 2, 0, 0, 0, 0, 0 };
	REQUIRE(opts(a, sizeof(a), &o) == WIRE_OK);
	CHECK_EQ(o.has, TCP_HAS_MSS);
	CHECK_EQ(o.mss, 536);
	/* A SACK option on any segment (MUST-5), two blocks. */
	const uint8_t b[] = { 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 };
	REQUIRE(opts(b, sizeof(b), &o) == WIRE_OK);
	CHECK_EQ(o.nsack, 2);
	CHECK_EQ(o.sack[1].start, 3);
	CHECK_EQ(o.sack[1].end, 4);
}

/* Random option areas: the loop always terminates, never reads out of bounds (ASan),
 * and what it accepts re-parses the same. */
TEST(tcp_wire_opt_random)
{
	uint64_t x = 88172645463325252ull;
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t a[40];
		size_t n = 0;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = x % 41;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			a[i] = (uint8_t)(x % 4 == 0 ? x >> 8 : (x >> 8) % 12);
		}
		uint8_t *heap = malloc(n ? n : 1);     /* exact size: ASan sees any overread */
		memcpy(heap, a, n);
		struct tcp_opts o;
		enum wire_err e = tcp_wire_parse_opts(heap, n, &o);
		CHECK(e == WIRE_OK || e == WIRE_BAD_OPTION);
		free(heap);
	}
}

TEST(tcp_seq_compare)
{
	CHECK(seq_lt(0xfffffff0u, 0x10));               /* across the wrap */
	CHECK(seq_gt(0x10, 0xfffffff0u));
	CHECK(seq_leq(5, 5));
	CHECK(seq_geq(5, 5));
	CHECK(!seq_lt(5, 5));
	CHECK(seq_in(0, 0xffffffffu, 2));
	CHECK(!seq_in(2, 0xffffffffu, 2));
	CHECK_EQ(seq_max(0xfffffff0u, 3), 3);
	CHECK_EQ(seq_min(0xfffffff0u, 3), 0xfffffff0u);
}

/* The aligned-timestamp fast path (NOP NOP TS) gives what the general walk gives for
 * the same option in another layout, and leaves nothing of an earlier parse behind. */
TEST(tcp_wire_aligned_timestamp_fast_path)
{
	const uint8_t aligned[12] = { 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	const uint8_t other[12] = { 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 1 };
	const uint8_t syn[8] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };       /* MSS 1460, WS 7 */
	struct tcp_opts a, b;
	REQUIRE(tcp_wire_parse_opts(syn, sizeof(syn), &a) == WIRE_OK);
	CHECK_EQ(a.mss, 1460);
	REQUIRE(tcp_wire_parse_opts(aligned, sizeof(aligned), &a) == WIRE_OK);
	REQUIRE(tcp_wire_parse_opts(other, sizeof(other), &b) == WIRE_OK);
	CHECK_EQ(a.has, TCP_HAS_TS);
	CHECK_EQ(a.has, b.has);
	CHECK_EQ(a.tsval, 0x11223344u);
	CHECK_EQ(a.tsecr, 0x55667788u);
	CHECK_EQ(a.tsval, b.tsval);
	CHECK_EQ(a.tsecr, b.tsecr);
	CHECK_EQ(a.mss, 0);
	CHECK_EQ(a.ws, 0);
	CHECK_EQ(a.nsack, 0);
}

/* The timestamp-only emit path writes the layout the general one does (golden bytes),
 * parses back, and still refuses a buffer that is too small. */
TEST(tcp_wire_emit_timestamp_only)
{
	struct tcp_hdr h = { .sport = 80, .dport = 40000, .seq = 0x01020304, .ack = 0x05060708,
			     .flags = TCP_ACK | TCP_PSH, .wnd = 0x1234 };
	h.opt.has = TCP_HAS_TS;
	h.opt.tsval = 0x11223344;
	h.opt.tsecr = 0x55667788;
	uint8_t b[64];
	memset(b, 0xee, sizeof(b));
	REQUIRE(tcp_wire_emit(&h, b, sizeof(b)) == 32);
	const uint8_t want[32] = { 0, 80, 0x9c, 0x40, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0x18, 0x12, 0x34,
				   0, 0, 0, 0, 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	CHECK(memcmp(b, want, 32) == 0);
	CHECK_EQ(b[32], 0xee);
	CHECK_EQ(tcp_wire_opts_len(&h.opt), 12);
	struct tcp_hdr back;
	REQUIRE(tcp_wire_parse(b, 32, &back) == WIRE_OK);
	CHECK_EQ(back.opt.tsval, h.opt.tsval);
	CHECK_EQ(back.opt.tsecr, h.opt.tsecr);
	CHECK_EQ(back.seq, h.seq);
	CHECK_EQ(tcp_wire_emit(&h, b, 31), 0);
}

/* The SYN-layout fast path (MSS, SACK_PERM, TS, NOP, WS: Linux's and ours) gives what
 * the general walk gives for the same options in another order; a near miss (one
 * fixed byte changed) goes through the walk and is judged there. */
TEST(tcp_wire_syn_layout_fast_path)
{
	const uint8_t *fast = linux_syn + TCP_HDR_LEN;
	const uint8_t other[20] = { 1, 3, 3, 7, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
				    2, 4, 0x05, 0xb4, 4, 2 };       /* WS, TS, MSS, SACK_PERM */
	struct tcp_opts a, b;
	memset(&a, 0xaa, sizeof(a));            /* nothing of an earlier parse may stay */
	REQUIRE(tcp_wire_parse_opts(fast, 20, &a) == WIRE_OK);
	REQUIRE(tcp_wire_parse_opts(other, sizeof(other), &b) == WIRE_OK);
	CHECK_EQ(a.has, TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS | TCP_HAS_WS);
	CHECK_EQ(a.has, b.has);
	CHECK_EQ(a.mss, 1460);
	CHECK_EQ(a.mss, b.mss);
	CHECK_EQ(a.ws, 7);
	CHECK_EQ(a.ws, b.ws);
	CHECK_EQ(a.tsval, 1);
	CHECK_EQ(a.tsval, b.tsval);
	CHECK_EQ(a.tsecr, b.tsecr);
	CHECK_EQ(a.nsack, 0);
	uint8_t bad[20];
	memcpy(bad, fast, 20);
	bad[7] = 9;                             /* TS length 9: not the layout, and malformed */
	CHECK_EQ(tcp_wire_parse_opts(bad, 20, &a), WIRE_BAD_OPTION);
	memcpy(bad, fast, 20);
	bad[18] = 4;                            /* WS length 4 */
	CHECK_EQ(tcp_wire_parse_opts(bad, 20, &a), WIRE_BAD_OPTION);
	memcpy(bad, fast, 20);
	bad[16] = 0;                            /* EOL where the NOP was: WS never read */
	REQUIRE(tcp_wire_parse_opts(bad, 20, &a) == WIRE_OK);
	CHECK_EQ(a.has, TCP_HAS_MSS | TCP_HAS_SACK_PERM | TCP_HAS_TS);
}
