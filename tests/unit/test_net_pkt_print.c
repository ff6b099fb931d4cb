#define _POSIX_C_SOURCE 200809L     /* popen, mkstemp: one test runs the real tcpdump */
/* The tcpdump-style printer (net/pkt_print.h). The golden lines are what tcpdump 4.99
 * prints (`TZ=UTC tcpdump -n -S -r`) for the same frames; the last test writes the
 * frames to a pcap and compares with the real tcpdump when it is installed. */
#include "tests/unit/test.h"
#include "tests/unit/fake_netdev.h"
#include "net/pkt_print.h"
#include "net/pcapng.h"
#include "net/checksum.h"
#include <stdlib.h>
#include <unistd.h>

#define TS 1700018000000123000ull       /* 03:13:20.000123 UTC */
#define NF 12

struct frames {
	uint8_t b[NF][400];
	size_t len[NF];
};

/* A TCP segment with raw option bytes, checksummed. */
static size_t tcp_frame(uint8_t *buf, int back, uint8_t flags, uint32_t seq, uint32_t ack,
			uint16_t win, const void *opt, size_t olen, const char *data)
{
	uint8_t seg[200] = { 0 };
	size_t dlen = data ? strlen(data) : 0, hl = 20 + olen;
	uint32_t a = ip("10.0.0.1"), b = ip("10.0.0.2");
	wire_put16(seg, back ? 80 : 40000);
	wire_put16(seg + 2, back ? 40000 : 80);
	wire_put32(seg + 4, seq);
	wire_put32(seg + 8, ack);
	seg[12] = (uint8_t)(hl / 4 << 4);
	seg[13] = flags;
	wire_put16(seg + 14, win);
	if (olen)
		memcpy(seg + 20, opt, olen);
	memcpy(seg + hl, data ? data : "", dlen);
	uint32_t sum = csum_pseudo_v4(back ? b : a, back ? a : b, 6, (uint16_t)(hl + dlen));
	wire_put16(seg + 16, csum_fold(csum_partial(seg, hl + dlen, sum)));
	return frame_ipv4(buf, test_mac(2), test_mac(1), back ? b : a, back ? a : b, 6, seg,
			  hl + dlen);
}

static size_t dhcp_frame(uint8_t *buf)
{
	uint8_t m[244] = { 1, 1, 6, 0 };
	wire_put32(m + 4, 0x1234);
	memcpy(m + 28, test_mac(1), 6);
	wire_put32(m + 236, 0x63825363);
	m[240] = 53;
	m[241] = 1;
	m[242] = 1;             /* DISCOVER */
	m[243] = 255;
	return frame_udp(buf, eth_broadcast, test_mac(1), 0, 0xffffffffu, 68, 67, m, sizeof(m));
}

static void build(struct frames *f)
{
	static const uint8_t syn_opt[20] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					     1, 3, 3, 7 };
	static const uint8_t ts_opt[12] = { 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 10 };
	static const uint8_t sack_opt[12] = { 1, 1, 5, 10, 0, 0, 4, 0x4c, 0, 0, 4, 0xb0 };
	uint8_t quoted[28];
	memset(f, 0, sizeof(*f));
	f->len[0] = tcp_frame(f->b[0], 0, 0x02, 1000, 0, 64240, syn_opt, 20, NULL);
	f->len[1] = tcp_frame(f->b[1], 1, 0x12, 5000, 1001, 65160, syn_opt, 20, NULL);
	f->len[2] = tcp_frame(f->b[2], 0, 0x18, 1001, 5001, 502, ts_opt, 12,
			      "GET / HTTP/1.1\r\n\r\n");
	f->len[3] = tcp_frame(f->b[3], 1, 0x10, 5002, 1019, 509, sack_opt, 12, NULL);
	f->len[4] = frame_arp(f->b[4], eth_broadcast, ARP_OP_REQUEST, test_mac(1), ip("10.0.0.1"),
			      (const uint8_t *)"\0\0\0\0\0\0", ip("10.0.0.2"));
	f->len[5] = frame_arp(f->b[5], test_mac(1), ARP_OP_REPLY, test_mac(2), ip("10.0.0.2"),
			      test_mac(1), ip("10.0.0.1"));
	f->len[6] = frame_icmp_echo(f->b[6], test_mac(2), test_mac(1), ip("10.0.0.1"),
				    ip("10.0.0.2"), ICMP_ECHO, 0x1234, 1, 56);
	f->len[7] = frame_udp(f->b[7], test_mac(2), test_mac(1), ip("10.0.0.1"), ip("10.0.0.2"),
			      5000, 9999, "hello", 5);
	f->len[8] = dhcp_frame(f->b[8]);
	memcpy(f->b[9], f->b[0], 44);           /* the SYN cut inside the TCP header */
	f->len[9] = 44;
	/* Port unreachable quoting frame 7's IP and UDP headers. */
	uint8_t icmp[8 + 28] = { 3, 3 };
	memcpy(quoted, f->b[7] + 14, 28);
	memcpy(icmp + 8, quoted, 28);
	wire_put16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
	f->len[10] = frame_ipv4(f->b[10], test_mac(1), test_mac(2), ip("10.0.0.2"), ip("10.0.0.1"),
				1, icmp, sizeof(icmp));
	f->len[11] = tcp_frame(f->b[11], 1, 0x14, 5002, 0, 0, NULL, 0, NULL);
	f->b[11][47] = 0x04;                    /* RST alone: no ACK flag (checksum now off) */
}

