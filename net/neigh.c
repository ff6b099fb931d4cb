/*
 * Neighbour table state machine (neigh.h; Linux net/core/neighbour.c __neigh_event_send,
 * neigh_update, neigh_timer_handler; RFC 1122 §2.3.2.1-2). Every entry's timer is checked
 * from neigh_poll(); no entry lives without a timer except REACHABLE/DELAY/PROBE's own.
 * Queued packets leave only three ways: sent on resolution, dropped when the queue
 * overflows (oldest first), dropped when the entry fails or is evicted.
 */
#include "net/neigh.h"
#include "net/link.h"
#include "net/err.h"
#include "lib/string.h"

void neigh_init(struct neigh_table *t, struct net_link *link)
{
	memset(t, 0, sizeof(*t));
	t->link = link;
	t->core = link->core;
}

/* Every entry timer is set here, so t->next_ns stays a lower bound of them all. */
static void arm(struct neigh_table *t, struct neigh_entry *e, uint64_t delay_ns)
{
	e->timer_ns = t->core->now_ns + delay_ns;
	if (e->timer_ns < t->next_ns) {
		t->next_ns = e->timer_ns;
		net_core_arm(t->core, e->timer_ns);
	}
}

static const char *const state_names[] = {
	"NONE", "INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED",
};

const char *neigh_state_name(int state)
{
	return state >= 0 && state <= NEIGH_FAILED ? state_names[state] : "?";
}

struct neigh_entry *neigh_lookup(struct neigh_table *t, int ifi, uint32_t addr)
{
	for (int i = 0; i < NEIGH_MAX; i++) {
		struct neigh_entry *e = &t->e[i];
		if (e->state != NEIGH_NONE && e->ifi == ifi && e->addr == addr)
			return e;
	}
	return NULL;
}

static void drain_queue(struct neigh_table *t, struct neigh_entry *e, enum net_drop_reason why)
{
	struct pkt *p;
	while ((p = pktq_pop(&e->queue))) {
		t->queued--;
		NET_INC(t->core, NeighUnresolvedDiscards);
		net_drop(t->core, p, why);
	}
}

static void destroy(struct neigh_table *t, struct neigh_entry *e, enum net_drop_reason why)
{
	drain_queue(t, e, why);
	memset(e, 0, sizeof(*e));
	NET_INC(t->core, NeighDestroys);
}

/* Eviction order when the table is full: the least useful state first, then the entry
 * idle longest. INCOMPLETE goes last: it holds packets someone is waiting on. */
/*
 * Which entry a full table gives up (docs/hardening.md #7). Unresolved entries go first,
 * right after failed ones: a flood of spoofed on-link sources creates nothing but
 * INCOMPLETE entries, and must not push out the resolved neighbours we talk to.
 * A gateway of a route ranks above everything (the keep hook, which the IPv4 floor
 * answers from its routes): losing it cuts off every remote host.
 */
static int evict_rank(const struct neigh_table *t, const struct neigh_entry *e)
{
	int rank;
	switch (e->state) {
	case NEIGH_FAILED: rank = 0; break;
	case NEIGH_INCOMPLETE: rank = 1; break;
	case NEIGH_STALE: rank = 2; break;
	case NEIGH_REACHABLE: rank = 3; break;
	default: rank = 4; break;      /* DELAY, PROBE: being confirmed right now */
	}
	return t->keep && t->keep(t->keep_ctx, e->addr) ? rank + 10 : rank;
}

/* weak: an entry nobody asked us to resolve (learnt from a request for our address):
 * it may take a free slot or push out a FAILED or STALE one, never an entry being
 * resolved or in use (Linux refuses a new entry when forced GC frees nothing). */
static struct neigh_entry *alloc_entry(struct neigh_table *t, int ifi, uint32_t addr, int weak)
{
	struct neigh_entry *e = NULL, *victim = NULL;
	for (int i = 0; i < NEIGH_MAX && !e; i++) {
		struct neigh_entry *c = &t->e[i];
		if (c->state == NEIGH_NONE)
			e = c;
		else if (!victim || evict_rank(t, c) < evict_rank(t, victim) ||
			 (evict_rank(t, c) == evict_rank(t, victim) && c->used_ns < victim->used_ns))
			victim = c;
	}
	if (!e && weak && (evict_rank(t, victim) != 0 && victim->state != NEIGH_STALE)) {
		NET_INC(t->core, NeighTableFulls);
		return NULL;
	}
	if (!e) {
		NET_INC(t->core, NeighTableFulls);
		NET_INC(t->core, NeighForcedGcRuns);
		destroy(t, victim, DROP_NEIGH_EVICTED);
		e = victim;
	}
	e->addr = addr;
	e->ifi = (uint8_t)ifi;
	e->created_ns = e->updated_ns = e->used_ns = t->core->now_ns;
	NET_INC(t->core, NeighAllocs);
	return e;
}

