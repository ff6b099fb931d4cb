/*
 * drivers/e1000_pch.c against a scripted register model: no QEMU model of the I217,
 * I218 or I219 exists, so these tests are the only check of the bring-up sequences
 * before someone runs them on real hardware. The fake MMIO space records every read
 * and write in order, answers MDIC transactions from a PHY register file (page select
 * included), answers Kumeran reads, lets SWFLAG stick (or not), and plays scripted
 * firmware behaviour against a virtual clock that delay_us() advances.
 */
#include "tests/unit/test.h"
#include "drivers/e1000_pch.h"
#include "drivers/e1000_regs.h"

#define NREGS (0x8000 / 4)
#define MAX_LOG 4096
#define I217_LM 0x153A                  /* no ULP */
#define I218_LM_LPTLP 0x155A            /* ULP and the K1 workaround */
#define I219_LM 0x156F                  /* ULP, no K1 workaround */

struct op {
	char kind;                      /* 'R' or 'W' */
	uint32_t reg, val;
};

struct fake {
	uint32_t regs[NREGS];
	uint16_t phy[3][1024 * 32];     /* [PHY address][page * 32 + register] */
	uint16_t kmrn[32];
	unsigned page;                  /* last page select */
	uint64_t now_us;
	struct op log[MAX_LOG];
	int nlog;
	/* scripts */
	int mdic_dead;                  /* MDIC never sets READY */
	int mdic_error_addr;            /* MDIC sets ERROR for this PHY address (0: none) */
	int swflag_stuck_fw;            /* firmware holds SWFLAG for ever */
	uint64_t ulp_done_clear_at_us;  /* ME clears FWSM.ULP_CFG_DONE then (0: never) */
	uint64_t link_at_us;            /* PHY reports link from then (0: never) */
	int mac_lu_follows;             /* STATUS.LU set together with the PHY link */
	uint16_t bmsr_no_link;          /* BMSR while there is no link */
};

static struct fake F;

static void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.bmsr_no_link = 0x7949;        /* capabilities, no link, no AN complete */
	F.mac_lu_follows = 1;
}

static void log_op(char kind, uint32_t reg, uint32_t val)
{
	if (F.nlog < MAX_LOG)
		F.log[F.nlog++] = (struct op){ kind, reg, val };
}

static uint16_t *phy_slot(unsigned addr, unsigned reg)
{
	unsigned page = reg <= E1000_PHY_MULTI_PAGE_MAX ? 0 : F.page;
	return &F.phy[addr][page * 32 + reg];
}

static uint16_t bmsr_now(void)
{
	if (F.link_at_us && F.now_us >= F.link_at_us)
		return 0x796D;          /* link, AN complete */
	return F.bmsr_no_link;
}

static void mdic_write(uint32_t v)
{
	unsigned reg = (v >> E1000_MDIC_REG_SHIFT) & 0x1F, addr = (v >> E1000_MDIC_PHY_SHIFT) & 0x1F;
	uint32_t data = v & 0xFFFF;
	if (F.mdic_dead) {
		F.regs[E1000_MDIC / 4] = v & ~E1000_MDIC_READY;
		return;
	}
	if (addr == (unsigned)F.mdic_error_addr) {
		F.regs[E1000_MDIC / 4] = v | E1000_MDIC_READY | E1000_MDIC_ERROR;
		return;
	}
	if (v & E1000_MDIC_OP_WRITE) {
		if (reg == E1000_PHY_PAGE_SELECT && addr == E1000_PHY_ADDR_HV_HIGH)
			F.page = data >> E1000_PHY_PAGE_SHIFT;
		else if (addr < 3)
			*phy_slot(addr, reg) = (uint16_t)data;
	} else if (addr < 3) {
		data = (addr == E1000_PHY_ADDR_HV && reg == 1) ? bmsr_now() : *phy_slot(addr, reg);
	}
	F.regs[E1000_MDIC / 4] = (v & ~0xFFFFu) | data | E1000_MDIC_READY;
}

