/*
 * DHCP client (dhcp.h). RFC 2131 §4.4 client behaviour, §4.1 retransmission, §4.3.6
 * message fields (table 5), §4.4.5 renewal; options RFC 2132.
 *
 * Replies are accepted only when: UDP from port 67 on our interface, dhcp_check passes,
 * BOOTREPLY with our xid and our MAC in chaddr, a message type that fits the state,
 * and (for OFFER/ACK) a usable yiaddr and a server identifier. A lease sets the
 * address (connected route), the default route if the router is on the subnet, the
 * DNS servers, and T1/T2/expiry timers (T1 = lease/2, T2 = 7/8 lease unless the server
 * sends consistent ones). If DHCP_WARN_AFTER DISCOVERs go unanswered a warning is
 * logged and, if the kernel configured one, a static fallback address is applied;
 * discovery goes on every 64 s and a later lease replaces the fallback.
 */
#include "net/dhcp.h"
#include "net/eth.h"
#include "net/link.h"
#include "net/ipv4.h"
#include "net/route.h"
#include "net/dhcp_wire.h"
#include "net/udp.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"

#define LEASE_MIN_S 10          /* a shorter lease would renew in a busy loop */
#define NO_TIMER UINT64_MAX     /* timer_ns when nothing is due (0 is a valid time) */

static const char *const state_names[] = {
	"OFF", "INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING",
};

const char *dhcp_state_name(int state)
{
	return state >= 0 && state <= DHCP_REBINDING ? state_names[state] : "?";
}

static uint64_t secs(uint64_t s) { return s * NET_NS_PER_SEC; }

/* §4.1: 4, 8, 16 ... 64 s, randomised by +-1 s; counts the transmission. */
static uint64_t backoff(struct dhcp_client *c, uint8_t *counter)
{
	int tries = *counter;
	if (*counter < 0xff)
		(*counter)++;
	uint64_t base = (uint64_t)DHCP_BACKOFF_FIRST_S << (tries < 4 ? tries : 4);
	if (base > DHCP_BACKOFF_MAX_S)
		base = DHCP_BACKOFF_MAX_S;
	return secs(base - 1) + net_random(c->core) % secs(2);
}

static void fill_common(struct dhcp_client *c, struct dhcp_msg *m, uint8_t type)
{
	const struct netdev *dev = c->link->ifs[c->ifi].dev;
	uint64_t elapsed = (c->core->now_ns - c->start_ns) / NET_NS_PER_SEC;
	memset(m, 0, sizeof(*m));
	m->op = BOOTP_REQUEST;
	m->htype = 1;
	m->hlen = ETH_ALEN;
	m->xid = c->xid;
	m->secs = (uint16_t)(elapsed > 0xffff ? 0xffff : elapsed);
	memcpy(m->chaddr, dev->mac, ETH_ALEN);
	m->msg_type = type;
	m->client_id = 1;
	m->param_list = 1;
	m->max_size = c->link->ifs[c->ifi].mtu;
	m->hostname = c->core->cfg.hostname;
}

/* Builds and sends one message; broadcast unless RENEWING (unicast to the server). */
static void send_msg(struct dhcp_client *c, const struct dhcp_msg *m)
{
	struct pkt *p = link_alloc(c->link, c->ifi);
	if (!p)
		return;
	int n = dhcp_emit(m, pkt_data(p), pkt_tailroom(p));
	if (n < 0) {
		pkt_free(p);
		return;
	}
	pkt_put(p, (size_t)n);
	if (c->state == DHCP_RENEWING)
		udp_output(c->udp, p, c->addr, DHCP_CLIENT_PORT, c->server, DHCP_SERVER_PORT, -1);
	else
		udp_output(c->udp, p, m->ciaddr, DHCP_CLIENT_PORT, INET_BCAST, DHCP_SERVER_PORT, c->ifi);
}

/* Every timer_ns but NO_TIMER is set here, so net_poll's next deadline knows it. */
static void set_timer(struct dhcp_client *c, uint64_t when)
{
	c->timer_ns = when;
	net_core_arm(c->core, when);
}

