/* The kernel's own shell commands: mem, uptime, log, conf, irq, crash, reboot, poweroff. */
#ifndef SKIFF_CMDS_H
#define SKIFF_CMDS_H

#include "kernel/bootinfo.h"
#include "kernel/conf.h"

void cmds_init(const struct boot_info *bi, const struct conf *c);

#endif
