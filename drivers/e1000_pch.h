/*
 * Bring-up steps for the e1000e PCH LAN parts (I217, I218, I219: a MAC inside the
 * platform controller hub, a PHY outside it): PHY access through MDIC under the
 * software/firmware ownership flag, Kumeran (MAC-PHY interconnect) access, exit from
 * Ultra Low Power (ULP), the link-up wait that says why it failed, and the K1
 * workaround. Intel publishes no programming manual for these parts: the sequences
 * follow what Linux e1000e's ich8lan.c does and documents, cited per function.
 *
 * Hardware-free: every register access goes through struct e1000_io, so the host unit
 * tests (tests/unit/test_e1000_pch.c) run these sequences against a scripted register
 * model, and drivers/e1000.c points it at BAR0. No QEMU model exists for these parts.
 *
 * Every function returns 0 or -1; on -1 it wrote a one-line reason into why (cap bytes),
 * for the log. Calling context: probe or the main loop (they sleep through delay_us,
 * up to a few hundred milliseconds), never an interrupt handler.
 */
#ifndef SKIFF_E1000_PCH_H
#define SKIFF_E1000_PCH_H

#include <stddef.h>
#include <stdint.h>

struct e1000_io {
	uint32_t (*rd)(void *ctx, uint32_t reg);
	void (*wr)(void *ctx, uint32_t reg, uint32_t v);
	void (*delay_us)(void *ctx, uint32_t us);       /* busy-wait; a fake advances its clock */
	void *ctx;
};

#define PCH_WHY_MAX 128

/* EXTCNF_CTRL.SWFLAG: the PHY (and Kumeran) are shared with the ME firmware; hold the
 * flag around every PHY access sequence. */
int pch_swflag_acquire(const struct e1000_io *io, char *why, size_t cap);
void pch_swflag_release(const struct e1000_io *io);

/* PHY register preg = E1000_PHY_REG(page, reg) (drivers/e1000_regs.h): page 0 and pages
 * 768 and up; the flag must be held. */
int pch_phy_read(const struct e1000_io *io, uint32_t preg, uint16_t *val, char *why,
		 size_t cap);
int pch_phy_write(const struct e1000_io *io, uint32_t preg, uint16_t val, char *why,
		  size_t cap);

/* Kumeran register offset (0-31); the flag must be held. */
uint16_t pch_kmrn_read(const struct e1000_io *io, unsigned offset);
void pch_kmrn_write(const struct e1000_io *io, unsigned offset, uint16_t val);

/* Leaves Ultra Low Power so the PHY answers (Linux e1000_disable_ulp_lpt_lp, forced).
 * device is the PCI device ID: the first I217/I218 steppings have no ULP. */
int pch_ulp_exit(const struct e1000_io *io, uint16_t device, char *why, size_t cap);

/* Polls the PHY (BMSR) and the MAC (STATUS.LU) every 10 ms until both report link,
 * at most timeout_ms; -1 says which side is missing and what it showed last. */
int pch_link_wait(const struct e1000_io *io, uint32_t timeout_ms, char *why, size_t cap);

/* Applies the Lynx Point-LP K1 workaround after a link change (link 1 = up); does
 * nothing on parts that do not need it. See e1000_pch.c for what and why. */
int pch_k1_workaround(const struct e1000_io *io, uint16_t device, int link, char *why,
		      size_t cap);

#endif
