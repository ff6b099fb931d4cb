/*
 * Intel 8254x (82540EM, 82545EM, 82543GC), 8257x (82571, 82572, 82573, 82574L, 82583V)
 * and PCH LAN (I217, I218, I219) gigabit Ethernet. One driver: the chips share
 * registers and legacy descriptors; struct e1000_chip holds what differs (EERD layout,
 * collision distance, MSI-X, the PCH bring-up).
 *
 * Probe, in datasheet order (8254x SDM ch. 14, 82574 §4.6): mask interrupts -> global
 * reset -> mask again -> [PCH: ULP exit, drivers/e1000_pch.c] -> MAC address -> general
 * configuration and link -> clear statistics -> receive ring (SDM §14.4) -> transmit
 * ring (SDM §14.5) -> [PCH: bounded link-up wait that logs why it failed] -> register
 * as ethN -> interrupts.
 *
 * Interrupts: the 82574L uses MSI-X, one vector each for RX queue 0, TX queue 0 and
 * "other" (link). The other parts use MSI if the function has the capability, else
 * legacy INTx through the IOAPIC (drivers/pci.c routes it; QEMU's 82540EM has no MSI),
 * proved by a self-test before it is trusted; without either, poll mode, like every
 * device after nic_set_poll_only(1). ITR/EITR space interrupts at least 50 us apart.
 *
 * Offloads (net/netdev.h features): TCP/UDP transmit checksums and TSO through the
 * TCP/IP context descriptor (SDM §3.3.6-3.3.7, drivers/e1000_offload.c), receive
 * checksum verification (RXCSUM) reported per frame as PKT_F_CSUM_OK.
 *
 * Tested in QEMU: 82540EM (e1000) and 82574L (e1000e). The other 8257x and the PCH parts
 * have no QEMU model; they show as "e1000e-untested" (the PCH register sequences are
 * unit-tested on the host against a scripted register model). Not done for them: the
 * errata bits Linux sets in TARC0/TXDCTL0 (e1000_initialize_hw_bits_82571/_ich8lan).
 *
 * rx_burst, tx_burst and tx_reclaim run only in the main loop; interrupt handlers
 * follow net/netdev.h (ack, mask, flag) and never touch a ring.
 */
#include "drivers/e1000.h"
#include "drivers/driver.h"
#include "drivers/e1000_offload.h"
#include "drivers/e1000_pch.h"
#include "drivers/e1000_regs.h"
#include "drivers/intel_stats.h"
#include "drivers/nic.h"
#include "drivers/pci.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/dma.h"
#include "lib/fmt.h"
#include "kernel/heap.h"
#include "lib/string.h"
#include "kernel/time.h"

#define RX_RING 256             /* descriptors: power of two, 16 B each (RDLEN % 128 == 0) */
#define TX_RING 256
#define RING_BYTES(n) ((n) * 16)
#define RESET_DELAY_US 5000     /* settle time after CTRL.RST before any access */
#define PCH_RESET_DELAY_US 20000        /* ich8lan.c reset_hw: 20 ms, no register access */
#define PCH_LINK_WAIT_MS 2500   /* probe waits this long for a PCH link, then logs why */
#define RESET_TIMEOUT_US 10000
#define EERD_TIMEOUT_US 10000
#define TIPG_COPPER (8 | 8u << E1000_TIPG_IPGR1_SHIFT | 6u << E1000_TIPG_IPGR2_SHIFT)
#define TCTL_CT 0x0F            /* collision threshold (SDM §14.5) */
/* Interrupt throttling (SDM §13.4 ITR, 82574 §7.4.4 ITR/EITR): at most one interrupt per
 * 50 us (20,000/s), in 256 ns units. The first interrupt after a quiet spell is not
 * delayed (the interval only spaces interrupts apart), so a lone request's latency is
 * unchanged; under load the NAPI poll already batches, and fewer interrupts cost less. */
#define ITR_INTERVAL 195
#define INTX_TEST_US 20000      /* INTx self-test: the interrupt must arrive within this */

/* Legacy receive descriptor (SDM §3.2.3). */
struct e1000_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};
_Static_assert(sizeof(struct e1000_rx_desc) == 16, "receive descriptor is 16 bytes");

/* Legacy transmit descriptor (SDM §3.3.3). */
struct e1000_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};
_Static_assert(sizeof(struct e1000_tx_desc) == 16, "transmit descriptor is 16 bytes");

/* Extended data descriptor (SDM §3.3.7): DTALEN 19:0, DTYP 23:20, DCMD 31:24 in lower;
 * STA 3:0, POPTS 15:8 in upper. */
struct e1000_data_desc {
	uint64_t addr;
	uint32_t lower;
	uint32_t upper;
};
_Static_assert(sizeof(struct e1000_data_desc) == 16, "data descriptor is 16 bytes");

/* The three formats share the ring; STA (DD) is bit 0 of byte 12 in each. */
union e1000_tx_slot {
	struct e1000_tx_desc legacy;
	struct e1000_ctx_desc ctx;
	struct e1000_data_desc data;
};
_Static_assert(sizeof(union e1000_tx_slot) == 16, "transmit ring slot is 16 bytes");

struct e1000_chip {
	const char *driver;     /* netdev driver name: "-untested" until someone runs one */
	uint32_t cold;          /* TCTL.COLD for full duplex */
	int msix;               /* IVAR/EIAC and three MSI-X vectors (82574) */
	uint32_t eerd_done;     /* 0: no EERD register (82543GC; PCH: NVM is flash) */
	int eerd_shift;         /* word address position in EERD */
	int auto_rd;            /* wait for EECD.AUTO_RD after reset (8257x) */
	int pch;                /* PCH LAN: drivers/e1000_pch.c bring-up */
};

static const struct e1000_chip chip_8254x = {
	.driver = "e1000", .cold = 0x40, .eerd_done = E1000_EERD_DONE_8254X,
	.eerd_shift = E1000_EERD_ADDR_SHIFT_8254X,
};
static const struct e1000_chip chip_82543 = { .driver = "e1000", .cold = 0x40 };
static const struct e1000_chip chip_82574 = {
	.driver = "e1000e", .cold = 0x3F, .msix = 1, .eerd_done = E1000_EERD_DONE_82574,
	.eerd_shift = E1000_EERD_ADDR_SHIFT_82574, .auto_rd = 1,
};
/* 82571/82572/82573/82583: the 82574's EERD and reset, no MSI-X (MSI instead). The
 * errata bits Linux sets in e1000_initialize_hw_bits_82571 (TARC, TXDCTL) are not. */
