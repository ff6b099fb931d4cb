/*
 * `ip` (iproute2 layout): ip [-s] {addr|route|neigh|link} ...
 *   ip addr [show [dev D]] | ip addr {add|del} A/N dev D
 *   ip route [show] | ip route get A | ip route {add|del} {default|A/N} [via G] [dev D]
 *   ip neigh [show [dev D]] | ip neigh flush {all|dev D}
 *   ip [-s] link [show [dev D]]
 * Object and command names may be abbreviated as iproute2 allows ("ip a", "ip r g").
 */
#include "net/cmd_ip.h"
#include "net/cmd_util.h"
#include "net/stack.h"
#include "net/ipv4.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"
#include "lib/fmt.h"

static unsigned ifindex(const struct net_stack *s, int ifi)
{
	return s->link.ifs[ifi].dev->ifindex ? s->link.ifs[ifi].dev->ifindex : (unsigned)ifi + 1;
}

static void link_head(struct net_stack *s, const struct cmd_out *o, int ifi, int link_mode)
{
	const struct net_if *ifc = &s->link.ifs[ifi];
	char mac[ETH_MACSTRLEN];
	cmd_printf(o, "%u: %s: <BROADCAST,MULTICAST,UP%s> mtu %u qdisc %s state %s %sgroup default qlen %u\n",
		   ifindex(s, ifi), ifc->dev->name, ifc->link_up ? ",LOWER_UP" : "", ifc->mtu,
		   qdisc_kind(&ifc->qdisc), ifc->link_up ? "UP" : "DOWN", link_mode ? "mode DEFAULT " : "", ifc->qdisc.limit);
	cmd_printf(o, "    link/ether %s brd ff:ff:ff:ff:ff:ff\n", eth_fmt(mac, ifc->dev->mac, 0));
}

static void link_stats(const struct net_if *ifc, const struct cmd_out *o)
{
	struct netdev_stats st = { 0 };
	if (ifc->dev->ops->get_stats)
		ifc->dev->ops->get_stats(ifc->dev, &st);
	cmd_printf(o, "    RX:  bytes packets errors dropped  missed   mcast\n");
	cmd_printf(o, "    %10lu %7lu %6lu %7lu %7lu %7lu\n", st.rx_bytes, st.rx_packets, st.rx_errors,
		   st.rx_dropped, st.rx_missed, st.multicast);
	cmd_printf(o, "    TX:  bytes packets errors dropped carrier collsns\n");
	cmd_printf(o, "    %10lu %7lu %6lu %7lu %7lu %7lu\n", st.tx_bytes, st.tx_packets, st.tx_errors,
		   st.tx_dropped + ifc->qdisc.st.drops, 0ul, st.collisions);
}

/* Parses "[show] [dev D]"; returns the interface filter (-1 all) or -2 on error. */
static int show_args(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	int only = -1;
	for (int i = 0; i < argc; i++) {
		if (cmd_matches(argv[i], "show") || cmd_matches(argv[i], "list"))
			continue;
		const char *name = argv[i];
		if (strcmp(argv[i], "dev") == 0) {
			if (i + 1 >= argc) {
				cmd_printf(o, "Command line is not complete. Try option \"help\"\n");
				return -2;
			}
			name = argv[++i];
		}
		if ((only = cmd_dev(s, o, name)) < 0)
			return -2;
	}
	return only;
}

static int ip_link(struct net_stack *s, const struct cmd_out *o, int stats, int argc, char **argv)
{
	int only = show_args(s, o, argc, argv);
	if (only == -2)
		return -1;
	for (int i = 0; i < s->link.nifs; i++) {
		if (only >= 0 && i != only)
			continue;
		link_head(s, o, i, 1);
		if (stats)
			link_stats(&s->link.ifs[i], o);
	}
	return 0;
}

static void addr_show_one(struct net_stack *s, const struct cmd_out *o, int ifi)
{
	const struct net_if *ifc = &s->link.ifs[ifi];
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	link_head(s, o, ifi, 0);
	if (!ifc->addr)
		return;
	char brd[24] = "";
	if (ifc->prefix_len < 31)       /* /31 and /32 have no broadcast address */
		ksnprintf(brd, sizeof(brd), " brd %s", inet_fmt(b, iface_bcast(ifc)));
	cmd_printf(o, "    inet %s/%u%s scope global %s%s\n", inet_fmt(a, ifc->addr), ifc->prefix_len,
		   brd, ifc->origin == IFACE_ADDR_DHCP ? "dynamic " : "", ifc->dev->name);
	if (ifc->valid_until_ns) {
		uint64_t left = ifc->valid_until_ns > s->core.now_ns ?
				(ifc->valid_until_ns - s->core.now_ns) / NET_NS_PER_SEC : 0;
		cmd_printf(o, "       valid_lft %lusec preferred_lft %lusec\n", left, left);
	} else {
		cmd_printf(o, "       valid_lft forever preferred_lft forever\n");
	}
}

