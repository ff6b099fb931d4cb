/*
 * The stack's shell commands (cmd.c: dispatch, ethtool, tc, nstat, ping, arping, dhcp, ss;
 * cmd_ip.c: ip; cmd_util.c: what they share). Each prints what its Linux namesake prints
 * for the same state.
 */
#ifndef SKIFF_NET_CMD_H
#define SKIFF_NET_CMD_H

struct net_stack;

/* argv[0] is one of net_cmd_names. out() prints one chunk of text; it may also be called
 * later from net_poll() for asynchronous output (ping, arping). Returns 0, or -1 after
 * printing a one-line error. */
int net_cmd(struct net_stack *s, int argc, char **argv,
	    void (*out)(void *ctx, const char *text), void *ctx);

/* Ctrl-C: stops the asynchronous commands (tcpdump, ping), each printing its summary. */
void net_cmd_interrupt(struct net_stack *s);

/* The shell command names net_cmd() understands, NULL-terminated (for registration). */
extern const char *const net_cmd_names[];

#endif
