/*
 * Test doubles for the network stack tests: a netdev whose "wire" is a packet queue,
 * with a TX ring of configurable size (to fill it on purpose), a stack harness with a
 * deterministic random source, a log and shell-output capture, and frame builders and
 * decoders built on the wire modules (the wire modules themselves are checked against
 * golden bytes in test_net_wire.c).
 */
#ifndef SKIFF_TEST_FAKE_NETDEV_H
#define SKIFF_TEST_FAKE_NETDEV_H

#include <stddef.h>
#include <stdint.h>
#include "net/stack.h"
#include "net/eth.h"
#include "net/arp_wire.h"
#include "net/ipv4_wire.h"
#include "net/icmp_wire.h"
#include "net/udp_wire.h"
#include "net/dhcp_wire.h"

struct fake_netdev {
	struct netdev dev;
	struct pkt_pool pool;
	void *mem;
	struct pkt_queue wire;  /* frames the stack transmitted, oldest first */
	int ring_size;          /* TX ring slots; 0 = unlimited */
	int in_flight;          /* taken by tx_burst, not yet completed */
	int reclaim_lies;       /* tx_reclaim reports room the ring does not have */
	int link;
	uint16_t rx_flags;      /* set on every received packet (PKT_F_CSUM_OK: "verified") */
	uint64_t tx_calls, reclaim_calls;
	struct netdev_stats stats;
};

void fake_netdev_init(struct fake_netdev *f, const char *name, uint8_t mac_last, uint32_t nslots);
/* Frees the pool memory; returns the number of packets not back in the pool. */
int fake_netdev_destroy(struct fake_netdev *f);
/* Next transmitted frame (the caller owns it), or NULL. */
struct pkt *fake_netdev_pop(struct fake_netdev *f);
void fake_netdev_drop_all(struct fake_netdev *f);
/* The NIC finished sending n frames (frees ring slots). */
void fake_netdev_complete(struct fake_netdev *f, int n);
/* The next frame sent, copied to buf (cap bytes; a longer frame aborts) and completed;
 * its length, 0 if none. */
size_t fake_netdev_pop_copy(struct fake_netdev *f, uint8_t *buf, size_t cap);
/* Copies a frame into an RX packet and hands it to net_input(). */
void fake_netdev_rx(struct fake_netdev *f, struct net_stack *s, const void *frame, size_t len);
/* The same with the driver's receive timestamp set to ts_ns. */
void fake_netdev_rx_at(struct fake_netdev *f, struct net_stack *s, const void *frame, size_t len,
		       uint64_t ts_ns);

/* ---- a stack with one fake device ------------------------------------------------ */

#define TN_REASM_SLOTS IPV4_REASM_MAX
#define TN_TXBIG_SLOTS 8

struct test_net {
	struct net_stack s;
	struct fake_netdev f;
	struct pkt_pool reasm;  /* reassembly buffers (net_config.reasm_pool) */
	void *reasm_mem;
	struct pkt_pool txbig;  /* TCP super-segments (net_config.tx_big_pool) */
	void *txbig_mem;
	uint64_t rng;
	char log[8192];
	size_t log_len;
	char out[16384];
	size_t out_len;
};

/* addr 0: no static address (use_dhcp as given). mac_last is the MAC's last byte. */
void tn_init(struct test_net *t, uint8_t mac_last, const char *cidr, const char *gw, int use_dhcp);
/* tn_init with TCP on (malloc behind it), static, no gateway. */
void tn_init_tcp(struct test_net *t, uint8_t mac_last, const char *cidr);
/* The common fixture: 10.0.0.1/24 (MAC ...:01), gateway 10.0.0.254, static, no TCP, with
 * the peer 10.0.0.2 (MAC ...:02) already in the neighbour table and the wire empty. */
void tn_init_peer(struct test_net *t);
/* net_fini + leak check; returns leaked packet count. */
int tn_fini(struct test_net *t);
void tn_advance(struct test_net *t, uint64_t ns);      /* net_poll at now + ns */
/* Fails the test if core.wake_ns is later than a floor's next deadline (tn_advance
 * checks it before every poll). */
void tn_check_wake(struct test_net *t);
int tn_cmd(struct test_net *t, const char *line);       /* net_cmd, output into t->out */
void tn_clear(struct test_net *t);                      /* empties out/log */
void tn_out(void *ctx, const char *text);
/* 1 if the captured shell output equals expect; otherwise prints both and returns 0.
 * tn_out_has: the same for a substring. Use inside CHECK(). */
int tn_out_is(const struct test_net *t, const char *expect);
int tn_out_has(const struct test_net *t, const char *needle);
int tn_log_has(const struct test_net *t, const char *needle);

/* Moves frames between two stacks until both wires are empty; returns frames moved. */
int tn_pump(struct test_net *a, struct test_net *b);

uint32_t ip(const char *dotted);
const uint8_t *test_mac(uint8_t last);  /* 02:00:00:00:00:last */

/* ---- frames ---------------------------------------------------------------------- */

/* Builds Ethernet + IPv4 (+ payload already laid out as the L4 bytes) into buf. */
size_t frame_ipv4(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		  uint32_t dst, uint8_t proto, const void *l4, size_t l4len);
size_t frame_udp(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		 uint32_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len);
size_t frame_icmp_echo(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
		       uint32_t dst, uint8_t type, uint16_t id, uint16_t seq, size_t datalen);
size_t frame_arp(uint8_t *buf, const uint8_t *dmac, uint16_t op, const uint8_t *sha,
		 uint32_t spa, const uint8_t *tha, uint32_t tpa);

/* A transmitted frame, decoded with the wire modules' checks (ok = all checks passed). */
struct frame {
	int ok;
	struct eth_hdr eth;
	int is_arp, is_ip, is_icmp, is_udp;
	struct arp_pkt arp;
	struct ipv4_hdr ip;
	struct icmp_hdr icmp;
	struct udp_hdr udp;
	const uint8_t *l4;      /* transport payload (after the ICMP/UDP header) */
	size_t l4len;
	const uint8_t *ipdata;  /* IP payload */
	size_t iplen;
};
int frame_decode(struct pkt *p, struct frame *fr);
/* Pops and decodes the next frame t transmitted; its bytes are copied to buf (at least
 * 2048 bytes; fr's payload views point there) and the packet goes back to the pool.
 * Returns 1 if there was a frame and it decoded cleanly. */
int tn_next(struct test_net *t, struct frame *fr, uint8_t *buf);

#endif
