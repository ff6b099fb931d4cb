/*
 * DRIVER_INIT entries for driver files that predate drivers/driver.h. When e1000.c
 * (and igb.c) carry their own DRIVER_INIT line, this file goes away.
 */
#include "drivers/driver.h"
#include "drivers/e1000.h"

DRIVER_INIT(e1000_register);