static const char *const golden[NF] = {
	"03:13:20.000123 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, "
	"options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0\n",
	"03:13:20.000123 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 5000, ack 1001, "
	"win 65160, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0\n",
	"03:13:20.000123 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [P.], seq 1001:1019, ack 5001, "
	"win 502, options [nop,nop,TS val 2 ecr 10], length 18: HTTP: GET / HTTP/1.1\n",
	"03:13:20.000123 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 1019, win 509, "
	"options [nop,nop,sack 1 {1100:1200}], length 0\n",
	"03:13:20.000123 ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46\n",
	"03:13:20.000123 ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 46\n",
	"03:13:20.000123 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 1, length 64\n",
	"03:13:20.000123 IP 10.0.0.1.5000 > 10.0.0.2.9999: UDP, length 5\n",
	"03:13:20.000123 IP 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from "
	"02:00:00:00:00:01, length 244\n",
	"03:13:20.000123 IP 10.0.0.1.40000 > 10.0.0.2.80:  [|tcp]\n",
	"03:13:20.000123 IP 10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 9999 unreachable, "
	"length 36\n",
	"03:13:20.000123 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [R], seq 5002, win 0, length 0\n",
};

static int text_is(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "--- got:\n%s--- want:\n%s", got, want);
	return 0;
}

TEST(net_pkt_print_golden_lines)
{
	struct frames f;
	char out[1024];
	build(&f);
	for (int i = 0; i < NF; i++) {
		/* Frame 9 was cut by the capture: the wire had the whole SYN. */
		size_t wire = i == 9 ? f.len[0] : f.len[i];
		pkt_print(out, sizeof(out), TS, f.b[i], f.len[i], wire, 0);
		CHECK(text_is(out, golden[i]));
	}
}

TEST(net_pkt_print_ether_verbose_hex)
{
	struct frames f;
	char out[2048];
	build(&f);
	pkt_print(out, sizeof(out), TS, f.b[4], f.len[4], f.len[4], PKT_PRINT_ETHER);
	CHECK(text_is(out, "03:13:20.000123 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP "
			   "(0x0806), length 60: Request who-has 10.0.0.2 tell 10.0.0.1, length 46\n"));
	pkt_print(out, sizeof(out), TS, f.b[0], f.len[0], f.len[0], PKT_PRINT_VERBOSE);
	CHECK(text_is(out, "03:13:20.000123 IP (tos 0x0, ttl 64, id 7, offset 0, flags [none], "
			   "proto TCP (6), length 60)\n    10.0.0.1.40000 > 10.0.0.2.80: Flags [S], "
			   "cksum 0x9893 (correct), seq 1000, win 64240, options [mss 1460,sackOK,"
			   "TS val 1 ecr 0,nop,wscale 7], length 0\n"));
	pkt_print(out, sizeof(out), TS, f.b[11], f.len[11], f.len[11], PKT_PRINT_VERBOSE);
	CHECK(strstr(out, "cksum 0x") && strstr(out, "(incorrect -> 0x"));
	pkt_print(out, sizeof(out), TS, f.b[7], f.len[7], f.len[7], PKT_PRINT_HEX);
	CHECK(text_is(out, "03:13:20.000123 IP 10.0.0.1.5000 > 10.0.0.2.9999: UDP, length 5\n"
			   "\t0x0000:  4500 0021 0007 0000 4011 66c3 0a00 0001\n"
			   "\t0x0010:  0a00 0002 1388 270f 000d 6d68 6865 6c6c\n"
			   "\t0x0020:  6f\n"));
}

