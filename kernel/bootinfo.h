/*
 * The one hand-over from boot/ to kernel/. boot/efi_main.c fills it while UEFI boot
 * services still run; kernel_main() receives it after ExitBootServices and never calls
 * the firmware again, except the runtime ResetSystem service (kernel/power.c).
 */
#ifndef SKIFF_BOOTINFO_H
#define SKIFF_BOOTINFO_H

#include <stdint.h>
#include <stddef.h>

/* UEFI memory types we care about (UEFI 2.10 §7.2, EFI_MEMORY_TYPE). */
enum {
	MEM_RESERVED = 0,
	MEM_LOADER_CODE = 1,
	MEM_LOADER_DATA = 2,
	MEM_BS_CODE = 3,
	MEM_BS_DATA = 4,
	MEM_RT_CODE = 5,
	MEM_RT_DATA = 6,
	MEM_CONVENTIONAL = 7,
	MEM_UNUSABLE = 8,
	MEM_ACPI_RECLAIM = 9,
	MEM_ACPI_NVS = 10,
	MEM_MMIO = 11,
	MEM_MMIO_PORT = 12,
	MEM_PAL_CODE = 13,
	MEM_PERSISTENT = 14,
};

/* Mirrors EFI_MEMORY_DESCRIPTOR; entries are desc_size apart, not sizeof apart. */
struct boot_memdesc {
	uint32_t type;
	uint32_t pad;
	uint64_t phys_start;
	uint64_t virt_start;
	uint64_t num_pages;
	uint64_t attribute;
};

#define BOOT_MAX_FILES 64

/* A file the boot stage read from the boot volume (the www/ folder). */
struct boot_file {
	char name[96];          /* path below www/, '/'-separated, NUL terminated */
	const uint8_t *data;
	uint64_t size;
};

/* The firmware's framebuffer (UEFI 2.10 §12.9, EFI_GRAPHICS_OUTPUT_PROTOCOL): base == 0
 * when there is none (no GOP, or a BltOnly mode without a linear framebuffer). */
enum { BOOT_FB_RGBX = 0, BOOT_FB_BGRX = 1, BOOT_FB_BITMASK = 2 };  /* EFI_GRAPHICS_PIXEL_FORMAT */

struct boot_fb {
	uint64_t base;          /* physical address of the linear framebuffer */
	uint64_t size;          /* bytes */
	uint32_t width, height; /* visible pixels */
	uint32_t stride;        /* pixels per scan line (>= width) */
	uint32_t format;        /* BOOT_FB_*: 32 bits per pixel in the first two */
};

struct boot_info {
	uint64_t tsc_at_entry;      /* rdtsc at efi_main entry: boot time measurement */
	uint64_t tsc_hint_hz;       /* CPUID 0x15/0x16 hint, 0 if the CPU gives none */

	const uint8_t *memmap;      /* copy of the final UEFI memory map */
	uint64_t memmap_size;
	uint64_t memdesc_size;

	uint64_t rsdp;              /* physical address of the ACPI RSDP, 0 if absent */
	void *runtime_services;     /* EFI_RUNTIME_SERVICES, used for ResetSystem */

	uint64_t image_base;        /* where the firmware loaded our PE image */
	uint64_t image_size;

	const char *conf_text;      /* skiff.conf from the boot volume, NULL if absent */
	uint64_t conf_len;
	char cmdline[512];          /* image load options, converted to ASCII */

	struct boot_file files[BOOT_MAX_FILES];
	uint32_t nfiles;

	struct boot_fb fb;
};

/* kernel/main.c: never returns. */
void kernel_main(struct boot_info *bi) __attribute__((noreturn));

#endif
