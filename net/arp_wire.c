/* ARP packet check/parse/emit, RFC 826 "Packet format" (see arp_wire.h). */
#include "net/arp_wire.h"
#include "lib/string.h"

#define ARP_HRD_ETHER 1

enum wire_err arp_check(const uint8_t *buf, size_t len)
{
	if (len < ARP_LEN)
		return WIRE_TRUNCATED;
	if (wire_get16(buf) != ARP_HRD_ETHER || wire_get16(buf + 2) != ETH_P_IP ||
	    buf[4] != ETH_ALEN || buf[5] != 4)
		return WIRE_BAD_FORMAT;
	uint16_t op = wire_get16(buf + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return WIRE_BAD_FORMAT;
	return WIRE_OK;
}

void arp_parse(const uint8_t *buf, struct arp_pkt *a)
{
	a->op = wire_get16(buf + 6);
	memcpy(a->sha, buf + 8, ETH_ALEN);
	a->spa = wire_get32(buf + 14);
	memcpy(a->tha, buf + 18, ETH_ALEN);
	a->tpa = wire_get32(buf + 24);
}

void arp_emit(const struct arp_pkt *a, uint8_t *buf)
{
	wire_put16(buf, ARP_HRD_ETHER);
	wire_put16(buf + 2, ETH_P_IP);
	buf[4] = ETH_ALEN;
	buf[5] = 4;
	wire_put16(buf + 6, a->op);
	memcpy(buf + 8, a->sha, ETH_ALEN);
	wire_put32(buf + 14, a->spa);
	memcpy(buf + 18, a->tha, ETH_ALEN);
	wire_put32(buf + 24, a->tpa);
}
