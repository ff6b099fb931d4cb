/*
 * libFuzzer over capture-filter matching (net/pkt_filter.c; make fuzz-filter). The
 * first input byte picks one of a set of expressions, the rest is the frame, copied
 * to an exactly-sized heap buffer so ASan sees any read past its end. Matching must
 * answer 0 or 1, and `not E` must answer the opposite of E whenever E read only bytes
 * that were there (checked through `E or not E`, which a BPF-style abort makes 0).
 */
#include "tests/host_panic.h"
#include "net/pkt_filter.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const exprs[] = {
	"tcp", "udp or icmp", "arp", "host 10.0.0.1", "src net 10.0.0.0/8 and not dst 10.0.0.2",
	"port 80 or 443", "tcp dst port 22", "ether host 02:00:00:00:00:01", "ether dst ff:ff:ff:ff:ff:ff",
	"not (ip and (port 53 or icmp)) or arp host 10.0.0.2", "net 0.0.0.0/0", "src and dst port 7",
	"udp src port 67 and dst host 255.255.255.255", "ip and not tcp and not udp",
};
#define NEXPR (sizeof(exprs) / sizeof(exprs[0]))

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct pkt_filter f[NEXPR], both[NEXPR], neg[NEXPR];
	static int ready;
	char err[PKT_FILTER_ERR_LEN], buf[256];
	if (!ready) {
		for (size_t i = 0; i < NEXPR; i++) {
			snprintf(buf, sizeof(buf), "(%s) or not (%s)", exprs[i], exprs[i]);
			if (pkt_filter_compile(&f[i], exprs[i], err, sizeof(err)) ||
			    pkt_filter_compile(&both[i], buf, err, sizeof(err)))
				abort();
			snprintf(buf, sizeof(buf), "not (%s)", exprs[i]);
			if (pkt_filter_compile(&neg[i], buf, err, sizeof(err)))
				abort();
		}
		ready = 1;
	}
	if (size == 0)
		return 0;
	size_t e = data[0] % NEXPR;
	size_t len = size - 1;
	unsigned char *frame = malloc(len ? len : 1);
	memcpy(frame, data + 1, len);
	int m = pkt_filter_match(&f[e], frame, len), n = pkt_filter_match(&neg[e], frame, len);
	int whole = pkt_filter_match(&both[e], frame, len);
	if ((m != 0 && m != 1) || (m && n) || (whole && m == n))
		abort();
	if (!whole && (m || n))
		abort();        /* an aborted read rejects E and not E alike */
	free(frame);
	return 0;
}
