/*
 * Network composition (see main_net.h). Order: net_config from skiff.conf ->
 * net_init -> net_attach for each chosen NIC -> frames from drivers/nic go to
 * net_input -> a main-loop hook runs net_poll -> shell commands forward to net_cmd.
 */
#include "kernel/main_net.h"
#include "kernel/console.h"
#include "kernel/heap.h"
#include "kernel/loop.h"
#include "kernel/random.h"
#include "kernel/shell.h"
#include "kernel/string.h"
#include "drivers/nic.h"
#include "net/stack.h"
#include "net/inet.h"

static struct net_stack *net;

static void on_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	log_msg(level, NULL, 0, "%s", msg);
}

static uint64_t on_random(void *ctx)
{
	(void)ctx;
	return random_u64();
}

static void on_frame(void *ctx, struct netdev *dev, struct pkt *p)
{
	net_input(ctx, dev, p);
}

static void on_poll(void *ctx, uint64_t now_ns)
{
	net_poll(ctx, now_ns);
}

static struct loop_hook net_hook = { "net", on_poll, NULL, NULL };

static void shell_out(void *ctx, const char *text)
{
	(void)ctx;
	kprintf("%s", text);
}

static int shell_net(int argc, char **argv)
{
	return net_cmd(net, argc, argv, shell_out, NULL);
}

static const struct shell_cmd net_cmds[] = {
	{ "ip", "addr|route [get ADDR]|neigh|-s link", "addresses, routes, neighbours, links", shell_net },
	{ "ethtool", "-S DEV", "NIC, queue and interrupt counters", shell_net },
	{ "tc", "-s qdisc", "egress queue counters", shell_net },
	{ "nstat", "", "IP/ICMP/UDP counters (nstat names)", shell_net },
	{ "ping", "[-c N] [-s SIZE] ADDR", "ICMP echo from Skiff", shell_net },
	{ "arping", "ADDR", "ARP request from Skiff", shell_net },
	{ "dhcp", "", "DHCP lease state", shell_net },
};

static void config_from(const struct conf *c, struct net_config *nc)
{
	memset(nc, 0, sizeof(*nc));
	nc->use_dhcp = strcmp(c->ip, "dhcp") == 0;
	if (!nc->use_dhcp && inet_parse_cidr(c->ip, &nc->addr, &nc->prefix_len)) {
		log_warn("net: ip = %s is not A.B.C.D/N, using DHCP", c->ip);
		nc->use_dhcp = 1;
	}
	if (c->gateway[0] && inet_parse(c->gateway, &nc->gateway))
		log_warn("net: gateway = %s is not an address, ignored", c->gateway);
	nc->mtu = (uint16_t)c->mtu;
	strlcpy(nc->hostname, c->hostname, sizeof(nc->hostname));
	nc->random = on_random;
	nc->log = on_log;
}

/* nic = auto takes every NIC (the first gets the address); a model name only those. */
static int wanted(const struct conf *c, const struct netdev *dev)
{
	if (strcmp(c->nic, "auto") == 0)
		return 1;
	if (strcmp(c->nic, "virtio") == 0)
		return strcmp(dev->driver, "virtio-net") == 0;
	return strcmp(c->nic, dev->driver) == 0;
}

void main_net_init(const struct conf *c)
{
	struct net_config nc;
	config_from(c, &nc);
	net = kcalloc(1, sizeof(*net));
	if (!net)
		panic("no memory for the network stack");
	net_init(net, &nc);
	int attached = 0;
	for (int i = 0; i < nic_count(); i++) {
		struct netdev *dev = nic_get(i);
		if (wanted(c, dev) && net_attach(net, dev) == 0)
			attached++;
	}
	if (!attached)
		log_warn("net: no NIC attached (nic = %s, %d found)", c->nic, nic_count());
	nic_set_deliver(on_frame, net);
	net_hook.ctx = net;
	loop_register(&net_hook);
	for (size_t i = 0; i < sizeof(net_cmds) / sizeof(net_cmds[0]); i++)
		shell_register(&net_cmds[i]);
}
