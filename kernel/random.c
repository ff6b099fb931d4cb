/* Entropy (see random.h). The fallback is weak by nature and says so in the log. */
#include "kernel/random.h"
#include "kernel/console.h"
#include "kernel/cpu.h"

static int have_rdrand, have_rdseed;
static uint64_t pool[4];
static uint64_t device_bytes;           /* mixed in by random_add_entropy() */
static const char *device_name;

static int rdrand64(uint64_t *v)
{
	unsigned char ok;
	for (int i = 0; i < 10; i++) {   /* Intel DRNG guide §5.2.1: retry up to 10 times */
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

static int rdseed64(uint64_t *v)
{
	unsigned char ok;
	for (int i = 0; i < 100; i++) {
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
		pause();
	}
	return 0;
}

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* One SipRound over the pool: a good mixer, not a claim of cryptographic strength. */
static void mix(uint64_t in)
{
	pool[3] ^= in;
	pool[0] += pool[1]; pool[1] = rotl(pool[1], 13); pool[1] ^= pool[0]; pool[0] = rotl(pool[0], 32);
	pool[2] += pool[3]; pool[3] = rotl(pool[3], 16); pool[3] ^= pool[2];
	pool[0] += pool[3]; pool[3] = rotl(pool[3], 21); pool[3] ^= pool[0];
	pool[2] += pool[1]; pool[1] = rotl(pool[1], 17); pool[1] ^= pool[2]; pool[2] = rotl(pool[2], 32);
	pool[0] ^= in;
}

static uint64_t jitter_sample(void)
{
	uint64_t t0 = rdtsc();
	for (int i = 0; i < 8; i++)
		(void)inb(0x80);        /* port I/O timing varies with bus and emulator state */
	return rdtsc() - t0;
}

void random_init(void)
{
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	have_rdrand = (c >> 30) & 1;
	cpuid(7, 0, &a, &b, &c, &d);
	have_rdseed = (b >> 18) & 1;
	pool[0] = 0x736f6d6570736575ull ^ rdtsc();
	pool[1] = 0x646f72616e646f6dull;
	pool[2] = 0x6c7967656e657261ull;
	pool[3] = 0x7465646279746573ull;
	for (int i = 0; i < 64; i++)
		mix(jitter_sample());
}

void random_add_entropy(const void *buf, size_t len, const char *source)
{
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		for (size_t k = 0; k < 8 && i + k < len; k++)
			w |= (uint64_t)b[i + k] << (8 * k);
		mix(w);
	}
	mix(rdtsc());
	device_bytes += len;
	device_name = source;
}

const char *random_source(void)
{
	if (have_rdseed || have_rdrand)
		return have_rdseed ? "RDSEED+RDRAND" : "RDRAND";
	return device_bytes ? device_name : "TSC jitter only (weak)";
}

/* One line, after the drivers probed: what was used, and how to get a real source. */
void random_report(void)
{
	const char *cpu = have_rdseed ? "RDSEED+RDRAND" : have_rdrand ? "RDRAND" : NULL;
	if (cpu && device_bytes)
		log_info("random: %s, %s (%lu bytes), TSC jitter", cpu, device_name,
			 (unsigned long)device_bytes);
	else if (cpu)
		log_info("random: %s, TSC jitter", cpu);
	else if (device_bytes)
		log_info("random: %s (%lu bytes) and TSC jitter; the CPU has no RDRAND", device_name,
			 (unsigned long)device_bytes);
	else
		log_warn("random: TSC jitter only (weak): the CPU has no RDRAND and there is no "
			 "virtio-rng; add `-device virtio-rng-pci` or use `-cpu max` (or host)");
}

uint64_t random_u64(void)
{
	uint64_t v;
	if (have_rdseed && rdseed64(&v))
		return v;
	if (have_rdrand && rdrand64(&v))
		return v;
	mix(jitter_sample());
	mix(rdtsc());
	return pool[0] ^ pool[1] ^ pool[2] ^ pool[3];
}
