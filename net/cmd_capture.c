/*
 * tcpdump from the shell (cmd_capture.h): options as tcpdump(8) spells them, the rest of
 * the line is the filter expression (pcap-filter(7) subset, net/pkt_filter.h). Output
 * and its budget are net/capture.c's business.
 */
#include "net/cmd_capture.h"
#include "net/pkt_print.h"
#include "lib/string.h"

#define EXPR_MAX 256

/* The words after the options, joined by single spaces as tcpdump joins argv. -1 when
 * they do not fit. */
static int join(char *buf, size_t cap, int argc, char **argv)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < argc; i++) {
		size_t k = strlen(argv[i]);
		if (n + k + 2 > cap)
			return -1;
		if (n)
			buf[n++] = ' ';
		memcpy(buf + n, argv[i], k);
		n += k;
		buf[n] = 0;
	}
	return 0;
}

struct dump_opts {
	unsigned flags;
	uint32_t count;
	int ifindex;
	const char *dev;
};

/* Options; returns the index of the first expression word, or -1 after an error. */
static int parse_opts(struct net_stack *s, const struct cmd_out *o, int argc, char **argv,
		      struct dump_opts *d)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0) {
			if (i + 1 >= argc || cmd_parse_uint(argv[i + 1], 1000000000u, &d->count) ||
			    !d->count) {
				cmd_printf(o, "tcpdump: invalid packet count %s\n", i + 1 < argc ? argv[i + 1] : "");
				return -1;
			}
			i++;
		} else if (strcmp(a, "-i") == 0) {
			if (i + 1 >= argc) {
				cmd_printf(o, "tcpdump: option requires an argument -- 'i'\n");
				return -1;
			}
			d->dev = argv[++i];
			if (strcmp(d->dev, "any") != 0) {
				int ifi = link_by_name(&s->link, d->dev);
				if (ifi < 0) {
					cmd_printf(o, "tcpdump: %s: No such device exists\n", d->dev);
					return -1;
				}
				d->ifindex = (int)s->link.ifs[ifi].dev->ifindex;
			}
		} else if (strcmp(a, "-e") == 0) {
			d->flags |= PKT_PRINT_ETHER;
		} else if (strcmp(a, "-v") == 0) {
			d->flags |= PKT_PRINT_VERBOSE;
		} else if (strcmp(a, "-x") == 0) {
			d->flags |= PKT_PRINT_HEX;
		} else if (strcmp(a, "-xx") == 0) {
			d->flags |= PKT_PRINT_HEX_LINK;
		} else if (strcmp(a, "-n") == 0 || strcmp(a, "-nn") == 0 || strcmp(a, "-S") == 0) {
			continue;       /* what we always do */
		} else {
			cmd_printf(o, "tcpdump: invalid option -- '%s'\n", a + 1);
			return -1;
		}
	}
	return i;
}

int cmd_tcpdump(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	struct dump_opts d = { 0, 0, 0, "any" };
	int i = parse_opts(s, o, argc, argv, &d);
	if (i < 0)
		return -1;
	char expr[EXPR_MAX], err[PKT_FILTER_ERR_LEN];
	if (join(expr, sizeof(expr), argc - i, argv + i)) {
		cmd_printf(o, "tcpdump: expression longer than %d characters\n", EXPR_MAX - 1);
		return -1;
	}
	int r = capture_dump_start(&s->cap, expr, d.flags, d.ifindex, d.count, o->fn, o->ctx, err,
				   sizeof(err));
	if (r == -1) {
		cmd_printf(o, "tcpdump: %s\n", err);
		return -1;
	}
	if (r == -2) {
		cmd_printf(o, "tcpdump: another tcpdump is still running (Ctrl-C stops it)\n");
		return -1;
	}
	cmd_printf(o, "listening on %s, link-type EN10MB (Ethernet), snapshot length %u bytes\n", d.dev,
		   (unsigned)PKT_BUF_SIZE);
	return 0;
}

int cmd_trace(struct net_stack *s, const struct cmd_out *o, int argc, char **argv)
{
	uint32_t count = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc &&
		    !cmd_parse_uint(argv[i + 1], 1000000000u, &count) && count) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "-c") == 0)
			cmd_printf(o, "trace: invalid packet count %s\n", i + 1 < argc ? argv[i + 1] : "");
		else
			cmd_printf(o, "trace: invalid option -- '%s'\n", argv[i] + 1);
		return -1;
	}
	char expr[EXPR_MAX], err[PKT_FILTER_ERR_LEN];
	if (join(expr, sizeof(expr), argc - i, argv + i)) {
		cmd_printf(o, "trace: expression longer than %d characters\n", EXPR_MAX - 1);
		return -1;
	}
	int r = capture_trace_start(&s->cap, expr, count, o->fn, o->ctx, err, sizeof(err));
	if (r == -1) {
		cmd_printf(o, "trace: %s\n", err);
		return -1;
	}
	if (r == -2) {
		cmd_printf(o, "trace: another trace is still running (Ctrl-C stops it)\n");
		return -1;
	}
	cmd_printf(o, "tracing %s%s\n", expr[0] ? expr : "all packets", count ? "" : " (Ctrl-C stops)");
	return 0;
}
