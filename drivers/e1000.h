/*
 * Intel 8254x (QEMU `e1000`) and 82574L (QEMU `e1000e`) gigabit Ethernet driver.
 * Each probed device becomes a netdev (net/netdev.h) registered with drivers/nic.h.
 */
#ifndef SKIFF_E1000_H
#define SKIFF_E1000_H

/* Registers the "e1000" and "e1000e" PCI drivers; call before pci_probe_drivers(). */
void e1000_register(void);

#endif