static const struct e1000_chip chip_8257x = {
	.driver = "e1000e-untested", .cold = 0x3F, .eerd_done = E1000_EERD_DONE_82574,
	.eerd_shift = E1000_EERD_ADDR_SHIFT_82574, .auto_rd = 1,
};
/* I217/I218/I219: the reset loads RAR0 from the flash NVM; no EERD, MSI only. */
static const struct e1000_chip chip_pch = {
	.driver = "e1000e-untested", .cold = 0x3F, .pch = 1,
};

struct e1000 {
	struct netdev dev;
	const struct e1000_chip *chip;
	struct pci_dev *pci;
	volatile uint8_t *regs;
	struct pkt_pool pool;
	volatile struct e1000_rx_desc *rx;
	volatile union e1000_tx_slot *tx;
	uint64_t rx_phys, tx_phys;
	struct pkt *rx_pkts[RX_RING];   /* slot -> buffer the hardware fills */
	struct pkt *tx_pkts[TX_RING];   /* slot -> frame in flight */
	uint16_t rx_next_to_clean;      /* next descriptor the hardware completes */
	uint16_t tx_next_to_use;        /* next free descriptor; TDT points here */
	uint16_t tx_next_to_clean;      /* oldest descriptor still in flight */
	int rx_discarding;              /* dropping the tail of a multi-descriptor frame */
	uint32_t irq_rx_mask;           /* IMS bits irq_enable() toggles */
	uint32_t irq_tx_mask, irq_other_mask;
	volatile int tx_irq_masked;     /* TX handler masked TXQ0; tx_reclaim re-arms */
	int msix_on;                    /* three MSI-X vectors (else one MSI/INTx interrupt) */
	uint64_t hw[HW_COUNTERS];
	struct intel_sw_stats sw;
	char irq_names[3][24];
	struct e1000_io io;             /* PCH bring-up: BAR0 through drivers/e1000_pch.h */
	uint16_t device;                /* PCI device ID: PCH workarounds are per stepping */
	int pch_link;                   /* link state the K1 workaround was last applied for */
};

static uint32_t rd(struct e1000 *e, uint32_t reg)
{
	return read32(e->regs + reg);
}

static void wr(struct e1000 *e, uint32_t reg, uint32_t v)
{
	write32(e->regs + reg, v);
}

/* struct e1000_io for drivers/e1000_pch.c: the same accessors, behind a pointer. */
static uint32_t io_rd(void *ctx, uint32_t reg)
{
	return rd(ctx, reg);
}

static void io_wr(void *ctx, uint32_t reg, uint32_t v)
{
	wr(ctx, reg, v);
}

static void io_delay_us(void *ctx, uint32_t us)
{
	(void)ctx;
	time_delay_us(us);
}

/* Polls reg until (value & mask) == want; 0, or -1 after timeout_us. */
static int wait_reg(struct e1000 *e, uint32_t reg, uint32_t mask, uint32_t want,
		    uint64_t timeout_us)
{
	uint64_t end = time_us() + timeout_us;
	while ((rd(e, reg) & mask) != want)
		if (time_us() > end)
			return -1;
	return 0;
}

/* ---- probe steps ----------------------------------------------------------------- */

/* SDM ch. 14 and 82574 §4.6: interrupts masked before and after the global reset, and
 * pending causes read away, so nothing fires before the rings exist. */
static int reset(struct e1000 *e)
{
	char why[PCH_WHY_MAX];
	wr(e, E1000_IMC, E1000_IMC_ALL);
	/* PCH: the reset also resets the MAC-PHY interface the ME firmware may be using;
	 * ich8lan.c takes the ownership flag first (the reset clears it) and waits 20 ms. */
	if (e->chip->pch && pch_swflag_acquire(&e->io, why, sizeof(why)) < 0)
		log_warn("e1000e: reset without the PHY flag: %s", why);
	wr(e, E1000_CTRL, rd(e, E1000_CTRL) | E1000_CTRL_RST);
	time_delay_us(e->chip->pch ? PCH_RESET_DELAY_US : RESET_DELAY_US);
	if (wait_reg(e, E1000_CTRL, E1000_CTRL_RST, 0, RESET_TIMEOUT_US) < 0)
		return -1;
	/* 8257x: the NVM is re-read after reset; MAC and config are valid once done. */
	if (e->chip->auto_rd &&
	    wait_reg(e, E1000_EECD, E1000_EECD_AUTO_RD, E1000_EECD_AUTO_RD, RESET_TIMEOUT_US) < 0)
		return -1;
	wr(e, E1000_IMC, E1000_IMC_ALL);
	(void)rd(e, E1000_ICR);
	return 0;
}

static int eerd_read(struct e1000 *e, unsigned word)
{
	wr(e, E1000_EERD, word << e->chip->eerd_shift | E1000_EERD_START);
	if (wait_reg(e, E1000_EERD, e->chip->eerd_done, e->chip->eerd_done, EERD_TIMEOUT_US) < 0)
		return -1;
	return (int)(rd(e, E1000_EERD) >> E1000_EERD_DATA_SHIFT);
}

/* The reset loads RAL0/RAH0 from EEPROM words 0-2 (the Ethernet address); if that
 * entry is not marked valid, read the three words through EERD ourselves. */
static int read_mac(struct e1000 *e, uint8_t mac[6])
{
	uint32_t ral = rd(e, E1000_RAL0), rah = rd(e, E1000_RAH0);
	if (rah & E1000_RAH_AV) {
		for (int i = 0; i < 4; i++)
			mac[i] = (uint8_t)(ral >> (8 * i));
		mac[4] = (uint8_t)rah;
		mac[5] = (uint8_t)(rah >> 8);
	} else {
		if (!e->chip->eerd_done)
			return -1;
		for (unsigned w = 0; w < 3; w++) {
			int v = eerd_read(e, w);
			if (v < 0)
				return -1;
			mac[2 * w] = (uint8_t)v;
			mac[2 * w + 1] = (uint8_t)(v >> 8);
		}
	}
	static const uint8_t zero[6];
	return (mac[0] & 1) || memcmp(mac, zero, 6) == 0 ? -1 : 0;
}

