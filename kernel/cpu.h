/*
 * x86-64 instructions the kernel and drivers need, as inline helpers. Every MMIO
 * access goes through read32/write32 (drivers/ use those), which carry a compiler
 * barrier; x86 keeps uncached accesses in program order.
 */
#ifndef SKIFF_CPU_H
#define SKIFF_CPU_H

#include <stdint.h>

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
/* sti takes effect after the next instruction, so no interrupt slips in before hlt. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" : : : "memory"); }
static inline void pause(void) { __asm__ volatile("pause"); }
static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }
/* Orders normal stores before a device sees a doorbell write (descriptor -> tail). */
static inline void wmb(void) { __asm__ volatile("sfence" : : : "memory"); }
static inline void rmb(void) { __asm__ volatile("lfence" : : : "memory"); }
static inline void mb(void) { __asm__ volatile("mfence" : : : "memory"); }

static inline uint64_t irq_save(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(uint64_t f)
{
	if (f & (1u << 9))
		sti();
}

/* MMIO accessors: volatile, with a compiler barrier so C code cannot reorder around them. */
static inline uint32_t read32(const volatile void *addr)
{
	uint32_t v = *(const volatile uint32_t *)addr;
	barrier();
	return v;
}

static inline void write32(volatile void *addr, uint32_t v)
{
	barrier();
	*(volatile uint32_t *)addr = v;
}

static inline uint16_t read16(const volatile void *addr)
{
	uint16_t v = *(const volatile uint16_t *)addr;
	barrier();
	return v;
}

static inline void write16(volatile void *addr, uint16_t v)
{
	barrier();
	*(volatile uint16_t *)addr = v;
}

static inline uint8_t read8(const volatile void *addr)
{
	uint8_t v = *(const volatile uint8_t *)addr;
	barrier();
	return v;
}

static inline void write8(volatile void *addr, uint8_t v)
{
	barrier();
	*(volatile uint8_t *)addr = v;
}

static inline uint64_t read64(const volatile void *addr)
{
	uint64_t v = *(const volatile uint64_t *)addr;
	barrier();
	return v;
}

static inline void write64(volatile void *addr, uint64_t v)
{
	barrier();
	*(volatile uint64_t *)addr = v;
}

#endif
