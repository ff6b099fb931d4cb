/*
 * Intel 82576 / I350 / I354 / I210 / I211 registers and bits that drivers/igb.c uses:
 * byte offsets into BAR0 with the datasheets' names. "82576" = 82576EB GbE Controller
 * datasheet, ch. 8 (register descriptions), ch. 7 (descriptors, interrupts). The I350,
 * I354 and I210/I211 datasheets keep every offset below for queue 0; where the families
 * differ (IVAR layout for queues above 0) the driver uses only queue 0, which is the
 * same on all of them.
 */
#ifndef SKIFF_IGB_REGS_H
#define SKIFF_IGB_REGS_H

/* General (82576 §8.2) */
#define IGB_CTRL 0x00000
#define IGB_STATUS 0x00008
#define IGB_EECD 0x00010
#define IGB_EERD 0x00014
#define IGB_CTRL_EXT 0x00018
#define IGB_MDIC 0x00020

/* Interrupts (82576 §8.8) */
#define IGB_ICR 0x000C0                 /* at the 8254x offsets */
#define IGB_IMS 0x000D0
#define IGB_IMC 0x000D8
#define IGB_GPIE 0x01514
#define IGB_EITR(n) (0x01680 + 4 * (n))  /* per-vector throttling: interval 14:2, 1 us units */
#define IGB_EICS 0x01520
#define IGB_EIMS 0x01524
#define IGB_EIMC 0x01528
#define IGB_EIAC 0x0152C
#define IGB_EIAM 0x01530
#define IGB_EICR 0x01580
#define IGB_IVAR0 0x01700               /* queues 0 and 8 (82576); 0 and 1 (I350, I210) */
#define IGB_IVAR_MISC 0x01740

/* Receive (82576 §8.10); queue n registers at + 0x40 * n */
#define IGB_RCTL 0x00100
#define IGB_RXCSUM 0x05000
#define IGB_MTA 0x05200                 /* 128 x 32-bit multicast table */
#define IGB_MTA_ENTRIES 128
#define IGB_RAL0 0x05400
#define IGB_RAH0 0x05404
#define IGB_MRQC 0x05818
#define IGB_RDBAL0 0x0C000
#define IGB_RDBAH0 0x0C004
#define IGB_RDLEN0 0x0C008
#define IGB_SRRCTL0 0x0C00C
#define IGB_RDH0 0x0C010
#define IGB_RDT0 0x0C018
#define IGB_RXDCTL0 0x0C028

/* Transmit (82576 §8.12); queue n registers at + 0x40 * n */
#define IGB_TCTL 0x00400
#define IGB_TDBAL0 0x0E000
#define IGB_TDBAH0 0x0E004
#define IGB_TDLEN0 0x0E008
#define IGB_TDH0 0x0E010
#define IGB_TDT0 0x0E018
#define IGB_TXDCTL0 0x0E028

/* Statistics, clear-on-read (82576 §8.19); the 8254x offsets */
#define IGB_CRCERRS 0x04000
#define IGB_ALGNERRC 0x04004
#define IGB_RXERRC 0x0400C
#define IGB_MPC 0x04010
#define IGB_COLC 0x04028
#define IGB_DC 0x04030
#define IGB_RLEC 0x04040
#define IGB_GPRC 0x04074
#define IGB_BPRC 0x04078
#define IGB_MPRC 0x0407C
#define IGB_GPTC 0x04080
#define IGB_GORCL 0x04088               /* read L then H: reading H clears both */
#define IGB_GORCH 0x0408C
#define IGB_GOTCL 0x04090
#define IGB_GOTCH 0x04094
#define IGB_RNBC 0x040A0
#define IGB_RUC 0x040A4
#define IGB_ROC 0x040AC
#define IGB_MPTC 0x040F0
#define IGB_BPTC 0x040F4

/* CTRL (82576 §8.2) */
#define IGB_CTRL_LRST (1u << 3)
#define IGB_CTRL_SLU (1u << 6)
#define IGB_CTRL_FRCSPD (1u << 11)
#define IGB_CTRL_FRCDPX (1u << 12)
#define IGB_CTRL_RST (1u << 26)
#define IGB_CTRL_VME (1u << 30)
#define IGB_CTRL_PHY_RST (1u << 31)

/* STATUS (82576 §8.2) */
#define IGB_STATUS_LU (1u << 1)

/* EECD / EERD (82576 §8.2): the 82574 layout */
#define IGB_EECD_AUTO_RD (1u << 9)
#define IGB_EERD_START (1u << 0)
#define IGB_EERD_DONE (1u << 1)
#define IGB_EERD_ADDR_SHIFT 2
#define IGB_EERD_DATA_SHIFT 16

/* CTRL_EXT (82576 §8.2) */
#define IGB_CTRL_EXT_DRV_LOAD (1u << 28)

/* MDIC (82576 §8.2): PHY register access */
#define IGB_MDIC_DATA_MASK 0xFFFFu
#define IGB_MDIC_REG_SHIFT 16
#define IGB_MDIC_PHY_SHIFT 21
#define IGB_MDIC_OP_WRITE (1u << 26)
#define IGB_MDIC_OP_READ (2u << 26)
#define IGB_MDIC_READY (1u << 28)
#define IGB_MDIC_ERROR (1u << 30)
#define IGB_PHY_ADDR 1                  /* the internal copper PHY */

