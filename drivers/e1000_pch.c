/*
 * PCH LAN bring-up sequences (I217, I218, I219), register access through struct
 * e1000_io only. Call order in drivers/e1000.c's probe: global reset -> pch_ulp_exit()
 * -> MAC/ring setup -> pch_link_wait() (bounded; a failure is logged with its reason,
 * the device still registers) -> on every later link change pch_k1_workaround().
 *
 * Sources: Linux e1000e ich8lan.c (e1000_acquire_swflag_ich8lan,
 * __e1000_read_phy_reg_hv, e1000e_read_kmrn_reg_locked, e1000_toggle_lanphypc_pch_lpt,
 * e1000_disable_ulp_lpt_lp, e1000_k1_workaround_lpt_lp) for the facts: register
 * offsets, bits, order and timeouts. The code is ours.
 */
#include "drivers/e1000_pch.h"
#include "drivers/e1000_regs.h"
#include "lib/fmt.h"

#define MDIC_POLLS 1920                 /* x 50 us: Linux's 3 x 640 polls, ~96 ms */
#define MDIC_POLL_US 50
#define SWFLAG_FREE_POLLS 100           /* x 1 ms for firmware to drop the flag */
#define SWFLAG_TAKE_POLLS 1000          /* x 1 ms for our write to stick */
#define ULP_CFG_DONE_POLLS 30           /* x 10 ms: ME clears ULP_CFG_DONE */
#define LPCD_POLLS 20                   /* x 5 ms: LANPHYPC cycle done */
#define LINK_POLL_MS 10

/* The first I217 and I218 steppings never enter ULP (Linux skips them). */
static const uint16_t no_ulp_ids[] = { 0x153A, 0x153B, 0x15A0, 0x15A1 };
/* Lynx Point-LP and Wildcat Point I218s: the K1-at-1G DMA hang (see pch_k1_workaround). */
static const uint16_t k1_lpt_lp_ids[] = { 0x155A, 0x1559, 0x15A2, 0x15A3 };

static uint32_t rd(const struct e1000_io *io, uint32_t reg)
{
	return io->rd(io->ctx, reg);
}

static void wr(const struct e1000_io *io, uint32_t reg, uint32_t v)
{
	io->wr(io->ctx, reg, v);
}

static void delay_ms(const struct e1000_io *io, uint32_t ms)
{
	io->delay_us(io->ctx, ms * 1000);
}

static int listed(const uint16_t *ids, size_t n, uint16_t device)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == device)
			return 1;
	return 0;
}

/* ---- ownership flag ---------------------------------------------------------------- */

/* ich8lan.c e1000_acquire_swflag_ich8lan: wait for the firmware to drop SWFLAG, set
 * it, and wait until it reads back set (the hardware arbitrates; a lost race reads 0). */
int pch_swflag_acquire(const struct e1000_io *io, char *why, size_t cap)
{
	int i = 0;
	while (rd(io, E1000_EXTCNF_CTRL) & E1000_EXTCNF_CTRL_SWFLAG) {
		if (++i > SWFLAG_FREE_POLLS) {
			ksnprintf(why, cap, "PHY owned by firmware: EXTCNF_CTRL.SWFLAG set for %d ms "
				  "(FWSM 0x%08x)", SWFLAG_FREE_POLLS, rd(io, E1000_FWSM));
			return -1;
		}
		delay_ms(io, 1);
	}
	uint32_t v = rd(io, E1000_EXTCNF_CTRL) | E1000_EXTCNF_CTRL_SWFLAG;
	wr(io, E1000_EXTCNF_CTRL, v);
	for (i = 0; !(rd(io, E1000_EXTCNF_CTRL) & E1000_EXTCNF_CTRL_SWFLAG); i++) {
		if (i == SWFLAG_TAKE_POLLS) {
			wr(io, E1000_EXTCNF_CTRL, v & ~E1000_EXTCNF_CTRL_SWFLAG);
			ksnprintf(why, cap, "EXTCNF_CTRL.SWFLAG did not stick in %d ms "
				  "(FWSM 0x%08x)", SWFLAG_TAKE_POLLS, rd(io, E1000_FWSM));
			return -1;
		}
		delay_ms(io, 1);
	}
	return 0;
}

void pch_swflag_release(const struct e1000_io *io)
{
	wr(io, E1000_EXTCNF_CTRL, rd(io, E1000_EXTCNF_CTRL) & ~E1000_EXTCNF_CTRL_SWFLAG);
}

