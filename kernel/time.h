/*
 * Monotonic time from the TSC, calibrated at boot against the PIT (channel 2, the
 * i8254's gate-controlled counter, present on every PC and on QEMU q35). Time zero is
 * efi_main entry. The local APIC timer provides a periodic tick that wakes the main
 * loop from hlt (kernel/apic.c).
 */
#ifndef SKIFF_TIME_H
#define SKIFF_TIME_H

#include <stdint.h>

void time_init(uint64_t tsc_at_entry, uint64_t tsc_hint_hz);
uint64_t time_ns(void);
uint64_t time_us(void);
uint64_t time_ms(void);
uint64_t time_tsc_hz(void);
uint64_t time_tsc_to_ns(uint64_t tsc_delta);
/* Busy-waits; only for init code (device resets), never in the data path. */
void time_delay_us(uint64_t us);

#endif
