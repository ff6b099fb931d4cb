/*
 * Entropy for sequence numbers, ports and transaction IDs (docs/hardening.md #8). RDSEED or
 * RDRAND when the CPU has them (CPUID.07H:EBX.RDSEED[18], CPUID.01H:ECX.RDRAND[30]);
 * otherwise TSC jitter sampled around port I/O, mixed by SipHash-style rounds, plus
 * whatever a device (drivers/virtio_rng.c) contributes. random_report() logs the
 * sources once, after the drivers probed.
 */
#ifndef SKIFF_RANDOM_H
#define SKIFF_RANDOM_H

#include <stddef.h>
#include <stdint.h>

void random_init(void);
/* Mixes len bytes from a hardware source (named for the log) into the pool. */
void random_add_entropy(const void *buf, size_t len, const char *source);
void random_report(void);
uint64_t random_u64(void);
const char *random_source(void);

#endif
