/*
 * net_cmd(): the stack's shell commands, each printing what its Linux namesake prints
 * for the same state (iproute2 ip/tc, ethtool -S, nstat, iputils ping/arping), so the
 * muscle memory and the system tests' regexes carry over. `ip` is in cmd_ip.c.
 * Asynchronous commands (ping, arping) return at once; their output arrives from
 * net_poll() through the same out() callback.
 */
#include <stdarg.h>
#include "net/cmd.h"
#include "net/cmd_ip.h"
#include "net/cmd_util.h"
#include "net/cmd_capture.h"
#include "net/stack.h"
#include "net/inet.h"
#include "net/err.h"
#include "lib/string.h"
#include "lib/fmt.h"

const char *const net_cmd_names[] = { "ip", "ethtool", "tc", "nstat", "ping", "arping", "dhcp", "ss", "tcpdump", "trace", "tracepath", "sysctl", NULL };

/* ---- ethtool ------------------------------------------------------------------- */

static void xstat_line(void *ctx, const char *name, uint64_t value)
{
	cmd_printf(ctx, "     %s: %lu\n", name, (unsigned long)value);
}

static int cmd_ethtool(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	const char *opt = argc == 3 ? argv[1] : "";
	if (argc != 2 && argc != 3) {
		cmd_printf(o, "ethtool: bad command line argument(s)\n");
		return -1;
	}
	int ifi = link_by_name(&s->link, argv[argc - 1]);
	if (ifi < 0) {
		cmd_printf(o, "Cannot get device settings: No such device\n");
		return -1;
	}
	struct netdev *dev = s->link.ifs[ifi].dev;
	if (argc == 2) {
		cmd_printf(o, "Settings for %s:\n\tLink detected: %s\n", dev->name,
			   s->link.ifs[ifi].link_up ? "yes" : "no");
	} else if (strcmp(opt, "-i") == 0) {
		cmd_printf(o, "driver: %s\nbus-info: \n", dev->driver);
	} else if (strcmp(opt, "-S") == 0) {
		cmd_printf(o, "NIC statistics:\n");
		if (dev->ops->xstats)
			dev->ops->xstats(dev, xstat_line, (void *)o);
		xstat_line((void *)o, "irqs", dev->napi.irqs);
		xstat_line((void *)o, "polls", dev->napi.polls);
		xstat_line((void *)o, "budget_exhausted", dev->napi.budget_exhausted);
		xstat_line((void *)o, "rearms", dev->napi.rearms);
		xstat_line((void *)o, "napi_rx_frames", dev->napi.rx_frames);
		cmd_printf(o, "     irq_mode: %s\n", dev->irq_mode ? dev->irq_mode : "unknown");
	} else {
		cmd_printf(o, "ethtool: bad command line argument(s)\n");
		return -1;
	}
	return 0;
}

/* ---- tc ------------------------------------------------------------------------ */

/* tc's time values: N, Nus, Nms or Ns (no unit: us, as tc's get_time). 0 or -1. */
static int tc_time(const char *arg, uint64_t *ns)
{
	uint32_t v;
	char num[16];
	size_t n = 0;
	while (arg[n] >= '0' && arg[n] <= '9' && n < sizeof(num) - 1) {
		num[n] = arg[n];
		n++;
	}
	num[n] = 0;
	if (!n || cmd_parse_uint(num, 100000000u, &v))
		return -1;
	const char *unit = arg + n;
	uint64_t mul = strcmp(unit, "ms") == 0 ? NET_NS_PER_MS : strcmp(unit, "s") == 0 ? NET_NS_PER_SEC
		     : (strcmp(unit, "us") == 0 || !*unit) ? NET_NS_PER_US : 0;
	if (!mul || !v)
		return -1;
	*ns = v * mul;
	return 0;
}

