/*
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo, errors in and out. Attaches to IPv4 as protocol
 * 1 and as its error reporter (ipv4_set_error_report) at icmp_init().
 */
#ifndef SKIFF_NET_ICMP_H
#define SKIFF_NET_ICMP_H

#include <stddef.h>
#include <stdint.h>
#include "net/pkt.h"
#include "net/config.h"

struct net_core;
struct ipv4;
struct ipv4_rx;

/* An echo reply for id/seq from src arrived (len = ICMP message bytes): 1 if expected. */
typedef int (*icmp_echo_reply_fn)(void *ctx, uint32_t src, uint16_t id, uint16_t seq,
				  size_t len, uint8_t ttl, uint64_t ts_ns);
/* An ICMP error quoting one of our echo requests. */
typedef void (*icmp_echo_error_fn)(void *ctx, uint32_t from, uint8_t type, uint8_t code,
				   uint16_t id, uint16_t seq);

struct icmp_peer {
	uint32_t addr;          /* 0: free */
	uint64_t credit_ns;     /* up to ICMP_PEER_BURST intervals; a message costs one */
	uint64_t last_ns;
};

struct icmp {
	struct net_core *core;
	struct ipv4 *ip;
	uint64_t tokens;        /* ICMP_BURST * NET_NS_PER_SEC = full; a message costs 1 s */
	uint64_t refill_ns;     /* last refill time */
	struct icmp_peer peers[ICMP_PEERS];
	icmp_echo_reply_fn echo_reply;  /* set by ping */
	icmp_echo_error_fn echo_error;
	void *echo_ctx;
};

void icmp_init(struct icmp *ic, struct ipv4 *ip);
/* An error about dgram (len bytes as received, from its IP header); 0 if sent, or a
 * negative error when RFC 1122 forbids it, the rate limit holds it back, or no buffer. */
int icmp_send_error(struct icmp *ic, const uint8_t *dgram, size_t len,
		    const struct ipv4_rx *rx, uint8_t type, uint8_t code);
int icmp_send_echo(struct icmp *ic, uint32_t dst, uint16_t id, uint16_t seq, uint16_t size);

#endif
