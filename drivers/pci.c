/*
 * PCI enumeration (PCI Local Bus 3.0 ch. 6, PCIe Base 4.0 §7.2.2 ECAM).
 * Order: map each MCFG region -> scan every bus in its range, function 0 first and
 * functions 1-7 only for multi-function devices -> size BARs -> walk capabilities.
 * Devices stay as the firmware left them until a driver claims one.
 */
#include "drivers/pci.h"
#include "kernel/acpi.h"
#include "kernel/paging.h"
#include "kernel/console.h"
#include "kernel/shell.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "kernel/cpu.h"
#include "kernel/apic.h"

#define CONFIG_ADDRESS 0xCF8
#define CONFIG_DATA 0xCFC
#define MAX_DRIVERS 16

/* MSI capability (PCI 3.0 §6.8.1), offsets from the capability. */
#define MSI_CTRL 0x02
#define MSI_CTRL_ENABLE (1u << 0)
#define MSI_CTRL_MME_MASK (7u << 4)     /* Multiple Message Enable: 0 = one vector */
#define MSI_CTRL_64BIT (1u << 7)
#define MSI_CTRL_PVM (1u << 8)          /* per-vector masking capable */
#define MSI_ADDR_LO 0x04
#define MSI_ADDR_HI 0x08                /* 64-bit capable functions only */
#define MSI_DATA_32 0x08
#define MSI_DATA_64 0x0C
#define MSI_MASK_32 0x0C                /* mask bits, with per-vector masking only */
#define MSI_MASK_64 0x10

/* MSI-X capability and table (PCI 3.0 §6.8.2). */
#define MSIX_CTRL 0x02
#define MSIX_CTRL_MASKALL (1u << 14)    /* Function Mask */
#define MSIX_CTRL_ENABLE (1u << 15)
#define MSIX_TABLE 0x04                 /* BIR in bits 2:0, offset in the rest */
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDR_LO 0x0
#define MSIX_ENTRY_ADDR_HI 0x4
#define MSIX_ENTRY_DATA 0x8
#define MSIX_ENTRY_VCTRL 0xC
#define MSIX_VCTRL_MASK (1u << 0)

static struct pci_dev devs[PCI_MAX_DEVS];
static int ndevs;
static const struct pci_driver *drivers[MAX_DRIVERS];
static uint8_t driver_class[MAX_DRIVERS];       /* PCI base class each driver serves */
static int ndrivers;
static struct {
	volatile uint8_t *base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
} ecam[ACPI_MAX_MCFG];
static int necam;

/* ECAM: 4 KiB of config space per function at base + (bus << 20 | dev << 15 | fn << 12). */
static volatile uint8_t *ecam_addr(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	for (int i = 0; i < necam; i++)
		if (ecam[i].segment == seg && bus >= ecam[i].bus_start && bus <= ecam[i].bus_end)
			return ecam[i].base + ((uint64_t)(bus - ecam[i].bus_start) << 20) +
			       ((uint64_t)dev << 15) + ((uint64_t)fn << 12) + off;
	return NULL;
}

static uint32_t legacy_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (off & 0xFC);
}

static uint32_t cfg_read32(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	volatile uint8_t *p = ecam_addr(seg, bus, dev, fn, off & 0xFFC);
	if (p)
		return read32(p);
	if (seg != 0 || off >= 256)
		return 0xFFFFFFFFu;
	outl(CONFIG_ADDRESS, legacy_addr(bus, dev, fn, off));
	return inl(CONFIG_DATA);
}

/* Writes of width 1, 2 or 4 bytes, done at that width so that neighbouring registers
 * (STATUS beside COMMAND, with its write-1-to-clear bits) are never rewritten. */
