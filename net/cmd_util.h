/*
 * What every shell command of net/ shares: formatted output through the caller's out()
 * callback, argument matching as iproute2 abbreviates, and device lookup by name.
 */
#ifndef SKIFF_NET_CMD_UTIL_H
#define SKIFF_NET_CMD_UTIL_H

#include <stdint.h>
#include "net/stack.h"

struct cmd_out {
	void (*fn)(void *ctx, const char *text);
	void *ctx;
};

void cmd_printf(const struct cmd_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 if arg is a non-empty prefix of word ("ro" for "route"). */
int cmd_matches(const char *arg, const char *word);
/* Decimal, at most max: 0, or -1 for anything else. */
int cmd_parse_uint(const char *s, uint32_t max, uint32_t *out);
/* Interface index of name, or -1 after printing iproute2's error. */
int cmd_dev(struct net_stack *s, const struct cmd_out *o, const char *name);

#endif
