/*
 * Capture filters: the common subset of pcap-filter(7) (what `tcpdump EXPR` takes),
 * compiled without libpcap into a small expression tree the caller owns, and matched
 * against Ethernet frames with every read bounds-checked.
 *
 * Call order: pkt_filter_compile(f, "tcp port 80", err, sizeof err) once, then
 * pkt_filter_match(f, frame, len) per frame. No allocation, no globals.
 *
 * Accepted (pcap-filter(7) "primitives"):
 *   [ether|ip|arp|tcp|udp|icmp] [src|dst|src or dst|src and dst] [host|net|port] VALUE
 *   host A.B.C.D   net A.B.C.D/M   net A.B (short forms: the missing octets are the
 *   network part, like libpcap)   port N   ether host|src|dst MAC
 *   ip  arp  tcp  udp  icmp       (alone: the protocol)
 *   not !  and &&  or ||  ( )
 * Semantics follow libpcap, checked against tcpdump 4.99:
 *   - `not` binds tightest; `and` and `or` have EQUAL precedence and associate left to
 *     right: `a or b and c` is `(a or b) and c`.
 *   - A bare value after and/or reuses the qualifiers of the primitive before it:
 *     `port 80 or 443`, `host 10.0.0.1 or 10.0.0.2`, `port 22 and not 23`. A bare value
 *     with nothing to inherit (at the start, after `tcp`) is a syntax error.
 *   - `host`/`net` without a protocol match IPv4 source/destination and the ARP/RARP
 *     sender/target protocol addresses; `port` matches TCP, UDP and SCTP over IPv4
 *     (first fragments only) and IPv6 (next header right after the fixed header);
 *     `tcp`/`udp` also match IPv6 like libpcap. IPv6 addresses are not accepted.
 *   - Like a BPF program, a field read past the end of the frame ends the match with
 *     "no" for the whole filter, even under `not`. On such truncated captures tcpdump
 *     can differ in rare cases: its optimiser reorders loads (`host A or B` reads the
 *     source once for both), this evaluator reads in the unoptimised order. Whole
 *     frames (all Skiff ever filters) match tcpdump exactly.
 * Host names and service names are not resolved (tcpdump -n habits); they are errors.
 */
#ifndef SKIFF_NET_PKT_FILTER_H
#define SKIFF_NET_PKT_FILTER_H

#include <stddef.h>
#include <stdint.h>

#define PKT_FILTER_MAX_NODES 64
#define PKT_FILTER_MAX_DEPTH 16         /* nested parentheses and nots */
#define PKT_FILTER_ERR_LEN 96           /* an error line fits in this */

struct pf_node {
	uint8_t op;             /* PF_AND, PF_OR, PF_NOT, PF_PRIM */
	uint8_t proto;          /* PF_P_* qualifier (PF_P_ANY: none given) */
	uint8_t dir;            /* PF_D_* */
	uint8_t kind;           /* PF_K_*: what VALUE is */
	uint8_t l, r;           /* children (node indexes) */
	uint16_t port;
	uint32_t addr, mask;    /* host order; host = mask of the octets given */
	uint8_t mac[6];
};

struct pkt_filter {
	struct pf_node n[PKT_FILTER_MAX_NODES];
	uint8_t count;          /* 0: empty expression, matches every frame */
	uint8_t root;
};

/* Compiles expr (NUL-terminated; NULL or blank = match all). 0 on success; -1 with a
 * one-line message in err (e.g. "col 10: 'xyz': unknown host (names are not resolved)")
 * whose column (1-based) and quoted token point at the culprit. f is left matching
 * nothing after an error. */
int pkt_filter_compile(struct pkt_filter *f, const char *expr, char *err, size_t errcap);
/* 1 if the Ethernet frame (len bytes, starting at the destination MAC) passes. */
int pkt_filter_match(const struct pkt_filter *f, const uint8_t *frame, size_t len);

#endif