static void cfg_write(const struct pci_dev *d, uint16_t off, uint32_t v, int width)
{
	volatile uint8_t *p = ecam_addr(d->segment, d->bus, d->dev, d->fn, off);
	if (p) {
		if (width == 4)
			write32(p, v);
		else if (width == 2)
			write16(p, (uint16_t)v);
		else
			write8(p, (uint8_t)v);
		return;
	}
	if (d->segment != 0 || off >= 256)
		return;
	outl(CONFIG_ADDRESS, legacy_addr(d->bus, d->dev, d->fn, off));
	if (width == 4)
		outl(CONFIG_DATA, v);
	else if (width == 2)
		outw((uint16_t)(CONFIG_DATA + (off & 2)), (uint16_t)v);
	else
		outb((uint16_t)(CONFIG_DATA + (off & 3)), (uint8_t)v);
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{
	return cfg_read32(d->segment, d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{
	return (uint16_t)(pci_read32(d, off & ~3) >> ((off & 2) * 8));
}

uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{
	return (uint8_t)(pci_read32(d, off & ~3) >> ((off & 3) * 8));
}

void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	cfg_write(d, off & ~3, v, 4);
}

void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	cfg_write(d, off & ~1, v, 2);
}

void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
	cfg_write(d, off, v, 1);
}

/* Size one BAR: write all ones with decoding off, read back the mask (PCI 3.0 §6.2.5.1).
 * Returns how many BAR slots it used (2 for a 64-bit memory BAR). */
static int size_bar(struct pci_dev *d, int i)
{
	uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
	uint32_t lo = pci_read32(d, off);
	struct pci_bar *b = &d->bar[i];
	pci_write32(d, off, 0xFFFFFFFFu);
	uint32_t mask = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (lo & 1) {
		b->is_io = 1;
		b->addr = lo & ~3u;
		mask &= ~3u;
		b->size = mask ? ((~mask + 1) & 0xFFFF) : 0;
		return 1;
	}
	b->prefetch = (lo >> 3) & 1;
	b->addr = lo & ~0xFull;
	uint64_t m = mask & ~0xFull;
	int used = 1;
	if (((lo >> 1) & 3) == 2 && i < 5) {
		b->is_64 = 1;
		uint32_t hi = pci_read32(d, (uint16_t)(off + 4));
		pci_write32(d, (uint16_t)(off + 4), 0xFFFFFFFFu);
		uint32_t mhi = pci_read32(d, (uint16_t)(off + 4));
		pci_write32(d, (uint16_t)(off + 4), hi);
		b->addr |= (uint64_t)hi << 32;
		m |= (uint64_t)mhi << 32;
		used = 2;
	} else {
		m |= 0xFFFFFFFF00000000ull;
	}
	b->size = m ? (~m + 1) : 0;
	if (!mask)
		b->size = 0;
	return used;
}

static void size_bars(struct pci_dev *d)
{
	int nbars = (d->header_type & 0x7F) == 0 ? 6 : (d->header_type & 0x7F) == 1 ? 2 : 0;
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (int i = 0; i < nbars;)
		i += size_bar(d, i);
	pci_write16(d, PCI_COMMAND, cmd);
}

/* Bounded walk: a looping or wild capability list (bad hardware) cannot hang us. */
static void read_caps(struct pci_dev *d)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return;
	uint8_t ptr = pci_read8(d, PCI_CAP_PTR) & 0xFC;
	for (int guard = 0; ptr >= 0x40 && guard < 48; guard++) {
		uint8_t id = pci_read8(d, ptr);
		if (d->ncaps < PCI_MAX_CAPS) {
			d->caps[d->ncaps].id = id;
			d->caps[d->ncaps].off = ptr;
			d->ncaps++;
		}
		if (id == PCI_CAP_MSIX)
			d->msix_size = (uint16_t)((pci_read16(d, ptr + 2) & 0x7FF) + 1);
		ptr = pci_read8(d, ptr + 1) & 0xFC;
	}
}

