/*
 * Driver registration without a list: each driver file says DRIVER_INIT(its_register)
 * once, the compiler puts a pointer to that function in section .data.driver, and
 * linker.ld collects the section between _driver_init_start and _driver_init_end
 * (inside .data, which the PE conversion copies). driver_init_all() calls each, so
 * kernel/main.c and drivers/nic.c never name a driver: adding one is adding its file
 * to the Makefile. The register functions only call pci_register_driver(); order
 * between them does not matter (pci_probe_drivers() matches by ID).
 */
#ifndef SKIFF_DRIVER_H
#define SKIFF_DRIVER_H

typedef void (*driver_init_fn)(void);

#define DRIVER_INIT(fn) \
	static const driver_init_fn driver_init_##fn \
	__attribute__((used, section(".data.driver"), aligned(8))) = fn

/* Calls every DRIVER_INIT function once; before pci_probe_drivers(). */
void driver_init_all(void);

#endif
