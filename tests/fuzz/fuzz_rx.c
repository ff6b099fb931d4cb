/*
 * libFuzzer harness: the input is one received Ethernet frame (FCS stripped), handed
 * to net_input() exactly as a driver's NAPI poll would. Two stacks get every frame:
 *   A: static 10.0.0.1/24 via 10.0.0.254, neighbour 10.0.0.2 (02:..:02) REACHABLE,
 *      UDP echo socket on port 7, a ping to 10.0.0.2 running (id 0xf00d, seq 1 out);
 *   B: DHCP client in SELECTING (xid 0x5eedf00d), MAC 02:..:03;
 *   C: the same client one step on, REQUESTING 10.0.2.15 from server 10.0.2.2 (so an
 *      ACK binds it and the timers then run renewal, rebinding and expiry),
 * so every layer (Ethernet, ARP, IPv4, ICMP incl. quoted errors, UDP, DHCP) is
 * reachable from a single frame; A also runs TCP with a listener on port 80 that
 * accepts and echoes, so SYNs, handshakes and data reach tcp_input through IPv4.
 * Afterwards timers run (1 s and 61 s later), all
 * output is discarded, and the stacks are torn down: any packet not back in its pool
 * is a leak and aborts. Stacks are rebuilt per input, so every crash reproduces.
 * Seeds: tests/fuzz/corpus/rx (written by gen_rx_corpus.py).
 */
#include "tests/host_panic.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/unit/fake_netdev.h"

#define SEC NET_NS_PER_SEC


/* Constant entropy: keeps xid and ping id fixed so seeds can match them. */
static uint64_t fixed_random(void *ctx)
{
	(void)ctx;
	return 0x5eedf00d5eedf00dull;
}

static long live_allocs;

static void *fuzz_alloc(void *ctx, size_t n)
{
	(void)ctx;
	void *p = malloc(n);
	if (p)
		live_allocs++;
	return p;
}

static void fuzz_free(void *ctx, void *p)
{
	(void)ctx;
	if (p)
		live_allocs--;
	free(p);
}

static void tcp_echo(void *user, struct tcp_sock *s, unsigned ev)
{
	(void)user;
	uint8_t buf[256];
	if (ev & TCP_EV_ACCEPT) {
		struct tcp_sock *c;
		while (tcp_accept(s, &c) == 0)
			tcp_set_callback(c, tcp_echo, NULL);
		return;
	}
	long n = tcp_recv(s, buf, sizeof(buf));
	if (n > 0)
		tcp_send(s, buf, (size_t)n);
}

static struct fake_netdev fa, fb, fc;
static struct net_stack sa, sb, sc;

static void udp_echo(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	udp_send(ctx, info->dst, info->dport, info->src, info->sport, data, len);
}

static void discard(void *ctx, const char *text)
{
	(void)ctx;
	(void)text;
}

static struct pkt_pool big;     /* stack A's big buffers: super-segments, GRO */
static void *big_mem;

static void setup_a(void)
{
	struct net_config cfg = { .addr = INET_ADDR(10, 0, 0, 1), .prefix_len = 24,
				  .gateway = INET_ADDR(10, 0, 0, 254), .random = fixed_random,
				  .mem_alloc = fuzz_alloc, .mem_free = fuzz_free, .tx_big_pool = &big };
	uint8_t f[64];
	struct tcp_sock *listener;
	net_init(&sa, &cfg);
	net_attach(&sa, &fa.dev);
	net_poll(&sa, 1);
	tcp_listen(&sa.tcp, 0, 80, 0, tcp_echo, NULL, &listener);
	udp_bind(&sa.udp, 7, udp_echo, &sa.udp);
	uint8_t x = 0;
	udp_send(&sa.udp, 0, 7, INET_ADDR(10, 0, 0, 2), 7, &x, 1);     /* INCOMPLETE ... */
	size_t n = frame_arp(f, fa.dev.mac, ARP_OP_REPLY, test_mac(2), INET_ADDR(10, 0, 0, 2),
			     fa.dev.mac, INET_ADDR(10, 0, 0, 1));
	fake_netdev_rx(&fa, &sa, f, n);                             /* ... REACHABLE */
	ping_start(&sa.ping, INET_ADDR(10, 0, 0, 2), 3, 56, discard, NULL);
	fake_netdev_drop_all(&fa);
}

