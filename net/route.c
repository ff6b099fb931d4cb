/*
 * Routing table and output route decision (route.h). Lookup is a linear longest-prefix
 * match (RFC 1812 §5.2.4.3), ties to the lower metric. route_get() adds what the table
 * alone cannot say, in the order Linux's ip_route_output_key resolves it: our own
 * addresses are local, the limited broadcast leaves the first addressed interface,
 * multicast is unsupported, then the table; the source address is the route's preferred
 * source or the output interface's address (RFC 1122 §3.3.4.3).
 */
#include "net/route.h"
#include "net/link.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"

static int same_prefix(const struct route *r, uint32_t dst, int prefix_len)
{
	return r->used && r->prefix_len == prefix_len && r->dst == (dst & inet_mask(prefix_len));
}

int route_add(struct route_table *t, const struct route *r)
{
	if (r->prefix_len > 32)
		return -NET_EINVAL;
	struct route *free_slot = NULL;
	for (int i = 0; i < ROUTE_MAX; i++) {
		struct route *e = &t->r[i];
		if (same_prefix(e, r->dst, r->prefix_len) && e->metric == r->metric)
			return -NET_EEXIST;
		if (!e->used && !free_slot)
			free_slot = e;
	}
	if (!free_slot)
		return -NET_ENOSPC;
	*free_slot = *r;
	t->gen++;
	free_slot->dst = r->dst & inet_mask(r->prefix_len);
	free_slot->used = 1;
	if ((uint32_t)(free_slot - t->r) >= t->hi)
		t->hi = (uint32_t)(free_slot - t->r) + 1;
	return 0;
}

int route_del(struct route_table *t, uint32_t dst, int prefix_len)
{
	for (int i = 0; i < ROUTE_MAX; i++) {
		if (same_prefix(&t->r[i], dst, prefix_len)) {
			memset(&t->r[i], 0, sizeof(t->r[i]));
			t->gen++;
			return 0;
		}
	}
	return -NET_ENOENT;
}

void route_flush(struct route_table *t, int ifi, int proto)
{
	for (int i = 0; i < ROUTE_MAX; i++) {
		struct route *e = &t->r[i];
		if (e->used && e->ifi == ifi && (proto < 0 || e->proto == proto)) {
			memset(e, 0, sizeof(*e));
			t->gen++;
		}
	}
}

const struct route *route_lookup(const struct route_table *t, uint32_t dst)
{
	const struct route *best = NULL;
	/* Every output looks up; slots fill from 0, so stop past the last one ever used. */
	for (uint32_t i = 0; i < t->hi; i++) {
		const struct route *e = &t->r[i];
		if (!e->used || (dst & inet_mask(e->prefix_len)) != e->dst)
			continue;
		if (!best || e->prefix_len > best->prefix_len ||
		    (e->prefix_len == best->prefix_len && e->metric < best->metric))
			best = e;
	}
	return best;
}

void route_init(struct route_table *t, const struct net_link *link)
{
	memset(t, 0, sizeof(*t));
	t->link = link;
}

int route_is_gateway(const struct route_table *t, uint32_t addr)
{
	for (int i = 0; i < ROUTE_MAX; i++)
		if (t->r[i].used && t->r[i].gateway == addr)
			return 1;
	return 0;
}

static int local_route(const struct net_link *l, uint32_t dst, struct route_result *res)
{
	for (int i = 0; i < l->nifs; i++) {
		if (l->ifs[i].addr && l->ifs[i].addr == dst) {
			*res = (struct route_result){ RTN_LOCAL, i, dst, dst, NULL };
			return 1;
		}
	}
	return 0;
}

static int resolve(const struct route_table *t, uint32_t dst, struct route_result *res)
{
	const struct net_link *l = t->link;
	if (local_route(l, dst, res))
		return 0;
	if (dst == INET_BCAST) {
		for (int i = 0; i < l->nifs; i++) {
			if (l->ifs[i].addr) {
				*res = (struct route_result){ RTN_BROADCAST, i, dst, l->ifs[i].addr, NULL };
				return 0;
			}
		}
		return -NET_ENETUNREACH;
	}
	if (inet_is_multicast(dst) || dst == 0)
		return -NET_ENETUNREACH;
	const struct route *r = route_lookup(t, dst);
	if (!r || r->ifi >= l->nifs)
		return -NET_ENETUNREACH;
	res->route = r;
	res->ifi = r->ifi;
	res->nexthop = r->gateway ? r->gateway : dst;
	res->src = r->prefsrc ? r->prefsrc : l->ifs[r->ifi].addr;
	res->type = link_is_bcast(l, r->ifi, dst) ? RTN_BROADCAST : RTN_UNICAST;
	return 0;
}

int route_get(struct route_table *t, uint32_t dst, struct route_result *res)
{
	if (t->last_ok && t->last_dst == dst && t->last_gen == t->gen &&
	    t->last_link_gen == t->link->gen) {
		*res = t->last;
		return t->last_err;
	}
	int err = resolve(t, dst, res);
	t->last = *res;
	t->last_err = err;
	t->last_dst = dst;
	t->last_gen = t->gen;
	t->last_link_gen = t->link->gen;
	t->last_ok = true;
	return err;
}

const char *route_proto_name(int proto)
{
	switch (proto) {
	case RTPROT_KERNEL: return "kernel";
	case RTPROT_STATIC: return "static";
	case RTPROT_DHCP: return "dhcp";
	case RTPROT_BOOT: return "boot";
	default: return "unspec";
	}
}