static void add_device(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn)
{
	if (ndevs >= PCI_MAX_DEVS) {
		log_warn("pci: more than %d functions, %02x:%02x.%x ignored", PCI_MAX_DEVS, bus, dev, fn);
		return;
	}
	struct pci_dev *d = &devs[ndevs++];
	memset(d, 0, sizeof(*d));
	d->segment = seg;
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	uint32_t id = pci_read32(d, PCI_VENDOR_ID), cls = pci_read32(d, PCI_REVISION);
	d->vendor = id & 0xFFFF;
	d->device = id >> 16;
	d->revision = cls & 0xFF;
	d->prog_if = (cls >> 8) & 0xFF;
	d->subclass = (cls >> 16) & 0xFF;
	d->class_code = cls >> 24;
	d->header_type = pci_read8(d, PCI_HEADER_TYPE);
	if ((d->header_type & 0x7F) == 0) {
		d->subsys_vendor = pci_read16(d, PCI_SUBSYS_VENDOR);
		d->subsys = pci_read16(d, PCI_SUBSYS_ID);
	}
	d->irq_line = pci_read8(d, PCI_INTERRUPT_LINE);
	d->irq_pin = pci_read8(d, PCI_INTERRUPT_PIN);
	size_bars(d);
	read_caps(d);
}

static void scan_bus(uint16_t seg, uint8_t bus)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		if ((cfg_read32(seg, bus, dev, 0, 0) & 0xFFFF) == 0xFFFF)
			continue;
		uint8_t hdr = (uint8_t)(cfg_read32(seg, bus, dev, 0, PCI_HEADER_TYPE & ~3) >> 16);
		int nfn = (hdr & 0x80) ? 8 : 1;
		for (uint8_t fn = 0; fn < nfn; fn++)
			if ((cfg_read32(seg, bus, dev, fn, 0) & 0xFFFF) != 0xFFFF)
				add_device(seg, bus, dev, fn);
	}
}

