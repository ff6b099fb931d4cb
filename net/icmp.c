/*
 * ICMP (icmp.h). RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3.2 for error size and rate.
 *
 * Input: icmp_check (length >= 8, checksum over the whole message) -> per-type counter ->
 *   echo request: answered in place with all its data, unless it came to a broadcast
 *     (icmp_echo_ignore_broadcasts, RFC 1122 §3.2.2.6 MAY);
 *   echo reply: handed to ping;
 *   errors: counted; one quoting our own echo request is reported to ping.
 * Errors we send (icmp_send_error), never about (RFC 1122 §3.2.2): an ICMP error or an
 * ICMP type we cannot classify, a datagram to a broadcast or multicast address or in a
 * link-layer broadcast, a non-initial fragment, or one whose source is not a unicast
 * host address. They quote the datagram as received, at most ICMP_QUOTE_MAX bytes, and
 * are paced by a global token bucket (ICMP_RATE_PER_SEC, burst ICMP_BURST).
 */
#include "net/stack.h"
#include "net/icmp.h"
#include "net/icmp_wire.h"
#include "net/ipv4.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"

#define TOKEN NET_NS_PER_SEC
#define BUCKET_FULL ((uint64_t)ICMP_BURST * TOKEN)

void icmp_init(struct net_stack *s)
{
	s->icmp.tokens = BUCKET_FULL;
	s->icmp.refill_ns = s->now_ns;
}

/* Token bucket: a token is TOKEN units; ICMP_RATE_PER_SEC * elapsed_ns units per second. */
static int rate_ok(struct net_stack *s)
{
	struct icmp_state *st = &s->icmp;
	uint64_t elapsed = s->now_ns - st->refill_ns;
	st->refill_ns = s->now_ns;
	if (elapsed > BUCKET_FULL)
		elapsed = BUCKET_FULL;  /* keeps elapsed * rate far from overflow */
	st->tokens += elapsed * ICMP_RATE_PER_SEC;
	if (st->tokens > BUCKET_FULL)
		st->tokens = BUCKET_FULL;
	if (st->tokens < TOKEN)
		return 0;
	st->tokens -= TOKEN;
	return 1;
}