static void send_discover(struct dhcp_client *c)
{
	struct dhcp_msg m;
	fill_common(c, &m, DHCP_DISCOVER);
	m.flags = DHCP_FLAG_BROADCAST;
	m.requested_ip = c->addr;       /* §4.4.1 MAY: suggest the last address we had */
	NET_INC(c->core, DhcpOutDiscovers);
	c->discovers++;
	send_msg(c, &m);
	set_timer(c, c->core->now_ns + backoff(c, &c->tries));
}

/* Table 5: SELECTING names the server and the offer; RENEWING/REBINDING use ciaddr. */
static void send_request(struct dhcp_client *c)
{
	struct dhcp_msg m;
	fill_common(c, &m, DHCP_REQUEST);
	if (c->state == DHCP_REQUESTING) {
		m.flags = DHCP_FLAG_BROADCAST;
		m.requested_ip = c->offered;
		m.server_id = c->server;
	} else {
		m.ciaddr = c->addr;
	}
	NET_INC(c->core, DhcpOutRequests);
	send_msg(c, &m);
}

static void enter_init(struct dhcp_client *c, uint64_t delay_ns)
{
	c->state = DHCP_INIT;
	c->tries = 0;
	set_timer(c, c->core->now_ns + delay_ns);
}

static void dhcp_rx(void *ctx, const struct udp_rx_info *info,
		    const uint8_t *data, size_t len);
static void receive(struct dhcp_client *c, const struct udp_rx_info *info,
		    const uint8_t *data, size_t len);

/* While acquiring, a server may unicast to the address it offers (ipv4.c step 5). */
static void sync_bootstrap(struct dhcp_client *c)
{
	int acquiring = c->state == DHCP_INIT || c->state == DHCP_SELECTING ||
			c->state == DHCP_REQUESTING;
	ipv4_set_bootstrap(c->ip, c->ifi, acquiring ? DHCP_CLIENT_PORT : 0);
}

void dhcp_init(struct dhcp_client *c, struct udp *udp)
{
	memset(c, 0, sizeof(*c));
	c->core = udp->core;
	c->link = udp->link;
	c->ip = udp->ip;
	c->udp = udp;
}

int dhcp_start(struct dhcp_client *c, int ifi)
{
	if (ifi < 0 || ifi >= c->link->nifs)
		return -NET_ENODEV;
	udp_unbind(c->udp, DHCP_CLIENT_PORT);
	int r = udp_bind(c->udp, DHCP_CLIENT_PORT, dhcp_rx, c);
	if (r < 0)
		return r;
	*c = (struct dhcp_client){ .core = c->core, .link = c->link, .ip = c->ip, .udp = c->udp };
	c->ifi = (uint8_t)ifi;
	enter_init(c, 0);
	sync_bootstrap(c);
	return 0;
}

/* The "no server" warning and the static fallback, once per acquisition. */
static void no_server(struct dhcp_client *c)
{
	const char *dev = c->link->ifs[c->ifi].dev->name;
	if (c->warned || c->discovers < DHCP_WARN_AFTER)
		return;
	c->warned = 1;
	net_log(c->core, NET_LOG_WARN, "dhcp: %s: no DHCP server answered %u DISCOVERs in %lu s; still trying",
		dev, c->discovers, (unsigned long)((c->core->now_ns - c->start_ns) / NET_NS_PER_SEC));
	const struct net_config *cfg = &c->core->cfg;
	if (!cfg->addr || c->link->ifs[c->ifi].addr)
		return;
	char a[INET_ADDRSTRLEN];
	net_log(c->core, NET_LOG_WARN, "dhcp: %s: using static fallback address %s/%d", dev,
		inet_fmt(a, cfg->addr), cfg->prefix_len);
	ipv4_set_addr(c->ip, c->ifi, cfg->addr, cfg->prefix_len, IFACE_ADDR_FALLBACK, 0);
	if (cfg->gateway) {
		struct route r = { .gateway = cfg->gateway, .ifi = c->ifi, .proto = RTPROT_STATIC };
		route_add(c->ip->routes, &r);
	}
}