static const struct pci_id known[] = {
	{ 0x8086, 0x100E, "Intel 82540EM Gigabit Ethernet" },
	{ 0x8086, 0x100F, "Intel 82545EM Gigabit Ethernet" },
	{ 0x8086, 0x1004, "Intel 82543GC Gigabit Ethernet" },
	{ 0x8086, 0x10D3, "Intel 82574L Gigabit Ethernet" },
	{ 0x8086, 0x10C9, "Intel 82576 Gigabit Ethernet" },
	{ 0x8086, 0x1533, "Intel I210 Gigabit Ethernet" },
	{ 0x8086, 0x1521, "Intel I350 Gigabit Ethernet" },
	/* igc: I225/I226 2.5GbE (Linux igc_hw.h device IDs). */
	{ 0x8086, 0x15F2, "Intel I225-LM 2.5GbE" },
	{ 0x8086, 0x15F3, "Intel I225-V 2.5GbE" },
	{ 0x8086, 0x15F8, "Intel I225-I 2.5GbE" },
	{ 0x8086, 0x15F7, "Intel I220-V 2.5GbE" },
	{ 0x8086, 0x15FD, "Intel I225 2.5GbE (blank NVM)" },
	{ 0x8086, 0x0D9F, "Intel I225-IT 2.5GbE" },
	{ 0x8086, 0x3100, "Intel I225-K 2.5GbE" },
	{ 0x8086, 0x3101, "Intel I225-K2 2.5GbE" },
	{ 0x8086, 0x3102, "Intel I226-K 2.5GbE" },
	{ 0x8086, 0x5504, "Intel I226-K 2.5GbE (early ID)" },
	{ 0x8086, 0x5502, "Intel I225-LMvP 2.5GbE" },
	{ 0x8086, 0x5503, "Intel I226-LMvP 2.5GbE" },
	{ 0x8086, 0x125B, "Intel I226-LM 2.5GbE" },
	{ 0x8086, 0x125C, "Intel I226-V 2.5GbE" },
	{ 0x8086, 0x125D, "Intel I226-IT 2.5GbE" },
	{ 0x8086, 0x125E, "Intel I221-V 2.5GbE" },
	{ 0x8086, 0x125F, "Intel I226 2.5GbE (blank NVM)" },
	{ 0x8086, 0x1229, "Intel 82557/8/9 EtherExpress Pro/100" },
	{ 0x8086, 0x1209, "Intel 8255xER/82551IT Fast Ethernet" },
	{ 0x8086, 0x10FB, "Intel 82599ES 10-Gigabit SFI/SFP+" },
	{ 0x8086, 0x1572, "Intel X710 10GbE SFP+" },
	{ 0x10EC, 0x8139, "Realtek RTL8139 Fast Ethernet" },
	{ 0x10EC, 0x8168, "Realtek RTL8111/8168 PCIe Gigabit Ethernet" },
	{ 0x10EC, 0x8169, "Realtek RTL8169 Gigabit Ethernet" },
	{ 0x10EC, 0x8029, "Realtek RTL8029 (NE2000) Ethernet" },
	{ 0x1022, 0x2000, "AMD PCnet-PCI II (Am79C970A)" },
	{ 0x15AD, 0x07B0, "VMware VMXNET3 Ethernet" },
	{ 0x14E4, 0x1657, "Broadcom BCM5719 Gigabit Ethernet" },
	{ 0x8086, 0x29C0, "Intel 82G33/G31/P35/P31 DRAM controller" },
	{ 0x8086, 0x2918, "Intel 82801IB (ICH9) LPC interface" },
	{ 0x8086, 0x2922, "Intel 82801IR (ICH9R) SATA AHCI controller" },
	{ 0x8086, 0x2930, "Intel 82801I (ICH9) SMBus controller" },
	{ 0x8086, 0x1237, "Intel 440FX host bridge" },
	{ 0x8086, 0x7000, "Intel PIIX3 ISA bridge" },
	{ 0x1AF4, 0x1000, "Red Hat virtio network device (transitional)" },
	{ 0x1AF4, 0x1041, "Red Hat virtio 1.0 network device" },
	{ 0x1AF4, 0x1001, "Red Hat virtio block device (transitional)" },
	{ 0x1AF4, 0x1005, "Red Hat virtio RNG (transitional)" },
	{ 0x1AF4, 0x1044, "Red Hat virtio 1.0 RNG" },
	{ 0x1234, 0x1111, "QEMU standard VGA" },
	{ 0x1B36, 0x0008, "Red Hat QEMU PCIe host bridge" },
	{ 0, 0, NULL },
};

static const char *class_name(uint8_t c, uint8_t s)
{
	switch (c) {
	case 0x01: return s == 0x06 ? "SATA controller" : "Storage controller";
	case 0x02: return s == 0x00 ? "Ethernet controller" : "Network controller";
	case 0x03: return "Display controller";
	case 0x06: return s == 0x00 ? "Host bridge" : s == 0x01 ? "ISA bridge" : s == 0x04 ? "PCI bridge" : "Bridge";
	case 0x0C: return s == 0x05 ? "SMBus" : s == 0x03 ? "USB controller" : "Serial bus controller";
	default: return "Unclassified device";
	}
}

const char *pci_name(const struct pci_dev *d)
{
	for (const struct pci_id *k = known; k->vendor; k++)
		if (k->vendor == d->vendor && k->device == d->device)
			return k->name;
	return class_name(d->class_code, d->subclass);
}

static const char *cap_name(uint8_t id)
{
	switch (id) {
	case PCI_CAP_PM: return "PM";
	case PCI_CAP_MSI: return "MSI";
	case PCI_CAP_VENDOR: return "Vendor";
	case PCI_CAP_PCIE: return "PCIe";
	case PCI_CAP_MSIX: return "MSI-X";
	case 0x12: return "SATA";
	case 0x13: return "AF";
	default: return "?";
	}
}

static void print_dev(const struct pci_dev *d)
{
	kprintf("%02x:%02x.%x %04x:%04x class %02x%02x [%s]\n", d->bus, d->dev, d->fn,
		d->vendor, d->device, d->class_code, d->subclass, pci_name(d));
}

