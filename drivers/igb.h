/*
 * Intel igb family (82576, I350, I354, I210, I211) gigabit Ethernet driver; QEMU's
 * `-device igb` is an 82576. Each probed device becomes a netdev (net/netdev.h)
 * registered with drivers/nic.h.
 */
#ifndef SKIFF_IGB_H
#define SKIFF_IGB_H

#include <stdint.h>

/* Registers the "igb" PCI driver; call before pci_probe_drivers(). */
void igb_register(void);

/* "I225-V" etc. for an igc-family (I225/I226) device, which no Skiff driver handles;
 * NULL for any other device. For lines that list NICs without a driver. */
const char *igc_model_name(uint16_t vendor, uint16_t device);

#endif
