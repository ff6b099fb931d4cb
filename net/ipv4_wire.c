/* IPv4 header check/parse/emit and option walk (see ipv4_wire.h; RFC 791 §3.1). */
#include "net/ipv4_wire.h"
#include "net/inet.h"

#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_LSRR 0x83
#define IPOPT_SSRR 0x89

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