static void print_caps(const struct pci_dev *d)
{
	if (!d->ncaps)
		return;
	kprintf("        caps:");
	for (int i = 0; i < d->ncaps; i++) {
		if (d->caps[i].id == PCI_CAP_MSIX)
			kprintf(" MSI-X(%u)@%02x", d->msix_size, d->caps[i].off);
		else
			kprintf(" %s@%02x", cap_name(d->caps[i].id), d->caps[i].off);
	}
	kprintf("\n");
}

static void print_bars(const struct pci_dev *d)
{
	for (int i = 0; i < 6; i++) {
		const struct pci_bar *b = &d->bar[i];
		if (!b->size)
			continue;
		kprintf("        BAR%d %s 0x%lx size 0x%lx%s\n", i,
			b->is_io ? "io   " : b->is_64 ? "mem64" : "mem32", (unsigned long)b->addr,
			(unsigned long)b->size, b->prefetch ? " prefetchable" : "");
	}
	if (d->irq_pin)
		kprintf("        INT%c# line %u\n", 'A' + d->irq_pin - 1, d->irq_line);
	if (d->driver)
		kprintf("        driver: %s\n", d->driver->name);
}

static int cmd_lspci(int argc, char **argv)
{
	int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (argc > 1 && !verbose) {
		kprintf("usage: lspci [-v]\n");
		return -1;
	}
	for (int i = 0; i < ndevs; i++) {
		print_dev(&devs[i]);
		print_caps(&devs[i]);
		if (verbose)
			print_bars(&devs[i]);
	}
	return 0;
}

static const struct shell_cmd lspci_cmd = {
	"lspci", "[-v]", "list PCI devices with capabilities (-v: BARs, IRQ, driver)", cmd_lspci
};

void pci_init(void)
{
	const struct acpi_info *a = acpi_get();
	for (int i = 0; i < a->n_mcfg && necam < ACPI_MAX_MCFG; i++) {
		uint64_t size = ((uint64_t)(a->mcfg[i].bus_end - a->mcfg[i].bus_start) + 1) << 20;
		volatile void *base = map_mmio(a->mcfg[i].base + ((uint64_t)a->mcfg[i].bus_start << 20), size);
		if (!base)
			continue;
		ecam[necam].base = (volatile uint8_t *)base;
		ecam[necam].segment = a->mcfg[i].segment;
		ecam[necam].bus_start = a->mcfg[i].bus_start;
		ecam[necam].bus_end = a->mcfg[i].bus_end;
		necam++;
	}
	if (necam) {
		for (int i = 0; i < necam; i++)
			for (unsigned bus = ecam[i].bus_start; bus <= ecam[i].bus_end; bus++)
				scan_bus(ecam[i].segment, (uint8_t)bus);
	} else {
		for (unsigned bus = 0; bus < 256; bus++)
			scan_bus(0, (uint8_t)bus);
	}
	log_info("pci: %d function(s) via %s", ndevs, necam ? "ECAM (ACPI MCFG)" : "legacy 0xCF8/0xCFC");
	for (int i = 0; i < ndevs; i++)
		print_dev(&devs[i]);
	shell_register(&lspci_cmd);
}

void pci_register_driver_class(const struct pci_driver *drv, uint8_t class_code)
{
	if (ndrivers == MAX_DRIVERS)
		panic("pci: more than %d drivers", MAX_DRIVERS);
	driver_class[ndrivers] = class_code;
	drivers[ndrivers++] = drv;
}

void pci_register_driver(const struct pci_driver *drv)
{
	pci_register_driver_class(drv, PCI_CLASS_NETWORK);
}

static const struct pci_id *match(const struct pci_driver *drv, const struct pci_dev *d)
{
	for (const struct pci_id *id = drv->ids; id->vendor; id++)
		if (id->vendor == d->vendor && id->device == d->device)
			return id;
	return NULL;
}

