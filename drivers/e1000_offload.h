/*
 * Transmit offload parameters for the Intel gigabit families (e1000, e1000e, igb): what
 * a TCP/IP context descriptor needs, read from a PKT_F_CSUM_PARTIAL / PKT_F_GSO_TCP4
 * frame, and the header fix-ups TSO wants before the hardware copies the header.
 * Hardware-free (byte offsets only, no register), so the host unit tests check it.
 *
 *   e1000_offload_parse(p, &o)     what the frame asks for; 0 = nothing, 1 = offload
 *   e1000_offload_prepare(p, &o)   TSO only: IP checksum 0, TCP checksum = pseudo
 *                                  header sum without the length (8254x SDM §3.5,
 *                                  82574 §7.3, 82576 §7.2.4: the hardware adds each
 *                                  segment's length)
 *   e1000_ctx_legacy(&o, &ctx)     8254x SDM §3.3.6 / 82574 §7.2 TCP/IP context
 *   e1000_ctx_adv(&o, &ctx)        82576 §7.2.2 advanced context descriptor
 */
#ifndef SKIFF_E1000_OFFLOAD_H
#define SKIFF_E1000_OFFLOAD_H

#include <stdint.h>
#include "net/pkt.h"

#define E1000_TSO_MAX 65535u            /* frame bytes: the IPv4 total length bound */
#define E1000_TX_CHUNK 4096u            /* bytes per data descriptor (Linux: 82544 erratum) */

struct e1000_tx_offload {
	uint16_t ipcss;         /* IP header start, from the frame start */
	uint16_t ipcse;         /* last byte of the IP header (inclusive) */
	uint16_t tucss;         /* L4 header start */
	uint16_t tucso;         /* L4 checksum field */
	uint16_t hdrlen;        /* TSO: Ethernet + IP + TCP header bytes */
	uint16_t mss;           /* TSO: payload bytes per segment */
	uint32_t paylen;        /* TSO: bytes after the header; else the frame length */
	uint8_t tcp;            /* L4 is TCP (else UDP) */
	uint8_t tso;
};

/* Fills o for p; returns 1 when p asks for an offload, 0 when it does not, and -1 when
 * its offload fields do not describe an IPv4 TCP/UDP frame inside p (the caller drops
 * and counts it). Only reads p. */
int e1000_offload_parse(const struct pkt *p, struct e1000_tx_offload *o);

/* Data and context descriptors p needs (a context descriptor when it asks for an
 * offload, one data descriptor per E1000_TX_CHUNK), with o filled; 0 when p is malformed
 * or its length is outside [frame_min, frame_max] (E1000_TSO_MAX for TSO): the caller
 * drops it. */
int e1000_offload_descs(const struct pkt *p, struct e1000_tx_offload *o, uint32_t frame_min,
			uint32_t frame_max);

/* For a TSO frame that parsed: rewrites the IP and TCP checksum fields as above. */
void e1000_offload_prepare(struct pkt *p, const struct e1000_tx_offload *o);

/* Legacy TCP/IP context descriptor (8254x SDM §3.3.6, 82574 §7.2). */
struct e1000_ctx_desc {
	uint8_t ipcss;
	uint8_t ipcso;
	uint16_t ipcse;
	uint8_t tucss;
	uint8_t tucso;
	uint16_t tucse;         /* 0: to the end of the frame */
	uint32_t cmd_and_length;        /* PAYLEN 19:0, DTYP 23:20 (0), TUCMD 31:24 */
	uint8_t status;
	uint8_t hdrlen;
	uint16_t mss;
};
_Static_assert(sizeof(struct e1000_ctx_desc) == 16, "context descriptor is 16 bytes");

/* TUCMD and the extended data descriptor's DCMD share bit positions 24-31. */
#define E1000_TXD_CMD_TCP (1u << 24)    /* context: L4 is TCP */
#define E1000_TXD_CMD_IP (1u << 25)     /* context: IPv4 */
#define E1000_TXD_CMD_TSE (1u << 26)
#define E1000_TXD_CMD_DEXT (1u << 29)
#define E1000_TXD_DTYP_D (1u << 20)     /* extended data descriptor */
#define E1000_TXD_POPTS_IXSM 0x01u      /* insert the IP checksum */
#define E1000_TXD_POPTS_TXSM 0x02u      /* insert the TCP/UDP checksum */

void e1000_ctx_legacy(const struct e1000_tx_offload *o, struct e1000_ctx_desc *c);

/* Advanced context descriptor (82576 §7.2.2). */
struct igb_ctx_desc {
	uint32_t vlan_macip_lens;       /* IPLEN 8:0, MACLEN 15:9, VLAN 31:16 */
	uint32_t seqnum_seed;
	uint32_t type_tucmd_mlhl;       /* TUCMD 19:9, DTYP 23:20, DEXT 29 */
	uint32_t mss_l4len_idx;         /* IDX 6:4, L4LEN 15:8, MSS 31:16 */
};
_Static_assert(sizeof(struct igb_ctx_desc) == 16, "advanced context descriptor is 16 bytes");

#define IGB_ADVTXD_MACLEN_SHIFT 9
#define IGB_ADVTXD_TUCMD_IPV4 (1u << 10)
#define IGB_ADVTXD_TUCMD_L4T_TCP (1u << 11)
#define IGB_ADVTXD_DTYP_CTXT (2u << 20)
#define IGB_ADVTXD_DEXT (1u << 29)
#define IGB_ADVTXD_L4LEN_SHIFT 8
#define IGB_ADVTXD_MSS_SHIFT 16
#define IGB_ADVTXD_POPTS_IXSM (1u << 8)  /* olinfo_status */
#define IGB_ADVTXD_POPTS_TXSM (1u << 9)

void e1000_ctx_adv(const struct e1000_tx_offload *o, struct igb_ctx_desc *c);

#endif
