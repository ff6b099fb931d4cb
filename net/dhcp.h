/*
 * DHCP client (RFC 2131 §4.4, Figure 5 state diagram) for one interface:
 *
 *   INIT -DISCOVER-> SELECTING -OFFER/REQUEST-> REQUESTING -ACK-> BOUND
 *   BOUND -T1-> RENEWING (unicast REQUEST) -T2-> REBINDING (broadcast) -expiry-> INIT
 *   RENEWING/REBINDING -ACK-> BOUND;  REQUESTING/RENEWING/REBINDING -NAK-> INIT
 *
 * Not implemented: INIT-REBOOT, DHCPDECLINE/ARP probe of the offered address, DHCPINFORM,
 * option overload. Retransmissions back off 4, 8, ... 64 s (+-1 s) per §4.1.
 */
#ifndef SKIFF_NET_DHCP_H
#define SKIFF_NET_DHCP_H

#include <stdint.h>
#include "net/dhcp_wire.h"

struct net_core;
struct net_link;
struct ipv4;
struct udp;

enum dhcp_state {
	DHCP_OFF, DHCP_INIT, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND, DHCP_RENEWING,
	DHCP_REBINDING,
};

struct dhcp_client {
	struct net_core *core;
	struct net_link *link;
	struct ipv4 *ip;        /* addresses, routes, the bootstrap port */
	struct udp *udp;
	uint8_t state;          /* enum dhcp_state */
	uint8_t ifi;
	uint8_t tries;          /* transmissions in the current state */
	uint8_t warned;         /* the "no server" warning was logged */
	uint32_t discovers;     /* DISCOVERs since the last lease */
	uint32_t xid;
	uint32_t offered, server;       /* from the OFFER we answered / the lease */
	uint32_t addr, mask, router;
	uint32_t dns[DHCP_MAX_DNS];
	uint8_t ndns;
	uint32_t lease_s, t1_s, t2_s;
	uint64_t start_ns;      /* acquisition start (the secs field) */
	uint64_t timer_ns;      /* next retransmission or state change; UINT64_MAX: none */
	uint64_t bound_ns, t1_ns, t2_ns, expire_ns;
};

/* Starts acquisition on interface ifi (from net_attach; the first DISCOVER goes out
 * from the next net_poll()). 0 or negative error. */
void dhcp_init(struct dhcp_client *c, struct udp *udp);
int dhcp_start(struct dhcp_client *c, int ifi);
void dhcp_poll(struct dhcp_client *c);
/* When dhcp_poll next has something to do, UINT64_MAX if never (DHCP off). */
uint64_t dhcp_next_ns(const struct dhcp_client *c);
/* Forces a renewal now (shell `dhcp renew`). */
int dhcp_renew(struct dhcp_client *c);
const char *dhcp_state_name(int state);

#endif