/* "e1000, e1000e, virtio-net": every registered NIC driver, each name once. */
static void nic_families(char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (int j = 0; j < ndrivers; j++) {
		if (driver_class[j] != PCI_CLASS_NETWORK)
			continue;
		int seen = 0;
		for (int k = 0; k < j; k++)
			seen |= strcmp(drivers[k]->name, drivers[j]->name) == 0;
		if (!seen)
			n += ksnprintf(buf + n, size - n, "%s%s", n ? ", " : "", drivers[j]->name);
		if (n >= size)
			return;
	}
}

/* One line per unclaimed network function: the user sees why there is no eth0. */
static void report_unclaimed(void)
{
	char families[128];
	nic_families(families, sizeof(families));
	for (int i = 0; i < ndevs; i++) {
		const struct pci_dev *d = &devs[i];
		if (d->class_code != PCI_CLASS_NETWORK || d->driver)
			continue;
		log_warn("pci: %02x:%02x.%x %04x:%04x %s: no driver (Skiff drives %s)", d->bus,
			 d->dev, d->fn, d->vendor, d->device, pci_name(d),
			 families[0] ? families : "no NICs");
	}
}

void pci_probe_drivers(void)
{
	for (int i = 0; i < ndevs; i++)
		for (int j = 0; j < ndrivers && !devs[i].driver; j++) {
			const struct pci_id *id = match(drivers[j], &devs[i]);
			if (id && drivers[j]->probe(&devs[i], id) == 0)
				devs[i].driver = drivers[j];
		}
	report_unclaimed();
}

int pci_count(void)
{
	return ndevs;
}

struct pci_dev *pci_get(int i)
{
	return i >= 0 && i < ndevs ? &devs[i] : NULL;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	for (int i = 0; i < d->ncaps; i++)
		if (d->caps[i].id == id && d->caps[i].off > after)
			return d->caps[i].off;
	return 0;
}

void pci_enable(struct pci_dev *d, int master)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
	if (master)
		cmd |= PCI_COMMAND_MASTER;
	pci_write16(d, PCI_COMMAND, cmd);
}

volatile void *pci_map_bar(struct pci_dev *d, int i)
{
	if (i < 0 || i > 5 || d->bar[i].is_io || !d->bar[i].size || !d->bar[i].addr)
		return NULL;
	return map_mmio(d->bar[i].addr, d->bar[i].size);
}

void pci_intx_disable(struct pci_dev *d)
{
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
}

static volatile uint8_t *msix_entry(const struct pci_dev *d, int entry)
{
	return d->msix_table + (uint64_t)entry * MSIX_ENTRY_SIZE;
}

/* PCI 3.0 §6.8.2: Enable goes on with the function mask held, every entry is masked,
 * then the function mask drops, so no entry can fire with a stale address. */
int pci_msix_enable(struct pci_dev *d)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
	if (!cap || !d->msix_size)
		return -1;
	uint32_t table = pci_read32(d, cap + MSIX_TABLE);
	int bir = table & 7;
	uint64_t off = table & ~7u;
	if (bir > 5 || off + (uint64_t)d->msix_size * MSIX_ENTRY_SIZE > d->bar[bir].size)
		return -1;
	volatile uint8_t *base = pci_map_bar(d, bir);
	if (!base)
		return -1;
	d->msix_table = base + off;
	uint16_t ctrl = pci_read16(d, cap + MSIX_CTRL);
	pci_write16(d, cap + MSIX_CTRL, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	for (int i = 0; i < d->msix_size; i++)
		write32(msix_entry(d, i) + MSIX_ENTRY_VCTRL, MSIX_VCTRL_MASK);
	pci_write16(d, cap + MSIX_CTRL, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASKALL);
	pci_intx_disable(d);
	return d->msix_size;
}

