/*
 * Neighbour table (Linux net/core/neighbour.c states, RFC 1122 §2.3.2.1 cache rules).
 *
 *   (none) --output--> INCOMPLETE --reply--> REACHABLE --reachable_time--> STALE
 *   INCOMPLETE --mcast_probes unanswered--> FAILED
 *   STALE --output--> DELAY --delay_first_probe--> PROBE --reply--> REACHABLE
 *   PROBE --ucast_probes unanswered--> FAILED;  FAILED --output--> INCOMPLETE
 *
 * Bounded: NEIGH_MAX entries (full table evicts FAILED, then the least recently used
 * STALE/REACHABLE/DELAY/PROBE, then the oldest INCOMPLETE), NEIGH_QUEUE_LEN packets
 * held per unresolved entry (the oldest is dropped when a new one arrives).
 */
#ifndef SKIFF_NET_NEIGH_H
#define SKIFF_NET_NEIGH_H

#include <stdint.h>
#include "net/config.h"
#include "net/pkt.h"
#include "net/eth.h"
#include "net/core.h"

struct net_link;
struct net_core;

enum neigh_state {
	NEIGH_NONE,             /* free slot */
	NEIGH_INCOMPLETE, NEIGH_REACHABLE, NEIGH_STALE, NEIGH_DELAY, NEIGH_PROBE, NEIGH_FAILED,
};

struct neigh_entry {
	uint32_t addr;
	uint8_t mac[ETH_ALEN];
	uint8_t state;          /* enum neigh_state */
	uint8_t ifi;
	uint8_t probes;         /* requests sent in the current INCOMPLETE/PROBE phase */
	uint32_t gen;           /* new whenever the entry gets an address (net/dst.h) */
	uint64_t created_ns;
	uint64_t confirmed_ns;  /* last reply that proved reachability */
	uint64_t updated_ns;    /* last state or address change */
	uint64_t used_ns;       /* last output through this entry */
	uint64_t timer_ns;      /* next timer event, 0 = none */
	struct pkt_queue queue; /* waiting for resolution */
};

/* Sends an ARP request for target (to mac, or broadcast when NULL). */
typedef int (*neigh_solicit_fn)(void *ctx, int ifi, uint32_t target, const uint8_t *mac);
/* 1 if addr must outlive other entries when the table is full (a gateway). */
typedef int (*neigh_keep_fn)(void *ctx, uint32_t addr);

struct neigh_table {
	struct net_core *core;
	struct net_link *link;
	struct neigh_entry e[NEIGH_MAX];
	uint32_t queued;        /* packets waiting in all entries (<= NEIGH_QUEUE_TOTAL) */
	uint64_t next_ns;       /* no entry timer is due before this (a lower bound) */
	uint32_t gen;           /* the last entry generation handed out */
	/* Set by the floors above: ARP resolves, IPv4's routes say what to keep. */
	neigh_solicit_fn solicit;
	void *solicit_ctx;
	neigh_keep_fn keep;
	void *keep_ctx;
};

void neigh_init(struct neigh_table *t, struct net_link *link);

/* Takes ownership of p (data = IP header): sends it to nexthop on interface ifi now, or
 * queues it until ARP resolves. 0 or a negative error (p freed and counted). */
int neigh_output(struct neigh_table *t, int ifi, uint32_t nexthop, struct pkt *p);
/* ARP evidence that addr is at mac. state: NEIGH_REACHABLE (reply to us) or NEIGH_STALE
 * (request, broadcast reply). create: make an entry if none exists. Returns the entry or
 * NULL if none exists and create is 0. */
struct neigh_entry *neigh_update(struct neigh_table *t, int ifi, uint32_t addr,
				 const uint8_t *mac, int state, int create);
struct neigh_entry *neigh_lookup(struct neigh_table *t, int ifi, uint32_t addr);
/* The entry has a link-layer address output may use now (REACHABLE, STALE, DELAY,
 * PROBE: RFC 1122 §2.3.2.1 keeps sending to it while it is being re-confirmed). */
static inline int neigh_resolved(const struct neigh_entry *e)
{
	return e->state >= NEIGH_REACHABLE && e->state <= NEIGH_PROBE;
}
void neigh_stale_used(struct neigh_table *t, struct neigh_entry *e);
/* What an output through a resolved entry does besides sending (neigh_output after its
 * lookup; a connection's cached path, net/dst.h, calls it directly): the counters,
 * used_ns, and a STALE entry's move to DELAY (proof of reachability asked for soon). */
static inline void neigh_use(struct neigh_table *t, struct neigh_entry *e)
{
	NET_INC(t->core, NeighLookups);
	e->used_ns = t->core->now_ns;
	if (e->state == NEIGH_REACHABLE)
		NET_INC(t->core, NeighHits);
	else if (e->state == NEIGH_STALE)
		neigh_stale_used(t, e);
}
/* Timers: retransmissions, REACHABLE->STALE, DELAY->PROBE, failures, garbage collection. */
void neigh_poll(struct neigh_table *t);
/* Negative advice from above (TCP's R1 timeouts): a REACHABLE entry is re-confirmed
 * before it is trusted again. */
void neigh_suspect(struct neigh_table *t, int ifi, uint32_t addr);
/* Removes every entry of interface ifi (queued packets are dropped and counted). */
void neigh_flush(struct neigh_table *t, int ifi);
const char *neigh_state_name(int state);

#endif