static uint64_t reachable_time(struct neigh_table *t)
{
	/* Linux neigh_rand_reach_time: uniform in [base/2, 3*base/2). */
	return NEIGH_REACHABLE_NS / 2 + net_random(t->core) % NEIGH_REACHABLE_NS;
}

static void send_queued(struct neigh_table *t, struct neigh_entry *e)
{
	struct pkt *p;
	while ((p = pktq_pop(&e->queue))) {
		t->queued--;
		NET_TRACE(t->core, p, TL_NEIGH, TE_NEIGH_RELEASE, e->addr, e->ifi);
		link_output(t->link, e->ifi, p, e->mac, ETH_P_IP);
	}
}

/* Entry has no usable address: INCOMPLETE with its first broadcast request out now. */
static void start_resolution(struct neigh_table *t, struct neigh_entry *e)
{
	e->state = NEIGH_INCOMPLETE;
	e->updated_ns = t->core->now_ns;
	e->probes = 1;
	arm(t, e, NEIGH_RETRANS_NS);
	if (t->solicit)
		t->solicit(t->solicit_ctx, e->ifi, e->addr, NULL);
}

/* Packets wait per entry (NEIGH_QUEUE_LEN: a fragmented datagram's pieces fit) and in
 * all (NEIGH_QUEUE_TOTAL, as Linux bounds unres_qlen_bytes): a flood of unresolvable
 * destinations cannot hold the pool's buffers. A full entry gives up its oldest. */
static void enqueue(struct neigh_table *t, struct neigh_entry *e, struct pkt *p)
{
	if (e->queue.len >= NEIGH_QUEUE_LEN) {
		NET_INC(t->core, NeighUnresolvedDiscards);
		t->queued--;
		net_drop(t->core, pktq_pop(&e->queue), DROP_NEIGH_QUEUE_FULL);
	}
	if (t->queued >= NEIGH_QUEUE_TOTAL) {
		NET_INC(t->core, NeighUnresolvedDiscards);
		net_drop(t->core, p, DROP_NEIGH_QUEUE_FULL);
		return;
	}
	t->queued++;
	pktq_push(&e->queue, p);
	NET_TRACE(t->core, p, TL_NEIGH, TE_NEIGH_PARK, e->addr, e->queue.len);
}

/* A first or failed entry starts (again) to resolve; an INCOMPLETE one holds p. */
static int output_unresolved(struct neigh_table *t, int ifi, uint32_t nexthop,
			     struct neigh_entry *e, struct pkt *p)
{
	NET_INC(t->core, NeighLookups);
	if (!e || e->state == NEIGH_FAILED) {
		if (!t->link->ifs[ifi].addr) {
			net_drop(t->core, p, DROP_NEIGH_NO_ADDR);
			return -NET_EHOSTUNREACH;
		}
		if (!e)
			e = alloc_entry(t, ifi, nexthop, 0);
		enqueue(t, e, p);
		start_resolution(t, e);
		return 0;
	}
	e->used_ns = t->core->now_ns;
	enqueue(t, e, p);
	return 0;
}

/* Use the old address, but ask for proof soon (RFC 1122 §2.3.2.1). */
void neigh_stale_used(struct neigh_table *t, struct neigh_entry *e)
{
	e->state = NEIGH_DELAY;
	e->updated_ns = t->core->now_ns;
	arm(t, e, NEIGH_DELAY_NS);
}

int neigh_output(struct neigh_table *t, int ifi, uint32_t nexthop, struct pkt *p)
{
	struct neigh_entry *e = neigh_lookup(t, ifi, nexthop);
	if (__builtin_expect(!e || !neigh_resolved(e), 0))
		return output_unresolved(t, ifi, nexthop, e, p);
	neigh_use(t, e);
	NET_TRACE(t->core, p, TL_NEIGH, TE_NEIGH_HIT, nexthop, (uint32_t)e->mac[4] << 8 | e->mac[5]);
	return link_output(t->link, ifi, p, e->mac, ETH_P_IP);
}

