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
 * arping sessions see replies at step 6 before the table does.
 */
#include <stdarg.h>
#include "net/stack.h"
#include "net/arp.h"
#include "net/arp_wire.h"
#include "net/eth.h"
#include "net/inet.h"
#include "net/err.h"
#include "net/ipv4.h"
#include "lib/string.h"
#include "lib/fmt.h"

static int arp_send(struct net_stack *s, int ifi, const struct arp_pkt *a, const uint8_t *dst)
{
	struct pkt *p = net_alloc(s, ifi);
	if (!p)
		return -NET_ENOBUFS;
	arp_emit(a, pkt_put(p, ARP_LEN));
	if (a->op == ARP_OP_REQUEST)
		NET_INC(s, ArpOutRequests);
	else
		NET_INC(s, ArpOutReplies);
	return net_xmit(s, ifi, p, dst, ETH_P_ARP);
}

int arp_solicit(struct net_stack *s, int ifi, uint32_t target, const uint8_t *mac)
{
	struct arp_pkt a = { .op = ARP_OP_REQUEST, .spa = s->ifs[ifi].addr, .tpa = target };
	memcpy(a.sha, s->ifs[ifi].dev->mac, ETH_ALEN);
	return arp_send(s, ifi, &a, mac ? mac : eth_broadcast);
}

int arp_announce(struct net_stack *s, int ifi)
{
	uint32_t addr = s->ifs[ifi].addr;
	struct arp_pkt a = { .op = ARP_OP_REQUEST, .spa = addr, .tpa = addr };
	memcpy(a.sha, s->ifs[ifi].dev->mac, ETH_ALEN);
	return arp_send(s, ifi, &a, eth_broadcast);
}

/* Reply to req, which asked for tpa (ours); to the asker's MAC only. */
static void reply(struct net_stack *s, int ifi, const struct arp_pkt *req)
{
	struct arp_pkt a = { .op = ARP_OP_REPLY, .spa = req->tpa, .tpa = req->spa };
	memcpy(a.sha, s->ifs[ifi].dev->mac, ETH_ALEN);
	memcpy(a.tha, req->sha, ETH_ALEN);
	arp_send(s, ifi, &a, req->sha);
}

static int arping_rx(struct net_stack *s, int ifi, const struct arp_pkt *a, int l2_unicast,
		     uint64_t rx_ns);

/* Steps 2-4; returns the drop reason or DROP_COUNT to go on. */
static enum net_drop_reason sender_check(struct net_stack *s, int ifi, const struct arp_pkt *a)
{
	const struct net_if *ifc = &s->ifs[ifi];
	if (eth_is_multicast(a->sha) || eth_is_zero(a->sha) || eth_equal(a->sha, ifc->dev->mac))
		return DROP_ARP_BAD_SENDER;
	if (!ifc->addr)
		return DROP_ARP_NO_ADDR;
	if (a->spa == 0)
		return DROP_COUNT;
	if (inet_is_martian_src(a->spa) || (a->spa != ifc->addr && ipv4_is_bcast(s, ifi, a->spa)))
		return DROP_ARP_BAD_SENDER;
	if (a->spa == ifc->addr) {
		char ip[INET_ADDRSTRLEN], mac[ETH_MACSTRLEN];
		net_log(s, NET_LOG_DEBUG, "arp: %s claims our address %s", eth_fmt(mac, a->sha, 0),
			inet_fmt(ip, a->spa));
		return DROP_ARP_CONFLICT;
	}
	return DROP_COUNT;
}

