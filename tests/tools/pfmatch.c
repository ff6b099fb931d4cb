/*
 * Host tool for tests/system/test_pkt_filter_tcpdump.py: reads a classic pcap file
 * (linktype Ethernet), compiles one filter expression with net/pkt_filter.c and prints
 * one character per record, '1' if it passes and '0' if not, then a newline; or the
 * compile error on stderr with exit status 2. The test compares that line with what
 * the real tcpdump selects from the same file.
 *   usage: pfmatch FILE.pcap 'EXPR'
 */
#include "net/pkt_filter.h"
#include "tests/tools/tool.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pfmatch FILE.pcap EXPR\n");
		return 2;
	}
	struct pkt_filter f;
	char err[PKT_FILTER_ERR_LEN];
	if (pkt_filter_compile(&f, argv[2], err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	FILE *in = fopen(argv[1], "rb");
	uint8_t gh[24], rh[16];
	if (!in || fread(gh, 1, 24, in) != 24 || le32(gh) != 0xa1b2c3d4u || le32(gh + 20) != 1) {
		fprintf(stderr, "pfmatch: not a little-endian Ethernet pcap\n");
		return 2;
	}
	while (fread(rh, 1, 16, in) == 16) {
		uint32_t caplen = le32(rh + 8);
		uint8_t *buf = malloc(caplen ? caplen : 1);     /* exact size: ASan sees overreads */
		if (!buf || fread(buf, 1, caplen, in) != caplen)
			return 2;
		putchar(pkt_filter_match(&f, buf, caplen) ? '1' : '0');
		free(buf);
	}
	putchar('\n');
	fclose(in);
	return 0;
}