/* fq_codel's options after the kind (tc-fq_codel(8)). 0, or -1 after tc's message. */
static int tc_fq_codel_opts(const struct cmd_out *o, int argc, char **argv, struct fq_codel_params *p)
{
	for (int i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint32_t n;
		if (strcmp(k, "ecn") == 0 || strcmp(k, "noecn") == 0) {
			p->ecn = k[0] == 'e';
			continue;
		}
		int ok = v != NULL;
		if (ok && strcmp(k, "limit") == 0)
			ok = !cmd_parse_uint(v, 100000, &n) && n && (p->limit = n, 1);
		else if (ok && strcmp(k, "flows") == 0)
			ok = !cmd_parse_uint(v, 65536, &n) && n && (p->flows = n, 1);
		else if (ok && strcmp(k, "quantum") == 0)
			ok = !cmd_parse_uint(v, 1 << 20, &n) && n >= 256 && (p->quantum = n, 1);
		else if (ok && strcmp(k, "target") == 0)
			ok = !tc_time(v, &p->target_ns);
		else if (ok && strcmp(k, "interval") == 0)
			ok = !tc_time(v, &p->interval_ns);
		else {
			cmd_printf(o, "What is \"%s\"?\nUsage: ... fq_codel [ limit PACKETS ] [ flows NUMBER ] "
				   "[ target TIME ] [ interval TIME ] [ quantum BYTES ] [ [no]ecn ]\n", k);
			return -1;
		}
		if (!ok) {
			cmd_printf(o, "Illegal \"%s\"\n", k);
			return -1;
		}
		i++;
	}
	return 0;
}

/* tc qdisc replace|add|change dev DEV root fq_codel|pfifo [options] */
static int tc_replace(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	int ifi = -1, i = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "dev") == 0 && i + 1 < argc) {
			if ((ifi = cmd_dev(s, o, argv[++i])) < 0)
				return -1;
		} else if (strcmp(argv[i], "root") != 0) {
			break;
		}
	}
	if (ifi < 0 || i >= argc) {
		cmd_printf(o, "Usage: tc qdisc replace dev DEV root fq_codel|pfifo [ OPTIONS ]\n");
		return -1;
	}
	struct qdisc *qd = &s->link.ifs[ifi].qdisc;
	if (strcmp(argv[i], "pfifo") == 0) {
		uint32_t limit = QDISC_LIMIT;
		if (i + 1 < argc && (strcmp(argv[i + 1], "limit") != 0 || i + 3 != argc ||
				     cmd_parse_uint(argv[i + 2], 100000, &limit) || !limit)) {
			cmd_printf(o, "Illegal \"limit\"\n");
			return -1;
		}
		qdisc_set_pfifo(qd, &s->core, limit);
		return 0;
	}
	if (strcmp(argv[i], "fq_codel") != 0) {
		cmd_printf(o, "Unknown qdisc \"%s\", hence option \"%s\" is unparsable\n", argv[i],
			   i + 1 < argc ? argv[i + 1] : "");
		return -1;
	}
	struct fq_codel_params p;
	fq_codel_params_default(&p);
	p.limit = QDISC_LIMIT;
	p.memory_limit = QDISC_LIMIT * PKT_SLOT_SIZE;
	if (tc_fq_codel_opts(o, argc - i - 1, argv + i + 1, &p))
		return -1;
	int r = qdisc_set_fq_codel(qd, &s->core, &p);
	if (r) {
		cmd_printf(o, "RTNETLINK answers: %s\n", r == -NET_ENOMEM ? "Cannot allocate memory"
								   : "Invalid argument");
		return -1;
	}
	return 0;
}

