/*
 * ICMP (icmp.h). RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3.2 for error size and rate.
 *
 * Input: icmp_check (length >= 8, checksum over the whole message) -> per-type counter ->
 *   echo request: answered in place with all its data, unless it came to a broadcast
 *     (icmp_echo_ignore_broadcasts, RFC 1122 §3.2.2.6 MAY);
 *   echo reply: handed to the echo hooks (ping, which sets them);
 *   errors: counted; one quoting our own echo request goes to the echo hook, others to
 *     the protocol of the quoted datagram (ipv4_proto_error).
 * Errors we send (icmp_send_error), never about (RFC 1122 §3.2.2): an ICMP error or an
 * ICMP type we cannot classify, a datagram to a broadcast or multicast address or in a
 * link-layer broadcast, a non-initial fragment, or one whose source is not a unicast
 * host address. They quote the datagram as received, at most ICMP_QUOTE_MAX bytes, and
 * are paced by a global token bucket (ICMP_RATE_PER_SEC, burst ICMP_BURST) and one per
 * destination (ICMP_PEER_BURST, then one per ICMP_PEER_INTERVAL_NS), as Linux does.
 */
#include "net/icmp.h"
#include "net/link.h"
#include "net/icmp_wire.h"
#include "net/ipv4.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"

#define TOKEN NET_NS_PER_SEC
#define BUCKET_FULL ((uint64_t)ICMP_BURST * TOKEN)

static void icmp_input(void *ctx, struct pkt *p, const struct ipv4_rx *rx);

static int report(void *ctx, const uint8_t *dgram, size_t len, const struct ipv4_rx *rx,
		  uint8_t type, uint8_t code)
{
	return icmp_send_error(ctx, dgram, len, rx, type, code);
}

void icmp_init(struct icmp *ic, struct ipv4 *ip)
{
	memset(ic, 0, sizeof(*ic));
	ic->core = ip->core;
	ic->ip = ip;
	ic->tokens = BUCKET_FULL;
	ic->refill_ns = ic->core->now_ns;
	ipv4_register_proto(ip, IPV4_PROTO_ICMP, IPV4_PROTO_F_BCAST, icmp_input, NULL, ic);
	ipv4_set_error_report(ip, report, ic);
}

/* Token bucket: a token is TOKEN units; ICMP_RATE_PER_SEC * elapsed_ns units per second. */
static int rate_ok(struct icmp *ic)
{
	uint64_t elapsed = ic->core->now_ns - ic->refill_ns;
	ic->refill_ns = ic->core->now_ns;
	if (elapsed > BUCKET_FULL)
		elapsed = BUCKET_FULL;  /* keeps elapsed * rate far from overflow */
	ic->tokens += elapsed * ICMP_RATE_PER_SEC;
	if (ic->tokens > BUCKET_FULL)
		ic->tokens = BUCKET_FULL;
	if (ic->tokens < TOKEN)
		return 0;
	ic->tokens -= TOKEN;
	return 1;
}

/* The per-destination bucket (Linux icmpv4_xrlim_allow): one message per
 * ICMP_PEER_INTERVAL_NS, bursts of ICMP_PEER_BURST, so one source cannot draw the whole
 * global budget. The table forgets the least recently limited destination first. */
static int peer_ok(struct icmp *ic, uint32_t dst)
{
	const uint64_t full = ICMP_PEER_BURST * ICMP_PEER_INTERVAL_NS;
	uint64_t now = ic->core->now_ns;
	struct icmp_peer *pr = NULL, *lru = NULL, *idle = NULL;
	for (int i = 0; i < ICMP_PEERS && !pr; i++) {
		struct icmp_peer *e = &ic->peers[i];
		if (e->addr == dst)
			pr = e;
		else if (!e->addr || now - e->last_ns >= full - e->credit_ns)
			idle = idle ? idle : e;         /* free, or refilled: forgetting it loses nothing */
		else if (!lru || e->last_ns < lru->last_ns)
			lru = e;
	}
	if (!pr) {
		/* A newcomer gets a whole burst only in place of an entry that had refilled
		 * anyway. With every entry busy (errors to more than ICMP_PEERS sources within
		 * a burst's refill time: a flood) it starts empty and earns its first message
		 * after one interval: cycling spoofed sources through the table must not
		 * refill a victim's budget at will. */
		pr = idle ? idle : lru;
		*pr = (struct icmp_peer){ .addr = dst, .last_ns = now, .credit_ns = idle ? full : 0 };
	}
	uint64_t elapsed = now - pr->last_ns;
	pr->last_ns = now;
	pr->credit_ns = full - pr->credit_ns < elapsed ? full : pr->credit_ns + elapsed;
	if (pr->credit_ns < ICMP_PEER_INTERVAL_NS)
		return 0;
	pr->credit_ns -= ICMP_PEER_INTERVAL_NS;
	return 1;
}

