/*
 * DHCP client against a scripted server: DISCOVER/OFFER/REQUEST/ACK, renewal at T1
 * (unicast), rebinding at T2 (broadcast), expiry, NAK, retransmission backoff, the
 * "no server" warning with a static fallback, and replies that must be ignored.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/inet.h"

#define SEC NET_NS_PER_SEC
#define SRV_MAC 0x22

struct srv {
	uint32_t addr, offer, mask, router, dns;
	uint32_t lease;
};

static const struct srv default_srv = {
	.addr = INET_ADDR(10, 0, 2, 2), .offer = INET_ADDR(10, 0, 2, 15), .mask = 0xffffff00,
	.router = INET_ADDR(10, 0, 2, 1), .dns = INET_ADDR(10, 0, 2, 3), .lease = 3600,
};

/* The server's reply to req: type, for yiaddr; options as a server sends them. */
static size_t server_msg(uint8_t *buf, const struct srv *sv, uint8_t type, const struct dhcp_msg *req)
{
	struct dhcp_msg m = { .op = BOOTP_REPLY, .htype = 1, .hlen = 6, .xid = req->xid,
			      .flags = req->flags, .siaddr = sv->addr };
	memcpy(m.chaddr, req->chaddr, 16);
	if (type != DHCP_NAK)
		m.yiaddr = sv->offer;
	int n = dhcp_emit(&m, buf, 600);
	if (n < 0)
		return 0;
	size_t p = DHCP_OPTS_OFF;
	uint8_t *b = buf;
	b[p++] = 53, b[p++] = 1, b[p++] = type;
	b[p++] = 54, b[p++] = 4, wire_put32(b + p, sv->addr), p += 4;
	if (type != DHCP_NAK) {
		b[p++] = 51, b[p++] = 4, wire_put32(b + p, sv->lease), p += 4;
		b[p++] = 1, b[p++] = 4, wire_put32(b + p, sv->mask), p += 4;
		b[p++] = 3, b[p++] = 4, wire_put32(b + p, sv->router), p += 4;
		b[p++] = 6, b[p++] = 4, wire_put32(b + p, sv->dns), p += 4;
	}
	b[p++] = 255;
	while (p < DHCP_MIN_LEN)
		b[p++] = 0;
	return p;
}

/* Delivers a server message: broadcast (SELECTING/REQUESTING/REBINDING) or unicast. */
static void server_send(struct test_net *t, const struct srv *sv, uint8_t type,
			const struct dhcp_msg *req, int unicast)
{
	uint8_t msg[600], f[1024];
	size_t n = server_msg(msg, sv, type, req);
	size_t fl = frame_udp(f, unicast ? t->f.dev.mac : eth_broadcast, test_mac(SRV_MAC), sv->addr,
			      unicast ? sv->offer : INET_BCAST, 67, 68, msg, n);
	fake_netdev_rx(&t->f, &t->s, f, fl);
}

/* The next DHCP message the client sent. ARP requests for the server are answered on
 * the way; announcements are skipped. */
static int next_dhcp(struct test_net *t, const struct srv *sv, struct frame *fr, struct dhcp_msg *m)
{
	static uint8_t buf[2048];
	while (t->f.wire.len) {
		if (!tn_next(t, fr, buf))
			return 0;
		if (fr->is_arp) {
			if (fr->arp.op == ARP_OP_REQUEST && fr->arp.tpa == sv->addr) {
				uint8_t f[64];
				size_t n = frame_arp(f, t->f.dev.mac, ARP_OP_REPLY, test_mac(SRV_MAC),
						     sv->addr, t->f.dev.mac, fr->arp.spa);
				fake_netdev_rx(&t->f, &t->s, f, n);
			}
			continue;
		}
		if (!fr->is_udp || fr->udp.dport != 67 || fr->udp.sport != 68)
			return 0;
		if (dhcp_check(fr->l4, fr->l4len) != WIRE_OK)
			return 0;
		dhcp_parse(fr->l4, fr->l4len, m);
		return 1;
	}
	return 0;
}

