/*
 * Internet checksum (RFC 1071). The one implementation in net/: inet.c's helpers and
 * every wire module call these.
 *
 * csum_partial sums the buffer as native-order 64-bit words with end-around carry
 * (RFC 1071 §4.1: an add-with-carry per 8 bytes), folds to 16 bits and swaps to network
 * order once. Each step is exact: one's complement addition is associative; a sum of
 * 64-bit words folds to the sum of their 16-bit words because 2^16 == 1 modulo 0xffff
 * (§2(C), "parallel summation"); summing byte-swapped words gives the byte-swapped sum
 * (§2(B), "byte order independence"). About a third of the instructions of summing
 * 32-bit big-endian words one by one (callgrind, tests/bench/net_bench.c;
 * docs/performance.md). Loads go through memcpy, so any alignment is fine. On x86-64
 * the 64-byte blocks are two independent adc chains in inline assembly (10
 * instructions; one chain of 9 waited a cycle per add on the carry flag; gcc's best C
 * was 28), as Linux's arch/x86 csum_partial uses adc, and the remainder in 32/16/8-byte
 * steps rather than a loop; other targets take the C loop.
 * csum_copy sums while it copies (25 instructions per 64 bytes, one chain: its stores
 * set the pace, a second chain measured no faster), so a payload is read once (Linux
 * csum_partial_copy).
 */
#include "net/checksum.h"

/* A last odd byte is the first byte of a 16-bit word whose second byte is zero. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ODD_BYTE(b) ((uint64_t)(b))
#else
#define ODD_BYTE(b) ((uint64_t)(b) << 8)
#endif

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);     /* the carry out wraps around: one's complement */
}

#if defined(__x86_64__)
/* 64 bytes into two sums, 32 bytes each: two add-with-carry chains of five
 * instructions (RFC 1071 §4.1's "add with carry" loop; §2(C), parallel summation), not
 * one of nine. The second chain starts with a plain add, so it does not wait for the
 * first's carry flag (the CPU renames the flags): with one chain its latency, a cycle
 * an add, was the limit (docs/performance.md, round 8). */
static inline void add64_bytes(uint64_t s[2], const uint8_t *p)
{
	__asm__("addq 0(%[p]), %[a]\n\tadcq 8(%[p]), %[a]\n\tadcq 16(%[p]), %[a]\n\t"
		"adcq 24(%[p]), %[a]\n\tadcq $0, %[a]\n\t"
		"addq 32(%[p]), %[b]\n\tadcq 40(%[p]), %[b]\n\tadcq 48(%[p]), %[b]\n\t"
		"adcq 56(%[p]), %[b]\n\tadcq $0, %[b]"
		: [a] "+r"(s[0]), [b] "+r"(s[1])
		: [p] "r"(p), "m"(*(const uint8_t(*)[64])p)
		: "cc");
}

/* 32 and 16 bytes the same way: a short segment's tail without a loop (Linux's x86
 * csum_partial takes its remainder in the same 32/16/8 steps). */
static inline uint64_t add32_bytes(uint64_t a, const uint8_t *p)
{
	__asm__("addq 0(%[p]), %[a]\n\tadcq 8(%[p]), %[a]\n\tadcq 16(%[p]), %[a]\n\t"
		"adcq 24(%[p]), %[a]\n\tadcq $0, %[a]"
		: [a] "+r"(a)
		: [p] "r"(p), "m"(*(const uint8_t(*)[32])p)
		: "cc");
	return a;
}

static inline uint64_t add16_bytes(uint64_t a, const uint8_t *p)
{
	__asm__("addq 0(%[p]), %[a]\n\tadcq 8(%[p]), %[a]\n\tadcq $0, %[a]"
		: [a] "+r"(a)
		: [p] "r"(p), "m"(*(const uint8_t(*)[16])p)
		: "cc");
	return a;
}