static uint64_t half_until(struct dhcp_client *c, uint64_t deadline)
{
	uint64_t left = deadline > c->core->now_ns ? (deadline - c->core->now_ns) / 2 : 0;
	return left > secs(DHCP_RENEW_MIN_S) ? left : secs(DHCP_RENEW_MIN_S);
}

static void timeout(struct dhcp_client *c)
{
	switch (c->state) {
	case DHCP_INIT:
		c->xid = (uint32_t)net_random(c->core);
		c->start_ns = c->core->now_ns;
		c->state = DHCP_SELECTING;
		c->tries = 0;
		send_discover(c);
		break;
	case DHCP_SELECTING:
		no_server(c);
		send_discover(c);
		break;
	case DHCP_REQUESTING:
		if (c->tries >= DHCP_REQUEST_TRIES) {
			net_log(c->core, NET_LOG_INFO, "dhcp: no ACK to our REQUEST, starting over");
			enter_init(c, 0);
			break;
		}
		send_request(c);
		set_timer(c, c->core->now_ns + backoff(c, &c->tries));
		break;
	case DHCP_RENEWING:
		send_request(c);
		set_timer(c, c->core->now_ns + half_until(c, c->t2_ns));
		break;
	case DHCP_REBINDING:
		send_request(c);
		set_timer(c, c->core->now_ns + half_until(c, c->expire_ns));
		break;
	default:
		c->timer_ns = NO_TIMER;
		break;
	}
}

static void lease_timers(struct dhcp_client *c)
{
	char a[INET_ADDRSTRLEN];
	if (c->state < DHCP_BOUND)
		return;
	if (c->core->now_ns >= c->expire_ns) {
		NET_INC(c->core, DhcpLeaseExpired);
		net_log(c->core, NET_LOG_WARN, "dhcp: %s: lease of %s expired", c->link->ifs[c->ifi].dev->name,
			inet_fmt(a, c->addr));
		ipv4_clear_addr(c->ip, c->ifi);
		c->warned = 0;
		c->discovers = 0;
		enter_init(c, 0);
		return;
	}
	if (c->state == DHCP_BOUND && c->core->now_ns >= c->t1_ns) {
		c->state = DHCP_RENEWING;       /* T1: ask our server directly */
		c->xid = (uint32_t)net_random(c->core);
		c->start_ns = c->core->now_ns;
		set_timer(c, c->core->now_ns);
	}
	if (c->state == DHCP_RENEWING && c->core->now_ns >= c->t2_ns) {
		c->state = DHCP_REBINDING;      /* T2: ask any server */
		set_timer(c, c->core->now_ns);
	}
}

void dhcp_poll(struct dhcp_client *c)
{
	if (c->state == DHCP_OFF)
		return;
	lease_timers(c);
	if (c->core->now_ns >= c->timer_ns)
		timeout(c);
	sync_bootstrap(c);
}

/* dhcp_poll's tests: the retransmission/state timer and, once bound, the lease's. */
uint64_t dhcp_next_ns(const struct dhcp_client *c)
{
	if (c->state == DHCP_OFF)
		return UINT64_MAX;
	uint64_t d = c->timer_ns;
	if (c->state >= DHCP_BOUND && c->expire_ns < d)
		d = c->expire_ns;
	if (c->state == DHCP_BOUND && c->t1_ns < d)
		d = c->t1_ns;
	if (c->state == DHCP_RENEWING && c->t2_ns < d)
		d = c->t2_ns;
	return d;
}

int dhcp_renew(struct dhcp_client *c)
{
	if (c->state == DHCP_OFF)
		return -NET_ENOENT;
	if (c->state == DHCP_BOUND) {
		c->t1_ns = c->core->now_ns;
		net_core_arm(c->core, c->t1_ns);
	}
	else if (c->state < DHCP_BOUND)
		enter_init(c, 0);
	else
		set_timer(c, c->core->now_ns);
	sync_bootstrap(c);
	return 0;
}

/* ---- receive ------------------------------------------------------------------- */

