/*
 * The capture commands of the shell: tcpdump (and trace, later in this file's life).
 */
#ifndef SKIFF_NET_CMD_CAPTURE_H
#define SKIFF_NET_CMD_CAPTURE_H

#include "net/cmd_util.h"

/* tcpdump [-c N] [-e] [-v] [-x|-xx] [-n] [-i DEV|any] [EXPR...]: returns at once; lines
 * arrive through o from the tap until -c N lines or net_cmd_interrupt(). */
int cmd_tcpdump(struct net_stack *s, const struct cmd_out *o, int argc, char **argv);

#endif