static void setup_b(void)
{
	struct net_config cfg = { .use_dhcp = 1, .random = fixed_random };
	strcpy(cfg.hostname, "fuzz");
	net_init(&sb, &cfg);
	net_attach(&sb, &fb.dev);
	net_poll(&sb, 1);                                           /* DISCOVER: SELECTING */
	fake_netdev_drop_all(&fb);
}

/* The OFFER that moves stack C from SELECTING to REQUESTING. */
static size_t offer_frame(uint8_t *f, const uint8_t *chaddr)
{
	uint8_t msg[400];
	struct dhcp_msg m = { .op = BOOTP_REPLY, .htype = 1, .hlen = 6, .xid = 0x5eedf00d,
			      .yiaddr = INET_ADDR(10, 0, 2, 15) };
	memcpy(m.chaddr, chaddr, 6);
	int n = dhcp_emit(&m, msg, sizeof(msg));
	static const uint8_t opts[] = { 53, 1, DHCP_OFFER, 54, 4, 10, 0, 2, 2, 255 };
	memcpy(msg + DHCP_OPTS_OFF, opts, sizeof(opts));
	return frame_udp(f, eth_broadcast, test_mac(2), INET_ADDR(10, 0, 2, 2), INET_BCAST, 67, 68,
			 msg, (size_t)n);
}

static void setup_c(void)
{
	uint8_t f[600];
	struct net_config cfg = { .use_dhcp = 1, .random = fixed_random };
	net_init(&sc, &cfg);
	net_attach(&sc, &fc.dev);
	net_poll(&sc, 1);
	fake_netdev_rx(&fc, &sc, f, offer_frame(f, fc.dev.mac));
	fake_netdev_drop_all(&fc);
}

/* Stack A takes the frame twice in one receive burst (net_input_burst, as the kernel's
 * NAPI path does), so TCP coalescing (net/gro.c) holds, compares and flushes it. */
static void rx_burst(struct fake_netdev *f, struct net_stack *s, const uint8_t *data, size_t size)
{
	for (int i = 0; i < 2; i++) {
		struct pkt *p = pkt_alloc(&f->pool);
		if (!p)
			break;
		memcpy(pkt_put(p, size), data, size);
		net_input_burst(s, &f->dev, p);
	}
	net_input_flush(s);
}

static void run(struct fake_netdev *f, struct net_stack *s, const uint8_t *data, size_t size)
{
	if (s == &sa)
		rx_burst(f, s, data, size);
	else
		fake_netdev_rx(f, s, data, size);
	/* Timers: ARP retries and ageing, DHCP retransmission, T1, T2, expiry. */
	static const uint64_t steps[] = { 1, 1, 5, 61, 1800, 1400, 500 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		net_poll(s, s->core.now_ns + steps[i] * SEC);
	fake_netdev_drop_all(f);
	net_fini(s);
	if (live_allocs) {
		fprintf(stderr, "TCP memory leak: %ld allocations live\n", live_allocs);
		abort();
	}
	if (f->pool.stats.free != f->pool.stats.slots || big.stats.free != big.stats.slots) {
		fprintf(stderr, "packet leak: %u of %u slots free\n", f->pool.stats.free,
			f->pool.stats.slots);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fake_netdev_init(&fa, "eth0", 1, 64);
		fake_netdev_init(&fb, "eth0", 3, 64);
		fake_netdev_init(&fc, "eth0", 4, 64);
		big_mem = aligned_alloc(64, 4 * pkt_slot_size(NET_TX_BIG_BUF));
		pkt_pool_init_sized(&big, big_mem, 0, 4, NET_TX_BIG_BUF);
		ready = 1;
	}
	if (size > PKT_BUF_SIZE)
		return 0;       /* a driver never delivers more than one buffer */
	setup_a();
	run(&fa, &sa, data, size);
	setup_b();
	run(&fb, &sb, data, size);
	setup_c();
	run(&fc, &sc, data, size);
	return 0;
}