static int has_option(const struct frame *fr, const uint8_t *opt, size_t n)
{
	for (size_t i = DHCP_OPTS_OFF; i + n <= fr->l4len; i++)
		if (memcmp(fr->l4 + i, opt, n) == 0)
			return 1;
	return 0;
}

/* Runs DISCOVER -> OFFER -> REQUEST -> ACK; leaves the client BOUND. */
static void acquire(struct test_net *t, const struct srv *sv)
{
	struct frame fr;
	struct dhcp_msg m;
	tn_advance(t, 0);
	REQUIRE(next_dhcp(t, sv, &fr, &m) && m.msg_type == DHCP_DISCOVER);
	server_send(t, sv, DHCP_OFFER, &m, 0);
	REQUIRE(next_dhcp(t, sv, &fr, &m) && m.msg_type == DHCP_REQUEST);
	server_send(t, sv, DHCP_ACK, &m, 0);
	REQUIRE(t->s.dhcp.state == DHCP_BOUND);
}

TEST(net_dhcp_full_exchange)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, NULL, NULL, 1);
	CHECK_EQ(t.f.wire.len, 0);
	tn_advance(&t, 0);
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	/* DISCOVER: from 0.0.0.0 to the broadcast, asking for a broadcast answer. */
	CHECK(eth_is_broadcast(fr.eth.dst));
	CHECK_EQ(fr.ip.src, 0);
	CHECK_EQ(fr.ip.dst, INET_BCAST);
	CHECK_EQ(m.op, BOOTP_REQUEST);
	CHECK_EQ(m.msg_type, DHCP_DISCOVER);
	CHECK_EQ(m.flags, DHCP_FLAG_BROADCAST);
	CHECK_MEM(m.chaddr, t.f.dev.mac, 6);
	CHECK(m.xid != 0);
	CHECK(has_option(&fr, (const uint8_t *)"\x0c\x06skiff1", 8));          /* hostname */
	CHECK(has_option(&fr, (const uint8_t *)"\x37\x07\x01\x03\x06", 5));    /* PRL: mask, router, DNS */
	CHECK(has_option(&fr, (const uint8_t *)"\x3d\x07\x01\x02\x00\x00\x00\x00\x01", 9)); /* client id */
	CHECK(fr.l4len >= DHCP_MIN_LEN);
	uint32_t xid = m.xid;
	server_send(&t, sv, DHCP_OFFER, &m, 0);
	/* REQUEST: same xid, names the offer and the server. */
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	CHECK_EQ(m.msg_type, DHCP_REQUEST);
	CHECK_EQ(m.xid, xid);
	CHECK_EQ(m.requested_ip, sv->offer);
	CHECK_EQ(m.server_id, sv->addr);
	CHECK_EQ(m.ciaddr, 0);
	CHECK_EQ(fr.ip.dst, INET_BCAST);
	CHECK_EQ(t.s.dhcp.state, DHCP_REQUESTING);
	server_send(&t, sv, DHCP_ACK, &m, 0);
	CHECK_EQ(t.s.dhcp.state, DHCP_BOUND);
	CHECK_EQ(t.s.link.ifs[0].addr, sv->offer);
	CHECK_EQ(t.s.link.ifs[0].prefix_len, 24);
	uint32_t dns[4];
	CHECK_EQ(net_dns_servers(&t.s, dns, 4), 1);
	CHECK_EQ(dns[0], sv->dns);
	struct route_result r;
	REQUIRE(route_get(&t.s.routes, INET_ADDR(1, 1, 1, 1), &r) == 0);
	CHECK_EQ(r.nexthop, sv->router);
	CHECK_EQ(r.src, sv->offer);
	CHECK(tn_log_has(&t, "dhcp: eth0: lease 10.0.2.15/24 from 10.0.2.2, router 10.0.2.1, dns 10.0.2.3, 3600 s"));
	/* Bound: the address is announced. */
	tn_advance(&t, 0);
	REQUIRE(tn_next(&t, &fr, (uint8_t[2048]){ 0 }));
	CHECK(fr.is_arp && fr.arp.spa == sv->offer && fr.arp.tpa == sv->offer);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "dhcp"), 0);
	CHECK(tn_out_has(&t, "eth0: BOUND"));
	CHECK(tn_out_has(&t, "address 10.0.2.15/24, server 10.0.2.2"));
	CHECK(tn_out_has(&t, "router 10.0.2.1, dns 10.0.2.3"));
	CHECK(tn_out_has(&t, "lease 3600 s, T1 in 1800 s, T2 in 3150 s, expires in 3600 s"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route"), 0);
	CHECK(tn_out_is(&t, "default via 10.0.2.1 dev eth0 proto dhcp src 10.0.2.15\n"
			    "10.0.2.0/24 dev eth0 proto kernel scope link src 10.0.2.15\n"));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_dhcp_renew_at_t1)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, NULL, NULL, 1);
	acquire(&t, sv);
	tn_advance(&t, 1799 * SEC);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(t.s.dhcp.state, DHCP_BOUND);
	tn_advance(&t, 1 * SEC);                /* T1 = lease / 2 */
	CHECK_EQ(t.s.dhcp.state, DHCP_RENEWING);
	/* RENEWING: unicast to the server from our address, ciaddr set, no 50/54. */
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	CHECK_EQ(m.msg_type, DHCP_REQUEST);
	CHECK_EQ(fr.ip.src, sv->offer);
	CHECK_EQ(fr.ip.dst, sv->addr);
	CHECK_MEM(fr.eth.dst, test_mac(SRV_MAC), 6);
	CHECK_EQ(m.ciaddr, sv->offer);
	CHECK_EQ(m.requested_ip, 0);
	CHECK_EQ(m.server_id, 0);
	CHECK_EQ(m.flags, 0);
	server_send(&t, sv, DHCP_ACK, &m, 1);
	CHECK_EQ(t.s.dhcp.state, DHCP_BOUND);
	CHECK_EQ(t.s.link.ifs[0].addr, sv->offer);
	CHECK_EQ(t.s.dhcp.t1_ns, t.s.core.now_ns + 1800 * SEC);  /* timers restarted from the ACK */
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_dhcp_nak_restarts)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, NULL, NULL, 1);
	acquire(&t, sv);
	tn_advance(&t, 1800 * SEC);
	REQUIRE(next_dhcp(&t, sv, &fr, &m) && m.msg_type == DHCP_REQUEST);
	server_send(&t, sv, DHCP_NAK, &m, 1);
	CHECK_EQ(t.s.dhcp.state, DHCP_INIT);
	CHECK_EQ(t.s.link.ifs[0].addr, 0);           /* RFC 2131 §4.4.5: stop using it at once */
	struct route_result r;
	CHECK(route_get(&t.s.routes, INET_ADDR(1, 1, 1, 1), &r) < 0);
	CHECK_EQ(t.s.core.mib[MIB_DhcpInNaks], 1);
	CHECK(tn_log_has(&t, "server 10.0.2.2 refused our REQUEST (NAK)"));
	fake_netdev_drop_all(&t.f);
	tn_advance(&t, SEC / 2);
	CHECK_EQ(t.f.wire.len, 0);
	tn_advance(&t, SEC / 2);
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	CHECK_EQ(m.msg_type, DHCP_DISCOVER);
	CHECK_EQ(m.requested_ip, sv->offer);    /* hint: the address we had */
	/* A NAK to REQUESTING also starts over. */
	server_send(&t, sv, DHCP_OFFER, &m, 0);
	REQUIRE(next_dhcp(&t, sv, &fr, &m) && m.msg_type == DHCP_REQUEST);
	server_send(&t, sv, DHCP_NAK, &m, 0);
	CHECK_EQ(t.s.dhcp.state, DHCP_INIT);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_dhcp_rebind_then_expire)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, NULL, NULL, 1);
	acquire(&t, sv);
	int renews = 0, rebinds = 0;
	/* Nobody answers: unicast renewals until T2, broadcasts until expiry. */
	for (int s = 0; s < 3600; s++) {
		tn_advance(&t, SEC);
		while (next_dhcp(&t, sv, &fr, &m)) {
			if (fr.ip.dst == sv->addr)
				renews++;
			else if (fr.ip.dst == INET_BCAST && m.ciaddr == sv->offer)
				rebinds++;
		}
		if (s == 3148)
			CHECK_EQ(t.s.dhcp.state, DHCP_RENEWING);
		if (s == 3150)
			CHECK_EQ(t.s.dhcp.state, DHCP_REBINDING);
	}
	/* T1..T2 = 1350 s: 1800, +675, +337, +168, +84, +60 (floor) -> 6 renewals. */
	CHECK_EQ(renews, 6);
	CHECK(rebinds >= 2 && rebinds <= 8);
	CHECK_EQ(t.s.link.ifs[0].addr, 0);
	CHECK(t.s.dhcp.state == DHCP_INIT || t.s.dhcp.state == DHCP_SELECTING);
	CHECK_EQ(t.s.core.mib[MIB_DhcpLeaseExpired], 1);
	CHECK(tn_log_has(&t, "lease of 10.0.2.15 expired"));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_dhcp_backoff_warning_and_fallback)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, "10.0.2.99/24", "10.0.2.1", 1);
	uint64_t last = 0, gaps[7];
	int sent = 0;
	for (int step = 0; step <= 3000 && sent < 8; step++) {
		tn_advance(&t, step ? SEC / 10 : 0);
		while (next_dhcp(&t, sv, &fr, &m)) {
			CHECK_EQ(m.msg_type, DHCP_DISCOVER);
			if (sent)
				gaps[sent - 1] = t.s.core.now_ns - last;
			last = t.s.core.now_ns;
			sent++;
		}
		fake_netdev_drop_all(&t.f);     /* the fallback's announcements */
	}
	REQUIRE(sent == 8);
	/* RFC 2131 §4.1: 4, 8, 16, 32, 64, 64 ... seconds, each +-1 s. */
	static const uint64_t base[] = { 4, 8, 16, 32, 64, 64, 64 };
	for (int i = 0; i < 7; i++)
		CHECK(gaps[i] >= (base[i] - 1) * SEC && gaps[i] <= (base[i] + 1) * SEC + SEC / 10);
	CHECK(tn_log_has(&t, "<1>dhcp: eth0: no DHCP server answered 3 DISCOVERs"));
	CHECK(tn_log_has(&t, "<1>dhcp: eth0: using static fallback address 10.0.2.99/24"));
	CHECK_EQ(t.s.link.ifs[0].addr, INET_ADDR(10, 0, 2, 99));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route"), 0);
	CHECK(tn_out_has(&t, "default via 10.0.2.1 dev eth0 proto static"));
	/* A server finally answers: its lease replaces the fallback. */
	tn_advance(&t, 70 * SEC);
	REQUIRE(next_dhcp(&t, sv, &fr, &m) && m.msg_type == DHCP_DISCOVER);
	server_send(&t, sv, DHCP_OFFER, &m, 0);
	REQUIRE(next_dhcp(&t, sv, &fr, &m) && m.msg_type == DHCP_REQUEST);
	server_send(&t, sv, DHCP_ACK, &m, 0);
	CHECK_EQ(t.s.link.ifs[0].addr, sv->offer);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route"), 0);
	CHECK(tn_out_is(&t, "default via 10.0.2.1 dev eth0 proto dhcp src 10.0.2.15\n"
			    "10.0.2.0/24 dev eth0 proto kernel scope link src 10.0.2.15\n"));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_dhcp_ignores_foreign_and_bad_replies)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m, wrong;
	struct srv sv = default_srv;
	uint8_t msg[600], f[1024];
	tn_init(&t, 1, NULL, NULL, 1);
	tn_advance(&t, 0);
	REQUIRE(next_dhcp(&t, &sv, &fr, &m));
	wrong = m;
	wrong.xid ^= 1;
	server_send(&t, &sv, DHCP_OFFER, &wrong, 0);       /* someone else's transaction */
	wrong = m;
	wrong.chaddr[5] ^= 1;
	server_send(&t, &sv, DHCP_OFFER, &wrong, 0);       /* someone else's MAC */
	server_send(&t, &sv, DHCP_ACK, &m, 0);             /* ACK while SELECTING */
	server_send(&t, &sv, DHCP_NAK, &m, 0);             /* NAK while SELECTING */
	CHECK_EQ(t.s.core.mib[MIB_DhcpInIgnored], 4);
	/* An option running past the end of the message. */
	size_t n = server_msg(msg, &sv, DHCP_OFFER, &m);
	msg[DHCP_OPTS_OFF + 1] = 250;
	size_t fl = frame_udp(f, eth_broadcast, test_mac(SRV_MAC), sv.addr, INET_BCAST, 67, 68, msg, n);
	fake_netdev_rx(&t.f, &t.s, f, fl);
	/* An offer of an unusable address. */
	sv.offer = INET_ADDR(127, 0, 0, 1);
	server_send(&t, &sv, DHCP_OFFER, &m, 0);
	CHECK_EQ(t.s.core.mib[MIB_DhcpInBad], 2);
	/* From the wrong port. */
	sv = default_srv;
	n = server_msg(msg, &sv, DHCP_OFFER, &m);
	fl = frame_udp(f, eth_broadcast, test_mac(SRV_MAC), sv.addr, INET_BCAST, 1067, 68, msg, n);
	fake_netdev_rx(&t.f, &t.s, f, fl);
	CHECK_EQ(t.s.core.mib[MIB_DhcpInIgnored], 5);
	CHECK_EQ(t.s.dhcp.state, DHCP_SELECTING);
	CHECK_EQ(t.f.wire.len, 0);
	/* Still works after all that. */
	server_send(&t, &sv, DHCP_OFFER, &m, 0);
	REQUIRE(next_dhcp(&t, &sv, &fr, &m) && m.msg_type == DHCP_REQUEST);
	CHECK_EQ(tn_fini(&t), 0);
}

