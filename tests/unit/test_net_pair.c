/*
 * Two stacks back to back over fake netdevs: ARP between real stacks, ping both ways
 * with iputils' output, loss accounting, large pings, and UDP across.
 */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"

#define MS NET_NS_PER_MS
#define US NET_NS_PER_US

static int move(struct test_net *from, struct test_net *to, int drop_nth, int *count)
{
	struct pkt *p;
	int moved = 0;
	while ((p = fake_netdev_pop(&from->f))) {
		if (++*count != drop_nth)
			fake_netdev_rx(&to->f, &to->s, pkt_data(p), p->len);
		pkt_free(p);
		fake_netdev_complete(&from->f, 1);
		moved++;
	}
	return moved;
}

/* Lets a and b talk for ms milliseconds of simulated time, polling both every 1 ms.
 * Frames from a reach b at once; a's clock moves on delay_us (without running its
 * timers) before b's answers arrive, so each round trip a sees takes delay_us.
 * drop_b_nth drops b's nth frame. */
static void run(struct test_net *a, struct test_net *b, int ms, uint64_t delay_us, int drop_b_nth)
{
	static int b_count;
	b_count = 0;
	for (int i = 0; i < ms; i++) {
		for (int round = 0; round < 10; round++) {
			int n = move(a, b, 0, &(int){ 0 });
			a->s.core.now_ns += delay_us * US;   /* time on the wire; no timers run */
			n += move(b, a, drop_b_nth, &b_count);
			if (!n)
				break;
		}
		tn_advance(a, MS);
		tn_advance(b, MS);
	}
}

static void pair(struct test_net *a, struct test_net *b)
{
	tn_init(a, 1, "10.0.0.1/24", NULL, 0);
	tn_init(b, 2, "10.0.0.2/24", NULL, 0);
}

TEST(net_pair_ping)
{
	struct test_net a, b;
	pair(&a, &b);
	tn_clear(&a);
	REQUIRE(tn_cmd(&a, "ping -c 3 10.0.0.2") == 0);
	CHECK(tn_out_is(&a, "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n"));
	CHECK_EQ(a.f.wire.len, 0);              /* the first request waits for net_poll */
	tn_advance(&a, 0);
	CHECK_EQ(a.f.wire.len, 2);              /* its ARP request and our announcement */
	run(&a, &b, 5000, 412, 0);
	/* The first request waited for ARP: one more round trip. */
	CHECK(tn_out_is(&a,
		"PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n"
		"64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.824 ms\n"
		"64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=0.412 ms\n"
		"64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time=0.412 ms\n"
		"\n--- 10.0.0.2 ping statistics ---\n"
		"3 packets transmitted, 3 received, 0% packet loss, time 2001ms\n"
		"rtt min/avg/max/mdev = 0.412/0.549/0.824/0.195 ms\n"));
	CHECK_EQ(a.s.core.mib[MIB_IcmpOutEchos], 3);
	CHECK_EQ(b.s.core.mib[MIB_IcmpInEchos], 3);
	CHECK_EQ(b.s.core.mib[MIB_IcmpOutEchoReps], 3);
	CHECK_EQ(a.s.core.mib[MIB_IcmpInEchoReps], 3);
	/* Both learnt each other through ARP. */
	CHECK(neigh_lookup(&a.s.neigh, 0, ip("10.0.0.2")) != NULL);
	CHECK(neigh_lookup(&b.s.neigh, 0, ip("10.0.0.1")) != NULL);
	CHECK_EQ(tn_fini(&a), 0);
	CHECK_EQ(tn_fini(&b), 0);
}

TEST(net_pair_ping_big_and_lossy)
{
	struct test_net a, b;
	pair(&a, &b);
	run(&a, &b, 10, 100, 0);                /* settle ARP announcements */
	tn_clear(&b);
	REQUIRE(tn_cmd(&b, "ping -c 2 -s 1472 10.0.0.1") == 0);
	run(&b, &a, 3000, 2500, 0);
	CHECK(tn_out_has(&b, "PING 10.0.0.1 (10.0.0.1) 1472(1500) bytes of data.\n"));
	CHECK(tn_out_has(&b, "1480 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time="));
	CHECK(tn_out_has(&b, "1480 bytes from 10.0.0.1: icmp_seq=2 ttl=64 time=2.50 ms\n"));
	CHECK(tn_out_has(&b, "2 packets transmitted, 2 received, 0% packet loss"));
	/* Too big for the MTU: refused up front, like iputils. */
	CHECK_EQ(tn_cmd(&b, "ping -s 1473 10.0.0.1"), -1);
	/* The second of three replies is lost on the wire. */
	tn_clear(&a);
	REQUIRE(tn_cmd(&a, "ping -c 3 10.0.0.2") == 0);
	run(&a, &b, 5000, 50, 2);
	CHECK(tn_out_has(&a, "icmp_seq=1 "));
	CHECK(!strstr(a.out, "icmp_seq=2 "));
	CHECK(tn_out_has(&a, "icmp_seq=3 "));
	CHECK(tn_out_has(&a, "3 packets transmitted, 2 received, 33.3333% packet loss"));
	/* Nobody home: every request unanswered (ARP fails), 100% loss, no rtt line. */
	tn_clear(&a);
	REQUIRE(tn_cmd(&a, "ping -c 2 10.0.0.3") == 0);
	run(&a, &b, 5000, 50, 0);
	CHECK(tn_out_has(&a, "2 packets transmitted, 0 received, 100% packet loss, time 100"));
	CHECK(!strstr(a.out, "rtt"));
	CHECK_EQ(tn_fini(&a), 0);
	CHECK_EQ(tn_fini(&b), 0);
}

struct got {
	int n;
	char text[64];
	uint16_t sport;
};

static void on_rx(void *ctx, const struct udp_rx_info *info,
		  const uint8_t *data, size_t len)
{
	struct got *g = ctx;
	g->n++;
	g->sport = info->sport;
	snprintf(g->text, sizeof(g->text), "%.*s", (int)len, (const char *)data);
}

TEST(net_pair_udp)
{
	struct test_net a, b;
	struct got g = { 0 };
	pair(&a, &b);
	REQUIRE(udp_bind(&b.s.udp, 5000, on_rx, &g) == 5000);
	int port = udp_bind(&a.s.udp, 0, on_rx, &g);
	REQUIRE(port > 0);
	CHECK_EQ(udp_send(&a.s.udp, 0, (uint16_t)port, ip("10.0.0.2"), 5000, "hello b", 7), 0);
	run(&a, &b, 5, 10, 0);
	CHECK_EQ(g.n, 1);
	CHECK_STR(g.text, "hello b");
	CHECK_EQ(g.sport, port);
	/* To a port nobody listens on: the sender hears ICMP port unreachable. */
	CHECK_EQ(udp_send(&a.s.udp, 0, (uint16_t)port, ip("10.0.0.2"), 5001, "x", 1), 0);
	run(&a, &b, 5, 10, 0);
	CHECK_EQ(a.s.core.mib[MIB_IcmpInDestUnreachs], 1);
	CHECK_EQ(b.s.core.mib[MIB_UdpNoPorts], 1);
	CHECK_EQ(tn_fini(&a), 0);
	CHECK_EQ(tn_fini(&b), 0);
}
