/*
 * The main loop (see loop.h): every turn runs each registered hook's poll() in
 * registration order, then, with interrupts off, asks every pending() whether work
 * is waiting; if none is, sti;hlt sleeps until the next interrupt (at least the
 * timer tick, sooner if a hook's next_wake() asks for it). Knows nothing of devices:
 * the console, the NICs and the stack are all hooks registered by the composition root
 * (main.c) or the modules themselves.
 */
#include "kernel/loop.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/time.h"

#define MAX_HOOKS 16

static const struct loop_hook *hooks[MAX_HOOKS];
static int nhooks;
static void (*wake_within)(uint64_t ns);

void loop_register(const struct loop_hook *hook)
{
	if (nhooks == MAX_HOOKS)
		panic("too many main loop hooks");
	hooks[nhooks++] = hook;
}

static int work_pending(void)
{
	for (int i = 0; i < nhooks; i++)
		if (hooks[i]->pending && hooks[i]->pending(hooks[i]->ctx))
			return 1;
	return 0;
}

void loop_set_waker(void (*fn)(uint64_t ns))
{
	wake_within = fn;
}

/* Before sleeping: a hook's timer due before the tick gets its own interrupt, so a
 * paced TCP segment leaves when it is due, not up to a tick (1 ms) late. A deadline
 * already past is left to the tick: a stale lower bound must not make the loop spin. */
static void arm_wake(void)
{
	uint64_t d = UINT64_MAX, now = time_ns();
	for (int i = 0; i < nhooks; i++)
		if (hooks[i]->next_wake) {
			uint64_t w = hooks[i]->next_wake(hooks[i]->ctx);
			d = w < d ? w : d;
		}
	if (wake_within && d != UINT64_MAX && d > now)
		wake_within(d - now);
}

void loop_run(void)
{
	for (;;) {
		uint64_t now = time_ns();
		for (int i = 0; i < nhooks; i++)
			hooks[i]->poll(hooks[i]->ctx, now);
		cli();
		if (work_pending()) {
			sti();
		} else {
			arm_wake();
			sti_hlt();      /* any interrupt, including the tick, wakes us */
		}
	}
}
