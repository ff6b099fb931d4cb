/*
 * ARP (arp.h). Input follows RFC 826 "Packet Reception" with the RFC 1122 §2.3.2 and
 * Linux arp_process refinements, in this order:
 *   1. arp_check: length, htype/ptype/hlen/plen, op
 *   2. sender sanity: sha unicast and not ours; interface has an address
 *   3. spa 0.0.0.0 is an RFC 5227 probe: answer it if it asks for our address, learn nothing
 *   4. spa must be a valid host address; spa == ours is a conflict (counted)
 *   5. request for our address: learn the sender (STALE) and reply
 *   6. anything else only refreshes an existing entry (a reply to us confirms it,
 *      REACHABLE; requests and broadcast replies make it STALE); never creates one.
 * The on_reply hook (arping) sees replies at step 6 before the table does.
 * Announcements: ARP_ANNOUNCE_NUM gratuitous ARPs ARP_ANNOUNCE_INTERVAL_NS apart when an
 * address is set or the link returns (RFC 5227 §2.3), so peers with a stale cache entry
 * for the address learn our MAC.
 */
#include "net/arp.h"
#include "net/link.h"
#include "net/neigh.h"
#include "net/arp_wire.h"
#include "net/eth.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"

static int arp_send(struct arp *ar, int ifi, const struct arp_pkt *a, const uint8_t *dst)
{
	struct pkt *p = link_alloc(ar->link, ifi);
	if (!p)
		return -NET_ENOBUFS;
	arp_emit(a, pkt_put(p, ARP_LEN));
	if (a->op == ARP_OP_REQUEST)
		NET_INC(ar->core, ArpOutRequests);
	else
		NET_INC(ar->core, ArpOutReplies);
	return link_output(ar->link, ifi, p, dst, ETH_P_ARP);
}

int arp_solicit(struct arp *ar, int ifi, uint32_t target, const uint8_t *mac)
{
	struct arp_pkt a = { .op = ARP_OP_REQUEST, .spa = ar->link->ifs[ifi].addr, .tpa = target };
	memcpy(a.sha, ar->link->ifs[ifi].dev->mac, ETH_ALEN);
	return arp_send(ar, ifi, &a, mac ? mac : eth_broadcast);
}

int arp_announce(struct arp *ar, int ifi)
{
	uint32_t addr = ar->link->ifs[ifi].addr;
	struct arp_pkt a = { .op = ARP_OP_REQUEST, .spa = addr, .tpa = addr };
	memcpy(a.sha, ar->link->ifs[ifi].dev->mac, ETH_ALEN);
	return arp_send(ar, ifi, &a, eth_broadcast);
}

/* Reply to req, which asked for tpa (ours); to the asker's MAC only. */
static void reply(struct arp *ar, int ifi, const struct arp_pkt *req)
{
	struct arp_pkt a = { .op = ARP_OP_REPLY, .spa = req->tpa, .tpa = req->spa };
	memcpy(a.sha, ar->link->ifs[ifi].dev->mac, ETH_ALEN);
	memcpy(a.tha, req->sha, ETH_ALEN);
	arp_send(ar, ifi, &a, req->sha);
}

/* Steps 2-4; returns the drop reason or DROP_COUNT to go on. */
static enum net_drop_reason sender_check(struct arp *ar, int ifi, const struct arp_pkt *a)
{
	const struct net_if *ifc = &ar->link->ifs[ifi];
	if (eth_is_multicast(a->sha) || eth_is_zero(a->sha) || eth_equal(a->sha, ifc->dev->mac))
		return DROP_ARP_BAD_SENDER;
	if (!ifc->addr)
		return DROP_ARP_NO_ADDR;
	if (a->spa == 0)
		return DROP_COUNT;
	if (inet_is_martian_src(a->spa) || (a->spa != ifc->addr && link_is_bcast(ar->link, ifi, a->spa)))
		return DROP_ARP_BAD_SENDER;
	if (a->spa == ifc->addr) {
		char ip[INET_ADDRSTRLEN], mac[ETH_MACSTRLEN];
		net_log(ar->core, NET_LOG_DEBUG, "arp: %s claims our address %s", eth_fmt(mac, a->sha, 0),
			inet_fmt(ip, a->spa));
		return DROP_ARP_CONFLICT;
	}
	return DROP_COUNT;
}

