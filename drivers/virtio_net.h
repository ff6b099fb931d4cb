/*
 * Virtio 1.x network device driver (modern PCI, 1af4:1041). Each probed device becomes
 * a netdev (net/netdev.h) registered with drivers/nic.h.
 */
#ifndef SKIFF_VIRTIO_NET_H
#define SKIFF_VIRTIO_NET_H

/* Registers the "virtio-net" PCI driver; call before pci_probe_drivers(). */
void virtio_net_register(void);

#endif