/* ip addr {add|del} A/N dev D */
static int addr_change(struct net_stack *s, const struct cmd_out *o, int add, int argc, char **argv)
{
	uint32_t addr;
	int plen, ifi;
	if (argc != 3 || strcmp(argv[1], "dev") != 0) {
		cmd_printf(o, "Usage: ip addr {add|del} IFADDR dev IFNAME\n");
		return -1;
	}
	if (inet_parse_cidr(argv[0], &addr, &plen) || inet_is_martian_src(addr)) {
		cmd_printf(o, "Error: any valid prefix is expected rather than \"%s\".\n", argv[0]);
		return -1;
	}
	if ((ifi = cmd_dev(s, o, argv[2])) < 0)
		return -1;
	if (add) {
		if (s->link.ifs[ifi].addr) {
			cmd_printf(o, "RTNETLINK answers: File exists\n");
			return -1;
		}
		ipv4_set_addr(&s->ip, ifi, addr, plen, IFACE_ADDR_STATIC, 0);
		return 0;
	}
	if (s->link.ifs[ifi].addr != addr) {
		cmd_printf(o, "RTNETLINK answers: Cannot assign requested address\n");
		return -1;
	}
	ipv4_clear_addr(&s->ip, ifi);
	return 0;
}

static int ip_addr(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	if (argc > 0 && (cmd_matches(argv[0], "add") || cmd_matches(argv[0], "delete")))
		return addr_change(s, o, argv[0][0] == 'a', argc - 1, argv + 1);
	int only = show_args(s, o, argc, argv);
	if (only == -2)
		return -1;
	for (int i = 0; i < s->link.nifs; i++)
		if (only < 0 || i == only)
			addr_show_one(s, o, i);
	return 0;
}

static void route_line(struct net_stack *s, const struct cmd_out *o, const struct route *r)
{
	char d[24], g[INET_ADDRSTRLEN], src[40] = "", metric[24] = "";
	char via[32] = "";
	if (r->gateway)
		ksnprintf(via, sizeof(via), " via %s", inet_fmt(g, r->gateway));
	if (r->prefsrc)
		ksnprintf(src, sizeof(src), " src %s", inet_fmt(g, r->prefsrc));
	if (r->metric)
		ksnprintf(metric, sizeof(metric), " metric %u", r->metric);
	char proto[24] = "";
	if (r->proto != RTPROT_BOOT)    /* iproute2 leaves out the default "proto boot" */
		ksnprintf(proto, sizeof(proto), " proto %s", route_proto_name(r->proto));
	if (r->prefix_len == 0)
		ksnprintf(d, sizeof(d), "default");
	else
		ksnprintf(d, sizeof(d), "%s/%u", inet_fmt(g, r->dst), r->prefix_len);
	cmd_printf(o, "%s%s dev %s%s%s%s%s\n", d, via, s->link.ifs[r->ifi].dev->name, proto,
		   r->gateway ? "" : " scope link", src, metric);
}

/* Prints routes ordered by destination then prefix, as the Linux FIB dump does. */
static void route_show(struct net_stack *s, const struct cmd_out *o)
{
	uint64_t last = 0;
	for (;;) {
		const struct route *best = NULL;
		uint64_t best_key = 0;
		for (int i = 0; i < ROUTE_MAX; i++) {
			const struct route *r = &s->routes.r[i];
			uint64_t key = ((uint64_t)r->dst << 8 | r->prefix_len) << 8 | (uint64_t)i;
			if (r->used && key >= last && (!best || key < best_key)) {
				best = r;
				best_key = key;
			}
		}
		if (!best)
			return;
		route_line(s, o, best);
		last = best_key + 1;
	}
}