/* ---- PHY and Kumeran access ------------------------------------------------------- */

/* One MDIC transaction (82574 §10.2.2.7; e1000e_read_phy_reg_mdic): the result word,
 * or -1 on timeout, error bit, or an answer for another register. */
static int mdic(const struct e1000_io *io, uint32_t op, unsigned addr, unsigned reg,
		uint16_t data, char *why, size_t cap)
{
	wr(io, E1000_MDIC, op | (uint32_t)reg << E1000_MDIC_REG_SHIFT |
			   (uint32_t)addr << E1000_MDIC_PHY_SHIFT | data);
	uint32_t v = 0;
	for (int i = 0; i < MDIC_POLLS; i++) {
		io->delay_us(io->ctx, MDIC_POLL_US);
		v = rd(io, E1000_MDIC);
		if (v & E1000_MDIC_READY)
			break;
	}
	if (!(v & E1000_MDIC_READY)) {
		ksnprintf(why, cap, "MDIC timeout: PHY %u register %u never answered", addr, reg);
		return -1;
	}
	if (v & E1000_MDIC_ERROR) {
		ksnprintf(why, cap, "MDIC error: PHY %u register %u", addr, reg);
		return -1;
	}
	if ((v & E1000_MDIC_REG_MASK) >> E1000_MDIC_REG_SHIFT != reg) {
		ksnprintf(why, cap, "MDIC answered for register %u, not %u",
			  (v & E1000_MDIC_REG_MASK) >> E1000_MDIC_REG_SHIFT, reg);
		return -1;
	}
	return (int)(v & E1000_MDIC_DATA_MASK);
}

/* __e1000_read_phy_reg_hv: registers 0-15 exist on every page; above that the page is
 * selected first (register 31, always at address 1, written page * 32). Pages 768 and
 * up live at PHY address 1, lower pages at 2. Pages 1-767 (debug) and 800 (wake-up)
 * need other sequences that nothing here uses. */
static int phy_select(const struct e1000_io *io, uint32_t preg, unsigned *addr, char *why,
		      size_t cap)
{
	uint32_t page = preg >> E1000_PHY_PAGE_SHIFT, reg = preg & 0x1F;
	if (page != 0 && (page < E1000_HV_HIGH_PAGE_START || page == 800)) {
		ksnprintf(why, cap, "PHY page %u not supported", page);
		return -1;
	}
	*addr = page ? E1000_PHY_ADDR_HV_HIGH : E1000_PHY_ADDR_HV;
	if (reg <= E1000_PHY_MULTI_PAGE_MAX)
		return 0;
	return mdic(io, E1000_MDIC_OP_WRITE, E1000_PHY_ADDR_HV_HIGH, E1000_PHY_PAGE_SELECT,
		    (uint16_t)(page << E1000_PHY_PAGE_SHIFT), why, cap) < 0 ? -1 : 0;
}

int pch_phy_read(const struct e1000_io *io, uint32_t preg, uint16_t *val, char *why,
		 size_t cap)
{
	unsigned addr;
	if (phy_select(io, preg, &addr, why, cap) < 0)
		return -1;
	int v = mdic(io, E1000_MDIC_OP_READ, addr, preg & 0x1F, 0, why, cap);
	if (v < 0)
		return -1;
	*val = (uint16_t)v;
	return 0;
}

int pch_phy_write(const struct e1000_io *io, uint32_t preg, uint16_t val, char *why,
		  size_t cap)
{
	unsigned addr;
	if (phy_select(io, preg, &addr, why, cap) < 0)
		return -1;
	return mdic(io, E1000_MDIC_OP_WRITE, addr, preg & 0x1F, val, why, cap) < 0 ? -1 : 0;
}

/* e1000e_read_kmrn_reg_locked: offset and REN in one write; data valid 2 us later. */
uint16_t pch_kmrn_read(const struct e1000_io *io, unsigned offset)
{
	wr(io, E1000_KMRNCTRLSTA, (uint32_t)offset << E1000_KMRNCTRLSTA_OFFSET_SHIFT |
				  E1000_KMRNCTRLSTA_REN);
	io->delay_us(io->ctx, 2);
	return (uint16_t)rd(io, E1000_KMRNCTRLSTA);
}