int pci_msix_bind(struct pci_dev *d, int entry, irq_handler_fn fn, void *ctx, const char *name)
{
	if (!d->msix_table || entry < 0 || entry >= d->msix_size)
		return -1;
	int vector = irq_register(fn, ctx, name);
	if (vector < 0)
		return -1;
	uint64_t addr;
	uint32_t data;
	apic_msi_message(vector, &addr, &data);
	volatile uint8_t *e = msix_entry(d, entry);
	write32(e + MSIX_ENTRY_VCTRL, MSIX_VCTRL_MASK);
	write32(e + MSIX_ENTRY_ADDR_LO, (uint32_t)addr);
	write32(e + MSIX_ENTRY_ADDR_HI, (uint32_t)(addr >> 32));
	write32(e + MSIX_ENTRY_DATA, data);
	write32(e + MSIX_ENTRY_VCTRL, 0);
	return vector;
}

int pci_msi_enable(struct pci_dev *d, irq_handler_fn fn, void *ctx, const char *name)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSI, 0);
	if (!cap)
		return -1;
	int vector = irq_register(fn, ctx, name);
	if (vector < 0)
		return -1;
	uint64_t addr;
	uint32_t data;
	apic_msi_message(vector, &addr, &data);
	uint16_t ctrl = pci_read16(d, cap + MSI_CTRL) & ~(MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK);
	pci_write16(d, cap + MSI_CTRL, ctrl);
	pci_write32(d, cap + MSI_ADDR_LO, (uint32_t)addr);
	if (ctrl & MSI_CTRL_64BIT) {
		pci_write32(d, cap + MSI_ADDR_HI, (uint32_t)(addr >> 32));
		pci_write16(d, cap + MSI_DATA_64, (uint16_t)data);
	} else {
		pci_write16(d, cap + MSI_DATA_32, (uint16_t)data);
	}
	if (ctrl & MSI_CTRL_PVM)        /* firmware may have left vector 0 masked */
		pci_write32(d, cap + (ctrl & MSI_CTRL_64BIT ? MSI_MASK_64 : MSI_MASK_32), 0);
	pci_write16(d, cap + MSI_CTRL, ctrl | MSI_CTRL_ENABLE);
	pci_intx_disable(d);
	return vector;
}

/* ---- legacy INTx (PCI 3.0 §2.2.6): a level interrupt through the IOAPIC ---------- */

#define INTX_LINES 8                    /* distinct GSIs with PCI functions on them */
#define INTX_SHARERS 4                  /* functions on one GSI */
#define HOST_Q35 0x29C0                 /* Intel 82G33/P35 MCH: QEMU q35 */
#define HOST_I440FX 0x1237              /* Intel 440FX: QEMU pc, with the PIIX3 */
#define ICH9_PIRQ_GSI 16                /* PIRQA-H in APIC mode (ICH9 §5.8) */
#define ICH9_ROUTED_SLOTS 25            /* slots 25-31: DxxIR registers, not decoded here */
#define ELCR_PORT 0x4D0                 /* edge/level control, IRQs 0-7; IRQs 8-15 at +1 */

/* One GSI and the functions sharing it: the vector's handler runs each in turn; each
 * reads its own cause register and returns when the interrupt was not its. */
static struct intx_line {
	uint32_t gsi;
	int vector, n;
	struct { irq_handler_fn fn; void *ctx; } h[INTX_SHARERS];
} intx_lines[INTX_LINES];
static int n_intx_lines;

static void intx_dispatch(void *ctx)
{
	struct intx_line *l = ctx;
	for (int i = 0; i < l->n; i++)
		l->h[i].fn(l->h[i].ctx);
}

static uint16_t host_bridge(void)
{
	for (int i = 0; i < ndevs; i++)
		if (devs[i].bus == 0 && devs[i].dev == 0 && devs[i].fn == 0 && devs[i].vendor == 0x8086)
			return devs[i].device;
	return 0;
}

static int elcr_level(int irq)
{
	return (inb((uint16_t)(ELCR_PORT + irq / 8)) >> (irq % 8)) & 1;
}

/* The GSI a function's INTx pin reaches, with trigger and polarity; 0, or -1 when this
 * chipset's wiring is not known here (no ACPI _PRT interpreter: the caller polls). */
