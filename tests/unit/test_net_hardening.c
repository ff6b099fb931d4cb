/*
 * Regression tests from the L2/L3 security review (docs/review-l2l3.md), one per fixed
 * finding, each named after the docs/hardening.md mistake it guards against. Every test
 * failed before its fix.
 */
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/inet.h"
#include "net/ipv4.h"
#include "net/tcp.h"
#include "net/tcp_wire.h"

static uint64_t total_drops(const struct net_stack *s)
{
	uint64_t n = 0;
	for (int i = 0; i < DROP_COUNT; i++)
		n += s->core.drops[i];
	return n;
}

/* ---- a stack with TCP on (tn_init leaves it off: no mem_alloc) ------------------- */

static void *h_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void h_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static uint64_t h_random(void *ctx)
{
	uint64_t *x = &((struct test_net *)ctx)->rng;
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/* 10.0.0.1/24 with TCP, 10.0.0.2 (02:..:02) already known, start-up ARPs discarded. */
static void tcp_net_init(struct test_net *t)
{
	uint8_t f[64];
	memset(t, 0, sizeof(*t));
	t->rng = 0x1234567887654321ull;
	struct net_config cfg = { .addr = ip("10.0.0.1"), .prefix_len = 24, .random = h_random,
				  .mem_alloc = h_alloc, .mem_free = h_free, .ctx = t };
	fake_netdev_init(&t->f, "eth0", 1, 256);
	net_init(&t->s, &cfg);
	net_attach(&t->s, &t->f.dev);
	tn_advance(t, 0);
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(2), ip("10.0.0.2"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t->f, &t->s, f, n);
	fake_netdev_drop_all(&t->f);
}

static int tcp_net_fini(struct test_net *t)
{
	tcp_shutdown_stack(&t->s.tcp);
	return tn_fini(t);
}

/* A TCP segment from 10.0.0.2:40000 to dst:dport inside an Ethernet frame to dmac. */
static size_t seg_frame(uint8_t *f, const uint8_t *dmac, uint32_t dst, uint16_t dport,
			uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t seg[64];
	struct tcp_hdr h = { .sport = 40000, .dport = dport, .seq = seq, .ack = ack,
			     .flags = flags, .wnd = 65535 };
	size_t hl = tcp_wire_emit(&h, seg, sizeof(seg));
	tcp_wire_set_csum(seg, hl, ip("10.0.0.2"), dst);
	return frame_ipv4(f, dmac, test_mac(2), ip("10.0.0.2"), dst, IPV4_PROTO_TCP, seg, hl);
}

static size_t syn_frame(uint8_t *f, const uint8_t *dmac, uint32_t dst, uint16_t dport)
{
	return seg_frame(f, dmac, dst, dport, 1000, 0, TCP_SYN);
}

/*
 * RFC 1122 §4.2.3.10 (MUST-57): a SYN to a broadcast address is silently discarded, and
 * TCP never sends from one. TCP can filter 255.255.255.255 itself but not the subnet
 * broadcast: only IPv4 knows the prefixes (tcp_in.c bad_addr says so), so ipv4.c must
 * not deliver IP-broadcast datagrams to registered (connection-oriented) protocols.
 * Before the fix a listener on the wildcard address took a SYN to 10.0.0.255 into its
 * SYN queue and answered with a SYN-ACK *from* 10.0.0.255.
 */
TEST(net_hardening_tcp_never_sees_directed_broadcast)
{
	struct test_net t;
	struct tcp_sock *l;
	uint8_t f[128];
	tcp_net_init(&t);
	REQUIRE(t.s.tcp_on);
	REQUIRE(tcp_listen(&t.s.tcp, 0, 80, 0, NULL, NULL, &l) == 0);
	uint64_t before = total_drops(&t.s);
	size_t n = syn_frame(f, eth_broadcast, ip("10.0.0.255"), 80);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.f.wire.len, 0);              /* no SYN-ACK from a broadcast address */
	n = syn_frame(f, eth_broadcast, ip("10.0.0.255"), 81);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.f.wire.len, 0);              /* no RST either */
	CHECK_EQ(t.s.core.drops[DROP_IP_BCAST_PROTO], 2);
	CHECK_EQ(total_drops(&t.s), before + 2);
	CHECK_EQ(t.s.core.mib[MIB_IpInDelivers], 0);
	fake_netdev_drop_all(&t.f);
	/* The same SYN to our unicast address is answered with a SYN-ACK from it. */
	n = syn_frame(f, t.f.dev.mac, ip("10.0.0.1"), 80);
	fake_netdev_rx(&t.f, &t.s, f, n);
	struct frame fr;
	uint8_t buf[2048];
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_ip && fr.ip.proto == IPV4_PROTO_TCP);
	CHECK_EQ(fr.ip.src, ip("10.0.0.1"));
	tcp_close(l);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tcp_net_fini(&t), 0);
}