struct neigh_entry *neigh_update(struct neigh_table *t, int ifi, uint32_t addr,
				 const uint8_t *mac, int state, int create)
{
	struct neigh_entry *e = neigh_lookup(t, ifi, addr);
	if (!e) {
		if (!create || !(e = alloc_entry(t, ifi, addr, 1)))
			return NULL;
	}
	int had_mac = e->state != NEIGH_NONE && e->state != NEIGH_INCOMPLETE &&
		      e->state != NEIGH_FAILED;
	int changed = !had_mac || !eth_equal(e->mac, mac);
	if (state == NEIGH_REACHABLE) {
		e->state = NEIGH_REACHABLE;
		e->confirmed_ns = t->core->now_ns;
		arm(t, e, reachable_time(t));
		e->probes = 0;
	} else if (changed) {
		/* A request or broadcast reply names an address but proves nothing about
		 * reachability; an unchanged address keeps its state (Linux neigh_update). */
		e->state = NEIGH_STALE;
		arm(t, e, NEIGH_GC_STALE_NS);
		e->probes = 0;
	}
	if (changed) {
		memcpy(e->mac, mac, ETH_ALEN);
		e->updated_ns = t->core->now_ns;
		/* Cached headers (net/dst.h) hold the old MAC, or name a slot's earlier
		 * occupant: every entry gets its address here, so this one bump covers both. */
		e->gen = ++t->gen;
	}
	send_queued(t, e);
	return e;
}

void neigh_suspect(struct neigh_table *t, int ifi, uint32_t addr)
{
	struct neigh_entry *e = neigh_lookup(t, ifi, addr);
	if (!e || e->state != NEIGH_REACHABLE)
		return;
	/* STALE: the next output moves it to DELAY, then unicast PROBEs (RFC 1122
	 * §2.3.2.1), while packets still flow to the old address meanwhile. */
	e->state = NEIGH_STALE;
	e->updated_ns = t->core->now_ns;
	arm(t, e, NEIGH_GC_STALE_NS);
}

static void fail(struct neigh_table *t, struct neigh_entry *e)
{
	NET_INC(t->core, NeighResFailed);
	drain_queue(t, e, DROP_NEIGH_FAILED);
	e->state = NEIGH_FAILED;
	e->updated_ns = t->core->now_ns;
	arm(t, e, NEIGH_GC_FAILED_NS);
}

/* Sends the next request of a resolution or probe phase, or gives up. */
static void retransmit(struct neigh_table *t, struct neigh_entry *e, int max, const uint8_t *mac)
{
	if (e->probes >= max) {
		fail(t, e);
		return;
	}
	e->probes++;
	arm(t, e, NEIGH_RETRANS_NS);
	if (t->solicit)
		t->solicit(t->solicit_ctx, e->ifi, e->addr, mac);
}

static void timer_expired(struct neigh_table *t, struct neigh_entry *e)
{
	switch (e->state) {
	case NEIGH_INCOMPLETE:
		retransmit(t, e, NEIGH_MCAST_PROBES, NULL);
		break;
	case NEIGH_REACHABLE:
		e->state = NEIGH_STALE;
		e->updated_ns = t->core->now_ns;
		arm(t, e, NEIGH_GC_STALE_NS);
		break;
	case NEIGH_DELAY:
		e->state = NEIGH_PROBE;
		e->updated_ns = t->core->now_ns;
		e->probes = 0;
		retransmit(t, e, NEIGH_UCAST_PROBES, e->mac);
		break;
	case NEIGH_PROBE:
		retransmit(t, e, NEIGH_UCAST_PROBES, e->mac);
		break;
	case NEIGH_STALE:       /* idle for gc_stale_time: nobody needs it */
	case NEIGH_FAILED:
		destroy(t, e, DROP_NEIGH_EVICTED);
		break;
	default:
		break;
	}
}

/* Runs every main-loop turn, so it looks at the table only when the earliest timer is
 * due (it was 10% of a request/response transaction's instructions scanning 64 idle
 * entries; docs/performance.md). */
void neigh_poll(struct neigh_table *t)
{
	if (t->core->now_ns < t->next_ns)
		return;
	t->next_ns = UINT64_MAX;        /* arm() lowers it for timers set during the scan */
	for (int i = 0; i < NEIGH_MAX; i++) {
		struct neigh_entry *e = &t->e[i];
		if (e->state == NEIGH_NONE || !e->timer_ns)
			continue;
		if (t->core->now_ns >= e->timer_ns)
			timer_expired(t, e);
		else if (e->timer_ns < t->next_ns)
			t->next_ns = e->timer_ns;
	}
}

void neigh_flush(struct neigh_table *t, int ifi)
{
	for (int i = 0; i < NEIGH_MAX; i++) {
		struct neigh_entry *e = &t->e[i];
		if (e->state != NEIGH_NONE && (ifi < 0 || e->ifi == ifi))
			destroy(t, e, DROP_NEIGH_EVICTED);
	}
}
