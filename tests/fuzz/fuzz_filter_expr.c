/*
 * libFuzzer over the capture-filter compiler (net/pkt_filter.c; make fuzz-filter).
 * The input is an expression. Each run compiles it from an exactly-sized heap copy (so
 * ASan sees any read past the terminator), requires an error to be one line that
 * starts "col N:" with N inside the input, or else a tree whose child indexes point at
 * earlier nodes, and then matches the compiled filter against a few frames.
 */
#include "tests/host_panic.h"
#include "net/pkt_filter.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const unsigned char tcp_frame[] = {
	2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
	0x45, 0, 0, 40, 0, 7, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x03, 0xe8, 0, 0, 0, 0,
};
static const unsigned char arp_frame[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
	0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
};

static void check_tree(const struct pkt_filter *f)
{
	if (f->count > PKT_FILTER_MAX_NODES || (f->count && f->root >= f->count))
		abort();
	for (int i = 0; i < f->count; i++)
		if (f->n[i].op != 0 && (f->n[i].l >= i || (f->n[i].op != 3 && f->n[i].r >= i)))
			abort();        /* children come first: evaluation terminates */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *expr = malloc(size + 1);
	memcpy(expr, data, size);
	expr[size] = 0;
	struct pkt_filter f;
	char err[PKT_FILTER_ERR_LEN];
	if (pkt_filter_compile(&f, expr, err, sizeof(err)) != 0) {
		int col = 0;
		if (sscanf(err, "col %d:", &col) != 1 || col < 1 || (size_t)col > strlen(expr) + 1 ||
		    strchr(err, '\n'))
			abort();
	} else {
		check_tree(&f);
	}
	pkt_filter_match(&f, tcp_frame, sizeof(tcp_frame));
	pkt_filter_match(&f, arp_frame, sizeof(arp_frame));
	pkt_filter_match(&f, tcp_frame, 37);
	free(expr);
	return 0;
}
