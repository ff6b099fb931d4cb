/*
 * Dynamic queue limits (dql.h), the algorithm of Linux lib/dynamic_queue_limits.c
 * dql_completed() (read for the rules, written anew): one interval runs from one
 * completion to the next.
 */
#include "net/dql.h"

#define POSDIFF(a, b) ((int32_t)((a) - (b)) > 0 ? (uint32_t)((a) - (b)) : 0u)
#define AFTER_EQ(a, b) ((int32_t)((a) - (b)) >= 0)

void dql_init(struct dql *d, uint32_t min_limit, uint32_t max_limit, uint64_t now_ns)
{
	*d = (struct dql){ .min_limit = min_limit, .max_limit = max_limit,
			   .slack_hold_ns = 1000000000ull, .lowest_slack = UINT32_MAX,
			   .slack_start_ns = now_ns, .limit = min_limit, .adj_limit = min_limit };
}

/* Not starved: the smallest excess over what one interval needed, taken off the limit
 * once it has been seen for slack_hold_ns (no hysteresis from one busy interval). */
static uint32_t shrink(struct dql *d, uint32_t limit, uint32_t completed, uint64_t now_ns)
{
	uint32_t slack = POSDIFF(limit + d->prev_ovlimit, 2 * (completed - d->num_completed));
	uint32_t slack_last = d->prev_ovlimit ? POSDIFF(d->prev_last_obj_cnt, d->prev_ovlimit) : 0;
	if (slack_last > slack)
		slack = slack_last;
	if (slack < d->lowest_slack)
		d->lowest_slack = slack;
	if (now_ns - d->slack_start_ns > d->slack_hold_ns) {
		limit = POSDIFF(limit, d->lowest_slack);
		d->slack_start_ns = now_ns;
		d->lowest_slack = UINT32_MAX;
	}
	return limit;
}

void dql_completed(struct dql *d, uint32_t bytes, uint64_t now_ns)
{
	uint32_t num_queued = d->num_queued;
	uint32_t completed = d->num_completed + bytes;
	uint32_t limit = d->limit;
	uint32_t ovlimit = POSDIFF(num_queued - d->num_completed, limit);
	uint32_t inprogress = num_queued - completed;
	uint32_t prev_inprogress = d->prev_num_queued - d->num_completed;
	int all_prev_completed = AFTER_EQ(completed, d->prev_num_queued);
	if ((ovlimit && !inprogress) || (d->prev_ovlimit && all_prev_completed)) {
		/* Starved: the ring ran dry while we held data back (or may have, between
		 * this completion and the next post). Grow by what went through in the
		 * interval plus what we were over the limit. */
		limit += POSDIFF(completed, d->prev_num_queued) + d->prev_ovlimit;
		d->slack_start_ns = now_ns;
		d->lowest_slack = UINT32_MAX;
	} else if (inprogress && prev_inprogress && !all_prev_completed) {
		limit = shrink(d, limit, completed, now_ns);
	}
	if (limit < d->min_limit)
		limit = d->min_limit;
	if (limit > d->max_limit)
		limit = d->max_limit;
	if (limit != d->limit) {
		d->limit = limit;
		ovlimit = 0;
	}
	d->adj_limit = limit + completed;
	d->prev_ovlimit = ovlimit;
	d->prev_last_obj_cnt = d->last_obj_cnt;
	d->num_completed = completed;
	d->prev_num_queued = num_queued;
}
