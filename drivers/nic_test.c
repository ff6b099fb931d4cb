/* Offload test frames (nic_test.h). */
#include "drivers/nic_test.h"
#include "lib/string.h"

#define ETH_HLEN 14
#define IP_HLEN 20
#define UDP_HLEN 8
#define TCP_HLEN 20

static void put16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v);
}

static uint32_t sum16(uint32_t sum, const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void ip_header(uint8_t *ip, uint32_t l4len, uint8_t proto, uint32_t seq)
{
	memset(ip, 0, IP_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, IP_HLEN + l4len);
	put16(ip + 4, seq);             /* identification */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, 0xC0000201u);    /* 192.0.2.1 */
	put32(ip + 16, 0xFFFFFFFFu);
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, IP_HLEN)));
}

int nic_test_frame(struct pkt *p, const uint8_t mac[6], enum nic_test_kind kind, uint32_t seq,
		   uint32_t payload)
{
	int tcp = kind == NIC_TEST_TCP;
	uint32_t l4hdr = tcp ? TCP_HLEN : UDP_HLEN, l4len = l4hdr + payload;
	if (pkt_tailroom(p) < ETH_HLEN + IP_HLEN + l4len || IP_HLEN + l4len > 65535)
		return -1;
	uint8_t *f = pkt_put(p, ETH_HLEN + IP_HLEN + l4len), *ip = f + ETH_HLEN;
	uint8_t *l4 = ip + IP_HLEN;
	memset(f, 0xFF, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0800);
	ip_header(ip, l4len, tcp ? 6 : 17, seq);
	memset(l4, 0, l4hdr);
	put16(l4, NIC_TEST_PORT);
	put16(l4 + 2, NIC_TEST_PORT);
	if (tcp) {
		put32(l4 + 4, seq * 100000u);
		l4[12] = (TCP_HLEN / 4) << 4;
		l4[13] = 0x18;          /* PSH, ACK */
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, l4len);
	}
	for (uint32_t i = 0; i < payload; i++)
		l4[l4hdr + i] = (uint8_t)(seq + i * 7);
	/* Pseudo header (RFC 768/9293): addresses, protocol, L4 length. */
	uint32_t pseudo = sum16(0, ip + 12, 8) + (tcp ? 6u : 17u) + l4len;
	uint16_t csum_off = tcp ? 16 : 6;
	put16(l4 + csum_off, fold(pseudo));
	pkt_csum_partial(p, l4, csum_off);
	if (tcp && payload > NIC_TEST_MSS) {
		p->flags |= PKT_F_GSO_TCP4;
		p->gso_size = NIC_TEST_MSS;
	}
	return 0;
}
