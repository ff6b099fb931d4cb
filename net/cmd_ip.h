/* `ip addr|route|neigh|link` (iproute2's output formats), for net_cmd(). */
#ifndef SKIFF_NET_CMD_IP_H
#define SKIFF_NET_CMD_IP_H

struct net_stack;
struct cmd_out;

int cmd_ip(struct net_stack *s, const struct cmd_out *o, int argc, char **argv);

#endif
