/* GDT with one 64-bit code and data segment, and a TSS whose IST stacks catch faults
 * that happen on a broken stack (double fault, NMI/MCE, page fault from the guard page). */
#ifndef SKIFF_GDT_H
#define SKIFF_GDT_H

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS 0x18

#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_PAGE_FAULT 3

void gdt_init(void);

#endif
