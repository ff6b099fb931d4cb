/*
 * Dynamic queue limits (Linux lib/dynamic_queue_limits.c, "BQL"): how many bytes may sit
 * in a device's transmit ring. The qdisc posts bytes (dql_queued) and stops handing
 * frames to the driver while dql_avail() < 0; the driver's completions (dql_completed)
 * move the limit: up when the ring ran dry while we were holding back (starvation),
 * down by the smallest slack seen over slack_hold_ns when it never did. So the ring
 * holds about one completion interval of data and the queue stays in the qdisc, where
 * fq_codel can see and manage it. Byte counts are free-running and wrap (unsigned).
 * Hardware-free; the clock is passed in.
 */
#ifndef SKIFF_NET_DQL_H
#define SKIFF_NET_DQL_H

#include <stdint.h>

struct dql {
	/* posting side */
	uint32_t num_queued;            /* bytes ever posted */
	uint32_t adj_limit;             /* limit + num_completed */
	uint32_t last_obj_cnt;          /* bytes of the last post */
	/* completion side */
	uint32_t limit;                 /* bytes allowed in flight now */
	uint32_t num_completed;         /* bytes ever completed */
	uint32_t prev_ovlimit;          /* over the limit at the last completion */
	uint32_t prev_num_queued;       /* num_queued at the last completion */
	uint32_t prev_last_obj_cnt;
	uint32_t lowest_slack;          /* smallest excess seen since slack_start_ns */
	uint64_t slack_start_ns;
	/* configuration */
	uint32_t min_limit, max_limit;
	uint64_t slack_hold_ns;         /* Linux: HZ (1 s) */
};

void dql_init(struct dql *d, uint32_t min_limit, uint32_t max_limit, uint64_t now_ns);
static inline void dql_queued(struct dql *d, uint32_t bytes)
{
	d->last_obj_cnt = bytes;
	d->num_queued += bytes;
}
/* Bytes that may still be posted; negative: stop (the last post may overshoot). */
static inline int64_t dql_avail(const struct dql *d)
{
	return (int64_t)(int32_t)(d->adj_limit - d->num_queued);
}
static inline uint32_t dql_inflight(const struct dql *d)
{
	return d->num_queued - d->num_completed;
}
/* bytes posted earlier are finished (sent or dropped by the driver). */
void dql_completed(struct dql *d, uint32_t bytes, uint64_t now_ns);

#endif
