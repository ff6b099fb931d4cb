/*
 * The capture commands of the shell: tcpdump and trace.
 */
#ifndef SKIFF_NET_CMD_CAPTURE_H
#define SKIFF_NET_CMD_CAPTURE_H

#include "net/cmd_util.h"

/* tcpdump [-c N] [-e] [-v] [-x|-xx] [-n] [-i DEV|any] [EXPR...]: returns at once; lines
 * arrive through o from the tap until -c N lines or net_cmd_interrupt(). */
int cmd_tcpdump(struct net_stack *s, const struct cmd_out *o, int argc, char **argv);

/* trace [-c N] [EXPR...]: one line per traced packet, every floor it crossed with what
 * was decided there and the time taken; until -c N packets or net_cmd_interrupt(). */
int cmd_trace(struct net_stack *s, const struct cmd_out *o, int argc, char **argv);

#endif