void pch_kmrn_write(const struct e1000_io *io, unsigned offset, uint16_t val)
{
	wr(io, E1000_KMRNCTRLSTA, (uint32_t)offset << E1000_KMRNCTRLSTA_OFFSET_SHIFT | val);
	io->delay_us(io->ctx, 2);
}

/* ---- ULP exit --------------------------------------------------------------------- */

/* With the ME firmware present, the ME owns the PHY's ULP state: ask it to leave ULP
 * (H2ME.ULP clear, ENFORCE_SETTINGS set) and wait until it clears FWSM.ULP_CFG_DONE. */
static int ulp_exit_me(const struct e1000_io *io, char *why, size_t cap)
{
	uint32_t h2me = rd(io, E1000_H2ME);
	wr(io, E1000_H2ME, (h2me & ~E1000_H2ME_ULP) | E1000_H2ME_ENFORCE_SETTINGS);
	for (int i = 0; rd(io, E1000_FWSM) & E1000_FWSM_ULP_CFG_DONE; i++) {
		if (i == ULP_CFG_DONE_POLLS) {
			ksnprintf(why, cap, "ULP exit: ME did not clear FWSM.ULP_CFG_DONE in %d ms",
				  ULP_CFG_DONE_POLLS * 10);
			return -1;
		}
		delay_ms(io, 10);
	}
	wr(io, E1000_H2ME, rd(io, E1000_H2ME) & ~E1000_H2ME_ENFORCE_SETTINGS);
	return 0;
}

/* e1000_toggle_lanphypc_pch_lpt: driving the LANPHYPC pin low power-cycles the PHY
 * out of ULP; FEXTNVM3 first sets how long the PHY configuration takes (50 ms). */
static void lanphypc_toggle(const struct e1000_io *io)
{
	uint32_t v = rd(io, E1000_FEXTNVM3) & ~E1000_FEXTNVM3_PHY_CFG_COUNTER_MASK;
	wr(io, E1000_FEXTNVM3, v | E1000_FEXTNVM3_PHY_CFG_COUNTER_50MSEC);
	uint32_t ctrl = rd(io, E1000_CTRL);
	ctrl = (ctrl | E1000_CTRL_LANPHYPC_OVERRIDE) & ~E1000_CTRL_LANPHYPC_VALUE;
	wr(io, E1000_CTRL, ctrl);
	io->delay_us(io->ctx, 10);
	wr(io, E1000_CTRL, ctrl & ~E1000_CTRL_LANPHYPC_OVERRIDE);
	for (int i = 0; i < LPCD_POLLS && !(rd(io, E1000_CTRL_EXT) & E1000_CTRL_EXT_LPCD); i++)
		delay_ms(io, 5);
	delay_ms(io, 30);
}

/* The PHY may still talk SMBus only: if MDIO fails, force SMBus in the MAC (which
 * makes the PHY switch back), wait, retry; then clear the force on both sides. */
static int unforce_smbus(const struct e1000_io *io, char *why, size_t cap)
{
	uint16_t v;
	if (pch_phy_read(io, E1000_CV_SMB_CTRL, &v, why, cap) < 0) {
		wr(io, E1000_CTRL_EXT, rd(io, E1000_CTRL_EXT) | E1000_CTRL_EXT_FORCE_SMBUS);
		delay_ms(io, 50);
		if (pch_phy_read(io, E1000_CV_SMB_CTRL, &v, why, cap) < 0)
			return -1;
	}
	if (pch_phy_write(io, E1000_CV_SMB_CTRL, v & ~E1000_CV_SMB_CTRL_FORCE_SMBUS, why, cap) < 0)
		return -1;
	wr(io, E1000_CTRL_EXT, rd(io, E1000_CTRL_EXT) & ~E1000_CTRL_EXT_FORCE_SMBUS);
	return 0;
}

/* Without ME: re-enable K1 in the PHY, clear every ULP configuration bit in
 * I218_ULP_CONFIG1 and commit with START; allow SMBus reset on PERST again. */
