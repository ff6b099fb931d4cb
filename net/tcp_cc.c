/*
 * Congestion control: Reno (RFC 5681, with RFC 3465 byte counting, L = 2) and CUBIC
 * (RFC 9438), both in bytes. Integer arithmetic only: the image is built with
 * -mgeneral-regs-only, so CUBIC's cube and cube root are fixed point (tcp_cbrt).
 *
 * Loss recovery itself (when to reduce, fast retransmit, RFC 6582/6675) lives in
 * tcp_sack.c; it asks the algorithm for ssthresh() and calls cong_avoid() per ACK.
 *
 * CUBIC units: W in bytes, t and K in ms. With C = 0.4 segments/s^3:
 *   W_cubic(t) = C*(t-K)^3 + W_max            (RFC 9438 eq. 1)
 *   K = cbrt((W_max - cwnd_epoch) / C)        (eq. 2)
 * In ms and segments scaled by 1024: C*(d/1000)^3 * 1024 = d^3 * 512 / 1.25e9.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

#define CUBIC_BETA 717          /* beta_cubic 0.7 in 1/1024 */
#define CUBIC_ALPHA 542         /* 3(1-beta)/(1+beta) = 0.529 in 1/1024 (§4.3) */
#define CWND_MAX (1u << 30)

/* Largest r with r^3 <= x (bitwise: 22 steps cover 64 bits). */
uint32_t tcp_cbrt(uint64_t x)
{
	uint64_t r = 0;
	for (int b = 21; b >= 0; b--) {
		uint64_t c = r | (1ull << b);
		if (c > 2642245)        /* cbrt(2^64): c^3 would overflow */
			continue;
		if (c * c * c <= x)
			r = c;
	}
	return (uint32_t)r;
}

static void slow_start(struct tcp_sock *c, uint32_t acked)
{
	uint32_t inc = acked < 2u * c->mss ? acked : 2u * c->mss;   /* RFC 3465 L = 2 */
	c->cwnd = c->cwnd + inc > CWND_MAX ? CWND_MAX : c->cwnd + inc;
}

/* ---- Reno ---------------------------------------------------------------------------- */
static void reno_init(struct tcp_sock *c)
{
	c->cwnd_acc = 0;
}

static void reno_cong_avoid(struct tcp_sock *c, uint32_t acked, uint64_t now)
{
	(void)now;
	if (c->cwnd < c->ssthresh) {
		slow_start(c, acked);
		return;
	}
	/* RFC 5681 eq. 3 by byte counting: one SMSS per cwnd of acknowledged bytes. */
	c->cwnd_acc += acked;
	if (c->cwnd_acc >= c->cwnd) {
		c->cwnd_acc -= c->cwnd;
		if (c->cwnd < CWND_MAX)
			c->cwnd += c->mss;
	}
}

/* RFC 5681 eq. 4: max(FlightSize / 2, 2 * SMSS). */
static uint32_t reno_ssthresh(struct tcp_sock *c)
{
	uint32_t half = tcp_flight(c) / 2;
	c->cwnd_acc = 0;
	return half > 2u * c->mss ? half : 2u * c->mss;
}

static void reno_on_rto(struct tcp_sock *c)
{
	c->cwnd_acc = 0;
}

const struct tcp_cc_ops tcp_cc_reno = {
	.name = "reno",
	.init = reno_init,
	.cong_avoid = reno_cong_avoid,
	.ssthresh = reno_ssthresh,
	.on_rto = reno_on_rto,
};

/* ---- CUBIC --------------------------------------------------------------------------- */
static void cubic_init(struct tcp_sock *c)
{
	memset(&c->cubic, 0, sizeof(c->cubic));
}

