/*
 * PCI/PCIe: enumeration through ECAM (ACPI MCFG) with the legacy 0xCF8/0xCFC ports as
 * fallback, BAR sizing, capability lists, and a tiny driver registry. A driver lists
 * the vendor/device IDs it handles; pci_probe_drivers() calls its probe() once per
 * matching device, and only then are memory decoding and bus mastering enabled.
 */
#ifndef SKIFF_PCI_H
#define SKIFF_PCI_H

#include <stdint.h>
#include "kernel/trap.h"

/* Configuration space offsets (PCI Local Bus 3.0 §6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2C
#define PCI_SUBSYS_ID 0x2E
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D

#define PCI_COMMAND_IO (1u << 0)
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS_CAP_LIST (1u << 4)

#define PCI_CAP_PM 0x01
#define PCI_CAP_MSI 0x05
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_PCIE 0x10
#define PCI_CAP_MSIX 0x11

#define PCI_MAX_DEVS 64
#define PCI_MAX_CAPS 16

struct pci_bar {
	uint64_t addr, size;
	uint8_t is_io, is_64, prefetch;
};

struct pci_dev {
	uint16_t segment;
	uint8_t bus, dev, fn;
	uint16_t vendor, device, subsys_vendor, subsys;
	uint8_t class_code, subclass, prog_if, revision, header_type;
	uint8_t irq_line, irq_pin;
	struct pci_bar bar[6];
	int ncaps;
	struct { uint8_t id, off; } caps[PCI_MAX_CAPS];
	uint16_t msix_size;     /* MSI-X table entries, 0 without MSI-X */
	volatile uint8_t *msix_table;   /* mapped by pci_msix_enable() */
	const struct pci_driver *driver;
	void *driver_data;
};

struct pci_id {
	uint16_t vendor, device;
	const char *name;
};

struct pci_driver {
	const char *name;
	const struct pci_id *ids;       /* terminated by a zero vendor */
	/* Returns 0 when the device is now driven; pci_enable() is the driver's call. */
	int (*probe)(struct pci_dev *dev, const struct pci_id *id);
};

void pci_init(void);
#define PCI_CLASS_NETWORK 0x02
/* Registers a driver for devices of PCI base class class_code (informational: it
 * decides which families the "no driver" line for an unclaimed NIC lists).
 * pci_register_driver() is the same for a network driver. */
void pci_register_driver_class(const struct pci_driver *drv, uint8_t class_code);
void pci_register_driver(const struct pci_driver *drv);
/* Probes every device against every registered driver, then logs one line per
 * network-class function no driver took: address, IDs, name, and the families we drive. */
void pci_probe_drivers(void);

int pci_count(void);
struct pci_dev *pci_get(int i);

uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);

/* Offset of the first capability with this id at or after 'from' (0: start), 0 if none. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after);
/* Enables memory (and I/O) decoding and, if master, bus mastering. */
void pci_enable(struct pci_dev *d, int master);
/* Maps a memory BAR uncached; NULL for I/O or absent BARs. */
volatile void *pci_map_bar(struct pci_dev *d, int bar);
/*
 * Message signalled interrupts (PCI Local Bus 3.0 §6.8). Both target this CPU's local
 * APIC (apic_msi_message) with a vector from irq_register(); the handler runs through the
 * kernel's dispatcher, which sends the EOI. Call after pci_enable(): the MSI-X table
 * lives in a memory BAR.
 *
 * pci_msix_enable: maps the table, masks every entry, sets MSI-X Enable, clears the
 * function mask and disables INTx. Returns the number of table entries, or -1.
 * pci_msix_bind: programs entry to a new vector running fn(ctx) and unmasks it.
 * Returns the CPU vector, or -1 (entry out of range, no free vector).
 * pci_msi_enable: one MSI vector running fn(ctx); disables INTx. Returns the vector,
 * or -1 when the function has no MSI capability.
 * name must stay valid for ever (it is shown by the `irq` command).
 */
int pci_msix_enable(struct pci_dev *d);
int pci_msix_bind(struct pci_dev *d, int entry, irq_handler_fn fn, void *ctx, const char *name);
int pci_msi_enable(struct pci_dev *d, irq_handler_fn fn, void *ctx, const char *name);
/* Sets the INTx Disable bit: for poll-mode devices, so no stray level interrupt. */
void pci_intx_disable(struct pci_dev *d);
/*
 * Legacy INTx for functions without MSI: routes the function's pin to its IOAPIC input
 * (QEMU q35: ICH9 PIRQE-H = GSI 20-23 for bus-0 slots below 25; QEMU pc: the PIIX3's ISA
 * IRQ from the interrupt line register, trigger per MADT/ELCR), adds fn(ctx) to that
 * line's handlers, and clears INTx Disable. The line may be shared: fn must read its
 * device's cause register and return at once when the interrupt is not its own.
 * Returns the GSI, or -1 when the routing is unknown (the caller polls).
 * pci_intx_release: the reverse, for a driver whose interrupt self-test failed.
 */
int pci_intx_enable(struct pci_dev *d, irq_handler_fn fn, void *ctx);
void pci_intx_release(struct pci_dev *d, irq_handler_fn fn, void *ctx);

/* "Intel 82540EM Gigabit Ethernet" or a class description. */
const char *pci_name(const struct pci_dev *d);

#endif
