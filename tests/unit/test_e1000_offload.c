/*
 * drivers/e1000_offload.c: the context descriptors the e1000/e1000e/igb drivers write for
 * PKT_F_CSUM_PARTIAL and PKT_F_GSO_TCP4 frames (built by drivers/nic_test.c, the frames
 * `nic send DEV N csum|tso` puts on the wire), and a software model of the 8254x
 * TCP segmentation engine (SDM §3.5, the steps QEMU's e1000 performs) run over those
 * descriptors: every segment it cuts must carry correct IP and TCP checksums as an
 * independent receiver computes them. Malformed offload requests are refused.
 */
#include "tests/unit/test.h"
#include "drivers/e1000_offload.h"
#include "drivers/nic_test.h"
#include <stdlib.h>
#include <string.h>

#define BUF 65536
#define SLOTS 2
#define TSO_PAYLOAD 20000
static const uint8_t MAC[6] = { 0x02, 0, 0, 0, 0, 0x42 };

static struct pkt_pool pool;
static void *pool_mem;

static struct pkt *frame(enum nic_test_kind kind, uint32_t seq, uint32_t payload)
{
	if (!pool_mem) {
		pool_mem = calloc(SLOTS, pkt_slot_size(BUF));
		pkt_pool_init_sized(&pool, pool_mem, 0x100000, SLOTS, BUF);
	}
	struct pkt *p = pkt_alloc(&pool);
	if (p && nic_test_frame(p, MAC, kind, seq, payload) < 0) {
		pkt_free(p);
		return NULL;
	}
	return p;
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void set16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint32_t sum(uint32_t s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(b + i);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A receiver's check of one IPv4 TCP/UDP frame: both checksums verify. */
static int frame_csums_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4, tot = get16(ip + 2);
	if (tot + 14 != len || fold(sum(0, ip, ihl)) != 0xffff)
		return 0;
	uint32_t ps = sum(0, ip + 12, 8) + ip[9] + (uint32_t)(tot - ihl);
	return fold(sum(ps, ip + ihl, tot - ihl)) == 0xffff;
}

TEST(e1000_offload_no_flags_no_context)
{
	struct pkt *p = frame(NIC_TEST_UDP, 1, 100);
	REQUIRE(p);
	p->flags &= (uint16_t)~PKT_F_CSUM_PARTIAL;
	struct e1000_tx_offload o;
	CHECK_EQ(e1000_offload_parse(p, &o), 0);
	CHECK_EQ(o.tucss, 0);
	pkt_free(p);
}

TEST(e1000_offload_udp_csum_context)
{
	struct pkt *p = frame(NIC_TEST_UDP, 2, 200);
	REQUIRE(p);
	struct e1000_tx_offload o;
	REQUIRE(e1000_offload_parse(p, &o) == 1);
	CHECK_EQ(o.ipcss, 14);
	CHECK_EQ(o.ipcse, 33);
	CHECK_EQ(o.tucss, 34);
	CHECK_EQ(o.tucso, 40);
	CHECK_EQ(o.tcp, 0);
	CHECK_EQ(o.tso, 0);
	struct e1000_ctx_desc c;
	e1000_ctx_legacy(&o, &c);
	CHECK_EQ(c.ipcss, 14);
	CHECK_EQ(c.ipcso, 24);
	CHECK_EQ(c.ipcse, 33);
	CHECK_EQ(c.tucss, 34);
	CHECK_EQ(c.tucso, 40);
	CHECK_EQ(c.tucse, 0);
	CHECK_EQ(c.cmd_and_length, E1000_TXD_CMD_DEXT | E1000_TXD_CMD_IP);
	struct igb_ctx_desc a;
	e1000_ctx_adv(&o, &a);
	CHECK_EQ(a.vlan_macip_lens, 14u << 9 | 20u);
	CHECK_EQ(a.type_tucmd_mlhl, IGB_ADVTXD_DEXT | IGB_ADVTXD_DTYP_CTXT | IGB_ADVTXD_TUCMD_IPV4);
	CHECK_EQ(a.mss_l4len_idx, 0);
	/* What the hardware does with TXSM: sum from TUCSS to the end into TUCSO. */
	uint8_t *f = pkt_data(p);
	set16(f + o.tucso, (uint16_t)~fold(sum(0, f + o.tucss, p->len - o.tucss)));
	CHECK(frame_csums_ok(f, p->len));
	pkt_free(p);
}

TEST(e1000_offload_tcp_csum_context)
{
	struct pkt *p = frame(NIC_TEST_TCP, 3, 300);
	REQUIRE(p);
	struct e1000_tx_offload o;
	REQUIRE(e1000_offload_parse(p, &o) == 1);
	CHECK_EQ(o.tucso, 34 + 16);
	CHECK_EQ(o.tcp, 1);
	CHECK_EQ(o.tso, 0);
	CHECK_EQ(o.paylen, p->len);
	struct e1000_ctx_desc c;
	e1000_ctx_legacy(&o, &c);
	CHECK_EQ(c.cmd_and_length, E1000_TXD_CMD_DEXT | E1000_TXD_CMD_IP | E1000_TXD_CMD_TCP);
	struct igb_ctx_desc a;
	e1000_ctx_adv(&o, &a);
	CHECK(a.type_tucmd_mlhl & IGB_ADVTXD_TUCMD_L4T_TCP);
	pkt_free(p);
}

TEST(e1000_offload_tso_context_and_header)
{
	struct pkt *p = frame(NIC_TEST_TCP, 4, TSO_PAYLOAD);
	REQUIRE(p);
	struct e1000_tx_offload o;
	REQUIRE(e1000_offload_parse(p, &o) == 1);
	CHECK_EQ(o.tso, 1);
	CHECK_EQ(o.hdrlen, 54);
	CHECK_EQ(o.mss, NIC_TEST_MSS);
	CHECK_EQ(o.paylen, TSO_PAYLOAD);
	e1000_offload_prepare(p, &o);
	uint8_t *f = pkt_data(p);
	CHECK_EQ(get16(f + 24), 0);     /* IP checksum left to IXSM */
	/* Pseudo header without the length: 192.0.2.1, 255.255.255.255, protocol 6. */
	CHECK_EQ(get16(f + o.tucso), fold(0xC000 + 0x0201 + 0xFFFF + 0xFFFF + 6));
	struct e1000_ctx_desc c;
	e1000_ctx_legacy(&o, &c);
	CHECK_EQ(c.cmd_and_length, E1000_TXD_CMD_DEXT | E1000_TXD_CMD_IP | E1000_TXD_CMD_TCP |
				   E1000_TXD_CMD_TSE | TSO_PAYLOAD);
	CHECK_EQ(c.hdrlen, 54);
	CHECK_EQ(c.mss, NIC_TEST_MSS);
	struct igb_ctx_desc a;
	e1000_ctx_adv(&o, &a);
	CHECK_EQ(a.mss_l4len_idx, (uint32_t)NIC_TEST_MSS << 16 | 20u << 8);
	pkt_free(p);
}

/* The 8254x segmentation engine as SDM §3.5 describes it, driven only by the context
 * descriptor: header copied per segment; IP total length, identification (+1 each)
 * and checksum (IXSM over IPCSS..IPCSE); TCP sequence (+MSS each), PSH/FIN only on the
 * last; the TCP checksum field plus the segment's TCP length, then TXSM over TUCSS to
 * the end. Returns the segment count; each segment is checked as a receiver would. */
static int tso_model(const uint8_t *f, const struct e1000_ctx_desc *c, uint8_t *out)
{
	uint32_t paylen = c->cmd_and_length & 0xFFFFF, hdr = c->hdrlen, n = 0;
	for (uint32_t off = 0; off < paylen; off += c->mss, n++) {
		uint32_t seg = paylen - off < c->mss ? paylen - off : c->mss;
		memcpy(out, f, hdr);
		memcpy(out + hdr, f + hdr + off, seg);
		uint8_t *ip = out + c->ipcss, *tcp = out + c->tucss;
		set16(ip + 2, hdr - c->ipcss + seg);
		set16(ip + 4, get16(ip + 4) + n);
		set16(out + c->ipcso, 0);
		set16(out + c->ipcso, (uint16_t)~fold(sum(0, ip, c->ipcse - c->ipcss + 1u)));
		uint32_t s = ((uint32_t)get16(tcp + 4) << 16 | get16(tcp + 6)) + off;
		set16(tcp + 4, s >> 16);
		set16(tcp + 6, s);
		if (off + seg < paylen)
			tcp[13] &= (uint8_t)~0x09;
		set16(out + c->tucso, fold(get16(out + c->tucso) + hdr - c->tucss + seg));
		set16(out + c->tucso, (uint16_t)~fold(sum(0, tcp, hdr - c->tucss + seg)));
		if (!frame_csums_ok(out, hdr + seg))
			return -1;
		if (memcmp(out + hdr, f + hdr + off, seg) != 0 || get16(ip + 4) != 5 + n)
			return -1;
	}
	return (int)n;
}

TEST(e1000_offload_tso_model_segments_with_good_checksums)
{
	struct pkt *p = frame(NIC_TEST_TCP, 5, TSO_PAYLOAD);
	REQUIRE(p);
	struct e1000_tx_offload o;
	REQUIRE(e1000_offload_parse(p, &o) == 1);
	e1000_offload_prepare(p, &o);
	struct e1000_ctx_desc c;
	e1000_ctx_legacy(&o, &c);
	static uint8_t seg[2048];
	CHECK_EQ(tso_model(pkt_data(p), &c, seg), (TSO_PAYLOAD + NIC_TEST_MSS - 1) / NIC_TEST_MSS);
	pkt_free(p);
}

TEST(e1000_offload_refuses_what_it_cannot_describe)
{
	struct e1000_tx_offload o;
	struct pkt *p = frame(NIC_TEST_UDP, 6, 100);
	REQUIRE(p);
	p->csum_off = 8;                        /* not the UDP checksum field */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	p->csum_off = 6;
	p->csum_start += 4;                     /* not where the UDP header starts */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	p->csum_start -= 4;
	CHECK_EQ(e1000_offload_parse(p, &o), 1);
	p->flags |= PKT_F_GSO_TCP4;             /* TSO of UDP */
	p->gso_size = 1000;
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	p->flags &= (uint16_t)~PKT_F_GSO_TCP4;
	pkt_data(p)[12] = 0x86;                 /* not IPv4 */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	pkt_data(p)[12] = 0x08;
	pkt_data(p)[14] = 0x44;                 /* IHL 4 */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	pkt_data(p)[14] = 0x45;
	p->len = 38;                            /* truncated before the UDP checksum */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	pkt_free(p);

	p = frame(NIC_TEST_TCP, 7, 5000);
	REQUIRE(p);
	p->gso_size = 0;                        /* no MSS */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	p->gso_size = NIC_TEST_MSS;
	pkt_data(p)[34 + 12] = 0x40;            /* TCP data offset 16 bytes */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	pkt_data(p)[34 + 12] = 0x50;
	p->len = 54;                            /* headers only: nothing to segment */
	CHECK_EQ(e1000_offload_parse(p, &o), -1);
	pkt_free(p);
}

TEST(nic_test_frame_refuses_a_small_buffer)
{
	struct pkt *p = frame(NIC_TEST_TCP, 8, 10);
	REQUIRE(p);
	CHECK_EQ(nic_test_frame(p, MAC, NIC_TEST_TCP, 8, BUF), -1);
	pkt_free(p);
}

/* Descriptor counts: one data descriptor for a plain frame; a context descriptor plus
 * one per 4 KiB for an offloaded one; 0 (drop) past the size bounds. */
TEST(e1000_offload_descs_counts_and_bounds)
{
	struct e1000_tx_offload o;
	struct pkt *p = frame(NIC_TEST_UDP, 3, 100);
	REQUIRE(p);
	CHECK_EQ(e1000_offload_descs(p, &o, 14, 1518), 2);      /* context + data */
	p->flags &= (uint16_t)~PKT_F_CSUM_PARTIAL;
	CHECK_EQ(e1000_offload_descs(p, &o, 14, 1518), 1);
	CHECK_EQ(e1000_offload_descs(p, &o, 14, p->len - 1), 0); /* over the frame bound */
	pkt_free(p);
	p = frame(NIC_TEST_TCP, 4, 8000);                       /* TSO: over 1518, allowed */
	REQUIRE(p);
	REQUIRE(e1000_offload_descs(p, &o, 14, 1518) > 0);
	CHECK_EQ(o.tso, 1);
	CHECK_EQ(e1000_offload_descs(p, &o, 14, 1518), 1 + (int)((p->len + 4095) / 4096));
	pkt_free(p);
}
