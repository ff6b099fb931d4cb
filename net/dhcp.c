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
#include "net/stack.h"
#include "net/dhcp.h"
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
static uint64_t backoff(struct net_stack *s, uint8_t *counter)
{
	int tries = *counter;
	if (*counter < 0xff)
		(*counter)++;
	uint64_t base = (uint64_t)DHCP_BACKOFF_FIRST_S << (tries < 4 ? tries : 4);
	if (base > DHCP_BACKOFF_MAX_S)
		base = DHCP_BACKOFF_MAX_S;
	return secs(base - 1) + net_random(s) % secs(2);
}

static void fill_common(struct net_stack *s, struct dhcp_msg *m, uint8_t type)
{
	struct dhcp_client *c = &s->dhcp;
	const struct netdev *dev = s->ifs[c->ifi].dev;
	uint64_t elapsed = (s->now_ns - c->start_ns) / NET_NS_PER_SEC;
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
	m->max_size = s->ifs[c->ifi].mtu;
	m->hostname = s->cfg.hostname;
}

/* Builds and sends one message; broadcast unless RENEWING (unicast to the server). */
static void send_msg(struct net_stack *s, const struct dhcp_msg *m)
{
	struct dhcp_client *c = &s->dhcp;
	struct pkt *p = net_alloc(s, c->ifi);
	if (!p)
		return;
	int n = dhcp_emit(m, pkt_data(p), pkt_tailroom(p));
	if (n < 0) {
		pkt_free(p);
		return;
	}
	pkt_put(p, (size_t)n);
	if (c->state == DHCP_RENEWING)
		udp_output(s, p, c->addr, DHCP_CLIENT_PORT, c->server, DHCP_SERVER_PORT, -1);
	else
		udp_output(s, p, m->ciaddr, DHCP_CLIENT_PORT, INET_BCAST, DHCP_SERVER_PORT, c->ifi);
}

static void send_discover(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	struct dhcp_msg m;
	fill_common(s, &m, DHCP_DISCOVER);
	m.flags = DHCP_FLAG_BROADCAST;
	m.requested_ip = c->addr;       /* §4.4.1 MAY: suggest the last address we had */
	NET_INC(s, DhcpOutDiscovers);
	c->discovers++;
	send_msg(s, &m);
	c->timer_ns = s->now_ns + backoff(s, &c->tries);
}

/* Table 5: SELECTING names the server and the offer; RENEWING/REBINDING use ciaddr. */
static void send_request(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	struct dhcp_msg m;
	fill_common(s, &m, DHCP_REQUEST);
	if (c->state == DHCP_REQUESTING) {
		m.flags = DHCP_FLAG_BROADCAST;
		m.requested_ip = c->offered;
		m.server_id = c->server;
	} else {
		m.ciaddr = c->addr;
	}
	NET_INC(s, DhcpOutRequests);
	send_msg(s, &m);
}

static void enter_init(struct net_stack *s, uint64_t delay_ns)
{
	struct dhcp_client *c = &s->dhcp;
	c->state = DHCP_INIT;
	c->tries = 0;
	c->timer_ns = s->now_ns + delay_ns;
}

static void dhcp_rx(void *ctx, struct net_stack *s, const struct udp_rx_info *info,
		    const uint8_t *data, size_t len);

int dhcp_start(struct net_stack *s, int ifi)
{
	struct dhcp_client *c = &s->dhcp;
	if (ifi < 0 || ifi >= s->nifs)
		return -NET_ENODEV;
	udp_unbind(s, DHCP_CLIENT_PORT);
	int r = udp_bind(s, DHCP_CLIENT_PORT, dhcp_rx, NULL);
	if (r < 0)
		return r;
	memset(c, 0, sizeof(*c));
	c->ifi = (uint8_t)ifi;
	enter_init(s, 0);
	return 0;
}

/* The "no server" warning and the static fallback, once per acquisition. */
static void no_server(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	const char *dev = s->ifs[c->ifi].dev->name;
	if (c->warned || c->discovers < DHCP_WARN_AFTER)
		return;
	c->warned = 1;
	net_log(s, NET_LOG_WARN, "dhcp: %s: no DHCP server answered %u DISCOVERs in %lu s; still trying",
		dev, c->discovers, (unsigned long)((s->now_ns - c->start_ns) / NET_NS_PER_SEC));
	const struct net_config *cfg = &s->cfg;
	if (!cfg->addr || s->ifs[c->ifi].addr)
		return;
	char a[INET_ADDRSTRLEN];
	net_log(s, NET_LOG_WARN, "dhcp: %s: using static fallback address %s/%d", dev,
		inet_fmt(a, cfg->addr), cfg->prefix_len);
	iface_set_addr(s, c->ifi, cfg->addr, cfg->prefix_len, IFACE_ADDR_FALLBACK, 0);
	if (cfg->gateway) {
		struct route r = { .gateway = cfg->gateway, .ifi = c->ifi, .proto = RTPROT_STATIC };
		route_add(&s->routes, &r);
	}
}

