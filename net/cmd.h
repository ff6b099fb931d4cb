/*
 * Shared by the shell command files (cmd.c: dispatch, ethtool, tc, nstat, ping,
 * arping, dhcp; cmd_ip.c: ip). Output goes through one printf-like helper that hands
 * each formatted chunk to the caller's out().
 */
#ifndef SKIFF_NET_CMD_H
#define SKIFF_NET_CMD_H

#include "net/stack.h"

struct cmd_out {
	void (*fn)(void *ctx, const char *text);
	void *ctx;
};

void cmd_printf(const struct cmd_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* iproute2's matches(): arg is a non-empty prefix of word. */
int cmd_matches(const char *arg, const char *word);
/* Parses a decimal number 0..max; 0 or -1. */
int cmd_parse_uint(const char *s, uint32_t max, uint32_t *out);
/* The interface index for name (or "dev name" argument), -1 with an iproute2 error. */
int cmd_dev(struct net_stack *s, const struct cmd_out *o, const char *name);

int cmd_ip(struct net_stack *s, const struct cmd_out *o, int argc, char **argv);

#endif
