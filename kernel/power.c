/*
 * Shutdown and reset. The firmware's runtime services stay callable after
 * ExitBootServices because we never call SetVirtualAddressMap and keep runtime code
 * and MMIO identity mapped (kernel/paging.c).
 */
#include "kernel/power.h"
#include "kernel/acpi.h"
#include "kernel/console.h"
#include "kernel/paging.h"
#include "kernel/cpu.h"

/* The slice of EFI_RUNTIME_SERVICES we call (UEFI 2.10 §8): header, then 10 pointers
 * before ResetSystem. Declared here so kernel/ needs no UEFI headers. */
typedef void (__attribute__((ms_abi)) *efi_reset_fn)(int type, uint64_t status, uint64_t size, void *data);
struct efi_runtime {
	uint8_t header[24];
	void *fns[10];
	efi_reset_fn reset_system;
};

#define EFI_RESET_COLD 0
#define EFI_RESET_SHUTDOWN 2
#define SLP_EN (1u << 13)

static struct efi_runtime *rt;

void power_init(void *runtime)
{
	rt = runtime;
}

static void halt_forever(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

void power_off(void)
{
	kprintf("skiff: powering off\n");
	console_flush();
	cli();
	if (rt && rt->reset_system)
		rt->reset_system(EFI_RESET_SHUTDOWN, 0, 0, NULL);
	const struct acpi_info *a = acpi_get();
	if (a->s5_valid && a->pm1a_cnt) {
		outw((uint16_t)a->pm1a_cnt, (uint16_t)(a->slp_typa << 10 | SLP_EN));
		if (a->pm1b_cnt)
			outw((uint16_t)a->pm1b_cnt, (uint16_t)(a->slp_typb << 10 | SLP_EN));
	}
	for (volatile int i = 0; i < 10000000; i++)
		;
	kprintf("skiff: power off failed, halting\n");
	console_flush();
	halt_forever();
	__builtin_unreachable();
}

void power_reboot(void)
{
	kprintf("skiff: rebooting\n");
	console_flush();
	cli();
	if (rt && rt->reset_system)
		rt->reset_system(EFI_RESET_COLD, 0, 0, NULL);
	const struct acpi_info *a = acpi_get();
	if (a->reset_valid && a->reset_space == 1)
		outb((uint16_t)a->reset_addr, a->reset_value);
	else if (a->reset_valid && a->reset_space == 0 && map_mmio(a->reset_addr & ~0xFFFull, 4096))
		write8((volatile void *)(uintptr_t)a->reset_addr, a->reset_value);
	outb(0xCF9, 0x06);      /* PCH reset control: full reset */
	outb(0x64, 0xFE);       /* 8042 keyboard controller pulse */
	kprintf("skiff: reset failed, halting\n");
	console_flush();
	halt_forever();
	__builtin_unreachable();
}