static int cmd_tc(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	int stats = 0, i = 1, only = -1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (cmd_matches(argv[i], "-statistics") || strcmp(argv[i], "-s") == 0) {
			stats = 1;
		} else {
			cmd_printf(o, "Option \"%s\" is unknown, try \"tc -help\".\n", argv[i]);
			return -1;
		}
	}
	if (i >= argc || !cmd_matches(argv[i], "qdisc")) {
		cmd_printf(o, "Usage: tc [-s] qdisc [show] [dev DEV]\n"
			      "       tc qdisc replace dev DEV root fq_codel|pfifo [ OPTIONS ]\n");
		return -1;
	}
	i++;
	if (i < argc && (strcmp(argv[i], "replace") == 0 || strcmp(argv[i], "add") == 0 ||
			 strcmp(argv[i], "change") == 0))
		return tc_replace(s, o, argc - i - 1, argv + i + 1);
	for (; i < argc; i++) {
		if (cmd_matches(argv[i], "show") || cmd_matches(argv[i], "list"))
			continue;
		if (strcmp(argv[i], "dev") == 0 && i + 1 < argc) {
			if ((only = cmd_dev(s, o, argv[++i])) < 0)
				return -1;
			continue;
		}
		cmd_printf(o, "What is \"%s\"? Try \"tc qdisc help\".\n", argv[i]);
		return -1;
	}
	for (int k = 0; k < s->link.nifs; k++) {
		char buf[640];
		if (only >= 0 && k != only)
			continue;
		qdisc_show(&s->link.ifs[k].qdisc, s->link.ifs[k].dev->name, stats, buf, sizeof(buf));
		o->fn(o->ctx, buf);
		if (stats && qdisc_show_bql(&s->link.ifs[k].qdisc, buf, sizeof(buf)) > 0)
			o->fn(o->ctx, buf);
	}
	return 0;
}

/* ---- nstat --------------------------------------------------------------------- */

