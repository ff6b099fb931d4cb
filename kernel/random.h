/*
 * Entropy for sequence numbers, ports and transaction IDs (docs/hardening.md #8). RDSEED or
 * RDRAND when the CPU has them (CPUID.07H:EBX.RDSEED[18], CPUID.01H:ECX.RDRAND[30]);
 * otherwise TSC jitter sampled around port I/O, mixed by SipHash-style rounds. The
 * source in use is logged and shown by `uptime`.
 */
#ifndef SKIFF_RANDOM_H
#define SKIFF_RANDOM_H

#include <stdint.h>

void random_init(void);
uint64_t random_u64(void);
const char *random_source(void);

#endif