static int route_get_cmd(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	uint32_t dst;
	struct route_result rt;
	char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	if (argc != 1 || inet_parse(argv[0], &dst)) {
		cmd_printf(o, "Error: inet prefix is expected rather than \"%s\".\n", argc ? argv[0] : "");
		return -1;
	}
	if (route_get(&s->routes, dst, &rt) < 0) {
		cmd_printf(o, "RTNETLINK answers: Network is unreachable\n");
		return -1;
	}
	const char *dev = s->link.ifs[rt.ifi].dev->name;
	inet_fmt(d, dst);
	inet_fmt(src, rt.src);
	if (rt.type == RTN_LOCAL)
		cmd_printf(o, "local %s dev %s src %s uid 0\n    cache <local>\n", d, dev, src);
	else if (rt.type == RTN_BROADCAST)
		cmd_printf(o, "broadcast %s dev %s src %s uid 0\n    cache <local,brd>\n", d, dev, src);
	else if (rt.nexthop != dst)
		cmd_printf(o, "%s via %s dev %s src %s uid 0\n    cache\n", d, inet_fmt(g, rt.nexthop), dev, src);
	else
		cmd_printf(o, "%s dev %s src %s uid 0\n    cache\n", d, dev, src);
	return 0;
}

/* ip route {add|del} {default|A/N} [via G] [dev D] [metric M] */
static int route_change(struct net_stack *s, const struct cmd_out *o, int add, int argc, char **argv)
{
	struct route r = { .proto = RTPROT_BOOT };
	int plen = 0, ifi = -1;
	uint32_t v;
	if (argc < 1 || (strcmp(argv[0], "default") && inet_parse_cidr(argv[0], &r.dst, &plen))) {
		cmd_printf(o, "Error: inet prefix is expected rather than \"%s\".\n", argc ? argv[0] : "");
		return -1;
	}
	r.prefix_len = (uint8_t)plen;
	for (int i = 1; i < argc; i += 2) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val) {
			cmd_printf(o, "Command line is not complete. Try option \"help\"\n");
			return -1;
		}
		if (strcmp(argv[i], "via") == 0 && !inet_parse(val, &r.gateway))
			continue;
		if (strcmp(argv[i], "dev") == 0 && (ifi = cmd_dev(s, o, val)) >= 0)
			continue;
		if (strcmp(argv[i], "metric") == 0 && !cmd_parse_uint(val, 0xffffffffu, &v)) {
			r.metric = v;
			continue;
		}
		if (strcmp(argv[i], "dev"))
			cmd_printf(o, "Error: argument \"%s\" is wrong: \"%s\"\n", argv[i], val);
		return -1;
	}
	if (!add) {
		if (route_del(&s->routes, r.dst, plen) == 0)
			return 0;
		cmd_printf(o, "RTNETLINK answers: No such process\n");
		return -1;
	}
	if (ifi < 0 && r.gateway) {
		const struct route *via = route_lookup(&s->routes, r.gateway);
		ifi = via && !via->gateway ? via->ifi : -1;
	}
	if (ifi < 0) {
		cmd_printf(o, "Error: Nexthop has invalid gateway.\n");
		return -1;
	}
	r.ifi = (uint8_t)ifi;
	int e = route_add(&s->routes, &r);
	if (e)
		cmd_printf(o, "RTNETLINK answers: %s\n", e == -NET_EEXIST ? "File exists" : "No buffer space available");
	return e ? -1 : 0;
}

/* `ip route show cache`: the path MTUs IPv4 learnt (iproute2's layout for a cached
 * exception route: destination, gateway and device, then expiry and mtu). */
static void route_cache_show(struct net_stack *s, const struct cmd_out *o)
{
	for (int i = 0; i < IPV4_PMTU_MAX; i++) {
		const struct ipv4_pmtu *e = &s->ip.pmtu[i];
		char a[INET_ADDRSTRLEN], f[INET_ADDRSTRLEN];
		struct route_result rt;
		uint64_t age = s->core.now_ns - e->learned_ns;
		if (!e->dst || !ipv4_pmtu_get(&s->ip, e->dst) || route_get(&s->routes, e->dst, &rt) < 0)
			continue;
		cmd_printf(o, "%s", inet_fmt(a, e->dst));
		if (rt.nexthop != e->dst)
			cmd_printf(o, " via %s", inet_fmt(a, rt.nexthop));
		cmd_printf(o, " dev %s \n    cache expires %lusec mtu %u from %s\n",
			   s->link.ifs[rt.ifi].dev->name,
			   (unsigned long)((IPV4_PMTU_EXPIRES_NS - age) / NET_NS_PER_SEC), e->mtu,
			   inet_fmt(f, e->from));
	}
}