/* SDM §14.3 general configuration: link up through the PHY's auto-negotiation, no
 * forced speed or duplex, no VLAN stripping, no flow control (its registers zeroed). */
static void link_setup(struct e1000 *e)
{
	uint32_t ctrl = rd(e, E1000_CTRL) | E1000_CTRL_SLU;
	ctrl &= ~(E1000_CTRL_LRST | E1000_CTRL_ILOS | E1000_CTRL_FRCSPD | E1000_CTRL_FRCDPLX |
		  E1000_CTRL_PHY_RST | E1000_CTRL_VME);
	wr(e, E1000_CTRL, ctrl);
	wr(e, E1000_FCAL, 0);
	wr(e, E1000_FCAH, 0);
	wr(e, E1000_FCT, 0);
	wr(e, E1000_FCTTV, 0);
}

static void hw_stats_update(struct e1000 *e)
{
	for (int i = 0; i < HW_COUNTERS; i++) {
		uint64_t v = rd(e, intel_hw_counters[i].reg);
		if (intel_hw_counters[i].reg_hi)
			v |= (uint64_t)rd(e, intel_hw_counters[i].reg_hi) << 32;
		e->hw[i] += v;
	}
}

/* SDM ch. 14 / 82574 §4.6 statistics: read once so every counter starts at zero. */
static void stats_clear(struct e1000 *e)
{
	hw_stats_update(e);
	memset(e->hw, 0, sizeof(e->hw));
}

static int rings_alloc(struct e1000 *e)
{
	e->rx = dma_alloc(RING_BYTES(RX_RING), 4096, &e->rx_phys);
	e->tx = dma_alloc(RING_BYTES(TX_RING), 4096, &e->tx_phys);
	if (!e->rx || !e->tx || nic_pool_create(&e->pool, NIC_POOL_SLOTS) < 0)
		return -1;
	for (int i = 0; i < RX_RING; i++) {
		e->rx_pkts[i] = pkt_alloc(&e->pool);
		if (!e->rx_pkts[i])
			return -1;
		e->rx[i].addr = pkt_dma_addr(e->rx_pkts[i]);
	}
	return 0;
}