/* Shell-style glob with '*' and '?', iterative (bounded by the two lengths). */
static int glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *mark = NULL;
	while (*s) {
		if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (*pat == '*') {
			star = pat++;
			mark = s;
		} else if (star) {
			pat = star + 1;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

static int wanted(int npat, char **pats, const char *name)
{
	for (int i = 0; i < npat; i++)
		if (glob_match(pats[i], name))
			return 1;
	return npat == 0;
}

static void nstat_line(const struct cmd_out *o, const char *name, uint64_t v, int zeros,
		       int npat, char **pats)
{
	if ((v || zeros) && wanted(npat, pats, name))
		cmd_printf(o, "%-32s%-16lu%6s\n", name, (unsigned long)v, "0.0");
}

struct nstat_ctx {
	const struct cmd_out *o;
	int zeros, npat;
	char **pats;
};

static void nstat_tcp_line(void *ctx, const char *name, uint64_t v)
{
	struct nstat_ctx *x = ctx;
	nstat_line(x->o, name, v, x->zeros, x->npat, x->pats);
}

static int cmd_nstat(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	int zeros = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-z") == 0 || strcmp(argv[i], "--zeros") == 0)
			zeros = 1;
		else if (strcmp(argv[i], "-a") && strcmp(argv[i], "-s") && strcmp(argv[i], "--ignore"))
			break;
	}
	if (i < argc && argv[i][0] == '-') {
		cmd_printf(o, "nstat: invalid option -- '%s'\n", argv[i] + 1);
		return -1;
	}
	cmd_printf(o, "#kernel\n");
	for (int k = 0; k < MIB_COUNT; k++)
		nstat_line(o, net_mib_names[k], s->core.mib[k], zeros, argc - i, argv + i);
	for (int k = 0; k < DROP_COUNT; k++)
		nstat_line(o, net_drop_names[k], s->core.drops[k], zeros, argc - i, argv + i);
	if (s->tcp_on) {
		struct nstat_ctx x = { o, zeros, argc - i, argv + i };
		tcp_nstat(&s->tcp, nstat_tcp_line, &x);
		const struct gro_stats *g = &s->gro.st;     /* receive coalescing (net/gro.h) */
		const struct { const char *name; uint64_t v; } gro[] = {
			{ "TcpExtSkiffGroHeld", g->held }, { "TcpExtSkiffGroMerged", g->merged },
			{ "TcpExtSkiffGroFlushed", g->flushed },
			{ "TcpExtSkiffGroNotEligible", g->not_eligible },
			{ "TcpExtSkiffGroNoBuf", g->nobuf },
			{ "TcpExtSkiffGroChained", g->chained },
			{ "TcpExtSkiffGroLinearized", g->linearized },
		};
		for (size_t k = 0; k < sizeof(gro) / sizeof(gro[0]); k++)
			nstat_line(o, gro[k].name, gro[k].v, zeros, argc - i, argv + i);
	}
	return 0;
}

/* ---- tracepath ---------------------------------------------------------------- */

static int cmd_tracepath(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	uint32_t dst;
	if (argc != 2) {
		cmd_printf(o, "Usage: tracepath ADDR\n");
		return -1;
	}
	if (inet_parse(argv[1], &dst)) {
		cmd_printf(o, "tracepath: %s: Name or service not known\n", argv[1]);
		return -1;
	}
	int r = tracepath_start(&s->tracepath, dst, o->fn, o->ctx);
	if (r == -NET_EBUSY)
		cmd_printf(o, "tracepath: another tracepath is still running\n");
	else if (r == -NET_ENETUNREACH)
		cmd_printf(o, "tracepath: connect: Network is unreachable\n");
	else if (r)
		cmd_printf(o, "tracepath: socket: No buffer space available\n");
	return r ? -1 : 0;
}

/* ---- ping, arping -------------------------------------------------------------- */

static int opt_uint(const struct cmd_out *o, const char *tool, const char *arg, uint32_t lo,
		    uint32_t hi, uint32_t *v)
{
	if (!arg || cmd_parse_uint(arg, hi, v) || *v < lo) {
		cmd_printf(o, "%s: invalid argument: '%s'\n", tool, arg ? arg : "");
		return -1;
	}
	return 0;
}

static int cmd_ping(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	uint32_t count = PING_DEFAULT_COUNT, size = PING_DEFAULT_SIZE, dst;
	const char *host = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			if (opt_uint(o, "ping", i + 1 < argc ? argv[++i] : NULL, 1, PING_MAX_COUNT, &count))
				return -1;
		} else if (strcmp(argv[i], "-s") == 0) {
			if (opt_uint(o, "ping", i + 1 < argc ? argv[++i] : NULL, 0, 65507, &size))
				return -1;
		} else if (argv[i][0] == '-' || host) {
			cmd_printf(o, "ping: invalid argument: '%s'\n", argv[i]);
			return -1;
		} else {
			host = argv[i];
		}
	}
	if (!host) {
		cmd_printf(o, "ping: usage error: Destination address required\n");
		return -1;
	}
	if (inet_parse(host, &dst)) {
		cmd_printf(o, "ping: %s: Name or service not known\n", host);
		return -1;
	}
	int r = ping_start(&s->ping, dst, count, (uint16_t)size, o->fn, o->ctx);
	if (r == -NET_EBUSY)
		cmd_printf(o, "ping: another ping is still running\n");
	else if (r == -NET_EMSGSIZE)
		cmd_printf(o, "ping: local error: message too long, mtu=%u\n", s->link.nifs ? s->link.ifs[0].mtu : 0);
	else if (r < 0)
		cmd_printf(o, "ping: connect: Network is unreachable\n");
	return r < 0 ? -1 : 0;
}

static int cmd_arping(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	uint32_t count = ARPING_DEFAULT_COUNT, dst;
	const char *host = NULL, *dev = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			if (opt_uint(o, "arping", i + 1 < argc ? argv[++i] : NULL, 1, 1000, &count))
				return -1;
		} else if (strcmp(argv[i], "-I") == 0 && i + 1 < argc) {
			dev = argv[++i];
		} else if (argv[i][0] == '-' || host) {
			cmd_printf(o, "arping: invalid argument: '%s'\n", argv[i]);
			return -1;
		} else {
			host = argv[i];
		}
	}
	if (!host || inet_parse(host, &dst)) {
		cmd_printf(o, host ? "arping: unknown host %s\n" : "arping: usage: arping [-c count] [-I dev] ADDR%s\n",
			   host ? host : "");
		return -1;
	}
	int ifi = 0;
	struct route_result rt;
	if (dev && (ifi = cmd_dev(s, o, dev)) < 0)
		return -1;
	if (!dev && route_get(&s->routes, dst, &rt) == 0)
		ifi = rt.ifi;
	int r = arping_start(&s->arping, ifi, dst, count, o->fn, o->ctx);
	if (r == -NET_EBUSY)
		cmd_printf(o, "arping: another arping is still running\n");
	else if (r < 0)
		cmd_printf(o, "arping: no source address on the interface\n");
	return r < 0 ? -1 : 0;
}