static int ip_route(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	if (argc == 2 && cmd_matches(argv[0], "show") && cmd_matches(argv[1], "cache")) {
		route_cache_show(s, o);
		return 0;
	}
	if (argc == 0 || cmd_matches(argv[0], "show") || cmd_matches(argv[0], "list")) {
		route_show(s, o);
		return 0;
	}
	if (cmd_matches(argv[0], "get"))
		return route_get_cmd(s, o, argc - 1, argv + 1);
	if (cmd_matches(argv[0], "add"))
		return route_change(s, o, 1, argc - 1, argv + 1);
	if (cmd_matches(argv[0], "delete"))
		return route_change(s, o, 0, argc - 1, argv + 1);
	cmd_printf(o, "Command \"%s\" is unknown, try \"ip route help\".\n", argv[0]);
	return -1;
}

static void neigh_line(struct net_stack *s, const struct cmd_out *o, const struct neigh_entry *e,
		       int stats)
{
	char a[INET_ADDRSTRLEN], mac[ETH_MACSTRLEN], lladdr[40] = "", extra[64] = "";
	int has_mac = e->state != NEIGH_INCOMPLETE && e->state != NEIGH_FAILED;
	if (has_mac)
		ksnprintf(lladdr, sizeof(lladdr), " lladdr %s", eth_fmt(mac, e->mac, 0));
	if (stats) {
		uint64_t now = s->core.now_ns;
		ksnprintf(extra, sizeof(extra), " used %lu/%lu/%lu probes %u",
			  (now - e->used_ns) / NET_NS_PER_SEC,
			  e->confirmed_ns ? (now - e->confirmed_ns) / NET_NS_PER_SEC : (now - e->created_ns) / NET_NS_PER_SEC,
			  (now - e->updated_ns) / NET_NS_PER_SEC, e->probes);
	}
	cmd_printf(o, "%s dev %s%s%s %s\n", inet_fmt(a, e->addr), s->link.ifs[e->ifi].dev->name, lladdr,
		   extra, neigh_state_name(e->state));
}

static int ip_neigh(struct net_stack *s, const struct cmd_out *o, int stats, int argc, char **argv)
{
	if (argc > 0 && cmd_matches(argv[0], "flush")) {
		int ifi = -1;
		if (argc == 3 && strcmp(argv[1], "dev") == 0)
			ifi = cmd_dev(s, o, argv[2]);
		else if (!(argc == 2 && strcmp(argv[1], "all") == 0)) {
			cmd_printf(o, "Flush requires arguments.\n");
			return -1;
		}
		if (argc == 3 && ifi < 0)
			return -1;
		neigh_flush(&s->neigh, ifi);
		return 0;
	}
	int only = show_args(s, o, argc, argv);
	if (only == -2)
		return -1;
	for (int i = 0; i < NEIGH_MAX; i++) {
		const struct neigh_entry *e = &s->neigh.e[i];
		if (e->state != NEIGH_NONE && (only < 0 || e->ifi == only))
			neigh_line(s, o, e, stats);
	}
	return 0;
}

int cmd_ip(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	int stats = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-s") == 0 || cmd_matches(argv[i], "-statistics"))
			stats++;
		else if (strcmp(argv[i], "-4") != 0) {
			cmd_printf(o, "Option \"%s\" is unknown, try \"ip -help\".\n", argv[i]);
			return -1;
		}
	}
	if (i >= argc) {
		cmd_printf(o, "Usage: ip [-s] { addr | route | neigh | link } ...\n");
		return -1;
	}
	const char *obj = argv[i];
	int n = argc - i - 1;
	char **rest = argv + i + 1;
	if (cmd_matches(obj, "address"))
		return ip_addr(s, o, n, rest);
	if (cmd_matches(obj, "route"))
		return ip_route(s, o, n, rest);
	if (cmd_matches(obj, "neighbour") || cmd_matches(obj, "neighbor"))
		return ip_neigh(s, o, stats, n, rest);
	if (cmd_matches(obj, "link"))
		return ip_link(s, o, stats, n, rest);
	cmd_printf(o, "Object \"%s\" is unknown, try \"ip help\".\n", obj);
	return -1;
}
