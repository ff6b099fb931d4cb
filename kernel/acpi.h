/*
 * ACPI tables the kernel reads (ACPI 6.5): MADT for the local APIC, IOAPICs and ISA
 * interrupt overrides; MCFG for PCIe ECAM; FADT (+ the DSDT's \_S5 package) for power
 * off and reset. Every table's checksum and length are checked before use.
 */
#ifndef SKIFF_ACPI_H
#define SKIFF_ACPI_H

#include <stdint.h>

#define ACPI_MAX_IOAPIC 4
#define ACPI_MAX_ISO 24
#define ACPI_MAX_MCFG 4

struct acpi_info {
	int ok;
	char oem[7];
	uint64_t lapic_base;
	int ncpus;
	int n_ioapic;
	struct { uint8_t id; uint64_t addr; uint32_t gsi_base; } ioapic[ACPI_MAX_IOAPIC];
	int n_iso;
	struct { uint8_t source; uint32_t gsi; uint16_t flags; } iso[ACPI_MAX_ISO];
	int n_mcfg;
	struct { uint64_t base; uint16_t segment; uint8_t bus_start, bus_end; } mcfg[ACPI_MAX_MCFG];
	uint32_t pm1a_cnt, pm1b_cnt;
	int s5_valid;
	uint16_t slp_typa, slp_typb;
	int reset_valid;
	uint8_t reset_space;    /* 0 memory, 1 I/O */
	uint64_t reset_addr;
	uint8_t reset_value;
};

void acpi_init(uint64_t rsdp);
const struct acpi_info *acpi_get(void);

#endif