static uint64_t half_until(struct net_stack *s, uint64_t deadline)
{
	uint64_t left = deadline > s->now_ns ? (deadline - s->now_ns) / 2 : 0;
	return left > secs(DHCP_RENEW_MIN_S) ? left : secs(DHCP_RENEW_MIN_S);
}

static void timeout(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	switch (c->state) {
	case DHCP_INIT:
		c->xid = (uint32_t)net_random(s);
		c->start_ns = s->now_ns;
		c->state = DHCP_SELECTING;
		c->tries = 0;
		send_discover(s);
		break;
	case DHCP_SELECTING:
		no_server(s);
		send_discover(s);
		break;
	case DHCP_REQUESTING:
		if (c->tries >= DHCP_REQUEST_TRIES) {
			net_log(s, NET_LOG_INFO, "dhcp: no ACK to our REQUEST, starting over");
			enter_init(s, 0);
			break;
		}
		send_request(s);
		c->timer_ns = s->now_ns + backoff(s, &c->tries);
		break;
	case DHCP_RENEWING:
		send_request(s);
		c->timer_ns = s->now_ns + half_until(s, c->t2_ns);
		break;
	case DHCP_REBINDING:
		send_request(s);
		c->timer_ns = s->now_ns + half_until(s, c->expire_ns);
		break;
	default:
		c->timer_ns = NO_TIMER;
		break;
	}
}

static void lease_timers(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	char a[INET_ADDRSTRLEN];
	if (c->state < DHCP_BOUND)
		return;
	if (s->now_ns >= c->expire_ns) {
		NET_INC(s, DhcpLeaseExpired);
		net_log(s, NET_LOG_WARN, "dhcp: %s: lease of %s expired", s->ifs[c->ifi].dev->name,
			inet_fmt(a, c->addr));
		iface_clear_addr(s, c->ifi);
		c->warned = 0;
		c->discovers = 0;
		enter_init(s, 0);
		return;
	}
	if (c->state == DHCP_BOUND && s->now_ns >= c->t1_ns) {
		c->state = DHCP_RENEWING;       /* T1: ask our server directly */
		c->xid = (uint32_t)net_random(s);
		c->start_ns = c->timer_ns = s->now_ns;
	}
	if (c->state == DHCP_RENEWING && s->now_ns >= c->t2_ns) {
		c->state = DHCP_REBINDING;      /* T2: ask any server */
		c->timer_ns = s->now_ns;
	}
}

void dhcp_poll(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	if (c->state == DHCP_OFF)
		return;
	lease_timers(s);
	if (s->now_ns >= c->timer_ns)
		timeout(s);
}

