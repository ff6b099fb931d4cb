/* The statistics registers the Intel gigabit drivers share (intel_stats.h). */
#include "drivers/intel_stats.h"
#include "drivers/e1000_regs.h"

const struct intel_hw_counter intel_hw_counters[HW_COUNTERS] = {
	[HW_CRCERRS] = { E1000_CRCERRS, 0, "rx_crc_errors" },
	[HW_ALGNERRC] = { E1000_ALGNERRC, 0, "rx_align_errors" },
	[HW_RXERRC] = { E1000_RXERRC, 0, "rx_phy_errors" },
	[HW_MPC] = { E1000_MPC, 0, "rx_missed_errors" },
	[HW_RLEC] = { E1000_RLEC, 0, "rx_length_errors" },
	[HW_RUC] = { E1000_RUC, 0, "rx_short_length_errors" },
	[HW_ROC] = { E1000_ROC, 0, "rx_long_length_errors" },
	[HW_RNBC] = { E1000_RNBC, 0, "rx_no_buffer_count" },
	[HW_GPRC] = { E1000_GPRC, 0, "rx_hw_packets" },
	[HW_BPRC] = { E1000_BPRC, 0, "rx_broadcast" },
	[HW_MPRC] = { E1000_MPRC, 0, "rx_multicast" },
	[HW_GORC] = { E1000_GORCL, E1000_GORCH, "rx_hw_bytes" },
	[HW_GPTC] = { E1000_GPTC, 0, "tx_hw_packets" },
	[HW_BPTC] = { E1000_BPTC, 0, "tx_broadcast" },
	[HW_MPTC] = { E1000_MPTC, 0, "tx_multicast" },
	[HW_GOTC] = { E1000_GOTCL, E1000_GOTCH, "tx_hw_bytes" },
	[HW_COLC] = { E1000_COLC, 0, "collisions" },
	[HW_DC] = { E1000_DC, 0, "tx_deferred_ok" },
};
