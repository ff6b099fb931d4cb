/*
 * Keyed hashing for everything an attacker must not predict (HARDENING #8):
 *   - ISNs, RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, key),
 *     M a 4 us clock, F SipHash-2-4 keyed with a boot secret from env->random,
 *   - the connection hash (no hash-flooding of the buckets): the other half of the same
 *     SipHash-2-4 output, so a connection's lookup and ISN cost one hash,
 *   - per-connection timestamp offsets (RFC 7323 §7.1),
 *   - ephemeral ports (RFC 6056 §3.3.4 Algorithm 4, with random increments).
 * SipHash-2-4 per Aumasson and Bernstein, over 32-bit words serialised little-endian.
 */
#include "net/tcp_int.h"
#include "lib/string.h"

#define EPHEMERAL_LO 49152      /* RFC 6335 dynamic range */
#define EPHEMERAL_HI 65535

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND(v0, v1, v2, v3)                                                \
	do {                                                                    \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);        \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                          \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                          \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);        \
	} while (0)

/* SipHash-c-d over 32-bit words; inlined with constant rounds into each user. */
static inline uint64_t siphash_cd(const uint64_t key[2], const uint32_t *w, size_t nw, int cr, int dr)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0];
	uint64_t v3 = 0x7465646279746573ull ^ key[1];
	uint64_t b = (uint64_t)(nw * 4) << 56;
	size_t i = 0;
	for (; i + 2 <= nw; i += 2) {
		uint64_t m = (uint64_t)w[i] | (uint64_t)w[i + 1] << 32;
		v3 ^= m;
		for (int r = 0; r < cr; r++)
			SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	if (i < nw)
		b |= w[i];
	v3 ^= b;
	for (int r = 0; r < cr; r++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < dr; r++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t tcp_siphash(const uint64_t key[2], const uint32_t *w, size_t nw)
{
	return siphash_cd(key, w, nw, 2, 4);
}

/* One SipHash-2-4 of the 4-tuple serves the connection table and the ISN: its high 32
 * bits index the table, its low 32 bits are RFC 6528's F(). For a PRF the two halves
 * are independent, so the ISNs a peer sees tell it nothing of the buckets its tuples
 * fall into (hash flooding), and F() is what it was. A new connection hashes its tuple
 * to look it up (a SYN; a candidate port) and then needs its ISN: the last tuple's
 * value is remembered, so the second costs a compare. isn_key stays what tcp_init made
 * it: every hashed connection's bucket hangs on it (a rotation would need a rehash). */
static uint64_t tuple_prf(struct tcp_stack *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
			  uint16_t rport)
{
	uint32_t w[3] = { laddr, raddr, (uint32_t)lport << 16 | rport };
	if (t->hmemo_ok && t->hmemo[0] == w[0] && t->hmemo[1] == w[1] && t->hmemo[2] == w[2])
		return t->hmemo_val;
	uint64_t h = tcp_siphash(t->isn_key, w, 3);
	t->hmemo[0] = w[0];
	t->hmemo[1] = w[1];
	t->hmemo[2] = w[2];
	t->hmemo_val = h;
	t->hmemo_ok = true;
	return h;
}

uint32_t tcp_hash(struct tcp_stack *t, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	return (uint32_t)(tuple_prf(t, laddr, lport, raddr, rport) >> 32);
}

uint32_t tcp_isn(struct tcp_stack *t, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	uint32_t m = (uint32_t)(tcp_now(t) / (4 * TCP_NS_PER_US));   /* 4 us ticks */
	return m + (uint32_t)tuple_prf(t, laddr, lport, raddr, rport);
}

/* Keyed on the address pair only, so the last pair's offset is remembered: a peer's
 * connections follow one another. */
uint32_t tcp_ts_offset(struct tcp_stack *t, uint32_t laddr, uint32_t raddr)
{
	if (t->tsmemo_ok && t->tsmemo[0] == laddr && t->tsmemo[1] == raddr)
		return t->tsmemo_val;
	uint32_t w[2] = { laddr, raddr };
	t->tsmemo_val = (uint32_t)tcp_siphash(t->ts_key, w, 2);
	t->tsmemo[0] = laddr;
	t->tsmemo[1] = raddr;
	t->tsmemo_ok = true;
	return t->tsmemo_val;
}

static bool port_busy(struct tcp_stack *t, uint32_t laddr, uint16_t port, uint32_t raddr, uint16_t rport)
{
	if (tcp_lookup(t, laddr, port, raddr, rport))
		return true;
	/* Keep clear of ports something listens on, so replies never look like new SYNs. */
	return tcp_lookup_listener(t, laddr, port) != NULL;
}

/* RFC 6056 §3.3.4 Algorithm 4 (double hash): the start is a keyed hash of the
 * destination plus a per-bucket counter that moves on by a random step after every
 * use, so successive connections to one destination walk the range instead of landing
 * on a TIME-WAIT a random pick could hit, and nobody off path can predict the port. */
int tcp_pick_port(struct tcp_stack *t, uint32_t laddr, uint32_t raddr, uint16_t rport, uint16_t *port)
{
	uint32_t n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	uint32_t w[3] = { laddr, raddr, rport };
	/* F() depends on the destination only: the last one's value is remembered, as
	 * an application's connections mostly go to one place. */
	if (!t->pmemo_ok || t->pmemo[0] != w[0] || t->pmemo[1] != w[1] || t->pmemo[2] != w[2]) {
		t->pmemo_val = tcp_siphash(t->port_key, w, 3);
		memcpy(t->pmemo, w, sizeof(w));
		t->pmemo_ok = true;
	}
	uint64_t h = t->pmemo_val;
	uint16_t *slot = &t->port_perturb[(h >> 32) % TCP_PORT_PERTURB];
	uint32_t start = (uint32_t)h + *slot;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(EPHEMERAL_LO + (start + i) % n);
		if (!port_busy(t, laddr, p, raddr, rport)) {
			*slot = (uint16_t)(*slot + i + 1 + t->env.random(t->env.ctx) % 4);
			*port = p;
			return 0;
		}
	}
	return -NET_EADDRNOTAVAIL;
}
