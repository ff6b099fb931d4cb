/*
 * Host tool for tests/system/test_pkt_print_tcpdump.py: prints every record of a
 * classic pcap file (Ethernet, microsecond timestamps) with net/pkt_print.c, the way
 * `TZ=UTC tcpdump -n -S -r FILE [-e] [-v] [-x|-xx]` would.
 *   usage: pktprint FILE.pcap [-e] [-v] [-x] [-xx]
 */
#include "net/pkt_print.h"
#include "tests/tools/tool.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	unsigned flags = 0;
	for (int i = 2; i < argc; i++)
		flags |= !strcmp(argv[i], "-e") ? PKT_PRINT_ETHER : !strcmp(argv[i], "-v") ?
			 PKT_PRINT_VERBOSE : !strcmp(argv[i], "-x") ? PKT_PRINT_HEX :
			 !strcmp(argv[i], "-xx") ? PKT_PRINT_HEX_LINK : 0;
	FILE *in = argc > 1 ? fopen(argv[1], "rb") : NULL;
	uint8_t gh[24], rh[16];
	static char text[1 << 20];
	if (!in || fread(gh, 1, 24, in) != 24 || le32(gh) != 0xa1b2c3d4u || le32(gh + 20) != 1) {
		fprintf(stderr, "usage: pktprint FILE.pcap [-e] [-v] [-x] [-xx] (us pcap, Ethernet)\n");
		return 2;
	}
	while (fread(rh, 1, 16, in) == 16) {
		uint32_t caplen = le32(rh + 8);
		uint8_t *buf = malloc(caplen ? caplen : 1);     /* exact size: ASan sees overreads */
		if (!buf || fread(buf, 1, caplen, in) != caplen)
			return 2;
		uint64_t ts = (uint64_t)le32(rh) * 1000000000u + (uint64_t)le32(rh + 4) * 1000u;
		pkt_print(text, sizeof(text), ts, buf, caplen, le32(rh + 12), flags);
		fputs(text, stdout);
		free(buf);
	}
	fclose(in);
	return 0;
}