static uint64_t fixed_random(void *ctx)
{
	(void)ctx;
	return 0x0badcafe5eedf00dull;
}

TEST(net_dhcp_xid_from_random_callback)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	tn_init(&t, 1, NULL, NULL, 1);
	t.s.core.cfg.random = fixed_random;
	tn_advance(&t, 0);
	REQUIRE(next_dhcp(&t, &default_srv, &fr, &m));
	CHECK_EQ(m.xid, 0x5eedf00d);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_dhcp_unicast_offer_and_link_flap)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, NULL, NULL, 1);
	tn_advance(&t, 0);
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	/* Some servers ignore the broadcast flag and unicast to the offered address. */
	server_send(&t, sv, DHCP_OFFER, &m, 1);
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	CHECK_EQ(m.msg_type, DHCP_REQUEST);
	/* Unicast to a not-yet-ours address on any other port is still not for us. */
	uint8_t f[128];
	size_t n = frame_udp(f, t.f.dev.mac, test_mac(SRV_MAC), sv->addr, sv->offer, 67, 69, "x", 1);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_IP_NOT_FOR_US], 1);
	/* Cable out and back in: discovery starts again at once, not after the backoff. */
	t.f.link = 0;
	tn_advance(&t, NET_NS_PER_SEC);
	fake_netdev_drop_all(&t.f);
	t.f.link = 1;
	tn_advance(&t, NET_NS_PER_SEC);
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	CHECK_EQ(m.msg_type, DHCP_DISCOVER);
	CHECK(tn_log_has(&t, "eth0: link up"));
	CHECK_EQ(tn_fini(&t), 0);
}

/* dhcp_renew (the shell's `dhcp renew`) of a bound lease: T1 is now, so the next
 * net_poll renews, though the stack's next deadline was T1 (core.wake_ns). */
TEST(net_dhcp_renew_command_acts_at_the_next_turn)
{
	struct test_net t;
	struct frame fr;
	struct dhcp_msg m;
	const struct srv *sv = &default_srv;
	tn_init(&t, 1, NULL, NULL, 1);
	acquire(&t, sv);
	tn_advance(&t, 10 * SEC);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(dhcp_renew(&t.s.dhcp), 0);
	tn_advance(&t, 1);
	CHECK_EQ(t.s.dhcp.state, DHCP_RENEWING);
	REQUIRE(next_dhcp(&t, sv, &fr, &m));
	CHECK_EQ(m.msg_type, DHCP_REQUEST);
	CHECK_EQ(tn_fini(&t), 0);
}
