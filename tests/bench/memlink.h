/*
 * An in-memory NIC pair for host benchmarks and tests: what one side's tx_burst() takes
 * lands in the other side's receive ring, and that side's rx_burst() (driven by the
 * stack's own netdev_napi_poll(), as the kernel loop does) hands it to net_input().
 *
 * Like a NIC, it moves frames, not bytes: the packet the sender built is the packet the
 * receiver gets (ownership passes with it, and pkt_free() returns it to the sender's
 * pool), so there is no copy at all where a real NIC would DMA once. Transmit
 * "completes" at once: the ring is the wire.
 *
 * Checksum offload (csum_offload = 1) does what a device with RX checksum offload does:
 * received frames carry PKT_F_CSUM_OK. TX checksum offload (NETDEV_F_TX_CSUM in
 * dev.features, set before the stack attaches) does what a device with TX checksum
 * offload does: tx_burst() completes each PKT_F_CSUM_PARTIAL checksum
 * (memnic_tx_csum(), the device's work: net_bench's callgrind runs leave it out of the
 * count, as it leaves out its own verifier), so the frame on the "wire" is correct.
 */
#ifndef SKIFF_TESTS_BENCH_MEMLINK_H
#define SKIFF_TESTS_BENCH_MEMLINK_H

#include <stdint.h>
#include "net/netdev.h"

#define MEMNIC_RING 4096        /* frames in flight per direction; a power of two */

struct memnic {
	struct netdev dev;
	struct pkt_pool pool;   /* this side's transmit (and nominal receive) buffers */
	void *mem;
	struct memnic *peer;
	struct pkt *ring[MEMNIC_RING];  /* frames the peer sent us, oldest at head */
	uint32_t head;          /* next_to_clean: the next frame rx_burst() hands up */
	uint32_t tail;          /* next_to_use: where the peer's tx_burst() puts the next one */
	const uint64_t *clock;  /* receive timestamps, as drivers stamp them; may be NULL */
	int csum_offload;       /* mark received frames PKT_F_CSUM_OK */
	uint64_t tx_csum_done;  /* partial checksums completed (NETDEV_F_TX_CSUM) */
	struct netdev_stats stats;
};

/* nslots packet buffers for this side; mac 02:00:00:00:00:mac_last. 0 or -1 (no memory). */
int memnic_init(struct memnic *m, const char *name, uint8_t mac_last, uint32_t nslots,
		const uint64_t *clock);
/* The device's transmit checksum: completes p's PKT_F_CSUM_PARTIAL checksum (a frame
 * whose offsets are wrong is sent as it is: the receiver's check drops it). */
void memnic_tx_csum(struct memnic *m, struct pkt *p);
void memnic_connect(struct memnic *a, struct memnic *b);
/* Frames waiting in m's receive ring. */
static inline uint32_t memnic_pending(const struct memnic *m)
{
	return m->tail - m->head;
}
/* After the stacks on both sides were torn down: frees frames still in either ring,
 * then both pools' memory; returns packets not back in their pools (leaks). */
int memnic_destroy_pair(struct memnic *a, struct memnic *b);

#endif