void arp_input(struct net_stack *s, int ifi, struct pkt *p, int l2_unicast)
{
	enum wire_err err = arp_check(pkt_data(p), p->len);
	if (err) {
		net_drop(s, p, err == WIRE_TRUNCATED ? DROP_ARP_TRUNCATED : DROP_ARP_BAD_FORMAT);
		return;
	}
	struct arp_pkt a;
	arp_parse(pkt_data(p), &a);
	if (a.op == ARP_OP_REQUEST)
		NET_INC(s, ArpInRequests);
	else
		NET_INC(s, ArpInReplies);
	enum net_drop_reason why = sender_check(s, ifi, &a);
	if (why != DROP_COUNT) {
		net_drop(s, p, why);
		return;
	}
	uint32_t ours = s->ifs[ifi].addr;
	if (a.spa == 0) {               /* RFC 5227 probe: defend our address, learn nothing */
		if (a.op == ARP_OP_REQUEST && a.tpa == ours)
			reply(s, ifi, &a);
		pkt_free(p);
		return;
	}
	if (a.spa == a.tpa)
		NET_INC(s, ArpInGratuitous);
	if (a.op == ARP_OP_REQUEST && a.tpa == ours) {
		if (l2_unicast)
			NET_INC(s, NeighRcvProbesUcast);
		else
			NET_INC(s, NeighRcvProbesMcast);
		neigh_update(s, ifi, a.spa, a.sha, NEIGH_STALE, 1);
		reply(s, ifi, &a);
		pkt_free(p);
		return;
	}
	int matched = arping_rx(s, ifi, &a, l2_unicast, p->ts_ns);
	int state = a.op == ARP_OP_REPLY && l2_unicast ? NEIGH_REACHABLE : NEIGH_STALE;
	if (neigh_update(s, ifi, a.spa, a.sha, state, 0) || matched)
		pkt_free(p);
	else
		net_drop(s, p, a.op == ARP_OP_REQUEST ? DROP_ARP_NOT_FOR_US : DROP_ARP_UNSOLICITED);
}

/* ---- arping ---------------------------------------------------------------------- */

static void arping_print(struct arping_session *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void arping_print(struct arping_session *a, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (a->out)
		a->out(a->ctx, buf);
}

int arping_start(struct net_stack *s, int ifi, uint32_t target, uint32_t count,
		 void (*out)(void *ctx, const char *text), void *ctx)
{
	struct arping_session *a = &s->arping;
	if (a->active)
		return -NET_EBUSY;
	if (ifi < 0 || ifi >= s->nifs)
		return -NET_ENODEV;
	if (!s->ifs[ifi].addr)
		return -NET_EADDRNOTAVAIL;
	memset(a, 0, sizeof(*a));
	a->active = 1;
	a->ifi = (uint8_t)ifi;
	a->target = target;
	a->src = s->ifs[ifi].addr;
	a->count = count ? count : ARPING_DEFAULT_COUNT;
	a->start_ns = a->next_ns = s->now_ns;
	a->out = out;
	a->ctx = ctx;
	char t[INET_ADDRSTRLEN], f[INET_ADDRSTRLEN];
	arping_print(a, "ARPING %s from %s %s\n", inet_fmt(t, target), inet_fmt(f, a->src),
		     s->ifs[ifi].dev->name);
	return 0;
}

static int arping_rx(struct net_stack *s, int ifi, const struct arp_pkt *p, int l2_unicast,
		     uint64_t rx_ns)
{
	struct arping_session *a = &s->arping;
	if (!a->active || ifi != a->ifi || p->op != ARP_OP_REPLY || p->spa != a->target)
		return 0;
	a->received++;
	/* The driver's receive stamp: s->now_ns is the last net_poll(), which with an
	 * interrupt-driven NIC is usually the very poll that sent the request. */
	uint64_t now = rx_ns > a->last_send_ns ? rx_ns : s->now_ns;
	uint64_t us = (now - a->last_send_ns) / NET_NS_PER_US;
	char ip[INET_ADDRSTRLEN], mac[ETH_MACSTRLEN];
	arping_print(a, "%s reply from %s [%s]  %lu.%03lums\n", l2_unicast ? "Unicast" : "Broadcast",
		     inet_fmt(ip, p->spa), eth_fmt(mac, p->sha, 1), us / 1000, us % 1000);
	return 1;
}

void arping_poll(struct net_stack *s)
{
	struct arping_session *a = &s->arping;
	if (!a->active)
		return;
	if (a->sent < a->count && s->now_ns >= a->next_ns) {
		if (a->ifi >= s->nifs || !s->ifs[a->ifi].addr) {
			a->count = a->sent;     /* address gone: stop here */
		} else {
			arp_solicit(s, a->ifi, a->target, NULL);
			a->sent++;
			a->last_send_ns = s->now_ns;
			a->next_ns = s->now_ns + NET_NS_PER_SEC;
		}
	}
	if (a->sent >= a->count && s->now_ns >= a->last_send_ns + NET_NS_PER_SEC) {
		arping_print(a, "Sent %u probes (%u broadcast(s))\nReceived %u response(s)\n", a->sent,
			     a->sent, a->received);
		a->active = 0;
	}
}