/* RFC 1191 §3: TCP's segments carry DF so routers report the path MTU; other
 * protocols (ICMP here) leave it clear because we never fragment them either way. */
TEST(net_tcp_segments_carry_df)
{
	struct test_net t;
	struct tcp_sock *l;
	uint8_t f[128], buf[2048];
	struct frame fr;
	tcp_net_init(&t);
	REQUIRE(tcp_listen(&t.s.tcp, 0, 80, 0, NULL, NULL, &l) == 0);
	fake_netdev_rx(&t.f, &t.s, f, syn_frame(f, t.f.dev.mac, ip("10.0.0.1"), 80));
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_ip && fr.ip.proto == IPV4_PROTO_TCP);
	CHECK(fr.ip.frag & IPV4_DF);
	tcp_close(l);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tcp_net_fini(&t), 0);
}

/* ---- coverage the review added for defences that already held ---------------------- */

struct err_log {
	int calls;
	size_t len;
};

static void err_in(void *ctx, struct pkt *p, const struct ipv4_rx *rx)
{
	(void)ctx;
	(void)rx;
	pkt_free(p);
}

static void err_cb(void *ctx, uint8_t type, uint8_t code, uint16_t mtu,
		   const uint8_t *quoted, size_t len)
{
	struct err_log *l = ctx;
	(void)type;
	(void)code;
	(void)mtu;
	(void)quoted;
	l->calls++;
	l->len = len;
}

/* An ICMP destination unreachable from 10.0.0.2 whose body is quote[0..qlen). */
static void rx_icmp_error(struct test_net *t, const uint8_t *quote, size_t qlen)
{
	uint8_t icmp[256], f[512];
	memset(icmp, 0, ICMP_HDR_LEN);
	memcpy(icmp + ICMP_HDR_LEN, quote, qlen);
	struct icmp_hdr h = { .type = ICMP_DEST_UNREACH, .code = ICMP_PORT_UNREACH };
	icmp_emit(&h, icmp, ICMP_HDR_LEN + qlen);
	size_t n = frame_ipv4(f, t->f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
			      IPV4_PROTO_ICMP, icmp, ICMP_HDR_LEN + qlen);
	fake_netdev_rx(&t->f, &t->s, f, n);
}

/*
 * HARDENING #1, #2, #5: the quoted datagram inside an ICMP error is attacker bytes.
 * Only a quote holding a whole IPv4 header (its own IHL) plus 8 transport bytes, from
 * one of our addresses, reaches the protocol, and the length it gets is what arrived.
 */