int dhcp_renew(struct net_stack *s)
{
	struct dhcp_client *c = &s->dhcp;
	if (c->state == DHCP_OFF)
		return -NET_ENOENT;
	if (c->state == DHCP_BOUND)
		c->t1_ns = s->now_ns;
	else if (c->state < DHCP_BOUND)
		enter_init(s, 0);
	else
		c->timer_ns = s->now_ns;
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

static void on_offer(struct net_stack *s, const struct dhcp_msg *m)
{
	struct dhcp_client *c = &s->dhcp;
	NET_INC(s, DhcpInOffers);
	if (c->state != DHCP_SELECTING) {
		NET_INC(s, DhcpInIgnored);
		return;
	}
	if (!usable_addr(m->yiaddr) || !m->server_id || lease_prefix(m) < 0) {
		NET_INC(s, DhcpInBad);
		return;
	}
	/* §4.4.1: the first acceptable offer wins; waiting for more buys us nothing. */
	c->offered = m->yiaddr;
	c->server = m->server_id;
	c->state = DHCP_REQUESTING;
	c->tries = 0;
	send_request(s);
	c->timer_ns = s->now_ns + backoff(s, &c->tries);
}

/* T1/T2 from the server if they are consistent (T1 < T2 < lease), else §4.4.5's
 * defaults; then the absolute deadlines. */
static void lease_times(struct net_stack *s, const struct dhcp_msg *m)
{
	struct dhcp_client *c = &s->dhcp;
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
	c->bound_ns = s->now_ns;
	c->t1_ns = s->now_ns + secs(t1);
	c->t2_ns = s->now_ns + secs(t2);
	c->expire_ns = s->now_ns + secs(lease);
}

static void log_lease(struct net_stack *s, int level)
{
	struct dhcp_client *c = &s->dhcp;
	char a[INET_ADDRSTRLEN], sv[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	net_log(s, level, "dhcp: %s: lease %s/%d from %s, router %s, dns %s, %u s",
		s->ifs[c->ifi].dev->name, inet_fmt(a, c->addr), inet_mask_len(c->mask),
		inet_fmt(sv, c->server), c->router ? inet_fmt(r, c->router) : "none",
		c->ndns ? inet_fmt(d, c->dns[0]) : "none", c->lease_s);
}

static void bind(struct net_stack *s, const struct dhcp_msg *m, int prefix)
{
	struct dhcp_client *c = &s->dhcp;
	struct net_if *ifc = &s->ifs[c->ifi];
	int fresh = c->state == DHCP_REQUESTING || ifc->addr != m->yiaddr;
	lease_times(s, m);
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
		route_flush(&s->routes, c->ifi, RTPROT_STATIC);
	iface_set_addr(s, c->ifi, c->addr, prefix, IFACE_ADDR_DHCP, c->expire_ns);
	route_flush(&s->routes, c->ifi, RTPROT_DHCP);
	if (c->router) {
		struct route r = { .gateway = c->router, .prefsrc = c->addr, .ifi = c->ifi,
				   .proto = RTPROT_DHCP };
		route_add(&s->routes, &r);
	}
	c->state = DHCP_BOUND;
	c->timer_ns = NO_TIMER;
	c->tries = 0;
	c->discovers = 0;
	c->warned = 0;
	log_lease(s, fresh ? NET_LOG_INFO : NET_LOG_DEBUG);
}

static void on_ack(struct net_stack *s, const struct dhcp_msg *m)
{
	struct dhcp_client *c = &s->dhcp;
	NET_INC(s, DhcpInAcks);
	if (c->state != DHCP_REQUESTING && c->state != DHCP_RENEWING && c->state != DHCP_REBINDING) {
		NET_INC(s, DhcpInIgnored);
		return;
	}
	if (c->state == DHCP_REQUESTING && m->server_id && m->server_id != c->server) {
		NET_INC(s, DhcpInIgnored);      /* another server answering our broadcast */
		return;
	}
	int prefix = lease_prefix(m);
	if (!usable_addr(m->yiaddr) || prefix < 0) {
		NET_INC(s, DhcpInBad);
		return;
	}
	bind(s, m, prefix);
}

static void on_nak(struct net_stack *s, const struct dhcp_msg *m)
{
	struct dhcp_client *c = &s->dhcp;
	NET_INC(s, DhcpInNaks);
	if (c->state != DHCP_REQUESTING && c->state != DHCP_RENEWING && c->state != DHCP_REBINDING) {
		NET_INC(s, DhcpInIgnored);
		return;
	}
	if (c->state == DHCP_REQUESTING && m->server_id && m->server_id != c->server) {
		NET_INC(s, DhcpInIgnored);
		return;
	}
	char sv[INET_ADDRSTRLEN];
	net_log(s, NET_LOG_WARN, "dhcp: %s: server %s refused our REQUEST (NAK), starting over",
		s->ifs[c->ifi].dev->name, inet_fmt(sv, m->server_id));
	/* §4.4.5: on a NAK the client MUST stop using the address. */
	if (s->ifs[c->ifi].origin == IFACE_ADDR_DHCP)
		iface_clear_addr(s, c->ifi);
	c->warned = 0;
	c->discovers = 0;
	enter_init(s, DHCP_NAK_DELAY_NS);
}

static void dhcp_rx(void *ctx, struct net_stack *s, const struct udp_rx_info *info,
		    const uint8_t *data, size_t len)
{
	struct dhcp_client *c = &s->dhcp;
	(void)ctx;
	if (c->state == DHCP_OFF || info->ifi != c->ifi || info->sport != DHCP_SERVER_PORT) {
		NET_INC(s, DhcpInIgnored);
		return;
	}
	if (dhcp_check(data, len) != WIRE_OK) {
		NET_INC(s, DhcpInBad);
		return;
	}
	struct dhcp_msg m;
	dhcp_parse(data, len, &m);
	if (m.op != BOOTP_REPLY || m.xid != c->xid || m.htype != 1 || m.hlen != ETH_ALEN ||
	    memcmp(m.chaddr, s->ifs[c->ifi].dev->mac, ETH_ALEN) != 0) {
		NET_INC(s, DhcpInIgnored);
		return;
	}
	switch (m.msg_type) {
	case DHCP_OFFER: on_offer(s, &m); break;
	case DHCP_ACK: on_ack(s, &m); break;
	case DHCP_NAK: on_nak(s, &m); break;
	default: NET_INC(s, DhcpInIgnored); break;
	}
}
