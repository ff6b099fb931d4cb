/*
 * Intel 8254x / 82574 registers and bits that drivers/e1000.c uses: byte offsets into
 * BAR0 with the datasheets' names. "SDM" = PCI/PCI-X Family of Gigabit Ethernet
 * Controllers Software Developer's Manual (8254x), ch. 13; "82574" = 82574 GbE
 * Controller Family datasheet, ch. 10. Offsets are the same on both unless noted.
 */
#ifndef SKIFF_E1000_REGS_H
#define SKIFF_E1000_REGS_H

/* General (SDM §13.4, 82574 §10.2) */
#define E1000_CTRL 0x00000
#define E1000_STATUS 0x00008
#define E1000_EECD 0x00010
#define E1000_EERD 0x00014
#define E1000_CTRL_EXT 0x00018
#define E1000_FCAL 0x00028
#define E1000_FCAH 0x0002C
#define E1000_FCT 0x00030
#define E1000_FCTTV 0x00170

/* Interrupts (SDM §13.4, 82574 §10.2) */
#define E1000_ICR 0x000C0
#define E1000_ICS 0x000C8
#define E1000_ITR 0x000C4                /* interrupt throttling, 256 ns units */
#define E1000_IMS 0x000D0
#define E1000_IMC 0x000D8
#define E1000_EIAC_82574 0x000DC        /* 82574 only: auto-clear of ICR on MSI-X */
#define E1000_IVAR_82574 0x000E4        /* 82574 only: cause -> MSI-X vector */
#define E1000_EITR_82574(n) (0x000E8 + 4 * (n))  /* 82574: per MSI-X vector throttling */

/* Receive (SDM §13.4, 82574 §10.2) */
#define E1000_RCTL 0x00100
#define E1000_RDBAL 0x02800
#define E1000_RDBAH 0x02804
#define E1000_RDLEN 0x02808
#define E1000_RDH 0x02810
#define E1000_RDT 0x02818
#define E1000_RDTR 0x02820
#define E1000_RADV 0x0282C
#define E1000_RXCSUM 0x05000
#define E1000_RFCTL_82574 0x05008
#define E1000_MTA 0x05200               /* 128 x 32-bit multicast table */
#define E1000_MTA_ENTRIES 128
#define E1000_RAL0 0x05400
#define E1000_RAH0 0x05404

/* Transmit (SDM §13.4, 82574 §10.2) */
#define E1000_TCTL 0x00400
#define E1000_TIPG 0x00410
#define E1000_TDBAL 0x03800
#define E1000_TDBAH 0x03804
#define E1000_TDLEN 0x03808
#define E1000_TDH 0x03810
#define E1000_TDT 0x03818
#define E1000_TIDV 0x03820

/* Statistics, all clear-on-read (SDM ch. 13, 82574 §10.2) */
#define E1000_CRCERRS 0x04000
#define E1000_ALGNERRC 0x04004
#define E1000_RXERRC 0x0400C
#define E1000_MPC 0x04010
#define E1000_COLC 0x04028
#define E1000_DC 0x04030
#define E1000_RLEC 0x04040
#define E1000_GPRC 0x04074
#define E1000_BPRC 0x04078
#define E1000_MPRC 0x0407C
#define E1000_GPTC 0x04080
#define E1000_GORCL 0x04088             /* read L then H: reading H clears both */
#define E1000_GORCH 0x0408C
#define E1000_GOTCL 0x04090
#define E1000_GOTCH 0x04094
#define E1000_RNBC 0x040A0
#define E1000_RUC 0x040A4
#define E1000_ROC 0x040AC
#define E1000_MPTC 0x040F0
#define E1000_BPTC 0x040F4

/* CTRL */
#define E1000_CTRL_LRST (1u << 3)
#define E1000_CTRL_SLU (1u << 6)
#define E1000_CTRL_ILOS (1u << 7)
#define E1000_CTRL_FRCSPD (1u << 11)
#define E1000_CTRL_FRCDPLX (1u << 12)
#define E1000_CTRL_RST (1u << 26)
#define E1000_CTRL_VME (1u << 30)
#define E1000_CTRL_PHY_RST (1u << 31)

/* STATUS */
#define E1000_STATUS_LU (1u << 1)

/* EECD / EERD: the EERD layout differs between the 8254x and the 82574 */
#define E1000_EECD_AUTO_RD (1u << 9)    /* 82574: NVM auto-read done */
#define E1000_EERD_START (1u << 0)
#define E1000_EERD_DONE_8254X (1u << 4)
#define E1000_EERD_ADDR_SHIFT_8254X 8
#define E1000_EERD_DONE_82574 (1u << 1)
#define E1000_EERD_ADDR_SHIFT_82574 2
#define E1000_EERD_DATA_SHIFT 16

/* CTRL_EXT */
#define E1000_CTRL_EXT_PBA_CLR (1u << 31)  /* PBA bits clear when the MSI-X message goes */

