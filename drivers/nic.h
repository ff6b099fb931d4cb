/*
 * NIC registry and the main-loop side of the NAPI contract (net/netdev.h).
 *
 * Order: the kernel calls nic_set_poll_only(conf.poll) and driver_init_all() (drivers/driver.h)
 * before pci_probe_drivers(); each probe brings its device up and calls nic_register(),
 * which names it eth0, eth1, ... in probe order. From then on a main-loop hook, for
 * every NIC, runs netdev_napi_poll() (budget NIC_BUDGET) when an interrupt marked it
 * pending or the device is poll-only, hands the frames to the deliver callback, and
 * reclaims finished transmit descriptors. Once a second it re-reads the link and the
 * hardware's clear-on-read counters (so 32-bit registers never wrap unseen).
 *
 * Shell: `nic` lists the NICs; `nic stats DEV` prints the ethtool -S style counters;
 * `nic send DEV N` transmits N broadcast test frames (ethertype NIC_TEST_ETHERTYPE);
 * `nic send DEV N csum` / `tso` sends UDP / TCP frames whose checksum (and segmentation)
 * is left to the device, for checking its transmit offloads.
 */
#ifndef SKIFF_NIC_H
#define SKIFF_NIC_H

#include <stdint.h>
#include "net/netdev.h"

#define NIC_MAX 4
#define NIC_BUDGET 64                   /* frames per NAPI poll */
/* Packet slots per NIC: RX ring (256) + TX ring (256) + a full egress queue (1000)
 * + what else the stack holds (TCP segments in flight, ARP pending), so a stalled
 * transmit path can never starve receive refills (docs/review-l2l3.md M2). */
#define NIC_POOL_SLOTS 2048
#define NIC_TEST_ETHERTYPE 0x88B5       /* IEEE 802 local experimental ethertype 1 */
/* Frame lengths the drivers accept, without FCS: an Ethernet header at least, at most
 * a 1500-byte MTU plus header and one 802.1Q tag. */
#define NIC_FRAME_MIN 14
#define NIC_FRAME_MAX 1518

/* Poll-only switch (skiff.conf poll = on): read by drivers in probe, so set it first. */
void nic_set_poll_only(int on);
int nic_poll_only(void);

/* Adds a probed device: assigns name ("ethN") and ifindex (N + 1). dev->ops, driver,
 * mac and pool must be set; the device may not raise interrupts yet. */
void nic_register(struct netdev *dev);
int nic_count(void);
struct netdev *nic_get(int i);          /* NULL when out of range */

/* Where received frames go; deliver consumes each packet. Until the stack attaches, the
 * default counts and frees them. Call from the main loop or before it starts. */
void nic_set_deliver(netdev_deliver_fn fn, void *ctx);

/* From a driver's interrupt handler: transmit completions are waiting / the link may
 * have changed. Only set flags that keep the main loop from sleeping. */
void nic_tx_event(struct netdev *dev);
void nic_link_event(struct netdev *dev);

/* A packet pool of nslots slots in DMA memory, for a driver's probe; 0 or -1. */
int nic_pool_create(struct pkt_pool *pool, uint32_t nslots);

#endif
