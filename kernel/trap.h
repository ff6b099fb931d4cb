/*
 * IDT, exception reports and interrupt dispatch. Vectors 0-31 are CPU exceptions: each
 * prints vector, error code, RIP, CR2, registers and a frame-pointer backtrace, then
 * halts. Vectors 32-254 are handed out by irq_register(); the dispatcher calls the handler
 * and then the EOI function the interrupt controller registered (kernel/apic.c), so
 * this file depends on no controller.
 */
#ifndef SKIFF_TRAP_H
#define SKIFF_TRAP_H

#include <stdint.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_fn)(void *ctx);

void trap_init(void);
/* The interrupt controller's end-of-interrupt, called after every IRQ handler. */
void trap_set_eoi(void (*eoi)(void));

/* Allocates a free vector and binds handler(ctx) to it; returns the vector or -1. */
int irq_register(irq_handler_fn handler, void *ctx, const char *name);
/* Per-vector delivery counts, for the shell's `irq` command. */
void irq_show(void);


#define VEC_SPURIOUS 0xFF
#define VEC_FIRST_IRQ 0x20

#endif