static int intx_gsi(const struct pci_dev *d, uint32_t *gsi, unsigned *flags)
{
	if (d->irq_pin < 1 || d->irq_pin > 4)
		return -1;
	uint16_t host = host_bridge();
	if (host == HOST_Q35 && d->bus == 0 && d->dev < ICH9_ROUTED_SLOTS) {
		/* QEMU's ICH9 wires slot s, pin p (0 = INTA) to PIRQ (s + p) % 4 + 4 (E-H), as
		 * its DSDT's _PRT says; the firmware's interrupt line (an ISA IRQ for the 8259
		 * path) does not name the IOAPIC input. PIRQs are level, active low. */
		*gsi = ICH9_PIRQ_GSI + (uint32_t)(d->dev + d->irq_pin - 1) % 4 + 4;
		*flags = IOAPIC_LEVEL | IOAPIC_ACTIVE_LOW;
		return 0;
	}
	if (host == HOST_I440FX && d->irq_line >= 1 && d->irq_line < 16) {
		/* PIIX3: the firmware steered the PIRQ to ISA IRQ irq_line (PIRQRC) and wrote
		 * that number in the interrupt line register. Trigger and polarity: the MADT's
		 * override (QEMU gives one for IRQs 5, 9, 10, 11), else the ELCR. */
		if (!ioapic_isa_gsi(d->irq_line, gsi, flags) && elcr_level(d->irq_line))
			*flags = IOAPIC_LEVEL;
		return 0;
	}
	return -1;
}

static struct intx_line *intx_line_for(uint32_t gsi, unsigned flags)
{
	for (int i = 0; i < n_intx_lines; i++)
		if (intx_lines[i].gsi == gsi)
			return intx_lines[i].n < INTX_SHARERS ? &intx_lines[i] : NULL;
	if (n_intx_lines == INTX_LINES)
		return NULL;
	struct intx_line *l = &intx_lines[n_intx_lines];
	static char names[INTX_LINES][16];
	ksnprintf(names[n_intx_lines], sizeof(names[0]), "INTx GSI %u", (unsigned)gsi);
	int vector = irq_register(intx_dispatch, l, names[n_intx_lines]);
	if (vector < 0 || ioapic_route_gsi(gsi, vector, flags) < 0)
		return NULL;
	n_intx_lines++;
	l->gsi = gsi;
	l->vector = vector;
	return l;
}

int pci_intx_enable(struct pci_dev *d, irq_handler_fn fn, void *ctx)
{
	uint32_t gsi;
	unsigned flags;
	if (intx_gsi(d, &gsi, &flags) < 0)
		return -1;
	/* Registered before the pin is unmasked, so a line already asserted finds it. */
	struct intx_line *l = intx_line_for(gsi, flags);
	if (!l)
		return -1;
	l->h[l->n].fn = fn;
	l->h[l->n].ctx = ctx;
	l->n++;
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & ~PCI_COMMAND_INTX_DISABLE);
	log_info("pci: %02x:%02x.%x INT%c# -> GSI %u (%s, active %s), vector 0x%x", d->bus, d->dev,
		  d->fn, 'A' + d->irq_pin - 1, (unsigned)gsi, flags & IOAPIC_LEVEL ? "level" : "edge",
		  flags & IOAPIC_ACTIVE_LOW ? "low" : "high", l->vector);
	return (int)gsi;
}

void pci_intx_release(struct pci_dev *d, irq_handler_fn fn, void *ctx)
{
	pci_intx_disable(d);
	for (int i = 0; i < n_intx_lines; i++) {
		struct intx_line *l = &intx_lines[i];
		for (int k = 0; k < l->n; k++)
			if (l->h[k].fn == fn && l->h[k].ctx == ctx) {
				l->h[k] = l->h[--l->n];
				if (!l->n)
					ioapic_mask_gsi(l->gsi);
				return;
			}
	}
}