/* ICR / IMS / IMC bits (the same positions in all three registers) */
#define E1000_ICR_LSC (1u << 2)
#define E1000_ICR_RXDMT0 (1u << 4)
#define E1000_ICR_RXO (1u << 6)
#define E1000_ICR_RXT0 (1u << 7)
#define E1000_ICR_RXQ0 (1u << 20)       /* 82574 MSI-X causes */
#define E1000_ICR_TXQ0 (1u << 22)
#define E1000_ICR_OTHER (1u << 24)
#define E1000_IMC_ALL 0xFFFFFFFFu

/* IVAR (82574): 4-bit fields, MSI-X entry in bits 2:0, bit 3 valid */
#define E1000_IVAR_VALID 0x8u
#define E1000_IVAR_RXQ0_SHIFT 0
#define E1000_IVAR_TXQ0_SHIFT 8
#define E1000_IVAR_OTHER_SHIFT 16
#define E1000_IVAR_INT_ON_ALL_WB (1u << 31)

/* RCTL */
#define E1000_RCTL_EN (1u << 1)
#define E1000_RCTL_RDMTS_HALF (0u << 8)
#define E1000_RCTL_BAM (1u << 15)
#define E1000_RCTL_BSIZE_2048 (0u << 16)
#define E1000_RCTL_SECRC (1u << 26)

/* RXCSUM (SDM ch. 13, 82574 §10.2): offload enables */
#define E1000_RXCSUM_IPOFL (1u << 8)
#define E1000_RXCSUM_TUOFL (1u << 9)

/* RFCTL (82574) */
#define E1000_RFCTL_ACK_DIS (1u << 13)

/* RAH */
#define E1000_RAH_AV (1u << 31)

/* TCTL / TIPG */
#define E1000_TCTL_EN (1u << 1)
#define E1000_TCTL_PSP (1u << 3)
#define E1000_TCTL_CT_SHIFT 4
#define E1000_TCTL_COLD_SHIFT 12
#define E1000_TIPG_IPGR1_SHIFT 10
#define E1000_TIPG_IPGR2_SHIFT 20

/* Legacy receive descriptor (SDM §3.2.3) status and errors */
#define E1000_RXD_STAT_DD (1u << 0)
#define E1000_RXD_STAT_EOP (1u << 1)
#define E1000_RXD_STAT_IXSM (1u << 2)   /* ignore the checksum indications */
#define E1000_RXD_STAT_UDPCS (1u << 4)  /* 82574: UDP checksum computed */
#define E1000_RXD_STAT_TCPCS (1u << 5)  /* TCP (8254x: TCP or UDP) checksum computed */
#define E1000_RXD_STAT_IPCS (1u << 6)
#define E1000_RXD_ERR_TCPE (1u << 5)    /* TCP/UDP checksum error */
#define E1000_RXD_ERR_IPE (1u << 6)     /* IP checksum error */
#define E1000_RXD_ERR_CE (1u << 0)      /* CRC or alignment error */
#define E1000_RXD_ERR_SE (1u << 1)      /* symbol error */
#define E1000_RXD_ERR_SEQ (1u << 2)     /* sequence error */
#define E1000_RXD_ERR_CXE (1u << 4)     /* carrier extension error */
#define E1000_RXD_ERR_RXE (1u << 7)     /* RX data error */
#define E1000_RXD_ERR_FRAME (E1000_RXD_ERR_CE | E1000_RXD_ERR_SE | E1000_RXD_ERR_SEQ | \
			     E1000_RXD_ERR_CXE | E1000_RXD_ERR_RXE)

/* Legacy transmit descriptor (SDM §3.3.3) command and status */
#define E1000_TXD_CMD_EOP (1u << 0)
#define E1000_TXD_CMD_IFCS (1u << 1)
#define E1000_TXD_CMD_RS (1u << 3)
#define E1000_TXD_STAT_DD (1u << 0)

/* ---- PCH LAN (I217, I218, I219): MAC registers the bring-up in drivers/e1000_pch.c
 * uses. Intel publishes no programming manual for these parts; offsets and bits are
 * the facts Linux e1000e's ich8lan.h, defines.h and regs.h record. */
#define E1000_MDIC 0x00020
#define E1000_FEXTNVM6 0x00010          /* replaces EECD on ICH/PCH */
#define E1000_KMRNCTRLSTA 0x00034       /* Kumeran (MAC-PHY interconnect) register access */
#define E1000_FEXTNVM3 0x0003C
#define E1000_FEXTNVM7 0x000E4
#define E1000_EXTCNF_CTRL 0x00F00       /* software/firmware PHY ownership flag */
#define E1000_H2ME 0x05B50              /* host-to-ME (management engine) signals */
#define E1000_FWSM 0x05B54

/* MDIC: PHY register access (82574 §10.2.2.7; the same on PCH) */
#define E1000_MDIC_DATA_MASK 0xFFFFu
#define E1000_MDIC_REG_SHIFT 16
#define E1000_MDIC_REG_MASK (0x1Fu << 16)
#define E1000_MDIC_PHY_SHIFT 21
#define E1000_MDIC_OP_WRITE (1u << 26)
#define E1000_MDIC_OP_READ (2u << 26)
#define E1000_MDIC_READY (1u << 28)
#define E1000_MDIC_ERROR (1u << 30)

