/* Runs the DRIVER_INIT table the linker collected (see driver.h and linker.ld). */
#include "drivers/driver.h"
#include "kernel/console.h"

extern const driver_init_fn _driver_init_start[], _driver_init_end[];

void driver_init_all(void)
{
	int n = 0;
	for (const driver_init_fn *f = _driver_init_start; f < _driver_init_end; f++, n++)
		(*f)();
	log_debug("driver: %d driver(s) registered", n);
}