/* PHY registers (IEEE 802.3 clause 22) */
#define MII_BMCR 0x00
#define MII_BMCR_ANRESTART (1u << 9)
#define MII_BMCR_ANENABLE (1u << 12)

/* ICR / IMS / IMC bits (82576 §8.8) */
#define IGB_ICR_LSC (1u << 2)
#define IGB_IMC_ALL 0xFFFFFFFFu

/* RXCSUM (82576 §8.10): offload enables */
#define IGB_RXCSUM_IPOFL (1u << 8)
#define IGB_RXCSUM_TUOFL (1u << 9)

/* EITR (82576 §8.8.12) */
#define IGB_EITR_INTERVAL_SHIFT 2

/* GPIE (82576 §8.8) */
#define IGB_GPIE_NSICR (1u << 0)        /* ICR cleared on read, whatever IMS holds */
#define IGB_GPIE_MULTIPLE_MSIX (1u << 4)  /* EICR bits are MSI-X vectors, not queues */
#define IGB_GPIE_PBA_SUPPORT (1u << 31)

/* IVAR (82576 §8.8): one byte per cause, vector in the low bits, bit 7 valid */
#define IGB_IVAR_VALID 0x80u
#define IGB_IVAR_RXQ0_SHIFT 0
#define IGB_IVAR_TXQ0_SHIFT 8
#define IGB_IVAR_MISC_OTHER_SHIFT 8     /* IVAR_MISC: "other" causes (LSC, ...) */

/* RCTL (82576 §8.10) */
#define IGB_RCTL_EN (1u << 1)
#define IGB_RCTL_BAM (1u << 15)
#define IGB_RCTL_SECRC (1u << 26)

/* SRRCTL (82576 §8.10) */
#define IGB_SRRCTL_BSIZEPKT_SHIFT 0     /* in 1 KiB units */
#define IGB_SRRCTL_BSIZEHDR_SHIFT 8     /* in 64-byte units; unused without header split */
#define IGB_SRRCTL_DESCTYPE_ADV_ONEBUF (1u << 25)

/* RXDCTL / TXDCTL (82576 §8.10, §8.12) */
#define IGB_XDCTL_PTHRESH_SHIFT 0
#define IGB_XDCTL_HTHRESH_SHIFT 8
#define IGB_XDCTL_WTHRESH_SHIFT 16
#define IGB_XDCTL_ENABLE (1u << 25)

/* RAH */
#define IGB_RAH_AV (1u << 31)

/* TCTL (82576 §8.12) */
#define IGB_TCTL_EN (1u << 1)
#define IGB_TCTL_PSP (1u << 3)
#define IGB_TCTL_CT_SHIFT 4
#define IGB_TCTL_COLD_SHIFT 12
#define IGB_TCTL_RTLC (1u << 24)

/* Advanced receive descriptor write-back (82576 §7.1.5): status_error field */
#define IGB_RXD_STAT_DD (1u << 0)
#define IGB_RXD_STAT_EOP (1u << 1)
#define IGB_RXD_STAT_IXSM (1u << 2)     /* ignore the checksum indications */
#define IGB_RXD_STAT_UDPCS (1u << 4)
#define IGB_RXD_STAT_L4CS (1u << 5)     /* TCP (or UDP) checksum computed */
#define IGB_RXD_STAT_IPCS (1u << 6)
#define IGB_RXDEXT_ERR_L4E (1u << 29)   /* TCP/UDP checksum error */
#define IGB_RXDEXT_ERR_IPE (1u << 30)   /* IP checksum error */
#define IGB_RXDEXT_ERR_CE (1u << 24)    /* CRC or alignment error */
#define IGB_RXDEXT_ERR_SE (1u << 25)    /* symbol error */
#define IGB_RXDEXT_ERR_SEQ (1u << 26)   /* sequence error */
#define IGB_RXDEXT_ERR_CXE (1u << 28)   /* carrier extension error */
#define IGB_RXDEXT_ERR_RXE (1u << 31)   /* RX data error */
#define IGB_RXDEXT_ERR_FRAME (IGB_RXDEXT_ERR_CE | IGB_RXDEXT_ERR_SE | IGB_RXDEXT_ERR_SEQ | \
			      IGB_RXDEXT_ERR_CXE | IGB_RXDEXT_ERR_RXE)

/* Advanced transmit data descriptor (82576 §7.2.2): cmd_type_len and olinfo_status */
#define IGB_ADVTXD_DTYP_DATA (3u << 20)
#define IGB_ADVTXD_DCMD_EOP (1u << 24)
#define IGB_ADVTXD_DCMD_IFCS (1u << 25)
#define IGB_ADVTXD_DCMD_RS (1u << 27)
#define IGB_ADVTXD_DCMD_DEXT (1u << 29)
#define IGB_ADVTXD_DCMD_TSE (1u << 31)
#define IGB_ADVTXD_PAYLEN_SHIFT 14
#define IGB_TXD_STAT_DD (1u << 0)

#endif