TEST(net_hardening_icmp_error_quote_bounds)
{
	struct test_net t;
	struct err_log l = { 0 };
	uint8_t q[128];
	tn_init_peer(&t);
	REQUIRE(ipv4_register_proto(&t.s.ip, 99, 0, err_in, err_cb, &l) == 0);
	struct ipv4_hdr ih = { .tot_len = 1000, .ttl = 64, .proto = 99, .src = ip("10.0.0.1"),
			       .dst = ip("10.0.0.2") };
	ipv4_emit(&ih, q);
	memset(q + 20, 0xab, sizeof(q) - 20);
	rx_icmp_error(&t, q, 0);                /* no quote at all */
	rx_icmp_error(&t, q, 19);               /* not even an IP header */
	rx_icmp_error(&t, q, 27);               /* header, 7 of the 8 transport bytes */
	q[0] = 0x4f;                            /* IHL 60, but 28 bytes quoted */
	rx_icmp_error(&t, q, 28);
	rx_icmp_error(&t, q, 67);
	q[0] = 0x44;                            /* IHL below 5 */
	rx_icmp_error(&t, q, 28);
	q[0] = 0x65;                            /* not IPv4 */
	rx_icmp_error(&t, q, 28);
	q[0] = 0x45;
	wire_put32(q + 12, ip("10.0.0.9"));     /* quoted source is not ours */
	rx_icmp_error(&t, q, 28);
	CHECK_EQ(l.calls, 0);
	wire_put32(q + 12, ip("10.0.0.1"));
	rx_icmp_error(&t, q, 28);               /* the smallest acceptable quote */
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(l.len, 28);                    /* what arrived, not the quoted tot_len */
	q[0] = 0x4f;                            /* IHL 60 with all of it there */
	rx_icmp_error(&t, q, 68);
	CHECK_EQ(l.calls, 2);
	CHECK_EQ(l.len, 68);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInDestUnreachs], 10);
	CHECK_EQ(t.f.wire.len, 0);              /* never an error about an error */
	CHECK_EQ(tn_fini(&t), 0);
}

/* An Ethernet frame of type etype carrying payload (padded to the minimum). */
static size_t eth_frame(uint8_t *f, const uint8_t *dmac, uint16_t etype, const void *payload,
			size_t len)
{
	struct eth_hdr eh = { .type = etype };
	memcpy(eh.dst, dmac, ETH_ALEN);
	memcpy(eh.src, test_mac(2), ETH_ALEN);
	eth_emit(&eh, f);
	memset(f + ETH_HLEN, 0, ETH_ZLEN - ETH_HLEN);
	memcpy(f + ETH_HLEN, payload, len);
	return ETH_HLEN + len < ETH_ZLEN ? ETH_ZLEN : ETH_HLEN + len;
}

/*
 * HARDENING #10: rarely used features are dropped, counted, and never answered: ICMP
 * timestamp and address-mask requests, RARP, IP-in-IP (answered only with a protocol
 * unreachable, its inner datagram never parsed), source routes (test_net_stack.c).
 */
TEST(net_hardening_rare_features_dropped)
{
	struct test_net t;
	struct frame fr;
	uint8_t f[256], l4[64], buf[2048];
	tn_init_peer(&t);
	static const uint8_t types[] = { ICMP_TIMESTAMP, 15 /* information */, 17 /* mask */,
					 10 /* router solicitation */ };
	for (size_t i = 0; i < sizeof(types); i++) {
		memset(l4, 0, 20);
		struct icmp_hdr h = { .type = types[i], .id = 1, .seq = 1 };
		icmp_emit(&h, l4, 20);
		size_t n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				      IPV4_PROTO_ICMP, l4, 20);
		fake_netdev_rx(&t.f, &t.s, f, n);
	}
	CHECK_EQ(t.s.core.drops[DROP_ICMP_UNHANDLED], 4);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInTimestamps], 1);
	CHECK_EQ(t.f.wire.len, 0);
	/* RARP (RFC 903) request: its own EtherType, never parsed. */
	uint8_t rarp[ARP_LEN];
	struct arp_pkt a = { .op = 3, .spa = 0, .tpa = 0 };
	memcpy(a.sha, test_mac(2), ETH_ALEN);
	memcpy(a.tha, test_mac(2), ETH_ALEN);
	arp_emit(&a, rarp);
	size_t n = eth_frame(f, eth_broadcast, 0x8035, rarp, sizeof(rarp));
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_ETH_UNKNOWN_TYPE], 1);
	/* The same body as ARP: op 3 is refused by arp_check. */
	n = eth_frame(f, eth_broadcast, ETH_P_ARP, rarp, sizeof(rarp));
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_ARP_BAD_FORMAT], 1);
	CHECK_EQ(t.f.wire.len, 0);
	/* IP-in-IP (protocol 4) carrying an echo request to us. */
	uint8_t inner[128];
	size_t in = frame_icmp_echo(inner, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				    ICMP_ECHO, 5, 5, 8);
	n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 4,
		       inner + ETH_HLEN, in - ETH_HLEN);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_IP_UNKNOWN_PROTO], 1);
	CHECK_EQ(t.s.core.mib[MIB_IcmpInEchos], 0);  /* the inner datagram was not looked at */
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_icmp && fr.icmp.type == ICMP_DEST_UNREACH && fr.icmp.code == ICMP_PROT_UNREACH);
	CHECK_EQ(t.f.wire.len, 0);
	CHECK_EQ(tn_fini(&t), 0);
}

