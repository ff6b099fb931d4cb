/* Syslog over UDP: RFC 5424 framing (golden strings) and the netconsole queue/sender. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/syslog.h"
#include <stdio.h>

static size_t fmt(char *buf, size_t cap, int fac, int sev, uint64_t us, const char *host,
		  const char *text)
{
	struct syslog_msg m = { fac, sev, us, host, "skiff", text, strlen(text) };
	return syslog_format(buf, cap, &m);
}

TEST(syslog_format_golden)
{
	char b[256];
	size_t n = fmt(b, sizeof(b), SYSLOG_FAC_LOCAL0, SYSLOG_SEV_INFO,
		       1796533341ull * 1000000 + 123456, "skiff", "dhcp: eth0: lease");
	CHECK_STR(b, "<134>1 2026-12-06T05:02:21.123456Z skiff skiff - - - dhcp: eth0: lease");
	CHECK_EQ(n, strlen(b));
	/* Leap day, last second; user facility, error severity: PRI 1*8+3. */
	fmt(b, sizeof(b), SYSLOG_FAC_USER, SYSLOG_SEV_ERR, 1709251199ull * 1000000, "h1", "x");
	CHECK_STR(b, "<11>1 2024-02-29T23:59:59.000000Z h1 skiff - - - x");
	fmt(b, sizeof(b), SYSLOG_FAC_USER, SYSLOG_SEV_DEBUG, 951868800ull * 1000000 + 1, "h", "");
	CHECK_STR(b, "<15>1 2000-03-01T00:00:00.000001Z h skiff - - - ");
}

TEST(syslog_format_nil_and_sanitised)
{
	char b[256];
	/* Unknown time and a hostname with a space: both NILVALUE (RFC 5424 §6.2). */
	fmt(b, sizeof(b), SYSLOG_FAC_LOCAL0, SYSLOG_SEV_WARNING, 0, "bad host", "a\tb\r\nc\x7f\xc3");
	CHECK_STR(b, "<132>1 - - skiff - - - a b  c ?");
	fmt(b, sizeof(b), SYSLOG_FAC_LOCAL0, SYSLOG_SEV_WARNING, 0, NULL, "m");
	CHECK_STR(b, "<132>1 - - skiff - - - m");
	fmt(b, sizeof(b), SYSLOG_FAC_LOCAL0, SYSLOG_SEV_WARNING, 0, "", "m");
	CHECK_STR(b, "<132>1 - - skiff - - - m");
}

TEST(syslog_format_bounds)
{
	char b[64];
	memset(b, 'X', sizeof(b));
	/* MSG is cut to fit, NUL terminated. */
	size_t n = fmt(b, 30, SYSLOG_FAC_LOCAL0, SYSLOG_SEV_INFO, 0, "h", "0123456789abcdef");
	CHECK_EQ(n, 29);
	CHECK_STR(b, "<134>1 - h skiff - - - 012345");
	CHECK_EQ(b[30], 'X');
	/* The header does not fit: nothing. */
	CHECK_EQ(fmt(b, 10, SYSLOG_FAC_LOCAL0, SYSLOG_SEV_INFO, 0, "h", "m"), 0);
	CHECK_EQ(fmt(b, 0, SYSLOG_FAC_LOCAL0, SYSLOG_SEV_INFO, 0, "h", "m"), 0);
	/* Out-of-range facility or severity. */
	CHECK_EQ(fmt(b, sizeof(b), 24, 0, 0, "h", "m"), 0);
	CHECK_EQ(fmt(b, sizeof(b), 1, 8, 0, "h", "m"), 0);
	CHECK_EQ(fmt(b, sizeof(b), -1, 0, 0, "h", "m"), 0);
}

static void log_line(struct netconsole *nc, int i)
{
	char t[32];
	int n = snprintf(t, sizeof(t), "line %d", i);
	netconsole_log(nc, SYSLOG_SEV_INFO, 0, t, (size_t)n);
}

/* Pops UDP frames; checks each is a syslog datagram to 10.0.0.2:514; returns how many,
 * with the last one's text in last. */
