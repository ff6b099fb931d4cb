/* Shell commands: iproute2/ethtool/nstat layouts, and one-line errors for bad input. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"

static void setup(struct test_net *t)
{
	tn_init(t, 1, "10.0.0.1/24", "10.0.0.254", 0);
	tn_advance(t, 0);
	fake_netdev_drop_all(&t->f);
	tn_clear(t);
}

/* Exactly one line of output. */
static int one_line(const struct test_net *t)
{
	const char *nl = strchr(t->out, '\n');
	return nl && nl[1] == 0;
}

TEST(net_cmd_ip_addr_and_link)
{
	struct test_net t;
	setup(&t);
	CHECK_EQ(tn_cmd(&t, "ip addr"), 0);
	CHECK(tn_out_is(&t,
		"1: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo state UP group default qlen 1000\n"
		"    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n"
		"    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\n"
		"       valid_lft forever preferred_lft forever\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip a show dev eth0"), 0);
	CHECK(tn_out_has(&t, "inet 10.0.0.1/24"));
	tn_clear(&t);
	t.f.stats.rx_packets = 12;
	t.f.stats.rx_bytes = 1311606;
	t.f.stats.multicast = 3;
	CHECK_EQ(tn_cmd(&t, "ip -s link"), 0);
	CHECK(tn_out_is(&t,
		"1: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo state UP mode DEFAULT group default qlen 1000\n"
		"    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n"
		"    RX:  bytes packets errors dropped  missed   mcast\n"
		"       1311606      12      0       0       0       3\n"
		"    TX:  bytes packets errors dropped carrier collsns\n"
		"            60       1      0       0       0       0\n"));
	/* The link goes down: noticed within a second, shown, logged. */
	t.f.link = 0;
	tn_clear(&t);
	tn_advance(&t, NET_NS_PER_SEC);
	CHECK(tn_log_has(&t, "eth0: link down"));
	CHECK_EQ(tn_cmd(&t, "ip link show eth0"), 0);
	CHECK(tn_out_has(&t, "<BROADCAST,MULTICAST,UP> mtu 1500 qdisc pfifo state DOWN"));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_cmd_ip_addr_change)
{
	struct test_net t;
	setup(&t);
	CHECK_EQ(tn_cmd(&t, "ip addr del 10.0.0.1/24 dev eth0"), 0);
	CHECK_EQ(t.s.link.ifs[0].addr, 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route"), 0);
	CHECK(tn_out_is(&t, ""));               /* the routes went with the address */
	CHECK_EQ(tn_cmd(&t, "ip addr add 192.168.7.7/16 dev eth0"), 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route"), 0);
	CHECK(tn_out_is(&t, "192.168.0.0/16 dev eth0 proto kernel scope link src 192.168.7.7\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip addr add 192.168.7.8/16 dev eth0"), -1);
	CHECK(tn_out_is(&t, "RTNETLINK answers: File exists\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip addr add 300.1.1.1/8 dev eth0"), -1);
	CHECK(one_line(&t));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip addr add 10.1.1.1/8 dev eth5"), -1);
	CHECK(tn_out_is(&t, "Device \"eth5\" does not exist.\n"));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_cmd_ip_neigh)
{
	struct test_net t;
	uint8_t f[64];
	setup(&t);
	size_t n = frame_arp(f, eth_broadcast, ARP_OP_REQUEST, test_mac(0x2a), ip("10.0.0.42"),
			     (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	uint8_t tag = 1;
	udp_send(&t.s.udp, 0, 1, ip("10.0.0.43"), 2, &tag, 1);
	tn_advance(&t, NET_NS_PER_SEC);
	tn_advance(&t, NET_NS_PER_SEC);
	CHECK_EQ(tn_cmd(&t, "ip neigh"), 0);
	CHECK(tn_out_is(&t, "10.0.0.42 dev eth0 lladdr 02:00:00:00:00:2a STALE\n"
			    "10.0.0.43 dev eth0 INCOMPLETE\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip -s n"), 0);
	CHECK(tn_out_has(&t, "10.0.0.42 dev eth0 lladdr 02:00:00:00:00:2a used 2/2/2 probes 0 STALE\n"));
	CHECK(tn_out_has(&t, "10.0.0.43 dev eth0 used 2/2/2 probes 3 INCOMPLETE\n"));
	CHECK_EQ(tn_cmd(&t, "ip neigh flush all"), 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip neigh show"), 0);
	CHECK(tn_out_is(&t, ""));
	CHECK_EQ(tn_cmd(&t, "ip neigh flush"), -1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_cmd_ethtool)
{
	struct test_net t;
	setup(&t);
	t.f.dev.napi.irqs = 5;
	t.f.dev.napi.polls = 7;
	t.f.dev.napi.rearms = 4;
	t.f.dev.napi.budget_exhausted = 1;
	CHECK_EQ(tn_cmd(&t, "ethtool -S eth0"), 0);
	CHECK(tn_out_is(&t, "NIC statistics:\n"
			    "     rx_packets: 0\n"
			    "     tx_packets: 1\n"
			    "     tx_burst_calls: 1\n"
			    "     irqs: 5\n"
			    "     polls: 7\n"
			    "     budget_exhausted: 1\n"
			    "     rearms: 4\n"
			    "     napi_rx_frames: 0\n"
			    "     irq_mode: poll\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ethtool eth0"), 0);
	CHECK(tn_out_is(&t, "Settings for eth0:\n\tLink detected: yes\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ethtool -S eth1"), -1);
	CHECK(tn_out_is(&t, "Cannot get device settings: No such device\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ethtool"), -1);
	CHECK(one_line(&t));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ethtool -X eth0"), -1);
	CHECK(one_line(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_cmd_nstat)
{
	struct test_net t;
	uint8_t f[128];
	setup(&t);
	size_t n = frame_udp(f, t.f.dev.mac, test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"), 1, 9, "x", 1);
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(tn_cmd(&t, "nstat"), 0);
	CHECK(tn_out_has(&t, "#kernel\n"));
	CHECK(tn_out_has(&t, "IpInReceives                    1                  0.0\n"));
	CHECK(tn_out_has(&t, "UdpNoPorts                      1                  0.0\n"));
	CHECK(tn_out_has(&t, "DropUdpNoPort                   1                  0.0\n"));
	CHECK(!strstr(t.out, "IcmpInErrors"));          /* zeros hidden by default */
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "nstat -z Icmp*Errors"), 0);
	CHECK(tn_out_is(&t, "#kernel\n"
			    "IcmpInErrors                    0                  0.0\n"
			    "IcmpInCsumErrors                0                  0.0\n"
			    "IcmpOutErrors                   0                  0.0\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "nstat -q"), -1);
	CHECK(one_line(&t));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_cmd_errors_are_one_line)
{
	struct test_net t;
	static const char *const bad[] = {
		"ip", "ip foo", "ip -x addr", "ip route get", "ip route frob", "ip link show eth3",
		"ip route add 10.0.0.0/33 via 10.0.0.254", "ip route del 172.16.0.0/12",
		"ping", "ping -c", "ping -c 0 10.0.0.2", "ping -s abc 10.0.0.2", "ping 10.0.0.2 10.0.0.3",
		"ping example.org", "ping 192.0.2.1/24", "arping -I eth9 10.0.0.2", "dhcp renew",
		"dhcp frob", "frobnicate",
	};
	setup(&t);
	CHECK_EQ(tn_cmd(&t, "ip route del default"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tn_clear(&t);
		int r = tn_cmd(&t, bad[i]);
		if (r != -1 || !one_line(&t))
			printf("    bad command \"%s\" -> %d, output \"%s\"\n", bad[i], r, t.out);
		CHECK(r == -1 && one_line(&t));
	}
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ping 8.8.8.8"), -1);
	CHECK(tn_out_is(&t, "ping: connect: Network is unreachable\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "dhcp"), 0);
	CHECK(tn_out_is(&t, "dhcp: not running (static configuration)\n"));
	/* A second ping while one runs is refused. */
	CHECK_EQ(tn_cmd(&t, "ping -c 5 10.0.0.2"), 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ping 10.0.0.2"), -1);
	CHECK(tn_out_is(&t, "ping: another ping is still running\n"));
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(net_cmd_sysctl_tcp_pacing)
{
	struct test_net t;
	tn_init_tcp(&t, 1, "10.0.0.1/24");
	t.s.tcp.cfg.pacing = true;
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "sysctl net.ipv4.tcp_pacing"), 0);
	CHECK(tn_out_is(&t, "net.ipv4.tcp_pacing = 1\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "sysctl -w net.ipv4.tcp_pacing=0"), 0);
	CHECK(tn_out_is(&t, "net.ipv4.tcp_pacing = 0\n"));
	CHECK(!t.s.tcp.cfg.pacing);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "sysctl net.ipv4.tcp_pacing_ss_ratio=150 net.ipv4.tcp_pacing_ca_ratio"), 0);
	CHECK(tn_out_is(&t, "net.ipv4.tcp_pacing_ss_ratio = 150\nnet.ipv4.tcp_pacing_ca_ratio = 120\n"));
	CHECK_EQ(t.s.tcp.cfg.pacing_ss_ratio, 150);
	static const char *const bad[] = { "sysctl", "sysctl net.ipv4.tcp_pacing=2",
					   "sysctl net.ipv4.frob", "sysctl -w net.ipv4.tcp_pacing_ca_ratio=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tn_clear(&t);
		CHECK_EQ(tn_cmd(&t, bad[i]), -1);
		CHECK(one_line(&t));
	}
	CHECK(!t.s.tcp.cfg.pacing);
	CHECK_EQ(tn_fini(&t), 0);
}
