/*
 * ping from the shell: one asynchronous session per stack, output in iputils' layout.
 * Requests leave from net_poll() every PING_INTERVAL_NS; replies arrive from icmp.c.
 */
#ifndef SKIFF_NET_PING_H
#define SKIFF_NET_PING_H

#include <stdint.h>
#include "net/config.h"

struct net_stack;

struct ping_session {
	uint8_t active;
	uint32_t dst;
	uint16_t id, size;
	uint32_t count, sent, received, errors;
	uint64_t start_ns, next_ns, last_send_ns;
	uint64_t rtt_min_us, rtt_max_us, rtt_sum_us, rtt_sum2_us;
	uint64_t sent_ns[PING_TRACK];   /* by icmp_seq % PING_TRACK */
	uint8_t answered[PING_TRACK];   /* duplicate replies are not counted twice */
	void (*out)(void *ctx, const char *text);
	void *ctx;
};

int ping_start(struct net_stack *s, uint32_t dst, uint32_t count, uint16_t size,
	       void (*out)(void *ctx, const char *text), void *ctx);
void ping_poll(struct net_stack *s);
/* An echo reply for id/seq from src arrived (len = ICMP message bytes). */
int ping_reply(struct net_stack *s, uint32_t src, uint16_t id, uint16_t seq, size_t len,
	       uint8_t ttl, uint64_t ts_ns);
/* An ICMP error quoting one of our echo requests. */
void ping_error(struct net_stack *s, uint32_t from, uint8_t type, uint8_t code,
		uint16_t id, uint16_t seq);

#endif