static void arp_input(void *ctx, int ifi, struct pkt *p, int l2_bcast)
{
	struct arp *ar = ctx;
	int l2_unicast = !l2_bcast;
	enum wire_err err = arp_check(pkt_data(p), p->len);
	if (err) {
		net_drop(ar->core, p, err == WIRE_TRUNCATED ? DROP_ARP_TRUNCATED : DROP_ARP_BAD_FORMAT);
		return;
	}
	struct arp_pkt a;
	arp_parse(pkt_data(p), &a);
	if (a.op == ARP_OP_REQUEST)
		NET_INC(ar->core, ArpInRequests);
	else
		NET_INC(ar->core, ArpInReplies);
	enum net_drop_reason why = sender_check(ar, ifi, &a);
	if (why != DROP_COUNT) {
		net_drop(ar->core, p, why);
		return;
	}
	uint32_t ours = ar->link->ifs[ifi].addr;
	if (a.spa == 0) {               /* RFC 5227 probe: defend our address, learn nothing */
		if (a.op == ARP_OP_REQUEST && a.tpa == ours)
			reply(ar, ifi, &a);
		pkt_free(p);
		return;
	}
	if (a.spa == a.tpa)
		NET_INC(ar->core, ArpInGratuitous);
	if (a.op == ARP_OP_REQUEST && a.tpa == ours) {
		if (l2_unicast)
			NET_INC(ar->core, NeighRcvProbesUcast);
		else
			NET_INC(ar->core, NeighRcvProbesMcast);
		neigh_update(ar->neigh, ifi, a.spa, a.sha, NEIGH_STALE, 1);
		reply(ar, ifi, &a);
		pkt_free(p);
		return;
	}
	int matched = ar->on_reply && ar->on_reply(ar->reply_ctx, ifi, &a, l2_unicast, p->ts_ns);
	int state = a.op == ARP_OP_REPLY && l2_unicast ? NEIGH_REACHABLE : NEIGH_STALE;
	if (neigh_update(ar->neigh, ifi, a.spa, a.sha, state, 0) || matched)
		pkt_free(p);
	else
		net_drop(ar->core, p, a.op == ARP_OP_REQUEST ? DROP_ARP_NOT_FOR_US : DROP_ARP_UNSOLICITED);
}

static int solicit_hook(void *ctx, int ifi, uint32_t target, const uint8_t *mac)
{
	return arp_solicit(ctx, ifi, target, mac);
}

void arp_init(struct arp *ar, struct net_link *link, struct neigh_table *neigh)
{
	memset(ar, 0, sizeof(*ar));
	ar->core = link->core;
	ar->link = link;
	ar->neigh = neigh;
	neigh->solicit = solicit_hook;
	neigh->solicit_ctx = ar;
	link_register_type(link, ETH_P_ARP, arp_input, ar);
}

void arp_announce_start(struct arp *ar, int ifi)
{
	ar->announce_left[ifi] = ARP_ANNOUNCE_NUM;
	ar->announce_ns[ifi] = ar->core->now_ns;
	net_core_arm(ar->core, ar->announce_ns[ifi]);
}

uint64_t arp_next_ns(const struct arp *ar)
{
	uint64_t d = UINT64_MAX;
	for (int i = 0; i < ar->link->nifs; i++)        /* arp_poll's test */
		if (ar->announce_left[i] && ar->link->ifs[i].addr && ar->announce_ns[i] < d)
			d = ar->announce_ns[i];
	return d;
}

void arp_poll(struct arp *ar)
{
	for (int i = 0; i < ar->link->nifs; i++) {
		if (ar->announce_left[i] && ar->link->ifs[i].addr &&
		    ar->core->now_ns >= ar->announce_ns[i]) {
			arp_announce(ar, i);
			ar->announce_left[i]--;
			ar->announce_ns[i] = ar->core->now_ns + ARP_ANNOUNCE_INTERVAL_NS;
			net_core_arm(ar->core, ar->announce_ns[i]);
		}
	}
}
