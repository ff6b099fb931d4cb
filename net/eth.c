/* Ethernet II header check/parse/emit (see eth.h). */
#include "net/eth.h"
#include "lib/fmt.h"

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

char *eth_fmt(char *buf, const uint8_t *m, int upper)
{
	ksnprintf(buf, ETH_MACSTRLEN,
		  upper ? "%02X:%02X:%02X:%02X:%02X:%02X" : "%02x:%02x:%02x:%02x:%02x:%02x",
		  m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}