static void kmrn_write(uint32_t v)
{
	unsigned off = (v >> E1000_KMRNCTRLSTA_OFFSET_SHIFT) & 0x1F;
	if (v & E1000_KMRNCTRLSTA_REN)
		F.regs[E1000_KMRNCTRLSTA / 4] = (v & ~0xFFFFu) | F.kmrn[off];
	else
		F.kmrn[off] = (uint16_t)v;
}

static uint32_t fake_rd(void *ctx, uint32_t reg)
{
	(void)ctx;
	uint32_t v = F.regs[reg / 4];
	if (reg == E1000_FWSM && F.ulp_done_clear_at_us && F.now_us >= F.ulp_done_clear_at_us)
		v &= ~E1000_FWSM_ULP_CFG_DONE;
	if (reg == E1000_STATUS && F.mac_lu_follows && F.link_at_us && F.now_us >= F.link_at_us)
		v |= E1000_STATUS_LU;
	log_op('R', reg, v);
	return v;
}

static void fake_wr(void *ctx, uint32_t reg, uint32_t v)
{
	(void)ctx;
	log_op('W', reg, v);
	if (reg == E1000_MDIC) {
		mdic_write(v);
		return;
	}
	if (reg == E1000_KMRNCTRLSTA) {
		kmrn_write(v);
		return;
	}
	if (reg == E1000_EXTCNF_CTRL && F.swflag_stuck_fw)
		v |= E1000_EXTCNF_CTRL_SWFLAG;
	if (reg == E1000_CTRL && (v & E1000_CTRL_LANPHYPC_OVERRIDE) == 0)
		F.regs[E1000_CTRL_EXT / 4] |= E1000_CTRL_EXT_LPCD;
	F.regs[reg / 4] = v;
}

static void fake_delay(void *ctx, uint32_t us)
{
	(void)ctx;
	F.now_us += us;
}

static const struct e1000_io IO = { fake_rd, fake_wr, fake_delay, NULL };

/* Index of the first logged write of val to reg at or after from; -1 if none. */
static int find_write(int from, uint32_t reg, uint32_t val)
{
	for (int i = from < 0 ? 0 : from; i < F.nlog; i++)
		if (F.log[i].kind == 'W' && F.log[i].reg == reg && F.log[i].val == val)
			return i;
	return -1;
}

static int count_writes(uint32_t reg)
{
	int n = 0;
	for (int i = 0; i < F.nlog; i++)
		n += F.log[i].kind == 'W' && F.log[i].reg == reg;
	return n;
}

static uint32_t mdic_cmd(uint32_t op, unsigned addr, unsigned reg, uint16_t data)
{
	return op | (uint32_t)reg << E1000_MDIC_REG_SHIFT | (uint32_t)addr << E1000_MDIC_PHY_SHIFT |
	       data;
}

/* ---- PHY access ----------------------------------------------------------------- */

TEST(pch_phy_read_high_page_selects_page_first)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	F.phy[1][769 * 32 + 23] = 0xBEEF;
	uint16_t v = 0;
	REQUIRE(pch_phy_read(&IO, E1000_CV_SMB_CTRL, &v, why, sizeof(why)) == 0);
	CHECK_EQ(v, 0xBEEF);
	int sel = find_write(0, E1000_MDIC, mdic_cmd(E1000_MDIC_OP_WRITE, 1, 31, 769 << 5));
	int rd = find_write(sel, E1000_MDIC, mdic_cmd(E1000_MDIC_OP_READ, 1, 23, 0));
	CHECK(sel >= 0);
	CHECK(rd > sel);
	CHECK_EQ(count_writes(E1000_MDIC), 2);
}

TEST(pch_phy_read_page0_low_register_needs_no_page_select)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	uint16_t v = 0;
	REQUIRE(pch_phy_read(&IO, E1000_MII_BMSR, &v, why, sizeof(why)) == 0);
	CHECK_EQ(v, 0x7949);
	CHECK_EQ(count_writes(E1000_MDIC), 1);
	CHECK(find_write(0, E1000_MDIC, mdic_cmd(E1000_MDIC_OP_READ, 2, 1, 0)) == 0);
}

TEST(pch_phy_write_lands_in_the_selected_page)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_phy_write(&IO, E1000_I218_ULP_CONFIG1, 0x1234, why, sizeof(why)) == 0);
	CHECK_EQ(F.phy[1][779 * 32 + 16], 0x1234);
}

