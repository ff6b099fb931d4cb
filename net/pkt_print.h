/*
 * A packet printer in the format of `tcpdump -n -S` (tcpdump 4.99, print-ether.c,
 * print-ip.c, print-tcp.c, print-udp.c, print-icmp.c, print-arp.c, print-bootp.c):
 * one line per Ethernet frame, shared by the shell's tracer, the capture tools and the
 * fuzzer. Every read is bounded by the captured length; a header cut short prints
 * tcpdump's "[|tcp]"-style marker instead of fields.
 *
 *   HH:MM:SS.uuuuuu IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240,
 *       options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
 *   HH:MM:SS.uuuuuu ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28
 *
 * Differences from tcpdump, on purpose: sequence numbers are absolute (tcpdump -S; the
 * default relative numbering needs per-flow state), the time is the UTC time of day of
 * ts_ns, IPv6 and other EtherTypes print as tcpdump prints an unknown EtherType, DNS
 * and other application payloads are not decoded (HTTP's first line is), and -v adds
 * only the IPv4 header line, checksums and BOOTP's xid (not tcpdump's option and
 * payload detail lines).
 */
#ifndef SKIFF_NET_PKT_PRINT_H
#define SKIFF_NET_PKT_PRINT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_PRINT_ETHER 0x01    /* -e: MAC addresses, EtherType and frame length */
#define PKT_PRINT_VERBOSE 0x02  /* -v: IPv4 tos/ttl/id/offset/flags/proto/length, checksums */
#define PKT_PRINT_HEX 0x04      /* -x: hex dump of the packet after the Ethernet header */
#define PKT_PRINT_HEX_LINK 0x08 /* -xx: hex dump including the Ethernet header */

/* Formats the frame (caplen bytes captured of origlen on the wire) into buf: one line
 * ending in '\n' (two with -v for IPv4, more with -x). Always NUL-terminated when cap
 * > 0; returns the length the whole text needs (like snprintf). */
int pkt_print(char *buf, size_t cap, uint64_t ts_ns, const uint8_t *frame, size_t caplen,
	      size_t origlen, unsigned flags);

#endif
