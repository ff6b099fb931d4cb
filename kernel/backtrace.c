/* Frame-pointer backtraces (see backtrace.h). */
#include "kernel/backtrace.h"
#include "kernel/console.h"
#include "kernel/pte.h"

extern char ImageBase[], _end[];

void backtrace_addr(const char *label, uint64_t a)
{
	uint64_t base = (uint64_t)(uintptr_t)ImageBase, end = (uint64_t)(uintptr_t)_end;
	if (a >= base && a < end)
		kprintf("%s%016lx (skiff+0x%lx)\n", label, (unsigned long)a, (unsigned long)(a - base));
	else
		kprintf("%s%016lx\n", label, (unsigned long)a);
}

void backtrace_from(uint64_t rbp)
{
	kprintf("backtrace (addr2line -e build/skiff.so OFFSET):\n");
	for (int depth = 0; depth < 16 && rbp && !(rbp & 7); depth++) {
		if (!pte_is_mapped(rbp) || !pte_is_mapped(rbp + 8))
			break;
		const uint64_t *fp = (const uint64_t *)(uintptr_t)rbp;
		if (!fp[1])
			break;
		backtrace_addr("  ", fp[1]);
		if (fp[0] <= rbp)       /* frames grow upward; anything else is corrupt */
			break;
		rbp = fp[0];
	}
}
