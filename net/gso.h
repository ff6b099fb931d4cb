/*
 * Software transmit offloads, for devices without them (link_output calls these when
 * dev->features lacks NETDEV_F_TX_CSUM / NETDEV_F_TSO4): the L4 checksum of a
 * PKT_F_CSUM_PARTIAL frame, and the segmentation of a PKT_F_GSO_TCP4 frame into wire
 * frames. Byte-level only: no state, no protocol logic beyond rewriting headers.
 */
#ifndef SKIFF_NET_GSO_H
#define SKIFF_NET_GSO_H

#include "net/pkt.h"

/* Completes p's partial checksum in place; 0, or -NET_EINVAL if csum_start/csum_off
 * do not lie inside p's data. */
int gso_csum_help(struct pkt *p);

typedef struct pkt *(*gso_alloc_fn)(void *ctx);
typedef void (*gso_out_fn)(void *ctx, struct pkt *seg);

/* Cuts p (data = Ethernet + IPv4 + TCP frame, PKT_F_GSO_TCP4, gso_size set) into frames
 * of at most max_frame bytes (gso_size payload, less if that would not fit): IP length,
 * ID (+1 each) and checksum; TCP sequence, FIN/PSH on the last only, CWR on the first
 * only; the TCP checksum complete, or left partial (PKT_F_CSUM_PARTIAL) when partial !=
 * 0. The payload ends where the IP total length says (not the frame: padding is no
 * one's). Each segment goes to out(). Returns the number of segments, p freed; or
 * -NET_EINVAL (headers it cannot cut, p untouched) or -NET_ENOBUFS (p untouched;
 * segments already out stay out): the caller drops p, counted. */
int gso_segment(struct pkt *p, uint32_t max_frame, int partial, gso_alloc_fn alloc,
		gso_out_fn out, void *ctx);
/* The Ethernet + IP + TCP header length of a GSO frame, or -NET_EINVAL. */
int gso_hdr_len(const struct pkt *p);

#endif
