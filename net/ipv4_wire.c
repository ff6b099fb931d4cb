/* IPv4 header check/parse/emit and option walk (see ipv4_wire.h; RFC 791 §3.1). */
#include "net/ipv4_wire.h"
#include "net/inet.h"

#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_LSRR 0x83
#define IPOPT_SSRR 0x89

enum wire_err ipv4_check(const uint8_t *buf, size_t len)
{
	if (len < IPV4_HDR_MIN)
		return WIRE_TRUNCATED;
	if (buf[0] >> 4 != 4)
		return WIRE_BAD_VERSION;
	size_t hl = (size_t)(buf[0] & 0xf) * 4;
	if (hl < IPV4_HDR_MIN || hl > len)
		return WIRE_BAD_HDR_LEN;
	size_t tot = wire_get16(buf + 2);
	if (tot < hl || tot > len)
		return WIRE_BAD_LEN;
	if (inet_csum_hdr(buf, hl) != 0)
		return WIRE_BAD_CSUM;
	return WIRE_OK;
}

void ipv4_parse(const uint8_t *buf, struct ipv4_hdr *h)
{
	h->hdr_len = (uint8_t)((buf[0] & 0xf) * 4);
	h->tos = buf[1];
	h->tot_len = wire_get16(buf + 2);
	h->id = wire_get16(buf + 4);
	h->frag = wire_get16(buf + 6);
	h->ttl = buf[8];
	h->proto = buf[9];
	h->csum = wire_get16(buf + 10);
	h->src = wire_get32(buf + 12);
	h->dst = wire_get32(buf + 16);
}

void ipv4_emit(const struct ipv4_hdr *h, uint8_t *buf)
{
	buf[0] = 0x45;
	buf[1] = h->tos;
	wire_put16(buf + 2, h->tot_len);
	wire_put16(buf + 4, h->id);
	wire_put16(buf + 6, h->frag);
	buf[8] = h->ttl;
	buf[9] = h->proto;
	wire_put16(buf + 10, 0);
	wire_put32(buf + 12, h->src);
	wire_put32(buf + 16, h->dst);
	wire_put16(buf + 10, inet_csum_hdr(buf, IPV4_HDR_MIN));
}

enum wire_err ipv4_options_check(const uint8_t *opt, size_t len, int *srcroute)
{
	size_t i = 0;
	*srcroute = 0;
	while (i < len) {
		uint8_t type = opt[i];
		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		/* Every other option is type, length (>= 2, covering itself), data. */
		if (len - i < 2 || opt[i + 1] < 2 || opt[i + 1] > len - i)
			return WIRE_BAD_OPTION;
		if (type == IPOPT_LSRR || type == IPOPT_SSRR)
			*srcroute = 1;
		i += opt[i + 1];
	}
	return WIRE_OK;
}