/* RFC 1122 §3.2.2: may we send an error about dgram (len bytes as received)? */
static int error_allowed(const struct icmp *ic, const uint8_t *dgram, size_t len,
			 const struct ipv4_rx *rx)
{
	uint32_t src = rx->ip.src;
	if (rx->l2_bcast || rx->ip_bcast || inet_is_multicast(rx->ip.dst))
		return 0;
	if (ipv4_frag_offset(&rx->ip) != 0)
		return 0;
	if (inet_is_martian_src(src) || ipv4_is_bcast(ic->ip, rx->ifi, src) || ipv4_is_local(ic->ip, src))
		return 0;
	if (rx->ip.proto == IPV4_PROTO_ICMP) {
		if (len <= rx->ip.hdr_len)
			return 0;       /* cannot tell what it was: assume an error */
		uint8_t type = dgram[rx->ip.hdr_len];
		if (type > ICMP_TYPE_MAX || icmp_is_error(type))
			return 0;
	}
	return 1;
}

int icmp_send_error(struct icmp *ic, const uint8_t *dgram, size_t len,
		    const struct ipv4_rx *rx, uint8_t type, uint8_t code)
{
	if (!error_allowed(ic, dgram, len, rx))
		return -NET_EINVAL;
	/* The destination's own limit first: what it refuses must not spend the global
	 * budget, or one flooding source would starve everyone else's errors (and leak,
	 * through the shared bucket, what others receive; Linux made the same order). */
	if (!peer_ok(ic, rx->ip.src)) {
		NET_INC(ic->core, IcmpOutRateLimitHost);
		return -NET_EAGAIN;
	}
	if (!rate_ok(ic)) {
		NET_INC(ic->core, IcmpOutRateLimitGlobal);
		return -NET_EAGAIN;
	}
	size_t quote = len < ICMP_QUOTE_MAX ? len : ICMP_QUOTE_MAX;
	struct pkt *p = link_alloc(ic->ip->link, rx->ifi);
	if (!p) {
		NET_INC(ic->core, IcmpOutErrors);
		return -NET_ENOBUFS;
	}
	uint8_t *b = pkt_put(p, ICMP_HDR_LEN + quote);
	memcpy(b + ICMP_HDR_LEN, dgram, quote);
	struct icmp_hdr h = { .type = type, .code = code };
	icmp_emit(&h, b, ICMP_HDR_LEN + quote);
	NET_INC(ic->core, IcmpOutMsgs);
	if (type == ICMP_DEST_UNREACH)
		NET_INC(ic->core, IcmpOutDestUnreachs);
	/* Errors only follow unicast to us, so the datagram's destination is ours. */
	return ipv4_output(ic->ip, p, rx->ip.dst, rx->ip.src, IPV4_PROTO_ICMP, NET_DEFAULT_TTL);
}

int icmp_send_echo(struct icmp *ic, uint32_t dst, uint16_t id, uint16_t seq, uint16_t size)
{
	struct pkt *p = link_alloc(ic->ip->link, 0);
	if (!p)
		return -NET_ENOBUFS;
	uint8_t *b = pkt_put(p, ICMP_HDR_LEN + (size_t)size);
	if (!b) {
		pkt_free(p);
		return -NET_EMSGSIZE;
	}
	for (uint16_t i = 0; i < size; i++)
		b[ICMP_HDR_LEN + i] = (uint8_t)i;      /* iputils' fill pattern */
	struct icmp_hdr h = { .type = ICMP_ECHO, .id = id, .seq = seq };
	icmp_emit(&h, b, p->len);
	NET_INC(ic->core, IcmpOutMsgs);
	NET_INC(ic->core, IcmpOutEchos);
	return ipv4_output(ic->ip, p, 0, dst, IPV4_PROTO_ICMP, NET_DEFAULT_TTL);
}

static void echo_request(struct icmp *ic, struct pkt *p, const struct ipv4_rx *rx,
			 const struct icmp_hdr *req)
{
	if (rx->ip_bcast || rx->l2_bcast) {
		net_drop(ic->core, p, DROP_ICMP_BCAST_ECHO);
		return;
	}
	/* A reassembled request sits in a reassembly buffer: a reply that fits a link
	 * buffer moves there, so replies queued behind a slow link never pin the few
	 * reassembly buffers (larger ones are copied out by fragmentation at once). */
	if (p->pool->buf_size > PKT_BUF_SIZE && p->len <= PKT_BUF_SIZE - 128) {
		struct pkt *q = link_alloc(ic->ip->link, rx->ifi);
		if (!q) {
			net_drop(ic->core, p, DROP_TX_NO_BUFS);
			return;
		}
		memcpy(pkt_put(q, p->len), pkt_data(p), p->len);
		pkt_free(p);
		p = q;
	}
	/* Reply in place: same identifier, sequence and data (RFC 792 "Echo"). */
	struct icmp_hdr h = { .type = ICMP_ECHO_REPLY, .id = req->id, .seq = req->seq };
	icmp_emit(&h, pkt_data(p), p->len);
	NET_INC(ic->core, IcmpOutMsgs);
	NET_INC(ic->core, IcmpOutEchoReps);
	ipv4_output(ic->ip, p, rx->ip.dst, rx->ip.src, IPV4_PROTO_ICMP, NET_DEFAULT_TTL);
}