/* SDM §14.4 receive initialization. */
static void rx_init(struct e1000 *e, const uint8_t mac[6])
{
	wr(e, E1000_RAL0, (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
			  (uint32_t)mac[3] << 24);
	wr(e, E1000_RAH0, (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | E1000_RAH_AV);
	for (int i = 0; i < E1000_MTA_ENTRIES; i++)
		wr(e, E1000_MTA + 4 * i, 0);
	wr(e, E1000_RDBAL, (uint32_t)e->rx_phys);
	wr(e, E1000_RDBAH, (uint32_t)(e->rx_phys >> 32));
	wr(e, E1000_RDLEN, RING_BYTES(RX_RING));
	wr(e, E1000_RDH, 0);
	/* All RX_RING descriptors hold buffers, but the tail stops one short: see rx_burst. */
	wr(e, E1000_RDT, RX_RING - 1);
	/* No receive interrupt delay: NAPI polling already batches. */
	wr(e, E1000_RDTR, 0);
	wr(e, E1000_RADV, 0);
	/* RXCSUM (SDM ch. 13, 82574 §10.2): verify IPv4 and TCP/UDP checksums; the
	 * result lands in the descriptor (IPCS/TCPCS/UDPCS, errors IPE/TCPE), which
	 * rx_csum() reads. The frame is delivered either way: the stack decides. */
	wr(e, E1000_RXCSUM, E1000_RXCSUM_IPOFL | E1000_RXCSUM_TUOFL);
	/* With LPE off the MAC takes frames up to 1522 bytes with FCS, so a 2048-byte
	 * buffer always holds one. SECRC strips the FCS, as packets must hold the frame
	 * without it; broadcast accepted; no promiscuous modes. */
	wr(e, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_RDMTS_HALF |
			  E1000_RCTL_BSIZE_2048 | E1000_RCTL_SECRC);
}

/* SDM §14.5 transmit initialization. The 82574's TARC0 keeps its reset value, whose
 * queue-enable bit must stay set. */
static void tx_init(struct e1000 *e)
{
	wr(e, E1000_TDBAL, (uint32_t)e->tx_phys);
	wr(e, E1000_TDBAH, (uint32_t)(e->tx_phys >> 32));
	wr(e, E1000_TDLEN, RING_BYTES(TX_RING));
	wr(e, E1000_TDH, 0);
	wr(e, E1000_TDT, 0);
	wr(e, E1000_TIDV, 0);
	wr(e, E1000_TIPG, TIPG_COPPER);
	wr(e, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | TCTL_CT << E1000_TCTL_CT_SHIFT |
			  e->chip->cold << E1000_TCTL_COLD_SHIFT);
}

/* ---- interrupts (net/netdev.h contract) ------------------------------------------ */

/* MSI-X RX vector: EIAC already cleared the RXQ0 cause as the message went out. */
static void msix_rx(void *ctx)
{
	struct e1000 *e = ctx;
	wr(e, E1000_IMC, E1000_ICR_RXQ0);
	netdev_irq(&e->dev);
}

static void msix_tx(void *ctx)
{
	struct e1000 *e = ctx;
	wr(e, E1000_IMC, E1000_ICR_TXQ0);
	e->tx_irq_masked = 1;
	e->sw.irq_tx++;
	nic_tx_event(&e->dev);
}

/* "Other" vector: only LSC is enabled on it. ICR is write-1-to-clear here; a read
 * would also clear queue causes that belong to the other vectors. */
static void msix_other(void *ctx)
{
	struct e1000 *e = ctx;
	wr(e, E1000_ICR, E1000_ICR_LSC | E1000_ICR_OTHER);
	e->sw.irq_other++;
	nic_link_event(&e->dev);
}

/* Single MSI vector or INTx: reading ICR acknowledges every cause (and deasserts a
 * level INTx line); any cause schedules the poll, which re-arms all of them (transmit
 * completions are reclaimed by the loop). An INTx line may be shared: no cause of ours
 * means another function's interrupt. */
static void legacy_intr(void *ctx)
{
	struct e1000 *e = ctx;
	uint32_t icr = rd(e, E1000_ICR);
	if (!icr) {
		e->sw.irq_not_ours++;
		return;
	}
	wr(e, E1000_IMC, e->irq_rx_mask);
	if (icr & E1000_ICR_LSC)
		nic_link_event(&e->dev);
	netdev_irq(&e->dev);
}

static int bind_vector(struct e1000 *e, int entry, irq_handler_fn fn, const char *what)
{
	char *name = e->irq_names[entry];
	ksnprintf(name, sizeof(e->irq_names[entry]), "%s-%s", e->dev.name, what);
	return pci_msix_bind(e->pci, entry, fn, e, name);
}

/* 82574 MSI-X: IVAR maps RXQ0 -> entry 0, TXQ0 -> entry 1, other causes -> entry 2,
 * with a TX interrupt for every descriptor write-back; EIAC auto-clears the queue
 * causes in ICR when their message is sent, so those handlers need not touch ICR. */
static int setup_msix(struct e1000 *e)
{
	if (pci_msix_enable(e->pci) < 3)
		return -1;
	if (bind_vector(e, 0, msix_rx, "rx") < 0 || bind_vector(e, 1, msix_tx, "tx") < 0 ||
	    bind_vector(e, 2, msix_other, "link") < 0)
		return -1;
	wr(e, E1000_IVAR_82574, (E1000_IVAR_VALID | 0) << E1000_IVAR_RXQ0_SHIFT |
				(E1000_IVAR_VALID | 1) << E1000_IVAR_TXQ0_SHIFT |
				(E1000_IVAR_VALID | 2) << E1000_IVAR_OTHER_SHIFT |
				E1000_IVAR_INT_ON_ALL_WB);
	wr(e, E1000_EIAC_82574, E1000_ICR_RXQ0 | E1000_ICR_TXQ0);
	wr(e, E1000_CTRL_EXT, rd(e, E1000_CTRL_EXT) | E1000_CTRL_EXT_PBA_CLR);
	/* Linux's workaround for spurious 82574 MSI-X interrupts: no ACK-frame causes. */
	wr(e, E1000_RFCTL_82574, rd(e, E1000_RFCTL_82574) | E1000_RFCTL_ACK_DIS);
	e->irq_rx_mask = E1000_ICR_RXQ0;
	e->irq_tx_mask = E1000_ICR_TXQ0;
	e->irq_other_mask = E1000_ICR_OTHER | E1000_ICR_LSC;
	e->dev.irq_mode = "MSI-X";
	e->msix_on = 1;
	return 0;
}

static int setup_msi(struct e1000 *e)
{
	ksnprintf(e->irq_names[0], sizeof(e->irq_names[0]), "%s", e->dev.name);
	if (pci_msi_enable(e->pci, legacy_intr, e, e->irq_names[0]) < 0)
		return -1;
	e->irq_rx_mask = E1000_ICR_RXT0 | E1000_ICR_RXDMT0 | E1000_ICR_RXO | E1000_ICR_LSC;
	e->dev.irq_mode = "MSI";
	return 0;
}

/* Raises RXT0 through ICS (SDM ch. 13 ICS: a cause set by software interrupts like a
 * real one) and waits for the handler: INTx routing is inferred from the chipset, so
 * it is proved before it is trusted. 0, or -1 after INTX_TEST_US. */
static int intx_selftest(struct e1000 *e)
{
	uint64_t before = e->dev.napi.irqs, end = time_us() + INTX_TEST_US;
	wr(e, E1000_IMS, e->irq_rx_mask);
	wr(e, E1000_ICS, E1000_ICR_RXT0);
	while (e->dev.napi.irqs == before)
		if (time_us() > end)
			return -1;
	return 0;
}

/* Legacy INTx, for functions without MSI (QEMU's 82540EM): routed by drivers/pci.c. */
static int setup_intx(struct e1000 *e)
{
	ksnprintf(e->irq_names[0], sizeof(e->irq_names[0]), "%s", e->dev.name);
	if (pci_intx_enable(e->pci, legacy_intr, e) < 0)
		return -1;
	e->irq_rx_mask = E1000_ICR_RXT0 | E1000_ICR_RXDMT0 | E1000_ICR_RXO | E1000_ICR_LSC;
	if (intx_selftest(e) < 0) {
		wr(e, E1000_IMC, E1000_IMC_ALL);
		pci_intx_release(e->pci, legacy_intr, e);
		log_warn("%s: INTx routed but no interrupt arrived; polling", e->dev.name);
		return -1;
	}
	e->dev.irq_mode = "INTx";
	return 0;
}

/* ITR moderates the MSI/INTx interrupt; with MSI-X the 82574 moderates each vector
 * by its EITR (the queue vectors; link changes are rare and stay immediate). */
static void throttle(struct e1000 *e)
{
	if (e->chip->pch)       /* not run on a PCH part yet: leave it as reset left it */
		return;
	if (e->msix_on) {
		wr(e, E1000_EITR_82574(0), ITR_INTERVAL);
		wr(e, E1000_EITR_82574(1), ITR_INTERVAL);
	} else {
		wr(e, E1000_ITR, ITR_INTERVAL);
	}
}

/* MSI-X when the chip supports it, else MSI, else INTx; never two (PCI 3.0 §6.8), so a
 * failure after MSI-X was enabled ends in poll mode. */
static void irq_setup(struct e1000 *e)
{
	int use_msix = e->chip->msix && e->pci->msix_size, ok = 0;
	if (!nic_poll_only()) {
		if (use_msix)
			ok = setup_msix(e) == 0;
		else
			ok = setup_msi(e) == 0 || setup_intx(e) == 0;
	}
	if (!ok) {
		e->dev.poll_only = 1;
		e->dev.irq_mode = "poll";
		pci_intx_disable(e->pci);
		return;
	}
	throttle(e);
	wr(e, E1000_IMS, e->irq_rx_mask | e->irq_tx_mask | e->irq_other_mask);
	/* Frames that arrived before the interrupt was armed: poll once. */
	e->dev.napi_pending = 1;
}

/* ---- netdev ops ------------------------------------------------------------------ */

/* 0 when the completed descriptor holds a whole, error-free frame of a sane length. */
static int rx_check(struct e1000 *e, uint8_t status, uint8_t errors, uint16_t len)
{
	if (!(status & E1000_RXD_STAT_EOP)) {
		if (!e->rx_discarding)
			e->sw.rx_multi_desc++;
		e->rx_discarding = 1;
		return -1;
	}
	if (e->rx_discarding) {         /* the last piece of a frame already counted */
		e->rx_discarding = 0;
		return -1;
	}
	if (errors & E1000_RXD_ERR_FRAME) {
		e->sw.rx_frame_errors++;
		return -1;
	}
	if (len < NIC_FRAME_MIN || len > PKT_BUF_SIZE) {
		e->sw.rx_bad_length++;
		return -1;
	}
	return 0;
}

/* PKT_F_CSUM_OK only when the hardware says it checked the L4 checksum and found it
 * good: TCPCS or UDPCS, no TCPE or IPE, and not IXSM ("ignore checksum indication",
 * which QEMU's 82540EM sets on every frame: it has no receive checksum engine). */
static uint16_t rx_csum(struct e1000 *e, uint8_t status, uint8_t errors)
{
	if ((status & E1000_RXD_STAT_IXSM) || !(status & (E1000_RXD_STAT_TCPCS | E1000_RXD_STAT_UDPCS)))
		return 0;
	if (errors & (E1000_RXD_ERR_TCPE | E1000_RXD_ERR_IPE)) {
		e->sw.rx_csum_err++;
		return 0;
	}
	e->sw.rx_csum_ok++;
	return PKT_F_CSUM_OK;
}

/* Takes the frame out of slot i when it is good and a replacement buffer exists;
 * otherwise the old buffer stays in the slot and the frame is dropped. */
static struct pkt *rx_take(struct e1000 *e, int i)
{
	volatile struct e1000_rx_desc *d = &e->rx[i];
	uint16_t len = d->length;
	if (rx_check(e, d->status, d->errors, len) < 0)
		return NULL;
	struct pkt *fresh = pkt_alloc(&e->pool);
	if (!fresh) {
		e->sw.rx_alloc_failed++;
		return NULL;
	}
	struct pkt *p = e->rx_pkts[i];
	e->rx_pkts[i] = fresh;
	pkt_put(p, len);
	p->flags |= rx_csum(e, d->status, d->errors);
	p->ifindex = (uint16_t)e->dev.ifindex;
	p->ts_ns = time_ns();
	e->sw.rx_packets++;
	e->sw.rx_bytes += len;
	return p;
}

static int e1000_rx_burst(struct netdev *dev, struct pkt **pkts, int max)
{
	struct e1000 *e = dev->priv;
	int n = 0, cleaned = 0;
	uint16_t i = e->rx_next_to_clean;
	while (n < max && cleaned < RX_RING) {
		volatile struct e1000_rx_desc *d = &e->rx[i];
		if (!(d->status & E1000_RXD_STAT_DD))
			break;
		rmb();          /* the other fields are valid only once DD is seen */
		struct pkt *p = rx_take(e, i);
		if (p)
			pkts[n++] = p;
		d->addr = pkt_dma_addr(e->rx_pkts[i]);
		d->status = 0;
		i = (i + 1) & (RX_RING - 1);
		cleaned++;
	}
	if (cleaned) {
		e->rx_next_to_clean = i;
		wmb();
		/* Intentionally off by one: the hardware owns [RDH, RDT), so the tail points
		 * at the last descriptor we returned, not past it. The one slot held back
		 * keeps a full ring from looking empty (RDH == RDT). */
		wr(e, E1000_RDT, (uint32_t)((i - 1) & (RX_RING - 1)));
	}
	return n;
}

/* One slot stays unused so TDH == TDT always means "nothing queued". */
static int tx_free(const struct e1000 *e)
{
	return TX_RING - 1 - ((e->tx_next_to_use - e->tx_next_to_clean) & (TX_RING - 1));
}

/* A frame without offloads: one legacy descriptor (SDM §3.3.3). */
static void tx_legacy(struct e1000 *e, struct pkt *p)
{
	uint16_t i = e->tx_next_to_use;
	volatile struct e1000_tx_desc *d = &e->tx[i].legacy;
	d->addr = pkt_dma_addr(p);
	d->length = (uint16_t)p->len;
	d->cso = 0;
	d->css = 0;
	d->special = 0;
	d->status = 0;
	/* IFCS: the MAC appends the FCS; RS: report DD, which tx_reclaim waits for. */
	d->cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS;
	e->tx_pkts[i] = p;
	e->tx_next_to_use = (i + 1) & (TX_RING - 1);
}

/* Extended data descriptors for len bytes at addr from slot i, E1000_TX_CHUNK at most
 * each; with last, the final one ends the packet (EOP) and holds it. The next slot. */
static uint16_t tx_data(struct e1000 *e, uint16_t i, uint64_t addr, uint32_t len, uint32_t cmd,
			uint8_t popts, struct pkt *last)
{
	for (uint32_t done = 0; done < len; i = (i + 1) & (TX_RING - 1)) {
		uint32_t n = len - done > E1000_TX_CHUNK ? E1000_TX_CHUNK : len - done;
		volatile struct e1000_data_desc *d = &e->tx[i].data;
		d->addr = addr + done;
		done += n;
		int eop = last && done == len;
		d->lower = cmd | n | (eop ? (uint32_t)E1000_TXD_CMD_EOP << 24 : 0);
		d->upper = (uint32_t)popts << 8;
		e->tx_pkts[i] = eop ? last : NULL;
	}
	return i;
}

/* Checksum offload or TSO (SDM §3.3.6-3.3.7, 82574 §7.2): one TCP/IP context
 * descriptor, then extended data descriptors of at most E1000_TX_CHUNK bytes, each with
 * RS; the packet sits in the slot of the last (EOP), whose DD tx_reclaim waits for. */
static void tx_offload(struct e1000 *e, struct pkt *p, const struct e1000_tx_offload *o)
{
	uint16_t i = e->tx_next_to_use;
	struct e1000_ctx_desc c;
	e1000_offload_prepare(p, o);
	e1000_ctx_legacy(o, &c);
	c.cmd_and_length |= (uint32_t)E1000_TXD_CMD_RS << 24;
	e->tx[i].ctx = c;
	e->tx_pkts[i] = NULL;
	i = (i + 1) & (TX_RING - 1);
	uint32_t cmd = E1000_TXD_DTYP_D | E1000_TXD_CMD_DEXT | (o->tso ? E1000_TXD_CMD_TSE : 0) |
		       (uint32_t)(E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS) << 24;
	uint8_t popts = E1000_TXD_POPTS_TXSM | (o->tso ? E1000_TXD_POPTS_IXSM : 0);
	/* The slot's bytes, then each scatter-gather fragment where it lies (NETDEV_F_SG,
	 * pkt.h); the last descriptor of the last piece carries EOP and the packet. */
	unsigned nf = p->nfrags;
	i = tx_data(e, i, pkt_dma_addr(p), pkt_linear_len(p), cmd, popts, nf ? NULL : p);
	for (unsigned k = 0; k < nf; k++)
		i = tx_data(e, i, dma_addr_of(p->frag[k]), p->frag_len[k], cmd, popts,
			    k + 1 == nf ? p : NULL);
	e->tx_next_to_use = i;
	e->sw.tx_offload++;
	if (o->tso)
		e->sw.tx_tso++;
}

/* Descriptors p needs: 0 when p is malformed (the caller drops it). */
static int tx_descs(const struct pkt *p, struct e1000_tx_offload *o)
{
	return e1000_offload_descs(p, o, NIC_FRAME_MIN, NIC_FRAME_MAX);
}

static int e1000_tx_burst(struct netdev *dev, struct pkt **pkts, int n)
{
	struct e1000 *e = dev->priv;
	int taken = 0, queued = 0;
	for (; taken < n; taken++) {
		struct pkt *p = pkts[taken];
		struct e1000_tx_offload o;
		int need = tx_descs(p, &o);
		if (!need) {
			e->sw.tx_length_errors++;
			dev->tx_done_bytes += p->len;   /* taken and finished, for BQL */
			pkt_free(p);
			continue;
		}
		if (tx_free(e) < need)
			break;
		if (o.tucss)
			tx_offload(e, p, &o);
		else
			tx_legacy(e, p);
		queued++;
	}
	if (taken < n)
		e->sw.tx_ring_full++;
	if (queued) {
		wmb();
		/* TDT is one past the last valid descriptor: the next slot we will fill. */
		wr(e, E1000_TDT, e->tx_next_to_use);
	}
	return taken;
}

/* The descriptor carrying slot i's frame (the next slot with a packet) is done. */
static int frame_done(const struct e1000 *e, uint16_t i)
{
	for (; i != e->tx_next_to_use; i = (i + 1) & (TX_RING - 1))
		if (e->tx_pkts[i])
			return (e->tx[i].legacy.status & E1000_TXD_STAT_DD) != 0;
	return 0;
}

static int e1000_tx_reclaim(struct netdev *dev)
{
	struct e1000 *e = dev->priv;
	while (e->tx_next_to_clean != e->tx_next_to_use) {
		uint16_t i = e->tx_next_to_clean;
		struct pkt *p = e->tx_pkts[i];
		/* A context or non-final data descriptor is done when its frame's last
		 * one is (in-order completion); only that one's DD is read. */
		if (!frame_done(e, i))
			break;
		if (p) {
			e->sw.tx_packets++;
			e->sw.tx_bytes += p->len;
			dev->tx_done_bytes += p->len;
			pkt_free(p);
			e->tx_pkts[i] = NULL;
		}
		e->tx_next_to_clean = (i + 1) & (TX_RING - 1);
	}
	/* The completion interrupt only for frames still in flight: a device that is done
	 * by now (QEMU's models finish at the TDT write) would interrupt for nothing, an
	 * exit and two register writes per response. As with INTx and MSI, which have no
	 * transmit interrupt, frames queued later are reclaimed on the next loop turn. */
	if (e->tx_irq_masked && e->tx_next_to_clean != e->tx_next_to_use) {
		e->tx_irq_masked = 0;
		wr(e, E1000_IMS, e->irq_tx_mask);
	}
	return tx_free(e);
}

static void e1000_irq_enable(struct netdev *dev, int on)
{
	struct e1000 *e = dev->priv;
	wr(e, on ? E1000_IMS : E1000_IMC, e->irq_rx_mask);
}

/* PCH: the K1 workaround depends on the link speed, so it runs on every change
 * (nic.c asks for the link after each link interrupt and once a second). */
static void pch_link_changed(struct e1000 *e, int up)
{
	char why[PCH_WHY_MAX];
	e->pch_link = up;
	if (pch_k1_workaround(&e->io, e->device, up, why, sizeof(why)) < 0)
		log_warn("%s: K1 workaround not applied: %s", e->dev.name, why);
}

static int e1000_link_up(struct netdev *dev)
{
	struct e1000 *e = dev->priv;
	int up = (rd(e, E1000_STATUS) & E1000_STATUS_LU) != 0;
	if (e->chip->pch && up != e->pch_link)
		pch_link_changed(e, up);
	return up;
}

static void e1000_get_stats(struct netdev *dev, struct netdev_stats *st)
{
	struct e1000 *e = dev->priv;
	const uint64_t *hw = e->hw;
	hw_stats_update(e);
	memset(st, 0, sizeof(*st));
	st->rx_packets = e->sw.rx_packets;
	st->rx_bytes = e->sw.rx_bytes;
	st->rx_crc_errors = hw[HW_CRCERRS];
	st->rx_missed = hw[HW_MPC];
	st->rx_no_buffer = hw[HW_RNBC];
	/* RLEC counts the frames RUC and ROC split by kind; QEMU implements only those two. */
	uint64_t len_errors = hw[HW_RUC] + hw[HW_ROC];
	if (hw[HW_RLEC] > len_errors)
		len_errors = hw[HW_RLEC];
	st->rx_length_errors = len_errors + e->sw.rx_bad_length;
	st->rx_dropped = e->sw.rx_alloc_failed;
	st->rx_errors = hw[HW_CRCERRS] + hw[HW_ALGNERRC] + hw[HW_RXERRC] + len_errors +
			e->sw.rx_frame_errors + e->sw.rx_multi_desc + e->sw.rx_bad_length;
	st->multicast = hw[HW_MPRC];
	st->tx_packets = e->sw.tx_packets;
	st->tx_bytes = e->sw.tx_bytes;
	st->tx_errors = e->sw.tx_length_errors;
	st->tx_dropped = e->sw.tx_length_errors;
	st->collisions = hw[HW_COLC];
}

static void e1000_xstats(struct netdev *dev, netdev_xstat_fn fn, void *ctx)
{
	struct e1000 *e = dev->priv;
	hw_stats_update(e);
	fn(ctx, "rx_packets", e->sw.rx_packets);
	fn(ctx, "rx_bytes", e->sw.rx_bytes);
	fn(ctx, "tx_packets", e->sw.tx_packets);
	fn(ctx, "tx_bytes", e->sw.tx_bytes);
	for (int i = 0; i < HW_COUNTERS; i++)
		fn(ctx, intel_hw_counters[i].name, e->hw[i]);
	fn(ctx, "rx_frame_errors", e->sw.rx_frame_errors);
	fn(ctx, "rx_multi_desc_dropped", e->sw.rx_multi_desc);
	fn(ctx, "rx_bad_length", e->sw.rx_bad_length);
	fn(ctx, "alloc_rx_buff_failed", e->sw.rx_alloc_failed);
	fn(ctx, "tx_length_errors", e->sw.tx_length_errors);
	fn(ctx, "tx_ring_full", e->sw.tx_ring_full);
	fn(ctx, "tx_csum_offload", e->sw.tx_offload);
	fn(ctx, "tx_tso", e->sw.tx_tso);
	fn(ctx, "rx_csum_offload_good", e->sw.rx_csum_ok);
	fn(ctx, "rx_csum_offload_errors", e->sw.rx_csum_err);
	fn(ctx, "irq_tx", e->sw.irq_tx);
	fn(ctx, "irq_other", e->sw.irq_other);
	fn(ctx, "irq_not_ours", e->sw.irq_not_ours);
}

static const struct netdev_ops e1000_ops = {
	.rx_burst = e1000_rx_burst,
	.tx_burst = e1000_tx_burst,
	.tx_reclaim = e1000_tx_reclaim,
	.irq_enable = e1000_irq_enable,
	.link_up = e1000_link_up,
	.get_stats = e1000_get_stats,
	.xstats = e1000_xstats,
};

/* ---- probe ----------------------------------------------------------------------- */

/* Only for a failed probe; the device was left with its receiver and DMA off. */
static void e1000_free(struct e1000 *e)
{
	if (e->pool.base)
		dma_free(e->pool.base, (size_t)e->pool.nslots * PKT_SLOT_SIZE);
	if (e->rx)
		dma_free((void *)e->rx, RING_BYTES(RX_RING));
	if (e->tx)
		dma_free((void *)e->tx, RING_BYTES(TX_RING));
	kfree(e);
}

static int fail(struct e1000 *e, const char *why)
{
	log_warn("e1000: %02x:%02x.%x: %s", e->pci->bus, e->pci->dev, e->pci->fn, why);
	e1000_free(e);
	return -1;
}

static void netdev_setup(struct e1000 *e, const uint8_t mac[6])
{
	struct netdev *d = &e->dev;
	strlcpy(d->driver, e->chip->driver, sizeof(d->driver));
	memcpy(d->mac, mac, 6);
	d->mtu = 1500;
	d->ops = &e1000_ops;
	d->priv = e;
	d->pool = &e->pool;
	d->irq_mode = "poll";
	d->features = NETDEV_F_TX_CSUM | NETDEV_F_TSO4 | NETDEV_F_RX_CSUM | NETDEV_F_BQL |
		      NETDEV_F_SG;
	d->tso_max = E1000_TSO_MAX;
}

/* PCH, after the reset: leave Ultra Low Power so the PHY answers. A failure is logged
 * and the probe goes on: the link wait below then says what is missing. */
static void pch_ulp(struct e1000 *e)
{
	char why[PCH_WHY_MAX];
	if (pch_ulp_exit(&e->io, e->device, why, sizeof(why)) < 0)
		log_warn("e1000e: %02x:%02x.%x: %s", e->pci->bus, e->pci->dev, e->pci->fn, why);
}

/* PCH, once registered: a bounded wait for link, so a missing cable or a PHY stuck in
 * ULP is reported with the reason at boot rather than as silence. */
static void pch_link(struct e1000 *e)
{
	char why[PCH_WHY_MAX];
	e->pch_link = -1;
	if (pch_link_wait(&e->io, PCH_LINK_WAIT_MS, why, sizeof(why)) < 0)
		log_warn("%s: link not up: %s", e->dev.name, why);
	(void)e1000_link_up(&e->dev);   /* applies the K1 workaround for the state found */
}

static int probe(struct pci_dev *pci, const struct e1000_chip *chip)
{
	struct e1000 *e = kcalloc(1, sizeof(*e));
	uint8_t mac[6];
	if (!e)
		return -1;
	e->pci = pci;
	e->chip = chip;
	e->device = pci->device;
	e->io = (struct e1000_io){ io_rd, io_wr, io_delay_us, e };
	pci_enable(pci, 1);
	e->regs = pci_map_bar(pci, 0);
	if (!e->regs)
		return fail(e, "BAR0 not mapped");
	if (reset(e) < 0)
		return fail(e, "reset timed out");
	if (chip->pch)
		pch_ulp(e);
	if (read_mac(e, mac) < 0)
		return fail(e, "no valid MAC address");
	if (rings_alloc(e) < 0)
		return fail(e, "out of DMA memory");
	link_setup(e);
	stats_clear(e);
	rx_init(e, mac);
	tx_init(e);
	netdev_setup(e, mac);
	nic_register(&e->dev);
	if (chip->pch)
		pch_link(e);
	irq_setup(e);
	log_info("%s: %s %s at %02x:%02x.%x, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s",
		 e->dev.name, chip->driver, pci_name(pci), pci->bus, pci->dev, pci->fn, mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5], e->dev.irq_mode);
	return 0;
}

static int probe_8254x(struct pci_dev *pci, const struct pci_id *id)
{
	return probe(pci, id->device == 0x1004 ? &chip_82543 : &chip_8254x);
}

static int probe_8257x(struct pci_dev *pci, const struct pci_id *id)
{
	return probe(pci, id->device == 0x10D3 ? &chip_82574 : &chip_8257x);
}

static int probe_pch(struct pci_dev *pci, const struct pci_id *id)
{
	(void)id;
	return probe(pci, &chip_pch);
}

static const struct pci_id ids_8254x[] = {
	{ 0x8086, 0x100E, "82540EM" },
	{ 0x8086, 0x100F, "82545EM" },
	{ 0x8086, 0x1004, "82543GC" },
	{ 0, 0, NULL },
};

/* Device IDs from Linux e1000e hw.h. Only the 82574L (QEMU's e1000e) has been run. */
static const struct pci_id ids_8257x[] = {
	{ 0x8086, 0x10D3, "82574L" },
	{ 0x8086, 0x105E, "82571EB copper" },
	{ 0x8086, 0x105F, "82571EB fiber" },
	{ 0x8086, 0x1060, "82571EB SerDes" },
	{ 0x8086, 0x10A4, "82571EB quad copper" },
	{ 0x8086, 0x10A5, "82571EB quad fiber" },
	{ 0x8086, 0x10BC, "82571EB quad copper LP" },
	{ 0x8086, 0x10D5, "82571PT quad copper" },
	{ 0x8086, 0x10D9, "82571EB dual SerDes" },
	{ 0x8086, 0x10DA, "82571EB quad SerDes" },
	{ 0x8086, 0x107D, "82572EI copper" },
	{ 0x8086, 0x107E, "82572EI fiber" },
	{ 0x8086, 0x107F, "82572EI SerDes" },
	{ 0x8086, 0x10B9, "82572EI" },
	{ 0x8086, 0x108B, "82573E" },
	{ 0x8086, 0x108C, "82573E IAMT" },
	{ 0x8086, 0x109A, "82573L" },
	{ 0x8086, 0x150C, "82583V" },
	{ 0, 0, NULL },
};

/* PCH LAN: I217 (Lynx Point), I218 (Lynx Point-LP, Wildcat Point), I219 (Sunrise Point
 * and later PCHs). Linux e1000e hw.h names each by PCH and generation. */
static const struct pci_id ids_pch[] = {
	{ 0x8086, 0x153A, "I217-LM" }, { 0x8086, 0x153B, "I217-V" },
	{ 0x8086, 0x155A, "I218-LM" }, { 0x8086, 0x1559, "I218-V" },
	{ 0x8086, 0x15A0, "I218-LM (2)" }, { 0x8086, 0x15A1, "I218-V (2)" },
	{ 0x8086, 0x15A2, "I218-LM (3)" }, { 0x8086, 0x15A3, "I218-V (3)" },
	{ 0x8086, 0x156F, "I219-LM" }, { 0x8086, 0x1570, "I219-V" },
	{ 0x8086, 0x15B7, "I219-LM (2)" }, { 0x8086, 0x15B8, "I219-V (2)" },
	{ 0x8086, 0x15B9, "I219-LM (3)" },
	{ 0x8086, 0x15D7, "I219-LM (4)" }, { 0x8086, 0x15D8, "I219-V (4)" },
	{ 0x8086, 0x15E3, "I219-LM (5)" }, { 0x8086, 0x15D6, "I219-V (5)" },
	{ 0x8086, 0x15BD, "I219-LM (6)" }, { 0x8086, 0x15BE, "I219-V (6)" },
	{ 0x8086, 0x15BB, "I219-LM (7)" }, { 0x8086, 0x15BC, "I219-V (7)" },
	{ 0x8086, 0x15DF, "I219-LM (8)" }, { 0x8086, 0x15E0, "I219-V (8)" },
	{ 0x8086, 0x15E1, "I219-LM (9)" }, { 0x8086, 0x15E2, "I219-V (9)" },
	{ 0x8086, 0x0D4E, "I219-LM (10)" }, { 0x8086, 0x0D4F, "I219-V (10)" },
	{ 0x8086, 0x0D4C, "I219-LM (11)" }, { 0x8086, 0x0D4D, "I219-V (11)" },
	{ 0x8086, 0x0D53, "I219-LM (12)" }, { 0x8086, 0x0D55, "I219-V (12)" },
	{ 0x8086, 0x15FB, "I219-LM (13)" }, { 0x8086, 0x15FC, "I219-V (13)" },
	{ 0x8086, 0x15F9, "I219-LM (14)" }, { 0x8086, 0x15FA, "I219-V (14)" },
	{ 0x8086, 0x15F4, "I219-LM (15)" }, { 0x8086, 0x15F5, "I219-V (15)" },
	{ 0x8086, 0x1A1E, "I219-LM (16)" }, { 0x8086, 0x1A1F, "I219-V (16)" },
	{ 0x8086, 0x1A1C, "I219-LM (17)" }, { 0x8086, 0x1A1D, "I219-V (17)" },
	{ 0x8086, 0x550A, "I219-LM (18)" }, { 0x8086, 0x550B, "I219-V (18)" },
	{ 0x8086, 0x550C, "I219-LM (19)" }, { 0x8086, 0x550D, "I219-V (19)" },
	{ 0x8086, 0x550E, "I219-LM (20)" }, { 0x8086, 0x550F, "I219-V (20)" },
	{ 0x8086, 0x5510, "I219-LM (21)" }, { 0x8086, 0x5511, "I219-V (21)" },
	{ 0x8086, 0x0DC7, "I219-LM (22)" }, { 0x8086, 0x0DC8, "I219-V (22)" },
	{ 0x8086, 0x0DC5, "I219-LM (23)" }, { 0x8086, 0x0DC6, "I219-V (23)" },
	{ 0x8086, 0x57A0, "I219-LM (24)" }, { 0x8086, 0x57A1, "I219-V (24)" },
	{ 0x8086, 0x57B3, "I219-LM (25)" }, { 0x8086, 0x57B4, "I219-V (25)" },
	{ 0x8086, 0x57B7, "I219-LM (27)" }, { 0x8086, 0x57B8, "I219-V (27)" },
	{ 0, 0, NULL },
};

static const struct pci_driver driver_8254x = { "e1000", ids_8254x, probe_8254x };
static const struct pci_driver driver_8257x = { "e1000e", ids_8257x, probe_8257x };
static const struct pci_driver driver_pch = { "e1000e", ids_pch, probe_pch };

void e1000_register(void)
{
	pci_register_driver(&driver_8254x);
	pci_register_driver(&driver_8257x);
	pci_register_driver(&driver_pch);
}
DRIVER_INIT(e1000_register);
