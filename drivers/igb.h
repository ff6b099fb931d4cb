/*
 * Intel igb family (82576, I350, I354, I210, I211) gigabit Ethernet driver; QEMU's
 * `-device igb` is an 82576. Each probed device becomes a netdev (net/netdev.h)
 * registered with drivers/nic.h.
 */
#ifndef SKIFF_IGB_H
#define SKIFF_IGB_H

/* Registers the "igb" PCI driver; call before pci_probe_drivers(). */
void igb_register(void);

#endif
