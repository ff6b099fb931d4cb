/* panic(): a broken kernel invariant. Report where, show the call chain, stop. */
#include "kernel/console.h"
#include "kernel/backtrace.h"
#include "lib/fmt.h"
#include "kernel/cpu.h"

void panic_at(const char *file, int line, const char *fmt, ...)
{
	cli();
	console_flush();
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("\n*** panic: %s:%d: %s\n", file, line, msg);
	backtrace_from((uint64_t)(uintptr_t)__builtin_frame_address(0));
	kprintf("system halted\n");
	console_flush();
	for (;;)
		hlt();
}
