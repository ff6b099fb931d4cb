/* Routing: longest-prefix match, metrics, connected/default routes, `ip route get`. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/err.h"
#include <stdlib.h>

static struct route rt(const char *cidr, const char *gw, int ifi, uint32_t metric)
{
	struct route r = { .ifi = (uint8_t)ifi, .metric = metric, .proto = RTPROT_STATIC };
	int plen;
	if (inet_parse_cidr(cidr, &r.dst, &plen))
		abort();
	r.prefix_len = (uint8_t)plen;
	r.gateway = gw ? ip(gw) : 0;
	return r;
}

TEST(net_route_lpm)
{
	struct route_table t;
	memset(&t, 0, sizeof(t));
	struct route r[] = {
		rt("0.0.0.0/0", "10.0.0.254", 0, 0),
		rt("10.0.0.0/8", NULL, 1, 0),
		rt("10.1.0.0/16", NULL, 2, 0),
		rt("10.1.2.0/24", NULL, 3, 0),
		rt("10.1.2.128/25", "10.1.2.1", 3, 0),
		rt("10.1.2.77/32", NULL, 2, 0),
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		REQUIRE(route_add(&t, &r[i]) == 0);
	CHECK_EQ(route_lookup(&t, ip("8.8.8.8"))->prefix_len, 0);
	CHECK_EQ(route_lookup(&t, ip("10.9.9.9"))->prefix_len, 8);
	CHECK_EQ(route_lookup(&t, ip("10.1.9.9"))->prefix_len, 16);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.1"))->prefix_len, 24);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.127"))->prefix_len, 24);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.128"))->prefix_len, 25);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.255"))->prefix_len, 25);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.77"))->prefix_len, 32);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.78"))->prefix_len, 24);
	/* Duplicates are refused; the host bits of dst are masked off. */
	struct route dup = rt("10.1.2.99/24", NULL, 0, 0);
	CHECK_EQ(route_add(&t, &dup), -NET_EEXIST);
	/* Deleting the /24 exposes the /16. */
	CHECK_EQ(route_del(&t, ip("10.1.2.0"), 24), 0);
	CHECK_EQ(route_del(&t, ip("10.1.2.0"), 24), -NET_ENOENT);
	CHECK_EQ(route_lookup(&t, ip("10.1.2.1"))->prefix_len, 16);
	/* Without a default route nothing outside matches. */
	CHECK_EQ(route_del(&t, 0, 0), 0);
	CHECK(route_lookup(&t, ip("192.0.2.1")) == NULL);
	route_flush(&t, 2, -1);
	CHECK_EQ(route_lookup(&t, ip("10.1.9.9"))->prefix_len, 8);
}

TEST(net_route_metric_and_capacity)
{
	struct route_table t;
	memset(&t, 0, sizeof(t));
	struct route a = rt("0.0.0.0/0", "10.0.0.1", 0, 100), b = rt("0.0.0.0/0", "10.0.0.2", 1, 50);
	REQUIRE(route_add(&t, &a) == 0 && route_add(&t, &b) == 0);
	CHECK_EQ(route_lookup(&t, ip("1.1.1.1"))->gateway, ip("10.0.0.2"));
	struct route bad = rt("0.0.0.0/0", NULL, 0, 0);
	bad.prefix_len = 33;
	CHECK_EQ(route_add(&t, &bad), -NET_EINVAL);
	for (int i = 2; i < ROUTE_MAX; i++) {
		struct route r = rt("172.16.0.0/16", NULL, 0, (uint32_t)i);
		CHECK_EQ(route_add(&t, &r), 0);
	}
	struct route more = rt("172.17.0.0/16", NULL, 0, 0);
	CHECK_EQ(route_add(&t, &more), -NET_ENOSPC);
}