static int collect(struct test_net *t, char *last, size_t cap)
{
	struct frame fr;
	uint8_t buf[2048];
	int n = 0;
	while (tn_next(t, &fr, buf)) {
		if (!fr.is_udp || fr.udp.dport == 67)      /* DHCP is not ours */
			continue;
		CHECK_EQ(fr.ip.dst, ip("10.0.0.2"));
		CHECK_EQ(fr.udp.dport, 514);
		CHECK_EQ(fr.udp.sport, NETCONSOLE_SPORT);
		size_t k = fr.l4len < cap - 1 ? fr.l4len : cap - 1;
		memcpy(last, fr.l4, k);
		last[k] = 0;
		n++;
	}
	return n;
}

TEST(netconsole_queues_until_attached_then_drains_by_budget)
{
	static struct test_net t;
	static struct netconsole nc;
	char last[512];
	tn_init_peer(&t);
	netconsole_init(&nc, ip("10.0.0.2"), 514, SYSLOG_FAC_LOCAL0, "skiff1");
	for (int i = 0; i < 20; i++)
		log_line(&nc, i);
	netconsole_poll(&nc, 0);                /* not attached: nothing goes out */
	CHECK_EQ(collect(&t, last, sizeof(last)), 0);
	CHECK_EQ(netconsole_waiting(&nc), 20);
	netconsole_attach(&nc, &t.s.udp);
	netconsole_poll(&nc, 0);
	CHECK_EQ(collect(&t, last, sizeof(last)), NETCONSOLE_BUDGET);
	CHECK(strcmp(last, "<134>1 - skiff1 skiff - - - line 15") == 0);
	netconsole_poll(&nc, 0);
	CHECK_EQ(collect(&t, last, sizeof(last)), 4);
	CHECK(strcmp(last, "<134>1 - skiff1 skiff - - - line 19") == 0);
	CHECK_EQ(nc.stats.queued, 20);
	CHECK_EQ(nc.stats.sent, 20);
	CHECK_EQ(nc.stats.overflow, 0);
	CHECK_EQ(nc.stats.errors, 0);
	CHECK_EQ(netconsole_waiting(&nc), 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(netconsole_ring_overflow_drops_oldest_counted)
{
	static struct test_net t;
	static struct netconsole nc;
	char last[512];
	tn_init_peer(&t);
	netconsole_init(&nc, ip("10.0.0.2"), 514, SYSLOG_FAC_LOCAL0, "skiff1");
	for (int i = 0; i < NETCONSOLE_RING + 5; i++)
		log_line(&nc, i);
	CHECK_EQ(nc.stats.overflow, 5);
	CHECK_EQ(netconsole_waiting(&nc), NETCONSOLE_RING);
	netconsole_attach(&nc, &t.s.udp);
	netconsole_poll(&nc, 0);
	struct frame fr;
	uint8_t buf[2048];
	REQUIRE(tn_next(&t, &fr, buf) && fr.is_udp);
	CHECK_MEM(fr.l4, "<134>1 - skiff1 skiff - - - line 5", fr.l4len);
	/* A line longer than the slot is cut to NETCONSOLE_LINE_MAX. */
	char big[NETCONSOLE_LINE_MAX + 50];
	memset(big, 'z', sizeof(big));
	netconsole_log(&nc, SYSLOG_SEV_INFO, 0, big, sizeof(big));
	CHECK_EQ(nc.ring[(nc.tail - 1) % NETCONSOLE_RING].len, NETCONSOLE_LINE_MAX);
	for (int i = 0; i < 20; i++)
		netconsole_poll(&nc, 0);
	collect(&t, last, sizeof(last));
	CHECK_EQ(strlen(last), strlen("<134>1 - skiff1 skiff - - - ") + NETCONSOLE_LINE_MAX);
	CHECK_EQ(nc.stats.sent, NETCONSOLE_RING + 1);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(netconsole_waits_for_an_address)
{
	static struct test_net t;
	static struct netconsole nc;
	char last[512];
	tn_init(&t, 1, NULL, NULL, 1);          /* DHCP, no lease yet */
	netconsole_init(&nc, ip("10.0.0.2"), 514, SYSLOG_FAC_LOCAL0, "skiff1");
	netconsole_attach(&nc, &t.s.udp);
	log_line(&nc, 1);
	for (int i = 0; i < 3; i++) {
		tn_advance(&t, NET_NS_PER_SEC);
		netconsole_poll(&nc, t.s.core.now_ns);
	}
	CHECK_EQ(collect(&t, last, sizeof(last)), 0);      /* DHCP frames only */
	CHECK_EQ(netconsole_waiting(&nc), 1);
	CHECK_EQ(nc.stats.sent + nc.stats.errors, 0);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(netconsole_one_datagram_while_arp_resolves)
{
	static struct test_net t;
	static struct netconsole nc;
	char last[512];
	struct frame fr;
	uint8_t buf[2048], f[64];
	tn_init(&t, 1, "10.0.0.1/24", NULL, 0);
	tn_advance(&t, 0);
	fake_netdev_drop_all(&t.f);
	netconsole_init(&nc, ip("10.0.0.2"), 514, SYSLOG_FAC_LOCAL0, "skiff1");
	netconsole_attach(&nc, &t.s.udp);
	for (int i = 0; i < 10; i++)
		log_line(&nc, i);
	netconsole_poll(&nc, t.s.core.now_ns);
	/* One datagram is held by the neighbour entry; its ARP request is on the wire. */
	REQUIRE(tn_next(&t, &fr, buf));
	CHECK(fr.is_arp && fr.arp.tpa == ip("10.0.0.2"));
	CHECK(!tn_next(&t, &fr, buf));
	netconsole_poll(&nc, t.s.core.now_ns);  /* INCOMPLETE: nothing more */
	CHECK_EQ(netconsole_waiting(&nc), 9);
	size_t n = frame_arp(f, t.f.dev.mac, ARP_OP_REPLY, test_mac(2), ip("10.0.0.2"), t.f.dev.mac,
			     ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	netconsole_poll(&nc, t.s.core.now_ns);
	CHECK_EQ(collect(&t, last, sizeof(last)), 10);     /* the held one, then the rest */
	CHECK(strcmp(last, "<134>1 - skiff1 skiff - - - line 9") == 0);
	CHECK_EQ(nc.stats.sent, 10);
	CHECK_EQ(tn_fini(&t), 0);
}

TEST(netconsole_waits_while_the_link_is_down)
{
	static struct test_net t;
	static struct netconsole nc;
	char last[512];
	tn_init_peer(&t);
	netconsole_init(&nc, ip("10.0.0.2"), 514, SYSLOG_FAC_LOCAL0, "skiff1");
	netconsole_attach(&nc, &t.s.udp);
	t.f.link = 0;
	tn_advance(&t, 2 * NET_LINK_CHECK_NS);
	fake_netdev_drop_all(&t.f);
	log_line(&nc, 1);
	netconsole_poll(&nc, t.s.core.now_ns);
	CHECK_EQ(collect(&t, last, sizeof(last)), 0);
	CHECK_EQ(nc.stats.errors, 0);
	t.f.link = 1;
	tn_advance(&t, 2 * NET_LINK_CHECK_NS);
	netconsole_poll(&nc, t.s.core.now_ns);
	/* Carrier loss forgot the neighbours (Linux neigh_carrier_down): the line waits for
	 * the peer's ARP reply. */
	uint8_t f[64];
	size_t n = frame_arp(f, t.f.dev.mac, ARP_OP_REPLY, test_mac(2), ip("10.0.0.2"),
			     t.f.dev.mac, ip("10.0.0.1"));
	fake_netdev_rx(&t.f, &t.s, f, n);
	CHECK_EQ(collect(&t, last, sizeof(last)), 1);
	CHECK(strcmp(last, "<134>1 - skiff1 skiff - - - line 1") == 0);
	CHECK_EQ(tn_fini(&t), 0);
}