static int ulp_exit_phy(const struct e1000_io *io, char *why, size_t cap)
{
	uint16_t v;
	if (unforce_smbus(io, why, cap) < 0)
		return -1;
	if (pch_phy_read(io, E1000_HV_PM_CTRL, &v, why, cap) < 0 ||
	    pch_phy_write(io, E1000_HV_PM_CTRL, v | E1000_HV_PM_CTRL_K1_ENABLE, why, cap) < 0)
		return -1;
	if (pch_phy_read(io, E1000_I218_ULP_CONFIG1, &v, why, cap) < 0)
		return -1;
	v &= (uint16_t)~(E1000_I218_ULP_CONFIG1_IND | E1000_I218_ULP_CONFIG1_STICKY_ULP |
			 E1000_I218_ULP_CONFIG1_RESET_TO_SMBUS | E1000_I218_ULP_CONFIG1_WOL_HOST |
			 E1000_I218_ULP_CONFIG1_INBAND_EXIT | E1000_I218_ULP_CONFIG1_EN_ULP_LANPHYPC |
			 E1000_I218_ULP_CONFIG1_DIS_CLR_STICKY_ON_PERST |
			 E1000_I218_ULP_CONFIG1_DISABLE_SMB_PERST);
	if (pch_phy_write(io, E1000_I218_ULP_CONFIG1, v, why, cap) < 0 ||
	    pch_phy_write(io, E1000_I218_ULP_CONFIG1, v | E1000_I218_ULP_CONFIG1_START, why, cap) < 0)
		return -1;
	wr(io, E1000_FEXTNVM7, rd(io, E1000_FEXTNVM7) & ~E1000_FEXTNVM7_DISABLE_SMB_PERST);
	return 0;
}

/* PHY reset through CTRL.PHY_RST (e1000_phy_hw_reset_generic), then the 50 ms the ULP
 * flow waits for the PHY to reload its configuration. */
static void phy_reset(const struct e1000_io *io)
{
	uint32_t ctrl = rd(io, E1000_CTRL);
	wr(io, E1000_CTRL, ctrl | E1000_CTRL_PHY_RST);
	io->delay_us(io->ctx, 100);
	wr(io, E1000_CTRL, ctrl);
	io->delay_us(io->ctx, 150);
	delay_ms(io, 50);
}

int pch_ulp_exit(const struct e1000_io *io, uint16_t device, char *why, size_t cap)
{
	if (listed(no_ulp_ids, sizeof(no_ulp_ids) / sizeof(no_ulp_ids[0]), device))
		return 0;
	if (rd(io, E1000_FWSM) & E1000_FWSM_FW_VALID)
		return ulp_exit_me(io, why, cap);
	if (pch_swflag_acquire(io, why, cap) < 0)
		return -1;
	lanphypc_toggle(io);
	int r = ulp_exit_phy(io, why, cap);
	pch_swflag_release(io);
	phy_reset(io);
	return r;
}

/* ---- link ------------------------------------------------------------------------- */

/* BMSR's link bit latches low (IEEE 802.3 22.2.4.2.13): the second read is current. */
static int read_bmsr(const struct e1000_io *io, uint16_t *bmsr, char *why, size_t cap)
{
	if (pch_swflag_acquire(io, why, cap) < 0)
		return -1;
	int r = pch_phy_read(io, E1000_MII_BMSR, bmsr, why, cap);
	if (r == 0)
		r = pch_phy_read(io, E1000_MII_BMSR, bmsr, why, cap);
	pch_swflag_release(io);
	return r;
}

static void link_reason(uint16_t bmsr, uint32_t status, uint32_t ms, char *why, size_t cap)
{
	if (bmsr & E1000_MII_BMSR_LSTATUS)
		ksnprintf(why, cap, "PHY has link but MAC STATUS.LU stayed clear for %u ms "
			  "(STATUS 0x%08x): MAC-PHY interconnect not up", ms, status);
	else if (!(bmsr & E1000_MII_BMSR_ANEGCOMPLETE))
		ksnprintf(why, cap, "no link after %u ms: auto-negotiation not complete "
			  "(BMSR 0x%04x): cable or link partner missing?", ms, bmsr);
	else
		ksnprintf(why, cap, "no link after %u ms though auto-negotiation completed "
			  "(BMSR 0x%04x)", ms, bmsr);
}

int pch_link_wait(const struct e1000_io *io, uint32_t timeout_ms, char *why, size_t cap)
{
	uint16_t bmsr = 0;
	uint32_t status = 0;
	for (uint32_t ms = 0;; ms += LINK_POLL_MS) {
		if (read_bmsr(io, &bmsr, why, cap) < 0)
			return -1;
		status = rd(io, E1000_STATUS);
		if ((bmsr & E1000_MII_BMSR_LSTATUS) && (status & E1000_STATUS_LU))
			return 0;
		if (ms >= timeout_ms) {
			link_reason(bmsr, status, ms, why, cap);
			return -1;
		}
		delay_ms(io, LINK_POLL_MS);
	}
}