TEST(pch_mdic_timeout_is_bounded_and_explained)
{
	fake_reset();
	F.mdic_dead = 1;
	char why[PCH_WHY_MAX] = "";
	uint16_t v;
	CHECK(pch_phy_read(&IO, E1000_MII_BMSR, &v, why, sizeof(why)) < 0);
	CHECK(strstr(why, "MDIC timeout") != NULL);
	CHECK(F.now_us >= 90000 && F.now_us <= 100000);     /* ~96 ms, then gives up */
}

TEST(pch_mdic_error_bit_is_reported)
{
	fake_reset();
	F.mdic_error_addr = 2;
	char why[PCH_WHY_MAX] = "";
	uint16_t v;
	CHECK(pch_phy_read(&IO, E1000_MII_BMSR, &v, why, sizeof(why)) < 0);
	CHECK(strstr(why, "MDIC error: PHY 2 register 1") != NULL);
}

TEST(pch_unsupported_phy_page_is_refused_without_access)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	uint16_t v;
	CHECK(pch_phy_read(&IO, E1000_PHY_REG(800, 1), &v, why, sizeof(why)) < 0);
	CHECK(pch_phy_read(&IO, E1000_PHY_REG(5, 20), &v, why, sizeof(why)) < 0);
	CHECK_EQ(F.nlog, 0);
}

/* ---- ownership flag ------------------------------------------------------------ */

TEST(pch_swflag_acquire_and_release)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_swflag_acquire(&IO, why, sizeof(why)) == 0);
	CHECK(F.regs[E1000_EXTCNF_CTRL / 4] & E1000_EXTCNF_CTRL_SWFLAG);
	pch_swflag_release(&IO);
	CHECK(!(F.regs[E1000_EXTCNF_CTRL / 4] & E1000_EXTCNF_CTRL_SWFLAG));
}

TEST(pch_swflag_held_by_firmware_times_out_with_reason)
{
	fake_reset();
	F.swflag_stuck_fw = 1;
	F.regs[E1000_EXTCNF_CTRL / 4] = E1000_EXTCNF_CTRL_SWFLAG;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_swflag_acquire(&IO, why, sizeof(why)) < 0);
	CHECK(strstr(why, "SWFLAG") != NULL);
	CHECK(F.now_us >= 100000 && F.now_us <= 102000);
	CHECK_EQ(count_writes(E1000_EXTCNF_CTRL), 0);       /* never took it */
}

/* ---- ULP exit ------------------------------------------------------------------ */

TEST(pch_ulp_exit_skipped_on_parts_without_ulp)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_ulp_exit(&IO, I217_LM, why, sizeof(why)) == 0);
	CHECK_EQ(F.nlog, 0);
}

TEST(pch_ulp_exit_with_me_hands_over_and_waits)
{
	fake_reset();
	F.regs[E1000_FWSM / 4] = E1000_FWSM_FW_VALID | E1000_FWSM_ULP_CFG_DONE;
	F.regs[E1000_H2ME / 4] = E1000_H2ME_ULP;
	F.ulp_done_clear_at_us = 50000;
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_ulp_exit(&IO, I219_LM, why, sizeof(why)) == 0);
	int ask = find_write(0, E1000_H2ME, E1000_H2ME_ENFORCE_SETTINGS);
	int done = find_write(ask + 1, E1000_H2ME, 0);
	CHECK(ask >= 0);
	CHECK(done > ask);
	CHECK(F.now_us >= 50000 && F.now_us < 70000);
	CHECK_EQ(count_writes(E1000_MDIC), 0);              /* the ME owns the PHY */
}

TEST(pch_ulp_exit_reports_a_silent_me)
{
	fake_reset();
	F.regs[E1000_FWSM / 4] = E1000_FWSM_FW_VALID | E1000_FWSM_ULP_CFG_DONE;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_ulp_exit(&IO, I219_LM, why, sizeof(why)) < 0);
	CHECK(strstr(why, "ULP_CFG_DONE in 300 ms") != NULL);
	CHECK(F.now_us == 300000);
}

