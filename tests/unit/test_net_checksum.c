/*
 * csum_partial against the plain RFC 1071 definition (16-bit big-endian words summed
 * with end-around carry), for every length up to a few cache lines, every alignment,
 * random, all-zero and all-ones data, chained calls, and the RFC 1071 §3 example.
 */
#include "tests/unit/test.h"
#include "net/checksum.h"
#include "net/inet.h"
#include <string.h>

static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t acc = sum;
	for (; len >= 2; p += 2, len -= 2)
		acc += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

static uint16_t ref(const uint8_t *p, size_t len, uint32_t sum)
{
	return (uint16_t)~ref_sum(p, len, sum);
}

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 40);
}

TEST(net_checksum_rfc1071_example)
{
	/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
	static const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	CHECK_EQ(csum_fold(csum_partial(b, 8, 0)), (uint16_t)~0xddf2);
	CHECK_EQ(csum_fold(csum_partial(b, 0, 0)), 0xffff);
}

TEST(net_checksum_matches_reference_every_length_and_alignment)
{
	static uint8_t buf[600];
	const uint32_t seeds[] = { 0, 1, 0xffff, 0x1fffe, 0xfffffff0u, 0x12345678u };
	int bad = 0;
	for (int fill = 0; fill < 3; fill++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = fill == 0 ? rnd8() : fill == 1 ? 0 : 0xff;
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len + off <= 520; len++)
				for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++)
					if (csum_fold(csum_partial(buf + off, len, seeds[k])) !=
					    ref(buf + off, len, seeds[k]))
						bad++;
	}
	CHECK_EQ(bad, 0);
}

TEST(net_checksum_chains_over_buffers)
{
	static uint8_t buf[1600];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd8();
	int bad = 0;
	for (size_t cut = 0; cut <= sizeof(buf); cut += 2) {  /* even cuts: odd only at the end */
		uint32_t s = csum_partial(buf, cut, csum_pseudo_v4(0x0a000001, 0x0a000002, 6, 1600));
		s = csum_partial(buf + cut, sizeof(buf) - cut, s);
		if (csum_fold(s) != ref(buf, sizeof(buf), csum_pseudo_v4(0x0a000001, 0x0a000002, 6, 1600)))
			bad++;
	}
	CHECK_EQ(bad, 0);
}

TEST(net_checksum_verifies_to_zero)
{
	static uint8_t seg[1500];
	for (size_t i = 0; i < sizeof(seg); i++)
		seg[i] = rnd8();
	seg[16] = seg[17] = 0;
	uint16_t c = csum_fold(csum_partial(seg, sizeof(seg), 0));
	seg[16] = (uint8_t)(c >> 8);
	seg[17] = (uint8_t)c;
	CHECK_EQ(csum_fold(csum_partial(seg, sizeof(seg), 0)), 0);
	seg[700] ^= 0x10;
	CHECK(csum_fold(csum_partial(seg, sizeof(seg), 0)) != 0);
}

/* csum_copy: the same sum as csum_partial, and exactly len bytes copied (the bytes on
 * either side of dst untouched), for every length, source and destination alignment. */
TEST(net_checksum_copy_matches_and_copies_exactly)
{
	static uint8_t src[600], dst[640];
	int bad_sum = 0, bad_copy = 0;
	for (int fill = 0; fill < 3; fill++) {
		for (size_t i = 0; i < sizeof(src); i++)
			src[i] = fill == 0 ? rnd8() : fill == 1 ? 0 : 0xff;
		for (size_t so = 0; so < 8; so++)
			for (size_t d = 0; d < 8; d += 3)
				for (size_t len = 0; len + so <= 300; len++) {
					memset(dst, 0xa5, sizeof(dst));
					uint32_t s = csum_copy(dst + 8 + d, src + so, len, 0x1fffe);
					bad_sum += csum_fold(s) != ref(src + so, len, 0x1fffe);
					bad_copy += memcmp(dst + 8 + d, src + so, len) != 0 ||
						    dst[7 + d] != 0xa5 || dst[8 + d + len] != 0xa5;
				}
	}
	CHECK_EQ(bad_sum, 0);
	CHECK_EQ(bad_copy, 0);
}

/* inet_csum_hdr (the inline IPv4 header sum) agrees with the general one. */
TEST(net_checksum_ipv4_header_inline_matches)
{
	static uint8_t h[64];
	int bad = 0;
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof(h); i++)
			h[i] = round % 3 == 1 ? 0xff : round % 3 == 2 ? 0 : rnd8();
		for (size_t len = 20; len <= 60; len += 4)
			for (size_t off = 0; off < 4; off++)
				bad += inet_csum_hdr(h + off, len) != ref(h + off, len, 0);
	}
	CHECK_EQ(bad, 0);
}

/* csum_hdr_words (inline, headers) agrees with csum_partial for 0-60 bytes in 4s. */
TEST(net_checksum_header_words_match)
{
	static uint8_t h[64];
	const uint32_t seeds[] = { 0, 1, 0xffff, 0x1fffe, 0xfffffff0u };
	int bad = 0;
	for (int round = 0; round < 500; round++) {
		for (size_t i = 0; i < sizeof(h); i++)
			h[i] = round % 3 == 1 ? 0xff : round % 3 == 2 ? 0 : rnd8();
		for (size_t len = 0; len <= 60; len += 4)
			for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++)
				bad += csum_fold(csum_hdr_words(h + (round & 3), len, seeds[k])) !=
				       ref(h + (round & 3), len, seeds[k]);
	}
	CHECK_EQ(bad, 0);
}