/* RFC 1122 §3.2.2: may we send an error about dgram (len bytes as received)? */
static int error_allowed(const struct net_stack *s, const uint8_t *dgram, size_t len,
			 const struct ipv4_rx *rx)
{
	uint32_t src = rx->ip.src;
	if (rx->l2_bcast || rx->ip_bcast || inet_is_multicast(rx->ip.dst))
		return 0;
	if (ipv4_frag_offset(&rx->ip) != 0)
		return 0;
	if (inet_is_martian_src(src) || ipv4_is_bcast(s, rx->ifi, src) || ipv4_is_local(s, src))
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

int icmp_send_error(struct net_stack *s, const uint8_t *dgram, size_t len,
		    const struct ipv4_rx *rx, uint8_t type, uint8_t code)
{
	if (!error_allowed(s, dgram, len, rx))
		return -NET_EINVAL;
	if (!rate_ok(s)) {
		NET_INC(s, IcmpOutRateLimitGlobal);
		return -NET_EAGAIN;
	}
	size_t quote = len < ICMP_QUOTE_MAX ? len : ICMP_QUOTE_MAX;
	struct pkt *p = net_alloc(s, rx->ifi);
	if (!p) {
		NET_INC(s, IcmpOutErrors);
		return -NET_ENOBUFS;
	}
	uint8_t *b = pkt_put(p, ICMP_HDR_LEN + quote);
	memcpy(b + ICMP_HDR_LEN, dgram, quote);
	struct icmp_hdr h = { .type = type, .code = code };
	icmp_emit(&h, b, ICMP_HDR_LEN + quote);
	NET_INC(s, IcmpOutMsgs);
	if (type == ICMP_DEST_UNREACH)
		NET_INC(s, IcmpOutDestUnreachs);
	/* Errors only follow unicast to us, so the datagram's destination is ours. */
	return ipv4_output(s, p, rx->ip.dst, rx->ip.src, IPV4_PROTO_ICMP, NET_DEFAULT_TTL);
}

int icmp_send_echo(struct net_stack *s, uint32_t dst, uint16_t id, uint16_t seq, uint16_t size)
{
	struct pkt *p = net_alloc(s, 0);
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
	NET_INC(s, IcmpOutMsgs);
	NET_INC(s, IcmpOutEchos);
	return ipv4_output(s, p, 0, dst, IPV4_PROTO_ICMP, NET_DEFAULT_TTL);
}

static void echo_request(struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx,
			 const struct icmp_hdr *req)
{
	if (rx->ip_bcast || rx->l2_bcast) {
		net_drop(s, p, DROP_ICMP_BCAST_ECHO);
		return;
	}
	/* Reply in place: same identifier, sequence and data (RFC 792 "Echo"). */
	struct icmp_hdr h = { .type = ICMP_ECHO_REPLY, .id = req->id, .seq = req->seq };
	icmp_emit(&h, pkt_data(p), p->len);
	NET_INC(s, IcmpOutMsgs);
	NET_INC(s, IcmpOutEchoReps);
	ipv4_output(s, p, rx->ip.dst, rx->ip.src, IPV4_PROTO_ICMP, NET_DEFAULT_TTL);
}

/* An error quoting one of our datagrams goes to ping (echo requests) or to the
 * registered protocol. Every offset is checked against the bytes received: the quote
 * is attacker-controlled. */
static void error_input(struct net_stack *s, const uint8_t *msg, size_t len,
			const struct ipv4_rx *rx, const struct icmp_hdr *h)
{
	const uint8_t *q = msg + ICMP_HDR_LEN;
	size_t qlen = len - ICMP_HDR_LEN;
	if (qlen < IPV4_HDR_MIN)
		return;
	size_t qhl = (size_t)(q[0] & 0xf) * 4;
	if (q[0] >> 4 != 4 || qhl < IPV4_HDR_MIN || qlen < qhl + ICMP_HDR_LEN ||
	    !ipv4_is_local(s, wire_get32(q + 12)))
		return;
	uint8_t proto = q[9];
	if (proto == IPV4_PROTO_ICMP) {
		if (q[qhl] == ICMP_ECHO)
			ping_error(s, rx->ip.src, h->type, h->code, wire_get16(q + qhl + 4),
				   wire_get16(q + qhl + 6));
		return;
	}
	for (int i = 0; i < IPV4_MAX_PROTOS; i++) {
		const struct ipv4_proto *pr = &s->protos[i];
		if (pr->input && pr->proto == proto && pr->error)
			/* RFC 1191: the next-hop MTU is the low 16 bits of the "unused" word. */
			pr->error(pr->ctx, s, h->type, h->code,
				  h->type == ICMP_DEST_UNREACH && h->code == ICMP_FRAG_NEEDED ? h->seq : 0,
				  q, qlen);
	}
}

static void count_type(struct net_stack *s, uint8_t type)
{
	switch (type) {
	case ICMP_ECHO_REPLY: NET_INC(s, IcmpInEchoReps); break;
	case ICMP_DEST_UNREACH: NET_INC(s, IcmpInDestUnreachs); break;
	case ICMP_SOURCE_QUENCH: NET_INC(s, IcmpInSrcQuenchs); break;
	case ICMP_REDIRECT: NET_INC(s, IcmpInRedirects); break;
	case ICMP_ECHO: NET_INC(s, IcmpInEchos); break;
	case ICMP_TIME_EXCEEDED: NET_INC(s, IcmpInTimeExcds); break;
	case ICMP_PARAM_PROB: NET_INC(s, IcmpInParmProbs); break;
	case ICMP_TIMESTAMP: NET_INC(s, IcmpInTimestamps); break;
	default: break;
	}
}

void icmp_input(struct net_stack *s, struct pkt *p, const struct ipv4_rx *rx)
{
	NET_INC(s, IcmpInMsgs);
	enum wire_err err = icmp_check(pkt_data(p), p->len);
	if (err) {
		NET_INC(s, IcmpInErrors);
		if (err == WIRE_BAD_CSUM)
			NET_INC(s, IcmpInCsumErrors);
		net_drop(s, p, err == WIRE_BAD_CSUM ? DROP_ICMP_CSUM : DROP_ICMP_TRUNCATED);
		return;
	}
	struct icmp_hdr h;
	icmp_parse(pkt_data(p), &h);
	count_type(s, h.type);
	if (h.type == ICMP_ECHO) {
		echo_request(s, p, rx, &h);
	} else if (h.type == ICMP_ECHO_REPLY) {
		if (ping_reply(s, rx->ip.src, h.id, h.seq, p->len, rx->ip.ttl, rx->ts_ns))
			pkt_free(p);
		else
			net_drop(s, p, DROP_ICMP_UNMATCHED);
	} else if (icmp_is_error(h.type)) {
		error_input(s, pkt_data(p), p->len, rx, &h);
		pkt_free(p);
	} else {
		/* Timestamps, address masks, router discovery: not offered (HARDENING #10). */
		net_drop(s, p, DROP_ICMP_UNHANDLED);
	}
}