TEST(net_pkt_print_truncation_and_small_buffers)
{
	struct frames f;
	static char out[8192];
	char small[32];
	build(&f);
	for (int i = 0; i < NF; i++)
		for (size_t len = 0; len <= f.len[i]; len++) {
			uint8_t *copy = malloc(len ? len : 1);  /* exact size: ASan sees overreads */
			memcpy(copy, f.b[i], len);
			int n = pkt_print(out, sizeof(out), TS, copy, len, f.len[i],
					  PKT_PRINT_ETHER | PKT_PRINT_VERBOSE | PKT_PRINT_HEX);
			CHECK(n > 0 && (size_t)n < sizeof(out) && out[n - 1] == '\n');
			CHECK(pkt_print(small, sizeof(small), TS, copy, len, f.len[i], 0) >= 16);
			CHECK(strlen(small) == sizeof(small) - 1 || strchr(small, '\n'));
			free(copy);
		}
	pkt_print(out, sizeof(out), TS, f.b[0], 10, 74, 0);
	CHECK(text_is(out, "03:13:20.000123  [|ether]\n"));
	pkt_print(out, sizeof(out), TS, f.b[6], 30, f.len[6], 0);
	CHECK(text_is(out, "03:13:20.000123 IP  [|ip]\n"));
	pkt_print(out, sizeof(out), TS, f.b[4], 20, 60, 0);
	CHECK(text_is(out, "03:13:20.000123  [|arp]\n"));
	pkt_print(out, sizeof(out), TS, f.b[0], 60, 74, 0);
	CHECK(text_is(out, "03:13:20.000123 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, "
			   "win 64240, options [mss 1460,sackOK, [|tcp]\n"));
}

/* Writes the frames as a pcap, runs tcpdump, compares line by line. */
TEST(net_pkt_print_matches_real_tcpdump)
{
	static uint8_t file[8192];
	struct frames f;
	char path[] = "/tmp/skiff-print-XXXXXX", cmd[256], line[1024];
	static char ours[4096], theirs[32768], mine[32768];
	if (access("/usr/bin/tcpdump", X_OK) != 0 && access("/usr/sbin/tcpdump", X_OK) != 0) {
		fprintf(stderr, "    tcpdump not installed: comparison skipped\n");
		return;
	}
	build(&f);
	size_t n = pcap_file_header(file, sizeof(file), 65535, 0);
	for (int i = 0; i < NF; i++)
		n += pcap_record(file + n, sizeof(file) - n, TS, f.b[i], (uint32_t)f.len[i],
				 (uint32_t)(i == 9 ? f.len[0] : f.len[i]), 0);
	int fd = mkstemp(path);
	REQUIRE(fd >= 0 && write(fd, file, n) == (ssize_t)n);
	close(fd);
	/* -v: the frames whose verbose output has no detail lines we leave out (HTTP
	 * text, BOOTP fields, the datagram quoted in an ICMP error). */
	static const char *const opts[] = { "", "-e", "-x", "-e -xx", "-v" };
	static const unsigned flags[] = { 0, PKT_PRINT_ETHER, PKT_PRINT_HEX,
					  PKT_PRINT_ETHER | PKT_PRINT_HEX_LINK, PKT_PRINT_VERBOSE };
	for (int o = 0; o < 5; o++) {
		snprintf(cmd, sizeof(cmd), "TZ=UTC tcpdump -n -S %s -r %s 2>/dev/null", opts[o], path);
		FILE *p = popen(cmd, "r");
		REQUIRE(p);
		size_t tl = 0, ml = 0;
		theirs[0] = mine[0] = 0;
		int rec = -1, skip = 0;
		while (fgets(line, sizeof(line), p)) {
			if (line[0] != ' ' && line[0] != '\t')
				rec++;          /* a record starts at column 0 */
			skip = flags[o] == PKT_PRINT_VERBOSE && (rec == 2 || rec == 8 || rec == 10);
			if (!skip)
				tl += (size_t)snprintf(theirs + tl, sizeof(theirs) - tl, "%s", line);
		}
		pclose(p);
		for (int i = 0; i < NF; i++) {
			if (flags[o] == PKT_PRINT_VERBOSE && (i == 2 || i == 8 || i == 10))
				continue;
			pkt_print(ours, sizeof(ours), TS, f.b[i], f.len[i],
				  i == 9 ? f.len[0] : f.len[i], flags[o]);
			ml += (size_t)snprintf(mine + ml, sizeof(mine) - ml, "%s", ours);
		}
		CHECK(text_is(mine, theirs));
	}
	unlink(path);
}
