/* UDP header check/parse/emit (see udp_wire.h; RFC 768). */
#include "net/udp_wire.h"
#include "net/inet.h"
#include "net/ipv4_wire.h"

enum wire_err udp_check_len(const uint8_t *buf, size_t len)
{
	if (len < UDP_HDR_LEN)
		return WIRE_TRUNCATED;
	/* RFC 768: the UDP length governs; bytes after it in the IP payload are not the
	 * datagram's (Linux trims them too). One that claims more than arrived, or less
	 * than its own header, is malformed. */
	uint16_t ulen = wire_get16(buf + 4);
	if (ulen < UDP_HDR_LEN || ulen > len)
		return WIRE_BAD_LEN;
	return WIRE_OK;
}

enum wire_err udp_check(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst)
{
	enum wire_err err = udp_check_len(buf, len);
	if (err)
		return err;
	uint16_t ulen = wire_get16(buf + 4);
	if (wire_get16(buf + 6) != 0) {
		uint32_t sum = inet_csum_pseudo(src, dst, IPV4_PROTO_UDP, ulen);
		if (inet_csum_fold(inet_csum_add(sum, buf, ulen)) != 0)
			return WIRE_BAD_CSUM;
	}
	return WIRE_OK;
}

void udp_parse(const uint8_t *buf, struct udp_hdr *h)
{
	h->sport = wire_get16(buf);
	h->dport = wire_get16(buf + 2);
	h->len = wire_get16(buf + 4);
	h->csum = wire_get16(buf + 6);
}

void udp_emit(const struct udp_hdr *h, uint8_t *buf, uint32_t src, uint32_t dst)
{
	wire_put16(buf, h->sport);
	wire_put16(buf + 2, h->dport);
	wire_put16(buf + 4, h->len);
	wire_put16(buf + 6, 0);
	uint32_t sum = inet_csum_pseudo(src, dst, IPV4_PROTO_UDP, h->len);
	uint16_t c = inet_csum_fold(inet_csum_add(sum, buf, h->len));
	wire_put16(buf + 6, c ? c : 0xffff);
}
