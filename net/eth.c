/* Ethernet II header check/parse/emit (see eth.h). */
#include "net/eth.h"
#include "lib/string.h"
#include "lib/fmt.h"

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

enum wire_err eth_check(const uint8_t *buf, size_t len)
{
	(void)buf;
	return len < ETH_HLEN ? WIRE_TRUNCATED : WIRE_OK;
}

void eth_parse(const uint8_t *buf, struct eth_hdr *h)
{
	memcpy(h->dst, buf, ETH_ALEN);
	memcpy(h->src, buf + 6, ETH_ALEN);
	h->type = wire_get16(buf + 12);
}

void eth_emit(const struct eth_hdr *h, uint8_t *buf)
{
	memcpy(buf, h->dst, ETH_ALEN);
	memcpy(buf + 6, h->src, ETH_ALEN);
	wire_put16(buf + 12, h->type);
}

char *eth_fmt(char *buf, const uint8_t *m, int upper)
{
	ksnprintf(buf, ETH_MACSTRLEN,
		  upper ? "%02X:%02X:%02X:%02X:%02X:%02X" : "%02x:%02x:%02x:%02x:%02x:%02x",
		  m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}
