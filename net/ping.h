/*
 * ping and arping from the shell: one asynchronous session each per stack, output in
 * iputils' layout. Requests leave from net_poll() every PING_INTERVAL_NS; replies arrive
 * through the echo hooks of icmp.c and the reply hook of arp.c.
 */
#ifndef SKIFF_NET_PING_H
#define SKIFF_NET_PING_H

#include <stdint.h>
#include "net/config.h"

struct net_core;
struct net_link;
struct icmp;
struct arp;

struct ping_session {
	struct net_core *core;
	struct net_link *link;
	struct icmp *icmp;
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

/* Takes over icmp's echo hooks. */
void ping_init(struct ping_session *p, struct icmp *icmp);
int ping_start(struct ping_session *p, uint32_t dst, uint32_t count, uint16_t size,
	       void (*out)(void *ctx, const char *text), void *ctx);
void ping_poll(struct ping_session *p);
/* When ping_poll next has something to do, UINT64_MAX if no session runs. */
uint64_t ping_next_ns(const struct ping_session *p);
/* Ctrl-C: prints the statistics as if the count had been reached; no-op when idle. */
void ping_stop(struct ping_session *p);

/* arping from the shell: ARP requests, replies from arp.c's on_reply hook. */
struct arping_session {
	struct net_core *core;
	struct net_link *link;
	struct arp *arp;
	uint8_t active;
	uint8_t ifi;
	uint32_t target, src;
	uint32_t count, sent, received;
	uint64_t start_ns, next_ns, last_send_ns;
	void (*out)(void *ctx, const char *text);
	void *ctx;
};

/* Takes over arp's on_reply hook. */
void arping_init(struct arping_session *a, struct arp *arp);
int arping_start(struct arping_session *a, int ifi, uint32_t target, uint32_t count,
		 void (*out)(void *ctx, const char *text), void *ctx);
void arping_poll(struct arping_session *a);
uint64_t arping_next_ns(const struct arping_session *a);       /* as ping_next_ns */

#endif