/* ---- dhcp ---------------------------------------------------------------------- */

static unsigned long left_s(const struct net_stack *s, uint64_t t)
{
	return t > s->core.now_ns ? (unsigned long)((t - s->core.now_ns) / NET_NS_PER_SEC) : 0;
}

static int cmd_dhcp(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	const struct dhcp_client *c = &s->dhcp;
	if (argc > 2 || (argc == 2 && !cmd_matches(argv[1], "show") && !cmd_matches(argv[1], "renew"))) {
		cmd_printf(o, "usage: dhcp [show|renew]\n");
		return -1;
	}
	if (c->state == DHCP_OFF) {
		cmd_printf(o, "dhcp: not running (static configuration)\n");
		return argc == 2 && cmd_matches(argv[1], "renew") ? -1 : 0;
	}
	if (argc == 2 && cmd_matches(argv[1], "renew")) {
		dhcp_renew(&s->dhcp);
		cmd_printf(o, "dhcp: renewing\n");
		return 0;
	}
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	cmd_printf(o, "%s: %s, xid 0x%08x\n", s->link.ifs[c->ifi].dev->name, dhcp_state_name(c->state), c->xid);
	if (c->state < DHCP_BOUND) {
		cmd_printf(o, "  %u DISCOVERs sent, next transmission in %lu s\n", c->discovers,
			   left_s(s, c->timer_ns));
		return 0;
	}
	cmd_printf(o, "  address %s/%d, server %s\n", inet_fmt(a, c->addr), inet_mask_len(c->mask),
		   inet_fmt(b, c->server));
	cmd_printf(o, "  router %s", c->router ? inet_fmt(a, c->router) : "none");
	for (int i = 0; i < c->ndns; i++)
		cmd_printf(o, "%s%s", i ? " " : ", dns ", inet_fmt(a, c->dns[i]));
	cmd_printf(o, "\n  lease %u s, T1 in %lu s, T2 in %lu s, expires in %lu s\n", c->lease_s,
		   left_s(s, c->t1_ns), left_s(s, c->t2_ns), left_s(s, c->expire_ns));
	return 0;
}

/* ---- ss ------------------------------------------------------------------------ */

/* tcp_show() lines can be longer than cmd_printf()'s buffer: pass them through whole. */
static void ss_line(void *ctx, const char *text)
{
	const struct cmd_out *o = ctx;
	o->fn(o->ctx, text);
	o->fn(o->ctx, "\n");
}

static int cmd_ss(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	if (!s->tcp_on) {
		cmd_printf(o, "ss: TCP is not enabled\n");
		return -1;
	}
	tcp_show(&s->tcp, argc, argv, ss_line, (void *)o);
	return 0;
}

/* ---- sysctl ---------------------------------------------------------------------- */

/* The TCP knobs the shell may turn, by Linux's names where Linux has the knob
 * (tcp_pacing_ss_ratio, tcp_pacing_ca_ratio); net.ipv4.tcp_pacing is ours (Linux paces
 * internally only when the congestion control asks or fq runs). */
static const struct { const char *key; uint32_t max; } sysctl_keys[] = {
	{ "net.ipv4.tcp_pacing", 1 },
	{ "net.ipv4.tcp_pacing_ss_ratio", 1000 },
	{ "net.ipv4.tcp_pacing_ca_ratio", 1000 },
};

static uint32_t sysctl_get(const struct tcp_config *cfg, int k)
{
	return k == 0 ? cfg->pacing : k == 1 ? cfg->pacing_ss_ratio : cfg->pacing_ca_ratio;
}

