/*
 * Transmit offload parameters (e1000_offload.h). The frame's own bytes are checked
 * before any offset goes into a descriptor: a wrong offset would make the hardware
 * write a checksum into the middle of someone's payload.
 */
#include "drivers/e1000_offload.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Ethernet + IPv4 (any IHL) + TCP/UDP: offsets into o; 0, or -1. */
static int parse_headers(const uint8_t *f, uint32_t len, struct e1000_tx_offload *o)
{
	if (len < ETH_HLEN + 20 || be16(f + 12) != ETHERTYPE_IPV4 || (f[ETH_HLEN] >> 4) != 4)
		return -1;
	uint32_t ihl = (uint32_t)(f[ETH_HLEN] & 0x0f) * 4;
	if (ihl < 20 || len < ETH_HLEN + ihl)
		return -1;
	uint8_t proto = f[ETH_HLEN + 9];
	if (proto != IP_PROTO_TCP && proto != IP_PROTO_UDP)
		return -1;
	o->ipcss = ETH_HLEN;
	o->ipcse = (uint16_t)(ETH_HLEN + ihl - 1);
	o->tucss = (uint16_t)(ETH_HLEN + ihl);
	o->tcp = proto == IP_PROTO_TCP;
	o->tucso = (uint16_t)(o->tucss + (o->tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF));
	return o->tucso + 2u <= len ? 0 : -1;
}

/* TSO: a TCP header inside the frame's first lin bytes (the slot; a scatter-gather
 * tail holds payload only), an MSS, payload after the header. */
static int parse_tso(const uint8_t *f, uint32_t lin, uint32_t len, uint16_t mss,
		     struct e1000_tx_offload *o)
{
	if (!o->tcp || lin < o->tucss + 20u || mss == 0 || len > E1000_TSO_MAX)
		return -1;
	uint32_t doff = (uint32_t)(f[o->tucss + 12] >> 4) * 4;
	uint32_t hdrlen = o->tucss + doff;
	/* HDRLEN is 8 bits in the legacy context descriptor. */
	if (doff < 20 || hdrlen > lin || hdrlen >= len || hdrlen > 255)
		return -1;
	o->tso = 1;
	o->hdrlen = (uint16_t)hdrlen;
	o->mss = mss;
	o->paylen = len - hdrlen;
	return 0;
}

int e1000_offload_parse(const struct pkt *p, struct e1000_tx_offload *o)
{
	*o = (struct e1000_tx_offload){ .paylen = p->len };
	if (!(p->flags & (PKT_F_CSUM_PARTIAL | PKT_F_GSO_TCP4)))
		return 0;
	const uint8_t *f = (const uint8_t *)p + p->off;
	uint32_t lin = pkt_linear_len(p);
	if (parse_headers(f, lin, o) < 0)
		return -1;
	/* The stack's csum_start/csum_off must name the field the hardware will fill. */
	if ((p->flags & PKT_F_CSUM_PARTIAL) &&
	    (p->csum_start != p->off + o->tucss || p->csum_start + p->csum_off != p->off + o->tucso))
		return -1;
	if ((p->flags & PKT_F_GSO_TCP4) && parse_tso(f, lin, p->len, p->gso_size, o) < 0)
		return -1;
	return 1;
}

static uint32_t sum16(uint32_t sum, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i += 2)
		sum += be16(b + i);
	return sum;
}

void e1000_offload_prepare(struct pkt *p, const struct e1000_tx_offload *o)
{
	if (!o->tso)
		return;
	uint8_t *f = (uint8_t *)p + p->off;
	/* IXSM sums the IP header including its checksum field: start from 0. */
	f[o->ipcss + 10] = 0;
	f[o->ipcss + 11] = 0;
	/* Pseudo header: source and destination addresses and the protocol; the
	 * hardware adds each segment's TCP length. Stored folded, not complemented. */
	uint32_t sum = sum16(IP_PROTO_TCP, f + o->ipcss + 12, 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[o->tucso] = (uint8_t)(sum >> 8);
	f[o->tucso + 1] = (uint8_t)sum;
}

void e1000_ctx_legacy(const struct e1000_tx_offload *o, struct e1000_ctx_desc *c)
{
	*c = (struct e1000_ctx_desc){
		.ipcss = (uint8_t)o->ipcss,
		.ipcso = (uint8_t)(o->ipcss + 10),
		.ipcse = o->ipcse,
		.tucss = (uint8_t)o->tucss,
		.tucso = (uint8_t)o->tucso,
		.tucse = 0,
		.hdrlen = (uint8_t)o->hdrlen,
		.mss = o->mss,
	};
	uint32_t cmd = E1000_TXD_CMD_DEXT | E1000_TXD_CMD_IP | (o->tcp ? E1000_TXD_CMD_TCP : 0);
	if (o->tso)
		cmd |= E1000_TXD_CMD_TSE | o->paylen;
	c->cmd_and_length = cmd;
}

void e1000_ctx_adv(const struct e1000_tx_offload *o, struct igb_ctx_desc *c)
{
	uint32_t iplen = (uint32_t)(o->tucss - o->ipcss);
	c->vlan_macip_lens = (uint32_t)o->ipcss << IGB_ADVTXD_MACLEN_SHIFT | iplen;
	c->seqnum_seed = 0;
	c->type_tucmd_mlhl = IGB_ADVTXD_DEXT | IGB_ADVTXD_DTYP_CTXT | IGB_ADVTXD_TUCMD_IPV4 |
			     (o->tcp ? IGB_ADVTXD_TUCMD_L4T_TCP : 0);
	/* IDX 0: a context precedes every offloaded frame and the queue processes
	 * descriptors in order, so one slot is enough. */
	c->mss_l4len_idx = o->tso ? (uint32_t)o->mss << IGB_ADVTXD_MSS_SHIFT |
				    (uint32_t)(o->hdrlen - o->tucss) << IGB_ADVTXD_L4LEN_SHIFT : 0;
}

int e1000_offload_descs(const struct pkt *p, struct e1000_tx_offload *o, uint32_t frame_min,
			uint32_t frame_max)
{
	int off = e1000_offload_parse(p, o);
	uint32_t max = off > 0 && o->tso ? E1000_TSO_MAX : frame_max;
	if (off < 0 || p->len < frame_min || p->len > max || (p->ext_len && !o->tso))
		return 0;       /* a scatter-gather tail comes only with TSO (link.c) */
	uint32_t lin = pkt_linear_len(p);
	if (!off)
		return 1;
	int n = 1 + (int)((lin + E1000_TX_CHUNK - 1) / E1000_TX_CHUNK);
	for (unsigned k = 0; k < p->nfrags; k++)
		n += (int)((p->frag_len[k] + E1000_TX_CHUNK - 1) / E1000_TX_CHUNK);
	return n;
}
