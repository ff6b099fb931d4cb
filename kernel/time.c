/*
 * TSC calibration against the PIT. Channel 2 counts down from a known value at
 * 1.193182 MHz while we read the TSC; its OUT bit (port 0x61 bit 5) goes high at zero
 * (Intel 8254 datasheet, mode 0). We take the best of three 10 ms windows, since an
 * emulator can be descheduled in the middle of one.
 */
#include "kernel/time.h"
#include "kernel/cpu.h"
#include "kernel/console.h"

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61

static uint64_t tsc0;
static uint64_t tsc_hz;
static uint64_t ns_mult;        /* ns = (tsc * ns_mult) >> 32 */

static uint64_t measure_window(uint32_t pit_ticks)
{
	/* Gate low and speaker off while loading; channel 2, lobyte/hibyte, mode 0. */
	uint8_t g = inb(PIT_GATE) & ~0x03;
	outb(PIT_GATE, g);
	outb(PIT_CMD, 0xB0);
	outb(PIT_CH2, pit_ticks & 0xff);
	outb(PIT_CH2, (pit_ticks >> 8) & 0xff);
	/* Counting runs while the gate is high. */
	outb(PIT_GATE, g | 0x01);
	uint64_t start = rdtsc();
	uint64_t spins = 0;
	while (!(inb(PIT_GATE) & 0x20))
		if (++spins > 100000000ull)
			return 0;
	return rdtsc() - start;
}

static uint64_t tsc_to_ns(uint64_t d)
{
	return (uint64_t)(((unsigned __int128)d * ns_mult) >> 32);
}

void time_init(uint64_t tsc_at_entry, uint64_t tsc_hint_hz)
{
	tsc0 = tsc_at_entry;
	uint32_t ticks = PIT_HZ / 100;  /* 10 ms */
	uint64_t best = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t d = measure_window(ticks);
		if (d && (!best || d < best))
			best = d;
	}
	if (best)
		tsc_hz = best * PIT_HZ / ticks;
	else
		tsc_hz = tsc_hint_hz ? tsc_hint_hz : 1000000000ull;
	ns_mult = (1000000000ull << 32) / tsc_hz;  /* fits: 1e9 << 32 < 2^62 */
	console_set_clock(time_us);
	log_info("time: TSC %u.%03u MHz, calibrated against the PIT (3 x 10 ms)%s",
		 (unsigned)(tsc_hz / 1000000), (unsigned)(tsc_hz / 1000 % 1000),
		 best ? "" : " FAILED, using the CPUID hint");
	if (tsc_hint_hz)
		log_info("time: CPUID TSC hint %u MHz", (unsigned)(tsc_hint_hz / 1000000));
}

uint64_t time_tsc_hz(void)
{
	return tsc_hz;
}

uint64_t time_tsc_to_ns(uint64_t d)
{
	return ns_mult ? tsc_to_ns(d) : 0;
}

uint64_t time_ns(void)
{
	return ns_mult ? tsc_to_ns(rdtsc() - tsc0) : 0;
}

uint64_t time_us(void)
{
	return time_ns() / 1000;
}

uint64_t time_ms(void)
{
	return time_ns() / 1000000;
}

void time_delay_us(uint64_t us)
{
	uint64_t end = time_ns() + us * 1000;
	while (time_ns() < end)
		pause();
}
