/*
 * IDT setup, exception reports and IRQ dispatch (Intel SDM Vol. 3 ch. 6).
 * Exceptions never return: the report goes out synchronously, then the CPU halts.
 */
#include "kernel/trap.h"
#include "kernel/gdt.h"
#include "kernel/console.h"
#include "kernel/backtrace.h"
#include "kernel/cpu.h"
#include "lib/string.h"

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;           /* 0x8E: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry is 16 bytes");

struct irq_slot {
	irq_handler_fn fn;
	void *ctx;
	const char *name;
	uint64_t count;
};

extern char isr_stubs[];

static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct irq_slot irqs[256];
static void (*eoi_fn)(void);    /* the interrupt controller's end-of-interrupt */

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection",
};

static void set_gate(int vec, int ist)
{
	uint64_t addr = (uint64_t)(uintptr_t)(isr_stubs + 16 * vec);
	idt[vec] = (struct idt_entry){
		.off_lo = addr & 0xffff,
		.sel = GDT_KERNEL_CODE,
		.ist = (uint8_t)ist,
		.type = 0x8E,
		.off_mid = (addr >> 16) & 0xffff,
		.off_hi = (uint32_t)(addr >> 32),
	};
}

void trap_init(void)
{
	for (int v = 0; v < 256; v++)
		set_gate(v, 0);
	/* Faults that can hit on a broken stack get their own (gdt.c IST stacks). */
	set_gate(2, IST_NMI);
	set_gate(8, IST_DOUBLE_FAULT);
	set_gate(14, IST_PAGE_FAULT);
	set_gate(18, IST_NMI);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void trap_set_eoi(void (*eoi)(void))
{
	eoi_fn = eoi;
}

int irq_register(irq_handler_fn fn, void *ctx, const char *name)
{
	for (int v = VEC_FIRST_IRQ + 16; v < VEC_SPURIOUS; v++)
		if (!irqs[v].fn) {
			irqs[v] = (struct irq_slot){ fn, ctx, name, 0 };
			return v;
		}
	return -1;
}

void irq_show(void)
{
	kprintf("vector  count       name\n");
	for (int v = VEC_FIRST_IRQ; v < 256; v++)
		if (irqs[v].fn)
			kprintf("0x%02x    %-10lu  %s\n", v, (unsigned long)irqs[v].count, irqs[v].name);
}

static void exception_report(const struct trap_frame *f)
{
	console_flush();
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "exception";
	kprintf("\n*** CPU exception %lu: %s, error code 0x%lx\n", (unsigned long)f->vector, name,
		(unsigned long)f->error);
	backtrace_addr("RIP ", f->rip);
	if (f->vector == 14)
		kprintf("CR2 %016lx (%s, %s, %s)\n", (unsigned long)read_cr2(),
			f->error & 1 ? "protection violation" : "page not present",
			f->error & 2 ? "write" : "read", f->error & 16 ? "instruction fetch" : "data");
	kprintf("RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	kprintf("RSI %016lx RDI %016lx RBP %016lx RSP %016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
	kprintf("R8  %016lx R9  %016lx R10 %016lx R11 %016lx\n", f->r8, f->r9, f->r10, f->r11);
	kprintf("R12 %016lx R13 %016lx R14 %016lx R15 %016lx\n", f->r12, f->r13, f->r14, f->r15);
	kprintf("RFLAGS %016lx CS %04lx SS %04lx CR3 %016lx\n", f->rflags, f->cs, f->ss,
		(unsigned long)read_cr3());
	backtrace_addr("  ", f->rip);
	backtrace_from(f->rbp);
	kprintf("system halted\n");
	console_flush();
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
	if (f->vector < 32) {
		exception_report(f);
		for (;;) {
			cli();
			hlt();
		}
	}
	if (f->vector == VEC_SPURIOUS)
		return;         /* spurious: no EOI (SDM Vol. 3 §11.9) */
	struct irq_slot *s = &irqs[f->vector];
	s->count++;
	if (s->fn)
		s->fn(s->ctx);
	if (eoi_fn)
		eoi_fn();
}