/* RFC 1122 §4.2.3.5 (MUST-20): after R1 (3) unanswered retransmissions TCP gives IP
 * negative advice; the stack turns it into re-confirming the next hop: its REACHABLE
 * neighbour entry goes STALE, so the next segment starts unicast probes (transport.c
 * env_route_advice -> neigh_suspect). Before, the hook was never wired. */
TEST(net_tcp_negative_advice_reconfirms_next_hop)
{
	struct test_net t;
	struct tcp_sock *l, *c;
	uint8_t f[128], buf[2048];
	struct frame fr;
	struct tcp_hdr h;
	tcp_net_init(&t);
	/* A unicast ARP reply proves 10.0.0.2 reachable. */
	size_t n = frame_arp(f, t.f.dev.mac, ARP_OP_REPLY, test_mac(2), ip("10.0.0.2"),
			     t.f.dev.mac, ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	const struct neigh_entry *e = neigh_lookup(&t.s.neigh, 0, ip("10.0.0.2"));
	REQUIRE(e && e->state == NEIGH_REACHABLE);
	REQUIRE(tcp_listen(&t.s.tcp, 0, 80, 0, NULL, NULL, &l) == 0);
	fake_netdev_rx(&t.f, &t.s, f, syn_frame(f, t.f.dev.mac, ip("10.0.0.1"), 80));
	REQUIRE(tn_next(&t, &fr, buf));
	REQUIRE(tcp_wire_parse(fr.ipdata, fr.iplen, &h) == WIRE_OK);
	fake_netdev_rx(&t.f, &t.s, f, seg_frame(f, t.f.dev.mac, ip("10.0.0.1"), 80, 1001,
						h.seq + 1, TCP_ACK));
	REQUIRE(tcp_accept(l, &c) == 0);
	REQUIRE(tcp_send(c, "lost", 4) == 4);
	fake_netdev_drop_all(&t.f);
	/* The advice comes with the fourth timeout, when R1 = 3 retransmissions went
	 * unanswered (tcp_timer.c rto_expired); until then the entry is trusted. */
	const uint64_t *timeouts = &t.s.tcp.mib[TCP_MIB_TCPTimeouts];
	for (int i = 0; i < 200 && *timeouts < 3; i++) {
		tn_advance(&t, 50 * NET_NS_PER_MS);
		fake_netdev_drop_all(&t.f);
	}
	REQUIRE(*timeouts == 3);
	CHECK_EQ(e->state, NEIGH_REACHABLE);
	for (int i = 0; i < 400 && *timeouts < 4; i++) {
		tn_advance(&t, 50 * NET_NS_PER_MS);
		fake_netdev_drop_all(&t.f);
	}
	REQUIRE(*timeouts == 4);
	CHECK(e->state != NEIGH_REACHABLE);     /* STALE, or DELAY once a segment used it */
	tcp_abort(c);
	tcp_close(l);
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tcp_net_fini(&t), 0);
}

/* An EtherType of 0 (an 802.3 length field) matched the empty slots of the EtherType
 * table and called a NULL handler (found by fuzz_rx): dropped and counted now. */
TEST(net_hardening_ethertype_zero_is_unknown)
{
	struct test_net t;
	uint8_t f[64] = { 0 };
	tn_init_peer(&t);
	memcpy(f, test_mac(1), 6);
	memcpy(f + 6, test_mac(2), 6);
	fake_netdev_rx(&t.f, &t.s, f, sizeof(f));
	CHECK_EQ(t.s.core.drops[DROP_ETH_UNKNOWN_TYPE], 1);
	CHECK_EQ(tn_fini(&t), 0);
}