/* ---- K1 ---------------------------------------------------------------------------- */

/*
 * K1 is a power-saving state of the Kumeran link between the MAC (in the PCH) and the
 * PHY: when idle, the link stops and the PCH may de-assert its PLL clock request. On
 * Lynx Point-LP (and the Wildcat Point I218s), with K1 enabled at 1 Gb/s the MAC can
 * miss two DMA completion indications and then issues no more DMA writes: receive
 * stops for good. ich8lan.c e1000_k1_workaround_lpt_lp works around it, and so do we:
 *  - link up at 1000: K1 off in the Kumeran K1_CONFIG register for the change, set
 *    FEXTNVM6.REQ_PLL_CLK (the clock request is never de-asserted), K1_CONFIG back;
 *  - link down, or 10/100: REQ_PLL_CLK cleared; at 10 Mb/s and 100 half duplex also
 *    the PHY's in-band link-status transmit timeout (50 x 10 us at 10, 5 x 10 us at
 *    100 half) and the K1 entry latency (extended at 10 only), against transmit hangs.
 */
static int k1_gig(const struct e1000_io *io, uint32_t fextnvm6, char *why, size_t cap)
{
	if (pch_swflag_acquire(io, why, cap) < 0)
		return -1;
	uint16_t k1 = pch_kmrn_read(io, E1000_KMRNCTRLSTA_K1_CONFIG);
	pch_kmrn_write(io, E1000_KMRNCTRLSTA_K1_CONFIG, k1 & ~E1000_KMRNCTRLSTA_K1_ENABLE);
	io->delay_us(io->ctx, 10);
	wr(io, E1000_FEXTNVM6, fextnvm6 | E1000_FEXTNVM6_REQ_PLL_CLK);
	pch_kmrn_write(io, E1000_KMRNCTRLSTA_K1_CONFIG, k1);
	pch_swflag_release(io);
	return 0;
}

static int k1_slow(const struct e1000_io *io, uint32_t fextnvm6, uint32_t status, char *why,
		   size_t cap)
{
	uint16_t v;
	int half100 = (status & E1000_STATUS_SPEED_100) && !(status & E1000_STATUS_FD);
	if (pch_swflag_acquire(io, why, cap) < 0)
		return -1;
	int r = pch_phy_read(io, E1000_I217_INBAND_CTRL, &v, why, cap);
	if (r == 0) {
		v &= (uint16_t)~E1000_I217_INBAND_CTRL_TX_TIMEOUT_MASK;
		v |= (uint16_t)((half100 ? 5 : 50) << E1000_I217_INBAND_CTRL_TX_TIMEOUT_SHIFT);
		r = pch_phy_write(io, E1000_I217_INBAND_CTRL, v, why, cap);
	}
	pch_swflag_release(io);
	if (r < 0)
		return -1;
	if (half100)
		fextnvm6 &= ~E1000_FEXTNVM6_ENABLE_K1_ENTRY_CONDITION;
	else
		fextnvm6 |= E1000_FEXTNVM6_ENABLE_K1_ENTRY_CONDITION;
	wr(io, E1000_FEXTNVM6, fextnvm6);
	return 0;
}

int pch_k1_workaround(const struct e1000_io *io, uint16_t device, int link, char *why,
		      size_t cap)
{
	if (!listed(k1_lpt_lp_ids, sizeof(k1_lpt_lp_ids) / sizeof(k1_lpt_lp_ids[0]), device))
		return 0;
	uint32_t fextnvm6 = rd(io, E1000_FEXTNVM6), status = rd(io, E1000_STATUS);
	if (link && (status & E1000_STATUS_SPEED_1000))
		return k1_gig(io, fextnvm6, why, cap);
	fextnvm6 &= ~E1000_FEXTNVM6_REQ_PLL_CLK;
	if (!link || ((status & E1000_STATUS_SPEED_100) && (status & E1000_STATUS_FD))) {
		wr(io, E1000_FEXTNVM6, fextnvm6);
		return 0;
	}
	return k1_slow(io, fextnvm6, status, why, cap);
}
