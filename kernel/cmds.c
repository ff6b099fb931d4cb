/* Shell commands that report on or control the kernel itself (see cmds.h). */
#include "kernel/cmds.h"
#include "kernel/shell.h"
#include "kernel/console.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/dma.h"
#include "kernel/paging.h"
#include "kernel/time.h"
#include "kernel/apic.h"
#include "kernel/trap.h"
#include "kernel/power.h"
#include "lib/string.h"

static const struct conf *conf;
static const struct boot_info *boot;

static int usage(char **argv, const char *args)
{
	kprintf("usage: %s %s\n", argv[0], args);
	return -1;
}

static void kib(const char *label, uint64_t bytes)
{
	kprintf("%s %lu KiB", label, (unsigned long)(bytes / 1024));
}

static int cmd_mem(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	struct pmm_stats p;
	struct heap_stats h;
	struct dma_stats d;
	struct paging_stats g;
	pmm_get_stats(&p);
	heap_get_stats(&h);
	dma_get_stats(&d);
	paging_get_stats(&g);
	kib("pages:  total", p.total_pages * PAGE_SIZE);
	kib(", free", p.free_pages * PAGE_SIZE);
	kib(", used", (p.total_pages - p.free_pages) * PAGE_SIZE);
	kprintf(" (allocs %lu, frees %lu, failures %lu)\n", (unsigned long)p.allocs,
		(unsigned long)p.frees, (unsigned long)p.failures);
	kib("heap:   arena", h.arena_bytes);
	kib(", used", h.used_bytes);
	kib(", free", h.free_bytes);
	kib(" (largest", h.largest_free);
	kprintf("), live blocks %lu (allocs %lu, frees %lu, failures %lu)\n", (unsigned long)h.live,
		(unsigned long)h.allocs, (unsigned long)h.frees, (unsigned long)h.failures);
	kib("dma:    live", d.bytes_live);
	kprintf(" (allocs %lu, frees %lu, failures %lu)\n", (unsigned long)d.allocs,
		(unsigned long)d.frees, (unsigned long)d.failures);
	kprintf("paging: %lu table pages, %lu x 2 MiB, %lu x 4 KiB", (unsigned long)g.table_pages,
		(unsigned long)g.pages_2m, (unsigned long)g.pages_4k);
	kib(", MMIO mapped", g.mmio_bytes);
	kprintf("\n");
	return 0;
}

static int cmd_uptime(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	uint64_t ms = time_ms(), s = ms / 1000;
	kprintf("up %lu:%02lu:%02lu.%03lu, %lu timer ticks, TSC %lu kHz\n", (unsigned long)(s / 3600),
		(unsigned long)(s / 60 % 60), (unsigned long)(s % 60), (unsigned long)(ms % 1000),
		(unsigned long)apic_timer_ticks(), (unsigned long)(time_tsc_hz() / 1000));
	return 0;
}

static void log_out(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	console_write(s, n);
}

static int cmd_log(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	log_dump(log_out, NULL);
	return 0;
}

static void conf_line(void *ctx, const char *text)
{
	(void)ctx;
	kprintf("%s\n", text);
}

static int cmd_conf(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	conf_show(conf, conf_line, NULL);
	if (boot->cmdline[0])
		kprintf("# load options: %s\n", boot->cmdline);
	return 0;
}

static int cmd_irq(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	irq_show();
	return 0;
}

/* Recurses until the guard page below the stack faults (the bound is never reached). */
static int recurse(int depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (depth > (1 << 30))
		return pad[0];
	return recurse(depth + 1) + pad[0];
}

/* Deliberate faults, to show (and test) the exception report. Never returns. */
static int cmd_crash(int argc, char **argv)
{
	if (argc != 2)
		return usage(argv, "null|ud|stack|wp");
	if (strcmp(argv[1], "null") == 0) {
		volatile int *volatile null_ptr = NULL;
		return null_ptr[2];
	}
	if (strcmp(argv[1], "ud") == 0)
		__asm__ volatile("ud2");
	if (strcmp(argv[1], "stack") == 0)
		return recurse(0);
	if (strcmp(argv[1], "wp") == 0) {
		*(volatile uint8_t *)(uintptr_t)cmd_crash = 0xCC;   /* text is read-only */
		return 0;
	}
	return usage(argv, "null|ud|stack|wp");
}

static int cmd_reboot(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	power_reboot();
}

static int cmd_poweroff(int argc, char **argv)
{
	if (argc != 1)
		return usage(argv, "");
	power_off();
}

static const struct shell_cmd cmds[] = {
	{ "mem", "", "page, heap, DMA and page-table counters", cmd_mem },
	{ "uptime", "", "time since boot and clock source", cmd_uptime },
	{ "log", "", "recent log messages", cmd_log },
	{ "conf", "", "effective configuration", cmd_conf },
	{ "irq", "", "interrupt vectors and counts", cmd_irq },
	{ "crash", "null|ud|stack|wp", "fault on purpose (shows the exception report)", cmd_crash },
	{ "reboot", "", "reset the machine", cmd_reboot },
	{ "poweroff", "", "power the machine off", cmd_poweroff },
};

void cmds_init(const struct boot_info *bi, const struct conf *c)
{
	boot = bi;
	conf = c;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		shell_register(&cmds[i]);
}