static int usable_addr(uint32_t a)
{
	return !inet_is_martian_src(a);
}

/* Prefix from option 1, or the classful default (RFC 2131 §3.3 leaves it to us). */
static int lease_prefix(const struct dhcp_msg *m)
{
	if (m->has & DHCP_HAS_MASK) {
		int n = inet_mask_len(m->subnet_mask);
		return n >= 1 && n <= 32 ? n : -1;
	}
	uint32_t a = m->yiaddr;
	return (a >> 31) == 0 ? 8 : (a >> 30) == 2 ? 16 : 24;
}

static void on_offer(struct dhcp_client *c, const struct dhcp_msg *m)
{
	NET_INC(c->core, DhcpInOffers);
	if (c->state != DHCP_SELECTING) {
		NET_INC(c->core, DhcpInIgnored);
		return;
	}
	if (!usable_addr(m->yiaddr) || !m->server_id || lease_prefix(m) < 0) {
		NET_INC(c->core, DhcpInBad);
		return;
	}
	/* §4.4.1: the first acceptable offer wins; waiting for more buys us nothing. */
	c->offered = m->yiaddr;
	c->server = m->server_id;
	c->state = DHCP_REQUESTING;
	c->tries = 0;
	send_request(c);
	set_timer(c, c->core->now_ns + backoff(c, &c->tries));
}

/* T1/T2 from the server if they are consistent (T1 < T2 < lease), else §4.4.5's
 * defaults; then the absolute deadlines. */
static void lease_times(struct dhcp_client *c, const struct dhcp_msg *m)
{
	uint32_t lease = (m->has & DHCP_HAS_LEASE) ? m->lease_time : DHCP_DEFAULT_LEASE_S;
	if (lease < LEASE_MIN_S)
		lease = LEASE_MIN_S;
	uint32_t t1 = (m->has & DHCP_HAS_T1) ? m->t1 : lease / 2;
	uint32_t t2 = (m->has & DHCP_HAS_T2) ? m->t2 : (uint32_t)((uint64_t)lease * 7 / 8);
	if (!(t1 >= 1 && t1 < t2 && t2 < lease)) {
		t1 = lease / 2;
		t2 = (uint32_t)((uint64_t)lease * 7 / 8);
	}
	c->lease_s = lease;
	c->t1_s = t1;
	c->t2_s = t2;
	c->bound_ns = c->core->now_ns;
	c->t1_ns = c->core->now_ns + secs(t1);
	c->t2_ns = c->core->now_ns + secs(t2);
	c->expire_ns = c->core->now_ns + secs(lease);
	net_core_arm(c->core, c->t1_ns);        /* t1 < t2 < lease: the first of the three */
}

