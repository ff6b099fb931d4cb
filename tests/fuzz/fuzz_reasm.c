/*
 * libFuzzer over IPv4 reassembly (net/ipv4_frag.c): the input is a script of fragments
 * (which datagram, offset, length, MF, protocol, source) and clock steps, played into a
 * whole stack. Every fragment carries bytes that are a function of (datagram, offset),
 * so the oracle is exact: whatever reaches the UDP socket must be one datagram's bytes in
 * order, of the length its last piece said. After the script, every buffer (receive
 * pool and reassembly pool) must be back.
 *
 *   record (6 bytes): op, sel, off_hi, off_lo, len_hi, len_lo
 *     op & 0x80: advance the clock by (sel * 250 ms) instead of sending
 *     op & 1: MF; op & 2: protocol ICMP instead of UDP; op & 4: another source
 *     sel & 7: which of 8 datagram ids
 */
#include "tests/host_panic.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/unit/fake_netdev.h"

#define SEC NET_NS_PER_SEC

static struct fake_netdev fd;
static struct net_stack st;
static struct pkt_pool reasm;
static void *reasm_mem;


static uint8_t pattern(uint16_t id, uint32_t k)
{
	return (uint8_t)((k * 7) ^ id ^ (k >> 8));
}

static uint64_t fixed_random(void *ctx)
{
	(void)ctx;
	return 0x123456789abcdefull;
}

/* The oracle: a delivered datagram is pattern bytes after its 8-byte UDP header. */
static void on_udp(void *ctx, const struct udp_rx_info *info, const uint8_t *data, size_t len)
{
	(void)ctx;
	uint16_t id = (uint16_t)(info->sport - 1000);
	for (size_t i = 0; i < len; i++) {
		if (data[i] != pattern(id, (uint32_t)(i + UDP_HDR_LEN))) {
			fprintf(stderr, "reassembly mixed bytes: datagram %u byte %zu\n", id, i);
			abort();
		}
	}
}

/* A fragment of datagram id: UDP header (sport 1000 + id, no checksum, length as if
 * the datagram ended at off + len) where it falls in the piece, pattern bytes after. */
static void send_piece(uint16_t id, uint32_t off, uint32_t len, int mf, int icmp, int other)
{
	static uint8_t f[2048];
	if (len > 1480)
		len = 1480;
	memcpy(f, fd.dev.mac, 6);
	memcpy(f + 6, test_mac(2), 6);
	f[12] = 0x08;
	f[13] = 0x00;
	uint32_t src = other ? INET_ADDR(10, 0, 0, 3) : INET_ADDR(10, 0, 0, 2);
	struct ipv4_hdr h = { .tot_len = (uint16_t)(IPV4_HDR_MIN + len), .id = id, .ttl = 64,
			      .frag = (uint16_t)((off / 8) | (mf ? IPV4_MF : 0)),
			      .proto = icmp ? IPV4_PROTO_ICMP : IPV4_PROTO_UDP, .src = src,
			      .dst = INET_ADDR(10, 0, 0, 1) };
	ipv4_emit(&h, f + ETH_HLEN);
	uint8_t *d = f + ETH_HLEN + IPV4_HDR_MIN;
	for (uint32_t i = 0; i < len; i++)
		d[i] = pattern(id, off + i);
	if (off == 0 && len >= UDP_HDR_LEN && !icmp) {
		wire_put16(d, (uint16_t)(1000 + id));
		wire_put16(d + 2, 9);
		wire_put16(d + 4, (uint16_t)(off + len));
		wire_put16(d + 6, 0);
	}
	fake_netdev_rx(&fd, &st, f, ETH_HLEN + IPV4_HDR_MIN + len);
}

static void setup(void)
{
	struct net_config cfg = { .addr = INET_ADDR(10, 0, 0, 1), .prefix_len = 24,
				  .random = fixed_random, .reasm_pool = &reasm };
	pkt_pool_init_sized(&reasm, reasm_mem, 0x40000000, 4, IPV4_REASM_BUF);
	net_init(&st, &cfg);
	net_attach(&st, &fd.dev);
	net_poll(&st, 1);
	udp_bind(&st.udp, 9, on_udp, NULL);
	fake_netdev_drop_all(&fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!reasm_mem) {
		fake_netdev_init(&fd, "eth0", 1, 256);
		reasm_mem = aligned_alloc(64, 4 * pkt_slot_size(IPV4_REASM_BUF));
	}
	setup();
	for (size_t i = 0; i + 6 <= size; i += 6) {
		const uint8_t *r = data + i;
		if (r[0] & 0x80) {
			net_poll(&st, st.core.now_ns + (uint64_t)r[1] * 250 * NET_NS_PER_MS);
		} else {
			uint32_t off = ((uint32_t)r[2] << 8 | r[3]) * 8 % 65536;
			uint32_t len = (uint32_t)r[4] << 8 | r[5];
			send_piece((uint16_t)(r[1] & 7), off, len, r[0] & 1, r[0] & 2, r[0] & 4);
		}
		fake_netdev_drop_all(&fd);
	}
	net_poll(&st, st.core.now_ns + 31 * SEC);
	fake_netdev_drop_all(&fd);
	net_fini(&st);
	if (fd.pool.stats.free != fd.pool.stats.slots || reasm.stats.free != reasm.stats.slots) {
		fprintf(stderr, "leak: rx %u/%u reasm %u/%u free\n", fd.pool.stats.free,
			fd.pool.stats.slots, reasm.stats.free, reasm.stats.slots);
		abort();
	}
	return 0;
}