TEST(net_route_get_semantics)
{
	struct test_net t;
	struct route_result r;
	tn_init(&t, 1, "10.0.2.15/24", "10.0.2.2", 0);
	REQUIRE(route_get(&t.s.routes, ip("10.0.2.3"), &r) == 0);
	CHECK_EQ(r.type, RTN_UNICAST);
	CHECK_EQ(r.ifi, 0);
	CHECK_EQ(r.nexthop, ip("10.0.2.3"));    /* on link */
	CHECK_EQ(r.src, ip("10.0.2.15"));
	REQUIRE(route_get(&t.s.routes, ip("93.184.216.34"), &r) == 0);
	CHECK_EQ(r.nexthop, ip("10.0.2.2"));    /* via the gateway */
	CHECK_EQ(r.src, ip("10.0.2.15"));
	REQUIRE(route_get(&t.s.routes, ip("10.0.2.15"), &r) == 0);
	CHECK_EQ(r.type, RTN_LOCAL);
	REQUIRE(route_get(&t.s.routes, ip("10.0.2.255"), &r) == 0);
	CHECK_EQ(r.type, RTN_BROADCAST);
	REQUIRE(route_get(&t.s.routes, ip("255.255.255.255"), &r) == 0);
	CHECK_EQ(r.type, RTN_BROADCAST);
	CHECK(route_get(&t.s.routes, ip("224.0.0.1"), &r) < 0);

	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route"), 0);
	CHECK(tn_out_is(&t, "default via 10.0.2.2 dev eth0 proto static\n"
			    "10.0.2.0/24 dev eth0 proto kernel scope link src 10.0.2.15\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route get 1.1.1.1"), 0);
	CHECK(tn_out_is(&t, "1.1.1.1 via 10.0.2.2 dev eth0 src 10.0.2.15 uid 0\n    cache\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip r g 10.0.2.3"), 0);
	CHECK(tn_out_is(&t, "10.0.2.3 dev eth0 src 10.0.2.15 uid 0\n    cache\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route get 10.0.2.15"), 0);
	CHECK(tn_out_is(&t, "local 10.0.2.15 dev eth0 src 10.0.2.15 uid 0\n    cache <local>\n"));
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route get 10.0.2"), -1);
	CHECK(tn_out_is(&t, "Error: inet prefix is expected rather than \"10.0.2\".\n"));

	/* Remove the default route: off-link destinations become unreachable. */
	CHECK_EQ(tn_cmd(&t, "ip route del default"), 0);
	tn_clear(&t);
	CHECK_EQ(tn_cmd(&t, "ip route get 1.1.1.1"), -1);
	CHECK(tn_out_is(&t, "RTNETLINK answers: Network is unreachable\n"));
	/* ... and a more specific one added by hand wins over the connected /24. */
	CHECK_EQ(tn_cmd(&t, "ip route add 10.0.2.128/25 via 10.0.2.2"), 0);
	REQUIRE(route_get(&t.s.routes, ip("10.0.2.200"), &r) == 0);
	CHECK_EQ(r.nexthop, ip("10.0.2.2"));
	CHECK_EQ(tn_cmd(&t, "ip route add 10.9.0.0/16 via 192.0.2.1"), -1);   /* gateway off-link */
	CHECK_EQ(tn_fini(&t), 0);
}

/* Lookup stops past the highest slot ever used: holes left by deletes and the very last
 * slot are still searched. */
TEST(net_route_lookup_bound)
{
	struct route_table t;
	memset(&t, 0, sizeof(t));
	char cidr[32];
	for (int i = 0; i < ROUTE_MAX; i++) {
		snprintf(cidr, sizeof(cidr), "192.0.2.%d/32", i);
		struct route r = rt(cidr, NULL, 0, 0);
		REQUIRE(route_add(&t, &r) == 0);
	}
	CHECK_EQ(t.hi, ROUTE_MAX);
	CHECK(route_lookup(&t, ip("192.0.2.15")) != NULL);
	CHECK_EQ(route_del(&t, ip("192.0.2.3"), 32), 0);
	CHECK(route_lookup(&t, ip("192.0.2.3")) == NULL);
	CHECK(route_lookup(&t, ip("192.0.2.15")) != NULL);
	struct route r = rt("198.51.100.0/24", NULL, 0, 0);
	REQUIRE(route_add(&t, &r) == 0);            /* into the hole at slot 3 */
	CHECK_EQ(route_lookup(&t, ip("198.51.100.7"))->prefix_len, 24);
	route_flush(&t, 0, -1);
	CHECK(route_lookup(&t, ip("192.0.2.15")) == NULL);
}

/* route_get remembers its last answer: a route added or deleted, or an address
 * changed, must show in the very next answer for the same destination. */
TEST(net_route_get_cache_follows_changes)
{
	struct test_net t;
	struct route_result r;
	tn_init(&t, 1, "10.0.2.15/24", "10.0.2.2", 0);
	uint32_t dst = ip("93.184.216.34");
	REQUIRE(route_get(&t.s.routes, dst, &r) == 0);
	CHECK_EQ(r.nexthop, ip("10.0.2.2"));
	REQUIRE(route_get(&t.s.routes, dst, &r) == 0);          /* from the cache */
	CHECK_EQ(r.nexthop, ip("10.0.2.2"));
	struct route more = rt("93.184.0.0/16", "10.0.2.9", 0, 0);
	REQUIRE(route_add(&t.s.routes, &more) == 0);
	REQUIRE(route_get(&t.s.routes, dst, &r) == 0);
	CHECK_EQ(r.nexthop, ip("10.0.2.9"));
	REQUIRE(route_del(&t.s.routes, ip("93.184.0.0"), 16) == 0);
	REQUIRE(route_get(&t.s.routes, dst, &r) == 0);
	CHECK_EQ(r.nexthop, ip("10.0.2.2"));
	uint32_t local = ip("10.0.2.3");
	REQUIRE(route_get(&t.s.routes, local, &r) == 0);
	CHECK_EQ(r.type, RTN_UNICAST);
	ipv4_set_addr(&t.s.ip, 0, local, 24, IFACE_ADDR_STATIC, 0);     /* now ours */
	REQUIRE(route_get(&t.s.routes, local, &r) == 0);
	CHECK_EQ(r.type, RTN_LOCAL);
	ipv4_clear_addr(&t.s.ip, 0);
	CHECK(route_get(&t.s.routes, local, &r) < 0);            /* no address, no route */
	CHECK_EQ(tn_fini(&t), 0);
}