static void log_lease(struct dhcp_client *c, int level)
{
	char a[INET_ADDRSTRLEN], sv[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	net_log(c->core, level, "dhcp: %s: lease %s/%d from %s, router %s, dns %s, %u s",
		c->link->ifs[c->ifi].dev->name, inet_fmt(a, c->addr), inet_mask_len(c->mask),
		inet_fmt(sv, c->server), c->router ? inet_fmt(r, c->router) : "none",
		c->ndns ? inet_fmt(d, c->dns[0]) : "none", c->lease_s);
}

static void bind(struct dhcp_client *c, const struct dhcp_msg *m, int prefix)
{
	struct net_if *ifc = &c->link->ifs[c->ifi];
	int fresh = c->state == DHCP_REQUESTING || ifc->addr != m->yiaddr;
	lease_times(c, m);
	if (m->server_id)
		c->server = m->server_id;
	c->addr = m->yiaddr;
	c->mask = inet_mask(prefix);
	/* A router off our subnet could not be reached without an extra route: ignore it. */
	c->router = m->router && m->router != c->addr &&
		    (m->router & c->mask) == (c->addr & c->mask) ? m->router : 0;
	c->ndns = m->ndns;
	memcpy(c->dns, m->dns, sizeof(c->dns));
	if (ifc->origin == IFACE_ADDR_FALLBACK)
		route_flush(c->ip->routes, c->ifi, RTPROT_STATIC);
	ipv4_set_addr(c->ip, c->ifi, c->addr, prefix, IFACE_ADDR_DHCP, c->expire_ns);
	route_flush(c->ip->routes, c->ifi, RTPROT_DHCP);
	if (c->router) {
		struct route r = { .gateway = c->router, .prefsrc = c->addr, .ifi = c->ifi,
				   .proto = RTPROT_DHCP };
		route_add(c->ip->routes, &r);
	}
	c->state = DHCP_BOUND;
	c->timer_ns = NO_TIMER;
	c->tries = 0;
	c->discovers = 0;
	c->warned = 0;
	log_lease(c, fresh ? NET_LOG_INFO : NET_LOG_DEBUG);
}

static void on_ack(struct dhcp_client *c, const struct dhcp_msg *m)
{
	NET_INC(c->core, DhcpInAcks);
	if (c->state != DHCP_REQUESTING && c->state != DHCP_RENEWING && c->state != DHCP_REBINDING) {
		NET_INC(c->core, DhcpInIgnored);
		return;
	}
	if (c->state == DHCP_REQUESTING && m->server_id && m->server_id != c->server) {
		NET_INC(c->core, DhcpInIgnored);      /* another server answering our broadcast */
		return;
	}
	int prefix = lease_prefix(m);
	if (!usable_addr(m->yiaddr) || prefix < 0) {
		NET_INC(c->core, DhcpInBad);
		return;
	}
	bind(c, m, prefix);
}

static void on_nak(struct dhcp_client *c, const struct dhcp_msg *m)
{
	NET_INC(c->core, DhcpInNaks);
	if (c->state != DHCP_REQUESTING && c->state != DHCP_RENEWING && c->state != DHCP_REBINDING) {
		NET_INC(c->core, DhcpInIgnored);
		return;
	}
	if (c->state == DHCP_REQUESTING && m->server_id && m->server_id != c->server) {
		NET_INC(c->core, DhcpInIgnored);
		return;
	}
	char sv[INET_ADDRSTRLEN];
	net_log(c->core, NET_LOG_WARN, "dhcp: %s: server %s refused our REQUEST (NAK), starting over",
		c->link->ifs[c->ifi].dev->name, inet_fmt(sv, m->server_id));
	/* §4.4.5: on a NAK the client MUST stop using the address. */
	if (c->link->ifs[c->ifi].origin == IFACE_ADDR_DHCP)
		ipv4_clear_addr(c->ip, c->ifi);
	c->warned = 0;
	c->discovers = 0;
	enter_init(c, DHCP_NAK_DELAY_NS);
}

static void dhcp_rx(void *ctx, const struct udp_rx_info *info,
		    const uint8_t *data, size_t len)
{
	struct dhcp_client *c = ctx;
	receive(c, info, data, len);
	sync_bootstrap(c);
}

static void receive(struct dhcp_client *c, const struct udp_rx_info *info,
		    const uint8_t *data, size_t len)
{
	if (c->state == DHCP_OFF || info->ifi != c->ifi || info->sport != DHCP_SERVER_PORT) {
		NET_INC(c->core, DhcpInIgnored);
		return;
	}
	if (dhcp_check(data, len) != WIRE_OK) {
		NET_INC(c->core, DhcpInBad);
		return;
	}
	struct dhcp_msg m;
	dhcp_parse(data, len, &m);
	if (m.op != BOOTP_REPLY || m.xid != c->xid || m.htype != 1 || m.hlen != ETH_ALEN ||
	    memcmp(m.chaddr, c->link->ifs[c->ifi].dev->mac, ETH_ALEN) != 0) {
		NET_INC(c->core, DhcpInIgnored);
		return;
	}
	switch (m.msg_type) {
	case DHCP_OFFER: on_offer(c, &m); break;
	case DHCP_ACK: on_ack(c, &m); break;
	case DHCP_NAK: on_nak(c, &m); break;
	default: NET_INC(c->core, DhcpInIgnored); break;
	}
}
