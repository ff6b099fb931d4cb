/* Power off and reset: UEFI runtime ResetSystem first (it knows the board), then the
 * ACPI way (FADT PM1 control with \_S5 SLP_TYP; FADT reset register), then legacy. */
#ifndef SKIFF_POWER_H
#define SKIFF_POWER_H

void power_init(void *efi_runtime_services);
void power_off(void) __attribute__((noreturn));
void power_reboot(void) __attribute__((noreturn));

#endif
