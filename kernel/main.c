/*
 * kernel_main: the init steps in order, then the main loop.
 *
 *  1. COM1 console                 7. heap (boot services memory now free)
 *  2. TSC clock (PIT calibrated)   8. ACPI tables
 *  3. configuration                9. local APIC, IOAPIC, timer tick, UART IRQ
 *  4. GDT, TSS, IDT               10. PCI enumeration, driver probe
 *  5. physical pages              11. shell, "ready" line
 *  6. own stack + page tables     12. main loop (kernel/loop.c): console, NIC, stack hooks
 *
 * This file and main_net.c are the composition root: the only kernel files that name
 * drivers/ and net/. Everything else in kernel/ knows nothing of devices or networking.
 */
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/conf.h"
#include "kernel/time.h"
#include "kernel/gdt.h"
#include "kernel/trap.h"
#include "kernel/pmm.h"
#include "kernel/paging.h"
#include "kernel/heap.h"
#include "kernel/acpi.h"
#include "kernel/apic.h"
#include "kernel/power.h"
#include "kernel/shell.h"
#include "kernel/loop.h"
#include "kernel/cmds.h"
#include "kernel/cpu.h"
#include "kernel/random.h"
#include "kernel/rtc.h"
#include "kernel/fbcon.h"
#include "drivers/uart.h"
#include "drivers/pci.h"
#include "drivers/nic.h"
#include "drivers/driver.h"
#include "kernel/main_net.h"

#define STACK_PAGES 16          /* 64 KiB kernel stack, plus one guard page below */
#define HEAP_PAGES 2048         /* 8 MiB */
#define TICK_HZ 1000

static struct boot_info *boot;
static struct conf conf;
static uint64_t stack_guard;

void stack_switch(uint64_t rsp, void (*fn)(void *), void *arg) __attribute__((noreturn));

static void conf_report(void *ctx, const char *msg)
{
	(void)ctx;
	log_msg(LOG_WARN, NULL, 0, "conf: %s", msg);
}

static void load_config(void)
{
	conf_defaults(&conf);
	if (boot->conf_text)
		conf_parse(&conf, boot->conf_text, boot->conf_len, "skiff.conf", conf_report, NULL);
	if (boot->cmdline[0])
		conf_parse_cmdline(&conf, boot->cmdline, conf_report, NULL);
	log_set_level(conf.log_level);
}

static void start_interrupts(void)
{
	acpi_init(boot->rsdp);
	apic_init();
	apic_timer_start(TICK_HZ);
	loop_set_waker(apic_timer_wake_within);
	uart_enable_irq();
	sti();
}

/* The serial console as a main-loop hook: shell input first, then the TX drain. */
static void console_poll(void *ctx, uint64_t now_ns)
{
	(void)ctx;
	(void)now_ns;
	int c;
	while ((c = uart_getc()) >= 0)
		if (conf.shell)
			shell_input((char)c);
	uart_poll();
}

static int console_pending(void *ctx)
{
	(void)ctx;
	return uart_rx_pending();
}

static const struct loop_hook console_hook = {
	.name = "console", .poll = console_poll, .pending = console_pending,
};

static void print_ready(void)
{
	uint64_t us = time_us();
	kprintf("skiff: ready in %u.%u ms\n", (unsigned)(us / 1000), (unsigned)(us % 1000 / 100));
	log_msg(LOG_INFO, NULL, 0, "ready in %u.%u ms (from efi_main entry)", (unsigned)(us / 1000),
		(unsigned)(us % 1000 / 100));
}

static void stage2(void *arg)
{
	(void)arg;
	paging_init(boot);                                          /* 6 */
	paging_unmap_page(stack_guard);
	fbcon_init(&boot->fb);          /* a second console where the firmware had a screen */
	pmm_add_boot_services(boot->memmap, boot->memmap_size, boot->memdesc_size);
	uint64_t heap = pmm_alloc(HEAP_PAGES, 1);                   /* 7 */
	if (!heap)
		panic("no memory for the kernel heap");
	heap_init((void *)(uintptr_t)heap, HEAP_PAGES * PAGE_SIZE);
	start_interrupts();                                         /* 8, 9 */
	power_init(boot->runtime_services);
	random_init();
	rtc_init();
	shell_init(conf.hostname);
	loop_register(&console_hook);
	cmds_init(boot, &conf);
	pci_init();                                                 /* 10 */
	/* The poll switch is read by the NIC drivers' probes, so it comes first. */
	nic_set_poll_only(conf.poll);
	driver_init_all();
	pci_probe_drivers();
	random_report();
	main_net_init(&conf, boot);
	print_ready();                                              /* 11 */
	if (conf.shell)
		shell_start();
	loop_run();                                                 /* 12 */
}

void kernel_main(struct boot_info *bi)
{
	boot = bi;
	uart_init();                                                /* 1 */
	kprintf("\nSkiff kernel: image at 0x%lx, %lu KiB\n", (unsigned long)bi->image_base,
		(unsigned long)(bi->image_size / 1024));
	time_init(bi->tsc_at_entry, bi->tsc_hint_hz);               /* 2 */
	load_config();                                              /* 3 */
	main_net_console(&conf);
	gdt_init();                                                 /* 4 */
	trap_init();
	if (pmm_init(bi->memmap, bi->memmap_size, bi->memdesc_size))  /* 5 */
		panic("no usable memory in the UEFI memory map");
	uint64_t stack = pmm_alloc(STACK_PAGES + 1, 1);
	if (!stack)
		panic("no memory for the kernel stack");
	stack_guard = stack;
	stack_switch(stack + (STACK_PAGES + 1) * PAGE_SIZE, stage2, NULL);
}
