/* The network half of the composition root (kernel/main.c): builds the stack from
 * skiff.conf, attaches the probed NICs, and wires the stack into the main loop and
 * the shell. Like main.c, the only kernel code that names net/. */
#ifndef SKIFF_MAIN_NET_H
#define SKIFF_MAIN_NET_H

#include "kernel/conf.h"
#include "kernel/bootinfo.h"

void main_net_init(const struct conf *c, const struct boot_info *bi);
/* netconsole = ADDR:PORT: starts queueing log lines at once (before the heap, PCI or the
 * stack exist), so the boot log is sent from its start once the NIC has an address.
 * Call right after the configuration is read. */
void main_net_console(const struct conf *c);

#endif