/* The same for 64 bytes copied from src to dst on the way (four registers, twice). */
static inline uint64_t copy_add64(uint64_t a, uint8_t *dst, const uint8_t *src)
{
	uint64_t w0, w1, w2, w3;
	__asm__("movq 0(%[s]), %[w0]\n\tmovq 8(%[s]), %[w1]\n\t"
		"movq 16(%[s]), %[w2]\n\tmovq 24(%[s]), %[w3]\n\t"
		"addq %[w0], %[a]\n\tadcq %[w1], %[a]\n\tadcq %[w2], %[a]\n\tadcq %[w3], %[a]\n\t"
		"movq %[w0], 0(%[d])\n\tmovq %[w1], 8(%[d])\n\t"
		"movq %[w2], 16(%[d])\n\tmovq %[w3], 24(%[d])\n\t"
		"movq 32(%[s]), %[w0]\n\tmovq 40(%[s]), %[w1]\n\t"
		"movq 48(%[s]), %[w2]\n\tmovq 56(%[s]), %[w3]\n\t"
		"adcq %[w0], %[a]\n\tadcq %[w1], %[a]\n\tadcq %[w2], %[a]\n\tadcq %[w3], %[a]\n\t"
		"adcq $0, %[a]\n\t"
		"movq %[w0], 32(%[d])\n\tmovq %[w1], 40(%[d])\n\t"
		"movq %[w2], 48(%[d])\n\tmovq %[w3], 56(%[d])"
		: [a] "+r"(a), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3),
		  "=m"(*(uint8_t(*)[64])dst)
		: [s] "r"(src), [d] "r"(dst), "m"(*(const uint8_t(*)[64])src)
		: "cc");
	return a;
}
#else
static inline void add64_bytes(uint64_t s[2], const uint8_t *p)
{
	for (int i = 0; i < 64; i += 8)
		s[i / 32] = add_carry(s[i / 32], load64(p + i));
}

static inline uint64_t add32_bytes(uint64_t a, const uint8_t *p)
{
	for (int i = 0; i < 32; i += 8)
		a = add_carry(a, load64(p + i));
	return a;
}

static inline uint64_t add16_bytes(uint64_t a, const uint8_t *p)
{
	return add_carry(add_carry(a, load64(p)), load64(p + 8));
}

static inline uint64_t copy_add64(uint64_t a, uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < 64; i += 8) {
		uint64_t w = load64(src + i);
		__builtin_memcpy(dst + i, &w, 8);
		a = add_carry(a, w);
	}
	return a;
}
#endif

/* Fixed-size loads for the tail (under 8 bytes): a variable-length copy would be a
 * call. The 16-bit words keep their alignment (2^16 == 1 modulo 0xffff, wherever they
 * sit). With dst, the bytes are copied there too. */
static inline uint64_t add_tail(uint64_t a, uint8_t *dst, const uint8_t *p, size_t len)
{
	if (len & 4) {
		uint32_t v;
		__builtin_memcpy(&v, p, 4);
		if (dst) {
			__builtin_memcpy(dst, &v, 4);
			dst += 4;
		}
		a = add_carry(a, v);
		p += 4;
	}
	if (len & 2) {
		uint16_t v;
		__builtin_memcpy(&v, p, 2);
		if (dst) {
			__builtin_memcpy(dst, &v, 2);
			dst += 2;
		}
		a = add_carry(a, v);
		p += 2;
	}
	if (len & 1) {          /* padded with a zero byte after it (RFC 1071 §4.1) */
		if (dst)
			*dst = *p;
		a = add_carry(a, ODD_BYTE(*p));
	}
	return a;
}

/* Fold 64 -> 32 -> 16 bits, end-around: as csum_fold_words (checksum.h), unswapped. */
static inline uint16_t fold64(uint64_t a)
{
	uint32_t hi = (uint32_t)(a >> 32), x = (uint32_t)a + hi;
	x += x < hi;
	return (uint16_t)((x + (x << 16 | x >> 16)) >> 16);
}

/* The one's complement sum of data as native-order 16-bit words, folded to 16 bits. */
static uint16_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t s[2] = { 0, 0 };
	for (; len >= 64; p += 64, len -= 64)
		add64_bytes(s, p);
	uint64_t a = add_carry(s[0], s[1]);
	if (len & 32) {
		a = add32_bytes(a, p);
		p += 32;
	}
	if (len & 16) {
		a = add16_bytes(a, p);
		p += 16;
	}
	if (len & 8) {
		a = add_carry(a, load64(p));
		p += 8;
	}
	return fold64(add_tail(a, NULL, p, len & 7));
}

/* Native-order sum to the network-order value csum_partial adds (§2(B)). */
static uint32_t add_swapped(uint32_t sum, uint16_t s)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16(s);
#endif
	uint64_t acc = (uint64_t)sum + s;
	return (uint32_t)(acc & 0xffffffffu) + (uint32_t)(acc >> 32);
}

uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum)
{
	uint8_t *d = dst;
	const uint8_t *p = src;
	uint64_t a = 0;
	for (; len >= 64; p += 64, d += 64, len -= 64)
		a = copy_add64(a, d, p);
	for (; len >= 8; p += 8, d += 8, len -= 8) {
		uint64_t w = load64(p);
		__builtin_memcpy(d, &w, 8);
		a = add_carry(a, w);
	}
	return add_swapped(sum, fold64(add_tail(a, d, p, len)));
}

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	return add_swapped(sum, sum_native(data, len));
}
