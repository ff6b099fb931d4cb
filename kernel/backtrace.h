/*
 * Frame-pointer backtraces for panics and CPU exception reports. Below both trap.c
 * and panic.c (it depends only on the console and the page-table walk in pte.h), so
 * neither depends on the other.
 */
#ifndef SKIFF_BACKTRACE_H
#define SKIFF_BACKTRACE_H

#include <stdint.h>

/* Prints a frame-pointer backtrace starting at rbp; stops at unmapped or corrupt frames. */
void backtrace_from(uint64_t rbp);
/* Prints label and a, with its offset into the image when it lies inside it. */
void backtrace_addr(const char *label, uint64_t a);

#endif