/* RFC 9438 §4.6-4.7: multiplicative decrease with fast convergence. */
static uint32_t cubic_ssthresh(struct tcp_sock *c)
{
	struct tcp_cubic *k = &c->cubic;
	uint32_t w = c->cwnd;
	if (w < k->w_max)
		k->w_max = (uint32_t)((uint64_t)w * (1024 + CUBIC_BETA) / 2048);
	else
		k->w_max = w;
	k->cwnd_prior = w;
	k->epoch_ns = 0;
	uint32_t ss = (uint32_t)((uint64_t)w * CUBIC_BETA / 1024);
	return ss > 2u * c->mss ? ss : 2u * c->mss;
}

static void cubic_on_rto(struct tcp_sock *c)
{
	c->cubic.epoch_ns = 0;
}

static void cubic_epoch_start(struct tcp_sock *c, uint64_t now)
{
	struct tcp_cubic *k = &c->cubic;
	k->epoch_ns = now;
	k->acc = k->est_acc = 0;
	k->w_est = c->cwnd;
	if (k->w_max <= c->cwnd) {
		k->k_ms = 0;
		k->w_max = c->cwnd;
	} else {
		/* K^3 [ms^3] = (W_max - cwnd)/mss segments / 0.4 * 1e9 */
		uint64_t diff = k->w_max - c->cwnd;
		k->k_ms = tcp_cbrt(diff * 2500000000ull / c->mss);
	}
}

/* W_cubic(t) in bytes, t in ms since the epoch start. */
static uint64_t cubic_target(const struct tcp_sock *c, uint64_t t_ms)
{
	const struct tcp_cubic *k = &c->cubic;
	int64_t d = (int64_t)t_ms - (int64_t)k->k_ms;
	bool neg = d < 0;
	uint64_t ad = (uint64_t)(neg ? -d : d);
	if (ad > 65536)
		ad = 65536;             /* past a minute the 1.5x-per-RTT cap governs anyway */
	uint64_t seg_fp = ad * ad * ad * 512 / 1250000000ull;   /* segments * 1024 */
	uint64_t delta = seg_fp * c->mss / 1024;
	if (neg)
		return delta >= k->w_max ? 0 : k->w_max - delta;
	return (uint64_t)k->w_max + delta;
}

static void cubic_cong_avoid(struct tcp_sock *c, uint32_t acked, uint64_t now)
{
	struct tcp_cubic *k = &c->cubic;
	if (c->cwnd < c->ssthresh) {
		slow_start(c, acked);
		return;
	}
	if (k->epoch_ns == 0)
		cubic_epoch_start(c, now);
	uint64_t t_ms = (now - k->epoch_ns) / TCP_NS_PER_MS + c->srtt_us / 1000;
	uint64_t target = cubic_target(c, t_ms);
	/* Reno-friendly estimate (§4.3): W_est += alpha * acked / cwnd, in bytes. */
	uint32_t alpha = k->w_est >= k->cwnd_prior ? 1024 : CUBIC_ALPHA;
	k->est_acc += (uint64_t)alpha * acked * c->mss;
	uint64_t unit = (uint64_t)1024 * c->cwnd;
	if (k->est_acc >= unit) {
		k->w_est += (uint32_t)(k->est_acc / unit);
		k->est_acc %= unit;
	}
	if (target < k->w_est) {
		if (k->w_est > c->cwnd)
			c->cwnd = k->w_est > CWND_MAX ? CWND_MAX : k->w_est;
		return;
	}
	/* Concave/convex region (§4.4-4.5): approach target within one RTT, at most
	 * 1.5x per RTT. */
	uint64_t cap = (uint64_t)c->cwnd + c->cwnd / 2;
	if (target > cap)
		target = cap;
	if (target <= c->cwnd)
		return;
	k->acc += (target - c->cwnd) * acked;
	if (k->acc >= c->cwnd) {
		uint64_t inc = k->acc / c->cwnd;
		k->acc %= c->cwnd;
		uint64_t w = c->cwnd + inc;
		c->cwnd = (uint32_t)(w > CWND_MAX ? CWND_MAX : w);
	}
}

const struct tcp_cc_ops tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.cong_avoid = cubic_cong_avoid,
	.ssthresh = cubic_ssthresh,
	.on_rto = cubic_on_rto,
};
