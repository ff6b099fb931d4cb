/*
 * Local APIC (xAPIC, MMIO) and IOAPIC. ISA interrupts (the UART) are routed through the
 * IOAPIC with the MADT's overrides applied; PCI devices use MSI/MSI-X messages that
 * target the local APIC directly (apic_msi_message). The 8259 PICs stay masked.
 */
#ifndef SKIFF_APIC_H
#define SKIFF_APIC_H

#include <stdint.h>

void apic_init(void);
void apic_eoi(void);
uint32_t apic_id(void);
/* Starts the periodic local APIC timer at hz (calibrated to the TSC); its interrupt
 * only counts ticks and wakes the main loop from hlt. */
void apic_timer_start(uint32_t hz);
/* Routes ISA IRQ irq to vector (edge/high unless the MADT overrides it); 0 or -1. */
int ioapic_route_isa(int irq, int vector);
/* The MSI address/data pair that delivers vector to this CPU (SDM Vol. 3 §11.11). */
void apic_msi_message(int vector, uint64_t *addr, uint32_t *data);
uint64_t apic_timer_ticks(void);

#endif
