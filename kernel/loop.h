/*
 * The main loop's contract with drivers and the stack. Each hook's poll() runs once per
 * loop turn with interrupts enabled; pending() is asked with interrupts disabled just
 * before the CPU halts, so work flagged by an interrupt handler is never slept on.
 */
#ifndef SKIFF_LOOP_H
#define SKIFF_LOOP_H

#include <stdint.h>

struct loop_hook {
	const char *name;
	void (*poll)(void *ctx, uint64_t now_ns);
	int (*pending)(void *ctx);      /* may be NULL: nothing is ever pending */
	/* may be NULL: when poll() next has a timer due (time_ns() clock, a lower bound
	 * is fine), if that can be before the tick; UINT64_MAX: none */
	uint64_t (*next_wake)(void *ctx);
	void *ctx;
};

void loop_register(const struct loop_hook *hook);
/* How the loop asks for an interrupt within ns (a timer earlier than its tick). */
void loop_set_waker(void (*wake_within)(uint64_t ns));
void loop_run(void) __attribute__((noreturn));

#endif
