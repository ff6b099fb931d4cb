/* UDP sockets: bind/recv callback/send, checksums, length rules, ports. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/err.h"

struct rx_log {
	int calls;
	struct udp_rx_info info;
	uint8_t data[2048];
	size_t len;
	struct udp *echo;       /* send the datagram back through this */
};

static void on_rx(void *ctx, const struct udp_rx_info *info,
		  const uint8_t *data, size_t len)
{
	struct rx_log *l = ctx;
	l->calls++;
	l->info = *info;
	memcpy(l->data, data, len);
	l->len = len;
	if (l->echo)
		udp_send(l->echo, info->dst, info->dport, info->src, info->sport, data, len);
}

static size_t udp_frame(uint8_t *f, struct test_net *t, uint16_t dport, const char *data)
{
	return frame_udp(f, t->f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 4321, dport,
			 data, strlen(data));
}

TEST(net_udp_bind_recv_send)
{
	struct test_net t;
	struct rx_log l = { 0 };
	struct frame fr;
	uint8_t f[256], buf[2048];
	tn_init_peer(&t);
	l.echo = &t.s.udp;
	REQUIRE(udp_bind(&t.s.udp, 7, on_rx, &l) == 7);
	size_t n = udp_frame(f, &t, 7, "ping?");
	fake_netdev_rx(&t.f, &t.s, f, n);
	REQUIRE(l.calls == 1);
	CHECK_EQ(l.len, 5);
	CHECK_MEM(l.data, "ping?", 5);
	CHECK_EQ(l.info.src, ip("10.0.0.2"));
	CHECK_EQ(l.info.dst, ip("10.0.0.1"));
	CHECK_EQ(l.info.sport, 4321);
	CHECK_EQ(l.info.dport, 7);
	CHECK_EQ(l.info.bcast, 0);
	CHECK_EQ(t.s.core.mib[MIB_UdpInDatagrams], 1);
	/* The echo went out with a valid checksum (frame_decode verifies it). */
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_udp && fr.udp.sport == 7 && fr.udp.dport == 4321 && fr.udp.csum != 0);
	CHECK_EQ(fr.l4len, 5);
	CHECK_MEM(fr.l4, "ping?", 5);
	CHECK_EQ(t.s.core.mib[MIB_UdpOutDatagrams], 1);
	/* Unbound: the next one is a port unreachable. */
	CHECK_EQ(udp_unbind(&t.s.udp, 7), 0);
	CHECK_EQ(udp_unbind(&t.s.udp, 7), -NET_ENOENT);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.calls, 1);
	CHECK_EQ(t.s.core.mib[MIB_UdpNoPorts], 1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_udp_ports)
{
	struct test_net t;
	struct rx_log l = { 0 };
	tn_init_peer(&t);
	CHECK_EQ(udp_bind(&t.s.udp, 53, on_rx, &l), 53);
	CHECK_EQ(udp_bind(&t.s.udp, 53, on_rx, &l), -NET_EADDRINUSE);
	CHECK_EQ(udp_bind(&t.s.udp, 54, NULL, &l), -NET_EINVAL);
	int prev = -1, distinct = 0;
	for (int i = 1; i < UDP_MAX_SOCKS; i++) {
		int p = udp_bind(&t.s.udp, 0, on_rx, &l);
		CHECK(p >= UDP_EPHEMERAL_LO && p <= UDP_EPHEMERAL_HI);
		distinct += p != prev;
		prev = p;
	}
	CHECK(distinct >= UDP_MAX_SOCKS - 2);   /* random, not sequential from one value */
	CHECK_EQ(udp_bind(&t.s.udp, 0, on_rx, &l), -NET_ENOSPC);
	CHECK_EQ(udp_bind(&t.s.udp, 80, on_rx, &l), -NET_ENOSPC);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_udp_checksum_and_length_rules)
{
	struct test_net t;
	struct rx_log l = { 0 };
	uint8_t f[256];
	tn_init_peer(&t);
	REQUIRE(udp_bind(&t.s.udp, 9, on_rx, &l) == 9);
	size_t n = udp_frame(f, &t, 9, "data");
	size_t u = ETH_HLEN + 20;
	f[n - 1] ^= 1;                          /* payload changed: checksum fails */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(t.s.core.mib[MIB_UdpInCsumErrors], 1);
	CHECK_EQ(t.s.core.mib[MIB_UdpInErrors], 1);
	f[u + 6] = f[u + 7] = 0;                /* no checksum at all: accepted */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.calls, 1);
	f[u + 5] -= 1;                          /* UDP length 11 inside a 12-byte IP payload: */
	fake_netdev_rx(&t.f, &t.s, f, n);       /* the UDP length governs (RFC 768) */
	CHECK_EQ(l.calls, 2);
	CHECK_EQ(l.len, 3);
	f[u + 5] += 2;                          /* UDP length 13: past the IP payload */
	fake_netdev_rx(&t.f, &t.s, f, n);
	f[u + 5] = 7;                           /* UDP length 7: shorter than its header */
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(l.calls, 2);
	CHECK_EQ(t.s.core.drops[DROP_UDP_BAD_LEN], 2);
	CHECK_EQ(t.s.core.mib[MIB_UdpInErrors], 3);
	/* Shorter than a UDP header. */
	n = frame_ipv4(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), IPV4_PROTO_UDP, "abc", 3);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(t.s.core.drops[DROP_UDP_TRUNCATED], 1);
	CHECK_EQ(t.f.wire.len, 0);              /* none of these earned an ICMP error */
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_udp_send_errors)
{
	struct test_net t;
	static uint8_t big[2048];
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	CHECK_EQ(udp_send(&t.s.udp, 0, 1, ip("10.0.0.2"), 2, big, 1473), -NET_EMSGSIZE);
	CHECK_EQ(udp_send(&t.s.udp, 0, 1, ip("192.0.2.1"), 2, big, 10), -NET_ENETUNREACH);
	CHECK_EQ(udp_send(&t.s.udp, 0, 1, ip("10.0.0.1"), 2, big, 10), -NET_ENETUNREACH);   /* no loopback */
	CHECK_EQ(t.s.core.mib[MIB_IpOutNoRoutes], 2);
	CHECK_EQ(udp_send(&t.s.udp, 0, 1, ip("10.0.0.2"), 2, big, 1472), 0);
	CHECK_EQ(udp_send(&t.s.udp, 0, 1, ip("10.0.0.2"), 0, big, 10), -NET_EINVAL); /* port 0 */
	CHECK_EQ(udp_send(&t.s.udp, 0, 0, ip("10.0.0.2"), 2, big, 10), 0);   /* no source port */
	fake_netdev_drop_all(&t.f);
	CHECK_EQ(tn_fini(&t), 0);
}