TEST(pch_ulp_exit_without_me_runs_the_phy_sequence_in_order)
{
	fake_reset();
	F.phy[1][769 * 32 + 23] = E1000_CV_SMB_CTRL_FORCE_SMBUS | 0x0100;
	F.phy[1][779 * 32 + 16] = 0x1FFE;                   /* every ULP bit set, START clear */
	F.regs[E1000_CTRL_EXT / 4] = E1000_CTRL_EXT_FORCE_SMBUS;
	F.regs[E1000_FEXTNVM7 / 4] = E1000_FEXTNVM7_DISABLE_SMB_PERST | 1;
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_ulp_exit(&IO, I219_LM, why, sizeof(why)) == 0);
	/* LANPHYPC: override on with value low, then override off. */
	int t1 = find_write(0, E1000_CTRL, E1000_CTRL_LANPHYPC_OVERRIDE);
	int t2 = find_write(t1 + 1, E1000_CTRL, 0);
	CHECK(t1 >= 0 && t2 > t1);
	/* SMBus unforced in the PHY, then in the MAC. */
	int smb = find_write(t2, E1000_MDIC, mdic_cmd(E1000_MDIC_OP_WRITE, 1, 23, 0x0100));
	int ext = find_write(smb, E1000_CTRL_EXT, E1000_CTRL_EXT_LPCD);
	CHECK(smb > t2 && ext > smb);
	/* ULP_CONFIG1: all configuration bits cleared, then START. */
	uint16_t cleared = 0x1FFE & (uint16_t)~0x1D74;
	int u1 = find_write(ext, E1000_MDIC, mdic_cmd(E1000_MDIC_OP_WRITE, 1, 16, cleared));
	int u2 = find_write(u1 + 1, E1000_MDIC, mdic_cmd(E1000_MDIC_OP_WRITE, 1, 16, cleared | 1));
	CHECK(u1 > ext && u2 > u1);
	CHECK_EQ(F.phy[1][770 * 32 + 17] & E1000_HV_PM_CTRL_K1_ENABLE, E1000_HV_PM_CTRL_K1_ENABLE);
	CHECK_EQ(F.regs[E1000_FEXTNVM7 / 4], 1);
	/* Flag released before the PHY reset, and the PHY reset pulsed. */
	int rel = find_write(u2, E1000_EXTCNF_CTRL, 0);
	int rst = find_write(rel, E1000_CTRL, E1000_CTRL_PHY_RST);
	CHECK(rel > u2 && rst > rel);
	CHECK(!(F.regs[E1000_CTRL / 4] & E1000_CTRL_PHY_RST));
}

TEST(pch_ulp_exit_forces_smbus_when_the_phy_is_silent)
{
	fake_reset();
	F.mdic_dead = 1;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_ulp_exit(&IO, I219_LM, why, sizeof(why)) < 0);
	CHECK(strstr(why, "MDIC timeout") != NULL);
	CHECK(find_write(0, E1000_CTRL_EXT, E1000_CTRL_EXT_LPCD | E1000_CTRL_EXT_FORCE_SMBUS) >= 0);
	CHECK(!(F.regs[E1000_EXTCNF_CTRL / 4] & E1000_EXTCNF_CTRL_SWFLAG));    /* released */
}

/* ---- link wait ------------------------------------------------------------------ */

TEST(pch_link_wait_succeeds_when_phy_and_mac_agree)
{
	fake_reset();
	F.link_at_us = 200000;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_link_wait(&IO, 1000, why, sizeof(why)) == 0);
	CHECK(F.now_us >= 200000 && F.now_us < 300000);
}

TEST(pch_link_wait_without_partner_says_autoneg_incomplete)
{
	fake_reset();
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_link_wait(&IO, 500, why, sizeof(why)) < 0);
	CHECK(strstr(why, "auto-negotiation not complete") != NULL);
	CHECK(strstr(why, "BMSR 0x7949") != NULL);
	CHECK(F.now_us < 1000000);
}

TEST(pch_link_wait_names_the_mac_when_only_the_phy_has_link)
{
	fake_reset();
	F.link_at_us = 1;
	F.mac_lu_follows = 0;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_link_wait(&IO, 100, why, sizeof(why)) < 0);
	CHECK(strstr(why, "STATUS.LU") != NULL);
}