/* CTRL, CTRL_EXT, STATUS bits the PCH flows use */
#define E1000_CTRL_SPD_100 (1u << 8)
#define E1000_CTRL_SPD_1000 (2u << 8)
#define E1000_CTRL_LANPHYPC_OVERRIDE (1u << 16)
#define E1000_CTRL_LANPHYPC_VALUE (1u << 17)
#define E1000_CTRL_EXT_LPCD (1u << 2)   /* LANPHYPC cycle done */
#define E1000_CTRL_EXT_FORCE_SMBUS (1u << 11)
#define E1000_CTRL_EXT_SPD_BYPS (1u << 15)
#define E1000_STATUS_FD (1u << 0)
#define E1000_STATUS_SPEED_100 (1u << 6)
#define E1000_STATUS_SPEED_1000 (1u << 7)

/* FWSM / H2ME: ME firmware present, and the ULP handshake with it */
#define E1000_FWSM_ULP_CFG_DONE (1u << 10)
#define E1000_FWSM_FW_VALID (1u << 15)
#define E1000_H2ME_ULP (1u << 11)
#define E1000_H2ME_ENFORCE_SETTINGS (1u << 12)

/* EXTCNF_CTRL, FEXTNVM3/6/7 */
#define E1000_EXTCNF_CTRL_SWFLAG (1u << 5)
#define E1000_FEXTNVM3_PHY_CFG_COUNTER_MASK (3u << 26)
#define E1000_FEXTNVM3_PHY_CFG_COUNTER_50MSEC (2u << 26)
#define E1000_FEXTNVM6_REQ_PLL_CLK (1u << 8)
#define E1000_FEXTNVM6_ENABLE_K1_ENTRY_CONDITION (1u << 9)
#define E1000_FEXTNVM7_DISABLE_SMB_PERST (1u << 5)

/* KMRNCTRLSTA: offset in 20:16, REN (read enable) bit 21, data 15:0 */
#define E1000_KMRNCTRLSTA_OFFSET_SHIFT 16
#define E1000_KMRNCTRLSTA_REN (1u << 21)
#define E1000_KMRNCTRLSTA_K1_CONFIG 0x7
#define E1000_KMRNCTRLSTA_K1_ENABLE 0x0002u

/* PCH PHY (82577-family "HV" PHY and its I217/I218/I219 successors): registers are
 * (page, register) pairs; page select goes through register 31 at PHY address 1. */
#define E1000_PHY_REG(page, reg) (((uint32_t)(page) << 5) | ((reg) & 0x1F))
#define E1000_PHY_PAGE_SELECT 0x1F
#define E1000_PHY_PAGE_SHIFT 5
#define E1000_PHY_MULTI_PAGE_MAX 0xF    /* registers 0-15 are the same on every page */
#define E1000_PHY_ADDR_HV 2             /* pages below 768 */
#define E1000_PHY_ADDR_HV_HIGH 1        /* pages 768 and up, and the page select */
#define E1000_HV_HIGH_PAGE_START 768
#define E1000_MII_BMSR E1000_PHY_REG(0, 1)
#define E1000_MII_BMSR_LSTATUS 0x0004u
#define E1000_MII_BMSR_ANEGCOMPLETE 0x0020u
#define E1000_CV_SMB_CTRL E1000_PHY_REG(769, 23)
#define E1000_CV_SMB_CTRL_FORCE_SMBUS 0x0001u
#define E1000_HV_PM_CTRL E1000_PHY_REG(770, 17)
#define E1000_HV_PM_CTRL_K1_ENABLE 0x4000u
#define E1000_I217_INBAND_CTRL E1000_PHY_REG(770, 18)
#define E1000_I217_INBAND_CTRL_TX_TIMEOUT_MASK 0x3F00u
#define E1000_I217_INBAND_CTRL_TX_TIMEOUT_SHIFT 8
#define E1000_I218_ULP_CONFIG1 E1000_PHY_REG(779, 16)
#define E1000_I218_ULP_CONFIG1_START 0x0001u
#define E1000_I218_ULP_CONFIG1_IND 0x0004u
#define E1000_I218_ULP_CONFIG1_STICKY_ULP 0x0010u
#define E1000_I218_ULP_CONFIG1_INBAND_EXIT 0x0020u
#define E1000_I218_ULP_CONFIG1_WOL_HOST 0x0040u
#define E1000_I218_ULP_CONFIG1_RESET_TO_SMBUS 0x0100u
#define E1000_I218_ULP_CONFIG1_EN_ULP_LANPHYPC 0x0400u
#define E1000_I218_ULP_CONFIG1_DIS_CLR_STICKY_ON_PERST 0x0800u
#define E1000_I218_ULP_CONFIG1_DISABLE_SMB_PERST 0x1000u

#endif