static void sysctl_set(struct tcp_config *cfg, int k, uint32_t v)
{
	if (k == 0)
		cfg->pacing = v != 0;
	else if (k == 1)
		cfg->pacing_ss_ratio = (uint16_t)v;
	else
		cfg->pacing_ca_ratio = (uint16_t)v;
}

static int sysctl_one(struct net_stack *s, const struct cmd_out *o, char *arg)
{
	char *eq = arg;
	while (*eq && *eq != '=')
		eq++;
	if (*eq)
		*eq = '\0';
	else
		eq = NULL;
	int k = 0, n = (int)(sizeof(sysctl_keys) / sizeof(sysctl_keys[0]));
	while (k < n && strcmp(arg, sysctl_keys[k].key) != 0)
		k++;
	if (k == n) {
		cmd_printf(o, "sysctl: cannot stat /proc/sys/%s: No such file or directory\n", arg);
		return -1;
	}
	uint32_t v;
	if (eq && cmd_parse_uint(eq + 1, sysctl_keys[k].max, &v)) {
		cmd_printf(o, "sysctl: setting key \"%s\": Invalid argument\n", arg);
		return -1;
	}
	if (eq) {
		sysctl_set(&s->tcp.cfg, k, v);
		tcp_config_changed(&s->tcp);
	}
	cmd_printf(o, "%s = %u\n", arg, (unsigned)sysctl_get(&s->tcp.cfg, k));
	return 0;
}

/* sysctl [-w] KEY[=VALUE]... */
static int cmd_sysctl(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "-w") == 0)
		i++;
	if (!s->tcp_on || i >= argc) {
		cmd_printf(o, "Usage: sysctl [-w] net.ipv4.tcp_pacing[=0|1] "
			      "net.ipv4.tcp_pacing_ss_ratio[=N] net.ipv4.tcp_pacing_ca_ratio[=N]\n");
		return -1;
	}
	for (; i < argc; i++)
		if (sysctl_one(s, o, argv[i]))
			return -1;
	return 0;
}

int net_cmd(struct net_stack *s, int argc, char **argv,
	    void (*out)(void *ctx, const char *text), void *ctx)
{
	struct cmd_out o = { out, ctx };
	if (argc < 1)
		return -1;
	const char *c = argv[0];
	if (strcmp(c, "ip") == 0)
		return cmd_ip(s, &o, argc, argv);
	if (strcmp(c, "ethtool") == 0)
		return cmd_ethtool(s, &o, argc, argv);
	if (strcmp(c, "tc") == 0)
		return cmd_tc(s, &o, argc, argv);
	if (strcmp(c, "nstat") == 0)
		return cmd_nstat(s, &o, argc, argv);
	if (strcmp(c, "ping") == 0)
		return cmd_ping(s, &o, argc, argv);
	if (strcmp(c, "arping") == 0)
		return cmd_arping(s, &o, argc, argv);
	if (strcmp(c, "dhcp") == 0)
		return cmd_dhcp(s, &o, argc, argv);
	if (strcmp(c, "ss") == 0)
		return cmd_ss(s, &o, argc, argv);
	if (strcmp(c, "tcpdump") == 0)
		return cmd_tcpdump(s, &o, argc, argv);
	if (strcmp(c, "trace") == 0)
		return cmd_trace(s, &o, argc, argv);
	if (strcmp(c, "tracepath") == 0)
		return cmd_tracepath(s, &o, argc, argv);
	if (strcmp(c, "sysctl") == 0)
		return cmd_sysctl(s, &o, argc, argv);
	cmd_printf(&o, "net: unknown command '%s'\n", c);
	return -1;
}

void net_cmd_interrupt(struct net_stack *s)
{
	capture_dump_stop(&s->cap);
	if (s->cap.trace.out)           /* the shell's trace, not an HTTP reader's */
		capture_trace_stop(&s->cap);
	ping_stop(&s->ping);
	tracepath_stop(&s->tracepath);
}
