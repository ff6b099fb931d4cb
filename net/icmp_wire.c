/* ICMP header check/parse/emit (see icmp_wire.h; RFC 792). */
#include "net/icmp_wire.h"
#include "net/inet.h"

enum wire_err icmp_check(const uint8_t *buf, size_t len)
{
	if (len < ICMP_HDR_LEN)
		return WIRE_TRUNCATED;
	if (inet_csum(buf, len) != 0)
		return WIRE_BAD_CSUM;
	return WIRE_OK;
}

void icmp_parse(const uint8_t *buf, struct icmp_hdr *h)
{
	h->type = buf[0];
	h->code = buf[1];
	h->csum = wire_get16(buf + 2);
	h->id = wire_get16(buf + 4);
	h->seq = wire_get16(buf + 6);
}

void icmp_emit(const struct icmp_hdr *h, uint8_t *buf, size_t len)
{
	buf[0] = h->type;
	buf[1] = h->code;
	wire_put16(buf + 2, 0);
	wire_put16(buf + 4, h->id);
	wire_put16(buf + 6, h->seq);
	wire_put16(buf + 2, inet_csum(buf, len));
}