TEST(pch_link_wait_names_a_dead_phy)
{
	fake_reset();
	F.mdic_dead = 1;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_link_wait(&IO, 5000, why, sizeof(why)) < 0);
	CHECK(strstr(why, "MDIC timeout") != NULL);
}

/* ---- K1 workaround --------------------------------------------------------------- */

TEST(pch_k1_workaround_at_gigabit_requests_the_pll_clock_with_k1_off)
{
	fake_reset();
	F.kmrn[E1000_KMRNCTRLSTA_K1_CONFIG] = 0x0003;       /* K1 enabled */
	F.regs[E1000_STATUS / 4] = E1000_STATUS_LU | E1000_STATUS_FD | E1000_STATUS_SPEED_1000;
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_k1_workaround(&IO, I218_LM_LPTLP, 1, why, sizeof(why)) == 0);
	uint32_t k1cfg = E1000_KMRNCTRLSTA_K1_CONFIG << E1000_KMRNCTRLSTA_OFFSET_SHIFT;
	int off = find_write(0, E1000_KMRNCTRLSTA, k1cfg | 0x0001);
	int pll = find_write(off, E1000_FEXTNVM6, E1000_FEXTNVM6_REQ_PLL_CLK);
	int back = find_write(pll, E1000_KMRNCTRLSTA, k1cfg | 0x0003);
	CHECK(off >= 0 && pll > off && back > pll);
	CHECK_EQ(F.kmrn[E1000_KMRNCTRLSTA_K1_CONFIG], 0x0003);
	CHECK(!(F.regs[E1000_EXTCNF_CTRL / 4] & E1000_EXTCNF_CTRL_SWFLAG));
}

TEST(pch_k1_workaround_at_100_half_sets_inband_timeout)
{
	fake_reset();
	F.regs[E1000_STATUS / 4] = E1000_STATUS_LU | E1000_STATUS_SPEED_100;
	F.regs[E1000_FEXTNVM6 / 4] = E1000_FEXTNVM6_REQ_PLL_CLK |
				     E1000_FEXTNVM6_ENABLE_K1_ENTRY_CONDITION;
	F.phy[1][770 * 32 + 18] = 0x3F01;
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_k1_workaround(&IO, I218_LM_LPTLP, 1, why, sizeof(why)) == 0);
	CHECK_EQ(F.phy[1][770 * 32 + 18], 0x0501);          /* 5 x 10 us */
	CHECK_EQ(F.regs[E1000_FEXTNVM6 / 4], 0);
}

TEST(pch_k1_workaround_at_10_extends_k1_entry)
{
	fake_reset();
	F.regs[E1000_STATUS / 4] = E1000_STATUS_LU | E1000_STATUS_FD;
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_k1_workaround(&IO, I218_LM_LPTLP, 1, why, sizeof(why)) == 0);
	CHECK_EQ(F.phy[1][770 * 32 + 18], 50 << 8);
	CHECK_EQ(F.regs[E1000_FEXTNVM6 / 4], E1000_FEXTNVM6_ENABLE_K1_ENTRY_CONDITION);
}

TEST(pch_k1_workaround_link_down_only_drops_the_pll_request)
{
	fake_reset();
	F.regs[E1000_FEXTNVM6 / 4] = E1000_FEXTNVM6_REQ_PLL_CLK | 0x1;
	char why[PCH_WHY_MAX] = "";
	REQUIRE(pch_k1_workaround(&IO, I218_LM_LPTLP, 0, why, sizeof(why)) == 0);
	CHECK_EQ(F.regs[E1000_FEXTNVM6 / 4], 0x1);
	CHECK_EQ(count_writes(E1000_MDIC), 0);
}

TEST(pch_k1_workaround_leaves_other_parts_alone)
{
	fake_reset();
	F.regs[E1000_STATUS / 4] = E1000_STATUS_LU | E1000_STATUS_SPEED_1000;
	char why[PCH_WHY_MAX] = "";
	CHECK(pch_k1_workaround(&IO, I219_LM, 1, why, sizeof(why)) == 0);
	CHECK(pch_k1_workaround(&IO, I217_LM, 1, why, sizeof(why)) == 0);
	CHECK_EQ(F.nlog, 0);
}
