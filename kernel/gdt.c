/* GDT and TSS (Intel SDM Vol. 3 §3.4.5, §7.7). */
#include "kernel/gdt.h"
#include <stdint.h>

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

#define IST_STACK_SIZE 8192

static uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
static struct tss tss;
static uint64_t gdt[5] __attribute__((aligned(16)));

void gdt_load(const void *gdtr, uint16_t code, uint16_t data, uint16_t tss_sel);

void gdt_init(void)
{
	for (int i = 0; i < 3; i++)
		tss.ist[i] = (uint64_t)(uintptr_t)(ist_stacks[i] + IST_STACK_SIZE);
	tss.iomap_base = sizeof(tss);   /* no I/O permission bitmap */

	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	gdt[0] = 0;
	gdt[1] = 0x00AF9A000000FFFFull;     /* code: present, DPL 0, L=1 */
	gdt[2] = 0x00CF92000000FFFFull;     /* data: present, DPL 0, writable */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	gdt_load(&gdtr, GDT_KERNEL_CODE, GDT_KERNEL_DATA, GDT_TSS);
}
