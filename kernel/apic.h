/*
 * Local APIC (xAPIC, MMIO) and IOAPIC. ISA interrupts (the UART) are routed through the
 * IOAPIC with the MADT's overrides applied; PCI devices use MSI/MSI-X messages that
 * target the local APIC directly (apic_msi_message), or, without MSI, their INTx line
 * through the IOAPIC (ioapic_route_gsi, called by drivers/pci.c). The 8259 PICs stay
 * masked.
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
#define IOAPIC_LEVEL 0x1u       /* level-triggered (else edge) */
#define IOAPIC_ACTIVE_LOW 0x2u
/* ISA IRQ irq's GSI and trigger/polarity: 1 when the MADT overrides it, else 0 (gsi =
 * irq, flags 0). */
int ioapic_isa_gsi(int irq, uint32_t *gsi, unsigned *flags);
/* Routes global system interrupt gsi to vector on this CPU, unmasked; 0, or -1 when no
 * IOAPIC has that input. Level-triggered inputs get their EOI from the local APIC's
 * broadcast (apic_eoi), which the dispatcher sends after the handler. */
int ioapic_route_gsi(uint32_t gsi, int vector, unsigned flags);
void ioapic_mask_gsi(uint32_t gsi);
/* The MSI address/data pair that delivers vector to this CPU (SDM Vol. 3 §11.11). */
void apic_msi_message(int vector, uint64_t *addr, uint32_t *data);
uint64_t apic_timer_ticks(void);
/* The next timer interrupt comes within ns (at least 2 us) if that is sooner than the
 * tick: one one-shot interrupt, then the periodic tick again (interrupts off, as the
 * loop calls it before hlt). */
void apic_timer_wake_within(uint64_t ns);

#endif
