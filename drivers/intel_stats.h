/*
 * What the Intel gigabit drivers (e1000.c: 8254x/8257x/PCH; igb.c: 82576/I350/I210)
 * count alike: the statistics registers, which sit at the same offsets in every one of
 * these families (8254x SDM §13.7, 82574 §10.2.5, 82576 §8.19), and the driver's own
 * counters. Clear-on-read registers are accumulated into 64-bit sums by the drivers.
 */
#ifndef SKIFF_INTEL_STATS_H
#define SKIFF_INTEL_STATS_H

#include <stdint.h>

enum {
	HW_CRCERRS, HW_ALGNERRC, HW_RXERRC, HW_MPC, HW_RLEC, HW_RUC, HW_ROC, HW_RNBC,
	HW_GPRC, HW_BPRC, HW_MPRC, HW_GORC, HW_GPTC, HW_BPTC, HW_MPTC, HW_GOTC, HW_COLC,
	HW_DC, HW_COUNTERS
};

struct intel_hw_counter {
	uint32_t reg;
	uint32_t reg_hi;        /* 64-bit counters: read after reg, and clears both */
	const char *name;       /* ethtool -S name where e1000 has one */
};

extern const struct intel_hw_counter intel_hw_counters[HW_COUNTERS];

/* What the drivers count themselves. */
struct intel_sw_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_frame_errors;       /* descriptor error bits set */
	uint64_t rx_multi_desc;         /* frame spanning descriptors (EOP missing) */
	uint64_t rx_bad_length;
	uint64_t rx_alloc_failed;       /* pool empty: frame dropped, buffer reused */
	uint64_t tx_length_errors;
	uint64_t tx_ring_full;
	uint64_t tx_offload, tx_tso;    /* frames sent with a context descriptor; of them TSO */
	uint64_t rx_csum_ok, rx_csum_err;       /* hardware verified the L4 checksum; found it bad */
	uint64_t irq_tx, irq_other;
	uint64_t irq_not_ours;          /* e1000: shared INTx line raised by another function */
	uint64_t phy_errors;            /* igb: MDIC timed out or reported an error */
};

#endif