/* An error quoting one of our datagrams goes to ping (echo requests) or to the
 * registered protocol. Every offset is checked against the bytes received: the quote
 * is attacker-controlled. */
static void error_input(struct icmp *ic, const uint8_t *msg, size_t len,
			const struct ipv4_rx *rx, const struct icmp_hdr *h)
{
	const uint8_t *q = msg + ICMP_HDR_LEN;
	size_t qlen = len - ICMP_HDR_LEN;
	if (qlen < IPV4_HDR_MIN)
		return;
	size_t qhl = (size_t)(q[0] & 0xf) * 4;
	if (q[0] >> 4 != 4 || qhl < IPV4_HDR_MIN || qlen < qhl + ICMP_HDR_LEN ||
	    !ipv4_is_local(ic->ip, wire_get32(q + 12)))
		return;
	uint8_t proto = q[9];
	if (proto == IPV4_PROTO_ICMP) {
		if (q[qhl] == ICMP_ECHO && ic->echo_error)
			ic->echo_error(ic->echo_ctx, rx->ip.src, h->type, h->code,
				       wire_get16(q + qhl + 4), wire_get16(q + qhl + 6));
		return;
	}
	/* RFC 1191: the next-hop MTU is the low 16 bits of the "unused" word. */
	ic->ip->err_from = rx->ip.src;
	ipv4_proto_error(ic->ip, proto, h->type, h->code,
			 h->type == ICMP_DEST_UNREACH && h->code == ICMP_FRAG_NEEDED ? h->seq : 0,
			 q, qlen);
}

static void count_type(struct icmp *ic, uint8_t type)
{
	switch (type) {
	case ICMP_ECHO_REPLY: NET_INC(ic->core, IcmpInEchoReps); break;
	case ICMP_DEST_UNREACH: NET_INC(ic->core, IcmpInDestUnreachs); break;
	case ICMP_SOURCE_QUENCH: NET_INC(ic->core, IcmpInSrcQuenchs); break;
	case ICMP_REDIRECT: NET_INC(ic->core, IcmpInRedirects); break;
	case ICMP_ECHO: NET_INC(ic->core, IcmpInEchos); break;
	case ICMP_TIME_EXCEEDED: NET_INC(ic->core, IcmpInTimeExcds); break;
	case ICMP_PARAM_PROB: NET_INC(ic->core, IcmpInParmProbs); break;
	case ICMP_TIMESTAMP: NET_INC(ic->core, IcmpInTimestamps); break;
	default: break;
	}
}

static void icmp_input(void *ctx, struct pkt *p, const struct ipv4_rx *rx)
{
	struct icmp *ic = ctx;
	NET_INC(ic->core, IcmpInMsgs);
	enum wire_err err = icmp_check(pkt_data(p), p->len);
	if (err) {
		NET_INC(ic->core, IcmpInErrors);
		if (err == WIRE_BAD_CSUM)
			NET_INC(ic->core, IcmpInCsumErrors);
		net_drop(ic->core, p, err == WIRE_BAD_CSUM ? DROP_ICMP_CSUM : DROP_ICMP_TRUNCATED);
		return;
	}
	struct icmp_hdr h;
	icmp_parse(pkt_data(p), &h);
	count_type(ic, h.type);
	if (h.type == ICMP_ECHO) {
		echo_request(ic, p, rx, &h);
	} else if (h.type == ICMP_ECHO_REPLY) {
		if (ic->echo_reply &&
		    ic->echo_reply(ic->echo_ctx, rx->ip.src, h.id, h.seq, p->len, rx->ip.ttl, rx->ts_ns))
			pkt_free(p);
		else
			net_drop(ic->core, p, DROP_ICMP_UNMATCHED);
	} else if (icmp_is_error(h.type) && (rx->ip_bcast || rx->l2_bcast)) {
		/* Errors answer one datagram of one host: one to a broadcast is forged or
		 * broken, and must not reach ping or TCP (Linux icmp_rcv). */
		net_drop(ic->core, p, DROP_ICMP_BCAST_ERROR);
	} else if (icmp_is_error(h.type)) {
		error_input(ic, pkt_data(p), p->len, rx, &h);
		pkt_free(p);
	} else {
		/* Timestamps, address masks, router discovery: not offered (docs/hardening.md #10). */
		net_drop(ic->core, p, DROP_ICMP_UNHANDLED);
	}
}
